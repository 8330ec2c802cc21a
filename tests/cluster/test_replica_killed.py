"""A web replica SIGKILLed in the middle of a booking load: what it acknowledged is stored, the
other replica takes the load, and retried requests book once."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.cluster.conftest import sized
from tests.cluster.load import BookingLoad, tickets, until

pytestmark = pytest.mark.cluster


async def test_a_replica_killed_during_a_booking_load_loses_no_acknowledged_booking(stack):
    count = sized(600, 2000)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        load = BookingLoad(stack.url, await tickets(http, count), concurrency=32, deadline=60)
    running = asyncio.create_task(load.run())
    await until(lambda: _acknowledged_at_least(load, count // 3), within=120)
    victim = stack.web[0]
    victim.kill()
    load.mark("kill")
    acknowledged_before = len(load.acknowledged)
    await running

    acknowledged = {o.reference for o in load.acknowledged}
    conn = await asyncpg.connect(stack.database_url)
    try:
        stored = await conn.fetchval(
            "select count(*) from bookings where reference = any($1::text[])", list(acknowledged)
        )
        rows = await conn.fetchval("select count(*) from bookings")
    finally:
        await conn.close()
    print(
        f"\nreplica :{victim.port} SIGKILLed after {acknowledged_before} acknowledged bookings; "
        f"{load.summary()}; the first 201 sent after the kill came "
        f"{load.first_201_after.get('kill', float('nan')):.2f} s after it; "
        f"{len(acknowledged)} acknowledged, {stored} of them stored, {rows} rows in all"
    )
    assert all(o.status in (201, 409) for o in load.outcomes), "every visitor got an answer"
    assert stored == len(acknowledged)
    assert rows == len(acknowledged), "a retried request booked once"
    assert {a for a in load.answers if a.isdigit() and int(a) >= 500} <= {"502", "503"}
    assert not stack.dead(stack.web[1:]), stack.dead(stack.web[1:])


async def _acknowledged_at_least(load: BookingLoad, n: int) -> bool:
    return len(load.acknowledged) >= n
