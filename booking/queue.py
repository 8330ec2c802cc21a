"""The point's waiting room: arrivals (a booked visit checked in at the kiosk, a walk-in's
ticket), the queue, and the clerk's moves at a desk (call next, recall, park, transfer, done,
no-show).

A booked visit is checked in through booking/office.py's use-case (the state machine and the
store, as on the day sheet), and its "done" completes the visit the same way; the queue's own
rows (queue_tickets, queue_calls: migrations/0035) hold no personal data. A visit checked in
on the day sheet gets its ticket the next time the queue is read (`_arrive_checked_in`).

PostgreSQL settles the races: "call next" takes the first ticket it may call with
`for update skip locked`, so two desks pressing at one instant take two different visitors;
one desk's presses take turns (an advisory lock per desk), and a desk has at most one visitor
called (a unique index). Every change notifies `CHANNEL` with the point's id after commit, for
the waiting room's screens (web/display.py).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import asyncpg
import msgspec

from booking import office, store
from booking.domain.errors import NoSuchVisit
from booking.domain.lifecycle import Event, Status
from booking.domain.queue import (
    LATE_GRACE,
    MAX_PER_DAY,
    NobodyAtDesk,
    NobodyToServe,
    NoSuchDesk,
    NoSuchTicket,
    ReferenceOfAnotherDay,
    ReferenceOfAnotherPoint,
    TicketNotWaiting,
    TooManyTickets,
    WalkInCapReached,
    WalkInServiceNotOffered,
    WalkInsNotTaken,
    estimated_wait,
    read_reference,
    ticket_number,
)
from core.uow import UnitOfWork
from scheduling.model import Point

CHANNEL = "wizyta_queue"
#: How far back the measured service times reach, and how many make a measure.
MEASURE_DAYS = 28
MEASURE_MIN = 3
LAST_CALLS = 8


class QueueSettings(msgspec.Struct, frozen=True, kw_only=True):
    walk_ins: bool = False
    """Whether the kiosk gives tickets to visitors without an appointment."""
    walk_in_cap: int = 0
    """How many such tickets a day."""


class Ticket(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    kind: str
    status: str
    service_id: str
    language: str
    arrived_at: dt.datetime
    appointment_at: dt.datetime | None
    desk_id: str | None
    called_at: dt.datetime | None
    done_at: dt.datetime | None
    calls: int
    reference: str | None = None
    """The booked visit's reference (staff only: the kiosk and the screens never show it)."""


_TICKET = """
    select t.id, t.number, t.kind, t.status, t.service_id, t.language, t.arrived_at,
           t.appointment_at, t.desk_id, t.called_at, t.done_at, t.calls, t.booking_id,
           b.reference
      from queue_tickets t left join bookings b on b.id = t.booking_id
"""

#: The queue's order for desk $2 (booking/domain/queue.py order_key is the same rule).
_ORDER = """
    order by coalesce(t.desk_id = $2, false) desc,
             case when t.appointment_at is not null
                   and t.arrived_at <= t.appointment_at + $3::interval then 0 else 1 end,
             case when t.appointment_at is not null
                   and t.arrived_at <= t.appointment_at + $3::interval
                  then t.appointment_at else t.arrived_at end,
             t.arrived_at, t.id
"""


def ticket_of(row: asyncpg.Record) -> Ticket:
    return Ticket(
        number=row["number"],
        kind=row["kind"],
        status=row["status"],
        service_id=row["service_id"],
        language=row["language"],
        arrived_at=row["arrived_at"],
        appointment_at=row["appointment_at"],
        desk_id=row["desk_id"],
        called_at=row["called_at"],
        done_at=row["done_at"],
        calls=row["calls"],
        reference=row["reference"],
    )


