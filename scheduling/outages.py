"""Closures at short notice, as every page's banner and the status page read them.

The write side is scheduling/admin.py (`add_outage`, `lift_outage`); the closing rule itself is
an ordinary calendar rule, so hours, slots and feeds follow it without knowing about outages.
Every page shows the banner, so a process keeps the list for READ_CACHE_SECONDS (as it keeps
`/hours`, core/cache.py); its own writes empty it at once (`forget_cached`).
"""

from __future__ import annotations

import datetime as dt
import time

import asyncpg
import msgspec


class CurrentOutage(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    point_id: str
    point_names: dict[str, str]
    day: dt.date
    today: bool
    reason: dict[str, str]


_cache: dict[int, tuple[float, list[CurrentOutage]]] = {}


async def current(conn: asyncpg.Connection) -> list[CurrentOutage]:
    """Outages of today and later days, in each point's own zone, by day and point."""
    rows = await conn.fetch(
        """
        select o.id, o.point_id, p.names, o.day, o.reason,
               o.day = (now() at time zone p.timezone)::date as today
          from point_outages o join points p on p.id = o.point_id
         where o.day >= (now() at time zone p.timezone)::date
         order by o.day, o.point_id
        """
    )
    return [
        CurrentOutage(
            id=r["id"],
            point_id=r["point_id"],
            point_names=dict(r["names"]),
            day=r["day"],
            today=r["today"],
            reason=dict(r["reason"]),
        )
        for r in rows
    ]


async def cached(pool: asyncpg.Pool, max_age: float) -> list[CurrentOutage]:
    """`current`, at most `max_age` seconds old (0: always read)."""
    key = id(pool)
    kept = _cache.get(key)
    if kept is not None and max_age > 0 and time.monotonic() - kept[0] < max_age:
        return kept[1]
    async with pool.acquire() as conn:
        found = await current(conn)
    _cache[key] = (time.monotonic(), found)
    return found


def forget_cached() -> None:
    _cache.clear()
