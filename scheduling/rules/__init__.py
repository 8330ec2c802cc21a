"""Calendar rules of a point or desk, and their resolution into opening hours per local date.

A rule recurs by an RFC 5545 RRULE (§3.3.10) and/or explicit dates (RDATE-like, §3.8.5.2) and
carries wall-clock times in the point's zone. `resolve_days` and `resolve_desk_days` apply the
precedence of DESIGN.md ("The domain", steps 1-6). Pure: no I/O, no clock.
"""

from scheduling.rules.model import (
    DEFAULT_ANCHOR,
    LANGUAGES,
    CalendarRule,
    DayHours,
    LocalInterval,
    Reason,
    RuleError,
    RuleKind,
    RuleNeverOccurs,
)
from scheduling.rules.public_holidays import polish_holiday_labels, polish_holidays
from scheduling.rules.recurrence import rule_occurrences, validate_rule
from scheduling.rules.resolution import resolve_days, resolve_desk_days
from scheduling.rules.wall_clock import NonexistentTime, check_wall_clock, real_span

__all__ = [
    "DEFAULT_ANCHOR",
    "LANGUAGES",
    "CalendarRule",
    "DayHours",
    "LocalInterval",
    "NonexistentTime",
    "Reason",
    "RuleError",
    "RuleKind",
    "RuleNeverOccurs",
    "check_wall_clock",
    "polish_holiday_labels",
    "polish_holidays",
    "real_span",
    "resolve_days",
    "resolve_desk_days",
    "rule_occurrences",
    "validate_rule",
]
