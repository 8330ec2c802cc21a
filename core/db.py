"""The PostgreSQL pool, its JSON codecs, and short transactions that retry what may be retried."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

import asyncpg
import asyncpg.transaction
import msgspec

from core.errors import StoreUnavailable

T = TypeVar("T")

_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder()

#: What a PostgreSQL that is down, restarting, overloaded or unreachable raises: a 503 for a
#: request (core/problems.py), waited out by the worker (notifications/jobs.py); never a bug.
STORE_FAILURES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # no connection from the pool, or no answer, in time
    StoreUnavailable,  # no pooled connection in time (BoundedPool)
    asyncpg.PostgresConnectionError,  # the connection broke
    asyncpg.exceptions.ConnectionDoesNotExistError,  # ... while a statement was under way
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, crashed
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,  # statement_timeout
    # A failover under way: every host of a multi-host URL answers, none takes writes yet (the
    # standby is not promoted), or a connection reached a server that became read-only.
    asyncpg.exceptions.TargetServerAttributeNotMatched,
    asyncpg.ReadOnlySQLTransactionError,
)

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

    def transaction(
        self, *, isolation: str | None = None, readonly: bool = False, deferrable: bool = False
    ) -> asyncpg.transaction.Transaction:
        self._check_open()
        return _Transaction(self, isolation, readonly, deferrable)


class _Transaction(asyncpg.transaction.Transaction):
    """A transaction whose server went away under it ends as a store failure (503), not a 500.

    When the server dies mid-transaction (a crash, a failover), asyncpg's own exit finds the
    connection closed and raises InterfaceError in place of what went wrong, and the statement
    under way may already have failed with an internal protocol error. Neither is a bug of ours:
    nothing was committed, or the commit's fate is unknown, and the client should try again (a
    booking with the same Idempotency-Key books at most once).
    """

    __slots__ = ()

    async def __aenter__(self):  # type: ignore[no-untyped-def]
        try:
            return await super().__aenter__()
        except asyncpg.exceptions.InternalClientError as e:
            # a pooled connection whose protocol a lost server left stuck mid-operation
            self._connection.terminate()
            raise _lost() from e

    async def __aexit__(self, extype, ex, tb):  # type: ignore[no-untyped-def]
        if extype is GeneratorExit:
            return await super().__aexit__(extype, ex, tb)
        if not self._connection.is_closed():
            try:
                return await super().__aexit__(extype, ex, tb)
            except asyncpg.exceptions.InternalClientError as e:
                # asyncpg lost track of its protocol as the server went away ("cannot switch to
                # state N; another operation is in progress"): the connection is of no more use.
                self._connection.terminate()
                raise _lost() from e
        self._managed = False
        if isinstance(ex, STORE_FAILURES):
            return False  # already a store failure: let it go on
        raise _lost() from ex


def _lost() -> asyncpg.ConnectionDoesNotExistError:
    return asyncpg.ConnectionDoesNotExistError("the connection was lost during the transaction")


#: How long a request waits for a pooled connection before it answers 503 (Retry-After).
ACQUIRE_TIMEOUT = 5.0
#: How long one statement may run before asyncpg cancels it (a 503 for a request).
COMMAND_TIMEOUT = 10.0


class BoundedPool:
    """An asyncpg pool whose every acquire has a timeout, and says so in domain words.

    A request waits at most `acquire_timeout` for a connection; then it is refused with
    StoreUnavailable (503 with Retry-After) instead of queueing without end behind a burst.
    Everything else is the pool's own (`close`, `get_size`...).
    """

    def __init__(self, pool: asyncpg.Pool, acquire_timeout: float = ACQUIRE_TIMEOUT) -> None:
        self._pool = pool
        self.acquire_timeout = acquire_timeout

    @contextlib.asynccontextmanager
    async def acquire(self, *, timeout: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        try:
            conn = await self._pool.acquire(timeout=timeout or self.acquire_timeout)
        except TimeoutError as e:
            raise StoreUnavailable(retry_after=2) from e
        try:
            yield conn
        finally:
            await self._pool.release(conn)

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        async with self.acquire() as conn:
            return await conn.fetch(query, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._pool, name)


def _writable(dsn: str) -> dict[str, str]:
    """Connect only to the server that takes writes, when the URL names several.

    With `postgresql://h1:p1,h2:p2/db` asyncpg tries the hosts in order. A connection is opened
    when the pool needs one (at start, and whenever a pooled connection has broken), so after a
    failover new connections find the promoted standby by themselves; `read-write` makes them
    skip a standby still in recovery. A URL that says `target_session_attrs` itself is obeyed.
    """
    netloc = urlsplit(dsn).netloc
    if "," not in netloc or "target_session_attrs" in dsn:
        return {}
    return {"target_session_attrs": "read-write"}


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 20,
    acquire_timeout: float = ACQUIRE_TIMEOUT,
    command_timeout: float = COMMAND_TIMEOUT,
) -> BoundedPool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        connection_class=PooledConnection,
        init=_init_connection,
        command_timeout=command_timeout,
        timeout=acquire_timeout,  # connecting a new connection
        server_settings={"application_name": "wizyta", "timezone": "UTC"},
        **_writable(dsn),
    )
    return BoundedPool(pool, acquire_timeout)


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings={"timezone": "UTC"}, **_writable(dsn))
    await _init_connection(conn)
    return conn


async def in_transaction(
    pool: BoundedPool | asyncpg.Pool,
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


async def provide_connection(pool: BoundedPool) -> AsyncIterator[asyncpg.Connection]:
    """One connection and one transaction per request; an exception in the handler rolls back."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn
