"""SQL of the booking feature."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import asyncpg

ACTIVE = ["held", "confirmed", "checked_in"]

VISIT_COLUMNS = """
    b.id, b.reference, b.point_id, b.service_id, b.desk_id, b.starts_at, b.ends_at, b.language,
    b.visitor_name, b.visitor_email, b.visitor_phone, b.notes, b.needs, b.sequence,
    b.hold_expires_at, b.manage_token_hash, b.confirm_token_hash, b.created_at, b.waitlist_id,
    b.manage_token_issued,
    case when b.status = 'held' and b.hold_expires_at <= now() then 'expired' else b.status end
        as status,
    p.timezone
"""


async def visit_by_reference(
    conn: asyncpg.Connection, reference: str, *, lock: bool = False
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""
        select {VISIT_COLUMNS} from bookings b join points p on p.id = b.point_id
        where b.reference = $1 {"for update of b" if lock else ""}
        """,
        reference,
    )


async def insert_visit(conn: asyncpg.Connection, **values: Any) -> UUID:
    columns = list(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return await conn.fetchval(
        f"insert into bookings ({', '.join(columns)}) values ({placeholders}) returning id",
        *values.values(),
    )


async def add_outbox(
    conn: asyncpg.Connection,
    booking_id: UUID,
    kind: str,
    sequence: int,
    *,
    due_at: dt.datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> int:
    return await conn.fetchval(
        """
        insert into outbox (booking_id, kind, sequence, due_at, payload)
        values ($1, $2, $3, coalesce($4, now()), $5) returning id
        """,
        booking_id,
        kind,
        sequence,
        due_at,
        payload or {},
    )
