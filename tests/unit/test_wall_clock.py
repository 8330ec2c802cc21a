"""Rules against a real zone: a time in the spring-forward gap is refused, never an empty span."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from scheduling.rules import CalendarRule, NonexistentTime, RuleKind, check_wall_clock, real_span

WARSAW = ZoneInfo("Europe/Warsaw")
SPRING = dt.date(2027, 3, 28)  # 02:00 -> 03:00


def _special(opens: str, closes: str, day: dt.date = SPRING) -> CalendarRule:
    return CalendarRule(
        id="r",
        kind=RuleKind.SPECIAL,
        dates=(day,),
        opens=dt.time.fromisoformat(opens),
        closes=dt.time.fromisoformat(closes),
        valid_from=day,
        valid_until=day,
    )


@pytest.mark.parametrize(
    ("opens", "closes", "field"), [("02:30", "03:30", "opens"), ("01:00", "02:15", "closes")]
)
def test_a_time_in_the_gap_is_refused_naming_the_field(opens, closes, field):
    with pytest.raises(NonexistentTime) as refused:
        check_wall_clock(_special(opens, closes), "Europe/Warsaw")
    assert refused.value.field == field


def test_the_same_hours_on_another_day_and_around_the_gap_are_fine():
    check_wall_clock(_special("02:30", "03:30", dt.date(2027, 3, 27)), "Europe/Warsaw")
    check_wall_clock(_special("00:30", "01:59"), "Europe/Warsaw")
    check_wall_clock(_special("03:00", "04:00"), "Europe/Warsaw")


def test_a_weekly_rule_that_meets_the_gap_is_refused():
    rule = CalendarRule(
        id="r", kind=RuleKind.HOURS, rrule="FREQ=WEEKLY;BYDAY=SU", opens=dt.time(2, 30),
        closes=dt.time(4), valid_from=dt.date(2027, 1, 3),
    )  # fmt: skip
    with pytest.raises(NonexistentTime):
        check_wall_clock(rule, "Europe/Warsaw")


def test_an_interval_inside_the_gap_has_no_real_span():
    assert real_span(SPRING, dt.time(2, 30), dt.time(3, 30), WARSAW) is None
    start, end = real_span(SPRING, dt.time(1, 30), dt.time(3, 30), WARSAW)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=1)
