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

from booking.office import AffectedVisit, cancel_by_office, future_active
from core.db import in_transaction
from core.jobs import enqueue_outbox
from scheduling import store
from scheduling.availability import desk_schedules
from staff.accounts import StaffMember


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
    visits = await future_active(conn, point_id)
    if not visits:
        return []
    point = await store.get_point(conn, point_id)
    zone = zoneinfo.ZoneInfo(point.timezone)
    first = min(v.start for v in visits).astimezone(zone).date()
    last = max(v.end for v in visits).astimezone(zone).date()
    rules = await store.list_rules(conn, point_id)
    schedules = {d.desk_id: d for d in await desk_schedules(conn, point, rules, first, last)}
    affected = []
    for v in visits:
        day = v.start.astimezone(zone).date()
        schedule = schedules.get(v.desk_id)
        intervals = schedule.days.get(day, ()) if schedule else ()
        inside = any(
            dt.datetime.combine(day, i.opens, zone) <= v.start
            and v.end <= dt.datetime.combine(day, i.closes, zone)
            for i in intervals
        )
        if not inside:
            affected.append(v)
    return affected


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
