"""The booking page in a release's first minutes: the form enters the draw, and the draw's
page is the visitor's answer — "in the draw" while the window is open, then won or lost."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo
from urllib.parse import urlencode

import pytest

from tests.booking_helpers import BASZTOWA, close_the_draw_window, publish_a_day
from web.security import CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
DAYS_AHEAD = 10
SIGN = "pjm"  # one desk at Basztowa signs: one visit per slot, so a second entrant can lose


@pytest.fixture
async def release(pool):
    """Basztowa publishes day D+10 a minute ago, with one special half hour that day."""
    await pool.execute("delete from calendar_rules where point_id = $1", BASZTOWA)
    day = await publish_a_day(pool, BASZTOWA, days_ahead=DAYS_AHEAD, opens="08:00", closes="08:30")
    return dt.datetime.combine(day, dt.time(8), WARSAW)


async def _enter(client, start: dt.datetime, email: str):
    service = "everyday-matters"
    query = urlencode(
        {"service": service, "language": SIGN, "day": start.date().isoformat(),
         "start": start.isoformat()}
    )  # fmt: skip
    details = await client.get(f"/points/{BASZTOWA}/book?{query}")
    assert details.status_code == 200, details.text
    key = re.search(r'name="key" value="([^"]+)"', details.text)[1]
    form = {
        "csrf_token": client.cookies.get(CSRF_COOKIE),
        "service": service,
        "language": SIGN,
        "start": start.isoformat(),
        "key": key,
        "name": "Olena Kowalenko",
        "email": email,
    }
    return await client.post(f"/points/{BASZTOWA}/book", data=form, follow_redirects=False)


def _heading(page: str) -> str:
    return html.unescape(re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)[1]).strip()


async def test_a_form_in_the_window_enters_the_draw_and_its_page_gives_the_answer(
    client, pool, release
):
    first = await _enter(client, release, "olena@example.org")
    second = await _enter(client, release, "taras@example.org")
    assert first.status_code == second.status_code == 303, first.text
    assert first.headers["location"].startswith("/draws/")
    assert await pool.fetchval("select count(*) from bookings") == 0  # no first come
    assert await pool.fetchval("select count(*) from draw_entries") == 2

    waiting = await client.get(first.headers["location"] + "&lang=en")
    assert waiting.status_code == 200
    assert _heading(waiting.text) == "You are in the draw"
    assert "The draw closes at" in waiting.text

    await close_the_draw_window(pool, BASZTOWA)
    answers = [
        await client.get(response.headers["location"] + "&lang=en") for response in (first, second)
    ]
    headings = sorted(_heading(a.text) for a in answers)
    assert headings == ["Not drawn this time", "You got a visit"]  # one signing desk, one slot
    won = next(a for a in answers if _heading(a.text) == "You got a visit")
    reference = await pool.fetchval("select reference from bookings where status = 'held'")
    assert reference in won.text


async def test_a_draw_page_without_its_token_reveals_nothing(client, pool, release):
    entered = await _enter(client, release, "olena@example.org")
    path = entered.headers["location"].split("?")[0]
    for query in ("", "?token=wrong"):
        refused = await client.get(path + query)
        assert refused.status_code in (401, 404)
        assert "olena" not in refused.text
