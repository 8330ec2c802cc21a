"""Properties of rules and slots together, over random rules, desks and visits around DST changes.

The reference answers here are computed the slow, obvious way (minute by minute, candidate by
candidate) so that they share no shortcut with the engine.
"""

import datetime as dt
import functools
from dataclasses import dataclass
from unittest import mock
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.rules import (
    CalendarRule,
    LocalInterval,
    RuleKind,
    resolve_days,
    resolve_desk_days,
)
from scheduling.slots import BusyPeriod, DaySlots, DeskSchedule, SlotQuery, compute_slots

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
DST_CHANGES = [
    dt.date(2025, 3, 30),
    dt.date(2025, 10, 26),
    dt.date(2026, 3, 29),
    dt.date(2026, 10, 25),
    dt.date(2027, 3, 28),
    dt.date(2027, 10, 31),
]
RRULES = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=WEEKLY;BYDAY=SA,SU",
    "FREQ=WEEKLY;BYDAY=SU",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,MO",
]
PROPERTY = settings(max_examples=150, deadline=None)


@dataclass(frozen=True)
class Scenario:
    point_rules: list[CalendarRule]
    desk_rules: dict[str, list[CalendarRule]]
    languages: dict[str, frozenset[str]]
    visits: list[BusyPeriod]
    query: SlotQuery
    observes_holidays: bool

    def desks(self, extra: CalendarRule | None = None) -> list[DeskSchedule]:
        """Resolve the rules (plus `extra`, a point or desk rule) into desk schedules."""
        point_rules = self.point_rules + ([extra] if extra and extra.desk_id is None else [])
        first, last = self.query.first_day, self.query.last_day
        days = resolve_days(point_rules, first, last, observes_holidays=self.observes_holidays)
        schedules = []
        for desk_id, own in self.desk_rules.items():
            own = own + ([extra] if extra and extra.desk_id == desk_id else [])
            desk_days = resolve_desk_days(days, own)
            schedules.append(DeskSchedule.from_days(desk_id, self.languages[desk_id], desk_days))
        return schedules

    def slots(self, extra: CalendarRule | None = None) -> list[DaySlots]:
        return compute_slots(self.desks(extra), self.visits, self.query)


def times(grid_minutes: int):
    """A wall-clock span (opens, closes) with both ends on a `grid_minutes` grid from midnight."""
    ticks = 24 * 60 // grid_minutes
    return st.integers(0, ticks - 2).flatmap(
        lambda opens: st.integers(opens + 1, ticks - 1).map(
            lambda closes: (_clock(opens * grid_minutes), _clock(closes * grid_minutes))
        )
    )


