"""The unit of work of one request: one pooled connection, short transactions, the outbox after.

A request gets at most one connection, taken when it first needs one (with the pool's timeout:
a 503 rather than a wait without end) and given back when the request ends. Nothing a request
runs takes a second connection while it holds this one: a burst of requests can fill the pool,
never deadlock it.

`atomic(work)` runs `work(conn)` in one transaction, retried whole on a serialization failure
or a deadlock (the database asking us to try again). The outbox rows a change writes are
announced with `send(ids)`; they are enqueued (core/jobs.py) only after their transaction has
committed, so the worker never looks for a row that is not there yet, and a rolled-back try
announces nothing. A lost enqueue is safe: the worker's sweep finds every unsent row.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import asyncpg
from litestar.di import NamedDependency

from core.db import RETRYABLE, BoundedPool, transaction
from core.jobs import ENQUEUE_WITHIN, enqueue_outbox

T = TypeVar("T")


class UnitOfWork:
    def __init__(self, pool: BoundedPool, redis: Any, *, attempts: int = 5) -> None:
        self._pool = pool
        self._redis = redis
        self._attempts = attempts
        self._holder: Any = None
        self._conn: asyncpg.Connection | None = None
        self._pending: list[int] | None = None

    async def connection(self) -> asyncpg.Connection:
        """This request's connection (taken from the pool the first time)."""
        if self._conn is None:
            holder = self._pool.acquire()
            self._conn = await holder.__aenter__()  # no connection, nothing to give back
            self._holder = holder
        return self._conn

    @contextlib.asynccontextmanager
    async def acquire(self, *, timeout: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        """Pool-shaped access to this request's one connection, for code written against a
        pool (staff sessions, `in_transaction`): it never takes a second connection."""
        yield await self.connection()

    async def close(self, *exc: Any) -> None:
        """Give the connection back; `exc` is what ended the request, if anything did (the pool
        drops a connection a store failure may have left mid-statement, core/db.py)."""
        if self._holder is not None:
            holder, self._holder, self._conn = self._holder, None, None
            await holder.__aexit__(*(exc or (None, None, None)))

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close(*exc)

    @property
    def in_transaction(self) -> bool:
        return self._pending is not None

    def send(self, outbox_ids: Iterable[int]) -> None:
        """Announce outbox rows written in the current transaction."""
        assert self._pending is not None, "outbox rows are written inside atomic()"
        self._pending.extend(outbox_ids)

    async def atomic(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run `work` in one transaction (or inside the current one, when already in one)."""
        conn = await self.connection()
        if self._pending is not None:
            return await work(conn)  # nested: part of the caller's transaction and its retries

        async def once() -> tuple[T, list[int]]:
            self._pending = []
            try:
                async with transaction(conn):
                    result = await work(conn)
                return result, self._pending
            finally:
                self._pending = None

        result, sent = await self._retried(once)
        if sent:
            await _enqueue_within_bound(self._redis, sent)
        return result

    async def statement(
        self, work: Callable[[asyncpg.Connection], Awaitable[tuple[T, list[int]]]]
    ) -> T:
        """Run `work(conn)`, one statement that is its own transaction (outside a transaction
        block PostgreSQL commits it as it answers: one round trip where BEGIN ... COMMIT takes
        three), retried whole as `atomic` retries. `work` returns (result, outbox ids written),
        enqueued once committed. Inside `atomic` it is part of that transaction instead."""
        conn = await self.connection()
        if self._pending is not None:
            result, ids = await work(conn)
            self._pending.extend(ids)
            return result
        result, ids = await self._retried(lambda: work(conn))
        if ids:
            await _enqueue_within_bound(self._redis, ids)
        return result

    async def _retried(self, once: Callable[[], Awaitable[T]]) -> T:
        """`once()`, tried again with jitter on a serialization failure or a deadlock."""
        for attempt in range(1, self._attempts + 1):
            try:
                return await once()
            except RETRYABLE:
                if attempt == self._attempts:
                    raise
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")


#: Enqueues the request stopped waiting for, until they finish (a task needs a reference).
_finishing: set[asyncio.Task[None]] = set()


async def _enqueue_within_bound(redis: Any, outbox_ids: list[int]) -> None:
    """Enqueue committed rows; the request waits for that `ENQUEUE_WITHIN` at most.

    enqueue_outbox gives up within that bound, but a cancelled command leaves redis-py's
    connection to be cleaned up (disconnected, or a pending reply read) against a Redis that
    may answer only at the client's socket timeout: seconds more. That cleanup finishes in the
    background.
    """
    task = asyncio.create_task(enqueue_outbox(redis, outbox_ids))
    _finishing.add(task)
    task.add_done_callback(_finishing.discard)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), ENQUEUE_WITHIN + 0.05)


#: A handler's parameter for the request's unit of work (app.py provides it as `uow`).
Uow = NamedDependency[UnitOfWork]
