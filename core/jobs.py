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
from typing import Any

from arq.connections import ArqRedis
from arq.constants import expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_ms

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
            for at in range(0, len(jobs), _PER_CALL):
                await _enqueue(redis, jobs[at : at + _PER_CALL], defer_by)
                done = min(len(jobs), at + _PER_CALL)
    except Exception as e:  # Redis down or hanging: the rows are safe, the sweep will send them
        left = [outbox_id for outbox_id, _ in jobs[done:]]
        shown = ", ".join(map(str, left[:10])) + (" ..." if len(left) > 10 else "")
        reason = str(e) or type(e).__name__
        logger.warning("could not enqueue outbox rows %s (%s); the sweep will", shown, reason)
    return done


#: arq's `enqueue_job` in one round trip for many jobs. arq takes three per job (WATCH the
#: job's key; EXISTS of the job and its result; MULTI, PSETEX, ZADD, EXEC): this script does
#: the same atomically, with arq's own keys, serialization and expiry (arq.constants,
#: arq.jobs.serialize_job), so arq's worker runs the jobs as its own: a job whose id is queued,
#: running or has a result is left alone; else it is stored for its expiry and put on the
#: queue at its score.
_ENQUEUE = """
local queued = 0
for i = 1, #ARGV, 4 do
    local job, result = KEYS[2 + (i - 1) / 2], KEYS[3 + (i - 1) / 2]
    if redis.call('exists', job, result) == 0 then
        redis.call('psetex', job, ARGV[i], ARGV[i + 1])
        redis.call('zadd', KEYS[1], ARGV[i + 2], ARGV[i + 3])
        queued = queued + 1
    end
end
return queued
"""
_PER_CALL = 200
_script: Any = None


async def _enqueue(
    redis: ArqRedis, jobs: list[tuple[int, int | None]], defer_by: float | None
) -> None:
    global _script
    if _script is None:
        _script = redis.register_script(_ENQUEUE)
    now = timestamp_ms()
    score = now + (to_ms(defer_by) or 0)
    expires = score - now + expires_extra_ms
    keys: list[str] = [redis.default_queue_name]
    args: list[Any] = []
    for outbox_id, claims in jobs:
        job_id = outbox_job_id(outbox_id, claims)
        keys += [job_key_prefix + job_id, result_key_prefix + job_id]
        job = serialize_job(
            SEND_OUTBOX, (outbox_id,), {}, None, now, serializer=redis.job_serializer
        )
        args += [expires, job, score, job_id]
    await _script(keys, args, client=redis)