def _clock(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


@st.composite
def rules_for(draw, kind, dates, grid, desk_id=None, *, count=(0, 2)):
    found = []
    for number in range(draw(st.integers(*count))):
        opens, closes = draw(times(grid))
        whole_day = kind == RuleKind.CLOSED and draw(st.booleans())
        recurring = draw(st.booleans() | st.just(kind == RuleKind.HOURS))
        found.append(
            CalendarRule(
                id=f"{desk_id or 'point'}-{kind}-{number}",
                kind=kind,
                rrule=draw(st.sampled_from(["FREQ=DAILY", *RRULES])) if recurring else None,
                dates=() if recurring else (draw(st.sampled_from(dates)),),
                opens=None if whole_day else opens,
                closes=None if whole_day else closes,
                valid_from=draw(st.none() | st.none() | st.sampled_from(dates)),
                desk_id=desk_id,
            )
        )
    return found


@st.composite
def scenarios(draw, aligned: bool = False):
    """Rules, desks, visits and a query over a few days, often across a DST change."""
    change = st.sampled_from(DST_CHANGES)
    base = draw(change | change | st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)))
    first_day = base - draw(st.integers(0, 1)) * DAY
    last_day = first_day + draw(st.integers(0, 2)) * DAY
    dates = [first_day + n * DAY for n in range((last_day - first_day).days + 1)]
    step = draw(st.sampled_from([15, 20, 30, 60] if aligned else [5, 10, 15, 20, 30, 45, 60]))
    grid = step if aligned else 5
    point_rules = (
        draw(rules_for(RuleKind.HOURS, dates, grid, count=(1, 3)))
        + draw(rules_for(RuleKind.SPECIAL, dates, grid))
        + draw(rules_for(RuleKind.CLOSED, dates, grid))
    )
    desk_ids = [f"room-{n}" for n in range(1, draw(st.integers(1, 3)) + 1)]
    desk_rules = {
        desk_id: draw(rules_for(RuleKind.HOURS, dates, grid, desk_id, count=(0, 1)))
        + draw(rules_for(RuleKind.CLOSED, dates, grid, desk_id, count=(0, 1)))
        for desk_id in desk_ids
    }
    languages = {
        desk_id: frozenset(draw(st.sets(st.sampled_from(["pl", "uk"]), min_size=1)))
        for desk_id in desk_ids
    }
    before, during = st.integers(-48 * 60, 0), st.integers(0, 24 * 60)
    window_start = dt.datetime.combine(first_day, dt.time(), UTC) - dt.timedelta(hours=3)
    five_minutes = (len(dates) * 24 + 3) * 12
    visits = []
    for _ in range(draw(st.integers(0, 8))):  # on five-minute marks, so they often touch slots
        start = window_start + draw(st.integers(0, five_minutes)) * 5 * MINUTE
        length = draw(st.integers(1, 36)) * 5 * MINUTE
        visits.append(BusyPeriod(draw(st.sampled_from(desk_ids)), start, start + length))
    query = SlotQuery(
        timezone="Europe/Warsaw",
        duration=draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90, 120])) * MINUTE,
        step=step * MINUTE,
        language=draw(st.sampled_from(sorted(languages[desk_ids[0]]))),
        now=window_start + draw(before | before | during) * MINUTE,
        min_notice=draw(st.integers(0, 180)) * MINUTE,
        horizon=draw(st.just(60 * DAY) | st.integers(0, 6 * 24).map(dt.timedelta(hours=1).__mul__)),
        first_day=first_day,
        last_day=last_day,
    )
    holidays = draw(st.booleans())
    return Scenario(point_rules, desk_rules, languages, visits, query, holidays)


# --- slow references --------------------------------------------------------------------------


