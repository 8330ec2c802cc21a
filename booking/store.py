"""The one store of visits: every write to `bookings`, every status change, and how a visit is read.

Each status change asks the pure state machine (booking/domain/lifecycle.py) for the status it
writes, and its UPDATE only applies while the visit still has the status it was judged in. A
visit's status is read through SQL's visit_status() (migrations/0012: a hold past its expiry is
expired), whoever reads it. PostgreSQL settles the races: the exclusion constraint (no two
active visits on one desk), the per-person trigger, the unique reference.

The outbox row of a change is written here too, in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, Literal, NamedTuple
from uuid import UUID

import asyncpg

from booking.domain.errors import PerPersonLimit, SlotTaken
from booking.domain.lifecycle import Event, IllegalTransition, Status, sources, transition
from booking.domain.visit import STEP_FREE_ACCESS, HeldVisit, Visit, Visitor
from booking.secrets import new_reference
from scheduling.model import Point

VISIT_COLUMNS = """
    b.id, b.reference, b.point_id, b.service_id, b.desk_id, b.starts_at, b.ends_at, b.language,
    b.visitor_name, b.visitor_email, b.visitor_phone, b.notes, b.needs, b.sequence,
    b.hold_expires_at, b.manage_token_hash, b.confirm_token_hash, b.created_at, b.waitlist_id,
    b.manage_token_issued, b.mail_language,
    visit_status(b.status, b.hold_expires_at) as status, p.timezone, b.booked_by, b.moves,
    b.notify_by, b.channel, b.party_size, b.extra_services, b.video_url
"""

# ---------------------------------------------------------------------------- reading


async def by_reference(
    conn: asyncpg.Connection, reference: str, *, lock: bool = False
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""
        select {VISIT_COLUMNS} from bookings b join points p on p.id = b.point_id
        where b.reference = $1 {"for update of b" if lock else ""}
        """,
        reference,
    )


async def by_id(conn: asyncpg.Connection, booking_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {VISIT_COLUMNS} from bookings b join points p on p.id = b.point_id "
        "where b.id = $1",
        booking_id,
    )


def visit_of(row: asyncpg.Record) -> Visit:
    return Visit(
        reference=row["reference"],
        status=row["status"],
        point_id=row["point_id"],
        service_id=row["service_id"],
        desk_id=row["desk_id"],
        start=row["starts_at"],
        end=row["ends_at"],
        timezone=row["timezone"],
        language=row["language"],
        visitor=Visitor(row["visitor_name"], row["visitor_email"], row["visitor_phone"]),
        notes=row["notes"],
        needs=list(row["needs"]),
        sequence=row["sequence"],
        expires_at=row["hold_expires_at"] if row["status"] == Status.HELD else None,
        channel=row["channel"],
        party_size=row["party_size"],
        extra_services=list(row["extra_services"]),
        video_url=row["video_url"],
        notify_by=list(row["notify_by"]),
        mail_language=row["mail_language"],
    )


async def coming_at_point(
    conn: asyncpg.Connection, point_id: str, person: str
) -> list[asyncpg.Record]:
    """The visits the per-person limit counts for this person at this point (held or
    confirmed, not over yet; migrations/0003): (id, sequence) each."""
    return await conn.fetch(
        """
        select b.id, b.sequence from bookings b
         where b.point_id = $1 and b.visitor_email_key = $2 and b.ends_at > now()
           and visit_status(b.status, b.hold_expires_at) in ('held', 'confirmed')
         order by b.starts_at
        """,
        point_id,
        person,
    )


# ---------------------------------------------------------------------------- holding a visit

PER_PERSON_LIMIT = "WZ001"  # raised by the bookings_per_person_limit trigger (0003)
INTERNAL_DESK = "WZ002"  # raised by the bookings_public_not_on_internal_desk trigger (0030)


class Placed(NamedTuple):
    id: UUID
    reference: str
    desk_id: str


