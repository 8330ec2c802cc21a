"""When a calendar rule occurs: RFC 5545 RRULE (§3.3.10) and explicit dates (RDATE-like, §3.8.5.2).

A rule's RRULE is anchored at its valid_from date (its DTSTART, §3.8.5.3). Parsed rules and
occurrence sets are cached, and anchors are moved forward by whole periods, so resolving a range
never walks every period since the anchor.
"""

import datetime as dt
import functools
import re
import warnings

from dateutil.rrule import rrulestr

from scheduling.rules.model import CalendarRule, RuleError, RuleKind, RuleNeverOccurs

_OPEN_ENDED_CHECK = dt.timedelta(days=5 * 366)
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


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
    if "UNTIL" in parts and not re.fullmatch(r"\d{8}(T\d{6})?", parts["UNTIL"]):
        raise RuleError("The recurrence rule's UNTIL must be a date such as 20261231.")
    _check_numbers(parts)
    return parts


# RFC 5545 §3.3.10 ranges; dateutil silently reads BYMONTHDAY=0 as "every day".
_NUMBER_RANGES = {
    "BYMONTH": (12, False),
    "BYMONTHDAY": (31, True),
    "BYYEARDAY": (366, True),
    "BYWEEKNO": (53, True),
    "BYSETPOS": (366, True),
}


def _check_numbers(parts: dict[str, str]) -> None:
    for name, (highest, signed) in _NUMBER_RANGES.items():
        for item in parts[name].split(",") if name in parts else ():
            if not re.fullmatch(r"[+-]?\d{1,3}", item) or not (
                1 <= abs(int(item)) <= highest and (signed or int(item) > 0)
            ):
                sign = "+/-" if signed else ""
                raise RuleError(
                    f"The recurrence rule's {name} takes {sign}1 to {highest}, not {item}."
                )
    for item in parts["BYDAY"].split(",") if "BYDAY" in parts else ():
        found = re.fullmatch(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)", item)
        if found is None:
            raise RuleError(
                f"The recurrence rule's BYDAY has {item!r}, not a day such as MO or 1SA."
            )
        if found[1] and (
            parts["FREQ"] not in ("MONTHLY", "YEARLY") or not 1 <= abs(int(found[1])) <= 53
        ):
            raise RuleError(
                f"The recurrence rule's BYDAY {item} numbers a day outside a month or year."
            )


@functools.lru_cache(maxsize=1024)
def _parse(value: str, anchor: dt.date):  # -> dateutil.rrule.rrule
    canonical = ";".join(f"{name}={text}" for name, text in _rule_parts(value).items())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return rrulestr(canonical, dtstart=dt.datetime.combine(anchor, dt.time.min))
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
    check_rule_shape(rule)
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
        if rule.valid_until is None:
            raise RuleNeverOccurs(f"The rule never occurs in the five years from {lo}.")
        raise RuleNeverOccurs(f"The rule never occurs between {lo} and {hi}.")
    raise RuleNeverOccurs("None of the rule's dates lies within its validity range.")


def check_rule_shape(rule: CalendarRule) -> None:
    """The part of `validate_rule` that resolution relies on: dates or an RRULE, times, range."""
    if rule.rrule is None and not rule.dates:
        raise RuleError("The rule needs a recurrence (rrule) or at least one date.")
    if (rule.opens is None) != (rule.closes is None):
        raise RuleError("The rule needs both opening and closing times, or neither.")
    if rule.is_whole_day and rule.kind != RuleKind.CLOSED:
        article = "A special" if rule.kind == RuleKind.SPECIAL else "An hours"
        raise RuleError(f"{article} rule needs opening and closing times.")
    if rule.opens is not None and rule.closes is not None and rule.opens >= rule.closes:
        raise RuleError(
            f"The rule opens at {rule.opens:%H:%M}, not before it closes at {rule.closes:%H:%M}."
        )
    if rule.valid_from and rule.valid_until and rule.valid_until < rule.valid_from:
        raise RuleError(
            f"The rule is valid until {rule.valid_until}, before it starts on {rule.valid_from}."
        )
