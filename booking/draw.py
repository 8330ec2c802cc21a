"""The draw after a release: fair access when a new day is published.

Requests for a newly released day that arrive in the first `draw_minutes` after its release
are not served first come, first served: each becomes an entry (one per person and day). When
the window closes, the entries are put in random order (a CSPRNG shuffle: arrival time and
speed give no advantage) and each, in that order, gets the free slot nearest to the time it
asked for — or none when the day is full. Every entrant gets an answer: a held visit to
confirm from the e-mail, or "not drawn". The draw runs from the worker's cron, and also
lazily whenever someone asks for an entry's result or books that day, so no answer and no
first-come booking waits on the worker.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from uuid import UUID

import asyncpg
import msgspec

from booking import store
from booking.caller import Caller, token_key
from booking.domain.draw import Board, draw_order, preference
from booking.domain.errors import (
    AlreadyInDraw,
    DrawEntryNotFound,
    DrawTokenMissing,
    PerPersonLimit,
)
from booking.domain.visit import Visitor, hold_visit
from booking.holds import expire_overdue, place_hold
from booking.secrets import email_key, new_token, token_hash, token_matches
from scheduling import config as point_config
from scheduling import store as scheduling_store
from scheduling.availability import busy_periods, local_day_bounds, public_schedules, slots_from
from scheduling.model import Point
from scheduling.releases import draw_window


class DrawEntry(msgspec.Struct, frozen=True, kw_only=True):
    entry_id: UUID
    status: str  # entered | won | lost
    point_id: str
    day: dt.date
    requested_start: dt.datetime
    decided_at: dt.datetime | None
    draw_closes_at: dt.datetime
    reference: str | None = None  # the visit won, to confirm from the e-mail
    token: str | None = None  # shown once, when entering


def open_window(
    point: Point, day: dt.date, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime] | None:
    """The draw window of `day` if `now` is inside it."""
    if point.release_time is None or point.release_days_ahead is None:
        return None
    start, end = draw_window(
        day, point.timezone, point.release_time, point.release_days_ahead, point.draw_minutes
    )
    return (start, end) if start <= now < end else None


async def enter(
    conn: asyncpg.Connection,
    point: Point,
    service_id: str,
    language: str,
    start: dt.datetime,
    closes: dt.datetime,
    *,
    visitor: Visitor,
    notes: str | None,
    needs: list[str],
    mail_language: str | None = None,
) -> DrawEntry:
    """Enter the draw of `start`'s day (one entry per person and day)."""
    token = new_token()
    day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date()
    row = await conn.fetchrow(
        """
        insert into draw_entries (point_id, day, service_id, language, requested_start,
            visitor_name, visitor_email, visitor_email_key, visitor_phone, notes, needs,
            token_hash, mail_language)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        on conflict do nothing
        returning id, status, decided_at
        """,
        point.id,
        day,
        service_id,
        language,
        start,
        visitor.name,
        visitor.email,
        email_key(visitor.email or ""),
        visitor.phone,
        notes,
        needs,
        token_hash(token),
        mail_language,
    )
    if row is None:  # the unique (point, day, person) index
        raise AlreadyInDraw(day=day.isoformat())
    return DrawEntry(
        entry_id=row["id"],
        status=row["status"],
        point_id=point.id,
        day=day,
        requested_start=start,
        decided_at=None,
        draw_closes_at=closes,
        token=token,
    )


def due(point: Point, day: dt.date, now: dt.datetime) -> bool:
    """Whether the draw of (point, day) may be waiting to be decided: its window has closed
    (decide_due then decides it if it is undecided). No query: most points hold no draw."""
    if point.release_time is None or point.release_days_ahead is None:
        return False
    _, end = draw_window(
        day, point.timezone, point.release_time, point.release_days_ahead, point.draw_minutes
    )
    return now >= end