def day_lock(point: Point, start: dt.datetime) -> str:
    """Take turns, per point and local day, before putting a visit on a desk.

    The exclusion constraint alone is correct, but PostgreSQL checks it after each insert has
    put its index entry in place: two transactions inserting overlapping visits at once can
    each wait for the other, and a crowd of them makes a chain of deadlocks that PostgreSQL
    breaks one per second (deadlock_timeout). Measured with 200 bookers of one slot, rounds
    then took 5-12 s and once stalled. A transaction-scoped advisory lock per (point, day)
    makes them take turns, each a few milliseconds; the constraint still decides who wins.
    """
    day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date().isoformat()
    return f"wizyta:day:{point.id}:{day}"


#: Which of the slot's desks a visit goes to is SQL's choose_desk() (migrations/0060), decided in
#: the statement that places or moves it, after the day's turn: a visit asking for step-free
#: access takes a step-free desk first; every other visit the desk with the fewest extra skills,
#: keeping the scarce desk for those who need it; online bookings never go to a desk kept for
#: staff's bookings.


_TURN = "select pg_advisory_xact_lock(hashtextextended($1, 0))"


async def take_turn(conn: asyncpg.Connection, point: Point, start: dt.datetime) -> None:
    """Wait for the day's turn (day_lock) now, before a check that must see every visit put on
    the day's desks before it: the public's part of each slot (scheduling/capacity.py) is a
    count no constraint can hold, so online bookers judge it one after another. The insert
    and the move take the same lock again (it is held until the transaction ends)."""
    await conn.execute(_TURN, day_lock(point, start))


async def insert_held(
    conn: asyncpg.Connection,
    held: HeldVisit,
    desk_ids: tuple[str, ...],
    point: Point,
    *,
    keep_going: bool = False,
    message: str | None = None,
    payload: dict[str, Any] | None = None,
) -> tuple[Placed, int | None] | None:
    """Put the held visit on the best free desk (choose_desk) and write its outbox row
    `message`, if any: (placed, outbox id), or None when none of `desk_ids` can take it.

    One call of SQL's place_held_visit (migrations/0060), the one insert of a held visit: the
    day's turn (day_lock), then one statement that chooses the desk and inserts the visit; the
    exclusion constraint still guards it (`on conflict do nothing`: a reference drawn twice
    returns no row instead of failing the transaction, so no savepoint is needed). The
    per-person limit (a trigger) raises PerPersonLimit, which aborts the transaction unless
    `keep_going` (a draw or a waitlist offer, which go on to the next person) runs the insert
    in a savepoint.
    """
    for _ in range(5):  # a reference drawn twice is rare; draw again
        reference = new_reference(point.city)
        row = await _placing(
            conn,
            _PLACE,
            keep_going,
            held_visit(held, reference),
            list(desk_ids),
            day_lock(point, held.start),
            message,
            payload,
        )
        if row["booking_id"] is not None:
            return Placed(row["booking_id"], reference, row["desk_id"]), row["outbox_id"]
        if not row["reference_taken"]:
            return None  # no desk is free for it, not the reference
    return None


_PLACE = "select * from place_held_visit($1::held_visit, $2, $3, $4, $5)"


def held_visit(held: HeldVisit, reference: str) -> tuple[Any, ...]:
    """The visit as SQL's `held_visit` type (migrations/0060), in its fields' order."""
    return (
        reference,
        held.point_id,
        held.service_id,
        held.start,
        held.end,
        held.language,
        held.visitor.name,
        held.visitor.email,
        held.email_key,
        held.visitor.phone,
        held.notes,
        list(held.needs),
        held.hold_expires_at,
        held.manage_token_hash,
        held.manage_token_issued,
        held.confirm_token_hash,
        held.waitlist_id,
        held.mail_language,
        held.booked_by,
        list(held.notify_by),
        held.channel,
        held.party_size,
        list(held.extra_services),
        held.video_url,
        held.needs_step_free,
    )


