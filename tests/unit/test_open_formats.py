"""The open formats (scheduling/open_formats.py) on rules the seeds do not have: hours that
change on a date, a lunch break, a day with two special intervals, a holiday. The OpenStreetMap
value is read back by opening-hours-py and must give every resolved day."""

from __future__ import annotations

import datetime as dt

import opening_hours

from scheduling.open_formats import _osm_weekdays, osm_opening_hours, week_of
from scheduling.rules import CalendarRule, RuleKind, resolve_days

FIRST = dt.date(2026, 3, 2)  # a Monday
LAST = FIRST + dt.timedelta(days=179)
CHANGE = dt.date(2026, 5, 4)


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


RULES = [
    CalendarRule(
        id="old",
        kind=RuleKind.HOURS,
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        opens=t("08:00"),
        closes=t("16:00"),
        valid_until=CHANGE - dt.timedelta(days=1),
    ),
    CalendarRule(
        id="new",
        kind=RuleKind.HOURS,
        rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR",
        opens=t("09:00"),
        closes=t("17:00"),
        valid_from=CHANGE,
    ),
    CalendarRule(
        id="break",
        kind=RuleKind.CLOSED,
        rrule="FREQ=WEEKLY;BYDAY=WE",
        opens=t("12:00"),
        closes=t("12:30"),
        valid_from=CHANGE,
    ),
    CalendarRule(
        id="saturday-am",
        kind=RuleKind.SPECIAL,
        dates=(dt.date(2026, 6, 13),),
        opens=t("09:00"),
        closes=t("11:00"),
    ),
    CalendarRule(
        id="saturday-pm",
        kind=RuleKind.SPECIAL,
        dates=(dt.date(2026, 6, 13),),
        opens=t("12:00"),
        closes=t("14:00"),
    ),
    CalendarRule(id="closed", kind=RuleKind.CLOSED, dates=(dt.date(2026, 7, 15),)),
]


def _read_back(value: str) -> dict[dt.date, list[tuple[dt.time, dt.time]]]:
    out: dict[dt.date, list[tuple[dt.time, dt.time]]] = {}
    start, end = dt.datetime.combine(FIRST, dt.time()), dt.datetime.combine(LAST, dt.time())
    for begin, finish, state, _ in opening_hours.OpeningHours(value).intervals(
        start, end + dt.timedelta(days=1)
    ):
        if state == opening_hours.State.OPEN:
            out.setdefault(begin.date(), []).append((begin.time(), finish.time()))
    return out


def test_the_value_read_by_a_real_parser_gives_every_resolved_day():
    days = resolve_days(RULES, FIRST, LAST, observes_holidays=True)
    value = osm_opening_hours(week_of(days))
    assert value.startswith("Mo,Fr 09:00-17:00; We 09:00-12:00,12:30-17:00; ")  # most days
    read = _read_back(value)
    for day in days:
        expected = [(i.opens, i.closes) for i in day.intervals]
        assert read.get(day.date, []) == expected, (day.date, value)


def test_weekdays_are_written_as_osm_writes_them():
    assert _osm_weekdays([0, 1, 2, 3, 4]) == "Mo-Fr"
    assert _osm_weekdays([0, 2, 4]) == "Mo,We,Fr"
    assert _osm_weekdays([0, 1, 3, 4, 5, 6]) == "Mo,Tu,Th-Su"


def test_a_point_never_open_is_off():
    assert osm_opening_hours(week_of(resolve_days([], FIRST, LAST, observes_holidays=True))) == (
        "off"
    )
