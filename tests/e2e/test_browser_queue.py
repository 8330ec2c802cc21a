"""A point's day in a real browser, from the door to the desk: the kiosk checks a visitor in by
the QR code's payload and gives a walk-in a ticket; the waiting room's screen shows a call
pressed at a desk as it happens, and again after the server restarted; the clerk's queue page
and the statistics page; axe checks each page."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from booking.domain.queue import qr_payload
from tests.conftest import LiveServer
from tests.e2e.conftest import ARTIFACTS, STAFF_PASSWORD, Steps
from tests.factories import insert_booking
from tests.staff_helpers import make_accounts

BASZTOWA = "krakow-basztowa-22"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
TABLET = {"viewport": {"width": 768, "height": 1024}}
#: "within a second of the press"
CALL_SHOWN_WITHIN_MS = 1_000


class _Site:
    def __init__(self, url: str) -> None:
        self.url = url


@pytest.fixture
async def server(settings, seeded, redis):
    await make_accounts(seeded)
    async with seeded.acquire() as conn:
        visit = await insert_booking(
            conn,
            point_id=BASZTOWA,
            start=dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
            + dt.timedelta(minutes=10),
            visitor_name="Ірина Шевчук",
        )
        await conn.execute(
            "insert into queue_settings (point_id, walk_ins, walk_in_cap) values ($1, true, 20)",
            BASZTOWA,
        )
    with LiveServer(settings) as live:
        live.reference = visit["reference"]
        yield live


async def _tab(browser, axe, server, request, name: str, **options) -> Steps:
    context = await browser.new_context(**options)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    return Steps(page, axe, ARTIFACTS / "screenshots" / request.node.name / name, _Site(server.url))


async def test_from_the_door_to_the_desk(server, browser, axe, request):
    api = httpx.AsyncClient(base_url=server.url, timeout=30)
    session = await api.post(
        "/api/v1/staff/sessions", json={"email": "basztowa@wizyta.test", "password": STAFF_PASSWORD}
    )
    staff = {"Authorization": f"Bearer {session.json()['token']}"}
    issued = await api.post(
        f"/api/v1/staff/points/{BASZTOWA}/kiosks", json={"label": "entrance"}, headers=staff
    )
    kiosk_url = issued.json()["url"]

    # The kiosk: set up once with its link, then a visitor's QR code and a walk-in.
    kiosk = await _tab(browser, axe, server, request, "kiosk", locale="en-GB", **TABLET)
    page = kiosk.page
    await page.goto(kiosk_url)
    assert "kiosk_token" not in page.url
    await page.get_by_role("heading", name="I have an appointment").wait_for()
    await kiosk.step("kiosk")
    field = page.get_by_label(re.compile("Type the booking number"))
    await field.fill(qr_payload(server.reference))  # what a hand-held scanner types
    await field.press("Enter")
    await page.locator("#ticket-number").wait_for()
    assert await page.locator("#ticket-number").inner_text() == "A001"
    assert "Шевчук" not in await page.content()  # no names on a public screen
    await kiosk.step("ticket")
    await page.get_by_role("link", name="Done").click()
    await page.get_by_label("Everyday matters", exact=False).first.check()
    await page.get_by_label("Ukrainian", exact=True).check()
    await page.get_by_role("button", name="Take a ticket").click()
    assert await page.locator("#ticket-number").inner_text() == "W001"
    await kiosk.step("walk-in-ticket")

    # The waiting room's screen, live.
    screen = await _tab(browser, axe, server, request, "display", locale="pl-PL", **DESKTOP)
    display = screen.page
    await display.goto(f"{server.url}/points/{BASZTOWA}/display")
    await display.locator('main[data-state="live"]').wait_for()
    await screen.step("display")
    room = await api.patch(
        f"/api/v1/staff/points/{BASZTOWA}/desks/{BASZTOWA}-desk-1",
        json={"room": "pokój 12"},
        headers=staff,
    )
    assert room.status_code == 200, room.text
    called = await api.post(
        f"/api/v1/staff/points/{BASZTOWA}/desks/{BASZTOWA}-desk-1/call-next", headers=staff
    )
    assert called.json()["number"] == "A001"
    await display.locator("#now-serving").get_by_text("A001").wait_for(timeout=CALL_SHOWN_WITHIN_MS)
    await display.locator("main[data-announced]").wait_for()
    row = display.locator("#now-serving tr", has_text="A001")
    assert await row.locator(".room").inner_text() == "pokój 12"  # drawn live by display.js
    await screen.step("called")

    # The server restarts; the screen reconnects by itself and shows the next call.
    server.__exit__(None, None, None)
    await display.locator('main[data-state="reconnecting"]').wait_for()
    server.__enter__()
    await display.locator('main[data-state="live"]').wait_for(timeout=15_000)
    called = await api.post(
        f"/api/v1/staff/points/{BASZTOWA}/desks/{BASZTOWA}-desk-2/call-next", headers=staff
    )
    assert called.json()["number"] == "W001"
    await display.locator("#now-serving").get_by_text("W001").wait_for(timeout=CALL_SHOWN_WITHIN_MS)
    await screen.step("after-restart")

    # The clerk's pages.
    desk = await _tab(browser, axe, server, request, "staff", locale="en-GB", **DESKTOP)
    await desk.page.goto(f"{server.url}/staff/login")
    await desk.page.get_by_label("E-mail").fill("basztowa@wizyta.test")
    await desk.page.get_by_label("Password").fill(STAFF_PASSWORD)
    await desk.page.get_by_role("button", name=re.compile("Log in")).click()
    await desk.page.goto(f"{server.url}/staff/points/{BASZTOWA}/queue")
    await desk.page.locator("#current-number").wait_for()
    await desk.step("queue")
    await desk.page.get_by_role("button", name="Done").first.click()
    await desk.page.get_by_role("status").get_by_text("Marked as done.").wait_for()
    await desk.page.goto(f"{server.url}/staff/points/{BASZTOWA}/print")
    await desk.page.locator("table.print").wait_for()
    await desk.step("print")
    await desk.page.goto(f"{server.url}/staff/points/{BASZTOWA}/search")
    await desk.page.get_by_label("Booking number, name, e-mail or phone").fill(server.reference)
    await desk.page.get_by_role("button", name="Search").click()
    await desk.page.locator("#found").get_by_text(server.reference).wait_for()
    await desk.step("search")
    await desk.page.goto(f"{server.url}/staff/points/{BASZTOWA}/statistics")
    await desk.page.locator("svg[role=img]").first.wait_for()
    await desk.step("statistics")
    await api.aclose()
