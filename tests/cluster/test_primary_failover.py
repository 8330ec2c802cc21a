"""The PostgreSQL primary killed during a booking load and the synchronous standby promoted.

The primary acknowledges a commit only once the standby has it (synchronous_standby_names,
synchronous_commit = on), so no booking the service acknowledged is lost with the primary; the
replicas' multi-host URL (target_session_attrs=read-write) finds the promoted standby by itself,
with no restart and no change of configuration.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest

from tests.cluster.conftest import sized
from tests.cluster.harness import http_status
from tests.cluster.load import BookingLoad, tickets, until

pytestmark = pytest.mark.cluster

#: How long the primary stays dead before the standby is promoted: an operator, or a failover
#: manager (Patroni, pg_auto_failover), deciding that it is gone.
DETECTION = 2.0


async def test_the_primary_killed_and_the_standby_promoted_loses_no_acknowledged_booking(stack):
    count = sized(500, 2000)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        load = BookingLoad(stack.url, await tickets(http, count), concurrency=16, deadline=90)
    running = asyncio.create_task(load.run())
    await until(lambda: _acknowledged_at_least(load, count // 3), within=120)

    stack.primary.kill()
    killed_at = load.mark("kill")
    acknowledged_before = {o.reference for o in load.acknowledged if o.answered_at < killed_at}
    await asyncio.sleep(DETECTION)
    began = time.monotonic()
    await asyncio.to_thread(stack.standby.promote)
    promoted_at = load.mark("promote")
    promote_took = promoted_at - began
    ready = await asyncio.gather(*(_until_ready(r.url, promoted_at) for r in stack.web))
    balancer_ready = await _until_ready(stack.url, promoted_at)
    await running
    mail_drained = await _until_mail_sent(stack, within=90)

    acknowledged = {o.reference for o in load.acknowledged}
    conn = await asyncpg.connect(stack.standby.url("wizyta"))
    try:
        assert not await conn.fetchval("select pg_is_in_recovery()"), "the standby is promoted"
        stored_before = await conn.fetchval(
            "select count(*) from bookings where reference = any($1::text[])",
            list(acknowledged_before),
        )
        stored = await conn.fetchval(
            "select count(*) from bookings where reference = any($1::text[])", list(acknowledged)
        )
        rows = await conn.fetchval("select count(*) from bookings")
        overlapping = await conn.fetchval(
            """
            select count(*) from bookings a join bookings b
              on a.desk_id = b.desk_id and a.id < b.id
             and tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')
            where a.status in ('held', 'confirmed', 'checked_in')
              and b.status in ('held', 'confirmed', 'checked_in')
            """
        )
    finally:
        await conn.close()
    print(
        f"\nprimary SIGKILLed after {len(acknowledged_before)} acknowledged bookings; standby "
        f"promoted {DETECTION:.0f} s later (pg_ctl promote took {promote_took:.2f} s); "
        f"replicas' /readyz 200 again {', '.join(f'{t:.2f}' for t in ready)} s after the "
        f"promotion, the balancer's {balancer_ready:.2f} s, the first 201 "
        f"{load.first_201_after.get('promote', float('nan')):.2f} s; {load.summary()}; "
        f"acknowledged before the kill: {len(acknowledged_before)}, on the new primary: "
        f"{stored_before}; acknowledged in all: {len(acknowledged)}, stored: {stored}; "
        f"{rows} rows; {overlapping} overlapping visits on a desk; every mail sent "
        f"{mail_drained:.1f} s after the load"
    )
    assert stored_before == len(acknowledged_before)
    assert stored == len(acknowledged)
    assert rows == len(acknowledged), "a retried request booked once"
    assert overlapping == 0
    assert all(o.status in (201, 409) for o in load.outcomes), "every visitor got an answer"
    assert {a for a in load.answers if a.isdigit() and int(a) >= 500} <= {"503"}
    assert max(ready) < 10, "the replicas find the new primary within seconds"
    assert not stack.dead(), f"no process needed a restart:\n{stack.dead()}"


async def _acknowledged_at_least(load: BookingLoad, n: int) -> bool:
    return len(load.acknowledged) >= n


async def _until_ready(url: str, since: float) -> float:
    async def ready() -> bool:
        return await asyncio.to_thread(http_status, f"{url}/readyz") == 200

    await until(ready, within=30)
    return time.monotonic() - since


async def _until_mail_sent(stack, within: float) -> float:
    """The workers rode out the failover too: every outbox row is sent."""
    conn = await asyncpg.connect(stack.database_url)
    try:

        async def drained() -> bool:
            return not await conn.fetchval("select count(*) from outbox where sent_at is null")

        return await until(drained, within=within, step=0.5)
    finally:
        await conn.close()
