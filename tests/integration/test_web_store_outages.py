"""A web process under a small steady load rides out its stores going away: PostgreSQL cut,
PostgreSQL blackholed, Redis cut, Redis blackholed, each for a few seconds.

In every window each answer is a success or a 503 with Retry-After (problem+json for the API, a
page in the visitor's language for pages), never a 500, another 5xx or a dropped connection,
and none takes longer than the configured bounds allow. Afterwards the same process answers
normally again and /readyz is 200, every booking acknowledged with a 201 is in PostgreSQL, and a
worker (a process of its own, through the same proxies) sends every outbox row. With proof of
work off, a Redis outage does not stop bookings: the rows wait for the worker's sweep.

Real processes: `wizyta serve`, `wizyta worker`, an SMTP server; the real PostgreSQL and Redis
behind proxies the test cuts and blackholes (tests/proxy.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from core import db
from core.jobs import ENQUEUE_WITHIN
from core.redis import create_redis
from core.settings import Settings
from tests.booking_helpers import BASZTOWA, EVERYDAY, bearer, booking_body
from tests.conftest import LiveServer, empty_tables
from tests.factories import SmtpServerProcess
from tests.proxy import CuttableProxy
from tests.worker_process import WorkerProcess, until_all_sent

pytestmark = pytest.mark.slow

#: The bounds the web process runs with (DB_ACQUIRE_TIMEOUT, DB_COMMAND_TIMEOUT).
ACQUIRE_TIMEOUT = 1.0
COMMAND_TIMEOUT = 1.0
#: The longest a request may take while a store is away: a connection, when every pooled one is
#: busy (ACQUIRE_TIMEOUT), then one statement that gets no answer (COMMAND_TIMEOUT); with Redis
#: away, the enqueue after a commit (1 s, core/jobs.py) instead; and scheduling noise on a shared
#: machine.
BOUND = ACQUIRE_TIMEOUT + COMMAND_TIMEOUT + 0.75

WINDOW = 4.0  # seconds a store is away: longer than BOUND, so a hang shows
BEFORE = 1.0  # seconds of load before the window
AFTER = 1.5  # seconds of load once the process is ready again

POLISH_503 = "Serwis jest teraz bardzo obciążony"


@dataclass
class Answer:
    kind: str
    phase: str
    status: int | str  # an HTTP status, or the name of the client's exception
    took: float
    content_type: str = ""
    retry_after: str | None = None
    text: str = ""
    reference: str | None = None


@dataclass
class Rig:
    server: LiveServer
    postgres: CuttableProxy
    redis: CuttableProxy
    worker: WorkerProcess
    pool: db.BoundedPool
    slots: itertools.count  # index into `starts`
    starts: list[str]
    visit: tuple[str, str]  # a visit made before any outage: reference, manage token
    emails: itertools.count = field(default_factory=itertools.count)


async def _free_starts(http: httpx.AsyncClient) -> list[str]:
    """Every free place in the next weeks, a slot repeated once per free desk."""
    today = dt.date.today()
    response = await http.get(
        f"/api/v1/points/{BASZTOWA}/availability",
        params={
            "service": EVERYDAY,
            "language": "uk",
            "from": str(today),
            "to": str(today + dt.timedelta(days=59)),
        },
    )
    assert response.status_code == 200, response.text
    days = response.json()["days"]
    return [s["start"] for d in days for s in d["slots"] for _ in range(s["free"])]


@pytest.fixture(scope="module")
async def rig(database_url, _tables, stores, tmp_path_factory) -> AsyncIterator[Rig]:
    from scheduling.seed import seed_database

    tmp = tmp_path_factory.mktemp("web-outages")
    pool = await db.create_pool(database_url, min_size=1, max_size=4)
    await empty_tables(pool)
    async with pool.acquire() as conn:
        await seed_database(conn)
    direct_redis = await create_redis(stores.redis_url)
    await direct_redis.flushdb()
    await direct_redis.aclose()

    postgres, redis = CuttableProxy(database_url), CuttableProxy(stores.redis_url)
    await postgres.start()
    await redis.start()
    settings = Settings(
        database_url=postgres.url,
        redis_url=redis.url,
        data_dir=tmp,
        rate_limit=False,
        proof_of_work=False,
    )
    env = {
        "DB_ACQUIRE_TIMEOUT": str(ACQUIRE_TIMEOUT),
        "DB_COMMAND_TIMEOUT": str(COMMAND_TIMEOUT),
        "DB_POOL_MIN": "2",
        "DB_POOL_MAX": "8",
        "READ_CACHE_SECONDS": "0",  # every read goes to PostgreSQL
    }
    try:
        with (
            SmtpServerProcess(tmp / "received") as smtp,
            LiveServer(settings, env) as server,
        ):
            async with WorkerProcess(
                tmp / "worker.log",
                DATABASE_URL=postgres.url,
                REDIS_URL=redis.url,
                SMTP_URL=smtp.url,
                SMTP_TIMEOUT="5",
                WIZYTA_DATA_DIR=str(tmp),
            ) as worker:
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                    starts = await _free_starts(http)
                    created = await http.post(
                        "/api/v1/bookings",
                        json=booking_body(starts[0], "manager@example.org"),
                        headers={"Idempotency-Key": str(uuid.uuid4())},
                    )
                    assert created.status_code == 201, created.text
                visit = created.json()["reference"], created.json()["manage_token"]
                yield Rig(server, postgres, redis, worker, pool, itertools.count(1), starts, visit)
                assert worker.alive(), worker.tail()
                assert await worker.stop() == 0, worker.tail()
    finally:
        await postgres.stop()
        await redis.stop()
        await pool.close()


# ---------------------------------------------------------------------------- the load


class Load:
    """A few clients in a loop, each doing one kind of request, until stopped; every answer is
    kept with the phase it started in, and what the server logged meanwhile."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.phase = "before"
        self.answers: list[Answer] = []
        self._stop = asyncio.Event()
        self._log = Path(rig.server.env["WIZYTA_DATA_DIR"]) / f"live-server-{rig.server.port}.log"
        self._log_from = self._log.stat().st_size
        self.log = ""

    async def _client(self, kind: str, request: Callable[[httpx.AsyncClient], Awaitable]) -> None:
        # No kept-alive connections: a hang shows as a slow answer, not as a stale socket.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=self.rig.server.url, timeout=30, limits=limits
        ) as http:
            while not self._stop.is_set():
                phase, started = self.phase, time.monotonic()
                try:
                    response, reference = await request(http)
                except httpx.HTTPError as e:
                    took = time.monotonic() - started
                    self.answers.append(Answer(kind, phase, type(e).__name__, took))
                else:
                    self.answers.append(
                        Answer(
                            kind,
                            phase,
                            response.status_code,
                            time.monotonic() - started,
                            response.headers.get("content-type", ""),
                            response.headers.get("retry-after"),
                            response.text[:2000],
                            reference if response.status_code == 201 else None,
                        )
                    )
                await asyncio.sleep(0.1 if kind == "booking" else 0.05)

    async def _availability(self, http: httpx.AsyncClient):
        today = dt.date.today()
        response = await http.get(
            f"/api/v1/points/{BASZTOWA}/availability",
            params={
                "service": EVERYDAY,
                "language": "uk",
                "from": str(today),
                "to": str(today + dt.timedelta(days=13)),
            },
        )
        return response, None

    async def _booking(self, http: httpx.AsyncClient):
        start = self.rig.starts[next(self.rig.slots)]
        email = f"load{next(self.rig.emails)}@example.org"
        response = await http.post(
            "/api/v1/bookings",
            json=booking_body(start, email),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        reference = response.json().get("reference") if response.status_code == 201 else None
        return response, reference

    async def _manage_page(self, http: httpx.AsyncClient):
        reference, token = self.rig.visit
        return await http.get(f"/bookings/{reference}/manage", params={"token": token}), None

    async def _visit_api(self, http: httpx.AsyncClient):
        reference, token = self.rig.visit
        return await http.get(f"/api/v1/bookings/{reference}", headers=bearer(token)), None

    async def _point_page_in_polish(self, http: httpx.AsyncClient):
        return await http.get(f"/points/{BASZTOWA}", headers={"Accept-Language": "pl"}), None

    async def _readyz(self, http: httpx.AsyncClient):
        return await http.get("/readyz"), None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Load]:
        clients = [
            self._client("availability", self._availability),
            self._client("availability", self._availability),
            self._client("booking", self._booking),
            self._client("booking", self._booking),
            self._client("manage page", self._manage_page),
            self._client("visit api", self._visit_api),
            self._client("point page pl", self._point_page_in_polish),
            self._client("readyz", self._readyz),
        ]
        tasks = [asyncio.create_task(c) for c in clients]
        try:
            yield self
        finally:
            self._stop.set()
            await asyncio.gather(*tasks)
            with self._log.open(errors="replace") as log:
                log.seek(self._log_from)
                self.log = log.read()


