"""Closures at short notice, as every page's banner and the status page read them.

The write side is scheduling/admin.py (`add_outage`, `lift_outage`); the closing rule itself is
an ordinary calendar rule, so hours, slots and feeds follow it without knowing about outages.
Every page shows the banner, so a process keeps the list for READ_CACHE_SECONDS (as it keeps
`/hours`, core/cache.py); its own writes empty it at once (`forget_cached`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import asyncpg
import msgspec


class CurrentOutage(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    point_id: str
    point_names: dict[str, str]
    day: dt.date
    today: bool
    reason: dict[str, str]


#: per pool: (until when it holds, the outages, whether it was read rather than a failure's)
_cache: dict[int, tuple[float, list[CurrentOutage], bool]] = {}


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


#: A banner is not worth a slow page: the read gives up after this long...
BANNER_WAIT = 0.5
#: ...and after a failed read the process does not try again for this long.
BANNER_BACKOFF = 5.0


async def cached(pool: Any, max_age: float) -> list[CurrentOutage]:
    """`current`, at most `max_age` seconds old (0: always read). A store that does not answer
    within BANNER_WAIT raises, and the last list (or none) is kept for BANNER_BACKOFF, so a
    page served during an outage of PostgreSQL waits for its own work only."""
    key = id(pool)
    kept = _cache.get(key)
    now = time.monotonic()
    if kept is not None and now < kept[0] and (max_age > 0 or not kept[2]):
        return kept[1]
    try:
        async with asyncio.timeout(BANNER_WAIT), pool.acquire(timeout=BANNER_WAIT) as conn:
            found = await current(conn)
    except BaseException:
        _cache[key] = (time.monotonic() + BANNER_BACKOFF, kept[1] if kept else [], False)
        raise
    _cache[key] = (time.monotonic() + max_age, found, True)
    return found


def forget_cached() -> None:
    _cache.clear()
