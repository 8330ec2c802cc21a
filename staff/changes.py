"""Changes to opening hours, made as staff: validated, audited, and never silent about visits.

A change that removes time answers with the active future visits it leaves outside the hours;
with `cancel_affected` those visits are cancelled in the same transaction and each visitor gets
the "office closed" message (outbox); with `dry_run` nothing is kept, so a page can show the
affected visits before the change is confirmed.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec

from booking.store import add_outbox
from core.db import in_transaction
from core.jobs import enqueue_outbox
from scheduling import store
from scheduling.availability import desk_schedules
from staff.accounts import StaffMember


class AffectedVisit(msgspec.Struct, frozen=True):
    reference: str
    start: dt.datetime
    end: dt.datetime
    desk_id: str
    service_id: str
    language: str
    status: str


class ChangeOutcome(msgspec.Struct, frozen=True, kw_only=True):
    result: Any = None
    affected_visits: list[AffectedVisit]
    cancelled: int
    dry_run: bool


class _DryRun(Exception):
    def __init__(self, outcome: ChangeOutcome) -> None:
        self.outcome = outcome


async def audit(
    conn: asyncpg.Connection,
    staff: StaffMember,
    action: str,
    entity: str,
    entity_id: str | None,
    point_id: str | None,
    before: Any,
    after: Any,
) -> None:
    await conn.execute(
        """
        insert into audit_log (staff_id, staff_email, action, entity, entity_id, point_id,
                               before, after)
        values ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        staff.id,
        staff.email,
        action,
        entity,
        entity_id,
        point_id,
        msgspec.to_builtins(before) if before is not None else None,
        msgspec.to_builtins(after) if after is not None else None,
    )


async def visits_outside_hours(conn: asyncpg.Connection, point_id: str) -> list[AffectedVisit]:
    """Active future visits of a point that no longer lie inside their desk's hours."""
    rows = await conn.fetch(
        """
        select reference, starts_at, ends_at, desk_id, service_id, language, status
        from bookings
        where point_id = $1 and starts_at > now()
          and (status = 'confirmed' or (status = 'held' and hold_expires_at > now()))
        order by starts_at
        """,
        point_id,
    )
    if not rows:
        return []
    point = await store.get_point(conn, point_id)
    zone = zoneinfo.ZoneInfo(point.timezone)
    first = min(r["starts_at"] for r in rows).astimezone(zone).date()
    last = max(r["ends_at"] for r in rows).astimezone(zone).date()
    rules = await store.list_rules(conn, point_id)
    schedules = {d.desk_id: d for d in await desk_schedules(conn, point, rules, first, last)}
    affected = []
    for r in rows:
        day = r["starts_at"].astimezone(zone).date()
        schedule = schedules.get(r["desk_id"])
        intervals = schedule.days.get(day, ()) if schedule else ()
        inside = any(
            dt.datetime.combine(day, i.opens, zone) <= r["starts_at"]
            and r["ends_at"] <= dt.datetime.combine(day, i.closes, zone)
            for i in intervals
        )
        if not inside:
            affected.append(
                AffectedVisit(
                    r["reference"],
                    r["starts_at"],
                    r["ends_at"],
                    r["desk_id"],
                    r["service_id"],
                    r["language"],
                    r["status"],
                )
            )
    return affected


async def cancel_by_office(
    conn: asyncpg.Connection, references: list[str], reason: dict[str, str]
) -> list[int]:
    """Cancel visits because the office closed; each visitor is told why (outbox)."""
    rows = await conn.fetch(
        """
        update bookings set status = 'cancelled', cancelled_by = 'office', cancelled_at = now(),
               sequence = sequence + 1, updated_at = now()
        where reference = any($1::text[]) and status in ('held', 'confirmed')
        returning id, sequence
        """,
        references,
    )
    return [
        await add_outbox(
            conn, r["id"], "cancelled_by_office", r["sequence"], payload={"reason": reason}
        )
        for r in rows
    ]


async def apply_change(
    pool: asyncpg.Pool,
    redis: Any,
    point_id: str,
    change: Callable[[asyncpg.Connection], Awaitable[Any]],
    *,
    reason: dict[str, str],
    cancel_affected: bool,
    dry_run: bool,
    find_affected: Callable[[asyncpg.Connection, str], Awaitable[list[AffectedVisit]]] = (
        visits_outside_hours
    ),
) -> ChangeOutcome:
    """Run `change` in one transaction, then report (and maybe cancel) the visits it hits:
    by default those left outside the hours; `find_affected` may judge more broadly."""

    async def work(conn: asyncpg.Connection) -> tuple[ChangeOutcome, list[int]]:
        result = await change(conn)
        affected = await find_affected(conn, point_id)
        outbox: list[int] = []
        if cancel_affected and affected and not dry_run:
            outbox = await cancel_by_office(conn, [v.reference for v in affected], reason)
        outcome = ChangeOutcome(
            result=result,
            affected_visits=affected,
            cancelled=len(outbox),
            dry_run=dry_run,
        )
        if dry_run:
            raise _DryRun(outcome)  # roll the change back; report what it would do
        return outcome, outbox

    try:
        outcome, outbox = await in_transaction(pool, work)
    except _DryRun as preview:
        return preview.outcome
    await enqueue_outbox(redis, outbox)
    return outcome
