"""Liveness, readiness, and a clear refusal to start when a store is unreachable."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import msgspec
from litestar.testing import AsyncTestClient

from app import create_app
from tests.proxy import CuttableProxy


async def test_healthz_answers_while_the_process_runs(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_postgres_and_redis_answer(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok"}


async def _readyz(client) -> tuple[int, dict]:
    response = await client.get("/readyz")
    return response.status_code, response.json()


async def _eventually(client, status: int, attempts: int = 50) -> dict:
    body: dict = {}
    for _ in range(attempts):
        code, body = await _readyz(client)
        if code == status:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"readyz never became {status}: {body}")


async def test_readyz_turns_503_when_postgres_goes_away_and_200_when_it_returns(
    settings, pool, redis
):
    proxy = CuttableProxy(settings.database_url)
    await proxy.start()
    app = create_app(msgspec.structs.replace(settings, database_url=proxy.url))
    async with AsyncTestClient(app=app) as client:
        assert (await _readyz(client))[0] == 200
        await proxy.cut()
        body = await _eventually(client, 503)
        assert body["checks"]["postgres"].startswith("unavailable")
        assert body["checks"]["redis"] == "ok"
        await proxy.restore()
        await _eventually(client, 200)
    await proxy.stop()


async def test_readyz_turns_503_when_redis_goes_away_and_200_when_it_returns(settings, pool, redis):
    proxy = CuttableProxy(settings.redis_url)
    await proxy.start()
    app = create_app(msgspec.structs.replace(settings, redis_url=proxy.url))
    async with AsyncTestClient(app=app) as client:
        assert (await _readyz(client))[0] == 200
        await proxy.cut()
        body = await _eventually(client, 503)
        assert body["checks"]["redis"].startswith("unavailable")
        assert body["checks"]["postgres"] == "ok"
        await proxy.restore()
        await _eventually(client, 200)
    await proxy.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= env_overrides
    return subprocess.run(
        [sys.executable, "-c", "import app; app.main()", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_with_unreachable_postgres_says_so_in_one_line_and_fails(stores):
    port = _closed_port()
    result = _serve(
        {
            "DATABASE_URL": f"postgresql://wizyta@127.0.0.1:{port}/wizyta",
            "REDIS_URL": stores.redis_url,
        }
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("wizyta: cannot reach PostgreSQL at postgresql://127.0.0.1:")
    assert "Traceback" not in result.stderr


def test_serve_with_unreachable_redis_says_so_in_one_line_and_fails(database_url):
    port = _closed_port()
    result = _serve({"DATABASE_URL": database_url, "REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"wizyta: cannot reach Redis at redis://127.0.0.1:{port}")
    assert "Traceback" not in result.stderr


def test_serve_without_urls_tells_to_set_them_or_use_run():
    result = _serve({})
    assert result.returncode == 2
    assert "DATABASE_URL and REDIS_URL must be set" in result.stderr


async def test_problem_json_for_an_unknown_route(client):
    response = await client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


async def test_openapi_schema_is_served(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "wizyta"


async def test_a_redis_slow_to_answer_at_start_is_waited_for_and_a_refusing_one_is_not(stores):
    """A process starting on a busy machine: a Redis that takes longer than one connect timeout
    to answer (its packets held back for 4 s) is tried again until it answers, where the first
    try used to end the start; a port nobody listens on still fails at once."""
    import time

    import redis.exceptions

    from core.redis import COMMAND_TIMEOUT, CONNECT_TIMEOUT, create_redis

    proxy = CuttableProxy(stores.redis_url)
    await proxy.start()
    try:
        await proxy.blackhole()
        asyncio.get_running_loop().call_later(4, lambda: asyncio.ensure_future(proxy.restore()))
        began = time.monotonic()
        client = await create_redis(proxy.url)
        waited = time.monotonic() - began
        try:
            assert await client.ping()
        finally:
            await client.aclose()
        assert waited > CONNECT_TIMEOUT + COMMAND_TIMEOUT, "the first try did time out"
    finally:
        await proxy.stop()

    began = time.monotonic()
    try:
        await create_redis(f"redis://127.0.0.1:{_closed_port()}/0")
    except redis.exceptions.ConnectionError:
        pass
    else:
        raise AssertionError("a closed port is refused")
    assert time.monotonic() - began < CONNECT_TIMEOUT + COMMAND_TIMEOUT, "not tried again"
