"""Real PostgreSQL and Redis for every test that needs them.

DATABASE_URL / REDIS_URL when set (a server we may create databases on), otherwise embedded
servers in a temporary directory. The schema is built once per session by the real migration
runner in a database of its own; tests that touch data start from empty tables.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from hypothesis import settings as hypothesis_settings

from core import db
from core.settings import Settings

if TYPE_CHECKING:
    from litestar import Litestar

hypothesis_settings.register_profile("default", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")


def database_url_for(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


class Stores:
    def __init__(self, server_url: str, redis_url: str) -> None:
        self.server_url = server_url
        self.redis_url = redis_url

    async def create_database(self, prefix: str = "wizyta_test") -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(self.server_url)
        try:
            await conn.execute(f'create database "{name}"')
        finally:
            await conn.close()
        return database_url_for(self.server_url, name)

    async def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        conn = await asyncpg.connect(self.server_url)
        try:
            await conn.execute(f'drop database if exists "{name}" with (force)')
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    from core.embedded import EmbeddedRedis, embedded_postgres

    env = Settings.from_env()
    with contextlib.ExitStack() as stack:
        data_dir: Path = tmp_path_factory.mktemp("stores")
        server_url = env.database_url or stack.enter_context(
            embedded_postgres(data_dir, keep=False)
        )
        redis_url = env.redis_url or stack.enter_context(EmbeddedRedis(data_dir, persist=False))
        yield Stores(server_url, redis_url)


@pytest.fixture(scope="session")
async def database_url(stores: Stores) -> AsyncIterator[str]:
    """A database of this test session, migrated once by the real runner."""
    from core.migrate import apply_migrations

    url = await stores.create_database()
    conn = await db.connect(url)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    yield url
    await stores.drop_database(url)


@pytest.fixture(scope="session")
async def _tables(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """
            select tablename from pg_tables
            where schemaname = 'public' and tablename <> 'schema_migrations'
            """
        )
    finally:
        await conn.close()
    return [r["tablename"] for r in rows]


_EMPTY_TABLES = """
create or replace function wizyta_test_empty_tables() returns void language plpgsql as $$
declare
    name text;
begin
    set local session_replication_role = replica;  -- no triggers, no foreign-key checks
    for name in
        select tablename from pg_tables
        where schemaname = 'public' and tablename <> 'schema_migrations'
    loop
        execute format('delete from %I', name);
    end loop;
    -- The sequences of identity and serial columns, as `restart identity` does; not the
    -- others (point_config_version must never give a number twice: scheduling/config.py).
    for name in
        select s.relname from pg_class s
        join pg_namespace n on n.oid = s.relnamespace
        join pg_depend d on d.objid = s.oid and d.classid = 'pg_class'::regclass
                        and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
        where s.relkind = 'S' and n.nspname = 'public'
    loop
        execute format('alter sequence %I restart', name);
    end loop;
end
$$
"""


async def empty_tables(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    """What `truncate <every table> restart identity cascade` does (the columns' own sequences
    restart, no other), in one round trip and about five times faster for the few rows a test
    leaves behind (a truncate makes new files for each of the schema's tables): every test
    starts from empty tables this way. The function is test-only (it turns triggers off for the
    delete: a superuser's setting, as the test servers' role is), created on first use in each
    test database."""
    try:
        await conn.execute("select wizyta_test_empty_tables()")
    except asyncpg.UndefinedFunctionError:
        await conn.execute(_EMPTY_TABLES)
        await conn.execute("select wizyta_test_empty_tables()")


@pytest.fixture
async def pool(database_url: str, _tables: list[str]) -> AsyncIterator[asyncpg.Pool]:
    """A pool on empty tables: every test starts from nothing."""
    pool = await db.create_pool(database_url, min_size=1, max_size=10)
    await empty_tables(pool)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def redis(stores: Stores) -> AsyncIterator[object]:
    from core.redis import create_redis

    r = await create_redis(stores.redis_url)
    await r.flushdb()
    try:
        yield r
    finally:
        await r.aclose()


@pytest.fixture
def settings(database_url: str, stores: Stores, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=stores.redis_url,
        data_dir=tmp_path,
        public_url="http://wizyta.test",
        # Races send hundreds of requests from one address without solving proofs of work;
        # test_rate_limits and test_proof_of_work turn these on to test them.
        rate_limit=False,
        proof_of_work=False,
    )


@pytest.fixture
async def seeded(pool: asyncpg.Pool) -> asyncpg.Pool:
    from scheduling.seed import seed_database

    async with pool.acquire() as conn:
        await seed_database(conn)
    return pool


#: The apps this process built, idle, by what `create_app` fixes at construction.
_idle_apps: dict[tuple[int, int], list[Litestar]] = {}


@contextlib.asynccontextmanager
async def app_for(settings: Settings) -> AsyncIterator[Litestar]:
    """The real app, run with `settings`, for one test.

    Building it registers every handler: about 0.3 s of CPU, which was the largest part of
    most tests' setup. So each process builds it once (once for each pair of the two settings
    `create_app` fixes: the read cache's lifetime and the body limit) and runs it again for
    each test, with nothing of the previous test's: its settings are the test's
    (`app.state.settings`, which the lifespan and the handlers read), its lifespan runs anew
    when the test's client starts (a new pool, Redis client, rate limits, draw batcher), its
    response cache is a new, empty one (a new store registry), and whatever else a run left
    in `app.state` is removed. An app in use is never given to another test: two clients at
    once get two apps. State outside the app (module caches keyed by database and config
    version) is as it was when every test built its own app.
    """
    from litestar.stores.registry import StoreRegistry

    from app import create_app

    key = (settings.read_cache_seconds, settings.max_body_bytes)
    idle = _idle_apps.setdefault(key, [])
    app = idle.pop() if idle else create_app(settings)
    app.state.settings = settings
    app.stores = StoreRegistry()  # the response cache starts empty
    try:
        yield app
    finally:
        for name in list(app.state.dict()):
            if name != "settings":
                del app.state[name]
        app.stores = StoreRegistry()
        idle.append(app)


@pytest.fixture
async def client(settings: Settings, pool: asyncpg.Pool, redis: object) -> AsyncIterator[object]:
    from litestar.testing import AsyncTestClient

    async with app_for(settings) as app, AsyncTestClient(app=app) as c:
        yield c


class LiveServer:
    """The real app as `wizyta serve` in a process of its own, on a free port.

    A separate process, as in production: the test's HTTP clients do not share a GIL or an
    event loop with the server, so a race really races.
    """

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = (
            {k: v for k, v in os.environ.items()}
            | {
                "DATABASE_URL": settings.database_url or "",
                "REDIS_URL": settings.redis_url or "",
                "PUBLIC_URL": self.url,
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "WIZYTA_DATA_DIR": str(settings.data_dir),
                "RATE_LIMIT": "on" if settings.rate_limit else "off",
                "PROOF_OF_WORK": "on" if settings.proof_of_work else "off",
                "HOLD_MINUTES": str(settings.hold_minutes),
                "FORWARDED_ALLOW_IPS": "127.0.0.1",
            }
            | (env or {})
        )
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LiveServer:
        import time
        import urllib.request

        log = self.env["WIZYTA_DATA_DIR"] + f"/live-server-{self.port}.log"
        self.log = open(log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import app; app.main()", "serve"],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the live server exited; see {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the live server did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


@pytest.fixture
def live_server(settings: Settings, pool: asyncpg.Pool, redis: object) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server
