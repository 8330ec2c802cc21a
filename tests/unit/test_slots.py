"""The slot engine, case by case (DESIGN.md, "Slot engine")."""

import datetime as dt
from zoneinfo import ZoneInfo

import msgspec
import pytest

from scheduling.rules import CalendarRule, LocalInterval, RuleKind, resolve_days
from scheduling.slots import BusyPeriod, DaySlots, DeskSchedule, Slot, SlotQuery, compute_slots

WARSAW = ZoneInfo("Europe/Warsaw")
TUESDAY = dt.date(2026, 3, 3)
SPRING = dt.date(2026, 3, 29)  # 02:00 CET jumps to 03:00 CEST
AUTUMN = dt.date(2026, 10, 25)  # 03:00 CEST falls back to 02:00 CET
DAY = dt.timedelta(days=1)


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def at(day: dt.date, text: str, fold: int = 0) -> dt.datetime:
    """A Warsaw wall time as an aware UTC instant."""
    return dt.datetime.combine(day, t(text), tzinfo=WARSAW).replace(fold=fold).astimezone(dt.UTC)


def desk(desk_id="room-1", *spans: str, day=TUESDAY, languages=("pl",)) -> DeskSchedule:
    intervals = tuple(LocalInterval(*map(t, span.split("-"))) for span in spans or ["09:00-12:00"])
    return DeskSchedule(desk_id, frozenset(languages), {day: intervals})


def busy(desk_id: str, day: dt.date, span: str, fold: int = 0) -> BusyPeriod:
    start, end = span.split("-")
    return BusyPeriod(desk_id, at(day, start, fold), at(day, end, fold))


def query(day=TUESDAY, last=None, *, minutes=30, step=15, language="pl", **fields) -> SlotQuery:
    return SlotQuery(
        timezone="Europe/Warsaw",
        duration=dt.timedelta(minutes=minutes),
        step=dt.timedelta(minutes=step),
        language=language,
        now=fields.pop("now", dt.datetime.combine(day - 7 * DAY, dt.time(), dt.UTC)),
        first_day=day,
        last_day=last or day,
        **fields,
    )


def day_slots(desks, visits=(), **options) -> tuple[Slot, ...]:
    [day] = compute_slots(list(desks), list(visits), query(**options))
    return day.slots


def walls(slots) -> list[str]:
    return [slot.start.astimezone(WARSAW).strftime("%H:%M") for slot in slots]


# --- the grid ---------------------------------------------------------------------------------


def test_slots_start_on_a_grid_anchored_at_the_intervals_opening():
    slots = day_slots([desk("room-1", "07:30-09:00")], minutes=20, step=20)
    assert walls(slots) == ["07:30", "07:50", "08:10", "08:30"]


def test_a_slot_must_fit_wholly_before_closing():
    assert walls(day_slots([desk("room-1", "09:00-10:00")], minutes=45)) == ["09:00", "09:15"]


def test_an_interval_shorter_than_the_visit_offers_nothing():
    assert day_slots([desk("room-1", "09:00-09:20")], minutes=30) == ()


def test_each_interval_of_a_day_has_its_own_grid():
    slots = day_slots([desk("room-1", "07:30-08:30", "12:20-13:30")], step=30)
    assert walls(slots) == ["07:30", "08:00", "12:20", "12:50"]


def test_slots_are_aware_utc_instants_with_the_visit_length():
    [first, *_] = day_slots([desk()])
    assert first.start == at(TUESDAY, "09:00") and first.start.tzinfo == dt.UTC
    assert first.end - first.start == dt.timedelta(minutes=30)


# --- visits and desks -------------------------------------------------------------------------


def test_a_visit_blocks_the_slots_it_overlaps_and_no_more():
    slots = day_slots([desk()], [busy("room-1", TUESDAY, "10:00-10:30")])
    assert "09:30" in walls(slots) and "10:30" in walls(slots)
    assert not {"09:45", "10:00", "10:15"} & set(walls(slots))


def test_a_visit_on_another_desk_does_not_block():
    slots = day_slots([desk()], [busy("room-2", TUESDAY, "09:00-12:00")])
    assert walls(slots)[0] == "09:00"


