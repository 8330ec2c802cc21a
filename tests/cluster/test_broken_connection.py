"""Regression (found by the failover test): a transaction whose server goes away under it was
a 500, because asyncpg's exit replaces the error with InterfaceError when the connection is
closed. It is a store failure (503 with Retry-After): the client tries again."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from core.db import STORE_FAILURES

pytestmark = pytest.mark.cluster


async def _terminate(database_url: str, pid: int) -> None:
    other = await asyncpg.connect(database_url)
    try:
        await other.execute("select pg_terminate_backend($1)", pid)
    finally:
        await other.close()
    await asyncio.sleep(0.2)  # the client has seen the connection close


async def test_a_transaction_that_fails_as_its_server_goes_away_is_a_store_failure(
    pool, database_url
):
    async with pool.acquire() as conn:
        with pytest.raises(STORE_FAILURES):
            async with conn.transaction():
                await conn.execute("select 1")
                await _terminate(database_url, await conn.fetchval("select pg_backend_pid()"))
                await conn.execute("select 1")


async def test_a_transaction_whose_server_goes_away_before_the_commit_is_a_store_failure(
    pool, database_url
):
    async with pool.acquire() as conn:
        with pytest.raises(STORE_FAILURES):
            async with conn.transaction():
                await _terminate(database_url, await conn.fetchval("select pg_backend_pid()"))
    assert await pool.fetchval("select 1") == 1, "the pool connects again"