async def _placing(
    conn: asyncpg.Connection, sql: str, keep_going: bool, *args: Any
) -> asyncpg.Record:
    """Run a statement that places a visit, with its triggers' refusals as domain errors."""
    try:
        if keep_going:
            async with conn.transaction():
                return await conn.fetchrow(sql, *args)
        return await conn.fetchrow(sql, *args)
    except asyncpg.PostgresError as e:
        if e.sqlstate == PER_PERSON_LIMIT:
            raise PerPersonLimit() from e
        if e.sqlstate == INTERNAL_DESK:  # flagged internal-only since the slot was read
            raise SlotTaken() from e
        raise


class Booked(NamedTuple):
    """book()'s outcome: `placed` and its outbox row, or the key's first answer."""

    placed: Placed | None = None
    outbox_id: int | None = None
    first: tuple[bytes, int, bytes] | None = None  # the key's (request_hash, status, response)


class KeyRaced(Exception):
    """Another request with the same Idempotency-Key committed while this one booked (WZ004):
    this one wrote nothing; that one's answer is the answer."""


KEY_RACED = "WZ004"

_BOOK = "select * from book_visit($1, $2, $3, $4::held_visit, $5, $6, $7)"


async def book(
    conn: asyncpg.Connection,
    held: HeldVisit,
    desk_ids: tuple[str, ...],
    point: Point,
    key_hash: bytes,
    request_hash: bytes,
    answer: Any,
    payload: dict[str, Any],
) -> Booked | None:
    """A visitor's booking in one statement (SQL's book_visit, migrations/0060): the
    Idempotency-Key's first answer if it has one, else the visit held and its confirmation mail
    queued as insert_held does, and the key's answer kept (`answer(reference)` gives the sealed
    answers, one per desk of `desk_ids`). None when no desk is free. Outside a transaction block
    it is one round trip and its own transaction."""
    for _ in range(5):  # a reference drawn twice is rare; draw again
        reference = new_reference(point.city)
        try:
            row = await _placing(
                conn,
                _BOOK,
                False,
                key_hash,
                request_hash,
                answer(reference),
                held_visit(held, reference),
                list(desk_ids),
                day_lock(point, held.start),
                payload,
            )
        except asyncpg.PostgresError as e:
            if e.sqlstate == KEY_RACED:
                raise KeyRaced() from e
            raise
        if row["outcome"] == "answered":
            return Booked(
                first=(row["first_request_hash"], row["first_status"], row["first_response"])
            )
        if row["outcome"] == "placed":
            return Booked(Placed(row["booking_id"], reference, row["desk_id"]), row["outbox_id"])
        if row["outcome"] == "taken":
            return None
    return None


# ---------------------------------------------------------------------------- changing status


async def _set_status(
    conn: asyncpg.Connection, row: asyncpg.Record, event: Event, assignments: str, *args: Any
) -> Status:
    """Write the status `event` leads to from the row's (effective) status, with the other
    `assignments` ($3... are `args`), while the visit still has the status it was judged in."""
    new = transition(row["status"], event)
    updated = await conn.fetchval(
        f"""
        update bookings set status = $2, updated_at = now(){assignments}
         where id = $1 and visit_status(status, hold_expires_at) = ${len(args) + 3}
        returning true
        """,
        row["id"],
        new.value,
        *args,
        row["status"],
    )
    if not updated:  # changed since it was read (callers lock the row, so this is a bug)
        raise IllegalTransition(Status(row["status"]), event)
    return new


async def confirm(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    confirmed_marker: bytes,
    manage_hash: bytes | None,
) -> None:
    """Held -> confirmed; the confirmation hash becomes a marker that recognises a repeated
    click, and a visit held without a manage token (draw, waitlist) gets one."""
    await _set_status(
        conn,
        row,
        Event.CONFIRM,
        """, confirmed_at = now(), hold_expires_at = null, confirm_token_hash = $3,
             manage_token_hash = coalesce($4, manage_token_hash), manage_token_issued = true""",
        confirmed_marker,
        manage_hash,
    )