def test_free_counts_the_desks_that_could_take_the_slot():
    desks = [desk("room-3"), desk("room-1"), desk("room-2")]
    slots = {walls([s])[0]: s for s in day_slots(desks, [busy("room-2", TUESDAY, "10:00-10:30")])}
    assert (slots["09:00"].free, slots["09:00"].desk_ids) == (3, ("room-1", "room-2", "room-3"))
    assert (slots["10:00"].free, slots["10:00"].desk_ids) == (2, ("room-1", "room-3"))


def test_desks_with_different_hours_add_up_slot_by_slot():
    desks = [desk("a", "09:00-10:00"), desk("b", "09:30-11:00")]
    slots = {walls([s])[0]: s.desk_ids for s in day_slots(desks, step=30)}
    assert slots == {"09:00": ("a",), "09:30": ("a", "b"), "10:00": ("b",), "10:30": ("b",)}


def test_desks_that_do_not_speak_the_language_are_left_out():
    desks = [desk("room-1", languages=("uk", "ru")), desk("room-2", languages=("pl",))]
    assert {s.desk_ids for s in day_slots(desks, language="uk")} == {("room-1",)}
    assert day_slots(desks, language="en") == ()


def test_busy_periods_are_compared_as_instants_whatever_their_zone():
    start = dt.datetime(2026, 3, 3, 10, 0, tzinfo=WARSAW)
    visit = BusyPeriod("room-1", start, start + dt.timedelta(minutes=30))
    assert "10:00" not in walls(day_slots([desk()], [visit]))


# --- notice, horizon, days --------------------------------------------------------------------


def test_no_slot_starts_before_the_minimum_notice():
    slots = day_slots([desk()], now=at(TUESDAY, "08:00"), min_notice=dt.timedelta(hours=1), step=30)
    assert walls(slots)[0] == "09:00"  # exactly now + notice is offered


def test_no_slot_starts_after_the_horizon():
    now = at(TUESDAY - DAY, "10:00")
    slots = day_slots([desk()], now=now, horizon=DAY, step=30)
    assert walls(slots) == ["09:00", "09:30", "10:00"]  # exactly now + horizon is offered


def test_every_date_in_the_range_gets_a_day_even_without_slots():
    found = compute_slots([desk()], [], query(TUESDAY - DAY, TUESDAY))
    assert [day.date for day in found] == [TUESDAY - DAY, TUESDAY]
    assert found[0].slots == () and found[1].slots


def test_days_already_past_come_back_empty():
    found = compute_slots([desk()], [], query(now=at(TUESDAY, "23:00")))
    assert found == [DaySlots(TUESDAY, ())]


# --- daylight saving time ---------------------------------------------------------------------


def test_a_wall_time_in_the_spring_gap_is_never_offered():
    slots = day_slots([desk("room-1", "00:00-06:00", day=SPRING)], day=SPRING, step=30)
    assert walls(slots) == ["00:00", "00:30", "01:00", "01:30"] + [
        f"{hour:02}:{minute:02}" for hour in range(3, 6) for minute in (0, 30)
    ]
    assert all(slot.end - slot.start == dt.timedelta(minutes=30) for slot in slots)
    assert slots[3].end == at(SPRING, "03:00")  # 01:30 CET + 30 minutes is 03:00 CEST


def test_the_repeated_autumn_hour_is_offered_once_per_real_instant():
    slots = day_slots([desk("room-1", "00:00-06:00", day=AUTUMN)], day=AUTUMN, step=30)
    twice = [slot.start for slot in slots if walls([slot]) == ["02:30"]]
    assert twice == [at(AUTUMN, "02:30", fold=0), at(AUTUMN, "02:30", fold=1)]
    assert twice[1] - twice[0] == dt.timedelta(hours=1)
    assert len(slots) == 14 and len({slot.start for slot in slots}) == 14


def test_a_slot_across_the_spring_change_lasts_its_real_duration():
    slots = day_slots([desk("room-1", "00:00-06:00", day=SPRING)], day=SPRING, minutes=60, step=60)
    assert walls(slots) == ["00:00", "01:00", "03:00", "04:00", "05:00"]
    assert slots[1].end == at(SPRING, "03:00")
    assert all(slot.end - slot.start == dt.timedelta(hours=1) for slot in slots)


def test_a_slot_across_the_autumn_change_lasts_its_real_duration():
    slots = day_slots([desk("room-1", "01:30-04:00", day=AUTUMN)], day=AUTUMN, minutes=90, step=30)
    first = slots[0]
    assert first.start == at(AUTUMN, "01:30")
    assert first.end == at(AUTUMN, "02:00", fold=1)  # the clock shows 02:00 for the second time
    assert all(slot.end - slot.start == dt.timedelta(minutes=90) for slot in slots)