async def decide_due(
    conn: asyncpg.Connection,
    point: Point,
    day: dt.date,
    hold: dt.timedelta,
    now: dt.datetime | None = None,
) -> list[int]:
    """Decide the draw of (point, day) if its window has closed and it is undecided."""
    if point.release_time is None or point.release_days_ahead is None:
        return []
    _, end = draw_window(
        day, point.timezone, point.release_time, point.release_days_ahead, point.draw_minutes
    )
    if now is None:
        now = await conn.fetchval("select now()")
    if now < end:
        return []
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended('wizyta:draw:' || $1 || ':' || $2, 0))",
        point.id,
        day.isoformat(),
    )
    entries = list(
        await conn.fetch(
            """
            select * from draw_entries where point_id = $1 and day = $2 and status = 'entered'
            order by arrival for update
            """,
            point.id,
            day,
        )
    )
    if not entries:
        return []
    outbox = await expire_overdue(conn, hold, point.id)  # overdue holds give their desks back
    config, _ = await point_config.current(conn, point.id)
    if config.internal_places:  # the public's part of each slot is judged after every booking
        await store.take_turn(conn, point, noon(point, day))
    board = await _board(conn, config, day, now)
    order = draw_order(entries)
    won: list[UUID | None] = []
    for entry in order:
        booking_id, sent = await _allot(conn, config.point, board, entry, now, hold)
        won.append(booking_id)
        outbox += sent
    await conn.execute(
        """
        update draw_entries e
           set status = case when w.booking_id is null then 'lost' else 'won' end,
               booking_id = w.booking_id, decided_at = now()
          from unnest($1::uuid[], $2::uuid[]) as w (id, booking_id)
         where e.id = w.id
        """,
        [entry["id"] for entry in order],
        won,
    )
    return outbox


def noon(point: Point, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), zoneinfo.ZoneInfo(point.timezone))


async def _board(
    conn: asyncpg.Connection, config: point_config.PointConfig, day: dt.date, now: dt.datetime
) -> Board:
    """The day's desks and visits, read once per draw (booking/domain/draw.py keeps them)."""
    point = config.point
    desks = public_schedules(config, day, day)  # a draw allots the public's capacity
    start, end = local_day_bounds(point.timezone, day, day)
    kept = config.internal_places

    def engine(service_id: str, language: str, busy) -> list:
        offer = config.services.get(service_id)
        if offer is None:
            return []  # the service was withdrawn after the entry
        (found,) = slots_from(point, offer, language, day, day, now, desks, list(busy), kept=kept)
        return list(found.slots)

    return Board(engine, await busy_periods(conn, point.id, start, end, held_back_at=now))


async def _allot(
    conn: asyncpg.Connection,
    point: Point,
    board: Board,
    entry: asyncpg.Record,
    now: dt.datetime,
    hold: dt.timedelta,
) -> tuple[UUID | None, list[int]]:
    """Hold the free slot nearest to the time the entry asked for, if any is left."""
    visitor = Visitor(entry["visitor_name"], entry["visitor_email"], entry["visitor_phone"])
    for slot in preference(
        board.slots(entry["service_id"], entry["language"]), entry["requested_start"]
    ):
        held, secrets = hold_visit(
            point_id=point.id,
            service_id=entry["service_id"],
            start=slot.start,
            end=slot.end,
            language=entry["language"],
            visitor=visitor,
            now=now,
            hold=hold,
            notes=entry["notes"],
            needs=tuple(entry["needs"]),
            mail_language=entry["mail_language"],
            # A winner's mail carries the confirmation link; the manage token comes with it.
            manage_token_issued=False,
        )
        try:
            placed = await place_hold(conn, point, slot.desk_ids, held, secrets, keep_going=True)
        except PerPersonLimit:
            return None, []  # they already hold a visit at this point
        if placed is None:
            continue  # taken a moment ago on every desk: try the next nearest
        booking, outbox_id = placed
        board.taken(booking.desk_id, slot.start, slot.end)
        return booking.id, [outbox_id]
    return None, []


