"""The city search (scheduling/search.py) against one point's availability, in process.

Both are timed end to end on one connection to the bench database, as a request computes
them with the read cache out of the way: one point's 14 days (its kept configuration, its busy
visits, the engine) against the search over every point of Kraków on site, and by phone over
every point. The issue asks the search to serve "at the same rate as one point's
availability"; the ratio of their medians says how close it is. CPU time is reported beside
wall time, since a busy neighbour stretches only the latter.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import zoneinfo

import asyncpg

from scheduling import config as point_config
from scheduling import search
from scheduling.availability import local_day_bounds, slots_for
from tests.benchmarks.throughput import LANGUAGE, POINT, SERVICE

ZONE = "Europe/Warsaw"
DAYS = 14
CITY_PATH = f"/api/v1/availability?city=Krak%C3%B3w&service={SERVICE}&language={LANGUAGE}"


async def _one_point(conn: asyncpg.Connection, first: dt.date, last: dt.date) -> int:
    config, now = await point_config.current(conn, POINT)
    days = await slots_for(
        conn, config.point, config.services[SERVICE], LANGUAGE, first, last, now, config=config
    )
    return sum(len(day.slots) for day in days)


async def _search(
    conn: asyncpg.Connection, first: dt.date, last: dt.date, city: str | None, channel: str
) -> int:
    found = await search.search(
        conn,
        city=city,
        service_id=SERVICE,
        language=LANGUAGE,
        channel=channel,
        first=first,
        last=last,
        local_bounds=local_day_bounds(ZONE, first, last),
    )
    return sum(len(day.slots) for day in found.days)


async def measure(conn: asyncpg.Connection, repeats: int) -> dict[str, dict[str, float]]:
    first = dt.datetime.now(zoneinfo.ZoneInfo(ZONE)).date()
    last = first + dt.timedelta(days=DAYS - 1)
    cases = {
        "one point": lambda: _one_point(conn, first, last),
        "Kraków on site": lambda: _search(conn, first, last, "Kraków", "on_site"),
        "every point by phone": lambda: _search(conn, first, last, None, "phone"),
    }
    figures: dict[str, dict[str, float]] = {}
    for name, case in cases.items():
        slots = await case()  # warm: configurations kept, statements prepared
        walls, cpus = [], []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            await case()
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        points = await search.candidate_points(
            conn, None if name != "Kraków on site" else "Kraków", SERVICE,
            "phone" if "phone" in name else "on_site",
        ) if name != "one point" else [POINT]  # fmt: skip
        figures[name] = {
            "median": statistics.median(walls),
            "cpu_median": statistics.median(cpus),
            "slots": slots,
            "points": len(points),
        }
    return figures
