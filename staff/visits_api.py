"""The day sheet of a point, and the moves staff make on the day: check-in, no-show, complete.

A thin controller: the sheet and the moves are booking's (booking/office.py: the same store and
state machine as the visitor's changes; an illegal move is 409, and so is one against the
clock); who may act, and the audit line each move leaves, are staff's.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, QueryParameter

from booking import office
from booking.domain.lifecycle import Event
from booking.office import SheetVisit
from core.openapi import problems
from core.uow import Uow
from scheduling import store
from staff.accounts import StaffMember
from staff.auth import Staff, current_staff, require_point
from staff.changes import audit


class DaySheet(msgspec.Struct, frozen=True, kw_only=True):
    point_id: str
    date: dt.date
    timezone: str
    visits: list[SheetVisit]


LocalDate = Annotated[
    dt.date | None, QueryParameter(description="local date, YYYY-MM-DD; today by default")
]


#: A move on the day: 404 unknown, 403 another point's, 409 not now (office.record).
MOVE_REFUSALS = problems(401, 403, 404, 409)


class StaffVisitController(Controller):
    path = "/api/v1/staff"
    tags = ["staff"]
    dependencies = {"staff": Provide(current_staff)}

    @get("/points/{point_id:str}/visits", responses=problems(401, 403, 404))
    async def day_sheet(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], date: LocalDate = None
    ) -> DaySheet:
        """Every visit starting on the local date, by time (then desk)."""
        require_point(staff, point_id)
        conn = await uow.connection()
        point = await store.get_point(conn, point_id)
        day = date or dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
        visits = await office.day_sheet(conn, point, day)
        return DaySheet(point_id=point_id, date=day, timezone=point.timezone, visits=visits)

    @post("/bookings/{reference:str}/check-in", status_code=200, responses=MOVE_REFUSALS)
    async def check_in(self, uow: Uow, staff: Staff, reference: FromPath[str]) -> SheetVisit:
        return await move(uow, staff, reference, Event.CHECK_IN)

    @post("/bookings/{reference:str}/no-show", status_code=200, responses=MOVE_REFUSALS)
    async def no_show(self, uow: Uow, staff: Staff, reference: FromPath[str]) -> SheetVisit:
        return await move(uow, staff, reference, Event.NO_SHOW)

    @post("/bookings/{reference:str}/complete", status_code=200, responses=MOVE_REFUSALS)
    async def complete(self, uow: Uow, staff: Staff, reference: FromPath[str]) -> SheetVisit:
        return await move(uow, staff, reference, Event.COMPLETE)


async def move(uow: Uow, staff: StaffMember, reference: str, event: Event) -> SheetVisit:
    """Apply one staff event to a visit: 404 unknown, 403 another point's, 409 not now."""

    async def audited(conn: asyncpg.Connection, point_id: str, before: dict, after: dict) -> None:
        await audit(conn, staff, event.value, "visit", reference, point_id, before, after)

    return await office.record(
        uow,
        reference,
        event,
        authorize=lambda point_id: require_point(staff, point_id),
        audited=audited,
    )
