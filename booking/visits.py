"""The visitor's use-cases: hold a visit, read it, confirm, cancel, move it.

Each takes plain values and a `Caller` (the request's unit of work, settings, limits and
address) and returns domain values; the JSON API (booking/api.py) and the pages
(web/booking_flow.py, web/visits.py) call these same functions, so both get the same
validation, rate limits and proof of work. Each change is one short transaction (core/uow.py)
that re-checks the requested time against the slot engine (rules may have just changed),
lets PostgreSQL's constraints settle races, and writes its outbox rows with the change.
"""

from __future__ import annotations

import datetime as dt
import hmac
import zoneinfo
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from booking import draw, draw_batch, fair, idempotency, links, store
from booking.caller import Caller, token_key, valid_email
from booking.checks import (
    bookable_slot,
    check_language,
    config_and_visit,
    parse_start,
)
from booking.domain.errors import (
    AlreadyStarted,
    ConfirmLinkInvalid,
    DrawPlainVisitsOnly,
    HoldExpired,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    ManageTokenMissing,
    PhoneRequired,
    SlotTaken,
    SmsNeedsPhone,
    StepFreeUnavailable,
    VisitCancelled,
    VisitNotFound,
)
from booking.domain.lifecycle import Event, Status, transition
from booking.domain.visit import (
    STEP_FREE_ACCESS,
    Visit,
    VisitCreated,
    Visitor,
    created,
    hold_visit,
)
from booking.holds import expire_overdue
from booking.phones import valid_mobile
from booking.reminders import offsets_for, reminder_times
from booking.schemas import BookingCreate, ContactIn
from booking.secrets import email_key, new_token, token_hash, token_matches
from booking.waitlist import settle_offer
from core.errors import Conflict, Gone, Invalid, NotFound
from scheduling.config import PointConfig
from scheduling.model import ON_SITE, PHONE, PointService
from scheduling.slots import Slot

# ---------------------------------------------------------------------------- hold


async def hold(
    caller: Caller, data: BookingCreate, key: str, altcha: str | None
) -> VisitCreated | draw.DrawEntry:
    """Hold the visit (its manage token shown once), or, in a release's first minutes, enter
    its draw. The same key and body again get the first answer (booking/idempotency.py)."""
    if not key or len(key) > idempotency.MAX_KEY_LENGTH:
        raise IdempotencyKeyMissing()
    email = valid_email(data.visitor.email)
    phone, notify_by = contact(data.visitor.phone, data.notify_by)
    # The address's limit, the proof of work (single use) and then the person's limit, in
    # one Redis round trip: only a request that did the work counts toward the person's limit
    # (booking/caller.py `limit_booking`).
    await caller.limit_booking(data, key, altcha, person=email_key(email))
    if caller.draws is not None and draw_batch.may_draw(data):
        # A release's rush: written with the other entries of these milliseconds, in one
        # transaction on a connection of the group's own (booking/draw_batch.py).
        await caller.uow.close()
        entered = await caller.draws.enter(data, key, email, phone)
        if entered is not None:
            return entered
    ticket = idempotency.Ticket.of(key, data)
    try:
        return await _hold_or_enter(caller, data, ticket, email, phone, notify_by)
    except (Invalid, NotFound, Conflict, Gone, store.KeyRaced) as refused:
        # A key that has an answer gets it back whatever the checks would say now: the retry
        # of a booking finds its own visit in the slot (or the person's limit reached by it),
        # and a twin request sent at once finds the other's committed a moment ago.
        if isinstance(refused, IdempotencyKeyReused):
            raise
        first = await idempotency.first_answer(await caller.uow.connection(), ticket)
        if first is None:
            if isinstance(refused, store.KeyRaced):
                raise AssertionError("the key's request has committed") from refused
            raise
        return first


def request_window(
    config: PointConfig,
    offer: PointService,
    services: list[str],
    now: dt.datetime,
    data: BookingCreate,
) -> tuple[dt.datetime, dt.date, tuple[dt.datetime, dt.datetime] | None]:
    """The start asked for, its local day, and that day's draw window if `now` is inside it
    (a request then enters the draw: a plain on-site visit for one, or refused)."""
    point = config.point
    check_language(offer, data.language)
    if data.channel == PHONE and not data.visitor.phone:
        raise PhoneRequired()
    start = parse_start(data.start, point.timezone)
    day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date()
    window = draw.open_window(point, day, now)
    if window and (data.channel != ON_SITE or data.party_size > 1 or len(services) > 1):
        closes = window[1].astimezone(zoneinfo.ZoneInfo(point.timezone))
        raise DrawPlainVisitsOnly(day=day.isoformat(), closes=f"{closes:%H:%M}")
    return start, day, window


