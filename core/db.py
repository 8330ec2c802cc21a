"""The PostgreSQL pool, its JSON codecs, and short transactions that retry what may be retried."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

import asyncpg
import asyncpg.transaction
import msgspec

from core.errors import StoreUnavailable

T = TypeVar("T")

_release_log = logging.getLogger("wizyta.db")

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

#: What a connection raises when it may have been left mid-statement: no answer in time, or the
#: network or the server gone. Such a connection is dropped, not given back (BoundedPool).
BROKEN_CONNECTION: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def stuck_protocol(e: BaseException) -> bool:
    """Whether `e` is asyncpg losing track of its protocol on a connection whose server went
    away mid-operation ("cannot switch to state N; another operation is in progress"): the
    connection is of no more use, and the request met a failing store (a 503), not a bug. A
    statement outside a transaction block (a read, or booking/store.py's `book`) meets it
    where BEGIN would have (_Transaction)."""
    return isinstance(e, asyncpg.exceptions.InternalClientError) and ("another operation" in str(e))


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
        except (*BROKEN_CONNECTION, asyncio.CancelledError):
            # The connection may still have a statement, its cancel request or a rollback in
            # flight to a server that does not answer: asyncpg would make the release wait for
            # them, and then fail. Dropped now; the pool opens a fresh one when it is needed.
            drop(conn)
            raise
        finally:
            await self._release(conn)

    async def _release(self, conn: asyncpg.Connection) -> None:
        """Give `conn` back; never the request's error. asyncpg terminates a connection it cannot
        reset in time, and the pool replaces it."""
        try:
            await self._pool.release(conn)
        except Exception as e:
            _release_log.warning("a pooled connection was dropped on release: %r", e)

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        async with self.acquire() as conn:
            return await conn.fetch(query, *args)

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: object) -> object:
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: str, *args: object) -> str:
        async with self.acquire() as conn:
            return await conn.execute(query, *args)

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


CONNECT_FLOOR = 1.0


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
        # Connecting a new connection: a request never waits longer than its acquire timeout
        # (acquire() bounds the connect it triggers), but opening the pool at start gets at
        # least a second, so a tiny acquire timeout on a busy machine does not fail the start.
        timeout=max(acquire_timeout, CONNECT_FLOOR),
        server_settings={"application_name": "wizyta", "timezone": "UTC"},
        **_writable(dsn),
    )
    return BoundedPool(pool, acquire_timeout)


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings={"timezone": "UTC"}, **_writable(dsn))
    await _init_connection(conn)
    return conn


@contextlib.asynccontextmanager
async def transaction(
    conn: asyncpg.Connection, *, isolation: str | None = None
) -> AsyncIterator[asyncpg.Connection]:
    """`conn.transaction()`, except that a connection lost on the way is a store failure.

    When a statement gets no answer in time, the connection is dropped at once rather than
    rolled back: the rollback would wait on the same silent server (asyncpg gives it a command
    timeout of its own), and PostgreSQL rolls back the transaction of a connection that went
    away by itself. A connection that is closed (dropped here, or broken by a restart or a cut
    network) cannot roll back, and asyncpg says so with an InterfaceError ("the underlying
    connection is closed") in place of the error that broke it: a 503, not a bug.
    """
    try:
        async with conn.transaction(isolation=isolation):
            try:
                yield conn
            except BROKEN_CONNECTION:
                drop(conn)
                raise
    except asyncpg.InterfaceError as e:
        if not is_closed(conn):
            raise
        raise StoreUnavailable(retry_after=2) from e


def is_closed(conn: asyncpg.Connection) -> bool:
    """Whether `conn` is closed; a pooled connection that broke has already gone back to its
    pool (asyncpg then refuses every call on it, even this question)."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


def drop(conn: asyncpg.Connection) -> None:
    """Close `conn` at once, without a word to the server; nothing if it is already closed."""
    if not is_closed(conn):
        conn.terminate()


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
            async with pool.acquire() as conn, transaction(conn, isolation=isolation):
                return await work(conn)
        except RETRYABLE:
            if attempt == attempts:
                raise
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")


async def provide_connection(pool: BoundedPool) -> AsyncIterator[asyncpg.Connection]:
    """One connection and one transaction per request; an exception in the handler rolls back."""
    async with pool.acquire() as conn, transaction(conn):
        yield conn


async def app_secret(conn: asyncpg.Connection, name: str) -> bytes:
    """A key the replicas share (an HMAC key), made once in PostgreSQL: first writer wins."""
    value = await conn.fetchval("select value from app_secrets where name = $1", name)
    if value is None:
        await conn.execute(
            "insert into app_secrets (name, value) values ($1, $2) on conflict do nothing",
            name,
            secrets.token_bytes(32),
        )
        value = await conn.fetchval("select value from app_secrets where name = $1", name)
    return bytes(value)
