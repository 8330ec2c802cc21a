"""What the booking API accepts and returns."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import Meta

Name = Annotated[str, Meta(min_length=1, max_length=200)]
EmailText = Annotated[str, Meta(min_length=3, max_length=254)]
Phone = Annotated[str, Meta(pattern=r"^\+?[0-9][0-9 ()-]{5,30}$")]
Need = Annotated[str, Meta(min_length=1, max_length=100)]
Slug = Annotated[str, Meta(min_length=1, max_length=100)]
Language = Annotated[str, Meta(min_length=2, max_length=3)]
Start = Annotated[str, Meta(min_length=16, max_length=40, description="RFC 3339, or local time")]


class VisitorIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name
    email: EmailText
    phone: Phone | None = None


class BookingCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    point_id: Slug
    service_id: Slug
    start: Start
    language: Language
    visitor: VisitorIn
    notes: Annotated[str, Meta(max_length=2000)] | None = None
    needs: Annotated[list[Need], Meta(max_length=5)] = []


class ConfirmIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    token: Annotated[str, Meta(min_length=1, max_length=200)]


class RescheduleIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    start: Start


class VisitorOut(msgspec.Struct, frozen=True):
    name: str | None
    email: str | None
    phone: str | None


class Visit(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    status: str
    point_id: str
    service_id: str
    desk_id: str
    start: dt.datetime
    end: dt.datetime
    timezone: str
    language: str
    visitor: VisitorOut
    notes: str | None
    needs: list[str]
    sequence: int
    expires_at: dt.datetime | None


class VisitCreated(Visit, frozen=True, kw_only=True):
    manage_token: str
