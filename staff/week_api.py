"""GET /api/v1/staff/points/{id}/week: a week of a point's slots for one service and language,
per desk (is the desk free at that time, in the capacity staff may book) and in total (the free
places online, computed exactly as the public `/availability` computes them:
scheduling/availability.py `slots_for`)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.di import Provide
from litestar.params import FromPath, QueryParameter

from booking.checks import check_language
from core.openapi import problems
from core.uow import Uow
from scheduling import store
from scheduling.availability import slots_for
from scheduling.points_api import date_range
from staff.auth import Staff, current_staff, require_point


class WeekSlot(msgspec.Struct, frozen=True):
    start: dt.datetime
    end: dt.datetime
    free: int
    """Free places online at this time: the `free` of the same slot in `/availability`
    (0 when the public cannot book it, e.g. only staff places are left)."""
    free_desks: list[str]
    """The desks free at this time in the capacity staff may book (internal desks included)."""


class WeekDay(msgspec.Struct, frozen=True):
    date: dt.date
    slots: list[WeekSlot]


class WeekDesk(msgspec.Struct, frozen=True):
    id: str
    names: dict[str, str]


class Week(msgspec.Struct, frozen=True, kw_only=True):
    point_id: str
    service_id: str
    language: str
    timezone: str
    first: dt.date
    last: dt.date
    desks: list[WeekDesk]
    days: list[WeekDay]


async def week_of(
    conn: asyncpg.Connection, point_id: str, service: str, language: str, day: dt.date | None
) -> Week:
    """Monday to Sunday of the week of `day` (today's by default)."""
    point = await store.get_point(conn, point_id)
    offer = await store.get_point_service(conn, point_id, service)
    check_language(offer, language)
    zone = zoneinfo.ZoneInfo(point.timezone)
    day = day or dt.datetime.now(zone).date()
    monday = day - dt.timedelta(days=day.weekday())
    first, last = date_range(point, monday, monday + dt.timedelta(days=6))
    now = dt.datetime.now(dt.UTC)
    public = await slots_for(conn, point, offer, language, first, last, now)
    whole = await slots_for(conn, point, offer, language, first, last, now, staff=True)
    online = {s.start: s.free for d in public for s in d.slots}
    desks = await conn.fetch(
        "select id, names from desks where point_id = $1 and active order by id", point_id
    )
    return Week(
        point_id=point.id,
        service_id=offer.id,
        language=language,
        timezone=point.timezone,
        first=first,
        last=last,
        desks=[WeekDesk(d["id"], d["names"]) for d in desks],
        days=[
            WeekDay(
                d.date,
                [
                    WeekSlot(
                        s.start.astimezone(zone),
                        s.end.astimezone(zone),
                        online.get(s.start, 0),
                        sorted(s.desk_ids),
                    )
                    for s in d.slots
                ],
            )
            for d in whole
        ],
    )


class StaffWeekController(Controller):
    path = "/api/v1/staff"
    tags = ["staff"]
    dependencies = {"staff": Provide(current_staff)}

    @get("/points/{point_id:str}/week", responses=problems(401, 403, 404))
    async def week(
        self,
        uow: Uow,
        staff: Staff,
        point_id: FromPath[str],
        service: Annotated[str, QueryParameter(max_length=100, description="service id")],
        language: Annotated[str, QueryParameter(max_length=3, description="language code")],
        date: Annotated[
            dt.date | None, QueryParameter(description="a day of the week; today by default")
        ] = None,
    ) -> Week:
        """The week's slots per desk, and the free places online (equal to /availability)."""
        require_point(staff, point_id)
        return await week_of(await uow.connection(), point_id, service, language, date)
