"""What the booking API accepts; what it returns is the domain's own (booking/domain/visit.py).

The pages convert their forms into these same Structs with `msgspec.convert`, so a limit
written here holds for both. Text that ends up in mails and calendar files may not carry
control characters (RFC 5545 3.3.11 allows none but HTAB; a form's line breaks are fine in
notes).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from booking.domain.visit import Visit, VisitCreated, Visitor

#: No C0 control characters, no DEL, no C1 controls (RFC 5545 3.3.11 TEXT).
_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"  # lines may break (\t \n \r)

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=_LINE)]
EmailText = Annotated[str, Meta(min_length=3, max_length=254, pattern=_LINE)]
Phone = Annotated[str, Meta(pattern=r"^\+?[0-9][0-9 ()-]{5,30}$")]
Need = Annotated[str, Meta(min_length=1, max_length=100, pattern=_LINE)]
Notes = Annotated[str, Meta(max_length=2000, pattern=_TEXT)]
Slug = Annotated[str, Meta(min_length=1, max_length=100, pattern=_LINE)]
#: For path and query parameters, which litestar constrains by its own kwargs, not by Meta.
LINE = _LINE
Language = Annotated[str, Meta(min_length=2, max_length=3)]
Start = Annotated[str, Meta(min_length=16, max_length=40, description="RFC 3339, or local time")]
VisitChannel = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=20,
        pattern=_LINE,
        description="on_site (at a desk), phone (the consultant calls visitor.phone) or video",
    ),
]
PartySize = Annotated[
    int, Meta(ge=1, le=99, description="how many people come (a family); at most the service's")
]
ExtraServices = Annotated[
    list[Slug],
    Meta(max_length=9, description="further matters dealt with in the same visit"),
]
#: How the visitor is told about the visit: e-mail, SMS (to visitor.phone, a mobile), or both.
Channel = Literal["email", "sms"]
NotifyBy = Annotated[
    list[Channel],
    Meta(min_length=1, max_length=2, description="e-mail, SMS or both; SMS needs visitor.phone"),
]


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
    notes: Notes | None = None
    needs: Annotated[list[Need], Meta(max_length=5)] = []
    channel: VisitChannel = "on_site"
    party_size: PartySize = 1
    extra_services: ExtraServices = []
    mail_language: Literal["pl", "en", "uk", "ru"] | None = None
    """The language of the visit's e-mails; by default the visit's own (a sign language's:
    its spoken one)."""
    notify_by: NotifyBy = msgspec.field(default_factory=lambda: ["email"])


class ContactIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How the visitor wants to be told from now on (the manage page)."""

    notify_by: NotifyBy
    phone: Phone | None = None


class ConfirmIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    token: Annotated[str, Meta(min_length=1, max_length=200)]


class RescheduleIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    start: Start


__all__ = [
    "BookingCreate",
    "ConfirmIn",
    "RescheduleIn",
    "Slug",
    "Visit",
    "VisitCreated",
    "Visitor",
]
