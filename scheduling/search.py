"""The first free visit across points: one service, language and channel over every point of a
city (on site), or over every point (phone and video visits happen wherever the visitor is).

As fast per request as one point's availability: each point's configuration is the kept one
(scheduling/config.py: one query per point when nothing changed, all in one round trip), the
busy visits of all the points come in one query, and the pure engine runs per point. The merge
orders every slot by its start, then by point, so "the first free visit" is the first slot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg
import msgspec

from scheduling import config as point_config
from scheduling.availability import slots_for
from scheduling.config import PointConfig
from scheduling.errors import ChannelNotOffered, PartyTooLarge, ServicesNotTogether
from scheduling.model import ON_SITE, PointService
from scheduling.offers import check_channel, visit_offer
from scheduling.slots import BusyPeriod, DaySlots


class FoundSlot(msgspec.Struct, frozen=True):
    start: dt.datetime
    end: dt.datetime
    free: int
    point_id: str


class FoundDay(msgspec.Struct, frozen=True):
    date: dt.date
    slots: list[FoundSlot]


class Search(msgspec.Struct, frozen=True, kw_only=True):
    city: str | None
    service_id: str
    language: str
    channel: str
    party_size: int
    point_ids: list[str]  # the points searched: those offering the visit
    days: list[FoundDay]


async def candidate_points(
    conn: asyncpg.Connection, city: str | None, service_id: str, channel: str
) -> list[str]:
    """The points that offer the service in the channel: of the city for an on-site visit, of
    every city for phone and video (then a city, if given, is ignored)."""
    check_channel(channel)
    rows = await conn.fetch(
        """
        select p.id from points p
          join point_services ps on ps.point_id = p.id
         where ps.service_id = $1 and ps.active and $3 = any(ps.channels)
           and ($3 <> 'on_site' or lower(p.city) = lower($2))
         order by p.id
        """,
        service_id,
        city or "",
        channel,
    )
    return [r["id"] for r in rows]


async def busy_of(
    conn: asyncpg.Connection,
    point_ids: Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> dict[str, list[BusyPeriod]]:
    """What scheduling.availability.busy_periods gives the public (active visits, and the
    places a late cancellation holds back at `now`), for several points in one query."""
    rows = await conn.fetch(
        """
        select point_id, desk_id, starts_at, ends_at, booked_by <> 'staff' as public
          from bookings
         where point_id = any($1::text[]) and starts_at < $3 and ends_at > $2
           and starts_at > $2 - interval '8 hours'
           and status in ('held', 'confirmed', 'checked_in')
           and (status <> 'held' or hold_expires_at > now())
        union all
        select point_id, desk_id, starts_at, ends_at, true from held_back_places
         where point_id = any($1::text[]) and starts_at < $3 and ends_at > $2
           and starts_at > $2 - interval '8 hours' and until > $4
        """,
        list(point_ids),
        start,
        end,
        now,
    )
    found: dict[str, list[BusyPeriod]] = {}
    for r in rows:
        found.setdefault(r["point_id"], []).append(
            BusyPeriod(r["desk_id"], r["starts_at"], r["ends_at"], r["public"])
        )
    return found


async def point_slots(
    conn: asyncpg.Connection,
    config: PointConfig,
    service_id: str,
    language: str,
    channel: str,
    party_size: int,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
    busy: Sequence[BusyPeriod],
) -> list[DaySlots]:
    """One point's slots for the visit, as its own availability computes them (the same
    `slots_for`, the public's view), or none when it cannot take it (not in this language, not
    for this party, no desk for it): a search skips such a point rather than refusing."""
    offer: PointService | None = config.services.get(service_id)
    if offer is None:
        return []
    try:
        shaped = visit_offer(config.point, [offer], channel, party_size)
        if language not in shaped.languages:
            return []
        return await slots_for(
            conn,
            config.point,
            shaped,
            language,
            first,
            last,
            now,
            config=config,
            channel=channel,
            services=[service_id],
            busy=busy,
        )
    except (ChannelNotOffered, PartyTooLarge, ServicesNotTogether):
        return []


def merge(found: dict[str, list[DaySlots]], first: dt.date, last: dt.date) -> list[FoundDay]:
    """Every point's slots per local date in [first, last], ordered by start, then by point;
    instants in UTC (RFC 3339 with Z: points may lie in different zones)."""
    by_date: dict[dt.date, list[FoundSlot]] = {}
    for point_id, point_days in found.items():
        for day in point_days:
            by_date.setdefault(day.date, []).extend(
                FoundSlot(slot.start, slot.end, slot.free, point_id) for slot in day.slots
            )
    days = []
    for number in range((last - first).days + 1):
        date = first + dt.timedelta(days=number)
        slots = by_date.get(date, [])
        slots.sort(key=lambda s: (s.start, s.point_id))
        days.append(FoundDay(date, slots))
    return days


async def search(
    conn: asyncpg.Connection,
    *,
    city: str | None,
    service_id: str,
    language: str,
    channel: str = ON_SITE,
    party_size: int = 1,
    first: dt.date,
    last: dt.date,
    local_bounds: tuple[dt.datetime, dt.datetime],
) -> Search:
    point_ids = await candidate_points(conn, city, service_id, channel)
    configs, now = await point_config.current_many(conn, point_ids)
    busy = await busy_of(conn, point_ids, *local_bounds, now) if point_ids else {}
    found = {
        config.point.id: await point_slots(
            conn,
            config,
            service_id,
            language,
            channel,
            party_size,
            first,
            last,
            now,
            busy.get(config.point.id, []),
        )
        for config in configs
    }
    return Search(
        city=city,
        service_id=service_id,
        language=language,
        channel=channel,
        party_size=party_size,
        point_ids=[p for p, days in found.items() if days],
        days=merge(found, first, last),
    )
