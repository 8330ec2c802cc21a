"""The "Hours and desks" tab in a real browser on a 768 px tablet: nothing to scroll sideways,
a form without a weekday says so, ending the hours over a booked visit shows the visit and
asks the required choice before saving, and a desk's room is changed from its form. Each
screen passes axe."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from tests.e2e.conftest import STAFF_PASSWORD

BASZTOWA = "krakow-basztowa-22"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
TABLET = {"viewport": {"width": 768, "height": 1024}}
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


async def a_visit_on_the_next_tuesday(site) -> tuple[str, dt.date]:
    today = dt.datetime.now(WARSAW).date()
    day = today + dt.timedelta(days=(1 - today.weekday()) % 7 or 7)
    start = dt.datetime.combine(day, dt.time(10, 0), WARSAW)
    await site.fetchval(
        """
        insert into bookings (reference, point_id, service_id, desk_id, starts_at, ends_at,
                              language, visitor_name, visitor_email, status, manage_token_hash,
                              confirmed_at)
        values ('KRK-HOUR-01', $1, 'everyday-matters', $2, $3, $4, 'uk', 'Ірина Шевчук',
                'iryna@example.com', 'confirmed', '\\x00', now())
        """,
        BASZTOWA,
        f"{BASZTOWA}-desk-1",
        start,
        start + dt.timedelta(minutes=30),
    )
    return "KRK-HOUR-01", day


async def fits(page) -> None:
    widths = await page.evaluate(
        """() => ({
            boxes: [...document.querySelectorAll('.scroll')].map(
                b => [b.scrollWidth, b.clientWidth]),
            doc: document.documentElement.scrollWidth,
            view: document.documentElement.clientWidth,
        })"""
    )
    assert widths["doc"] <= widths["view"], widths
    for scroll, client in widths["boxes"]:
        assert scroll <= client, widths


async def test_hours_and_desks_are_kept_from_the_tab_on_a_tablet(site, open_tab):
    reference, tuesday = await a_visit_on_the_next_tuesday(site)
    rule_id = f"{BASZTOWA}-tue-fri-2023"
    staff = await open_tab("staff", locale="pl-PL", **TABLET)
    page = staff.page
    await staff.goto("/staff/login")
    await page.get_by_label("Adres e-mail").fill("basztowa@wizyta.test")
    await page.get_by_label("Hasło").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Zaloguj się").click()
    await page.get_by_role("heading", name="Twoje punkty").wait_for()

    await staff.goto(f"/staff/points/{BASZTOWA}/rules")
    await page.get_by_role("heading", name="Dodaj godziny tygodniowe").wait_for()
    await fits(page)
    await staff.step("tablet-hours-and-desks")
    row = page.locator(f"#rule-{rule_id}")
    await row.get_by_text("Zakończ lub usuń").click()
    await fits(page)
    await staff.step("tablet-end-or-delete")

    # a form without a weekday, closing before it opens: sentences, nothing saved
    await page.get_by_label("Otwarcie o").fill("14:00")
    await page.get_by_label("Zamknięcie o").fill("09:00")
    await page.get_by_role("button", name="Zapisz godziny tygodniowe").click()
    await page.get_by_text("Wybierz co najmniej jeden dzień tygodnia.").first.wait_for()
    await staff.step("hours-form-refused")
    assert await site.fetchval("select count(*) from calendar_rules where source = 'staff'") == 0

    # ending Tuesday–Friday hours before the visit: the visit is shown, the choice required
    await staff.goto(f"/staff/points/{BASZTOWA}/rules")
    row = page.locator(f"#rule-{rule_id}")
    await row.get_by_text("Zakończ lub usuń").click()
    await row.get_by_label("Ostatni dzień tych godzin").fill(
        (tuesday - dt.timedelta(days=1)).isoformat()
    )
    await row.get_by_role("button", name="Zakończ godziny").click()
    await page.get_by_text(reference).wait_for()
    await fits(page)
    await staff.step("end-hours-preview")
    assert (
        await site.fetchval("select valid_until from calendar_rules where id = $1", rule_id) is None
    )
    await page.get_by_label(re.compile("^Zachowaj je")).check()
    await page.get_by_role("button", name="Potwierdź i zapisz").click()
    await page.get_by_text("Godziny tygodniowe kończą się teraz w podanym dniu.").wait_for()
    await staff.step("hours-ended")
    assert await site.fetchval(
        "select valid_until from calendar_rules where id = $1", rule_id
    ) == tuesday - dt.timedelta(days=1)

    # a desk's room, from its form
    desk_id = f"{BASZTOWA}-desk-2"
    await page.locator(f"#desk-{desk_id}").get_by_role("link", name="Zmień").click()
    await page.get_by_role("heading", name="Zmień stanowisko").wait_for()
    await fits(page)
    await staff.step("desk-form")
    await page.get_by_label("Pokój").fill("pokój 12")
    await page.get_by_role("button", name="Zapisz stanowisko").click()
    await page.get_by_text("Stanowisko zostało zapisane.").wait_for()
    assert await site.fetchval("select room from desks where id = $1", desk_id) == "pokój 12"
