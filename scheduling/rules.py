"""Calendar rules of a point or desk, and their resolution into opening hours per local date.

A rule recurs by an RFC 5545 RRULE (§3.3.10) and/or explicit dates (RDATE-like, §3.8.5.2) and
carries wall-clock times in the point's zone. `resolve_days` and `resolve_desk_days` apply the
precedence of DESIGN.md ("The domain", steps 1-6). Pure: no I/O, no clock.
"""

import datetime as dt
import enum
import functools
import warnings
from collections.abc import Iterable, Sequence

import holidays
import msgspec
from dateutil.rrule import rrulestr

DEFAULT_ANCHOR = dt.date(2000, 1, 3)  # a Monday: the RRULE anchor of a rule without valid_from
LANGUAGES = ("pl", "en", "uk", "ru")
_OPEN_ENDED_CHECK = dt.timedelta(days=5 * 366)
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_Span = tuple[dt.time, dt.time]


class RuleKind(enum.StrEnum):
    HOURS = "hours"
    SPECIAL = "special"
    CLOSED = "closed"


class CalendarRule(msgspec.Struct, frozen=True, kw_only=True):
    """One fact about when a point (or one desk, when `desk_id` is set) is open or closed."""

    id: str
    kind: RuleKind
    rrule: str | None = None
    dates: tuple[dt.date, ...] = ()
    opens: dt.time | None = None
    closes: dt.time | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    labels: dict[str, str] = {}
    desk_id: str | None = None
    source: str | None = None

    @property
    def is_whole_day(self) -> bool:
        return self.opens is None and self.closes is None

    @property
    def anchor(self) -> dt.date:
        """The RRULE's DTSTART (RFC 5545 §3.8.5.3): INTERVAL and COUNT count from here."""
        return self.valid_from or DEFAULT_ANCHOR


class RuleError(ValueError):
    """A calendar rule that cannot be used; the message says why, as a sentence."""


class LocalInterval(msgspec.Struct, frozen=True):
    opens: dt.time
    closes: dt.time

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ValueError(
                f"An interval must open before it closes, not {self.opens}-{self.closes}."
            )


class Reason(msgspec.Struct, frozen=True):
    kind: str  # "holiday" | "special" | "closure"
    label: dict[str, str]


class DayHours(msgspec.Struct, frozen=True):
    date: dt.date
    intervals: tuple[LocalInterval, ...]
    reasons: tuple[Reason, ...] = ()

    @property
    def status(self) -> str:
        return "open" if self.intervals else "closed"


# --- recurrence -------------------------------------------------------------------------------


