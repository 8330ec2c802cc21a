"""Races across channels: a consultant who takes visits on site and by phone is one desk, so
PostgreSQL's exclusion constraint never gives them two visits at once, however many visitors
of both channels book the same time together (the real server in a process of its own, real
connections, asyncio.gather)."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import uuid

import httpx
import pytest

from tests.booking_helpers import BASZTOWA, booking_body, free_slots

pytestmark = pytest.mark.usefixtures("seeded")

ROUNDS = 6
PER_CHANNEL = 40
SHARED = "krakow-basztowa-22-desk-1"


@pytest.fixture
async def http(live_server):
    limits = httpx.Limits(max_connections=2 * PER_CHANNEL + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=120, limits=limits) as client:
        yield client


async def _book(http, start: str, email: str, channel: str):
    extra = {"channel": channel}
    if channel == "phone":
        extra["phone"] = "+48 600 100 200"
    return await http.post(
        "/api/v1/bookings",
        json=booking_body(start, email, **extra),
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )


async def test_one_consultant_of_two_channels_is_never_booked_twice_at_once(http, pool):
    # Only desk 1 stays: its consultant takes visits on site and by phone.
    await pool.execute(
        "update desks set active = false where point_id = $1 and id <> $2", BASZTOWA, SHARED
    )
    on_site = {s["start"]: s for s in await free_slots(http)}
    by_phone = {s["start"]: s for s in await free_slots(http, channel="phone")}
    both = sorted(set(on_site) & set(by_phone))
    assert len(both) >= ROUNDS
    outcomes = collections.Counter()
    for round_number, start in enumerate(both[:ROUNDS]):
        responses = await asyncio.gather(
            *(
                _book(http, start, f"r{round_number}-{channel}-{i}@example.org", channel)
                for i in range(PER_CHANNEL)
                for channel in ("on_site", "phone")
            )
        )
        statuses = collections.Counter(r.status_code for r in responses)
        assert set(statuses) <= {201, 409}, [r.text for r in responses if r.status_code >= 500]
        assert statuses[201] == 1, statuses
        outcomes.update(r.json()["channel"] for r in responses if r.status_code == 201)
        active = await pool.fetch(
            """
            select desk_id, channel from bookings
             where starts_at = $1 and visit_is_active(status, hold_expires_at)
            """,
            dt.datetime.fromisoformat(start),
        )
        assert [r["desk_id"] for r in active] == [SHARED]
    # No two active visits overlap on the desk, across every channel.
    overlapping = await pool.fetchval(
        """
        select count(*) from bookings a join bookings b
          on a.desk_id = b.desk_id and a.id < b.id
         and tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
         where visit_is_active(a.status, a.hold_expires_at)
           and visit_is_active(b.status, b.hold_expires_at)
        """
    )
    assert overlapping == 0
    assert sum(outcomes.values()) == ROUNDS


async def test_a_visit_in_one_channel_takes_the_consultant_from_the_other(http, pool):
    await pool.execute(
        "update desks set active = false where point_id = $1 and id <> $2", BASZTOWA, SHARED
    )
    start = sorted(
        set(s["start"] for s in await free_slots(http))
        & set(s["start"] for s in await free_slots(http, channel="phone"))
    )[0]
    held = await _book(http, start, "first@example.org", "phone")
    assert held.status_code == 201, held.text
    on_site = {s["start"] for s in await free_slots(http)}
    assert start not in on_site  # the same consultant: gone from the other channel too
    refused = await _book(http, start, "second@example.org", "on_site")
    assert refused.status_code == 409 and refused.json()["code"] == "slot_taken"
