"""The slot engine on the real seed data: one point-service, and every seeded one at once.

slot_engine.py times synthetic points; this times what the app itself would compute, from
the rules, desks and visits in the benchmark database (loaded once, as a warm process would
have them), over a 60-day horizon from today. Pure computation: no I/O inside the timing.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from scheduling import store
from scheduling.availability import busy_periods, local_day_bounds, point_days
from scheduling.model import Point, PointService
from scheduling.rules import CalendarRule, resolve_desk_days
from scheduling.slots import BusyPeriod, DeskSchedule, SlotQuery, compute_slots

HORIZON_DAYS = 60
ONE = ("krakow-basztowa-22", "everyday-matters", "uk")


@dataclass
class Case:
    point: Point
    offer: PointService
    language: str
    rules: list[CalendarRule]
    desks: list[asyncpg.Record]
    busy: list[BusyPeriod]


async def load_cases(conn: asyncpg.Connection) -> list[Case]:
    """Every seeded point-service (in Polish, which all of them offer)."""
    today = dt.date.today()
    last = today + dt.timedelta(days=HORIZON_DAYS - 1)
    cases = []
    for point in await store.list_points(conn):
        if point.id.startswith("bench-"):
            continue
        rules = await store.list_rules(conn, point.id)
        desks = await store.list_desks(conn, [point.id])
        start, end = local_day_bounds(point.timezone, today, last)
        busy = await busy_periods(conn, point.id, start, end)
        for offer in await store.list_point_services(conn, point.id):
            language = ONE[2] if (point.id, offer.id) == ONE[:2] else "pl"
            cases.append(Case(point, offer, language, rules, desks, busy))
    return cases


def slots_of(case: Case, now: dt.datetime, *, schedules: list[DeskSchedule] | None = None):
    today = now.astimezone(zoneinfo.ZoneInfo(case.point.timezone)).date()
    last = today + dt.timedelta(days=HORIZON_DAYS - 1)
    if schedules is None:
        schedules = schedules_of(case, today, last)
    query = SlotQuery(
        timezone=case.point.timezone,
        duration=dt.timedelta(minutes=case.offer.duration_minutes),
        step=dt.timedelta(minutes=case.offer.step_minutes),
        language=case.language,
        now=now,
        min_notice=dt.timedelta(minutes=case.offer.min_notice_minutes),
        horizon=dt.timedelta(days=case.offer.horizon_days),
        first_day=today,
        last_day=last,
    )
    return compute_slots(schedules, case.busy, query)


def schedules_of(case: Case, first: dt.date, last: dt.date) -> list[DeskSchedule]:
    """What scheduling.availability.desk_schedules does, minus its query for the desks."""
    days = point_days(case.point, case.rules, first, last)
    return [
        DeskSchedule.from_days(
            desk["id"],
            desk["languages"],
            resolve_desk_days(days, [r for r in case.rules if r.desk_id == desk["id"]]),
        )
        for desk in case.desks
    ]


def measure(work: Callable[[], object], repeats: int) -> dict[str, float]:
    """Median and p99 in ms of wall time, and p99 of this thread's CPU time: on a shared
    machine the wall-clock tail includes being preempted, the CPU-time tail does not."""
    work()
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.thread_time()
        work()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    wall.sort()
    cpu.sort()
    p99 = min(len(wall) - 1, int(len(wall) * 0.99))
    return {
        "median": statistics.median(wall),
        "p99": wall[p99],
        "cpu_median": statistics.median(cpu),
        "cpu_p99": cpu[p99],
    }


def run(cases: list[Case], repeats: int) -> dict:
    now = dt.datetime.now(dt.UTC)
    (one,) = [c for c in cases if (c.point.id, c.offer.id) == ONE[:2]]
    today = now.astimezone(zoneinfo.ZoneInfo(one.point.timezone)).date()
    resolved = schedules_of(one, today, today + dt.timedelta(days=HORIZON_DAYS - 1))
    slots = slots_of(one, now)
    return {
        "one_slots_only": measure(lambda: slots_of(one, now, schedules=resolved), repeats),
        "one_with_rules": measure(lambda: slots_of(one, now), repeats),
        "all": measure(lambda: [slots_of(c, now) for c in cases], max(repeats // 4, 2)),
        "one_slots": sum(len(day.slots) for day in slots),
        "one_desks": len(one.desks),
        "one_visits": len(one.busy),
        "cases": len(cases),
        "points": len({c.point.id for c in cases}),
    }
