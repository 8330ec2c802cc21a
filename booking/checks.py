"""Is this start bookable? The slot engine decides; this module explains a refusal.

Every refusal is a typed error (booking/domain/errors.py) a visitor or an API client can act
on: the time is in the past, too soon, too far ahead, not published yet, in a DST gap, outside
the hours, or off the slot grid, or taken (409).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from booking import store as booking_store
from booking.domain.errors import (
    InDstGap,
    InPast,
    LanguageNotOffered,
    NotPublished,
    OffGrid,
    OutsideHours,
    PointClosed,
    ServiceNotOffered,
    SlotTaken,
    StartMalformed,
    TooFar,
    TooSoon,
    UnknownLanguage,
    UnknownPoint,
)
from core.errors import NotFound
from scheduling import config as point_config
from scheduling import store
from scheduling.availability import point_days, released_until, slots_for
from scheduling.config import PointConfig
from scheduling.model import LANGUAGES as VISIT_LANGUAGES
from scheduling.model import ON_SITE, Point, PointService
from scheduling.offers import check_channel, visit_offer
from scheduling.releases import release_instant
from scheduling.slots import Slot

_KNOWN_OFFSETS_PROBE = (dt.date(2000, 1, 15), dt.date(2000, 7, 15))


def parse_start(value: str, timezone: str) -> dt.datetime:
    """An aware instant from RFC 3339, or from a local wall time in the point's zone.

    A wall time that does not exist in the zone (the spring-forward gap) is refused rather than
    shifted: the visitor meant a time the office clock never shows.
    """
    zone = zoneinfo.ZoneInfo(timezone)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as e:
        raise StartMalformed(value=value) from e
    wall = parsed.replace(tzinfo=None)
    if parsed.tzinfo is not None:
        offset = parsed.utcoffset()
        zone_offsets = {
            dt.datetime.combine(d, dt.time(12), zone).utcoffset() for d in _KNOWN_OFFSETS_PROBE
        }
        if offset not in zone_offsets:
            return parsed.astimezone(dt.UTC)  # e.g. "Z": an instant, unambiguous
    local = wall.replace(tzinfo=zone)
    if _nonexistent(local, zone):
        raise InDstGap(time=f"{wall:%Y-%m-%d %H:%M}", timezone=timezone)
    if parsed.tzinfo is not None:
        return parsed.astimezone(dt.UTC)
    return local.astimezone(dt.UTC)


def _nonexistent(local: dt.datetime, zone: zoneinfo.ZoneInfo) -> bool:
    round_trip = local.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    return round_trip != local.replace(tzinfo=None)


async def bookable_slot(
    conn: asyncpg.Connection,
    point: Point,
    offer: PointService,
    language: str,
    start: dt.datetime,
    now: dt.datetime,
    *,
    excluding: UUID | None = None,
    config: PointConfig | None = None,
    free_only: bool = True,
    channel: str = ON_SITE,
    services: Sequence[str] | None = None,
    staff: bool = False,
) -> Slot:
    """The slot starting at `start` with its free desks, or the reason there is none.

    `offer` is the visit's shape (scheduling/offers.py: its channel, party and matters) and
    `services` its matters' ids. With `free_only=False` (a draw entry names the time it would
    like; the draw allots), a slot the rules offer is accepted whether or not its desks are
    taken. The public's view of the capacity unless `staff` books (scheduling/capacity.py);
    where the point keeps places for staff, an online booker judges the public's part in the
    day's turn, after every visit booked before it (store.take_turn), so concurrent bookers
    cannot overrun it."""
    zone = zoneinfo.ZoneInfo(point.timezone)
    day = start.astimezone(zone).date()
    if config is None:
        config, _ = await point_config.current(conn, point.id)
    if free_only and not staff and config.internal_places:
        await booking_store.take_turn(conn, point, start)
    (slots,) = await slots_for(
        conn,
        point,
        offer,
        language,
        day,
        day,
        now,
        excluding=excluding,
        config=config,
        ignore_busy=not free_only,
        channel=channel,
        services=services,
        staff=staff,
    )
    for slot in slots.slots:
        if slot.start == start:
            return slot
    if start <= now:
        raise InPast()
    if start < now + dt.timedelta(minutes=offer.min_notice_minutes):
        raise TooSoon(minutes=offer.min_notice_minutes)
    released = released_until(point, now)
    if released is not None and day > released:
        opens = release_instant(
            day,
            point.timezone,
            point.release_time,
            point.release_days_ahead,  # type: ignore[arg-type]
        ).astimezone(zone)
        raise NotPublished(day=day.isoformat(), opens=f"{opens:%Y-%m-%d %H:%M}")
    if start > now + dt.timedelta(days=offer.horizon_days):
        raise TooFar(days=offer.horizon_days)
    (unbusy,) = await slots_for(
        conn,
        point,
        offer,
        language,
        day,
        day,
        now,
        ignore_busy=True,
        config=config,
        channel=channel,
        services=services,
        staff=staff,
    )
    if any(slot.start == start for slot in unbusy.slots):
        raise SlotTaken()
    rules = config.rules if config else await store.list_rules(conn, point.id, channel)
    (hours,) = point_days(point, rules, day, day, channel)
    local = start.astimezone(zone)
    end = (start + dt.timedelta(minutes=offer.duration_minutes)).astimezone(zone)
    inside = any(
        i.opens <= local.time() and (end.date() == day and end.time() <= i.closes)
        for i in hours.intervals
    )
    if inside:
        raise OffGrid(step=offer.step_minutes, time=_wall(local))
    if not hours.intervals:
        raise PointClosed(day=day.isoformat())
    opening = ", ".join(f"{i.opens:%H:%M}–{i.closes:%H:%M}" for i in hours.intervals)
    raise OutsideHours(time=_wall(local), day=day.isoformat(), hours=opening, language=language)


def _wall(local: dt.datetime) -> str:
    """A wall-clock time as a person reads it: 09:00, or 09:00:30 when it has seconds (a time
    off the grid by less than a minute must not read as one on it)."""
    return f"{local:%H:%M}" if local.second == 0 and local.microsecond == 0 else f"{local:%H:%M:%S}"


async def config_and_offer(
    conn: asyncpg.Connection, point_id: str, service_id: str
) -> tuple[PointConfig, PointService, dt.datetime]:
    """The point's current configuration (scheduling/config.py), the service, and now().

    An unknown point or service in a request's body is a 422 naming the field."""
    try:
        config, now = await point_config.current(conn, point_id)
    except NotFound as e:
        raise UnknownPoint(point_id=point_id) from e
    offer = config.services.get(service_id)
    if offer is None:
        raise ServiceNotOffered(point_id=point_id, service_id=service_id)
    return config, offer, now


