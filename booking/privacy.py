"""The visitor's own data: everything wizyta holds about them, to download (GDPR art. 15 and
20, as JSON) or to erase at once (art. 17).

A visitor proves who they are as for every other change of their visit: the manage link (the
token shown once after booking, or the link mailed to the address they booked with, which
/bookings/link sends again given the reference and that address). Both acts are written to the
audit log without the data itself: which visit, which act, when.

Erasing cancels the visit first if it is still ahead (booking/visits.py `cancel`, the same
use-case as the visitor's own cancellation: the desk is freed and offered to the waitlist),
then removes the personal data at once (booking/retention.py `forget_visit`, the purge's own
statement for one visit): name, e-mail, phone, notes, needs, the messages' contents, the draw
or waitlist entry the visit came from, the idempotency key's sealed answer. What stays is
anonymous: point, service, time, language, status, which the office's figures count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from booking import retention, store, visits
from booking.caller import Caller
from booking.domain.errors import ChangeCutOffPassed, VisitNotFound
from booking.domain.lifecycle import Event, sources

FORMAT = "wizyta-personal-data/1"


async def _audit(conn: asyncpg.Connection, act: str, row: asyncpg.Record, after: Any) -> None:
    """The act, the visit's reference and point: nothing of the data."""
    await conn.execute(
        """
        insert into audit_log (action, entity, entity_id, point_id, after)
        values ($1, 'personal_data', $2, $3, $4)
        """,
        act,
        row["reference"],
        row["point_id"],
        {"by": "visitor", **after},
    )


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


async def export(caller: Caller, reference: str, token: str | None) -> dict[str, Any]:
    """Everything held about the visitor of this visit, as plain JSON values."""
    await visits.get(caller, reference, token)  # the same proof as every other act

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        row = await conn.fetchrow(
            """
            select b.*, visit_status(b.status, b.hold_expires_at) as effective_status,
                   p.timezone
              from bookings b join points p on p.id = b.point_id
             where b.reference = $1
            """,
            reference,
        )
        if row is None:
            raise VisitNotFound()
        messages = await conn.fetch(
            """
            select kind, created_at, due_at, sent_at, failed_at from outbox
             where booking_id = $1 order by id
            """,
            row["id"],
        )
        draws = await conn.fetch(
            """
            select point_id, day, service_id, language, requested_start, visitor_name,
                   visitor_email, visitor_phone, notes, needs, status, created_at, decided_at
              from draw_entries where booking_id = $1
            """,
            row["id"],
        )
        waits = await conn.fetch(
            """
            select point_id, service_id, language, first_day, last_day, visitor_name,
                   visitor_email, status, created_at
              from waitlist where booking_id = $1 or id = $2
            """,
            row["id"],
            row["waitlist_id"],
        )
        data = {
            "format": FORMAT,
            "exported_at": _iso(await conn.fetchval("select now()")),
            "visit": {
                "reference": row["reference"],
                "status": row["effective_status"],
                "point_id": row["point_id"],
                "service_id": row["service_id"],
                "desk_id": row["desk_id"],
                "start": _iso(row["starts_at"]),
                "end": _iso(row["ends_at"]),
                "timezone": row["timezone"],
                "language": row["language"],
                "visitor": {
                    "name": row["visitor_name"],
                    "email": row["visitor_email"],
                    "phone": row["visitor_phone"],
                },
                "notes": row["notes"],
                "needs": list(row["needs"]),
                "booked_at": _iso(row["created_at"]),
                "confirmed_at": _iso(row["confirmed_at"]),
                "cancelled_at": _iso(row["cancelled_at"]),
                "cancelled_by": row["cancelled_by"],
                "changes": row["sequence"],
                "personal_data_removed_at": _iso(row["purged_at"]),
            },
            "messages": [
                {
                    "kind": m["kind"],
                    "written_at": _iso(m["created_at"]),
                    "due_at": _iso(m["due_at"]),
                    "sent_at": _iso(m["sent_at"]),
                    "failed_at": _iso(m["failed_at"]),
                }
                for m in messages
            ],
            "draw_entries": [_plain(dict(d)) for d in draws],
            "waitlist_entries": [_plain(dict(w)) for w in waits],
            "not_included": [
                "the manage and confirmation links' secrets: stored only as one-way hashes",
                "the booking request's stored answer: sealed with a key only your browser had; "
                "deleted after 24 hours",
            ],
        }
        await _audit(conn, "export", row, {})
        return data

    return await caller.uow.atomic(work)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return msgspec.to_builtins(
        {k: _iso(v) if isinstance(v, dt.date | dt.datetime) else v for k, v in values.items()}
    )


class Erased(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    cancelled: bool
    """The visit was still ahead and has been cancelled."""


async def erase(caller: Caller, reference: str, token: str | None) -> Erased:
    """Cancel the visit if it is still ahead, then remove the visitor's personal data now."""
    visit = await visits.get(caller, reference, token)
    conn = await caller.uow.connection()
    now = await conn.fetchval("select now()")
    cancelled = False
    if visit.status in sources(Event.CANCEL) and visit.start > now:
        try:
            await visits.cancel(caller, reference, token)
            cancelled = True
        except ChangeCutOffPassed:
            # The fair rules close online cancelling shortly before a visit (against slot
            # trading); they do not hold back an erasure. The visit stays booked, anonymous.
            pass

    async def work(conn: asyncpg.Connection) -> Erased:
        row = await store.by_reference(conn, reference, lock=True)
        if row is None:
            raise VisitNotFound()
        await retention.forget_visit(conn, row["id"])
        await _audit(conn, "erase", row, {"cancelled": cancelled})
        return Erased(reference=reference, cancelled=cancelled)

    return await caller.uow.atomic(work)
