"""Personal data is kept only as long as needed: names, e-mails, phones and notes of visits
that ended more than RETENTION_DAYS ago are removed; the anonymous rest stays for statistics
(point, service, language, time, status)."""

from __future__ import annotations

import asyncpg


async def purge_personal_data(conn: asyncpg.Connection, retention_days: int) -> int:
    """Remove personal data of visits that ended before the retention window; return how many."""
    result = await conn.execute(
        """
        update bookings
           set visitor_name = null, visitor_email = null, visitor_email_key = null,
               visitor_phone = null, notes = null, confirm_token_hash = null,
               purged_at = now(), updated_at = now()
         where purged_at is null
           and ends_at < now() - make_interval(days => $1)
        """,
        retention_days,
    )
    await conn.execute(
        """
        update outbox o set payload = '{}'
          from bookings b
         where b.id = o.booking_id and b.purged_at is not null and o.payload <> '{}'
        """
    )
    return int(result.split()[-1])
