"""Is this start bookable? The slot engine decides; this module explains a refusal.

Every refusal is a sentence a visitor (or an API client) can act on: the time is in the past,
too soon, too far ahead, in a DST gap, outside the hours, or off the slot grid — or taken (409).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from uuid import UUID

import asyncpg

from booking.desks import TAKEN
from core.problems import Conflict, Invalid
from scheduling import store
from scheduling.availability import point_days, released_until, slots_for
from scheduling.config import PointConfig
from scheduling.model import Point, PointService
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
        raise Invalid(f"'start' is not a date and time: {value!r}.", field="start") from e
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
        raise Invalid(
            f"{wall:%Y-%m-%d %H:%M} does not exist in {timezone}: the clocks move forward "
            "that night. Choose another time.",
            field="start",
        )
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
) -> Slot:
    """The slot starting at `start` with its free desks, or the reason there is none.

    With `free_only=False` (a draw entry names the time it would like; the draw allots), a
    slot the rules offer is accepted whether or not its desks are taken."""
    zone = zoneinfo.ZoneInfo(point.timezone)
    day = start.astimezone(zone).date()
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
    )
    for slot in slots.slots:
        if slot.start == start:
            return slot
    if start <= now:
        raise Invalid("This time is in the past.", field="start")
    if start < now + dt.timedelta(minutes=offer.min_notice_minutes):
        raise Invalid(
            f"This time is too soon: visits must be booked at least "
            f"{offer.min_notice_minutes} minutes ahead.",
            field="start",
        )
    released = released_until(point, now)
    if released is not None and day > released:
        opens = release_instant(
            day,
            point.timezone,
            point.release_time,
            point.release_days_ahead,  # type: ignore[arg-type]
        ).astimezone(zone)
        raise Invalid(
            f"Visits on {day} are not published yet; they can be booked from "
            f"{opens:%Y-%m-%d %H:%M}.",
            field="start",
        )
    if start > now + dt.timedelta(days=offer.horizon_days):
        raise Invalid(
            f"This time is too far ahead: visits can be booked up to {offer.horizon_days} "
            "days ahead.",
            field="start",
        )
    (unbusy,) = await slots_for(
        conn, point, offer, language, day, day, now, ignore_busy=True, config=config
    )
    if any(slot.start == start for slot in unbusy.slots):
        raise Conflict(TAKEN, field="start")
    rules = config.rules if config else await store.list_rules(conn, point.id)
    (hours,) = point_days(point, rules, day, day)
    local = start.astimezone(zone)
    end = (start + dt.timedelta(minutes=offer.duration_minutes)).astimezone(zone)
    inside = any(
        i.opens <= local.time() and (end.date() == day and end.time() <= i.closes)
        for i in hours.intervals
    )
    if inside:
        raise Invalid(
            f"Visits for this service start every {offer.step_minutes} minutes from the "
            f"opening time; {local:%H:%M} is not one of them.",
            field="start",
        )
    if not hours.intervals:
        raise Invalid(f"The point is closed on {day}.", field="start")
    opening = ", ".join(f"{i.opens:%H:%M}–{i.closes:%H:%M}" for i in hours.intervals)
    raise Invalid(
        f"{local:%H:%M} is outside the opening hours on {day} ({opening}), or no desk that "
        f"speaks {language!r} is free then.",
        field="start",
    )
