"""What the scheduling API returns: frozen Structs, one per resource."""

from __future__ import annotations

import datetime
from typing import Any

import msgspec

Labels = dict[str, str]

#: The languages a visit may be held in: four spoken, three sign languages (PJM: Polish,
#: UKL: Ukrainian, RSL: Russian). The bookings table checks the same list (migrations/0003).
LANGUAGES = ("pl", "en", "uk", "ru", "pjm", "ukl", "rsl")


class Point(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    names: Labels
    department: Labels
    address: dict[str, Any]
    city: str
    timezone: str
    phones: list[str]
    emails: list[str]
    languages: list[str]
    observes_holidays: bool
    release_time: datetime.time | None = None  # new days are published at this local time...
    release_days_ahead: int | None = None  # ...this many days ahead
    draw_minutes: int = 5  # requests this soon after a release are drawn by lot


class PointService(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    names: Labels
    descriptions: Labels
    what_to_bring: Labels | None
    duration_minutes: int
    step_minutes: int
    languages: list[str]
    min_notice_minutes: int
    horizon_days: int
    per_person_limit: int
    # Fair rules against slot trading (booking/fair.py): online changes close this many
    # minutes before the visit; moves per visit (None: no limit); a cancellation this close to
    # the visit is late, and the place it frees returns to public booking only after the delay.
    change_cutoff_minutes: int = 0
    max_moves: int | None = None
    late_cancel_minutes: int = 1440
    release_delay_minutes: int = 0