async def cancel(
    conn: asyncpg.Connection, row: asyncpg.Record, by: Literal["visitor", "office"]
) -> int:
    """Held or confirmed -> cancelled; returns the new SEQUENCE (RFC 5545 3.8.7.4)."""
    sequence = row["sequence"] + 1
    await _set_status(
        conn,
        row,
        Event.CANCEL,
        ", cancelled_by = $3, cancelled_at = now(), sequence = $4",
        by,
        sequence,
    )
    return sequence


async def record(conn: asyncpg.Connection, row: asyncpg.Record, event: Event) -> Status:
    """A move staff make on the day: check-in, no-show, complete."""
    return await _set_status(conn, row, event, "")


async def cancel_by_office(conn: asyncpg.Connection, references: list[str]) -> list[asyncpg.Record]:
    """Cancel every visit of `references` that may still be cancelled; each one's id, sequence
    and what an alternative for it needs (booking/alternatives.py), by start."""
    return await conn.fetch(
        """
        update bookings set status = $2, cancelled_by = 'office', cancelled_at = now(),
               sequence = sequence + 1, updated_at = now()
         where reference = any($1::text[]) and visit_status(status, hold_expires_at) = any($3)
        returning id, sequence, reference, point_id, service_id, language, starts_at, ends_at,
                  visitor_name, visitor_email, visitor_phone, notes, needs
        """,
        references,
        transition(Status.CONFIRMED, Event.CANCEL).value,
        sorted(s.value for s in sources(Event.CANCEL)),
    )


async def link_alternative(
    conn: asyncpg.Connection, alternative_id: UUID, cancelled_id: UUID
) -> None:
    """Note that a held visit is offered instead of one the office cancelled."""
    await conn.execute(
        "update bookings set alternative_for = $2 where id = $1", alternative_id, cancelled_id
    )


async def alternative_of(conn: asyncpg.Connection, cancelled_id: UUID) -> asyncpg.Record | None:
    """The latest visit offered instead of a cancelled one, if any (its reference, status)."""
    return await conn.fetchrow(
        """
        select b.id, b.reference, visit_status(b.status, b.hold_expires_at) as status
          from bookings b where b.alternative_for = $1 order by b.created_at desc limit 1
        """,
        cancelled_id,
    )


async def history_of(conn: asyncpg.Connection, booking_id: UUID) -> asyncpg.Record | None:
    """Who cancelled the visit (`cancelled_by`: visitor, office or null) and, for a held
    alternative, the reference of the visit it replaces (`replaces`)."""
    return await conn.fetchrow(
        """
        select b.cancelled_by, o.reference as replaces
          from bookings b left join bookings o on o.id = b.alternative_for
         where b.id = $1
        """,
        booking_id,
    )


async def expire_overdue(
    conn: asyncpg.Connection, point_id: str | None = None
) -> list[asyncpg.Record]:
    """Mark holds past their expiry expired (all points, or one); the rows changed.

    Rows another transaction is changing are skipped, not waited for: every booking at a point
    expires the point's overdue holds first, and when many had piled up (no worker for a
    while), concurrent bookings queued behind each other's expiries (seen in the soak: 503s
    and a 7 s p99). A skipped row is expired by the transaction that holds it, or, if that
    one rolls back, by the next booking or the worker's cron; a skipped hold that overlaps the
    new visit still makes its insert wait, as it must."""
    return await conn.fetch(
        """
        update bookings set status = $2, updated_at = now()
         where id in (select id from bookings
                       where status = $3 and hold_expires_at <= now()
                         and ($1::text is null or point_id = $1)
                       for update skip locked)
        returning id, sequence, point_id, service_id, starts_at, waitlist_id
        """,
        point_id,
        transition(Status.HELD, Event.EXPIRE).value,
        Status.HELD.value,
    )


_MOVE = """
    update bookings set desk_id = d.id, starts_at = $3, ends_at = $4, sequence = $5,
           updated_at = now(), moves = moves + $9::int
      from (select choose_desk($6, $2, $7, $8, $3, $4, $1) as id) d
     where bookings.id = $1 and d.id is not null
    returning bookings.desk_id
"""


async def move(
    conn: asyncpg.Connection,
    point: Point,
    row: asyncpg.Record,
    desk_ids: tuple[str, ...],
    start: dt.datetime,
    end: dt.datetime,
    *,
    by_visitor: bool = True,
) -> tuple[str, int] | None:
    """Move the visit to the best free desk at [start, end) (choose_desk, as a hold chooses)
    in one UPDATE (the new time is taken in the same instant the old one is freed); (desk, new
    sequence), or None when none of `desk_ids` can take it. A visitor's move counts toward the
    visit's limit of moves (booking/fair.py)."""
    transition(row["status"], Event.RESCHEDULE)  # the status stays; the move must be legal
    sequence = row["sequence"] + 1
    await conn.execute(_TURN, day_lock(point, start))
    try:
        async with conn.transaction():
            desk = await conn.fetchval(
                _MOVE,
                row["id"],
                list(desk_ids),
                start,
                end,
                sequence,
                point.id,
                STEP_FREE_ACCESS in row["needs"],
                row["booked_by"],
                1 if by_visitor else 0,
            )
    except asyncpg.ExclusionViolationError:
        return None  # a writer that does not take the day's turn took it: none is free
    except asyncpg.PostgresError as e:
        if e.sqlstate != INTERNAL_DESK:  # flagged internal-only since the slot was read
            raise
        return None
    return (desk, sequence) if desk is not None else None


async def set_contact(
    conn: asyncpg.Connection, booking_id: UUID, phone: str | None, notify_by: list[str]
) -> None:
    """How the visitor is told from now on (the manage page): the channels, and the phone
    number if one was given (a number already there is kept otherwise)."""
    await conn.execute(
        """
        update bookings set notify_by = $2, visitor_phone = coalesce($3, visitor_phone),
               updated_at = now()
         where id = $1
        """,
        booking_id,
        notify_by,
        phone,
    )


# ---------------------------------------------------------------------------- the outbox


async def add_outboxes(
    conn: asyncpg.Connection, visits: list[tuple[UUID, int]], kind: str
) -> list[int]:
    """`add_outbox` for many visits (each with its sequence) in one statement, in that order."""
    if not visits:
        return []
    rows = await conn.fetch(
        """
        insert into outbox (booking_id, kind, sequence, due_at, payload, channel)
        select b.id, $3, v.sequence, now(), '{}'::jsonb,
               case when b.visitor_email is null then 'sms' else 'email' end
          from unnest($1::uuid[], $2::int[]) with ordinality as v(id, sequence, n)
          join bookings b on b.id = v.id
         order by v.n
        returning id
        """,
        [v for v, _ in visits],
        [sequence for _, sequence in visits],
        kind,
    )
    return sorted(r["id"] for r in rows)


async def add_outbox(
    conn: asyncpg.Connection,
    booking_id: UUID,
    kind: str,
    sequence: int,
    *,
    due_at: dt.datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> int:
    """A message about a change, written in the change's transaction (notifications sends it,
    and adds its SMS where the visitor wants one). A visit without an e-mail address (booked by
    staff) gets no mail: its messages are SMS rows from the start."""
    return await conn.fetchval(
        """
        insert into outbox (booking_id, kind, sequence, due_at, payload, channel)
        select $1, $2, $3, coalesce($4, now()), $5,
               case when b.visitor_email is null then 'sms' else 'email' end
          from bookings b where b.id = $1
        returning id
        """,
        booking_id,
        kind,
        sequence,
        due_at,
        payload or {},
    )
