"""A release's first minutes in a real browser, on a phone: the booking form enters the draw,
the page says so and how the draw works, and the same page gives the answer once the window has
closed (the visit to confirm from the e-mail). axe checks each page."""

from __future__ import annotations

import datetime as dt
import zoneinfo

BASZTOWA = "krakow-basztowa-22"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def test_a_visitor_in_the_release_window_enters_the_draw_and_reads_the_answer(site, open_tab):
    published = (dt.datetime.now(WARSAW) - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    day = published.date() + dt.timedelta(days=10)
    await site.fetchval(
        "update points set release_time = $2, release_days_ahead = 10, draw_minutes = 5, "
        "pow_max_number = 2000 where id = $1 returning 1",
        BASZTOWA,
        published.time(),
    )
    await site.fetchval(
        "insert into calendar_rules (id, point_id, kind, dates, opens, closes, labels) "
        "values ('draw-day', $1, 'special', array[$2::date], '08:00', '10:00', '{}') returning 1",
        BASZTOWA,
        day,
    )
    tab = await open_tab(locale="uk-UA", **PHONE)
    page = tab.page
    await tab.goto(f"/points/{BASZTOWA}/book?service=everyday-matters&language=uk")
    await page.locator(f"ul.days a[href*='{day.isoformat()}']").click()
    await page.locator("ul.times a").first.click()
    await page.get_by_label("Ім’я та прізвище").fill("Олена Коваленко")
    await page.get_by_label("Адреса електронної пошти").fill("olena.draw@example.com")
    await page.get_by_role("button", name="Записатися на цей візит").click()
    await page.get_by_role("heading", name="Ви берете участь у жеребкуванні").wait_for()
    await tab.step("in-the-draw")
    assert await site.fetchval("select count(*) from bookings") == 0
    assert await site.fetchval("select count(*) from draw_entries") == 1

    await site.fetchval(  # the window closes
        "update points set release_time = release_time - interval '2 minutes', draw_minutes = 1 "
        "where id = $1 returning 1",
        BASZTOWA,
    )
    await page.reload()
    await page.get_by_role("heading", name="Ви отримали візит").wait_for()
    await tab.step("won")
    reference = await site.fetchval("select reference from bookings where status = 'held'")
    assert reference and reference in await page.content()
