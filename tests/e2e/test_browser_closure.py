"""A closure that offers an alternative, accepted from the mail: staff close a day over a
confirmed visit and choose to cancel it (the choice is required); the visitor, on a 390 px
phone in Ukrainian, reads the cancellation mail, opens its "accept" link and confirms the time
held for them. Every page is checked by axe-core and kept as a screenshot."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import httpx

from tests.e2e.conftest import STAFF_PASSWORD, link_in, text_of

BASZTOWA = "krakow-basztowa-22"
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "uk-UA",
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "pl-PL"}


async def a_confirmed_visit(site) -> tuple[str, dt.date]:
    """A confirmed visit two or more days ahead at a time the point offers, as booking writes
    one (the booking form itself has browser tests of its own)."""
    today = dt.datetime.now(WARSAW).date()
    async with httpx.AsyncClient(base_url=site.url) as client:
        response = await client.get(
            f"/api/v1/points/{BASZTOWA}/availability",
            params={
                "service": "everyday-matters",
                "language": "uk",
                "from": str(today + dt.timedelta(days=2)),
                "to": str(today + dt.timedelta(days=16)),
            },
        )
    slot = next(s for day in response.json()["days"] for s in day["slots"])
    start = dt.datetime.fromisoformat(slot["start"])
    await site.fetchval(
        """
        insert into bookings (reference, point_id, service_id, desk_id, starts_at, ends_at,
                              language, visitor_name, visitor_email, status, manage_token_hash,
                              confirmed_at)
        values ('KRK-CLSD-01', $1, 'everyday-matters', $2, $3, $4, 'uk', 'Оксана Мельник',
                'oksana@example.com', 'confirmed', '\\x00', now())
        """,
        BASZTOWA,
        f"{BASZTOWA}-desk-1",  # nothing else is booked: every desk is free
        start,
        dt.datetime.fromisoformat(slot["end"]),
    )
    return "KRK-CLSD-01", start.astimezone(WARSAW).date()


async def test_a_closure_offers_an_alternative_accepted_from_the_mail(site, open_tab, mailbox):
    reference, day = await a_confirmed_visit(site)

    staff = await open_tab("staff", **DESKTOP)
    page = staff.page
    await staff.goto("/staff/login")
    await page.get_by_label("Adres e-mail").fill("basztowa@wizyta.test")
    await page.get_by_label("Hasło").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Zaloguj się").click()
    await staff.goto(f"/staff/points/{BASZTOWA}/special-days")
    await page.get_by_label("Data").fill(day.isoformat())
    await page.get_by_label("Punkt jest zamknięty przez cały dzień").check()
    await page.get_by_label("Українська").fill("Аварія електромережі")
    await page.get_by_role("button", name="Sprawdź, których wizyt to dotyczy").click()
    await page.get_by_text(reference).wait_for()
    await staff.step("closure-preview")
    await page.get_by_label(re.compile("^Odwołaj je")).check()
    await page.get_by_role("button", name="Potwierdź i zapisz").click()
    await page.get_by_text("Zapisano. Wizyty, których to dotyczy, zostały odwołane").wait_for()
    await staff.step("closure-saved")
    assert await site.fetchval("select status from bookings where reference = $1", reference) == (
        "cancelled"
    )
    alternative = await site.fetchval(
        "select reference from bookings where alternative_for = "
        "(select id from bookings where reference = $1)",
        reference,
    )
    assert alternative

    mail = await mailbox.wait_for("oksana@example.com", reference)
    assert "скасував" in str(mail["Subject"])  # "Пункт скасував візит …"
    assert "Аварія електромережі" in text_of(mail)
    assert link_in(mail, rf"^/bookings/{alternative}/release$")
    reader = await open_tab("visitor", **PHONE)
    vpage = reader.page
    await reader.goto(link_in(mail, rf"^/bookings/{alternative}/confirm$"))
    await vpage.get_by_text(f"замість візиту {reference}").wait_for()
    width = await vpage.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width[0] <= width[1], width
    await reader.step("alternative-offered")
    assert await site.fetchval("select status from bookings where reference = $1", alternative) == (
        "held"
    )  # opening the link changed nothing
    await vpage.get_by_role("button", name="Так, підтверджую візит").click()
    await vpage.get_by_role("heading", name="Візит підтверджено").wait_for()
    await reader.step("alternative-confirmed")
    assert await site.fetchval("select status from bookings where reference = $1", alternative) == (
        "confirmed"
    )
