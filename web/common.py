"""What the visitor's page controllers share: the use-cases' caller, limits, form fields."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from typing import Any, NamedTuple

import asyncpg
from litestar import Request

from booking.api import client_address, provide_caller
from booking.caller import Caller, CallerDep
from core.hostile import within_calendar
from scheduling import store
from scheduling.availability import released_until, slots_for
from scheduling.model import ON_SITE, Point, PointService
from scheduling.rules.resolution import resolve_days
from scheduling.slots import DaySlots

__all__ = ["Caller", "CallerDep", "client_address", "provide_caller"]


async def limit(request: Request, action: str, person: str | None) -> None:
    """The same rate limits as the JSON API, so the pages are no way around them."""
    limits = getattr(request.app.state, "rate_limits", None)
    if limits is not None:
        await limits.check(action, address=client_address(request), person=person)


async def form_of(request: Request) -> dict[str, Any]:
    """The posted form: single values as strings, repeated ones (checkboxes) as lists."""
    form = await request.form()
    values: dict[str, Any] = {}
    for key in form:
        found = form.getall(key)
        values[key] = found if len(found) > 1 else found[0]
    return values


def text(form: dict[str, Any], name: str) -> str:
    value = form.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return value.strip() if isinstance(value, str) else ""


def parse_day(value: str | None) -> dt.date | None:
    """A day from a query or form, or None when absent, malformed or outside the calendar the
    service plans for (core.hostile: at its ends a day's bounds overflow)."""
    try:
        day = dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and within_calendar(day) else None


def parse_instant(value: str | None) -> dt.datetime | None:
    """An instant with its offset, or None (absent, malformed, naive, outside the calendar)."""
    try:
        parsed = dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None or not within_calendar(parsed.date()):
        return None
    return parsed


def local_today(point: Point) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()


async def free_days(
    conn: asyncpg.Connection,
    point: Point,
    offer: PointService,
    language: str,
    first: dt.date,
    days: int,
    *,
    channel: str = ON_SITE,
    services: Sequence[str] | None = None,
) -> tuple[list[DaySlots], dt.date | None]:
    """Days from `first` with free times, and where the next page of days starts (if any).
    `offer` is the visit's shape (scheduling/offers.py), `services` its matters."""
    today = local_today(point)
    first = max(first, today)
    horizon = today + dt.timedelta(days=offer.horizon_days)
    last = min(first + dt.timedelta(days=days - 1), horizon)
    if last < first:
        return [], None
    found = await slots_for(
        conn,
        point,
        offer,
        language,
        first,
        last,
        dt.datetime.now(dt.UTC),
        channel=channel,
        services=services,
    )
    later = last + dt.timedelta(days=1)
    return [d for d in found if d.slots], later if later <= horizon else None


async def day_slots(
    conn: asyncpg.Connection,
    point: Point,
    offer: PointService,
    language: str,
    day: dt.date,
    *,
    channel: str = ON_SITE,
    services: Sequence[str] | None = None,
) -> DaySlots:
    (found,) = await slots_for(
        conn,
        point,
        offer,
        language,
        day,
        day,
        dt.datetime.now(dt.UTC),
        channel=channel,
        services=services,
    )
    return found


def iso(instant: dt.datetime, point: Point) -> str:
    return instant.astimezone(zoneinfo.ZoneInfo(point.timezone)).isoformat()


def languages_in_order(offered: Sequence[str]) -> list[str]:
    order = ["pl", "en", "uk", "ru", "pjm", "ukl", "rsl"]
    return sorted(offered, key=lambda code: order.index(code) if code in order else len(order))


class NoTimes(NamedTuple):
    """Why a day shows no free times: `kind` is "past", "too_far", "not_published", "closed"
    (with the day's closure or holiday labels, if any) or "taken" (open, but nothing free)."""

    kind: str
    labels: list[dict[str, str]]


async def why_no_times(
    conn: asyncpg.Connection,
    point: Point,
    offer: PointService,
    day: dt.date,
    channel: str = ON_SITE,
) -> NoTimes:
    """Say why a day has no free times, so a closed day is not said to be "just taken"."""
    today = local_today(point)
    if day < today:
        return NoTimes("past", [])
    if day > today + dt.timedelta(days=offer.horizon_days):
        return NoTimes("too_far", [])
    published = released_until(point, dt.datetime.now(dt.UTC))
    if published is not None and day > published:
        return NoTimes("not_published", [])
    rules = await store.list_rules(conn, point.id, channel)
    [hours] = resolve_days(rules, day, day, observes_holidays=point.observes_holidays)
    if not hours.intervals:
        labels = [r.label for r in hours.reasons if r.kind in ("holiday", "closure") and r.label]
        return NoTimes("closed", labels)
    return NoTimes("taken", [])
