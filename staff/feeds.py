"""The staff feed: a point's coming visits as an iCalendar a desk's calendar app polls.

An RFC 5545 VCALENDAR with METHOD:PUBLISH (RFC 5546 §3.2.1) and the RFC 7986 refresh hint. One
VEVENT per visit with the UID of the visitor's invitation (`{booking_id}@wizyta`) and its
SEQUENCE, so an app that shows both keeps one event. A held visit is STATUS:TENTATIVE.

The URL travels through calendar providers, so it shows as little as it can: reference, service
and language; the visitor's name (and needs) only when the token was made with `show_names`;
never an e-mail address, a phone number or the visitor's notes.

Pure: no I/O, no clock. DTSTAMP is the visit's last change, so the same visits give the same
bytes, and the ETag (their hash) changes only when a visit does.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from icalendar import Calendar, Event, vDuration

from core.ical import ical_text, vtimezone

PRODID = "-//wizyta//staff visits//EN"
WINDOW = dt.timedelta(weeks=6)
REFRESH = dt.timedelta(minutes=15)


class FeedVisit(msgspec.Struct, frozen=True, kw_only=True):
    booking_id: UUID
    reference: str
    status: str
    sequence: int
    start: dt.datetime
    end: dt.datetime
    service: str
    language: str
    desk: str
    visitor_name: str | None
    needs: list[str]
    updated_at: dt.datetime
    channel: str = "on_site"
    party_size: int = 1


#: How a phone or video visit is marked (the feed is in Polish, as the staff's desks read it).
_CHANNEL = {"phone": "telefon", "video": "wideo"}


def summary(visit: FeedVisit, *, show_names: bool) -> str:
    """Reference, service, language; how, when not on site; how many, when a family."""
    parts = [visit.reference, visit.service, visit.language]
    if visit.channel in _CHANNEL:
        parts.append(_CHANNEL[visit.channel])
    if visit.party_size > 1:
        parts.append(f"{visit.party_size} os.")
    if show_names and visit.visitor_name:
        parts.append(visit.visitor_name)
    return " · ".join(parts)


def build_staff_feed(
    *,
    point_id: str,
    point_name: str,
    timezone: str,
    visits: list[FeedVisit],
    show_names: bool,
    window_start: dt.date,
    public_url: str,
    refresh: dt.timedelta = REFRESH,
) -> bytes:
    """The feed of `visits` (already chosen: the window's confirmed, checked-in and held ones)."""
    zone = ZoneInfo(timezone)
    name = ical_text(f"Wizyty – {point_name}")
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    calendar.add("NAME", name)  # RFC 7986 §5.1
    calendar.add("X-WR-CALNAME", name)
    calendar.add("X-WR-TIMEZONE", timezone)
    calendar.add("URL", f"{public_url.rstrip('/')}/points/{point_id}")
    calendar.add("REFRESH-INTERVAL", refresh, parameters={"VALUE": "DURATION"})  # §5.7
    calendar.add("X-PUBLISHED-TTL", vDuration(refresh))
    middle = window_start + WINDOW / 2
    calendar.add_component(vtimezone(timezone, dt.datetime.combine(middle, dt.time(12), dt.UTC)))
    for visit in visits:
        calendar.add_component(_event(visit, zone, show_names))
    return calendar.to_ical()


def _event(visit: FeedVisit, zone: ZoneInfo, show_names: bool) -> Event:
    event = Event()
    event.add("UID", f"{visit.booking_id}@wizyta")
    event.add("SEQUENCE", visit.sequence)
    event.add("DTSTAMP", visit.updated_at.astimezone(dt.UTC))
    event.add("LAST-MODIFIED", visit.updated_at.astimezone(dt.UTC))
    event.add("DTSTART", visit.start.astimezone(zone))
    event.add("DTEND", visit.end.astimezone(zone))
    event.add("SUMMARY", ical_text(summary(visit, show_names=show_names)))
    event.add("LOCATION", ical_text(visit.desk))
    event.add("STATUS", "TENTATIVE" if visit.status == "held" else "CONFIRMED")
    event.add("TRANSP", "OPAQUE")  # a visit keeps its desk busy
    event.add("CLASS", "CONFIDENTIAL")
    if show_names and visit.needs:
        event.add("DESCRIPTION", ical_text(", ".join(visit.needs)))
    return event
