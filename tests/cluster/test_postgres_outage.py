"""PostgreSQL's primary away for 6 s (10 s in `make cluster`) during a booking load, twice:
stopped (connections refused and broken), then its packets dropped (tests/proxy.py blackholes
it: connections stay open and nothing comes back; only the app's own timeouts notice). In each
window visitors get only 503s (with Retry-After, from a replica or from HAProxy once it has
taken the replicas out); afterwards the same processes book again without a restart, and every
acknowledged booking is stored once."""

from __future__ import annotations

import asyncio
import collections

import asyncpg
import httpx
import pytest

from tests.cluster.conftest import sized
from tests.cluster.load import BookingLoad, tickets, until

pytestmark = pytest.mark.cluster

OUTAGE = float(sized(6, 10))  # seconds each fault lasts


async def _acknowledged_more_than(load: BookingLoad, n: int) -> bool:
    return len(load.acknowledged) > n


async def _fault(load: BookingLoad, name: str, begin, end) -> dict:
    """Let some bookings through, then `begin` the fault, wait OUTAGE seconds, `end` it; the
    answers in the window and how long the first 201 took afterwards."""
    some = len(load.acknowledged) + 20
    await until(lambda: _acknowledged_more_than(load, some), within=120)
    started = load.mark(name)
    await begin()
    await asyncio.sleep(OUTAGE)
    await end()
    ended = load.mark(f"{name} over")
    acknowledged = len(load.acknowledged)
    recovered = await until(lambda: _acknowledged_more_than(load, acknowledged), within=60)
    return {
        "window": load.answered_between(started + 0.5, ended),
        "slowest": max(
            (at - sent for sent, at, _ in load.timeline if started <= at < ended + 10),
            default=0.0,
        ),
        "after": load.first_201_after.get(f"{name} over", recovered),
        "took": ended - started,
    }


async def test_postgres_stopped_and_blackholed_answers_503_and_recovers_without_restart(
    proxied_stack,
):
    stack = proxied_stack
    count = sized(600, 1500)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        load = BookingLoad(
            stack.url, await tickets(http, count), concurrency=8, deadline=120, pause=0.5
        )
    running = asyncio.create_task(load.run())

    async def stop() -> None:
        await asyncio.to_thread(stack.primary.stop)

    async def start() -> None:
        await asyncio.to_thread(stack.primary.start)

    assert stack.primary_proxy is not None
    down = await _fault(load, "stopped", stop, start)
    dropped = await _fault(
        load, "blackholed", stack.primary_proxy.blackhole, stack.primary_proxy.restore
    )
    await load.finish_after(20)
    await running

    acknowledged = {o.reference for o in load.acknowledged}
    conn = await asyncpg.connect(stack.primary_url)
    try:
        stored = await conn.fetchval(
            "select count(*) from bookings where reference = any($1::text[])", list(acknowledged)
        )
        rows = await conn.fetchval("select count(*) from bookings")
    finally:
        await conn.close()

    def figures(name: str, f: dict) -> str:
        return (
            f"{name} {f['took']:.1f} s: answers in the window "
            f"{dict(sorted(f['window'].items()))}, slowest answer {f['slowest']:.2f} s, "
            f"first 201 {f['after']:.2f} s after its end"
        )

    print(
        f"\n{figures('primary stopped', down)}; {figures('packets dropped', dropped)}; "
        f"{load.summary()}; {len(acknowledged)} acknowledged, {stored} stored, {rows} rows"
    )
    for f in (down, dropped):
        assert set(f["window"]) == {"503"}, "only 503s while the primary is away"
    everything = collections.Counter(a for _, _, a in load.timeline)
    assert set(everything) <= {"201", "409", "503"}, everything
    assert all(o.status in (201, 409) for o in load.outcomes), "every visitor got an answer"
    assert stored == len(acknowledged)
    assert rows == len(acknowledged), "a retried request booked once"
    assert not stack.dead(), f"no process needed a restart:\n{stack.dead()}"