def check_step_free(config: PointConfig, data: BookingCreate, desk_ids: Sequence[str]) -> None:
    """A visitor who needs step-free access is refused a slot whose desks all have stairs."""
    if STEP_FREE_ACCESS in data.needs:
        step_free = {desk.id: desk.step_free for desk in config.desks}
        if all(step_free.get(desk) is False for desk in desk_ids):
            raise StepFreeUnavailable()


def contact(phone: str | None, notify_by: list[str]) -> tuple[str | None, tuple[str, ...]]:
    """The phone in E.164 (a mobile, or refused with a sentence) and the channels, in order;
    SMS asked for without a phone is refused."""
    number = valid_mobile(phone) if phone else None
    channels = tuple(c for c in ("email", "sms") if c in notify_by)
    if "sms" in channels and number is None:
        raise SmsNeedsPhone()
    return number, channels


async def _hold_or_enter(
    caller: Caller,
    data: BookingCreate,
    ticket: idempotency.Ticket,
    email: str,
    phone: str | None,
    notify_by: tuple[str, ...],
) -> VisitCreated | draw.DrawEntry:
    """Hold the visit, or enter the draw when its window is open.

    A hold reads first (the configuration and now(), then the desks' busy times for the slot
    engine), each read its own statement, and then writes in one (store.book): the reads need
    no transaction, since what they decide is checked again where it is written (the exclusion
    constraint for the desk, the per-person trigger, the key's uniqueness). Where a point keeps
    places for staff, the public's part of the slot is a count no constraint holds: the read
    and the write then share one transaction in the day's turn (bookable_slot)."""
    conn = await caller.uow.connection()
    config, offer, services, now = await config_and_visit(
        conn,
        data.point_id,
        [data.service_id, *data.extra_services],
        data.channel,
        data.party_size,
    )
    point = config.point
    start, day, window = request_window(config, offer, services, now, data)
    visitor = Visitor(data.visitor.name.strip(), email, phone)
    if window:
        return await caller.uow.atomic(
            lambda conn: _enter_draw(
                conn, data, ticket, visitor, config, offer, services, now, start, window
            )
        )
    if draw.due(point, day, now):  # after a draw's window, its draw is decided before any hold

        async def decide(conn: asyncpg.Connection) -> None:
            caller.uow.send(await draw.decide_due(conn, point, day, caller.hold, now))

        await caller.uow.atomic(decide)

    async def hold_now(conn: asyncpg.Connection) -> VisitCreated | draw.DrawEntry:
        return await _hold_visit(
            caller, conn, data, ticket, visitor, notify_by, config, offer, services, now, start
        )

    if config.internal_places:
        return await caller.uow.atomic(hold_now)
    return await hold_now(conn)


async def _enter_draw(
    conn: asyncpg.Connection,
    data: BookingCreate,
    ticket: idempotency.Ticket,
    visitor: Visitor,
    config: PointConfig,
    offer: PointService,
    services: list[str],
    now: dt.datetime,
    start: dt.datetime,
    window: tuple[dt.datetime, dt.datetime],
) -> VisitCreated | draw.DrawEntry:
    """A draw entry by the usual way (when the process's group does not take it,
    booking/draw_batch.py): the key claimed, the entry written and the key's answer kept, in
    the caller's transaction."""
    first = await idempotency.claim(conn, ticket)
    if first is not None:
        return first
    point = config.point
    slot = await _slot(conn, data, config, offer, services, now, start, free_only=False)
    entry = await draw.enter(
        conn,
        point,
        offer.id,
        data.language,
        slot.start,
        window[1],
        visitor=visitor,
        notes=data.notes,
        needs=list(data.needs),
        mail_language=data.mail_language,
    )
    await idempotency.record(conn, ticket, 202, entry, None)
    return entry


