"""Loading what the pure engines need from PostgreSQL, and running them.

Scheduling reads the bookings table only as busy time per desk; booking owns its writes.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from scheduling import store
from scheduling.capacity import public_desks, public_share
from scheduling.config import Desk, PointConfig
from scheduling.config import current as current_config
from scheduling.model import ON_SITE, Point, PointService
from scheduling.offers import desks_offering
from scheduling.releases import last_released_day
from scheduling.rules import CalendarRule, DayHours, resolve_days, resolve_desk_days
from scheduling.slots import BusyPeriod, DaySlots, DeskSchedule, SlotQuery, compute_slots

ACTIVE = ("held", "confirmed", "checked_in")


def point_days(
    point: Point,
    rules: Sequence[CalendarRule],
    first: dt.date,
    last: dt.date,
    channel: str = ON_SITE,
) -> list[DayHours]:
    """The point's hours in one channel: that channel's rules only, by the usual precedence."""
    own = [rule for rule in rules if rule.channel == channel]
    return resolve_days(own, first, last, observes_holidays=point.observes_holidays)


async def busy_periods(
    conn: asyncpg.Connection,
    point_id: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    excluding: UUID | None = None,
    held_back_at: dt.datetime | None = None,
) -> list[BusyPeriod]:
    """Active visits overlapping [start, end); a hold past its expiry is not active. With
    `held_back_at` (the public's view), also the places a late cancellation holds back from
    public booking at that instant (booking/fair.py)."""
    rows = await conn.fetch(
        """
        select desk_id, starts_at, ends_at, booked_by <> 'staff' as public from bookings
        where point_id = $1 and starts_at < $3 and ends_at > $2
          -- no visit is longer than 8 hours (point_services.duration_minutes <= 480), so this
          -- bound lets the (point_id, starts_at) index skip the point's whole history
          and starts_at > $2 - interval '8 hours'
          and status = any($4::text[])
          and (status <> 'held' or hold_expires_at > now())
          and ($5::uuid is null or id <> $5)
        union all
        select desk_id, starts_at, ends_at, true from held_back_places
        where $6::timestamptz is not null and point_id = $1 and starts_at < $3 and ends_at > $2
          and starts_at > $2 - interval '8 hours' and until > $6
        """,
        point_id,
        start,
        end,
        list(ACTIVE),
        excluding,
        held_back_at,
    )
    return [BusyPeriod(r["desk_id"], r["starts_at"], r["ends_at"], r["public"]) for r in rows]


async def desk_schedules(
    conn: asyncpg.Connection,
    point: Point,
    rules: Sequence[CalendarRule],
    first: dt.date,
    last: dt.date,
    desks: Sequence[Desk] | None = None,
    channel: str = ON_SITE,
) -> list[DeskSchedule]:
    if desks is None:
        desks = [Desk.of(d) for d in await store.list_desks(conn, [point.id])]
    return schedules_of(point, rules, first, last, desks, channel)


def schedules_of(
    point: Point,
    rules: Sequence[CalendarRule],
    first: dt.date,
    last: dt.date,
    desks: Sequence[Desk],
    channel: str = ON_SITE,
) -> list[DeskSchedule]:
    """The schedules of the desks serving `channel`, from that channel's rules (a desk's own
    rules of that channel narrow or cut its hours there)."""
    days = point_days(point, rules, first, last, channel)
    schedules = []
    for desk in desks:
        if channel not in desk.channels:
            continue
        own = [r for r in rules if r.desk_id == desk.id and r.channel == channel]
        schedules.append(
            DeskSchedule.from_days(desk.id, desk.languages, resolve_desk_days(days, own))
        )
    return schedules


_KEPT_RANGES = 512


def kept_schedules(
    config: PointConfig, first: dt.date, last: dt.date, channel: str = ON_SITE
) -> list[DeskSchedule]:
    """The desks' schedules of a kept configuration, resolved once per date range and version
    (a booking resolves its one day; the rules and holidays of that day do not change until
    the version does)."""
    kept = config.resolved
    found = kept.get((first, last, channel))
    if found is None:
        if len(kept) >= _KEPT_RANGES:
            kept.clear()
        found = kept[(first, last, channel)] = schedules_of(
            config.point, config.rules, first, last, config.desks, channel
        )
    return found


def local_day_bounds(
    timezone: str, first: dt.date, last: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    zone = zoneinfo.ZoneInfo(timezone)
    start = dt.datetime.combine(first, dt.time(0), zone) - dt.timedelta(hours=3)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), zone) + dt.timedelta(hours=3)
    return start, end


async def slots_for(
    conn: asyncpg.Connection,
    point: Point,
    service: PointService,
    language: str,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
    *,
    excluding: UUID | None = None,
    ignore_busy: bool = False,
    config: PointConfig | None = None,
    channel: str = ON_SITE,
    services: Sequence[str] | None = None,
    busy: Sequence[BusyPeriod] | None = None,
    staff: bool = False,
) -> list[DaySlots]:
    """Bookable slots of one point-service in one language for local dates [first, last].

    `service` is the visit's offer as scheduling/offers.py shapes it (its channel, party and
    matters); `services` the ids of its matters (default: the service alone): only desks
    serving `channel` and offering all of them count. Days a release window has not published
    yet have no slots. With `config` (see scheduling/config.py), its rules and desks are used
    instead of reading them (the point's current one otherwise), and with `busy` those visits
    (the city search reads every point's at once, scheduling/search.py). The public's view by
    default: no internal-only desk, the places kept for staff and those held back after a late
    cancellation taken out (scheduling/capacity.py); `staff` sees the whole capacity."""
    if config is None:
        config, _ = await current_config(conn, point.id)
    desks = (
        kept_schedules(config, first, last, channel)
        if staff
        else public_schedules(config, first, last, channel)
    )
    desks = only_offering(point, config.desks, desks, services or [service.id], channel)
    if ignore_busy:
        busy = []
    elif busy is None:
        start, end = local_day_bounds(point.timezone, first, last)
        busy = await busy_periods(
            conn, point.id, start, end, excluding=excluding, held_back_at=None if staff else now
        )
    kept = 0 if staff or ignore_busy else config.internal_places
    return slots_from(point, service, language, first, last, now, desks, busy, kept=kept)


def public_schedules(
    config: PointConfig, first: dt.date, last: dt.date, channel: str = ON_SITE
) -> list[DeskSchedule]:
    """The desks' schedules online bookers may have: all but the internal-only desks."""
    internal = frozenset(desk.id for desk in config.desks if desk.internal_only)
    return public_desks(kept_schedules(config, first, last, channel), internal)


def slots_from(
    point: Point,
    service: PointService,
    language: str,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
    desks: Sequence[DeskSchedule],
    busy: Sequence[BusyPeriod],
    *,
    kept: int = 0,
) -> list[DaySlots]:
    """The pure part of slots_for: the engine on loaded desks and visits, then the releases.
    `kept`: the places of every slot kept for staff (scheduling/capacity.py)."""
    last_open = released_until(point, now)
    query = SlotQuery(
        timezone=point.timezone,
        duration=dt.timedelta(minutes=service.duration_minutes),
        step=dt.timedelta(minutes=service.step_minutes),
        language=language,
        now=now,
        min_notice=dt.timedelta(minutes=service.min_notice_minutes),
        horizon=dt.timedelta(days=service.horizon_days),
        first_day=first,
        last_day=last,
    )
    days = compute_slots(desks, busy, query)
    if kept:
        days = public_share(days, compute_slots(desks, (), query), busy, kept)
    if last_open is None:
        return days
    return [day if day.date <= last_open else DaySlots(day.date, ()) for day in days]


def only_offering(
    point: Point,
    desks: Sequence[Desk],
    schedules: Sequence[DeskSchedule],
    services: Sequence[str],
    channel: str,
) -> list[DeskSchedule]:
    """The schedules of the desks that offer every one of `services` (ServicesNotTogether
    when no desk of the channel does)."""
    ids = {desk.id for desk in desks_offering(point, desks, services, channel)}
    return [schedule for schedule in schedules if schedule.desk_id in ids]


def released_until(point: Point, now: dt.datetime) -> dt.date | None:
    """The last day this point has published, or None when it has no release windows."""
    if point.release_time is None or point.release_days_ahead is None:
        return None
    return last_released_day(now, point.timezone, point.release_time, point.release_days_ahead)
