"""Holds that were not confirmed in time give their desk back.

Called by every booking transaction for its point (so no visit stays `held` past its expiry
even when no worker runs) and by the worker's cron for all points (so the visitor is told).
Reads treat a hold past its expiry as expired whether or not this has run yet.
"""

from __future__ import annotations

import asyncpg


async def expire_stale_holds(conn: asyncpg.Connection, point_id: str | None = None) -> list[int]:
    """Mark overdue holds expired and write their outbox rows; return the outbox ids."""
    rows = await conn.fetch(
        """
        with expired as (
            update bookings set status = 'expired', updated_at = now()
            where status = 'held' and hold_expires_at <= now()
              and ($1::text is null or point_id = $1)
            returning id, sequence
        )
        insert into outbox (booking_id, kind, sequence)
        select id, 'hold_expired', sequence from expired
        returning id
        """,
        point_id,
    )
    return [r["id"] for r in rows]
