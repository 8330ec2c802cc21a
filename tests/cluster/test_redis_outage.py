"""Redis away during a booking load, twice: stopped for 6 s (10 s in `make cluster`) and
started again empty (the queue lost), then its packets dropped as long (tests/proxy.py
blackholes it). Bookings go on (Redis only carries the mail queue here; its commands have
timeouts, so no request waits for it long), and every mail of the bookings made meanwhile is
sent later by the worker's sweep, which finds the outbox rows nobody queued."""

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
    some = len(load.acknowledged) + 20
    await until(lambda: _acknowledged_more_than(load, some), within=120)
    started = load.mark(name)
    acknowledged = len(load.acknowledged)
    await begin()
    await asyncio.sleep(OUTAGE)
    await end()
    ended = load.mark(f"{name} over")
    return {
        "window": load.answered_between(started, ended),
        "booked": len(load.acknowledged) - acknowledged,
        "slowest": max(
            (at - sent for sent, at, _ in load.timeline if started <= at < ended), default=0.0
        ),
    }


async def test_redis_stopped_and_blackholed_bookings_go_on_and_mail_follows(proxied_stack):
    stack = proxied_stack
    count = sized(600, 1500)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        load = BookingLoad(
            stack.url, await tickets(http, count), concurrency=8, deadline=60, pause=0.5
        )
    running = asyncio.create_task(load.run())

    async def stop() -> None:
        await asyncio.to_thread(stack.redis.stop)

    async def start() -> None:
        await asyncio.to_thread(stack.redis.start)

    assert stack.redis_proxy is not None
    down = await _fault(load, "stopped", stop, start)
    dropped = await _fault(
        load, "blackholed", stack.redis_proxy.blackhole, stack.redis_proxy.restore
    )
    await load.finish_after(20)
    await running

    conn = await asyncpg.connect(stack.primary_url)
    try:

        async def drained() -> bool:
            return not await conn.fetchval(
                "select count(*) from outbox where sent_at is null and failed_at is null"
            )

        drained_in = await until(drained, within=120, step=0.5)
        to_send = {
            r["id"]
            for r in await conn.fetch(
                "select id from outbox where sent_at is not null "
                "and coalesce(last_error, '') not like 'skipped:%'"
            )
        }
        failed = await conn.fetchval("select count(*) from outbox where failed_at is not null")
        rows = await conn.fetchval("select count(*) from bookings")
    finally:
        await conn.close()
    await asyncio.sleep(1)  # the last message is being written into the Maildir
    ids = collections.Counter(
        int(m.split("outbox-", 1)[1].split(".", 1)[0]) for m in stack.smtp.message_ids()
    )

    def figures(name: str, f: dict) -> str:
        return (
            f"{name} {OUTAGE:.0f} s: {f['booked']} bookings acknowledged meanwhile, answers "
            f"{dict(sorted(f['window'].items()))}, slowest {f['slowest']:.2f} s"
        )

    print(
        f"\n{figures('Redis stopped (restarted empty)', down)}; "
        f"{figures('packets dropped', dropped)}; {load.summary()}; every mail sent "
        f"{drained_in:.1f} s after the load; "
        f"{len(to_send)} to send, {len(ids)} received ({len(to_send - ids.keys())} lost, "
        f"{sum(n - 1 for n in ids.values())} duplicates), {failed} failed"
    )
    for f in (down, dropped):
        assert f["booked"] > 0, "bookings go on while Redis is away"
        assert set(f["window"]) <= {"201", "409"}, f["window"]
    everything = collections.Counter(a for _, _, a in load.timeline)
    assert set(everything) <= {"201", "409"}, "no request failed or hung (a timeout is a failure)"
    assert all(o.status in (201, 409) for o in load.outcomes)
    assert rows == len(load.acknowledged)
    assert to_send - ids.keys() == set(), "every mail delivered"
    assert failed == 0
    assert not stack.dead(), stack.dead()