async def _until_ready(url: str, within: float) -> float:
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    return time.monotonic() - started
            if time.monotonic() - started > within:
                pytest.fail(f"/readyz not 200 within {within} s of the store coming back")
            await asyncio.sleep(0.1)


async def _outage(rig: Rig, store: str, how: str) -> tuple[Load, float]:
    """Load before, during and after `store` is `how` (cut or blackhole) for WINDOW seconds;
    the load and the seconds /readyz took to be 200 again."""
    proxy = rig.postgres if store == "postgres" else rig.redis
    load = Load(rig)
    async with load.running():
        await asyncio.sleep(BEFORE)
        load.phase = "window"
        await getattr(proxy, how)()
        await asyncio.sleep(WINDOW)
        await proxy.restore()
        load.phase = "recovery"
        recovered = await _until_ready(rig.server.url, 15)
        load.phase = "after"
        await asyncio.sleep(AFTER)
    return load, recovered


def _summary(store: str, how: str, load: Load, recovered: float) -> str:
    lines = [f"{store} {how} for {WINDOW:.0f} s; /readyz 200 again after {recovered:.2f} s"]
    for phase in ("before", "window", "recovery", "after"):
        answers = [a for a in load.answers if a.phase == phase]
        if not answers:
            continue
        ok = sum(1 for a in answers if isinstance(a.status, int) and a.status < 400)
        busy = sum(1 for a in answers if a.status == 503)
        other = Counter(a.status for a in answers if a.status != 503 and not ok_status(a.status))
        slowest = max(answers, key=lambda a: a.took)
        lines.append(
            f"  {phase:9} {len(answers):4} answers: {ok} successes, {busy} 503s, "
            f"other {dict(other)}, slowest {slowest.took * 1000:.0f} ms ({slowest.kind})"
        )
    return "\n".join(lines)


