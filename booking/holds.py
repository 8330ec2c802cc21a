"""Holds that were not confirmed in time give their desk back.

Called when an overdue hold blocks a booking's insert, before a cancellation offers its slot,
before a draw allots, and by the worker's cron for all points (so the visitor is told). Reads
treat a hold past its expiry as expired whether or not this has run yet.
"""

from __future__ import annotations

import asyncpg

from booking.store import add_outbox


async def expire_stale_holds(conn: asyncpg.Connection, point_id: str | None = None) -> list[int]:
    """Mark overdue holds expired, tell their visitors, and offer each freed slot to the
    waitlist; return the outbox ids written."""
    from booking.waitlist import offer_freed_slot, settle_offer

    expired = await conn.fetch(
        """
        update bookings set status = 'expired', updated_at = now()
        where status = 'held' and hold_expires_at <= now()
          and ($1::text is null or point_id = $1)
        returning id, sequence, point_id, service_id, starts_at, waitlist_id
        """,
        point_id,
    )
    outbox = []
    for row in sorted(expired, key=lambda r: (r["starts_at"], r["id"])):
        outbox.append(await add_outbox(conn, row["id"], "hold_expired", row["sequence"]))
        if row["waitlist_id"] is not None:
            await settle_offer(conn, row["id"], "expired")
        outbox += await offer_freed_slot(conn, row["point_id"], row["service_id"], row["starts_at"])
    return outbox
