"""The day sheet of a point, and the moves staff make on the day: check-in, no-show, complete.

The sheet shows every visit starting on one local date, whatever its status, so staff also see
who cancelled; a hold past its expiry shows as `expired` even before the sweep has marked it.
Moves follow `booking.lifecycle` (an illegal one is 409) and the clock: a visit is checked in
on its day, not before, and is a no-show only once it has started. Each move is audited.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, QueryParameter

from booking.lifecycle import Event, IllegalTransition, transition
from core.db import in_transaction
from core.problems import Conflict, NotFound
from scheduling import store
from scheduling.model import Point
from staff.accounts import StaffMember
from staff.auth import Staff, current_staff, require_point
from staff.changes import audit


class VisitorOnSheet(msgspec.Struct, frozen=True):
    name: str | None
    email: str | None
    phone: str | None


class SheetVisit(msgspec.Struct, frozen=True, kw_only=True):
    time: str
    """Local wall-clock start, HH:MM."""
    start: dt.datetime
    end: dt.datetime
    reference: str
    status: str
    service_id: str
    service: dict[str, str]
    language: str
    needs: list[str]
    notes: str | None
    visitor: VisitorOnSheet
    desk_id: str
    desk: dict[str, str]


class DaySheet(msgspec.Struct, frozen=True, kw_only=True):
    point_id: str
    date: dt.date
    timezone: str
    visits: list[SheetVisit]


_VISIT = """
    select b.id, b.reference, b.point_id, b.starts_at, b.ends_at, b.language, b.needs, b.notes,
           b.visitor_name, b.visitor_email, b.visitor_phone, b.service_id,
           s.names as service_names, b.desk_id, d.names as desk_names, p.timezone,
           case when b.status = 'held' and b.hold_expires_at <= now() then 'expired'
                else b.status end as status
    from bookings b
    join services s on s.id = b.service_id
    join desks d on d.id = b.desk_id
    join points p on p.id = b.point_id
"""


def sheet_visit(row: asyncpg.Record) -> SheetVisit:
    zone = zoneinfo.ZoneInfo(row["timezone"])
    start = row["starts_at"].astimezone(zone)
    return SheetVisit(
        time=start.strftime("%H:%M"),
        start=start,
        end=row["ends_at"].astimezone(zone),
        reference=row["reference"],
        status=row["status"],
        service_id=row["service_id"],
        service=row["service_names"],
        language=row["language"],
        needs=list(row["needs"]),
        notes=row["notes"],
        visitor=VisitorOnSheet(row["visitor_name"], row["visitor_email"], row["visitor_phone"]),
        desk_id=row["desk_id"],
        desk=row["desk_names"],
    )


async def day_sheet_visits(
    conn: asyncpg.Connection, point: Point, day: dt.date
) -> list[SheetVisit]:
    """The visits starting on one local date of the point (the API's and the pages' sheet)."""
    zone = zoneinfo.ZoneInfo(point.timezone)
    rows = await conn.fetch(
        _VISIT
        + """
        where b.point_id = $1 and b.starts_at >= $2 and b.starts_at < $3
        order by b.starts_at, b.desk_id, b.reference
        """,
        point.id,
        dt.datetime.combine(day, dt.time(0), zone),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone),
    )
    return [sheet_visit(r) for r in rows]


LocalDate = Annotated[
    dt.date | None, QueryParameter(description="local date, YYYY-MM-DD; today by default")
]


class StaffVisitController(Controller):
    path = "/api/v1/staff"
    tags = ["staff"]
    dependencies = {"staff": Provide(current_staff)}

    @get("/points/{point_id:str}/visits")
    async def day_sheet(
        self, state: State, staff: Staff, point_id: FromPath[str], date: LocalDate = None
    ) -> DaySheet:
        """Every visit starting on the local date, by time (then desk)."""
        require_point(staff, point_id)
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            day = date or dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
            visits = await day_sheet_visits(conn, point, day)
        return DaySheet(point_id=point_id, date=day, timezone=point.timezone, visits=visits)

    @post("/bookings/{reference:str}/check-in", status_code=200)
    async def check_in(self, state: State, staff: Staff, reference: FromPath[str]) -> SheetVisit:
        return await move(state.pool, staff, reference, Event.CHECK_IN)

    @post("/bookings/{reference:str}/no-show", status_code=200)
    async def no_show(self, state: State, staff: Staff, reference: FromPath[str]) -> SheetVisit:
        return await move(state.pool, staff, reference, Event.NO_SHOW)

    @post("/bookings/{reference:str}/complete", status_code=200)
    async def complete(self, state: State, staff: Staff, reference: FromPath[str]) -> SheetVisit:
        return await move(state.pool, staff, reference, Event.COMPLETE)


async def move(pool: asyncpg.Pool, staff: StaffMember, reference: str, event: Event) -> SheetVisit:
    """Apply one staff event to a visit: 404 unknown, 403 another point's, 409 not now."""

    async def work(conn: asyncpg.Connection) -> SheetVisit:
        row = await conn.fetchrow(_VISIT + " where b.reference = $1 for update of b", reference)
        if row is None:
            raise NotFound(f"There is no visit {reference!r}.")
        require_point(staff, row["point_id"])
        try:
            status = transition(row["status"], event)
        except IllegalTransition as e:
            raise Conflict(str(e), visit_status=row["status"]) from e
        now = await conn.fetchval("select now()")
        _check_clock(row, event, now)
        await conn.execute(
            "update bookings set status = $2, updated_at = now() where id = $1",
            row["id"],
            status.value,
        )
        await audit(
            conn,
            staff,
            event.value,
            "visit",
            reference,
            row["point_id"],
            {"status": row["status"]},
            {"status": status.value},
        )
        return sheet_visit(await conn.fetchrow(_VISIT + " where b.id = $1", row["id"]))

    return await in_transaction(pool, work)


def _check_clock(row: asyncpg.Record, event: Event, now: dt.datetime) -> None:
    zone = zoneinfo.ZoneInfo(row["timezone"])
    day = row["starts_at"].astimezone(zone).date()
    if event == Event.CHECK_IN and day > now.astimezone(zone).date():
        raise Conflict(
            f"The visit is on {day.isoformat()}; it can be checked in on that day.",
            visit_status=row["status"],
        )
    if event == Event.NO_SHOW and row["starts_at"] > now:
        raise Conflict(
            "The visit has not started yet, so the visitor cannot be a no-show.",
            visit_status=row["status"],
        )
