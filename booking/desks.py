"""Putting a visit on a desk: PostgreSQL's exclusion constraint settles who gets it.

Each try runs in a savepoint, so a desk taken a moment ago by another transaction (an
exclusion violation) only moves us to the next desk; the per-person limit (a trigger) and a
reference collision (a unique index) are told apart by their SQLSTATE.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from uuid import UUID

import asyncpg

from booking import store
from booking.secrets import new_reference
from core.problems import Conflict
from scheduling.model import Point

PER_PERSON_LIMIT = "WZ001"  # raised by the bookings_per_person_limit trigger


class PerPersonLimitReached(Conflict):
    type_slug = "per-person-limit"


async def serialize_day(conn: asyncpg.Connection, point: Point, start: dt.datetime) -> None:
    """Take turns, per point and local day, before inserting on a desk.

    The exclusion constraint alone is correct, but PostgreSQL checks it after each insert has
    put its index entry in place: two transactions inserting overlapping visits at once can
    each wait for the other, and a crowd of them makes a chain of deadlocks that PostgreSQL
    breaks one per second (deadlock_timeout). Measured with 200 bookers of one slot, rounds
    then took 5-12 s and once stalled. A transaction-scoped advisory lock per (point, day)
    makes them take turns, each a few milliseconds; the constraint still decides who wins.
    """
    day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date().isoformat()
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended($1, 0))", f"wizyta:day:{point.id}:{day}"
    )


async def take_a_desk(
    conn: asyncpg.Connection, desk_ids: tuple[str, ...], point: Point, **values: object
) -> tuple[UUID, str, str]:
    """Insert the visit on the first free desk; the exclusion constraint settles races."""
    await serialize_day(conn, point, values["starts_at"])  # type: ignore[arg-type]
    desks = list(desk_ids)
    random.shuffle(desks)  # spread concurrent bookers over the desks instead of queueing
    for desk in desks:
        for _ in range(5):  # a reference collision is rare; draw again
            reference = new_reference(point.city)
            try:
                async with conn.transaction():  # a savepoint: one failed desk is not fatal
                    booking_id = await store.insert_visit(
                        conn, reference=reference, desk_id=desk, **values
                    )
                return booking_id, reference, desk
            except asyncpg.UniqueViolationError:
                continue
            except asyncpg.ExclusionViolationError:
                break
            except asyncpg.PostgresError as e:
                if e.sqlstate == PER_PERSON_LIMIT:
                    raise PerPersonLimitReached(
                        "You already have an active visit at this point. Cancel or move it, "
                        "or wait until it has taken place."
                    ) from e
                raise
    raise Conflict("This time has just been taken. Please choose another.", field="start")


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
