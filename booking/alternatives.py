"""A held alternative for each visit the office cancels.

When staff close a day (or change hours, desks or offers) and choose to cancel the visits it
hits, each visitor is not only told but offered another time at once: the free slot nearest to
the cancelled visit's start for the same service and language, at the same point, else at
another point of the same city. The offer is an ordinary held visit (booking/holds.py
`place_hold`, the one way to hold) that points to the visit it replaces
(`bookings.alternative_for`, written by the store) and is held for at most
`ALTERNATIVE_HOLD`. It sends no mail of its own: the office's cancellation mail carries its
"accept" link (the confirmation link: a page with a button, since mail scanners follow links)
and its "release" link (the visit's mail link token opens a page that cancels the hold).
Unconfirmed, it expires like any hold and its slot goes back to everyone.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from uuid import UUID

import asyncpg
import msgspec

from booking import draw, store
from booking.checks import bookable_slot, config_and_offer
from booking.domain.errors import PerPersonLimit
from booking.domain.visit import Visitor, hold_visit
from booking.holds import place_hold
from core.errors import DomainError
from scheduling.availability import slots_for
from scheduling.config import PointConfig
from scheduling.slots import Slot

#: The longest an alternative is held for its visitor (less when the slot itself is sooner).
ALTERNATIVE_HOLD = dt.timedelta(hours=24)
#: How far before and after the cancelled visit's day a free slot is looked for.
SEARCH_DAYS = 31
#: Candidates tried, nearest first, when desks are taken under our feet.
TRIES = 5


class Alternative(msgspec.Struct, frozen=True, kw_only=True):
    """A held visit offered instead of one the office cancelled; `confirm_token` goes only
    into the cancellation mail (the outbox drops it once sent)."""

    booking_id: UUID
    reference: str
    point_id: str
    start: dt.datetime
    end: dt.datetime
    timezone: str
    expires_at: dt.datetime
    point_names: dict[str, str]
    point_address: dict
    confirm_token: str

    def payload(self) -> dict:
        """What the cancellation mail needs to describe the offer (no secret: see `token`)."""
        return {
            "booking_id": str(self.booking_id),
            "reference": self.reference,
            "point_id": self.point_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "expires_at": self.expires_at.isoformat(),
            "point_names": self.point_names,
            "point_address": self.point_address,
        }


async def _candidates(
    conn: asyncpg.Connection, point_id: str, service_id: str, language: str, target: dt.datetime
) -> tuple[PointConfig, list[Slot], dt.datetime] | None:
    """The point's free slots for the service and language around `target`, nearest first."""
    try:
        config, offer, now = await config_and_offer(conn, point_id, service_id)
    except DomainError:
        return None  # the point does not offer the service (any more)
    if language not in offer.languages:
        return None
    point = config.point
    zone = zoneinfo.ZoneInfo(point.timezone)
    today = now.astimezone(zone).date()
    day = target.astimezone(zone).date()
    first = max(today, day - dt.timedelta(days=SEARCH_DAYS))
    last = min(day + dt.timedelta(days=SEARCH_DAYS), today + dt.timedelta(days=offer.horizon_days))
    if last < first:
        return None
    days = await slots_for(conn, point, offer, language, first, last, now, config=config)
    slots = [
        slot
        for d in days
        if not draw.open_window(point, d.date, now)  # a day in its draw is the draw's
        for slot in d.slots
    ]
    # nearest to the cancelled visit's time; of two as near, the later one
    slots.sort(key=lambda s: (abs(s.start - target), -s.start.timestamp()))
    return config, slots, now


async def _hold_nearest(
    conn: asyncpg.Connection,
    found: tuple[PointConfig, list[Slot], dt.datetime],
    cancelled: asyncpg.Record,
) -> Alternative | None:
    config, slots, now = found
    point = config.point
    for slot in slots[:TRIES]:
        zone = zoneinfo.ZoneInfo(point.timezone)
        day = slot.start.astimezone(zone).date()
        if await conn.fetchval(
            "select exists (select from draw_entries where point_id = $1 and day = $2"
            " and status = 'entered')",
            point.id,
            day,
        ):
            continue  # its draw is not decided yet: the entrants come first
        try:  # judged again in the day's turn, as every public booking is (booking/checks.py)
            slot = await bookable_slot(
                conn,
                point,
                config.services[cancelled["service_id"]],
                cancelled["language"],
                slot.start,
                now,
                config=config,
            )
        except DomainError:
            continue  # taken, or kept for staff, since the day was read
        held, secrets = hold_visit(
            point_id=point.id,
            service_id=cancelled["service_id"],
            start=slot.start,
            end=slot.end,
            language=cancelled["language"],
            visitor=Visitor(
                cancelled["visitor_name"], cancelled["visitor_email"], cancelled["visitor_phone"]
            ),
            now=now,
            hold=min(ALTERNATIVE_HOLD, slot.start - now),
            notes=cancelled["notes"],
            needs=tuple(cancelled["needs"]),
            # accepted from the mail's link; the manage token comes with the confirmation
            manage_token_issued=False,
        )
        try:
            placed = await place_hold(
                conn, point, slot.desk_ids, held, secrets, keep_going=True, message=None
            )
        except PerPersonLimit:
            return None  # they hold another visit there already
        except DomainError:
            continue  # the desk became internal-only a moment ago (SlotTaken)
        if placed is None:
            continue  # taken a moment ago (a draw's winner): the next nearest
        booking, _ = placed
        await store.link_alternative(conn, booking.id, cancelled["id"])
        return Alternative(
            booking_id=booking.id,
            reference=booking.reference,
            point_id=point.id,
            start=slot.start,
            end=slot.end,
            timezone=point.timezone,
            expires_at=held.hold_expires_at,
            point_names=point.names,
            point_address=point.address,
            confirm_token=secrets.confirm_token,
        )
    return None


async def offer_alternative(
    conn: asyncpg.Connection, cancelled: asyncpg.Record
) -> Alternative | None:
    """Hold the nearest free time for the visitor of a visit the office just cancelled (in
    the same transaction), at its point, else at another point of its city; None when there
    is none (or the visitor has no e-mail to be offered it by)."""
    if not cancelled["visitor_email"]:
        return None
    service, language = cancelled["service_id"], cancelled["language"]
    target = cancelled["starts_at"]
    here = await _candidates(conn, cancelled["point_id"], service, language, target)
    if here is not None and here[1]:
        held = await _hold_nearest(conn, here, cancelled)
        if held is not None:
            return held
    others = await conn.fetch(
        """
        select p.id from points p join point_services ps on ps.point_id = p.id
         where p.city = (select city from points where id = $1) and p.id <> $1
           and ps.service_id = $2 and ps.active and $3 = any(ps.languages)
         order by p.id
        """,
        cancelled["point_id"],
        service,
        language,
    )
    nearest: list[tuple[dt.timedelta, tuple[PointConfig, list[Slot], dt.datetime]]] = []
    for row in others:
        found = await _candidates(conn, row["id"], service, language, target)
        if found is not None and found[1]:
            nearest.append((abs(found[1][0].start - target), found))
    for _, found in sorted(nearest, key=lambda pair: pair[0]):
        held = await _hold_nearest(conn, found, cancelled)
        if held is not None:
            return held
    return None
