"""A Redis that hangs costs a caller a bounded time: the enqueue after a commit and the rate
limiter give up within their bounds, through a proxy that blackholes the connection."""

from __future__ import annotations

import time

import pytest

from core.jobs import ENQUEUE_WITHIN, enqueue_outbox
from core.ratelimit import CHECK_WITHIN, RateLimits, TooManyRequests
from core.redis import redis_client

SLACK = 0.5  # seconds of scheduling noise on a shared machine


async def test_enqueue_after_a_commit_gives_up_within_its_bound_when_redis_is_blackholed(
    redis_proxy, redis
):
    client = redis_client(redis_proxy.url)
    try:
        await client.ping()  # a pooled connection, open before the network goes quiet
        await redis_proxy.blackhole()

        started = time.monotonic()
        await enqueue_outbox(client, [101, 102, 103])  # does not raise: the sweep will send
        took = time.monotonic() - started

        assert took < ENQUEUE_WITHIN + SLACK, f"enqueue took {took:.2f} s"
        await redis_proxy.restore()
        await enqueue_outbox(client, [104])
        # (The call that gave up was already on the wire: Redis may run it once the proxy lets
        # it through, which queues 101-103 late, harmlessly: a job reloads its row.)
        queued = {job.decode() for job in await redis.zrange("arq:queue", 0, -1)}
        assert "outbox:104" in queued, "once Redis answers, enqueueing works again"
    finally:
        await redis_proxy.restore()
        await client.aclose()


async def test_enqueue_on_a_new_connection_to_a_blackholed_redis_gives_up_within_its_bound(
    redis_proxy,
):
    await redis_proxy.blackhole()
    client = redis_client(redis_proxy.url)  # connects, then waits for a reply that never comes
    try:
        started = time.monotonic()
        await enqueue_outbox(client, [201])
        took = time.monotonic() - started
        assert took < ENQUEUE_WITHIN + SLACK, f"enqueue took {took:.2f} s"
    finally:
        await redis_proxy.restore()
        await client.aclose()


async def test_the_rate_limiter_fails_open_within_its_bound_and_counts_again_after(
    redis_proxy, redis
):
    limits = RateLimits(redis_proxy.url)
    await limits.check("challenge", address="192.0.2.1")  # connected and counting
    await redis_proxy.blackhole()

    started = time.monotonic()
    for _ in range(3):  # let through, each within the bound
        await limits.check("challenge", address="192.0.2.1")
    took = time.monotonic() - started
    assert took < 3 * CHECK_WITHIN + SLACK, f"three checks took {took:.2f} s"

    await redis_proxy.restore()
    with pytest.raises(TooManyRequests):  # 30 a minute: counting resumed
        for _ in range(40):
            await limits.check("challenge", address="192.0.2.1")
