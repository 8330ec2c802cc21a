"""The arq Redis client; Redis carries the job queue (and the rate-limit counters).

Every command has a bounded time: a connection must open within `CONNECT_TIMEOUT` and a reply
arrive within `COMMAND_TIMEOUT`, so a Redis that hangs (a blackholed network, a stalled server)
costs a caller seconds at most, never a request or a worker for good. Nothing here uses
blocking commands, so no reply is legitimately slower than that. A client reconnects by itself
on its next command after a connection is lost.
"""

from __future__ import annotations

import asyncio

import redis.exceptions
from arq.connections import ArqRedis

CONNECT_TIMEOUT = 1.0
"""Seconds to open a connection to Redis."""
COMMAND_TIMEOUT = 2.0
"""Seconds for the reply to any one command."""

UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,  # refused, reset, closed
    redis.exceptions.TimeoutError,  # no reply within COMMAND_TIMEOUT
    redis.exceptions.BusyLoadingError,  # a restarted Redis still loading its data
    # What redis-py raises in place of a ConnectionError when the connection is lost while a
    # WATCH is pending (arq's start_jobs watches each job's in-progress key); a WatchError for a
    # watched key that changed, arq catches itself.
    redis.exceptions.WatchError,
    OSError,
    TimeoutError,
)
"""What a Redis that is down, restarting or unreachable raises: worth waiting out, not a bug."""


def redis_client(url: str) -> ArqRedis:
    """A client for `url` that has not connected yet (it connects on its first command)."""
    return ArqRedis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        health_check_interval=30,  # a pooled connection idle that long is pinged before use
    )


START_WITHIN = 5.0
"""Seconds a starting process gives a Redis that does not answer in time (see create_redis)."""


async def create_redis(url: str) -> ArqRedis:
    """A client that answered a PING: fails at once when Redis refuses the connection (it is
    not there). A connect or a reply that times out is tried again for `START_WITHIN` seconds:
    on a busy machine a local Redis can take longer than one `CONNECT_TIMEOUT` to accept, and a
    process that gives up then does not start at all (seen when two test processes and a
    benchmark shared two cores)."""
    client = redis_client(url)
    loop = asyncio.get_running_loop()
    until = loop.time() + START_WITHIN
    try:
        while True:
            try:
                await asyncio.wait_for(client.ping(), CONNECT_TIMEOUT + COMMAND_TIMEOUT)
                return client
            except (redis.exceptions.TimeoutError, TimeoutError):
                if loop.time() >= until:
                    raise
                await asyncio.sleep(0.1)
    except BaseException:
        await client.aclose()
        raise
