"""The fair rules (booking/domain/fair.py) applied to visits: read per offer, and the places
freed late held back from public booking.

The visitor's cancel and move (booking/visits.py) ask `check_change` before changing anything,
and give the place they free back through `free_place`: the waitlist is offered it first, in
the same transaction (booking/waitlist.py); when nobody takes it and it was freed late, it is
written down as held back until the offer's delay has passed. The public's slot engine counts
such a place as busy until then (scheduling/availability.py `busy_periods`); staff see it free.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from booking.domain.fair import FairRules, check_change, held_back_until
from booking.waitlist import offer_freed_slot

__all__ = ["FairRules", "check_change", "free_place", "rules_of"]


async def rules_of(conn: asyncpg.Connection, point_id: str, service_id: str) -> FairRules:
    """The offer's fair rules (a withdrawn offer's too: its visits may still be changed)."""
    row = await conn.fetchrow(
        """
        select ps.change_cutoff_minutes, ps.max_moves, ps.late_cancel_minutes,
               ps.release_delay_minutes, p.phones
        from point_services ps join points p on p.id = ps.point_id
        where ps.point_id = $1 and ps.service_id = $2
        """,
        point_id,
        service_id,
    )
    if row is None:
        return FairRules()
    return FairRules(
        change_cutoff=dt.timedelta(minutes=row["change_cutoff_minutes"]),
        max_moves=row["max_moves"],
        late_cancel=dt.timedelta(minutes=row["late_cancel_minutes"]),
        release_delay=dt.timedelta(minutes=row["release_delay_minutes"]),
        phone=row["phones"][0] if row["phones"] else None,
    )


async def free_place(
    conn: asyncpg.Connection,
    rules: FairRules,
    visit: Any,
    now: dt.datetime,
    hold: dt.timedelta,
) -> list[int]:
    """The place `visit` (a bookings row as it was before the change) has just given up: offer
    it to the waitlist (hold: HOLD_MINUTES), else hold it back if it was freed late. Returns
    the outbox ids written."""
    offered = await offer_freed_slot(
        conn, visit["point_id"], visit["service_id"], visit["starts_at"], hold
    )
    until = held_back_until(rules, visit["starts_at"], now)
    if not offered and until is not None:
        await conn.execute(
            """
            insert into held_back_places (point_id, desk_id, starts_at, ends_at, until, booking_id)
            values ($1, $2, $3, $4, $5, $6)
            """,
            visit["point_id"],
            visit["desk_id"],
            visit["starts_at"],
            visit["ends_at"],
            until,
            visit["id"],
        )
    return offered