def _wall(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(WARSAW).replace(tzinfo=None)


@functools.cache
def reference_range(
    day: dt.date, opens: dt.time, closes: dt.time
) -> tuple[dt.datetime, dt.datetime]:
    """[first minute the clock shows >= opens, one minute after the last it shows < closes)."""
    lowest, highest = dt.datetime.combine(day, opens), dt.datetime.combine(day, closes)
    scan = [lowest.replace(tzinfo=UTC) - n * MINUTE for n in range(0, 181)][::-1]
    start = next(moment for moment in scan if _wall(moment) >= lowest)
    scan = [highest.replace(tzinfo=UTC) - n * MINUTE for n in range(0, 181)]
    end = next(moment for moment in scan if _wall(moment) < highest) + MINUTE
    return start, end


def reference_starts(scenario: Scenario) -> set[tuple[dt.datetime, str]]:
    """Every (start, desk) the rules allow, found by trying each grid wall time and fold."""
    query, found = scenario.query, set()
    for desk in scenario.desks():
        if query.language not in desk.languages:
            continue
        visits = [v for v in scenario.visits if v.desk_id == desk.desk_id]
        for day, intervals in desk.days.items():
            for interval in intervals:
                low, high = reference_range(day, interval.opens, interval.closes)
                wall = dt.datetime.combine(day, interval.opens)
                while wall < dt.datetime.combine(day, interval.closes):
                    for fold in (0, 1):
                        start = wall.replace(tzinfo=WARSAW, fold=fold).astimezone(UTC)
                        end = start + query.duration
                        if (
                            _wall(start) == wall
                            and low <= start
                            and end <= high
                            and query.now + query.min_notice <= start
                            and start <= query.now + query.horizon
                            and not any(v.start < end and start < v.end for v in visits)
                        ):
                            found.add((start, desk.desk_id))
                    wall += query.step
    return found


def pairs(days: list[DaySlots]) -> set[tuple[dt.datetime, str]]:
    return {
        (slot.start, desk_id) for day in days for slot in day.slots for desk_id in slot.desk_ids
    }


# --- properties -------------------------------------------------------------------------------


@PROPERTY
@given(scenarios())
def test_the_engine_offers_exactly_what_a_slow_search_finds(scenario):
    assert pairs(scenario.slots()) == reference_starts(scenario)


@PROPERTY
@given(scenarios())
def test_slots_lie_inside_the_resolved_intervals_of_every_desk_they_list(scenario):
    desks = {desk.desk_id: desk for desk in scenario.desks()}
    for day in scenario.slots():
        for slot in day.slots:
            for desk_id in slot.desk_ids:
                ranges = [
                    reference_range(day.date, interval.opens, interval.closes)
                    for interval in desks[desk_id].days[day.date]
                ]
                assert any(low <= slot.start and slot.end <= high for low, high in ranges)
            assert slot.start.astimezone(WARSAW).date() == day.date


@PROPERTY
@given(scenarios())
def test_slots_never_overlap_a_visit_of_a_desk_they_list(scenario):
    for day in scenario.slots():
        for slot in day.slots:
            for visit in scenario.visits:
                if visit.desk_id in slot.desk_ids:
                    assert slot.end <= visit.start or visit.end <= slot.start


@PROPERTY
@given(scenarios())
def test_every_slot_lasts_its_duration_and_respects_notice_and_horizon(scenario):
    query = scenario.query
    for day in scenario.slots():
        for slot in day.slots:
            assert slot.end - slot.start == query.duration
            assert query.now + query.min_notice <= slot.start <= query.now + query.horizon


@PROPERTY
@given(scenarios())
def test_a_slot_start_round_trips_through_local_wall_time(scenario):
    for day in scenario.slots():
        for slot in day.slots:
            local = slot.start.astimezone(WARSAW)
            wall = local.replace(tzinfo=None)
            assert wall.replace(tzinfo=WARSAW, fold=local.fold).astimezone(UTC) == slot.start
            assert slot.start.tzinfo == UTC and slot.end.tzinfo == UTC


@PROPERTY
@given(scenarios())
def test_no_instant_is_offered_twice_and_free_counts_sorted_desks(scenario):
    days = scenario.slots()
    starts = [slot.start for day in days for slot in day.slots]
    assert len(starts) == len(set(starts))
    assert [day.date for day in days] == [
        scenario.query.first_day + n * DAY
        for n in range((scenario.query.last_day - scenario.query.first_day).days + 1)
    ]
    for day in days:
        assert [slot.start for slot in day.slots] == sorted(slot.start for slot in day.slots)
        for slot in day.slots:
            assert slot.free == len(slot.desk_ids) == len(set(slot.desk_ids)) > 0
            assert list(slot.desk_ids) == sorted(slot.desk_ids)


@PROPERTY
@given(scenarios(aligned=True), st.data())
def test_adding_a_closure_never_adds_a_slot(scenario, data):
    """Times lie on the step grid here: each interval's grid starts at its opening, so a break
    ending off the grid (12:10 with a 15-minute step) restarts the grid there, by design."""
    dates = [scenario.query.first_day + n * DAY for n in range(4)]
    whole_day = data.draw(st.booleans(), label="whole day")
    opens, closes = (None, None) if whole_day else data.draw(times(scenario.query.step // MINUTE))
    recurring = data.draw(st.booleans(), label="daily")
    closure = CalendarRule(
        id="added-closure",
        kind=RuleKind.CLOSED,
        rrule="FREQ=DAILY" if recurring else None,
        dates=() if recurring else (data.draw(st.sampled_from(dates), label="date"),),
        opens=opens,
        closes=closes,
        desk_id=data.draw(st.sampled_from([None, *scenario.desk_rules]), label="scope"),
    )
    assert pairs(scenario.slots(closure)) <= pairs(scenario.slots())


@PROPERTY
@given(scenarios())
def test_the_careful_dst_path_agrees_with_the_fast_path_on_every_day(scenario):
    with mock.patch("scheduling.slots._fixed_offset", lambda day, zone: None):
        careful = scenario.slots()
    assert careful == scenario.slots()


def test_the_reference_range_of_a_day_across_the_changes_has_its_real_length():
    spring, autumn = dt.date(2026, 3, 29), dt.date(2026, 10, 25)
    whole = LocalInterval(dt.time(0), dt.time(6))
    for day, hours in ((spring, 5), (autumn, 7)):
        low, high = reference_range(day, whole.opens, whole.closes)
        assert high - low == dt.timedelta(hours=hours)
