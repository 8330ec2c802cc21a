"""Staff book for a visitor who phones, writes or walks in.

The same core as a visitor's own booking: the same checks (booking/checks.py: the grid, the
hours, notice, horizon, releases, the per-person limit when there is an e-mail), the same hold
(booking/holds.py `place_hold`) and the same lifecycle: the visit is held and then confirmed at
once, in one transaction, through the store's transitions (held -> confirmed). What differs is
the capacity staff see: the internal-only desks and the places kept for staff
(scheduling/capacity.py), and places held back after a late cancellation (booking/fair.py).

The e-mail is optional. Without one nothing is mailed and a phone number is required, so the
point can reach the visitor; they leave with the reference, printed or read out, and the point's
phone number; a mobile number gets the confirmation and the reminders by SMS (notifications).
With one, they get what a visitor who confirms gets: the confirmation with its invitation and
manage link, then the reminders.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from booking import draw, idempotency, store
from booking.caller import Caller, valid_email
from booking.checks import bookable_slot, check_language, config_and_visit, parse_start
from booking.domain.errors import (
    ContactMissing,
    IdempotencyKeyMissing,
    PhoneRequired,
    SlotTaken,
)
from booking.domain.visit import Visit, Visitor, hold_visit
from booking.holds import expire_overdue, place_hold
from booking.phones import sms_number
from booking.schemas import (
    EmailText,
    ExtraServices,
    Language,
    Name,
    Need,
    Notes,
    PartySize,
    Phone,
    Slug,
    Start,
    VisitChannel,
)
from booking.visits import _confirmed_marker, confirmed_mails
from scheduling.model import PHONE


class StaffVisitorIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: Name
    email: EmailText | None = None
    """Optional: without it nothing is mailed, and `phone` is required."""
    phone: Phone | None = None


class StaffBookingIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    service_id: Slug
    start: Start
    language: Language
    visitor: StaffVisitorIn
    notes: Notes | None = None
    needs: Annotated[list[Need], Meta(max_length=5)] = []
    #: a visitor who phones may be called back: the same channels, parties and matters as a
    #: visitor's own booking (scheduling/offers.py)
    channel: VisitChannel = "on_site"
    party_size: PartySize = 1
    extra_services: ExtraServices = []


class StaffBooking(Visit, frozen=True, kw_only=True):
    """The visit booked (confirmed), with what the visitor is told in place of the mails."""

    mailed: bool
    """Whether the visitor gets the confirmation and reminders by e-mail."""
    point_phones: list[str]
    """The point's numbers: to call for a change."""


#: Writes the audit line of the booking in its transaction: (conn, point id, reference, visit).
Audited = Callable[[asyncpg.Connection, str, str, Visit], Awaitable[None]]


async def book_for_visitor(
    caller: Caller,
    point_id: str,
    data: StaffBookingIn,
    *,
    audited: Audited,
    key: str | None = None,
) -> StaffBooking:
    """Book and confirm a visit at `point_id` for a visitor staff speak with. The caller has
    checked that its staff may manage the point. With an idempotency `key` (the page sends one
    per form), the same request again gets the first answer instead of a second visit."""
    if key is not None and not 0 < len(key) <= idempotency.MAX_KEY_LENGTH:
        raise IdempotencyKeyMissing()
    email = valid_email(data.visitor.email) if data.visitor.email else None
    if email is None and not data.visitor.phone:
        raise ContactMissing()

    async def work(conn: asyncpg.Connection) -> StaffBooking:
        if key is None:
            return await _book(caller, conn, point_id, data, email, audited)
        ticket = idempotency.Ticket.of(key, StaffRequest(point_id=point_id, booking=data))
        first = await idempotency.claim(conn, ticket, kind=StaffBooking)
        if first is not None:
            return first
        booked = await _book(caller, conn, point_id, data, email, audited)
        await idempotency.record(conn, ticket, 201, booked, booked.reference)
        return booked

    return await caller.uow.atomic(work)


class StaffRequest(msgspec.Struct, frozen=True):
    """What an idempotency key stands for: this booking at this point."""

    point_id: str
    booking: StaffBookingIn


async def _book(
    caller: Caller,
    conn: asyncpg.Connection,
    point_id: str,
    data: StaffBookingIn,
    email: str | None,
    audited: Audited,
) -> StaffBooking:
    visitor = Visitor(data.visitor.name.strip(), email, data.visitor.phone)
    config, offer, services, now = await config_and_visit(
        conn,
        point_id,
        [data.service_id, *data.extra_services],
        data.channel,
        data.party_size,
    )
    point = config.point
    check_language(offer, data.language)
    if data.channel == PHONE and not data.visitor.phone:
        raise PhoneRequired()
    start = parse_start(data.start, point.timezone)
    day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date()
    if not draw.open_window(point, day, now):  # those who entered a draw come first
        caller.uow.send(await draw.decide_due(conn, point, day, caller.hold, now))
    slot = await bookable_slot(
        conn,
        point,
        offer,
        data.language,
        start,
        now,
        config=config,
        staff=True,
        channel=data.channel,
        services=services,
    )
    held, secrets = hold_visit(
        point_id=point.id,
        service_id=offer.id,
        start=slot.start,
        end=slot.end,
        language=data.language,
        visitor=visitor,
        now=now,
        hold=caller.hold,
        notes=data.notes,
        needs=tuple(data.needs),
        booked_by="staff",
        channel=data.channel,
        party_size=data.party_size,
        extra_services=tuple(services[1:]),
        video_template=point.video_url_template or caller.settings.video_url_template,
    )
    placed = await place_hold(conn, point, slot.desk_ids, held, secrets, message=None)
    if placed is None:  # an overdue hold still on the desks: as a visitor's booking does
        expired = await expire_overdue(conn, caller.hold, point.id)
        caller.uow.send(expired)
        if expired:
            placed = await place_hold(conn, point, slot.desk_ids, held, secrets, message=None)
    if placed is None:
        raise SlotTaken()
    booking, _ = placed
    held_row = await store.by_id(conn, booking.id)
    await store.confirm(conn, held_row, _confirmed_marker(secrets.confirm_token), None)
    row = await store.by_id(conn, booking.id)
    if email is not None or sms_number(data.visitor.phone):
        # Without an e-mail the rows are SMS (booking/store.py add_outbox): a mobile gets the
        # confirmation and the reminders by SMS; a landline is only called.
        caller.uow.send(await confirmed_mails(caller, conn, row, now))
    visit = store.visit_of(row)
    await audited(conn, point.id, visit.reference, visit)
    return StaffBooking(
        **msgspec.structs.asdict(visit), mailed=email is not None, point_phones=point.phones
    )
