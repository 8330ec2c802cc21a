"""The morning rush at a release: 1,000 people at once for 100 visits. The draw path.

bench-rush publishes day D at a release time a minute ago (release_time, release_days_ahead,
draw_minutes = 5), and D has a special opening of 20 half-hour slots on 5 desks: 100 visits.
Requests in the first draw_minutes after a release are not first come, first served: each
becomes a draw entry (202). So the rush is measured in its two real steps:

1. entries: 1,000 clients, each on its own connection, all POST /api/v1/bookings at the same
   instant for a time on D (most want the morning);
2. answers: the window is closed (draw_minutes = 1, so it ended a minute ago), then all 1,000
   ask GET /api/v1/draws/{id} at the same instant; the first request decides the whole draw
   (100 visits held, 900 "lost") while the others wait for it, and each gets its answer.

Then PostgreSQL is asked whether any desk is overbooked, and whether exactly the capacity
was given out, each to a different person.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg

from scheduling.releases import draw_window, last_released_day
from tests.benchmarks import loadgen
from tests.benchmarks.stack import BENCH_SERVICE, RUSH_DESKS, RUSH_POINT, Meter, Server

ZONE = zoneinfo.ZoneInfo("Europe/Warsaw")
DAYS_AHEAD = 10


@dataclass
class Rush:
    clients: int
    capacity: int
    entries: list[dict]
    answers: list[dict]
    won: int
    lost: int
    people_with_visits: int
    visits: int
    overbooked: int
    entries_cpu: tuple[float, float] = (float("nan"), float("nan"))  # server, PostgreSQL seconds
    answers_cpu: tuple[float, float] = (float("nan"), float("nan"))


async def open_release(
    database_url: str, slots_per_desk: int, point: str = RUSH_POINT
) -> tuple[dt.date, list[str]]:
    """Publish day D a minute ago with a draw window; return D and its slot starts."""
    now = dt.datetime.now(ZONE)
    released_at = (now - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "update points set release_time = $2, release_days_ahead = $3, draw_minutes = 5 "
            "where id = $1",
            point,
            released_at.time(),
            DAYS_AHEAD,
        )
        day = last_released_day(now, "Europe/Warsaw", released_at.time(), DAYS_AHEAD)
        start, end = draw_window(day, "Europe/Warsaw", released_at.time(), DAYS_AHEAD, 5)
        if not start <= now < end:
            raise RuntimeError(f"the draw window of {day} ({start}-{end}) does not hold {now}")
        opens = dt.datetime.combine(day, dt.time(8), ZONE)
        closes = opens + dt.timedelta(minutes=30 * slots_per_desk)
        await conn.execute(
            """
            insert into calendar_rules (id, point_id, kind, dates, opens, closes, labels)
            values ($1 || '-release', $1, 'special', array[$2::date], $3, $4, '{}')
            """,
            point,
            day,
            opens.time(),
            closes.time(),
        )
    finally:
        await conn.close()
    starts = [(opens + dt.timedelta(minutes=30 * i)).isoformat() for i in range(slots_per_desk)]
    return day, starts


async def close_window(database_url: str, point: str = RUSH_POINT) -> None:
    """draw_minutes = 1: the window [release, release + 1 min) ended before now."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("update points set draw_minutes = 1 where id = $1", point)
    finally:
        await conn.close()


async def outcome(database_url: str, point: str = RUSH_POINT) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        statuses = dict(
            await conn.fetch(
                "select status, count(*) from draw_entries where point_id = $1 group by status",
                point,
            )
        )
        visits = await conn.fetchrow(
            """
            select count(*) as visits, count(distinct visitor_email_key) as people
            from bookings where point_id = $1 and status in ('held', 'confirmed')
            """,
            point,
        )
        return {
            "won": statuses.get("won", 0),
            "lost": statuses.get("lost", 0),
            "visits": visits["visits"],
            "people": visits["people"],
            "overbooked": await overbooked(conn),
        }
    finally:
        await conn.close()


async def overbooked(conn: asyncpg.Connection) -> int:
    """Active visits that start before an earlier one on the same desk ends (should be none)."""
    return await conn.fetchval(
        """
        select count(*) from (
            select starts_at,
                   max(ends_at) over (
                       partition by desk_id order by starts_at, ends_at, id
                       rows between unbounded preceding and 1 preceding
                   ) as earlier_end
            from bookings where status in ('held', 'confirmed', 'checked_in')
        ) visits
        where earlier_end > starts_at
        """
    )


@contextlib.contextmanager
def profiled(pid: int | None, name: str) -> Iterator[None]:
    """With BENCH_PROFILE=FOLDER, py-spy samples `pid` meanwhile into FOLDER/NAME.txt (collapsed
    stacks, one line per stack with its count: what docs/benchmarks.md's profiles are read from).
    """
    folder = os.environ.get("BENCH_PROFILE")
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if not folder or pid is None or spy is None:
        yield
        return
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(folder, f"{name}.txt")
    recorder = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw", "--nonblocking",
         "--subprocesses", "--output", out],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            recorder.wait(30)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()


def run(
    server: Server,
    database_url: str,
    clients: int,
    slots_per_desk: int,
    meter: Meter,
    point: str = RUSH_POINT,
) -> Rush:
    _, starts = asyncio.run(open_release(database_url, slots_per_desk, point))
    chooser = random.Random(2026)
    morning = starts[: max(1, len(starts) // 4)]
    entries_requests = []
    for n in range(clients):
        start = chooser.choice(morning if chooser.random() < 0.7 else starts)
        body = {
            "point_id": point,
            "service_id": BENCH_SERVICE,
            "start": start,
            "language": "uk",
            "visitor": {"name": "Bench Visitor", "email": f"rush{n}@example.org"},
        }
        entries_requests.append(
            {
                "method": "POST",
                "path": "/api/v1/bookings",
                "headers": {"Content-Type": "application/json", "Idempotency-Key": f"{point}-{n}"},
                "body": json.dumps(body),
            }
        )
    pid = server.process.pid if getattr(server, "process", None) else None
    with profiled(pid, f"rush-entries-{point}-{clients}"):
        entries, *entries_cpu = meter.run(
            lambda: loadgen.burst(server.host, server.port, entries_requests, keep_bodies=True)
        )
    asyncio.run(close_window(database_url, point))
    answers_requests = []
    for entry in entries:
        try:
            parsed = json.loads(entry.get("body") or "{}")
        except ValueError:
            parsed = {}
        if entry["status"] == 202 and "entry_id" in parsed:
            answers_requests.append(
                {
                    "method": "GET",
                    "path": f"/api/v1/draws/{parsed['entry_id']}",
                    "headers": {"Authorization": f"Bearer {parsed['token']}"},
                }
            )
    with profiled(pid, f"rush-answers-{point}-{clients}"):
        answers, *answers_cpu = meter.run(
            lambda: (
                loadgen.burst(server.host, server.port, answers_requests)
                if answers_requests
                else []
            )
        )
    found = asyncio.run(outcome(database_url, point))
    for entry in entries:
        entry.pop("body", None)
    return Rush(
        clients=clients,
        capacity=slots_per_desk * RUSH_DESKS,
        entries=entries,
        answers=answers,
        won=found["won"],
        lost=found["lost"],
        people_with_visits=found["people"],
        visits=found["visits"],
        overbooked=found["overbooked"],
        entries_cpu=tuple(entries_cpu),  # type: ignore[arg-type]
        answers_cpu=tuple(answers_cpu),  # type: ignore[arg-type]
    )
