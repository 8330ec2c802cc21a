"""The clerk's desk in a real browser: the day sheet on a 768 px tablet shows every column
(nothing to scroll sideways), prints as a plain list without buttons, and the search, week and
password pages pass axe."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from tests.e2e.conftest import STAFF_PASSWORD

BASZTOWA = "krakow-basztowa-22"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
TABLET = {"viewport": {"width": 768, "height": 1024}}


async def a_busy_visit_tomorrow(site) -> tuple[str, dt.date]:
    """A confirmed visit tomorrow with long words: what widens a table the most."""
    day = dt.datetime.now(WARSAW).date() + dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(10, 0), WARSAW)
    await site.fetchval(
        """
        insert into bookings (reference, point_id, service_id, desk_id, starts_at, ends_at,
                              language, visitor_name, visitor_email, visitor_phone, needs,
                              notes, status, manage_token_hash, confirmed_at)
        values ('KRK-WIDE-01', $1, 'everyday-matters', $2, $3, $4, 'uk',
                'Олександра Констянтинівна Шевчук-Коваленко',
                'oleksandra.konstiantynivna.shevchuk@example.com', '+48 601 234 567',
                '{"wheelchair access","interpreter for sign language"}',
                'Brings the residence card application', 'confirmed', '\\x00', now())
        """,
        BASZTOWA,
        f"{BASZTOWA}-desk-1",
        start,
        start + dt.timedelta(minutes=30),
    )
    return "KRK-WIDE-01", day


async def test_the_day_sheet_fits_a_tablet_and_prints_without_buttons(site, open_tab):
    reference, day = await a_busy_visit_tomorrow(site)
    staff = await open_tab("staff", locale="pl-PL", **TABLET)
    page = staff.page
    await staff.goto("/staff/login")
    await page.get_by_label("Adres e-mail").fill("basztowa@wizyta.test")
    await page.get_by_label("Hasło").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Zaloguj się").click()
    await page.get_by_role("heading", name="Twoje punkty").wait_for()

    await staff.goto(f"/staff/points/{BASZTOWA}?date={day.isoformat()}")
    row = page.locator(f"#visit-{reference}")
    await row.wait_for()
    await staff.step("tablet-day-sheet")
    widths = await page.evaluate(
        """() => {
            const box = document.querySelector('.scroll');
            return {box: box.scrollWidth, boxClient: box.clientWidth,
                    doc: document.documentElement.scrollWidth,
                    view: document.documentElement.clientWidth};
        }"""
    )
    assert widths["box"] <= widths["boxClient"], widths
    assert widths["doc"] <= widths["view"], widths
    actions = await row.locator(".col-actions").bounding_box()
    assert actions["x"] + actions["width"] <= widths["view"], (actions, widths)
    await row.get_by_text("Odwołaj lub przenieś").click()
    await staff.step("tablet-cancel-or-move")
    assert (
        await page.evaluate("document.querySelector('.scroll').scrollWidth") <= widths["boxClient"]
    )

    await page.emulate_media(media="print")
    await staff.step("print", check=False)
    assert not await page.locator("button:visible").count()
    assert not await page.locator("form:visible").count()
    text = await page.locator("table.sheet").inner_text()
    service = await site.fetchval("select names->>'pl' from services where id = 'everyday-matters'")
    for shown in ("Олександра", "10:00", "wheelchair access", service):
        assert shown in text, (shown, text)
    assert "Akcje" not in text
    await page.emulate_media(media="screen")

    await staff.goto(f"/staff/points/{BASZTOWA}/search?q=shevchuk")
    await page.get_by_text(reference).first.wait_for()
    await staff.step("search")
    await staff.goto(f"/staff/points/{BASZTOWA}/week?date={day.isoformat()}")
    await page.locator("#week").wait_for()
    await staff.step("week")
    await staff.goto("/staff/password")
    await page.get_by_label("Obecne hasło").wait_for()
    await staff.step("password")
