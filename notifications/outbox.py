"""The outbox's SQL: claim a row for sending, record how it went, find what is due.

A row is claimed with `select ... for update skip locked` in the transaction that later marks it
sent, so two workers never send one row at the same time, and a worker that dies mid-send
leaves the row unsent (its transaction rolls back) for the next try: at least once.
"""

from __future__ import annotations

import asyncpg

_ERROR_LENGTH = 1000

CLAIM = """
select o.id, o.booking_id, o.kind, o.sequence as row_sequence, o.due_at, o.payload, o.attempts,
       o.sent_at, o.failed_at,
       b.reference, b.point_id, b.starts_at, b.ends_at, b.language, b.sequence,
       b.visitor_name, b.visitor_email, b.confirmed_at,
       case when b.status = 'held' and b.hold_expires_at <= now() then 'expired'
            else b.status end as status,
       p.names as point_names, p.address as point_address, p.timezone, p.emails as point_emails,
       s.names as service_names, s.what_to_bring,
       d.names as desk_names
  from outbox o
  join bookings b on b.id = o.booking_id
  join points p on p.id = b.point_id
  join services s on s.id = b.service_id
  left join desks d on d.point_id = b.point_id and d.id = b.desk_id
 where o.id = $1
   for update of o skip locked
"""


async def claim(conn: asyncpg.Connection, outbox_id: int) -> asyncpg.Record | None:
    """The row with all a message needs, locked until the transaction ends; None if another
    transaction holds it (or it does not exist)."""
    return await conn.fetchrow(CLAIM, outbox_id)


async def why_not_claimed(conn: asyncpg.Connection, outbox_id: int) -> str:
    row = await conn.fetchrow("select sent_at, failed_at from outbox where id = $1", outbox_id)
    if row is None:
        return "gone"  # its booking was deleted
    if row["sent_at"] is not None:
        return "already sent"
    if row["failed_at"] is not None:
        return "already failed"
    return "busy"  # another worker is sending it right now


async def mark_sent(conn: asyncpg.Connection, outbox_id: int) -> None:
    """Sent: count the try and drop the confirmation token (secrets are not kept)."""
    await conn.execute(
        """
        update outbox set sent_at = now(), attempts = attempts + 1, payload = payload - 'token'
         where id = $1
        """,
        outbox_id,
    )


async def mark_skipped(conn: asyncpg.Connection, outbox_id: int, reason: str) -> None:
    """Done without a message (a reminder for a cancelled visit): sent, with the reason why."""
    await conn.execute(
        """
        update outbox set sent_at = now(), last_error = $2, payload = payload - 'token'
         where id = $1
        """,
        outbox_id,
        f"skipped: {reason}"[:_ERROR_LENGTH],
    )


async def mark_failed(conn: asyncpg.Connection, outbox_id: int, error: str) -> None:
    """Never to be tried again: a 5xx answer, or a row no message can be made from."""
    await conn.execute(
        """
        update outbox set failed_at = now(), attempts = attempts + 1, last_error = $2,
                          payload = payload - 'token'
         where id = $1
        """,
        outbox_id,
        error[:_ERROR_LENGTH],
    )


async def record_temporary_failure(
    conn: asyncpg.Connection, outbox_id: int, error: str, *, max_attempts: int
) -> tuple[int, bool]:
    """Count a failed try; at `max_attempts` the row fails for good. (attempts, gave up)"""
    row = await conn.fetchrow(
        """
        update outbox
           set attempts = attempts + 1,
               last_error = $2,
               failed_at = case when attempts + 1 >= $3 then now() end,
               payload = case when attempts + 1 >= $3 then payload - 'token' else payload end
         where id = $1
        returning attempts, failed_at is not null as gave_up
        """,
        outbox_id,
        error[:_ERROR_LENGTH],
        max_attempts,
    )
    return row["attempts"], row["gave_up"]


async def due_ids(conn: asyncpg.Connection, *, max_attempts: int, limit: int) -> list[int]:
    """Rows that should have gone out by now and have not, oldest first."""
    rows = await conn.fetch(
        """
        select id from outbox
         where sent_at is null and failed_at is null and due_at <= now() and attempts < $1
         order by due_at, id
         limit $2
        """,
        max_attempts,
        limit,
    )
    return [r["id"] for r in rows]
