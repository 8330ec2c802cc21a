"""iCalendar pieces shared by every feed and invitation wizyta writes (RFC 5545)."""

from __future__ import annotations

import calendar as gregorian
import functools
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import msgspec
from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROLS_BUT_LF = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def ical_text(value: str, *, lines: bool = False) -> str:
    """`value` as RFC 5545 TEXT (§3.3.11) can hold it: no control character but HTAB.

    A visitor's name pasted with U+0001, a label ending in U+007F: such characters are dropped,
    never written raw (a client drops the whole property, or the line). A line break (CRLF, CR
    or LF) becomes a space, or with `lines` one LF, which icalendar writes as the escape `\\n`.
    """
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if lines:
        return _CONTROLS_BUT_LF.sub("", value)
    return _CONTROLS.sub("", value.replace("\n", " "))


def vtimezone(tzid: str, around: datetime) -> Timezone:
    """A VTIMEZONE for `tzid` that is exact for the year before, of and after `around`.

    Where the zone changes clocks by one yearly rule over those years (Europe/Warsaw: last
    Sunday of March and of October), the observances are written as RRULEs, the way Google
    and Microsoft write them: Outlook misreads the RDATE lists that icalendar's own
    `Timezone.from_tzid` writes. Any other zone falls back to `Timezone.from_tzid`.
    """
    year = around.astimezone(ZoneInfo(tzid)).year
    onsets = _yearly_onsets(tzid, year)
    if not onsets:
        first, last = date(year - 1, 1, 1), date(year + 2, 1, 1)
        return Timezone.from_tzid(tzid, first_date=first, last_date=last)
    component = Timezone()
    component.add("TZID", tzid)
    for onset in onsets:
        observance = TimezoneDaylight() if onset.daylight else TimezoneStandard()
        observance.add("TZNAME", onset.name)
        observance.add("TZOFFSETFROM", onset.offset_from)
        observance.add("TZOFFSETTO", onset.offset_to)
        observance.add("DTSTART", onset.local)
        observance.add(
            "RRULE", {"FREQ": "YEARLY", "BYMONTH": onset.local.month, "BYDAY": onset.byday}
        )
        component.add_component(observance)
    return component


class _Onset(msgspec.Struct, frozen=True):
    """A change of a zone's UTC offset, dated as RFC 5545 §3.6.5 dates it: by the wall-clock
    time just before it (in `offset_from`), without a zone."""

    local: datetime
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool

    @property
    def byday(self) -> str:
        """The onset's weekday within its month: "-1SU" for the last Sunday, "2SU"..."""
        days_in_month = gregorian.monthrange(self.local.year, self.local.month)[1]
        nth = -1 if self.local.day + 7 > days_in_month else (self.local.day - 1) // 7 + 1
        return f"{nth}{('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')[self.local.weekday()]}"

    def yearly_rule(self) -> tuple[object, ...]:
        """What must be the same every year for one RRULE to say when this onset happens."""
        local = self.local
        offsets = (self.offset_from, self.offset_to)
        return (local.month, self.byday, local.time(), *offsets, self.name, self.daylight)


@functools.cache
def _yearly_onsets(tzid: str, year: int) -> tuple[_Onset, ...]:
    """The onsets of the year before `year`, if it, `year` and the next follow one set of
    yearly rules; else ()."""
    years = [_onsets(ZoneInfo(tzid), y) for y in (year - 1, year, year + 1)]
    rules = [[onset.yearly_rule() for onset in onsets] for onsets in years]
    return tuple(years[0]) if rules[0] and rules.count(rules[0]) == len(rules) else ()


def _onsets(zone: tzinfo, year: int) -> list[_Onset]:
    """Every change of the zone's UTC offset or name during one UTC year, to the second."""
    origin = datetime(year, 1, 1, tzinfo=UTC)
    seconds = int((datetime(year + 1, 1, 1, tzinfo=UTC) - origin).total_seconds())
    step = 6 * 3600  # far shorter than any zone keeps an offset

    def observance(second: int) -> tuple[timedelta, str, bool]:
        local = (origin + timedelta(seconds=second)).astimezone(zone)
        return local.utcoffset() or timedelta(0), local.tzname() or "", bool(local.dst())

    found = []
    for start in range(0, seconds, step):
        before, after = observance(start), observance(start + step)
        if before == after:
            continue
        low, high = start, start + step
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if observance(middle) == before else (low, middle)
        wall_clock = origin + timedelta(seconds=high) + before[0]
        found.append(_Onset(wall_clock.replace(tzinfo=None), before[0], *after))
    return found
