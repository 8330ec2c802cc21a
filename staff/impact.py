"""Changes to a point's desks, services and settings, never silent about the visits they hit.

Opening hours are not the only thing a booked visit needs: its desk must still be active and
speak the visit's language, and the point must still offer its service in that language. So a
change to those answers with every active future visit that no longer fits any of it (the hours
check is `staff.changes.visits_outside_hours`, which also treats an inactive desk as closed),
with the same `cancel_affected` and `dry_run` switches as a change of rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from booking.domain.lifecycle import Event, sources
from staff.changes import AffectedVisit, ChangeOutcome, apply_change, visits_outside_hours

HOURS_CHANGED = {
    "pl": "Zmiana godzin otwarcia",
    "en": "Change of opening hours",
    "uk": "Зміна годин роботи",
    "ru": "Изменение часов работы",
}
DESK_CLOSED = {
    "pl": "Stanowisko obsługi jest nieczynne",
    "en": "The service desk is closed",
    "uk": "Місце обслуговування не працює",
    "ru": "Место обслуживания не работает",
}
SERVICE_WITHDRAWN = {
    "pl": "Usługa nie jest już świadczona w tym języku lub w tym punkcie",
    "en": "The service is no longer offered in this language or at this point",
    "uk": "Послуга більше не надається цією мовою або в цьому пункті",
    "ru": "Услуга больше не предоставляется на этом языке или в этом пункте",
}


async def visits_unservable(conn: asyncpg.Connection, point_id: str) -> list[AffectedVisit]:
    """Active future visits outside their desk's hours, or that their desk or offer can't serve."""
    rows = await conn.fetch(
        """
        select b.reference, b.starts_at, b.ends_at, b.desk_id, b.service_id, b.language,
               visit_status(b.status, b.hold_expires_at) as status
        from bookings b
        join desks d on d.point_id = b.point_id and d.id = b.desk_id
        join point_services ps on ps.point_id = b.point_id and ps.service_id = b.service_id
        where b.point_id = $1 and b.starts_at > now()
          and visit_status(b.status, b.hold_expires_at) = any($2::text[])
          and (not d.active or not ps.active
               or not (b.language = any(d.languages)) or not (b.language = any(ps.languages)))
        """,
        point_id,
        sorted(sources(Event.CANCEL)),  # the visits the office could still cancel
    )
    found = {v.reference: v for v in await visits_outside_hours(conn, point_id)}
    for r in rows:
        found.setdefault(
            r["reference"],
            AffectedVisit(
                r["reference"],
                r["starts_at"],
                r["ends_at"],
                r["desk_id"],
                r["service_id"],
                r["language"],
                r["status"],
            ),
        )
    return sorted(found.values(), key=lambda v: (v.start, v.reference))


async def apply_point_change(
    pool: asyncpg.Pool,
    redis: Any,
    point_id: str,
    change: Callable[[asyncpg.Connection], Awaitable[Any]],
    *,
    reason: dict[str, str],
    cancel_affected: bool,
    dry_run: bool,
) -> ChangeOutcome:
    """`staff.changes.apply_change`, judged by `visits_unservable` instead of hours alone."""
    return await apply_change(
        pool,
        redis,
        point_id,
        change,
        reason=reason,
        cancel_affected=cancel_affected,
        dry_run=dry_run,
        find_affected=visits_unservable,
    )