async def run_due_draws(pool: asyncpg.Pool, hold: dt.timedelta) -> list[int]:
    """Decide every draw whose window has closed (the worker's cron); return outbox ids."""
    async with pool.acquire() as conn:
        due = await conn.fetch(
            "select distinct point_id, day from draw_entries where status = 'entered'"
        )
    outbox: list[int] = []
    for row in due:
        async with pool.acquire() as conn, conn.transaction():
            point = await scheduling_store.get_point(conn, row["point_id"])
            outbox += await decide_due(conn, point, row["day"], hold)
    return outbox


async def answer(caller: Caller, entry_id: UUID, token: str | None) -> DrawEntry:
    """The use-case behind the API's and the page's answer to an entrant.

    With the process's draw desk (`caller.draws`, booking/draw_batch.py), the entry is read with
    the others asked for at that moment, a due draw is decided once for them all, and the request
    takes no connection of its own; without it, this request reads and decides in its own
    transaction."""
    await caller.limit("manage", person=token_key(str(entry_id), token))
    if caller.draws is not None:
        return await _answer_read(caller, entry_id, token)

    async def work(conn: asyncpg.Connection) -> DrawEntry:
        entry, outbox = await result(conn, entry_id, token, caller.hold)
        caller.uow.send(outbox)
        return entry

    return await caller.uow.atomic(work)


async def _answer_read(caller: Caller, entry_id: UUID, token: str | None) -> DrawEntry:
    """`answer` through the process's grouped reads (booking/draw_batch.py): an entry's row is
    read with the others asked for at that moment, and a due draw decided once for them all."""
    if not token:
        raise DrawTokenMissing()
    row = await caller.draws.read(entry_id)
    if row is None or not token_matches(token, row["token_hash"]):
        raise DrawEntryNotFound()
    if row["status"] == "entered" and row["release_time"] is not None:
        _, closes = _window_of(row)
        if row["now"] >= closes:
            await caller.draws.decide(row["point_id"], row["day"], caller.hold)
            row = await caller.draws.read(entry_id)
            if row is None:
                raise DrawEntryNotFound()
    _, closes = _window_of(row)
    return DrawEntry(
        entry_id=row["id"],
        status=row["status"],
        point_id=row["point_id"],
        day=row["day"],
        requested_start=row["requested_start"],
        decided_at=row["decided_at"],
        draw_closes_at=closes,
        reference=row["reference"],
    )


def _window_of(row: asyncpg.Record) -> tuple[dt.datetime, dt.datetime]:
    return draw_window(
        row["day"], row["timezone"], row["release_time"], row["release_days_ahead"],
        row["draw_minutes"],
    )  # fmt: skip


async def result(
    conn: asyncpg.Connection,
    entry_id: UUID,
    token: str | None,
    hold: dt.timedelta,
) -> tuple[DrawEntry, list[int]]:
    """An entrant's answer; decides the draw first if its window has closed."""
    if not token:
        raise DrawTokenMissing()
    row = await _entry(conn, entry_id)
    if row is None or not token_matches(token, row["token_hash"]):
        raise DrawEntryNotFound()
    config, now = await point_config.current(conn, row["point_id"])
    point = config.point
    outbox: list[int] = []
    if row["status"] == "entered":  # undecided: decide it if its window has closed
        outbox = await decide_due(conn, point, row["day"], hold, now)
        row = await _entry(conn, entry_id)
    _, closes = draw_window(
        row["day"],
        point.timezone,
        point.release_time,
        point.release_days_ahead,
        point.draw_minutes,
    )
    entry = DrawEntry(
        entry_id=row["id"],
        status=row["status"],
        point_id=row["point_id"],
        day=row["day"],
        requested_start=row["requested_start"],
        decided_at=row["decided_at"],
        draw_closes_at=closes,
        reference=row["reference"],
    )
    return entry, outbox


async def _entry(conn: asyncpg.Connection, entry_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        select e.*, b.reference from draw_entries e left join bookings b on b.id = e.booking_id
        where e.id = $1
        """,
        entry_id,
    )
