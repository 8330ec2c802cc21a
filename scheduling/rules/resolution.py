"""Resolution of calendar rules into hours per local date: DESIGN.md precedence steps 1-6."""

import datetime as dt
from collections.abc import Iterable, Sequence

from scheduling.rules.model import (
    CalendarRule,
    DayHours,
    LocalInterval,
    Reason,
    RuleError,
    RuleKind,
)
from scheduling.rules.public_holidays import polish_holiday_labels
from scheduling.rules.recurrence import check_rule_shape, rule_occurrences

_Span = tuple[dt.time, dt.time]


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
        check_rule_shape(rule)  # a rule that skipped validation fails here, not as a TypeError
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
