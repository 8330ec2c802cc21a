"""Memory over time: the web process's RSS under a sustained booking load (a leak check).

The load is the bookings section's (32 clients, each `POST /api/v1/bookings` a real hold with a
fresh key and e-mail) at its own point, bench-soak, run in slices of `SLICE` seconds with the
server's RSS read between them. The server runs with HOLD_MINUTES=1 (stack.Server), so a start
booked once is free again a minute later (its hold expires, and the next booking of it marks it
expired, as booking/visits.py does): the load can go on for an hour (`make soak`) without running
out of slots; between slices the harness expires overdue holds as the worker's cron would.
`make bench` runs a minute of it; `make soak` SOAK_MINUTES (60 by default).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.benchmarks import bookings, loadgen
from tests.benchmarks.growth import rss_mb
from tests.benchmarks.stack import BENCH_SERVICE, SOAK_POINT, Meter, Server

SLICE = 10.0


@dataclass
class Soak:
    seconds: float
    booked: int = 0
    requests: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds in, RSS MB)
    server_cpu: float = 0.0
    db_cpu: float = 0.0
    p99s: list[float] = field(default_factory=list)
    expired: int = 0  # holds the sweep between slices expired


def run(server: Server, meter: Meter, folder: Path, seconds: float, database_url: str) -> Soak:
    every = [start for part in bookings.starts(1) for start in part]
    starts_file = folder / "soak-starts.txt"
    offset = 0
    pid = server.process.pid if server.process else None
    soak = Soak(seconds=seconds)
    began = time.monotonic()
    soak.samples.append((0.0, rss_mb(pid)))
    n = 0
    while time.monotonic() - began < seconds:
        n += 1
        # each slice goes on where the last one stopped (slot by slot, round the year)
        offset %= len(every)
        starts_file.write_text("\n".join(every[offset:] + every[:offset]) + "\n")
        spec = loadgen.LoopSpec(
            host=server.host,
            port=server.port,
            connections=bookings.CLIENTS,
            duration=min(SLICE, max(1.0, seconds - (time.monotonic() - began))),
            path="/api/v1/bookings",
            booking=loadgen.Booking(
                point_id=SOAK_POINT,
                service_id=BENCH_SERVICE,
                language="en",
                starts_file=str(starts_file),
                key_prefix=f"soak{n}",
            ),
        )
        result, server_cpu, db_cpu = meter.run(lambda spec=spec: loadgen.loop(spec))
        soak.booked += result.count(201)
        offset += result.requests
        soak.requests += result.requests
        soak.errors += result.errors + result.count_5xx()
        for code, count in result.statuses.items():
            soak.statuses[code] = soak.statuses.get(code, 0) + count
        soak.server_cpu += server_cpu
        soak.db_cpu += db_cpu
        soak.p99s.append(result.p99_ms)
        soak.samples.append((time.monotonic() - began, rss_mb(pid)))
        soak.expired += asyncio.run(_expire_holds(database_url))
    return soak


async def _expire_holds(database_url: str) -> int:
    """What the worker's `expire_holds` cron does (the bench runs no worker): without it, the
    first booking that meets an overdue hold expires every overdue hold of the point in its own
    transaction, one outbox row each, and after an hour that is tens of thousands."""
    import datetime as dt

    from booking.holds import expire_overdue
    from core import db

    conn = await db.connect(database_url)  # the app's codecs (the outbox rows' JSON)
    try:
        async with conn.transaction():
            return len(await expire_overdue(conn, dt.timedelta(minutes=1), SOAK_POINT))
    finally:
        await conn.close()
