"""Changes to a point's desks, services and settings, never silent about the visits they hit.

Opening hours are not the only thing a booked visit needs: its desk must still be active and
speak the visit's language, and the point must still offer its service in that language. So a
change to those answers with every active future visit that no longer fits any of it (the hours
check is booking/office.py `unservable`, which also treats an inactive desk as closed), with
the same `cancel_affected` and `dry_run` switches as a change of rules (staff/changes.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from booking.office import unservable
from staff.changes import AffectedVisit, ChangeOutcome, apply_change

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
    """Active future visits outside their desk's hours, or that their desk or offer can't serve
    (booking/office.py `unservable`, what the day sheet flags too)."""
    return await unservable(conn, point_id)


async def apply_point_change(
    pool: asyncpg.Pool,
    redis: Any,
    point_id: str,
    change: Callable[[asyncpg.Connection], Awaitable[Any]],
    *,
    reason: dict[str, str],
    cancel_affected: bool | None,
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
