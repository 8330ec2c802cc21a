"""Benchmark of the slot engine: a realistic point-service over 60 days, and 6 points x 4 services.

Not a test: it asserts nothing about time. `python -m tests.benchmarks.slot_engine` prints the
figures; `run()` returns them (median and p99 in milliseconds, with warm rule caches).
"""

import datetime as dt
import json
import random
import statistics
import time
import zoneinfo
from collections.abc import Callable

from scheduling.rules import CalendarRule, RuleKind, resolve_days, resolve_desk_days
from scheduling.slots import BusyPeriod, DeskSchedule, SlotQuery, compute_slots

ZONE = "Europe/Warsaw"
FIRST_DAY = dt.date(2026, 3, 2)  # a Monday; the 60 days span the spring DST change
NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
HORIZON = dt.timedelta(days=60)
LAST_DAY = FIRST_DAY + HORIZON


def point_rules(point: str) -> list[CalendarRule]:
    """Rules of the shape the seeds show: long Mondays, a daily break, an open Saturday."""
    return [
        CalendarRule(
            id=f"{point}-mon",
            kind=RuleKind.HOURS,
            rrule="FREQ=WEEKLY;BYDAY=MO",
            opens=dt.time(7),
            closes=dt.time(18),
        ),
        CalendarRule(
            id=f"{point}-tue-fri",
            kind=RuleKind.HOURS,
            rrule="FREQ=WEEKLY;BYDAY=TU,WE,TH,FR",
            opens=dt.time(7, 30),
            closes=dt.time(16, 30),
            valid_from=dt.date(2023, 1, 2),
        ),
        CalendarRule(
            id=f"{point}-break",
            kind=RuleKind.CLOSED,
            rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            opens=dt.time(12),
            closes=dt.time(12, 30),
        ),
        CalendarRule(
            id=f"{point}-open-saturday",
            kind=RuleKind.SPECIAL,
            rrule="FREQ=MONTHLY;BYDAY=1SA",
            opens=dt.time(9),
            closes=dt.time(14),
            valid_from=dt.date(2026, 1, 1),
        ),
        CalendarRule(
            id=f"{point}-interpreter",
            kind=RuleKind.HOURS,
            rrule="FREQ=WEEKLY;BYDAY=TU,TH",
            opens=dt.time(9),
            closes=dt.time(13),
            desk_id=f"{point}-desk-3",
        ),
    ]


def desk_schedules(point: str) -> list[DeskSchedule]:
    """Three desks (the seeds' service rooms); the third has an interpreter on Tue and Thu."""
    rules = point_rules(point)
    days = resolve_days(rules, FIRST_DAY, LAST_DAY)
    languages = [("pl", "en"), ("pl", "uk", "ru"), ("pl", "uk", "pjm")]
    schedules = []
    for number, spoken in enumerate(languages, start=1):
        desk_id = f"{point}-desk-{number}"
        own = [rule for rule in rules if rule.desk_id == desk_id]
        schedules.append(DeskSchedule.from_days(desk_id, spoken, resolve_desk_days(days, own)))
    return schedules


def existing_visits(desks: list[DeskSchedule], count: int, seed: int) -> list[BusyPeriod]:
    """`count` non-overlapping 30-minute visits on the desks' open quarter hours."""
    chooser, zone = random.Random(seed), zoneinfo.ZoneInfo(ZONE)
    taken: set[tuple[str, dt.datetime]] = set()
    while len(taken) < count:
        desk = chooser.choice(desks)
        day = chooser.choice(sorted(desk.days))
        if not desk.days[day]:
            continue
        interval = chooser.choice(desk.days[day])
        start = dt.datetime.combine(day, interval.opens, tzinfo=zone)
        start += dt.timedelta(minutes=30 * chooser.randrange(4))
        taken.add((desk.desk_id, start.astimezone(dt.UTC)))
    return [
        BusyPeriod(desk_id, start, start + dt.timedelta(minutes=30)) for desk_id, start in taken
    ]


def query(language: str, minutes: int, step: int) -> SlotQuery:
    return SlotQuery(
        timezone=ZONE,
        duration=dt.timedelta(minutes=minutes),
        step=dt.timedelta(minutes=step),
        language=language,
        now=NOW,
        min_notice=dt.timedelta(hours=2),
        horizon=HORIZON,
        first_day=FIRST_DAY,
        last_day=LAST_DAY,
    )


def _measure(work: Callable[[], object], repeats: int) -> dict[str, float]:
    work()  # warm the caches a long-running process would have
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(timings), 3),
        "p99_ms": round(statistics.quantiles(timings, n=100)[98], 3),
    }


def run(repeats: int = 200) -> dict:
    """Time the engine for one point-service and for 6 points x 4 services (one batch)."""
    repeats = max(repeats, 2)
    desks = desk_schedules("krakow")
    visits = existing_visits(desks, 100, seed=2026)
    one = query("pl", 30, 15)
    slots = compute_slots(desks, visits, one)

    def resolve_then_slots() -> None:
        compute_slots(desk_schedules("krakow"), visits, one)

    points = [(f"point-{n}", desk_schedules(f"point-{n}")) for n in range(6)]
    batch = [
        (schedules, existing_visits(schedules, 100, seed=n), query(language, minutes, step))
        for n, (_, schedules) in enumerate(points)
        for language, minutes, step in (
            ("pl", 30, 15),
            ("uk", 45, 15),
            ("en", 20, 10),
            ("ru", 60, 30),
        )
    ]
    return {
        "one_point_service": {
            **_measure(lambda: compute_slots(desks, visits, one), repeats),
            "days": len(slots),
            "slots": sum(len(day.slots) for day in slots),
            "desks": len(desks),
            "visits": len(visits),
        },
        "one_point_service_with_rule_resolution": _measure(resolve_then_slots, repeats),
        "six_points_four_services": {
            **_measure(lambda: [compute_slots(*case) for case in batch], repeats),
            "point_services": len(batch),
        },
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
