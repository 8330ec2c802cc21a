"""Staff in a real browser: log in, work through the day sheet, add an open Saturday (seeing the
visits it affects before confirming), look at the rules and desks; then a visitor books on that
Saturday and the visit appears on its day sheet."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from tests.e2e.conftest import STAFF_PASSWORD, link_in

BASZTOWA = "krakow-basztowa-22"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def next_saturday(at_least_days: int = 7) -> dt.date:
    day = dt.datetime.now(WARSAW).date() + dt.timedelta(days=at_least_days)
    return day + dt.timedelta(days=(5 - day.weekday()) % 7)


async def a_visit_later_today(site) -> str:
    """A confirmed visit today at the point, written as booking writes one."""
    today = dt.datetime.now(WARSAW).date()
    start = dt.datetime.combine(today, dt.time(23, 0), WARSAW)
    await site.fetchval(
        """
        insert into bookings (reference, point_id, service_id, desk_id, starts_at, ends_at,
                              language, visitor_name, visitor_email, status, manage_token_hash,
                              confirmed_at)
        values ('KRK-TDAY-01', $1, 'everyday-matters', $2, $3, $4, 'uk', 'Ірина Шевчук',
                'iryna@example.com', 'confirmed', '\\x00', now())
        """,
        BASZTOWA,
        f"{BASZTOWA}-desk-1",
        start,
        start + dt.timedelta(minutes=30),
    )
    return "KRK-TDAY-01"


async def test_staff_add_an_open_saturday_and_a_visitor_books_on_it(site, open_tab, mailbox):
    reference = await a_visit_later_today(site)
    staff = await open_tab("staff", locale="pl-PL", **DESKTOP)
    page = staff.page

    await staff.goto("/staff")
    await page.get_by_role("heading", name="Logowanie dla pracowników").wait_for()
    await staff.step("login")
    await page.get_by_label("Adres e-mail").fill("basztowa@wizyta.test")
    await page.get_by_label("Hasło").fill("not the password")
    await page.get_by_role("button", name="Zaloguj się").click()
    await page.get_by_text("Nieprawidłowy adres e-mail lub hasło.").wait_for()
    await staff.step("login-refused")
    await page.get_by_label("Hasło").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Zaloguj się").click()
    await page.get_by_role("heading", name="Twoje punkty").wait_for()
    await staff.step("points")

    # The day sheet: check the visitor in, then mark the visit done.
    await page.get_by_role("link", name=re.compile("^Plan dnia")).first.click()
    row = page.locator(f"#visit-{reference}")
    await row.wait_for()
    await staff.step("day-sheet")
    await row.get_by_role("button", name=re.compile("^Odnotuj przybycie")).click()
    await page.get_by_text("Odnotowano przybycie.").wait_for()
    assert "na miejscu" in await page.locator(f"#visit-{reference}").inner_text()
    await staff.step("checked-in")
    await (
        page.locator(f"#visit-{reference}")
        .get_by_role("button", name=re.compile("^Zakończ wizytę"))
        .click()
    )
    await page.get_by_text("Wizyta zakończona.").wait_for()
    assert await site.fetchval("select status from bookings where reference = $1", reference) == (
        "completed"
    )

    # An open Saturday: preview first (nothing saved), then confirm.
    saturday = next_saturday()
    await page.get_by_role("link", name="Dni specjalne").click()
    await staff.step("special-days")
    await page.get_by_label("Data").fill(saturday.isoformat())
    await page.get_by_label("Punkt jest otwarty (np. otwarta sobota)").check()
    await page.get_by_label("Otwarcie o").fill("09:00")
    await page.get_by_label("Zamknięcie o").fill("13:00")
    await page.get_by_label("Polski").fill("Otwarta sobota")
    await page.get_by_label("Українська").fill("Відкрита субота")
    await page.get_by_role("button", name="Sprawdź, których wizyt to dotyczy").click()
    await page.get_by_role("heading", name="Sprawdź i potwierdź").wait_for()
    await page.get_by_text("Nie dotyczy to żadnej umówionej wizyty.").wait_for()
    await staff.step("special-day-preview")
    assert (
        await site.fetchval("select count(*) from calendar_rules where $1 = any(dates)", saturday)
        == 0
    )
    await page.get_by_role("button", name="Potwierdź i zapisz").click()
    await page.get_by_text("Dzień specjalny został zapisany").wait_for()
    await staff.step("special-day-saved")
    assert (
        await site.fetchval("select count(*) from calendar_rules where $1 = any(dates)", saturday)
        == 1
    )

    await page.get_by_role("link", name="Godziny i stanowiska").click()
    await page.get_by_role("heading", name="Stanowiska").wait_for()
    await staff.step("rules-and-desks")

    # A visitor sees the open Saturday and books on it.
    visitor = await open_tab("visitor", locale="uk-UA", **DESKTOP)
    vpage = visitor.page
    await visitor.goto(f"/points/{BASZTOWA}")
    await vpage.get_by_text("відкрита субота").first.wait_for()
    await visitor.step("point-with-open-saturday")
    await visitor.goto(f"/points/{BASZTOWA}/book?service=everyday-matters&language=uk")
    await vpage.locator(f'ul.days a[href$="day={saturday.isoformat()}"]').click()
    await visitor.step("saturday-times")
    times = await vpage.locator("ul.times a").all_inner_texts()
    assert times[0] == "09:00" and times[-1] == "12:30"
    await vpage.locator("ul.times a").first.click()
    await vpage.get_by_label("Ім’я та прізвище").fill("Андрій Мельник")
    await vpage.get_by_label("Адреса електронної пошти").fill("andrii@example.com")
    await vpage.get_by_role("button", name="Записатися на цей візит").click()
    await vpage.get_by_role("heading", name="Перевірте електронну пошту").wait_for()
    booked = (await vpage.locator("#manage-link").get_attribute("href")).split("/")[2]
    mail = await mailbox.wait_for("andrii@example.com", booked)
    await visitor.goto(link_in(mail, rf"^/bookings/{booked}/confirm$"))
    await vpage.get_by_role("button", name="Так, підтверджую візит").click()
    await vpage.get_by_role("heading", name="Візит підтверджено").wait_for()

    # On the staff side the visit is on Saturday's sheet; checking in before its day is refused.
    await staff.goto(f"/staff/points/{BASZTOWA}?date={saturday.isoformat()}")
    row = page.locator(f"#visit-{booked}")
    assert "Андрій Мельник" in await row.inner_text()
    await staff.step("saturday-sheet")
    await row.get_by_role("button", name=re.compile("^Odnotuj przybycie")).click()
    await page.get_by_text("Przybycie można odnotować dopiero w dniu wizyty.").wait_for()
    await staff.step("check-in-too-early")

    await page.get_by_role("button", name="Wyloguj się").click()
    await page.get_by_role("heading", name="Logowanie dla pracowników").wait_for()
    await staff.goto(f"/staff/points/{BASZTOWA}")
    assert page.url.endswith("/staff/login")
