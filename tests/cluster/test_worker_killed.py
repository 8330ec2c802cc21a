"""A worker SIGKILLed in the middle of its batch of mails: the other worker and the sweep send
what it had claimed once its lease runs out, so no mail is lost; a message the dead worker had
handed to the SMTP server but not yet recorded as sent goes out twice (at least once, by
design), and the duplicates are counted by Message-ID (one per outbox row)."""

from __future__ import annotations

import asyncio
import collections

import asyncpg
import httpx
import pytest

from tests.cluster.conftest import sized
from tests.cluster.load import BookingLoad, tickets, until

pytestmark = pytest.mark.cluster


async def test_a_worker_killed_mid_batch_loses_no_mail(stack):
    count = sized(300, 1000)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        load = BookingLoad(stack.url, await tickets(http, count), concurrency=32, deadline=60)
    running = asyncio.create_task(load.run())

    async def sending() -> bool:
        return await asyncio.to_thread(stack.smtp.count) >= count // 4

    await until(sending, within=120)
    victim = stack.workers[0]
    victim.kill()
    killed_at = load.mark("kill")
    received_before = await asyncio.to_thread(stack.smtp.count)
    await running

    conn = await asyncpg.connect(stack.database_url)
    try:

        async def drained() -> bool:
            return not await conn.fetchval(
                "select count(*) from outbox where sent_at is null and failed_at is null"
            )

        drained_in = await until(drained, within=120, step=0.5)
        rows = await conn.fetch(
            "select id, booking_id, last_error, failed_at from outbox "
            "where sent_at is not null or failed_at is not null"
        )
        claimed_twice = await conn.fetchval("select count(*) from outbox where claims > 1")
    finally:
        await conn.close()
    await asyncio.sleep(1)  # the last message is being written into the Maildir
    sent = {r["id"] for r in rows if not r["failed_at"]}
    skipped = {r["id"] for r in rows if (r["last_error"] or "").startswith("skipped:")}
    failed = {r["id"] for r in rows if r["failed_at"]}
    ids = collections.Counter(
        int(m.split("outbox-", 1)[1].split(".", 1)[0]) for m in stack.smtp.message_ids()
    )
    lost = (sent - skipped) - ids.keys()
    duplicates = sum(n - 1 for n in ids.values())
    print(
        f"\nworker SIGKILLed after {received_before} mails had arrived; {load.summary()}; "
        f"{len(rows)} outbox rows done ({len(sent - skipped)} to send, {len(skipped)} skipped, "
        f"{len(failed)} failed), all done {drained_in:.1f} s after the load ended "
        f"({load.outcomes[-1].answered_at - killed_at:.1f} s after the kill); "
        f"{sum(ids.values())} messages received, {len(ids)} distinct: {len(lost)} lost, "
        f"{duplicates} duplicates; {claimed_twice} rows claimed more than once"
    )
    assert len(load.acknowledged) > count // 2
    assert not failed
    assert lost == set()
    assert ids.keys() <= sent - skipped, "no message for a row that was not to be sent"
    assert not stack.dead(stack.workers[1:]), stack.dead(stack.workers[1:])