async def _slot(
    conn: asyncpg.Connection,
    data: BookingCreate,
    config: PointConfig,
    offer: PointService,
    services: list[str],
    now: dt.datetime,
    start: dt.datetime,
    *,
    free_only: bool,
) -> Slot:
    """The slot asked for, refused with the reason when there is none (a draw entry's need
    not be free: the draw allots) or when it cannot take the visitor's needs."""
    slot = await bookable_slot(
        conn,
        config.point,
        offer,
        data.language,
        start,
        now,
        config=config,
        free_only=free_only,
        channel=data.channel,
        services=services,
    )
    check_step_free(config, data, slot.desk_ids)
    return slot


async def _hold_visit(
    caller: Caller,
    conn: asyncpg.Connection,
    data: BookingCreate,
    ticket: idempotency.Ticket,
    visitor: Visitor,
    notify_by: tuple[str, ...],
    config: PointConfig,
    offer: PointService,
    services: list[str],
    now: dt.datetime,
    start: dt.datetime,
) -> VisitCreated | draw.DrawEntry:
    point = config.point
    slot = await _slot(conn, data, config, offer, services, now, start, free_only=True)
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
        channel=data.channel,
        party_size=data.party_size,
        extra_services=tuple(services[1:]),
        video_template=point.video_url_template or caller.settings.video_url_template,
        mail_language=data.mail_language,
        notify_by=notify_by,
    )
    answer = VisitCreated(
        reference="",
        status=Status.HELD.value,
        point_id=point.id,
        service_id=offer.id,
        desk_id="",
        start=slot.start,
        end=slot.end,
        timezone=point.timezone,
        language=data.language,
        visitor=held.visitor,
        notes=data.notes,
        needs=list(data.needs),
        sequence=0,
        expires_at=held.hold_expires_at,
        mail_language=data.mail_language,
        manage_token=secrets.manage_token,
        channel=held.channel,
        party_size=held.party_size,
        extra_services=list(held.extra_services),
        video_url=held.video_url,
        notify_by=list(held.notify_by),
    )

    def answers(reference: str) -> list[bytes]:
        """The answer sealed for each desk it may get (the one it gets is known only then)."""
        return ticket.seal_each(
            msgspec.structs.replace(answer, reference=reference, desk_id=desk)
            for desk in slot.desk_ids
        )

    async def book(conn: asyncpg.Connection) -> tuple[store.Booked | None, list[int]]:
        booked = await store.book(
            conn,
            held,
            slot.desk_ids,
            point,
            ticket.key_hash,
            ticket.request_hash,
            answers,
            {"token": secrets.confirm_token},
        )
        return booked, [booked.outbox_id] if booked and booked.outbox_id is not None else []

    booked = await caller.uow.statement(book)
    if booked is None:
        # The slot engine counts a hold past its expiry as free; the exclusion constraint
        # still sees it until it is marked expired: mark this point's, then try once more.
        async def expire(conn: asyncpg.Connection) -> list[int]:
            expired = await expire_overdue(conn, caller.hold, point.id)
            caller.uow.send(expired)
            return expired

        if await caller.uow.atomic(expire):
            booked = await caller.uow.statement(book)
    if booked is None:
        raise SlotTaken()
    if booked.first is not None:
        return ticket.first(*booked.first)
    assert booked.placed is not None
    return msgspec.structs.replace(
        answer, reference=booked.placed.reference, desk_id=booked.placed.desk_id
    )


# ---------------------------------------------------------------------------- the visitor's own


async def _authorized(
    conn: asyncpg.Connection, reference: str, token: str | None, *, lock: bool
) -> asyncpg.Record:
    """The visit, if the token is its manage token or its mail link token; otherwise reveal
    nothing about it."""
    if not token:
        raise ManageTokenMissing()
    row = await store.by_reference(conn, reference, lock=lock)
    if row is None:
        raise VisitNotFound()
    if token_matches(token, row["manage_token_hash"]):
        return row
    # The e-mails' and SMS's links (booking/links.py): derived from the visit's id, not stored.
    for derived in links.tokens(await links.link_key(conn), row["id"]):
        if hmac.compare_digest(token.encode(), derived.encode()):
            return row
    raise VisitNotFound()


