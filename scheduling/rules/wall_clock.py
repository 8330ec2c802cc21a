"""Wall-clock times of the rules against a real time zone: the spring-forward gap.

The rules speak wall-clock time; on the day the clocks go forward (Europe/Warsaw: the last
Sunday of March, 02:00 -> 03:00) a time in between does not exist. RFC 5545 §3.3.5 reads such
a time with the offset from before the gap (02:30 is 03:30 summer time), so "02:30-03:30"
would be an interval of no length, and clients disagree about it. A rule may not name such a
time on a day it occurs; resolved hours never carry an interval that has no real length.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from scheduling.rules.model import CalendarRule, RuleError
from scheduling.rules.recurrence import rule_occurrences

_RECURRENCE_CHECK = dt.timedelta(days=5 * 366)


class NonexistentTime(RuleError):
    """A rule's opening or closing time falls in a gap; `field` says which."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def instant(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The real instant of a wall-clock time, in the zone (a time in a gap moves forward)."""
    return dt.datetime.combine(day, time, zone).astimezone(dt.UTC).astimezone(zone)


def exists(day: dt.date, time: dt.time, zone: ZoneInfo) -> bool:
    local = dt.datetime.combine(day, time, zone)
    return local.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == local.replace(
        tzinfo=None
    )


def real_span(
    day: dt.date, opens: dt.time, closes: dt.time, zone: ZoneInfo
) -> tuple[dt.datetime, dt.datetime] | None:
    """[start, end) as real instants, or None when the interval has no real length."""
    start, end = instant(day, opens, zone), instant(day, closes, zone)
    # Compared in UTC: Python compares two times of one zone by their wall clocks.
    return (start, end) if start.astimezone(dt.UTC) < end.astimezone(dt.UTC) else None


def check_wall_clock(rule: CalendarRule, timezone: str) -> None:
    """Raise NonexistentTime if the rule opens or closes at a time that does not exist on a
    day it occurs: each of its dates, and its RRULE over five years from its start (the zone's
    changes repeat yearly; five years keep a rule that runs for centuries quick to check)."""
    if rule.opens is None or rule.closes is None:
        return
    zone = ZoneInfo(timezone)
    first = rule.valid_from or min((*rule.dates, rule.anchor))
    last = first + _RECURRENCE_CHECK
    if rule.valid_until is not None:
        last = min(last, rule.valid_until)
    days = set(rule_occurrences(rule, first, last))
    days.update(d for d in rule.dates if rule_occurrences(rule, d, d))
    for day in sorted(days):
        for field, time in (("opens", rule.opens), ("closes", rule.closes)):
            if not exists(day, time, zone):
                raise NonexistentTime(
                    f"The rule {field} at {time:%H:%M} on {day}, a time that does not exist "
                    f"in {timezone}: the clocks go forward that night. Choose a time before "
                    "or after the change.",
                    field,
                )