def _rule_parts(value: str) -> dict[str, str]:
    """Split an RRULE value into parts; reject what RFC 5545 §3.3.10 or this domain forbid."""
    if not value.strip():
        raise RuleError("The recurrence rule is empty.")
    if any(char in value for char in ":\r\n"):
        raise RuleError(
            "The recurrence rule must be a bare RRULE value such as FREQ=WEEKLY;BYDAY=MO, without "
            "'RRULE:' or a DTSTART line: the rule starts on its valid_from date."
        )
    parts: dict[str, str] = {}
    for part in filter(None, value.strip().upper().split(";")):
        name, _, text = part.partition("=")
        if not name or not text:
            raise RuleError(f"The recurrence rule part {part!r} is not of the form NAME=VALUE.")
        if name in parts:
            raise RuleError(f"The recurrence rule gives {name} twice; each part may appear once.")
        parts[name] = text
    freq = parts.get("FREQ")
    if freq in ("HOURLY", "MINUTELY", "SECONDLY"):
        raise RuleError(
            f"The recurrence rule repeats {freq}; a rule picks days (DAILY at the finest) and "
            "its opens/closes give the times."
        )
    if freq not in _FREQUENCIES:
        raise RuleError("The recurrence rule needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY.")
    if {"BYHOUR", "BYMINUTE", "BYSECOND"} & parts.keys():
        raise RuleError(
            "The recurrence rule may not set BYHOUR/BYMINUTE/BYSECOND; use opens/closes."
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("The recurrence rule may give COUNT or UNTIL, not both (RFC 5545 §3.3.10).")
    if parts.get("UNTIL", "").endswith("Z"):
        raise RuleError(
            "The recurrence rule's UNTIL must be a local date such as 20261231, not a UTC time: "
            "the rule's days are local dates (RFC 5545 §3.3.10)."
        )
    for name in ("INTERVAL", "COUNT"):
        if name in parts and not (parts[name].isdigit() and int(parts[name]) > 0):
            raise RuleError(f"The recurrence rule's {name} must be a positive whole number.")
    return parts


@functools.lru_cache(maxsize=1024)
def _parse(value: str, anchor: dt.date):  # -> dateutil.rrule.rrule
    _rule_parts(value)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return rrulestr(value, dtstart=dt.datetime.combine(anchor, dt.time.min))
    except Exception as e:  # dateutil raises ValueError, KeyError, TypeError... for bad input
        raise RuleError(f"The recurrence rule {value!r} is malformed: {e}.") from e


def _fast_forward(parts: dict[str, str], anchor: dt.date, first: dt.date) -> dt.date:
    """Move DTSTART forward by whole INTERVAL periods to just before `first`.

    dateutil walks every period from DTSTART, so a rule anchored in 2000 would cost milliseconds.
    Whole periods keep the occurrence set from `first` on unchanged (§3.3.10: INTERVAL counts
    periods from DTSTART; default BYDAY/BYMONTHDAY come from DTSTART and survive the shift).
    COUNT counts occurrences from the true DTSTART, so such rules are not moved.
    """
    if "COUNT" in parts or first <= anchor:
        return anchor
    interval = int(parts.get("INTERVAL", "1"))
    if parts["FREQ"] in ("DAILY", "WEEKLY"):
        period = interval * (7 if parts["FREQ"] == "WEEKLY" else 1)
        return anchor + dt.timedelta(days=(first - anchor).days // period * period)
    if parts["FREQ"] == "MONTHLY" and anchor.day <= 28:
        months = (first.year - anchor.year) * 12 + first.month - anchor.month
        months = months // interval * interval
        if first.day < anchor.day:
            months -= interval
        if months > 0:
            total = anchor.month - 1 + months
            return anchor.replace(year=anchor.year + total // 12, month=total % 12 + 1)
    return anchor


@functools.lru_cache(maxsize=4096)
def _rrule_dates(value: str, anchor: dt.date, first: dt.date, last: dt.date) -> frozenset[dt.date]:
    recurrence = _parse(value, _fast_forward(_rule_parts(value), anchor, first))
    found = recurrence.between(
        dt.datetime.combine(first, dt.time.min), dt.datetime.combine(last, dt.time.max), inc=True
    )
    return frozenset(moment.date() for moment in found)


def rule_occurrences(rule: CalendarRule, first: dt.date, last: dt.date) -> frozenset[dt.date]:
    """The dates in [first, last] on which `rule` occurs (its dates and RRULE, within validity).

    Unlike RFC 5545 §3.8.5.3, the anchor is not itself an occurrence unless the RRULE matches it:
    valid_from says when a rule starts to apply, not that the point opens that day.
    """
    lo = max(first, rule.valid_from) if rule.valid_from else first
    hi = min(last, rule.valid_until) if rule.valid_until else last
    if lo > hi:
        return frozenset()
    explicit = {day for day in rule.dates if lo <= day <= hi}
    if rule.rrule is None:
        return frozenset(explicit)
    return _rrule_dates(rule.rrule, rule.anchor, lo, hi) | explicit


def validate_rule(rule: CalendarRule) -> None:
    """Raise RuleError, with a sentence a member of staff can act on, if `rule` is unusable."""
    if rule.rrule is None and not rule.dates:
        raise RuleError("The rule needs a recurrence (rrule) or at least one date.")
    if (rule.opens is None) != (rule.closes is None):
        raise RuleError("The rule needs both opening and closing times, or neither.")
    if rule.is_whole_day and rule.kind != RuleKind.CLOSED:
        raise RuleError(f"A {rule.kind} rule needs opening and closing times.")
    if rule.opens is not None and rule.closes is not None and rule.opens >= rule.closes:
        raise RuleError(
            f"The rule opens at {rule.opens:%H:%M}, not before it closes at {rule.closes:%H:%M}."
        )
    if rule.valid_from and rule.valid_until and rule.valid_until < rule.valid_from:
        raise RuleError(
            f"The rule is valid until {rule.valid_until}, before it starts on {rule.valid_from}."
        )
    recurrence = None if rule.rrule is None else _parse(rule.rrule, rule.anchor)
    inside = (rule.valid_from or dt.date.min, rule.valid_until or dt.date.max)
    if any(inside[0] <= day <= inside[1] for day in rule.dates):
        return
    if recurrence is not None:
        lo = rule.anchor
        hi = rule.valid_until or lo + _OPEN_ENDED_CHECK
        following = recurrence.after(dt.datetime.combine(lo, dt.time.min), inc=True)
        if following is not None and following.date() <= hi:
            return
        raise RuleError(f"The rule never occurs between {lo} and {hi}.")
    raise RuleError("None of the rule's dates lies within its validity range.")


# --- holidays ---------------------------------------------------------------------------------

_HOLIDAY_LANGUAGE = {"pl": "pl", "en": "en_US", "uk": "uk", "ru": "en_US"}  # no Russian names


@functools.lru_cache(maxsize=64)
def _holiday_names(year: int, language: str) -> dict[dt.date, str]:
    if language not in holidays.Poland.supported_languages:
        language = "en_US"
    return dict(holidays.Poland(years=year, language=language))


def polish_holiday_labels(start: dt.date, end: dt.date) -> dict[dt.date, dict[str, str]]:
    """Polish public holidays in [start, end] with their names in pl/en/uk (ru falls back to en)."""
    labels: dict[dt.date, dict[str, str]] = {}
    for year in range(start.year, end.year + 1):
        for day in _holiday_names(year, "pl"):
            if start <= day <= end:
                labels[day] = {
                    lang: _holiday_names(year, _HOLIDAY_LANGUAGE[lang])[day] for lang in LANGUAGES
                }
    return labels


def polish_holidays(start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """Polish public holidays in [start, end] with their Polish names."""
    return {day: label["pl"] for day, label in polish_holiday_labels(start, end).items()}


# --- resolution -------------------------------------------------------------------------------


def _union(spans: Iterable[_Span]) -> list[_Span]:
    merged: list[_Span] = []
    for opens, closes in sorted(spans):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def _intersect(left: list[_Span], right: list[_Span]) -> list[_Span]:
    return [(max(a, c), min(b, d)) for a, b in left for c, d in right if max(a, c) < min(b, d)]


def _cut(spans: list[_Span], hole: _Span) -> list[_Span]:
    kept: list[_Span] = []
    for opens, closes in spans:
        kept.extend(
            span
            for span in ((opens, min(closes, hole[0])), (max(opens, hole[1]), closes))
            if span[0] < span[1]
        )
    return kept


def _times(rules: Iterable[CalendarRule]) -> list[_Span]:
    return _union((rule.opens, rule.closes) for rule in rules)  # type: ignore[misc]


def _reason(kind: str, rule: CalendarRule) -> Reason:
    return Reason(kind, dict(rule.labels))


def _occurring(
    rules: Sequence[CalendarRule], first: dt.date, last: dt.date
) -> dict[dt.date, list[CalendarRule]]:
    """Each date's occurring rules; every rule's occurrences are computed once for the range."""
    by_date: dict[dt.date, list[CalendarRule]] = {}
    for rule in sorted(rules, key=lambda rule: rule.id):
        for day in rule_occurrences(rule, first, last):
            by_date.setdefault(day, []).append(rule)
    return by_date


def _apply_timed_closures(
    spans: list[_Span], rules: list[CalendarRule], reasons: list[Reason]
) -> list[_Span]:
    """Step 5: closures with times cut holes; only one that removed something is a reason."""
    for rule in rules:
        if rule.kind == RuleKind.CLOSED and not rule.is_whole_day:
            cut = _cut(spans, (rule.opens, rule.closes))  # type: ignore[arg-type]
            if cut != spans:
                reasons.append(_reason("closure", rule))
            spans = cut
    return spans


def _day(date: dt.date, spans: list[_Span], reasons: Iterable[Reason]) -> DayHours:
    return DayHours(date, tuple(LocalInterval(*span) for span in spans), tuple(reasons))


def resolve_days(
    rules: Sequence[CalendarRule], start: dt.date, end: dt.date, *, observes_holidays: bool = True
) -> list[DayHours]:
    """A point's hours for each date in [start, end] by precedence steps 1-5; desk rules ignored."""
    occurring = _occurring([rule for rule in rules if rule.desk_id is None], start, end)
    holiday = polish_holiday_labels(start, end) if observes_holidays else {}
    days: list[DayHours] = []
    for offset in range((end - start).days + 1):
        date = start + dt.timedelta(days=offset)
        today = occurring.get(date, [])
        closures = [rule for rule in today if rule.kind == RuleKind.CLOSED and rule.is_whole_day]
        specials = [rule for rule in today if rule.kind == RuleKind.SPECIAL]
        if closures:
            days.append(_day(date, [], (_reason("closure", rule) for rule in closures)))
        elif not specials and date in holiday:
            days.append(_day(date, [], [Reason("holiday", dict(holiday[date]))]))
        else:
            reasons = [_reason("special", rule) for rule in specials]
            spans = _times(specials or [rule for rule in today if rule.kind == RuleKind.HOURS])
            days.append(_day(date, _apply_timed_closures(spans, today, reasons), reasons))
    return days


def _in_validity(rule: CalendarRule, date: dt.date) -> bool:
    return (rule.valid_from or date) <= date <= (rule.valid_until or date)


def resolve_desk_days(
    point_days: Sequence[DayHours], desk_rules: Sequence[CalendarRule]
) -> list[DayHours]:
    """Step 6: one desk's hours, never wider than the point's.

    The point's intervals are narrowed by the desk's `special` rules occurring that day, else by
    its `hours` rules occurring that day if any of them is valid that day (an interpreter's hours),
    then cut by the desk's `closed` rules. Point-scope rules in `desk_rules` are ignored.
    """
    rules = [rule for rule in desk_rules if rule.desk_id is not None]
    if len({rule.desk_id for rule in rules}) > 1:
        raise RuleError("The rules given for one desk belong to several desks.")
    if not point_days:
        return []
    first = min(day.date for day in point_days)
    occurring = _occurring(rules, first, max(day.date for day in point_days))
    hours = [rule for rule in rules if rule.kind == RuleKind.HOURS]
    days: list[DayHours] = []
    for point_day in point_days:
        today = occurring.get(point_day.date, [])
        reasons = list(point_day.reasons)
        closures = [rule for rule in today if rule.kind == RuleKind.CLOSED and rule.is_whole_day]
        if closures:
            days.append(
                _day(point_day.date, [], reasons + [_reason("closure", rule) for rule in closures])
            )
            continue
        spans = [(interval.opens, interval.closes) for interval in point_day.intervals]
        specials = [rule for rule in today if rule.kind == RuleKind.SPECIAL]
        if specials:
            spans = _intersect(spans, _times(specials))
        elif any(_in_validity(rule, point_day.date) for rule in hours):
            spans = _intersect(spans, _times(rule for rule in today if rule.kind == RuleKind.HOURS))
        days.append(_day(point_day.date, _apply_timed_closures(spans, today, reasons), reasons))
    return days