def ok_status(status: int | str) -> bool:
    return isinstance(status, int) and status < 400


def _failures(load: Load) -> list[str]:
    """Every answer that is neither a success nor a well-formed 503, every slow one, and every
    error the server logged as a bug."""
    wrong = [line for line in load.log.splitlines() if "unhandled error" in line]
    for a in load.answers:
        where = f"{a.kind} ({a.phase}, {a.took * 1000:.0f} ms)"
        if a.took > BOUND:
            wrong.append(f"{where}: took longer than {BOUND} s")
        if ok_status(a.status):
            continue
        if a.status != 503:
            wrong.append(f"{where}: {a.status} {a.text[:300]}")
            continue
        if not (a.retry_after and int(a.retry_after) >= 1):
            wrong.append(f"{where}: 503 without Retry-After")
        page = a.kind.endswith("page") or a.kind.endswith("page pl")
        expected = {"readyz": "application/json"}.get(
            a.kind, "text/html" if page else "application/problem+json"
        )
        if not a.content_type.startswith(expected):
            wrong.append(f"{where}: 503 as {a.content_type!r}, not {expected}")
        if a.kind == "point page pl" and POLISH_503 not in a.text:
            wrong.append(f"{where}: 503 page not in Polish: {a.text[:300]}")
    return wrong


async def _check_after(rig: Rig, load: Load) -> None:
    """Every booking acknowledged exists; the process answers normally; the worker sends
    every row, and lives."""
    acknowledged = [a.reference for a in load.answers if a.reference]
    stored = await rig.pool.fetchval(
        "select count(*) from bookings where reference = any($1::text[])", acknowledged
    )
    assert stored == len(acknowledged), "a booking acknowledged with 201 is not in PostgreSQL"

    after = [a for a in load.answers if a.phase == "after"]
    assert {a.kind for a in after} >= {"availability", "booking", "manage page", "visit api"}
    assert all(ok_status(a.status) for a in after), [
        (a.kind, a.status, a.text[:200]) for a in after if not ok_status(a.status)
    ]

    # a bound on liveness, not a speed check: the sweep's pace after the outage varies with the
    # machine (11 s alone, 46 s once inside the full suite)
    took = await until_all_sent(rig.pool, rig.worker, 120)
    print(f"  every outbox row sent {took:.1f} s after the load stopped")
    assert rig.worker.alive(), rig.worker.tail()


# ---------------------------------------------------------------------------- the windows


@pytest.mark.parametrize("how", ["cut", "blackhole"])
async def test_a_postgres_outage_is_answered_503_with_retry_after_and_the_process_recovers(
    rig, how
):
    load, recovered = await _outage(rig, "postgres", how)
    print("\n" + _summary("postgres", how, load, recovered))

    assert _failures(load) == []
    window = [a for a in load.answers if a.phase == "window"]
    refused = [a for a in window if a.status == 503]
    assert refused, "no request noticed PostgreSQL was away"
    assert any(a.kind == "point page pl" for a in refused), "no page was refused in Polish"
    assert any(a.kind == "readyz" for a in refused), "/readyz did not notice"
    await _check_after(rig, load)


@pytest.mark.parametrize("how", ["cut", "blackhole"])
async def test_bookings_go_on_through_a_redis_outage_and_their_mail_is_sent_afterwards(rig, how):
    load, recovered = await _outage(rig, "redis", how)
    print("\n" + _summary("redis", how, load, recovered))

    assert _failures(load) == []
    window = [a for a in load.answers if a.phase == "window"]
    # A /readyz blackholed from the end of "before" answers 503 in the window's first seconds;
    # one asked later may get its reply when the window closes.
    noticed = [a for a in load.answers if a.kind == "readyz" and a.status == 503]
    assert noticed, "/readyz did not notice"
    bookings = [a for a in window if a.kind == "booking"]
    assert bookings and all(a.status == 201 for a in bookings), [
        (a.status, a.text[:200]) for a in bookings
    ]
    slowest = max(a.took for a in bookings)
    assert slowest < ENQUEUE_WITHIN + 0.75, f"a booking waited {slowest:.2f} s for Redis"
    await _check_after(rig, load)
