"""What the scheduling API returns: frozen Structs, one per resource."""

from __future__ import annotations

from typing import Any

import msgspec

Labels = dict[str, str]


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