async def get(caller: Caller, reference: str, token: str | None) -> Visit:
    await caller.limit("manage", person=token_key(reference, token))
    row = await _authorized(await caller.uow.connection(), reference, token, lock=False)
    return store.visit_of(row)


def _confirmed_marker(token: str) -> bytes:
    """After confirming, the confirmation hash is replaced by one that still recognises a
    repeated click on the same link (idempotent confirm) but no longer confirms anything else."""
    return token_hash("confirmed:" + token)


async def confirm(caller: Caller, reference: str, token: str) -> Visit | VisitCreated:
    """Confirm from the e-mailed link. A visit held without a manage token (a draw win, a
    waitlist offer) gets one now, shown once (VisitCreated)."""
    await caller.limit("confirm", person=token_key(reference, token))

    async def work(conn: asyncpg.Connection) -> Visit | VisitCreated:
        row = await store.by_reference(conn, reference, lock=True)
        if row is None:
            raise ConfirmLinkInvalid()
        clicked_before = token_matches("confirmed:" + token, row["confirm_token_hash"])
        if row["status"] == Status.CONFIRMED and clicked_before:
            return store.visit_of(row)  # a second click
        if row["status"] == Status.CANCELLED and (
            clicked_before or token_matches(token, row["confirm_token_hash"])
        ):
            raise VisitCancelled()  # its own link: say what became of it
        if not token_matches(token, row["confirm_token_hash"]):
            raise ConfirmLinkInvalid()
        if row["status"] == Status.EXPIRED:
            raise HoldExpired()
        transition(row["status"], Event.CONFIRM)
        manage = None if row["manage_token_issued"] else new_token()
        await store.confirm(
            conn, row, _confirmed_marker(token), token_hash(manage) if manage else None
        )
        if row["waitlist_id"] is not None:
            await settle_offer(conn, row["id"], "booked")
        now = await conn.fetchval("select now()")
        caller.uow.send(await confirmed_mails(caller, conn, row, now))
        fresh = store.visit_of(await store.by_id(conn, row["id"]))
        return created(fresh, manage) if manage is not None else fresh

    return await caller.uow.atomic(work)


async def cancel(caller: Caller, reference: str, token: str | None) -> Visit:
    await caller.limit("manage", person=token_key(reference, token))

    async def work(conn: asyncpg.Connection) -> Visit:
        row = await _authorized(conn, reference, token, lock=True)
        now = await conn.fetchval("select now()")
        _not_started(row, now, "cancelled")
        rules = await fair.rules_of(conn, row["point_id"], row["service_id"])
        fair.check_change(rules, row["starts_at"], now, "cancelled")
        transition(row["status"], Event.CANCEL)
        # Overdue holds give their desks back first, so the freed slot can be offered.
        caller.uow.send(await expire_overdue(conn, caller.hold, row["point_id"]))
        sequence = await store.cancel(conn, row, "visitor")
        caller.uow.send([await store.add_outbox(conn, row["id"], "cancelled", sequence)])
        caller.uow.send(await fair.free_place(conn, rules, row, now, caller.hold))
        return store.visit_of(await store.by_id(conn, row["id"]))

    return await caller.uow.atomic(work)


async def move(caller: Caller, reference: str, token: str | None, new_start: str) -> Visit:
    await caller.limit("manage", person=token_key(reference, token))

    async def work(conn: asyncpg.Connection) -> Visit:
        row = await _authorized(conn, reference, token, lock=True)
        config, offer, services, now = await config_and_visit(
            conn,
            row["point_id"],
            [row["service_id"], *row["extra_services"]],
            row["channel"],
            row["party_size"],
        )
        point = config.point
        _not_started(row, now, "moved")
        rules = await fair.rules_of(conn, point.id, row["service_id"])
        fair.check_change(rules, row["starts_at"], now, "moved", moves=row["moves"])
        transition(row["status"], Event.RESCHEDULE)
        start = parse_start(new_start, point.timezone)
        if start == row["starts_at"]:
            return store.visit_of(row)
        caller.uow.send(await expire_overdue(conn, caller.hold, point.id))
        slot = await bookable_slot(
            conn,
            point,
            offer,
            row["language"],
            start,
            now,
            excluding=row["id"],
            channel=row["channel"],
            services=services,
        )
        moved = await store.move(conn, point, row, slot.desk_ids, slot.start, slot.end)
        if moved is None:
            raise SlotTaken()
        _, sequence = moved
        previous = {"previous_start": row["starts_at"].isoformat()}
        caller.uow.send(
            [await store.add_outbox(conn, row["id"], "moved", sequence, payload=previous)]
        )
        if row["status"] == Status.CONFIRMED:
            caller.uow.send(await _reminders(caller, conn, row["id"], slot.start, sequence, now))
        caller.uow.send(await fair.free_place(conn, rules, row, now, caller.hold))
        return store.visit_of(await store.by_id(conn, row["id"]))

    return await caller.uow.atomic(work)


