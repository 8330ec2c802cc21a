"""The pages a public body owes its visitors, in a real browser on a 320 px phone, in Ukrainian,
each checked by axe: staff closing a point at short notice on their page, the outage banner on
the list of points, the status page, the
accessibility statement, the privacy notice, a point's page with its hours for mappers, and a
visitor erasing their data from the manage page."""

from __future__ import annotations

import asyncpg

from tests.e2e.conftest import STAFF_PASSWORD
from tests.factories import insert_booking

BASZTOWA = "krakow-basztowa-22"
PHONE = {"viewport": {"width": 320, "height": 740}, "locale": "uk-UA"}
REASON = {
    "pl": "Awaria zasilania",
    "en": "Power cut",
    "uk": "Відключення електроенергії",
    "ru": "Отключение электроэнергии",
}


async def _no_horizontal_scroll(page) -> None:
    widths = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths


async def test_the_legal_and_status_pages_and_erasing_ones_data_in_ukrainian(site, open_tab):
    from booking import links

    conn = await asyncpg.connect(site.database_url)
    try:
        visit = await insert_booking(
            conn, language="uk", visitor_name="Марія Шевчук", visitor_email="maria@example.org"
        )
        mail_token = links.mail_token(await links.link_key(conn), visit["id"])
    finally:
        await conn.close()
    reference = visit["reference"]

    tab = await open_tab(**PHONE)
    page = tab.page
    # Staff close the point for today on their page (in English), with a reason in four languages
    await tab.goto("/staff/login?lang=en")
    await page.get_by_label("E-mail address").fill("basztowa@wizyta.test")
    await page.get_by_label("Password").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await tab.goto(f"/staff/points/{BASZTOWA}/outage?lang=en")
    await tab.step("staff-outage-form")
    for code, text in REASON.items():
        await page.locator(f"#reason_{code}").fill(text)
    await page.get_by_role("button", name="Close the point and cancel that day's visits").click()
    await page.get_by_text("Пункт позначено зачиненим").wait_for()  # the page came back in uk
    await tab.step("staff-outage-closed")

    await tab.goto("/?lang=uk")
    await page.get_by_role("heading", name="Термінове зачинення").wait_for()
    assert REASON["uk"] in await page.locator("section.outages").inner_text()
    await tab.step("home-with-outage")

    await page.get_by_role("link", name="Стан пунктів").first.click()
    await page.locator("#closed-points").wait_for()
    await tab.step("status")

    await page.get_by_role("link", name="Декларація доступності").click()
    await page.get_by_role("heading", name="Архітектурна доступність").wait_for()
    await _no_horizontal_scroll(page)
    await tab.step("accessibility")

    await page.get_by_role("link", name="Інформація про захист персональних даних").click()
    await page.locator("#retention").wait_for()
    await _no_horizontal_scroll(page)
    await tab.step("privacy")

    await tab.goto(f"/points/{BASZTOWA}")
    await page.get_by_role("heading", name="Для мап і картографів").wait_for()
    await _no_horizontal_scroll(page)
    await tab.step("point-with-open-formats")

    await tab.goto(f"/bookings/{reference}/manage?token={mail_token}")
    await page.get_by_role("heading", name="Ваші дані").wait_for()
    await tab.step("manage-your-data")
    await page.get_by_role("link", name="Видалити мої дані").click()
    await page.get_by_role("heading", name="Видалити Ваші персональні дані зараз?").wait_for()
    await _no_horizontal_scroll(page)
    await tab.step("erase")
    await page.get_by_role("button", name="Так, видалити мої дані").click()
    await page.get_by_role("heading", name="Ваші дані видалено").wait_for()
    await tab.step("erased")
    assert await site.fetchval(
        "select visitor_email is null and status = 'cancelled' from bookings where reference = $1",
        reference,
    )

    # Staff open the day again: the banner goes
    await tab.goto(f"/staff/points/{BASZTOWA}/outage?lang=en")
    await page.get_by_role("button", name="Open this day again").click()
    await page.get_by_text("День знову відкритий").wait_for()
    await tab.goto("/status?lang=uk")
    await page.locator("#all-open").wait_for()
    assert await page.locator("section.outages").count() == 0
