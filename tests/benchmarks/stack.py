"""The system under test: PostgreSQL, Redis, a database of its own, and `wizyta serve`.

DATABASE_URL / REDIS_URL when set (servers the suite may create and drop a database on),
otherwise embedded servers in a temporary directory that is removed afterwards. The schema is
built by the real migration runner and the seed data by the real seeding code; the points the
benchmarks need beyond the seeds are added by plain SQL (`add_bench_points`).

The web app runs exactly as deployed, `wizyta serve` in a child process, with RATE_LIMIT=off and
PROOF_OF_WORK=off (one address sending thousands of bookings would otherwise be refused, as it
should be).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from core import db
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BOOKING_POINT = "bench-bookings"
RUSH_POINT = "bench-rush"
#: the same rush through 2 and 4 web processes behind HAProxy (replicas.py), each on its own point
REPLICA_RUSH_POINTS = {2: "bench-rush-2", 4: "bench-rush-4"}
GROWTH_POINT = "bench-growth"  # as bench-bookings, for the data-growth section's bookings
SOAK_POINT = "bench-soak"  # as bench-bookings, for the memory soak's bookings (soak.py)
BENCH_SERVICE = "bench-visit"
BOOKING_DESKS = 8
RUSH_DESKS = 5
OPENS, CLOSES = dt.time(7, 30), dt.time(16, 30)  # the seeds' usual Tuesday to Friday
T = TypeVar("T")
LABELS = {"pl": "Benchmark", "en": "Benchmark", "uk": "Benchmark", "ru": "Benchmark"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_database(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


@dataclass
class Stores:
    server_url: str  # a database the suite may create others from
    redis_url: str
    data_dir: Path
    embedded: bool

    @property
    def postmaster_pid(self) -> int | None:
        """The embedded PostgreSQL's main process (None for a server given by DATABASE_URL)."""
        if not self.embedded:
            return None
        try:
            return int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int | None) -> float:
    """CPU time of a process, its live descendants and its reaped children (Linux /proc).

    Read before and after a load run, the difference is what that run cost the process tree:
    a noise-proof figure on a shared machine, where throughput depends on the neighbours.
    """
    if pid is None:
        return float("nan")
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    total = sum(int(v) for v in rest[11:15]) / _TICK  # utime stime cutime cstime
    children: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                children += [int(c) for c in (task / "children").read_text().split()]
    for child in children:
        total += _live_cpu(child)
    return total


def _live_cpu(pid: int) -> float:
    """utime + stime of a live process and its live descendants (not yet reaped ones)."""
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    total = (int(rest[11]) + int(rest[12])) / _TICK
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    total += _live_cpu(int(child))
    return total


@dataclass
class Meter:
    """CPU seconds of the web server and of PostgreSQL, to be read around a load run."""

    server_pid: int | None
    postmaster_pid: int | None

    def read(self) -> tuple[float, float]:
        return cpu_seconds(self.server_pid), cpu_seconds(self.postmaster_pid)

    def run(self, work: Callable[[], T]) -> tuple[T, float, float]:
        """`work()`, and the CPU seconds it cost the server and PostgreSQL."""
        server_before, db_before = self.read()
        result = work()
        server_after, db_after = self.read()
        return result, server_after - server_before, db_after - db_before


@contextlib.contextmanager
def stores() -> Iterator[Stores]:
    from core.embedded import EmbeddedRedis, embedded_postgres

    env = Settings.from_env()
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wizyta-bench-")))
        server_url = env.database_url or stack.enter_context(
            embedded_postgres(data_dir, keep=False)
        )
        redis_url = env.redis_url or stack.enter_context(EmbeddedRedis(data_dir, persist=False))
        yield Stores(server_url, redis_url, data_dir, embedded=not env.database_url)


@contextlib.contextmanager
def bench_database(found: Stores) -> Iterator[str]:
    """A database of this run: migrated, seeded, with the benchmark points; dropped after."""
    name = f"wizyta_bench_{secrets.token_hex(4)}"
    url = _with_database(found.server_url, name)

    async def create() -> None:
        from core.migrate import apply_migrations
        from scheduling.seed import seed_database

        admin = await asyncpg.connect(found.server_url)
        try:
            await admin.execute(f'create database "{name}"')
        finally:
            await admin.close()
        conn = await db.connect(url)
        try:
            await apply_migrations(conn)
            await seed_database(conn)
            await add_bench_points(conn)
        finally:
            await conn.close()

    async def drop() -> None:
        admin = await asyncpg.connect(found.server_url)
        try:
            await admin.execute(f'drop database if exists "{name}" with (force)')
        finally:
            await admin.close()

    asyncio.run(create())
    try:
        yield url
    finally:
        asyncio.run(drop())