def today_of(point: Point, now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(zoneinfo.ZoneInfo(point.timezone)).date()


def _day_bounds(point: Point, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = zoneinfo.ZoneInfo(point.timezone)
    return (
        dt.datetime.combine(day, dt.time(0), zone),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone),
    )


async def _notify(conn: asyncpg.Connection, point_id: str) -> None:
    """Tell the screens (delivered when the transaction commits; nothing if it rolls back)."""
    await conn.execute("select pg_notify($1, $2)", CHANNEL, point_id)


async def _take_turn(conn: asyncpg.Connection, key: str) -> None:
    await conn.execute("select pg_advisory_xact_lock(hashtextextended($1, 0))", key)


# ---------------------------------------------------------------------------- settings


async def settings_of(conn: asyncpg.Connection, point_id: str) -> QueueSettings:
    row = await conn.fetchrow(
        "select walk_ins, walk_in_cap from queue_settings where point_id = $1", point_id
    )
    return QueueSettings(**dict(row)) if row else QueueSettings()


async def save_settings(conn: asyncpg.Connection, point_id: str, settings: QueueSettings) -> None:
    await conn.execute(
        """
        insert into queue_settings (point_id, walk_ins, walk_in_cap) values ($1, $2, $3)
        on conflict (point_id) do update
           set walk_ins = excluded.walk_ins, walk_in_cap = excluded.walk_in_cap,
               updated_at = now()
        """,
        point_id,
        settings.walk_ins,
        settings.walk_in_cap,
    )
    await _notify(conn, point_id)


# ---------------------------------------------------------------------------- arrivals


async def _new_ticket(
    conn: asyncpg.Connection,
    point: Point,
    day: dt.date,
    kind: str,
    service_id: str,
    language: str,
    *,
    booking_id: Any = None,
    appointment_at: dt.datetime | None = None,
    arrived_at: dt.datetime | None = None,
) -> Ticket:
    """A ticket with the day's next number of its kind (callers hold the day's turn)."""
    seq = await conn.fetchval(
        "select coalesce(max(seq), 0) + 1 from queue_tickets "
        "where point_id = $1 and day = $2 and kind = $3",
        point.id,
        day,
        kind,
    )
    if seq > MAX_PER_DAY:
        raise TooManyTickets()
    await conn.execute(
        """
        insert into queue_tickets (point_id, day, kind, seq, number, booking_id, service_id,
                                   language, appointment_at, arrived_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()))
        """,
        point.id,
        day,
        kind,
        seq,
        ticket_number(kind, seq),
        booking_id,
        service_id,
        language,
        appointment_at,
        arrived_at,
    )
    row = await conn.fetchrow(
        _TICKET + " where t.point_id = $1 and t.day = $2 and t.number = $3",
        point.id,
        day,
        ticket_number(kind, seq),
    )
    return ticket_of(row)


async def _arrive_checked_in(conn: asyncpg.Connection, point: Point, day: dt.date) -> int:
    """Give a ticket to each visit of the day checked in without one (on the day sheet), in
    the order they were checked in. Returns how many."""
    start, end = _day_bounds(point, day)
    rows = await conn.fetch(
        """
        select b.id, b.service_id, b.language, b.starts_at, b.updated_at
          from bookings b
         where b.point_id = $1 and b.starts_at >= $2 and b.starts_at < $3
           and visit_status(b.status, b.hold_expires_at) = $4
           and not exists (select from queue_tickets t where t.booking_id = b.id)
         order by b.updated_at, b.id
        """,
        point.id,
        start,
        end,
        Status.CHECKED_IN.value,
    )
    if not rows:
        return 0
    await _take_turn(conn, f"wizyta:queue:{point.id}:{day.isoformat()}")
    made = 0
    for r in rows:
        if await conn.fetchval(
            "select exists (select from queue_tickets where booking_id = $1)", r["id"]
        ):
            continue  # another request gave it one while we waited for the turn
        await _new_ticket(
            conn,
            point,
            day,
            "visit",
            r["service_id"],
            r["language"],
            booking_id=r["id"],
            appointment_at=r["starts_at"],
            arrived_at=r["updated_at"],
        )
        made += 1
    if made:
        await _notify(conn, point.id)
    return made


async def check_in(uow: UnitOfWork, point: Point, typed: str) -> Ticket:
    """The kiosk: check in the visit whose reference (or QR payload) was typed, and give its
    ticket; the same ticket again if it was checked in already. Refusals: the reference is
    unreadable, unknown, of another point or another day, or the visit cannot be checked in
    (cancelled, done...). Nothing is written when refused."""
    reference = read_reference(typed)

    async def work(conn: asyncpg.Connection) -> Ticket:
        row = await store.by_reference(conn, reference)
        if row is None:
            raise NoSuchVisit(reference=reference)
        if row["point_id"] != point.id:
            raise ReferenceOfAnotherPoint(reference=reference)
        today = today_of(point)
        day = today_of(point, row["starts_at"])
        if day != today:
            raise ReferenceOfAnotherDay(reference=reference, day=day.isoformat())
        if row["status"] != Status.CHECKED_IN:
            await office.record(
                uow, reference, Event.CHECK_IN, authorize=lambda _: None, audited=_not_audited
            )
        await _arrive_checked_in(conn, point, today)
        found = await conn.fetchrow(_TICKET + " where t.booking_id = $1", row["id"])
        return ticket_of(found)

    return await uow.atomic(work)


async def _not_audited(*_: Any) -> None:
    """The kiosk is not a staff member: its check-ins are in the queue's own rows."""


async def take_walk_in(uow: UnitOfWork, point: Point, service_id: str, language: str) -> Ticket:
    """A ticket without an appointment, if the point takes walk-ins, offers the service in the
    language, and has not given out its day's cap."""

    async def work(conn: asyncpg.Connection) -> Ticket:
        settings = await settings_of(conn, point.id)
        if not settings.walk_ins:
            raise WalkInsNotTaken()
        offered = await conn.fetchval(
            """
            select true from point_services
             where point_id = $1 and service_id = $2 and active and $3 = any(languages)
            """,
            point.id,
            service_id,
            language,
        )
        if not offered:
            raise WalkInServiceNotOffered(service_id=service_id, language=language)
        today = today_of(point)
        await _take_turn(conn, f"wizyta:queue:{point.id}:{today.isoformat()}")
        given = await conn.fetchval(
            "select count(*) from queue_tickets where point_id = $1 and day = $2 "
            "and kind = 'walk_in'",
            point.id,
            today,
        )
        if given >= settings.walk_in_cap:
            raise WalkInCapReached(cap=settings.walk_in_cap)
        ticket = await _new_ticket(conn, point, today, "walk_in", service_id, language)
        await _notify(conn, point.id)
        return ticket

    return await uow.atomic(work)


# ---------------------------------------------------------------------------- the queue


async def queue_of(
    conn: asyncpg.Connection, point: Point, day: dt.date | None = None
) -> list[Ticket]:
    """The day's tickets: waiting ones in the queue's order, then called, parked, finished."""
    day = day or today_of(point)
    if day == today_of(point):
        async with conn.transaction():
            await _arrive_checked_in(conn, point, day)
    rows = await conn.fetch(
        _TICKET
        + """
        where t.point_id = $1 and t.day = $4
        """
        + _ORDER.replace(
            "order by",
            "order by array_position(array['called','waiting','parked','done','no_show'], "
            "t.status),",
        ),
        point.id,
        None,
        LATE_GRACE,
        day,
    )
    return [ticket_of(r) for r in rows]


async def _desk(conn: asyncpg.Connection, point_id: str, desk_id: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        "select id, languages from desks where point_id = $1 and id = $2 and active",
        point_id,
        desk_id,
    )
    if row is None:
        raise NoSuchDesk(point_id=point_id, desk_id=desk_id)
    return row


async def _current(conn: asyncpg.Connection, point_id: str, desk_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        _TICKET + " where t.point_id = $1 and t.desk_id = $2 and t.status = 'called' "
        "for update of t",
        point_id,
        desk_id,
    )


async def _finish(
    uow: UnitOfWork, conn: asyncpg.Connection, ticket: asyncpg.Record, status: str
) -> None:
    """The desk is done with the visitor (done) or they did not come to it (no_show). A booked
    visit is completed or marked no-show through the office's use-case, as on the day sheet."""
    await conn.execute(
        "update queue_tickets set status = $2, done_at = now() where id = $1",
        ticket["id"],
        status,
    )
    if ticket["reference"] is not None:
        visit = await store.by_reference(conn, ticket["reference"])
        if visit is not None and visit["status"] == Status.CHECKED_IN:
            await office.record(
                uow,
                ticket["reference"],
                Event.COMPLETE if status == "done" else Event.NO_SHOW,
                authorize=lambda _: None,
                audited=_not_audited,
            )


async def _call(conn: asyncpg.Connection, point: Point, desk_id: str, ticket_id: int) -> Ticket:
    """Call the ticket to the desk, log the call for the screens and tell them: one statement."""
    row = await conn.fetchrow(
        """
        with called as (
            update queue_tickets set status = 'called', desk_id = $2, calls = calls + 1,
                   called_at = coalesce(called_at, now())
             where id = $1
            returning *
        ), logged as (
            insert into queue_calls (point_id, ticket_id, desk_id)
            select point_id, id, desk_id from called
        ), told as (
            select pg_notify($3, $4)
        )
        select t.*, b.reference
          from called t left join bookings b on b.id = t.booking_id, told
        """,
        ticket_id,
        desk_id,
        CHANNEL,
        point.id,
    )
    return ticket_of(row)


async def call_next(
    uow: UnitOfWork, point: Point, desk_id: str, services: list[str] | None = None
) -> Ticket:
    """Call the first visitor in the queue this desk can serve (its languages; `services`, when
    given, the services it takes now), finishing the desk's current visitor as done. Nobody to
    serve: NobodyToServe, and nothing changes."""

    async def work(conn: asyncpg.Connection) -> Ticket:
        desk = await _desk(conn, point.id, desk_id)
        today = today_of(point)
        await _arrive_checked_in(conn, point, today)
        await _take_turn(conn, f"wizyta:desk:{desk_id}")
        next_id = await conn.fetchval(
            """
            select t.id from queue_tickets t
             where t.point_id = $1 and t.day = $4 and t.status = 'waiting'
               and (t.desk_id is null or t.desk_id = $2)
               and (t.desk_id = $2 or (t.language = any($5::text[])
                    and ($6::text[] is null or t.service_id = any($6::text[]))))
            """
            + _ORDER
            + " limit 1 for update of t skip locked",
            point.id,
            desk_id,
            LATE_GRACE,
            today,
            list(desk["languages"]),
            services,
        )
        if next_id is None:
            raise NobodyToServe(desk_id=desk_id)
        current = await _current(conn, point.id, desk_id)
        if current is not None:
            await _finish(uow, conn, current, "done")
        return await _call(conn, point, desk_id, next_id)

    return await uow.atomic(work)


async def call_ticket(uow: UnitOfWork, point: Point, desk_id: str, number: str) -> Ticket:
    """Call one ticket by its number (a parked visitor back, or one the clerk picks)."""

    async def work(conn: asyncpg.Connection) -> Ticket:
        await _desk(conn, point.id, desk_id)
        await _take_turn(conn, f"wizyta:desk:{desk_id}")
        row = await conn.fetchrow(
            _TICKET + " where t.point_id = $1 and t.day = $2 and t.number = $3 for update of t",
            point.id,
            today_of(point),
            number,
        )
        if row is None:
            raise NoSuchTicket(number=number)
        if row["status"] not in ("waiting", "parked"):
            raise TicketNotWaiting(number=number, ticket_status=row["status"])
        current = await _current(conn, point.id, desk_id)
        if current is not None:
            await _finish(uow, conn, current, "done")
        return await _call(conn, point, desk_id, row["id"])

    return await uow.atomic(work)


async def _at_desk(uow: UnitOfWork, point: Point, desk_id: str, change: Any) -> Ticket:
    async def work(conn: asyncpg.Connection) -> Ticket:
        await _desk(conn, point.id, desk_id)
        await _take_turn(conn, f"wizyta:desk:{desk_id}")
        current = await _current(conn, point.id, desk_id)
        if current is None:
            raise NobodyAtDesk(desk_id=desk_id)
        await change(conn, current)
        await _notify(conn, point.id)
        return ticket_of(await conn.fetchrow(_TICKET + " where t.id = $1", current["id"]))

    return await uow.atomic(work)


async def recall(uow: UnitOfWork, point: Point, desk_id: str) -> Ticket:
    """Call the desk's visitor again (the screen shows and reads the number once more)."""

    async def change(conn: asyncpg.Connection, ticket: asyncpg.Record) -> None:
        await conn.execute("update queue_tickets set calls = calls + 1 where id = $1", ticket["id"])
        await conn.execute(
            "insert into queue_calls (point_id, ticket_id, desk_id) values ($1, $2, $3)",
            point.id,
            ticket["id"],
            desk_id,
        )

    return await _at_desk(uow, point, desk_id, change)


async def park(uow: UnitOfWork, point: Point, desk_id: str) -> Ticket:
    """The visitor stepped out: set aside until called by number or returned to the queue."""

    async def change(conn: asyncpg.Connection, ticket: asyncpg.Record) -> None:
        await conn.execute("update queue_tickets set status = 'parked' where id = $1", ticket["id"])

    return await _at_desk(uow, point, desk_id, change)


async def transfer(uow: UnitOfWork, point: Point, desk_id: str, to_desk: str) -> Ticket:
    """Send the desk's visitor to another desk: first in that desk's queue."""

    async def change(conn: asyncpg.Connection, ticket: asyncpg.Record) -> None:
        await _desk(conn, point.id, to_desk)
        await conn.execute(
            "update queue_tickets set status = 'waiting', desk_id = $2 where id = $1",
            ticket["id"],
            to_desk,
        )

    return await _at_desk(uow, point, desk_id, change)


async def done(uow: UnitOfWork, point: Point, desk_id: str) -> Ticket:
    async def change(conn: asyncpg.Connection, ticket: asyncpg.Record) -> None:
        await _finish(uow, conn, ticket, "done")

    return await _at_desk(uow, point, desk_id, change)


async def no_show(uow: UnitOfWork, point: Point, desk_id: str) -> Ticket:
    async def change(conn: asyncpg.Connection, ticket: asyncpg.Record) -> None:
        await _finish(uow, conn, ticket, "no_show")

    return await _at_desk(uow, point, desk_id, change)


async def return_to_queue(uow: UnitOfWork, point: Point, number: str) -> Ticket:
    """A parked visitor is back: waiting again in their place (their arrival keeps it)."""

    async def work(conn: asyncpg.Connection) -> Ticket:
        row = await conn.fetchrow(
            _TICKET + " where t.point_id = $1 and t.day = $2 and t.number = $3 for update of t",
            point.id,
            today_of(point),
            number,
        )
        if row is None:
            raise NoSuchTicket(number=number)
        if row["status"] != "parked":
            raise TicketNotWaiting(number=number, ticket_status=row["status"])
        await conn.execute(
            "update queue_tickets set status = 'waiting', desk_id = null where id = $1", row["id"]
        )
        await _notify(conn, point.id)
        return ticket_of(await conn.fetchrow(_TICKET + " where t.id = $1", row["id"]))

    return await uow.atomic(work)


# ---------------------------------------------------------------------------- the screens


class Call(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    number: str
    desk_id: str
    desk: dict[str, str]
    at: dt.datetime
    room: str | None = None
    """The desk's room ("pokój 12"), shown beside its name."""


class Board(msgspec.Struct, frozen=True, kw_only=True):
    """What the waiting room's screen shows: nothing about a person."""

    point_id: str
    now_serving: list[Call]
    """Each desk's visitor now called, latest call first."""
    last_calls: list[Call]
    waiting: int
    wait_minutes: int | None
    """For a walk-in taking a ticket now; None when the point takes no walk-ins."""


async def board(conn: asyncpg.Connection, point: Point) -> Board:
    today = today_of(point)
    start, _ = _day_bounds(point, today)
    rows = await conn.fetch(
        """
        select c.id, t.number, c.desk_id, d.names as desk, d.room, c.called_at as at,
               t.status = 'called' and t.desk_id = c.desk_id as serving
          from queue_calls c
          join queue_tickets t on t.id = c.ticket_id
          join desks d on d.point_id = c.point_id and d.id = c.desk_id
         where c.point_id = $1 and c.called_at >= $2
         order by c.id desc
         limit 100
        """,
        point.id,
        start,
    )
    calls = [
        Call(
            id=r["id"],
            number=r["number"],
            desk_id=r["desk_id"],
            desk=r["desk"],
            room=r["room"],
            at=r["at"],
        )
        for r in rows
    ]
    serving: dict[str, Call] = {}
    for call, row in zip(calls, rows, strict=True):
        if row["serving"] and call.number not in serving:
            serving[call.number] = call
    waiting = await conn.fetchval(
        "select count(*) from queue_tickets where point_id = $1 and day = $2 "
        "and status = 'waiting'",
        point.id,
        today,
    )
    return Board(
        point_id=point.id,
        now_serving=list(serving.values()),
        last_calls=calls[:LAST_CALLS],
        waiting=waiting,
        wait_minutes=await wait_for_walk_in(conn, point, waiting),
    )


async def wait_for_walk_in(
    conn: asyncpg.Connection, point: Point, waiting: int | None = None
) -> int | None:
    """Minutes a walk-in taking a ticket now waits, from the point's measured service times
    (the median of the last MEASURE_DAYS; the services' planned durations until there are
    MEASURE_MIN measures) and the desks that called someone in the last hour (at least one).
    None when the point takes no walk-ins."""
    if not (await settings_of(conn, point.id)).walk_ins:
        return None
    if waiting is None:
        waiting = await conn.fetchval(
            "select count(*) from queue_tickets where point_id = $1 and day = $2 "
            "and status = 'waiting'",
            point.id,
            today_of(point),
        )
    measured = await conn.fetchrow(
        """
        select count(*) as n,
               percentile_cont(0.5) within group (
                   order by extract(epoch from done_at - called_at) / 60) as median
          from queue_tickets
         where point_id = $1 and status = 'done' and called_at is not null
           and done_at > now() - make_interval(days => $2)
        """,
        point.id,
        MEASURE_DAYS,
    )
    if measured["n"] >= MEASURE_MIN:
        minutes = float(measured["median"])
    else:
        minutes = float(
            await conn.fetchval(
                "select coalesce(avg(duration_minutes), 15) from point_services "
                "where point_id = $1 and active",
                point.id,
            )
        )
    desks = await conn.fetchval(
        "select count(distinct desk_id) from queue_calls "
        "where point_id = $1 and called_at > now() - interval '1 hour'",
        point.id,
    )
    return estimated_wait(waiting, minutes, desks)