def test_an_interval_opening_inside_the_gap_opens_when_the_gap_ends():
    slots = day_slots([desk("room-1", "02:15-04:00", day=SPRING)], day=SPRING, step=30)
    assert walls(slots) == ["03:15"]


def test_an_interval_closing_inside_the_gap_closes_when_the_gap_begins():
    slots = day_slots([desk("room-1", "00:00-02:30", day=SPRING)], day=SPRING, step=30)
    assert walls(slots) == ["00:00", "00:30", "01:00", "01:30"]


def test_a_visit_in_the_repeated_hour_blocks_only_its_own_instant():
    visits = [busy("room-1", AUTUMN, "02:30-03:00", fold=1)]
    slots = day_slots([desk("room-1", "00:00-06:00", day=AUTUMN)], visits, day=AUTUMN, step=30)
    assert at(AUTUMN, "02:30", fold=0) in [slot.start for slot in slots]
    assert at(AUTUMN, "02:30", fold=1) not in [slot.start for slot in slots]


def test_a_range_over_both_changes_keeps_every_ordinary_day_whole():
    schedule = DeskSchedule(
        "room-1",
        frozenset({"pl"}),
        {SPRING + n * DAY: (LocalInterval(t("09:00"), t("10:00")),) for n in (-1, 1)},
    )
    found = compute_slots([schedule], [], query(SPRING - DAY, SPRING + DAY))
    whole = ["09:00", "09:15", "09:30"]
    assert [walls(day.slots) for day in found] == [whole, [], whole]


# --- from rules to slots, determinism, bad input ----------------------------------------------


def test_a_desk_schedule_from_resolved_days_gives_no_slot_during_the_break():
    rules = [
        CalendarRule(
            id="weekdays",
            kind=RuleKind.HOURS,
            rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            opens=t("07:30"),
            closes=t("16:30"),
        ),
        CalendarRule(
            id="break",
            kind=RuleKind.CLOSED,
            rrule="FREQ=DAILY",
            opens=t("12:00"),
            closes=t("12:30"),
        ),
    ]
    schedule = DeskSchedule.from_days("room-1", ["pl"], resolve_days(rules, TUESDAY, TUESDAY))
    slots = day_slots([schedule])
    assert walls(slots)[-1] == "16:00"
    assert not [s for s in slots if s.start < at(TUESDAY, "12:30") and s.end > at(TUESDAY, "12:00")]


def test_the_same_input_in_any_order_gives_the_same_slots():
    desks = [desk("a"), desk("b", "10:00-11:00"), desk("c", "08:00-09:30")]
    visits = [busy("a", TUESDAY, "09:00-09:40"), busy("b", TUESDAY, "10:15-10:30")]
    visits.append(busy("a", TUESDAY, "09:30-10:00"))
    assert day_slots(desks, visits) == day_slots(desks[::-1], visits[::-1])


@pytest.mark.parametrize(
    "fields",
    [
        {"duration": dt.timedelta(0)},
        {"step": dt.timedelta(minutes=-15)},
        {"now": dt.datetime(2026, 3, 3, 9, 0)},
        {"min_notice": dt.timedelta(hours=-1)},
    ],
    ids=["zero duration", "negative step", "naive now", "negative notice"],
)
def test_a_query_that_makes_no_sense_is_rejected(fields):
    valid = {
        "timezone": "Europe/Warsaw",
        "duration": dt.timedelta(minutes=30),
        "step": dt.timedelta(minutes=15),
        "language": "pl",
        "now": dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
        "first_day": TUESDAY,
        "last_day": TUESDAY,
    }
    with pytest.raises(ValueError):
        SlotQuery(**(valid | fields))


def test_an_unknown_time_zone_is_a_value_error():
    with pytest.raises(ValueError):
        compute_slots([desk()], [], msgspec.structs.replace(query(), timezone="Mars/Olympus"))


def test_a_desk_given_twice_is_rejected():
    with pytest.raises(ValueError):
        compute_slots([desk(), desk()], [], query())


def test_a_busy_period_needs_aware_instants():
    with pytest.raises(ValueError):
        BusyPeriod("room-1", dt.datetime(2026, 3, 3, 9), dt.datetime(2026, 3, 3, 10))
