"""Changes to opening hours, made as staff: validated, audited, and never silent about visits.

A change that newly leaves active future visits outside the hours needs a choice about them:
`cancel_affected` true cancels them in the same transaction (booking/office.py: each visitor
is told why and offered a held alternative), false keeps them (the day sheet flags them as
outside the hours), and absent refuses the change (409 `affected_visits_need_a_choice`, with
the visits; nothing written). Visits a change leaves where they were (outside the hours
already, kept by an earlier choice) are not its business. With `dry_run` nothing is kept, so a
page can show the affected visits before the change is confirmed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec

from booking.office import AffectedVisit, cancel_by_office, future_active, outside_hours
from core.db import in_transaction
from core.jobs import enqueue_outbox
from staff.accounts import StaffMember
from staff.errors import AffectedVisitsNeedAChoice


class ChangeOutcome(msgspec.Struct, frozen=True, kw_only=True):
    result: Any = None
    affected_visits: list[AffectedVisit]
    """The active visits this change newly leaves outside the hours."""
    cancelled: int
    dry_run: bool
    kept: int = 0
    """Affected visits kept at staff's choice (flagged on the day sheet)."""
    alternatives: dict[str, str] = {}
    """For each cancelled visit offered a held alternative: its reference -> the alternative's."""


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
    return await outside_hours(conn, point_id, await future_active(conn, point_id))


async def apply_change(
    pool: asyncpg.Pool,
    redis: Any,
    point_id: str,
    change: Callable[[asyncpg.Connection], Awaitable[Any]],
    *,
    reason: dict[str, str],
    cancel_affected: bool | None,
    dry_run: bool,
    find_affected: Callable[[asyncpg.Connection, str], Awaitable[list[AffectedVisit]]] = (
        visits_outside_hours
    ),
) -> ChangeOutcome:
    """Run `change` in one transaction, then report the visits it newly hits and do with them
    what `cancel_affected` says (see the module): by default those left outside the hours;
    `find_affected` may judge more broadly."""

    async def work(conn: asyncpg.Connection) -> tuple[ChangeOutcome, list[int]]:
        before = {v.reference for v in await find_affected(conn, point_id)}
        result = await change(conn)
        affected = [v for v in await find_affected(conn, point_id) if v.reference not in before]
        if dry_run:
            raise _DryRun(
                ChangeOutcome(result=result, affected_visits=affected, cancelled=0, dry_run=True)
            )
        if affected and cancel_affected is None:
            raise AffectedVisitsNeedAChoice(
                count=len(affected), visits=[msgspec.to_builtins(v) for v in affected]
            )
        if not (cancel_affected and affected):
            outcome = ChangeOutcome(
                result=result,
                affected_visits=affected,
                cancelled=0,
                dry_run=False,
                kept=len(affected),
            )
            return outcome, []
        done = await cancel_by_office(conn, [v.reference for v in affected], reason)
        outcome = ChangeOutcome(
            result=result,
            affected_visits=affected,
            cancelled=len(done.cancelled),
            dry_run=False,
            alternatives=done.alternatives,
        )
        return outcome, done.outbox

    try:
        outcome, outbox = await in_transaction(pool, work)
    except _DryRun as preview:
        return preview.outcome
    await enqueue_outbox(redis, outbox)
    return outcome
