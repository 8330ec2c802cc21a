"""Holding a visit, and giving back the desks of holds nobody confirmed.

`place_hold` is the one way a held visit comes to be, whoever asks: a visitor's booking
(booking/visits.py), a draw's allotment (booking/draw.py), a waitlist offer
(booking/waitlist.py). It puts the visit on a desk (booking/store.py) and writes the mail that
carries the confirmation link, in the same transaction: SQL's place_held_visit
(migrations/0060). A visitor's own booking calls it through book_visit, which adds the
Idempotency-Key's answer in the same statement (booking/visits.py).

Overdue holds are expired when one blocks a booking's insert, before a cancellation offers its
slot, before a draw allots, and by the worker's cron for all points (so the visitor is told).
Readers treat a hold past its expiry as expired whether or not this has run yet (SQL's
visit_status()).
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from booking import store
from booking.domain.visit import HeldVisit, HoldSecrets
from scheduling.model import Point

#: The mail a new hold sends: the visitor's own booking and a draw win ask to confirm; a
#: waitlist offer says a time came free and asks the same.
CONFIRMATION_REQUEST = "confirmation_request"
WAITLIST_OFFER = "waitlist_offer"


async def place_hold(
    conn: asyncpg.Connection,
    point: Point,
    desk_ids: tuple[str, ...],
    held: HeldVisit,
    secrets: HoldSecrets,
    *,
    keep_going: bool = False,
    message: str | None = CONFIRMATION_REQUEST,
) -> tuple[store.Placed, int | None] | None:
    """Hold the visit on a free desk and queue its confirmation mail: (placed, outbox id), or
    None when every desk is taken. See store.insert_held for `keep_going`. Without a
    `message` no mail is queued: staff book and confirm at once (booking/staff_booking.py), and
    an alternative offered in the office's cancellation mail has its confirmation link there
    (booking/alternatives.py)."""
    return await store.insert_held(
        conn,
        held,
        desk_ids,
        point,
        keep_going=keep_going,
        message=message,
        payload={"token": secrets.confirm_token} if message else None,
    )


async def expire_overdue(
    conn: asyncpg.Connection, hold: dt.timedelta, point_id: str | None = None
) -> list[int]:
    """Mark overdue holds expired, tell their visitors, and offer each freed slot to the
    waitlist (held for `hold`, HOLD_MINUTES); return the outbox ids written."""
    from booking.waitlist import (  # it holds visits: a cycle
        offer_freed_slot,
        services_waited_for,
        settle_offers,
    )

    expired = sorted(
        await store.expire_overdue(conn, point_id), key=lambda r: (r["starts_at"], r["id"])
    )
    if not expired:
        return []
    # In a few statements however many there are (a point whose holds piled up while no worker
    # ran had tens of thousands, each its own statements, in one booking's transaction): the
    # visitors told, the waitlist offers among them settled, and a freed slot offered only
    # where someone waits for that service.
    outbox = await store.add_outboxes(
        conn, [(r["id"], r["sequence"]) for r in expired], "hold_expired"
    )
    await settle_offers(conn, [r["id"] for r in expired if r["waitlist_id"] is not None], "expired")
    waiting = await services_waited_for(conn, {(r["point_id"], r["service_id"]) for r in expired})
    for row in expired:
        if (row["point_id"], row["service_id"]) in waiting:
            outbox += await offer_freed_slot(
                conn, row["point_id"], row["service_id"], row["starts_at"], hold
            )
    return outbox
