"""Putting a visit on a desk: PostgreSQL's exclusion constraint settles who gets it.

The insert says `on conflict do nothing`, so a desk taken a moment ago by another transaction
(the exclusion constraint) or a reference drawn twice (a unique index) returns no row instead
of failing the transaction: no savepoint is needed. The per-person limit (a trigger) still
raises, and is told apart by its SQLSTATE.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import zoneinfo
from uuid import UUID

import asyncpg

from booking.secrets import new_reference
from core.problems import Conflict
from scheduling.model import Point

PER_PERSON_LIMIT = "WZ001"  # raised by the bookings_per_person_limit trigger


class PerPersonLimitReached(Conflict):
    type_slug = "per-person-limit"


def day_lock(point: Point, start: dt.datetime) -> str:
    """Take turns, per point and local day, before inserting on a desk.

    The exclusion constraint alone is correct, but PostgreSQL checks it after each insert has
    put its index entry in place: two transactions inserting overlapping visits at once can
    each wait for the other, and a crowd of them makes a chain of deadlocks that PostgreSQL
    breaks one per second (deadlock_timeout). Measured with 200 bookers of one slot, rounds
    then took 5-12 s and once stalled. A transaction-scoped advisory lock per (point, day)
    makes them take turns, each a few milliseconds; the constraint still decides who wins.
    """
    day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date().isoformat()
    return f"wizyta:day:{point.id}:{day}"


async def serialize_day(conn: asyncpg.Connection, point: Point, start: dt.datetime) -> None:
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended($1, 0))", day_lock(point, start)
    )


async def _insert_if_free(conn: asyncpg.Connection, lock: str, **values: object) -> UUID | None:
    """One statement: wait for the day's turn, then insert unless a constraint objects."""
    columns = list(values)
    params = ", ".join(f"${i}" for i in range(2, len(columns) + 2))
    return await conn.fetchval(
        f"""
        with turn as (select pg_advisory_xact_lock(hashtextextended($1, 0)))
        insert into bookings ({", ".join(columns)}) select {params} from turn
        on conflict do nothing returning id
        """,
        lock,
        *values.values(),
    )


TAKEN = "This time has just been taken. Please choose another."


async def take_a_desk(
    conn: asyncpg.Connection,
    desk_ids: tuple[str, ...],
    point: Point,
    *,
    keep_going: bool = False,
    **values: object,
) -> tuple[UUID, str, str] | None:
    """Insert the visit on a free desk, or return None when every one is taken.

    PerPersonLimitReached aborts the transaction, unless `keep_going` (a draw or a waitlist
    offer, which go on to the next person) runs the insert in a savepoint."""
    lock = day_lock(point, values["starts_at"])  # type: ignore[arg-type]
    desks = list(desk_ids)
    random.shuffle(desks)  # spread concurrent bookers over the desks instead of queueing
    for desk in desks:
        for _ in range(5):  # a reference drawn twice is rare; draw again
            reference = new_reference(point.city)
            try:
                async with conn.transaction() if keep_going else contextlib.nullcontext():
                    booking_id = await _insert_if_free(
                        conn, lock, reference=reference, desk_id=desk, **values
                    )
            except asyncpg.PostgresError as e:
                if e.sqlstate == PER_PERSON_LIMIT:
                    raise PerPersonLimitReached(
                        "You already have an active visit at this point. Cancel or move it, "
                        "or wait until it has taken place."
                    ) from e
                raise
            if booking_id is not None:
                return booking_id, reference, desk
            if not await conn.fetchval(
                "select exists (select from bookings where reference = $1)", reference
            ):
                break  # the desk is taken, not the reference
    return None


async def move_to_a_desk(
    conn: asyncpg.Connection,
    point: Point,
    booking_id: UUID,
    desk_ids: tuple[str, ...],
    start: dt.datetime,
    end: dt.datetime,
    sequence: int,
) -> str | None:
    await serialize_day(conn, point, start)
    for desk in desk_ids:
        try:
            async with conn.transaction():
                await conn.execute(
                    """
                    update bookings set desk_id = $2, starts_at = $3, ends_at = $4,
                           sequence = $5, updated_at = now()
                    where id = $1
                    """,
                    booking_id,
                    desk,
                    start,
                    end,
                    sequence,
                )
            return desk
        except asyncpg.ExclusionViolationError:
            continue
    return None
