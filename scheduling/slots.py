"""The slot engine: bookable visit slots from resolved desk hours, active visits and a query.

Pure and deterministic. Wall-clock times are local to the point and instants are UTC; internally
an instant is an int of microseconds since the epoch, so the hot loop is integer arithmetic and
only days with a DST change convert wall times one by one (PEP 495 `fold`). Where RFC 5545
§3.3.5 reads a nonexistent local time with the offset before the gap and a repeated one as its
first occurrence, a booking needs real instants: a time in the gap is never offered and a
repeated one is offered once per instant.
"""

import bisect
import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import Self

import msgspec

from scheduling.rules import DayHours, LocalInterval

UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_US = dt.timedelta(microseconds=1)
_DAY = dt.timedelta(days=1)


class DeskSchedule(msgspec.Struct, frozen=True):
    """One desk's capacity: the languages it serves and its resolved hours per local date."""

    desk_id: str
    languages: frozenset[str]
    days: Mapping[dt.date, tuple[LocalInterval, ...]]

    @classmethod
    def from_days(cls, desk_id: str, languages: Iterable[str], days: Iterable[DayHours]) -> Self:
        """A desk's schedule from `resolve_desk_days` output."""
        return cls(desk_id, frozenset(languages), {day.date: day.intervals for day in days})


class BusyPeriod(msgspec.Struct, frozen=True):
    """An active visit at a desk, as half-open [start, end): back-to-back visits do not clash."""

    desk_id: str
    start: dt.datetime
    end: dt.datetime
    #: it fills the public's part of the capacity (a visit booked online, or a place held back
    #: after a late cancellation), not the places kept for staff (scheduling/capacity.py)
    public: bool = True

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ValueError("A busy period needs time-zone-aware start and end.")


class SlotQuery(msgspec.Struct, frozen=True, kw_only=True):
    timezone: str
    duration: dt.timedelta
    step: dt.timedelta
    language: str
    now: dt.datetime
    min_notice: dt.timedelta = dt.timedelta(0)
    horizon: dt.timedelta = dt.timedelta(days=60)
    first_day: dt.date
    last_day: dt.date

    def __post_init__(self) -> None:
        if self.duration <= dt.timedelta(0) or self.step <= dt.timedelta(0):
            raise ValueError("A slot query needs a positive duration and step.")
        if self.min_notice < dt.timedelta(0) or self.horizon < dt.timedelta(0):
            raise ValueError("A slot query's minimum notice and horizon may not be negative.")
        if self.now.utcoffset() is None:
            raise ValueError("A slot query's `now` must be time-zone-aware.")


class Slot(msgspec.Struct, frozen=True, gc=False):
    """A bookable [start, end) in UTC; gc=False since thousands are built per query, none cyclic."""

    start: dt.datetime
    end: dt.datetime
    free: int
    desk_ids: tuple[str, ...]


class DaySlots(msgspec.Struct, frozen=True, gc=False):
    date: dt.date
    slots: tuple[Slot, ...]


