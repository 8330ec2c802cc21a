"""The PostgreSQL pool, its JSON codecs, and short transactions that retry what may be retried."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import asyncpg
import msgspec

T = TypeVar("T")

_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder()

# Serialization failures and deadlocks are the database telling us to try again; a few tries with
# jitter make them invisible to clients (they never become a 500).
RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename,
            schema="pg_catalog",
            encoder=lambda v: _json_encoder.encode(v).decode(),
            decoder=_json_decoder.decode,
            format="text",
        )


class PooledConnection(asyncpg.Connection):
    """A pooled connection that goes back to the pool without a reset query.

    asyncpg resets a connection on release (advisory unlock all, close cursors, unlisten,
    reset all): one more round trip per request. This service never changes session state on a
    pooled connection (its advisory locks are transaction-scoped, it sets nothing, listens to
    nothing), and asyncpg still rolls back a transaction left open.
    """

    def get_reset_query(self) -> str:
        return ""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        connection_class=PooledConnection,
        init=_init_connection,
        command_timeout=30,
        server_settings={"application_name": "wizyta", "timezone": "UTC"},
    )


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings={"timezone": "UTC"})
    await _init_connection(conn)
    return conn


async def in_transaction(
    pool: asyncpg.Pool,
    work: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    isolation: str = "read_committed",
    attempts: int = 5,
) -> T:
    """Run `work` in one transaction, retrying it whole on serialization failure or deadlock."""
    for attempt in range(1, attempts + 1):
        try:
            async with pool.acquire() as conn, conn.transaction(isolation=isolation):
                return await work(conn)
        except RETRYABLE:
            if attempt == attempts:
                raise
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")


async def provide_connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One connection and one transaction per request; an exception in the handler rolls back."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn
