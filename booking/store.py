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


#: Which of the slot's desks a visit goes to, decided by PostgreSQL in the statement that
#: inserts it (after the day's turn, so it sees every visit committed before): among the desks
#: free at that time, a visit that asks for step-free access takes a step-free desk first, one
#: not known to be second, never one known not to be; every other visit takes the desk with
#: the fewest extra skills (languages beyond its own, step-free access), keeping the scarce
#: desk (the one with sign languages, the ground-floor room) for those who need it. A visit
#: booked online never goes to a desk kept for staff's bookings (desks.internal_only).
DESK_CHOICE = """
      from desks d
     where d.point_id = $POINT and d.id = any($DESKS::text[])
       and not ($STEP_FREE and d.step_free is false)
       and not (d.internal_only and $BOOKED_BY = 'visitor')
       and not exists (
           select from bookings o
            where o.desk_id = d.id and o.status in ('held', 'confirmed', 'checked_in')
              and tstzrange(o.starts_at, o.ends_at, '[)') && tstzrange($START, $END, '[)')
              and o.id is distinct from $SELF)
     order by case when $STEP_FREE and d.step_free is not true then 1 else 0 end,
              cardinality(d.languages)
                + case when not $STEP_FREE and d.step_free then 1 else 0 end,
              d.id
     limit 1
"""


def _desk_choice(**params: int) -> str:
    sql = DESK_CHOICE
    for name, number in params.items():
        sql = sql.replace(f"${name}", f"${number}")
    return sql


_TURN = "select pg_advisory_xact_lock(hashtextextended($1, 0))"


async def take_turn(conn: asyncpg.Connection, point: Point, start: dt.datetime) -> None:
    """Wait for the day's turn (day_lock) now, before a check that must see every visit put on
    the day's desks before it: the public's part of each slot (scheduling/capacity.py) is a
    count no constraint can hold, so online bookers judge it one after another. The insert
    and the move take the same lock again (it is held until the transaction ends)."""
    await conn.execute(_TURN, day_lock(point, start))


_INSERT_HELD = (
    """
    insert into bookings (
        reference, desk_id, point_id, service_id, starts_at, ends_at, language,
        visitor_name, visitor_email, visitor_email_key, visitor_phone, notes, needs, status,
        hold_expires_at, manage_token_hash, manage_token_issued, confirm_token_hash, waitlist_id,
        mail_language, booked_by, notify_by, channel, party_size, extra_services, video_url)
    select $1, d.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'held', $14, $15, $16, $17,
           $18, $21, $22, $23, $24, $25, $26, $27
    """
    + _desk_choice(POINT=3, DESKS=2, STEP_FREE=19, START=5, END=6, SELF=20, BOOKED_BY=22)
    + """
    on conflict do nothing
    returning id, desk_id
"""
)


async def insert_held(
    conn: asyncpg.Connection,
    held: HeldVisit,
    desk_ids: tuple[str, ...],
    point: Point,
    *,
    keep_going: bool = False,
) -> Placed | None:
    """Put the held visit on the best free desk (DESK_CHOICE), or return None when none of
    `desk_ids` can take it.

    First the day's turn (day_lock), then one statement that chooses the desk and inserts the
    visit; the exclusion constraint still guards it (`on conflict do nothing`: a reference
    drawn twice returns no row instead of failing the transaction, so no savepoint is needed).
    The per-person limit (a trigger) raises PerPersonLimit, which aborts the transaction unless
    `keep_going` (a draw or a waitlist offer, which go on to the next person) runs the insert
    in a savepoint.
    """
    await conn.execute(_TURN, day_lock(point, held.start))
    for _ in range(5):  # a reference drawn twice is rare; draw again
        reference = new_reference(point.city)
        placed = await _insert(conn, reference, list(desk_ids), held, keep_going)
        if placed is not None:
            return Placed(placed["id"], reference, placed["desk_id"])
        if not await conn.fetchval(
            "select exists (select from bookings where reference = $1)", reference
        ):
            return None  # no desk is free for it, not the reference
    return None


async def _insert(
    conn: asyncpg.Connection,
    reference: str,
    desks: list[str],
    held: HeldVisit,
    keep_going: bool,
) -> asyncpg.Record | None:
    args = (
        reference,
        desks,
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
        held.needs_step_free,
        None,
        held.mail_language,
        held.booked_by,
        list(held.notify_by),
        held.channel,
        held.party_size,
        list(held.extra_services),
        held.video_url,
    )
    try:
        if keep_going:
            async with conn.transaction():
                return await conn.fetchrow(_INSERT_HELD, *args)
        return await conn.fetchrow(_INSERT_HELD, *args)
    except asyncpg.PostgresError as e:
        if e.sqlstate == PER_PERSON_LIMIT:
            raise PerPersonLimit() from e
        if e.sqlstate == INTERNAL_DESK:  # flagged internal-only since the slot was read
            raise SlotTaken() from e
        raise


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


_MOVE = (
    """
    update bookings set desk_id = d.id, starts_at = $3, ends_at = $4, sequence = $5,
           updated_at = now(), moves = moves + $9::int
      from (select d.id
    """
    + _desk_choice(POINT=6, DESKS=2, STEP_FREE=7, START=3, END=4, SELF=1, BOOKED_BY=8)
    + """
           ) d
     where bookings.id = $1
    returning bookings.desk_id
"""
)


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
    """Move the visit to the best free desk at [start, end) (DESK_CHOICE, as a hold chooses)
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