def _us(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _US


def _midnight_us(day: dt.date) -> int:
    return (day.toordinal() - _EPOCH_ORDINAL) * 86_400_000_000


def _time_us(moment: dt.time) -> int:
    return (
        (moment.hour * 60 + moment.minute) * 60 + moment.second
    ) * 1_000_000 + moment.microsecond


def _wall_instants(wall: dt.datetime, zone: dt.tzinfo) -> tuple[int, ...]:
    """The instants (µs since the epoch) at which a local clock shows `wall`, in order:
    none in a DST gap, two in a fold (PEP 495), otherwise one."""
    found: list[int] = []
    for fold in (0, 1):
        aware = wall.replace(tzinfo=zone, fold=fold)
        instant = _us(aware)
        if (
            instant not in found
            and aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
        ):
            found.append(instant)
    return tuple(sorted(found))


def _gap_end(wall: dt.datetime, zone: dt.tzinfo) -> int:
    """The instant a DST gap containing `wall` ends: the first one whose wall time is past it."""
    low, high = sorted(_us(wall.replace(tzinfo=zone, fold=fold)) for fold in (0, 1))
    while high - low > 1:
        middle = (low + high) // 2
        if (_EPOCH + middle * _US).astimezone(zone).replace(tzinfo=None) < wall:
            low = middle
        else:
            high = middle
    return high


def _interval_instants(day: dt.date, interval: LocalInterval, zone: dt.tzinfo) -> tuple[int, int]:
    """The real range [from, to) of a wall-clock interval on `day`, in µs since the epoch.

    It opens at the first instant the clock shows `opens` and closes at the last instant it shows
    `closes`; an end inside a DST gap becomes the moment the gap ends. Across a fold the range
    is the hull, so a day 00:00-06:00 lasts seven real hours in autumn and five in spring.
    """
    opens, closes = (
        dt.datetime.combine(day, moment) for moment in (interval.opens, interval.closes)
    )
    opening, closing = _wall_instants(opens, zone), _wall_instants(closes, zone)
    return (
        opening[0] if opening else _gap_end(opens, zone),
        closing[-1] if closing else _gap_end(closes, zone),
    )


@functools.lru_cache(maxsize=4096)
def _fixed_offset(day: dt.date, zone: dt.tzinfo) -> int | None:
    """The day's UTC offset in µs if it holds all day, None on a day with a DST change."""
    midnights = (
        dt.datetime.combine(day, dt.time.min),
        dt.datetime.combine(day + _DAY, dt.time.min),
    )
    offsets = {
        zone.utcoffset(midnight.replace(fold=fold)) for midnight in midnights for fold in (0, 1)
    }
    return next(iter(offsets)) // _US if len(offsets) == 1 else None  # type: ignore[operator]


class _Desk:
    """One desk's active visits, merged and sorted, for overlap checks by bisection."""

    def __init__(self, periods: Iterable[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for start, end in sorted(periods):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            elif start < end:
                merged.append([start, end])
        self.starts = [start for start, _ in merged]
        self.ends = [end for _, end in merged]

    def is_free(self, start: int, end: int) -> bool:
        index = bisect.bisect_right(self.ends, start)
        return index == len(self.starts) or self.starts[index] >= end

    def free_windows(self, low: int, high: int) -> Iterable[tuple[int, int]]:
        """The parts of [low, high) no visit covers."""
        cursor = low
        index = bisect.bisect_right(self.ends, low)
        while index < len(self.starts) and self.starts[index] < high:
            if self.starts[index] > cursor:
                yield cursor, self.starts[index]
            cursor = max(cursor, self.ends[index])
            index += 1
        if cursor < high:
            yield cursor, high


def _steady_starts(
    anchor: int, window: tuple[int, int], query_range: tuple[int, int], length: int, step: int
) -> range:
    """Grid starts `anchor + k*step` whose slot fits the free window and the allowed range."""
    low, high = max(window[0], query_range[0]), min(window[1] - length, query_range[1])
    if low > high:
        return range(0)
    first = anchor + -(-(low - anchor) // step) * step
    return range(first, high + 1, step)


def compute_slots(
    desks: Sequence[DeskSchedule], busy: Sequence[BusyPeriod], query: SlotQuery
) -> list[DaySlots]:
    """Per local date in [first_day, last_day], the slots at least one suitable desk could take."""
    try:
        zone = zoneinfo.ZoneInfo(query.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"Unknown time zone {query.timezone!r}.") from e
    if len({desk.desk_id for desk in desks}) != len(desks):
        raise ValueError("Each desk may appear only once in a slot query.")
    # A slot's local date is never before that of its earliest allowed start, nor after the last.
    first_day = max(query.first_day, (query.now + query.min_notice).astimezone(zone).date())
    last_day = min(query.last_day, (query.now + query.horizon).astimezone(zone).date())
    days = [first_day + number * _DAY for number in range((last_day - first_day).days + 1)]
    visits: dict[str, list[tuple[int, int]]] = {}
    for period in busy:
        visits.setdefault(period.desk_id, []).append((_us(period.start), _us(period.end)))
    per_desk = [
        (desk.desk_id, _desk_starts(desk, _Desk(visits.get(desk.desk_id, ())), days, zone, query))
        for desk in sorted(desks, key=lambda desk: desk.desk_id)
        if query.language in desk.languages
    ]
    span = (query.last_day - query.first_day).days + 1
    return [
        _day_slots(
            day, [(desk_id, starts[day]) for desk_id, starts in per_desk if day in starts], query
        )
        for day in (query.first_day + number * _DAY for number in range(span))
    ]


def _desk_starts(
    desk: DeskSchedule, taken: _Desk, days: list[dt.date], zone: dt.tzinfo, query: SlotQuery
) -> dict[dt.date, list[int]]:
    """The desk's slot starts per local date; a grid starts at each interval's opening time."""
    allowed = (_us(query.now + query.min_notice), _us(query.now + query.horizon))
    length, step = query.duration // _US, query.step // _US
    found: dict[dt.date, list[int]] = {}
    for day in days:
        intervals = desk.days.get(day)
        if not intervals:
            continue
        starts = found[day] = []
        offset = _fixed_offset(day, zone)
        midnight = 0 if offset is None else _midnight_us(day) - offset
        for interval in intervals:
            if offset is None:
                starts.extend(_transition_day_starts(day, interval, zone, query, allowed, taken))
                continue
            opening = midnight + _time_us(interval.opens)
            closing = midnight + _time_us(interval.closes)
            for window in taken.free_windows(opening, closing):
                starts.extend(_steady_starts(opening, window, allowed, length, step))
    return found


def _transition_day_starts(
    day: dt.date,
    interval: LocalInterval,
    zone: dt.tzinfo,
    query: SlotQuery,
    allowed: tuple[int, int],
    taken: _Desk,
) -> Iterable[int]:
    """On a DST change day each grid wall time is converted alone: none in a gap, two in a fold."""
    opening, closing = _interval_instants(day, interval, zone)
    length = query.duration // _US
    wall = dt.datetime.combine(day, interval.opens)
    closes = dt.datetime.combine(day, interval.closes)
    while wall < closes:
        for start in _wall_instants(wall, zone):
            end = start + length
            if (
                opening <= start
                and end <= closing
                and allowed[0] <= start <= allowed[1]
                and taken.is_free(start, end)
            ):
                yield start
        wall += query.step


def _day_slots(
    day: dt.date, desk_starts: list[tuple[str, list[int]]], query: SlotQuery
) -> DaySlots:
    """Merge the desks' starts of one day: a slot's free places are the desks that can take it."""
    if not desk_starts:
        return DaySlots(day, ())
    sets = [(desk_id, set(starts)) for desk_id, starts in desk_starts]
    common = set.intersection(*(starts for _, starts in sets))
    owners = dict.fromkeys(common, tuple(desk_id for desk_id, _ in sets))
    for desk_id, starts in sets:  # desks in id order, so every tuple of desk ids is sorted
        alone = (desk_id,)
        for start in starts - common:
            owners[start] = owners.get(start, ()) + alone
    step, step_delta, duration = query.step // _US, query.step, query.duration
    slots = []
    previous, moment = 0, _EPOCH
    for start, desk_ids in sorted(owners.items()):
        # Most starts are one step after the previous: adding a ready timedelta is cheap.
        moment += step_delta if start - previous == step else (start - previous) * _US
        previous = start
        slots.append(Slot(moment, moment + duration, len(desk_ids), desk_ids))
    return DaySlots(day, tuple(slots))
