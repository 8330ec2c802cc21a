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


async def create_redis(url: str) -> ArqRedis:
    """A client that answered a PING: fails fast when Redis is not there."""
    client = redis_client(url)
    try:
        await asyncio.wait_for(client.ping(), CONNECT_TIMEOUT + COMMAND_TIMEOUT)
    except BaseException:
        await client.aclose()
        raise
    return client
