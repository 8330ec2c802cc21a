"""Release windows: requests in the first minutes after a day is published are drawn by lot."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import random
import zoneinfo

import httpx
import pytest

from booking.draw import run_due_draws
from tests.booking_helpers import (
    BASZTOWA,
    bearer,
    book,
    close_the_draw_window,
    publish_a_day,
)

pytestmark = pytest.mark.usefixtures("seeded")
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
DAYS_AHEAD = 10
HOLD = dt.timedelta(minutes=30)


@pytest.fixture
async def release(pool):
    """Basztowa publishes day D+10 at a time one minute ago; that day has 20 sign-language
    visits (one desk signs; a special day 08:00-18:00 of 30-minute visits)."""
    day = await publish_a_day(pool, BASZTOWA, days_ahead=DAYS_AHEAD, opens="08:00", closes="18:00")
    starts = [
        dt.datetime.combine(day, dt.time(8), WARSAW) + dt.timedelta(minutes=30 * i)
        for i in range(20)
    ]
    return day, starts


async def test_300_requests_in_the_window_give_20_visits_to_20_people_not_by_arrival(
    live_server, pool, release
):
    _, starts = release
    rng = random.Random(7)
    wanted = [rng.choice(starts[:5]).isoformat() for _ in range(300)]  # most want the morning
    limits = httpx.Limits(max_connections=310, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=120, limits=limits) as http:
        responses = await asyncio.gather(
            *(book(http, wanted[i], f"person{i}@example.org", language="pjm") for i in range(300))
        )
    codes = collections.Counter(r.status_code for r in responses)
    assert codes == {202: 300}, codes
    assert await pool.fetchval("select count(*) from bookings") == 0  # nothing first-come

    await close_the_draw_window(pool, BASZTOWA)
    outbox = await run_due_draws(pool, HOLD)
    assert len(outbox) == 20  # a confirmation e-mail to each winner

    visits = await pool.fetch(
        "select visitor_email, starts_at from bookings where status = 'held' order by starts_at"
    )
    assert len(visits) == 20
    assert len({v["visitor_email"] for v in visits}) == 20
    assert sorted(v["starts_at"] for v in visits) == starts  # the day is full, no overlap
    results = collections.Counter(
        r["status"] for r in await pool.fetch("select status from draw_entries")
    )
    assert results == {"won": 20, "lost": 280}
    winners = [
        r["arrival"]
        for r in await pool.fetch(
            "select arrival from draw_entries where status = 'won' order by arrival"
        )
    ]
    first_arrivals = [
        r["arrival"]
        for r in await pool.fetch("select arrival from draw_entries order by arrival limit 20")
    ]
    assert winners != first_arrivals  # the draw, not the arrival order, decided


async def test_every_entrant_gets_an_answer_even_with_no_worker(client, pool, release):
    _, starts = release
    won = (await book(client, starts[0].isoformat(), "a@example.org", language="pjm")).json()
    assert won["status"] == "entered" and won["token"]
    twice = await book(client, starts[1].isoformat(), "a@example.org", language="pjm")
    assert twice.status_code == 409  # one entry per person and day
    pending = await client.get(f"/api/v1/draws/{won['entry_id']}", headers=bearer(won["token"]))
    assert pending.json()["status"] == "entered"
    await close_the_draw_window(pool, BASZTOWA)
    answer = await client.get(f"/api/v1/draws/{won['entry_id']}", headers=bearer(won["token"]))
    assert answer.status_code == 200
    assert answer.json()["status"] == "won" and answer.json()["reference"]
    wrong = await client.get(f"/api/v1/draws/{won['entry_id']}", headers=bearer("guess"))
    assert wrong.status_code == 404


async def test_after_the_window_the_day_is_first_come_and_later_days_are_not_published(
    client, pool, release
):
    day, starts = release
    await close_the_draw_window(pool, BASZTOWA)
    first_come = await book(client, starts[3].isoformat(), "late@example.org", language="pjm")
    assert first_come.status_code == 201
    later = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(10), WARSAW)
    refused = await book(client, later.isoformat(), "eager@example.org", language="pjm")
    assert refused.status_code == 422
    assert "not published yet" in refused.json()["detail"]