async def config_and_visit(
    conn: asyncpg.Connection,
    point_id: str,
    service_ids: Sequence[str],
    channel: str = ON_SITE,
    party_size: int = 1,
) -> tuple[PointConfig, PointService, list[str], dt.datetime]:
    """The point's configuration, the visit's shape as one offer (scheduling/offers.py: its
    channel, party and matters, the first being its service), the matters' ids, and now().

    A matter named twice counts once. Each refusal is a 422 naming the field to correct."""
    check_channel(channel)
    services = list(dict.fromkeys(service_ids))
    config, _, now = await config_and_offer(conn, point_id, services[0])
    offer, services = visit_of(config, services, channel, party_size)
    return config, offer, services, now


def visit_of(
    config: PointConfig, service_ids: Sequence[str], channel: str = ON_SITE, party_size: int = 1
) -> tuple[PointService, list[str]]:
    """`config_and_visit` on a configuration already read (a batch of draw entries reads it
    once for all of them, booking/draw_batch.py)."""
    check_channel(channel)
    services = list(dict.fromkeys(service_ids))
    point_id = config.point.id
    if services[0] not in config.services:
        raise ServiceNotOffered(point_id=point_id, service_id=services[0])
    offers = [config.services[services[0]]]
    for service_id in services[1:]:
        found = config.services.get(service_id)
        if found is None:
            raise ServiceNotOffered(
                point_id=point_id, service_id=service_id, field="extra_services"
            )
        offers.append(found)
    return visit_offer(config.point, offers, channel, party_size), services


def check_language(offer: PointService, language: str) -> None:
    if language not in VISIT_LANGUAGES:
        raise UnknownLanguage(language=language, languages=", ".join(VISIT_LANGUAGES))
    if language not in offer.languages:
        raise LanguageNotOffered(
            service_id=offer.id, language=language, offered=", ".join(offer.languages)
        )
