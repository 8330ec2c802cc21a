"""A visit as the domain sees it, and a visit about to be held.

`HeldVisit` is the one description of a new held visit, whoever asks for it (a visitor's
booking, a draw's allotment, a waitlist offer): `hold_visit` builds it and mints its secrets,
and booking/store.py's `insert_held` is the one insert of a visit. The hold's length is the
caller's (HOLD_MINUTES for a booking and a draw, a shorter one for a waitlist offer) and is
written down where each chooses it.
"""

from __future__ import annotations

import datetime as dt
import secrets as random_secrets
from uuid import UUID

import msgspec

from booking.domain.lifecycle import Status
from booking.secrets import email_key, new_token, token_hash

#: The need a visitor may ask for that decides their desk: a desk says whether it is reachable
#: without stairs (desks.step_free), and such a visit goes only where it is, or may be.
STEP_FREE_ACCESS = "step-free-access"


class Visitor(msgspec.Struct, frozen=True):
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
    visitor: Visitor
    notes: str | None
    needs: list[str]
    sequence: int
    expires_at: dt.datetime | None
    #: how the visit happens: on_site, phone (the consultant calls visitor.phone) or video
    channel: str = "on_site"
    party_size: int = 1
    #: the visit's further matters; service_id is its first
    extra_services: list[str] = []
    #: a video visit's room
    video_url: str | None = None
    mail_language: str | None = None
    """The language of the visit's e-mails when the visitor chose one (pl, en, uk, ru); None:
    the visit's own written language."""
    notify_by: list[str] = msgspec.field(default_factory=lambda: ["email"])
    """How the visitor is told about the visit: "email", "sms" or both."""


class VisitCreated(Visit, frozen=True, kw_only=True):
    """A visit with its manage token: shown once, to the one who holds or first confirms it."""

    manage_token: str


class HeldVisit(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the store needs to insert a held visit (all but its desk and reference)."""

    point_id: str
    service_id: str
    start: dt.datetime
    end: dt.datetime
    language: str
    visitor: Visitor
    notes: str | None = None
    needs: tuple[str, ...] = ()
    hold_expires_at: dt.datetime
    manage_token_hash: bytes
    #: False when the visitor gets the manage token only on confirming (a draw win or a
    #: waitlist offer: their mail carries the confirmation link, not the manage link)
    manage_token_issued: bool
    confirm_token_hash: bytes
    waitlist_id: UUID | None = None
    channel: str = "on_site"
    party_size: int = 1
    extra_services: tuple[str, ...] = ()
    video_url: str | None = None
    mail_language: str | None = None
    notify_by: tuple[str, ...] = ("email",)
    #: "visitor" online, or "staff" for a visitor who phoned, wrote or walked in
    #: (booking/staff_booking.py): their visits may use the capacity kept for staff
    booked_by: str = "visitor"

    @property
    def email_key(self) -> str | None:
        return email_key(self.visitor.email) if self.visitor.email else None

    @property
    def needs_step_free(self) -> bool:
        return STEP_FREE_ACCESS in self.needs


class HoldSecrets(msgspec.Struct, frozen=True):
    manage_token: str
    confirm_token: str


def hold_visit(
    *,
    point_id: str,
    service_id: str,
    start: dt.datetime,
    end: dt.datetime,
    language: str,
    visitor: Visitor,
    now: dt.datetime,
    hold: dt.timedelta,
    notes: str | None = None,
    needs: tuple[str, ...] = (),
    manage_token_issued: bool = True,
    waitlist_id: UUID | None = None,
    channel: str = "on_site",
    party_size: int = 1,
    extra_services: tuple[str, ...] = (),
    video_template: str | None = None,
    mail_language: str | None = None,
    notify_by: tuple[str, ...] = ("email",),
    booked_by: str = "visitor",
) -> tuple[HeldVisit, HoldSecrets]:
    """A visit to hold from `now` for `hold`, with fresh secrets (shown once, stored hashed)."""
    secrets = HoldSecrets(new_token(), new_token())
    held = HeldVisit(
        point_id=point_id,
        service_id=service_id,
        start=start,
        end=end,
        language=language,
        visitor=visitor,
        notes=notes,
        needs=needs,
        hold_expires_at=now + hold,
        manage_token_hash=token_hash(secrets.manage_token),
        manage_token_issued=manage_token_issued,
        confirm_token_hash=token_hash(secrets.confirm_token),
        waitlist_id=waitlist_id,
        channel=channel,
        party_size=party_size,
        extra_services=extra_services,
        video_url=video_room(video_template) if channel == "video" else None,
        mail_language=mail_language,
        notify_by=notify_by,
        booked_by=booked_by,
    )
    return held, secrets


def video_room(template: str | None) -> str:
    """A new video room: the template (VIDEO_URL_TEMPLATE, or the point's own) with a room
    name of 128 random bits, so nobody finds a visit's room by trying names."""
    if template is None or "{room}" not in template:
        raise ValueError("A video visit needs a room template with {room}.")
    return template.replace("{room}", random_secrets.token_urlsafe(16))


def created(visit: Visit, manage_token: str) -> VisitCreated:
    return VisitCreated(**msgspec.structs.asdict(visit), manage_token=manage_token)


__all__ = ["HeldVisit", "HoldSecrets", "Status", "Visit", "VisitCreated", "Visitor", "hold_visit"]
