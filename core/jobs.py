"""Enqueueing outbox jobs: the web app calls this after a commit; the worker's sweep does too.

The arq job id names the outbox row: `outbox:{id}` when a fresh row is enqueued after its
commit, `outbox:{id}:{claims}` when the sweep (or a retry) queues a row claimed `claims` times
so far. So a row is queued at most once per claim however many processes enqueue it, and a row
whose worker died after arq started its job (whether before its claim or mid-send, once the
lease ran out) gets a job id arq has not seen: the stale in-progress key of the dead worker's
job does not hold it back. The job itself reloads the row and does nothing if it was already
sent or is being sent (the lease decides who sends).

Enqueueing is best effort and bounded in time: the row is safe in PostgreSQL, and the worker's
periodic sweep enqueues whatever was not. A request that has committed a visit never waits on
a Redis that hangs for longer than `ENQUEUE_WITHIN`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from arq.connections import ArqRedis

logger = logging.getLogger("wizyta.jobs")

SEND_OUTBOX = "send_outbox"

ENQUEUE_WITHIN = 1.0
"""Seconds the web app gives Redis to take a request's jobs, all together."""


def outbox_job_id(outbox_id: int, claims: int | None = None) -> str:
    return f"outbox:{outbox_id}" if claims is None else f"outbox:{outbox_id}:{claims}"


async def enqueue_outbox(redis: ArqRedis, outbox_ids: Iterable[int]) -> None:
    """Queue freshly written rows; gives up after `ENQUEUE_WITHIN`."""
    await enqueue_outbox_jobs(redis, [(outbox_id, None) for outbox_id in outbox_ids])


async def enqueue_outbox_jobs(
    redis: ArqRedis,
    jobs: Iterable[tuple[int, int | None]],
    *,
    within: float = ENQUEUE_WITHIN,
    defer_by: float | None = None,
) -> int:
    """Queue (outbox id, claims so far or None for a fresh row) pairs, in `within` seconds at
    most; how many were queued (a job already queued under the same id counts too)."""
    jobs = list(jobs)
    done = 0
    try:
        async with asyncio.timeout(within):
            for outbox_id, claims in jobs:
                await redis.enqueue_job(
                    SEND_OUTBOX,
                    outbox_id,
                    _job_id=outbox_job_id(outbox_id, claims),
                    _defer_by=defer_by,
                )
                done += 1
    except Exception as e:  # Redis down or hanging: the rows are safe, the sweep will send them
        left = [outbox_id for outbox_id, _ in jobs[done:]]
        shown = ", ".join(map(str, left[:10])) + (" ..." if len(left) > 10 else "")
        reason = str(e) or type(e).__name__
        logger.warning("could not enqueue outbox rows %s (%s); the sweep will", shown, reason)
    return done