async def add_bench_points(conn: asyncpg.Connection) -> None:
    """Points the seeds do not have, all open 07:30-16:30 with 30-minute visits.

    bench-bookings: 8 desks, every day, a 366-day horizon: thousands of free slots, so 32
    clients booking at once never run out or queue for the same one.
    bench-rush: 5 desks and no hours of its own; the rush gives one released day a special
    opening (20 slots x 5 desks = 100 visits) and a release window; bench-rush-2 and
    bench-rush-4 the same, for the rush through 2 and 4 web processes (replicas.py).
    bench-growth: as bench-bookings, booked only by the data-growth section (growth.py).
    bench-soak: as bench-bookings, booked only by the memory soak (soak.py).
    """
    async with conn.transaction():
        await conn.execute(
            "insert into services (id, names, descriptions) values ($1, $2, $2)",
            BENCH_SERVICE,
            LABELS,
        )
        for point, desks in (
            (BOOKING_POINT, BOOKING_DESKS),
            (RUSH_POINT, RUSH_DESKS),
            *((point, RUSH_DESKS) for point in REPLICA_RUSH_POINTS.values()),
            (GROWTH_POINT, BOOKING_DESKS),
            (SOAK_POINT, BOOKING_DESKS),
        ):
            await conn.execute(
                """
                insert into points (id, names, address, city, languages, observes_holidays)
                values ($1, $2, $3, 'Kraków', '{pl,en,uk,ru}', false)
                """,
                point,
                LABELS,
                {"street": "ul. Testowa 1", "postal_code": "31-000", "city": "Kraków"},
            )
            await conn.execute(
                """
                insert into desks (id, point_id, names, languages)
                select $1 || '-desk-' || n, $1, $2, '{pl,en,uk,ru}'
                from generate_series(1, $3::int) n
                """,
                point,
                LABELS,
                desks,
            )
            await conn.execute(
                """
                insert into point_services (point_id, service_id, duration_minutes, step_minutes,
                    languages, min_notice_minutes, horizon_days, per_person_limit)
                values ($1, $2, 30, 30, '{pl,en,uk,ru}', 0, 366, 1)
                """,
                point,
                BENCH_SERVICE,
            )
        for point in (BOOKING_POINT, GROWTH_POINT, SOAK_POINT):
            await conn.execute(
                """
                insert into calendar_rules (id, point_id, kind, rrule, opens, closes, valid_from)
                values ($1 || '-daily', $1, 'hours', 'FREQ=DAILY', $2, $3, '2020-01-06')
                """,
                point,
                OPENS,
                CLOSES,
            )


# ---------------------------------------------------------------------------- the web app


class Server:
    """`wizyta serve` (one uvicorn process, as deployed) in a child process on a free port.

    `command` may name another launcher of the same app (see tests/benchmarks/asgi.py) to
    compare servers and event loops; the default is the project's own CLI.
    """

    def __init__(
        self,
        database_url: str,
        redis_url: str,
        log_dir: Path,
        *,
        command: list[str] | None = None,
        label: str = "wizyta serve",
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self.url = f"http://{self.host}:{self.port}"
        self.label = label
        self.command = command or [sys.executable, "-c", "import app; app.main()", "serve"]
        self.env = (
            os.environ
            | {
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "HOST": self.host,
                "PORT": str(self.port),
                "PUBLIC_URL": self.url,
                "RATE_LIMIT": "off",
                "PROOF_OF_WORK": "off",
                # a start booked by the soak is free again a minute later (soak.py)
                "HOLD_MINUTES": "1",
                "WIZYTA_DATA_DIR": str(log_dir),
            }
            | (env or {})
        )
        self.log_path = log_dir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [part.format(host=self.host, port=self.port) for part in self.command],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the server did not start:\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def _healthy(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def uses(self, library: str) -> bool:
        """Whether the server process (or a child of it) has `library` loaded."""
        pids = [self.process.pid] if self.process else []
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{pids[0]}/task/{pids[0]}/children").read_text().split()
            pids += [int(pid) for pid in children]
        for pid in pids:
            with contextlib.suppress(OSError):
                if f"/{library}/" in Path(f"/proc/{pid}/maps").read_text():
                    return True
        return False

    def __exit__(self, *exc: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
