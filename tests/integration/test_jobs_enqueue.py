"""Outbox jobs enqueued in one round trip (core/jobs.py's script) on a real Redis, read back by
arq itself: the same keys, payload, expiry and queue as arq's own `enqueue_job`."""

from __future__ import annotations

import time

from arq.constants import default_queue_name, job_key_prefix, result_key_prefix
from arq.jobs import Job, JobStatus

from core.jobs import SEND_OUTBOX, enqueue_outbox, enqueue_outbox_jobs, outbox_job_id


async def _calls(redis) -> dict[str, int]:
    """How many times Redis has run each command (INFO commandstats)."""
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


async def test_jobs_are_queued_as_arq_queues_them_and_arq_reads_them(redis):
    await enqueue_outbox(redis, [7, 8])
    for outbox_id in (7, 8):
        job = Job(outbox_job_id(outbox_id), redis)
        info = await job.info()
        assert info is not None and info.function == SEND_OUTBOX and info.args == (outbox_id,)
        assert await job.status() == JobStatus.queued
    ttl = await redis.pttl(job_key_prefix + outbox_job_id(7))
    assert 86_000_000 < ttl <= 86_400_000  # arq's own expiry: a day


async def test_a_job_already_queued_or_done_is_left_alone(redis):
    await enqueue_outbox(redis, [7])
    first = await redis.get(job_key_prefix + outbox_job_id(7))
    await redis.set(result_key_prefix + outbox_job_id(8), b"done")
    await enqueue_outbox(redis, [7, 8])
    assert await redis.get(job_key_prefix + outbox_job_id(7)) == first
    assert not await redis.exists(job_key_prefix + outbox_job_id(8))
    assert [j.decode() for j in await redis.zrange(default_queue_name, 0, -1)] == ["outbox:7"]


async def test_a_deferred_job_is_scored_for_later(redis):
    before = time.time() * 1000
    await enqueue_outbox_jobs(redis, [(9, 2)], defer_by=60)
    score = await redis.zscore(default_queue_name, outbox_job_id(9, 2))
    assert before + 59_000 < score < time.time() * 1000 + 61_000


async def test_many_jobs_take_one_round_trip_each_two_hundred(redis):
    await enqueue_outbox(redis, [1])  # the script is loaded once per Redis
    before = await _calls(redis)
    assert await enqueue_outbox_jobs(redis, [(n, None) for n in range(100, 300)]) == 200
    after = await _calls(redis)
    sent = {name: n - before.get(name, 0) for name, n in after.items() if n != before.get(name)}
    # one EVALSHA from the client (arq's way: WATCH, EXISTS, MULTI ... EXEC for each job); the
    # script's own commands inside it; and the INFO that reads these counts
    assert sent == {"evalsha": 1, "exists": 200, "psetex": 200, "zadd": 200, "info": 1}, sent
    assert await redis.zcard(default_queue_name) == 201