async def set_contact(caller: Caller, reference: str, token: str | None, data: ContactIn) -> Visit:
    """How the visitor is told from now on: e-mail, SMS or both (SMS needs a mobile number,
    given here or at booking)."""
    await caller.limit("manage", person=token_key(reference, token))
    phone, channels = contact(data.phone, [c for c in data.notify_by if c != "sms"])
    if "sms" in data.notify_by:
        channels += ("sms",)

    async def work(conn: asyncpg.Connection) -> Visit:
        row = await _authorized(conn, reference, token, lock=True)
        if "sms" in channels and not (phone or row["visitor_phone"]):
            raise SmsNeedsPhone()
        await store.set_contact(conn, row["id"], phone, list(channels))
        return store.visit_of(await store.by_id(conn, row["id"]))

    return await caller.uow.atomic(work)


async def confirmed_mails(
    caller: Caller, conn: asyncpg.Connection, row: asyncpg.Record, now: dt.datetime
) -> list[int]:
    """The mails of a visit just confirmed (by its visitor, or booked by staff): the
    confirmation with its invitation, and the reminders; their outbox ids."""
    sent = [await store.add_outbox(conn, row["id"], "confirmed", row["sequence"])]
    return sent + await _reminders(caller, conn, row["id"], row["starts_at"], row["sequence"], now)


def _not_started(row: asyncpg.Record, now: dt.datetime, verb: str) -> None:
    if row["starts_at"] <= now:
        raise AlreadyStarted(verb=verb)


async def _reminders(
    caller: Caller,
    conn: asyncpg.Connection,
    booking_id: Any,
    start: dt.datetime,
    sequence: int,
    now: dt.datetime,
) -> list[int]:
    point_id = await conn.fetchval("select point_id from bookings where id = $1", booking_id)
    offsets = await offsets_for(conn, point_id, caller.settings.reminder_offsets)
    return [
        await store.add_outbox(
            conn, booking_id, "reminder", sequence, due_at=due, payload={"offset": label}
        )
        for due, label in reminder_times(start, now, offsets)
    ]


# ---------------------------------------------------------------------------- the link again


async def send_link(caller: Caller, reference: str, email: str) -> None:
    """Mail the manage page's link again to the address the visit was booked with.

    Answers the same whether or not the reference and the address belong together (nothing
    tells a stranger that a visit exists), and mails only that address, so asking for
    someone else's visit sends them their own link and nobody else anything.
    """
    address = valid_email(email)
    await caller.limit("link", person=email_key(address))
    await caller.limit("link", person=reference.strip().upper(), address=False)

    async def work(conn: asyncpg.Connection) -> None:
        row = await store.by_reference(conn, reference.strip().upper())
        if row is None or not row["visitor_email"]:
            return
        if email_key(row["visitor_email"]) != email_key(address):
            return
        caller.uow.send([await store.add_outbox(conn, row["id"], "manage_link", row["sequence"])])

    await caller.uow.atomic(work)


async def send_links_at_point(caller: Caller, point_id: str, email: str) -> None:
    """Mail the links of this person's coming visits at the point to the address they were
    booked with: for a visitor told they already have a visit there (the per-person limit, e.g.
    after going back and sending the form again) who no longer has its link.

    As `send_link`: the same answer whatever is found, and mail only to that address.
    """
    address = valid_email(email)
    person = email_key(address)
    await caller.limit("link", person=person)

    async def work(conn: asyncpg.Connection) -> None:
        for row in await store.coming_at_point(conn, point_id, person):
            caller.uow.send(
                [await store.add_outbox(conn, row["id"], "manage_link", row["sequence"])]
            )

    await caller.uow.atomic(work)
