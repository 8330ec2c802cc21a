"""The pages a public body owes its visitors, in a real browser on a 320 px phone, in Ukrainian,
each checked by axe: the outage banner on the list of points, the status page, the
accessibility statement, the privacy notice, a point's page with its hours for mappers, and a
visitor erasing their data from the manage page."""

from __future__ import annotations

import asyncpg
import httpx

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

    async with httpx.AsyncClient(base_url=site.url, timeout=30) as http:
        session = await http.post(
            "/api/v1/staff/sessions",
            json={"email": "basztowa@wizyta.test", "password": STAFF_PASSWORD},
        )
        token = session.json()["token"]
        closed = await http.post(
            f"/api/v1/staff/points/{BASZTOWA}/outages",
            json={"reason": REASON},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert closed.status_code == 201, closed.text
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
