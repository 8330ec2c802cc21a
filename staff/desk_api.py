"""The clerk's desk over the API: the office cancels a visit (with a reason the visitor is
told) or moves it to another free time. A thin controller: what a cancel or a move does is
booking's (booking/office.py `cancel_one`, `move_one`, through the store); who may act and the
audit line are staff's."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from booking import office
from booking.api import CallerDependency
from booking.caller import Caller, CallerDep
from booking.office import SheetVisit
from booking.schemas import LINE, Start
from core.openapi import problems
from core.uow import Uow
from staff.accounts import StaffMember
from staff.auth import Staff, current_staff, require_point
from staff.changes import audit

ReasonText = Annotated[str, Meta(min_length=1, max_length=500, pattern=LINE)]


class CancelIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    reason: ReasonText
    """Why the office cancels: the visitor reads it in the cancellation mail."""
    language: Annotated[str, Meta(pattern=r"^(pl|en|uk|ru)$")] = "pl"
    """The language the reason is written in."""


class MoveIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    start: Start
    """The new start: RFC 3339, or a local wall time of the point (YYYY-MM-DDTHH:MM)."""


class StaffDeskController(Controller):
    path = "/api/v1/staff/bookings"
    tags = ["staff"]
    dependencies = {"staff": Provide(current_staff), **CallerDependency}

    @post(
        "/{reference:str}/cancel",
        status_code=200,
        summary="The office cancels a visit; the visitor is told the reason",
        responses=problems(401, 403, 404, 409, 413, 415),
    )
    async def cancel(
        self, uow: Uow, staff: Staff, reference: FromPath[str], data: JSONBody[CancelIn]
    ) -> SheetVisit:
        return await cancel(uow, staff, reference, {data.language: data.reason.strip()})

    @post(
        "/{reference:str}/move",
        status_code=200,
        summary="The office moves a visit to another free time",
        responses=problems(401, 403, 404, 409, 413, 415),
    )
    async def move(
        self, caller: CallerDep, staff: Staff, reference: FromPath[str], data: JSONBody[MoveIn]
    ) -> SheetVisit:
        return await move(caller, staff, reference, data.start)


def _audited(staff: StaffMember, action: str, reference: str) -> office.Audited:
    async def audited(conn: asyncpg.Connection, point_id: str, before: dict, after: dict) -> None:
        await audit(conn, staff, action, "visit", reference, point_id, before, after)

    return audited


async def cancel(
    uow: Uow, staff: StaffMember, reference: str, reason: dict[str, str]
) -> SheetVisit:
    return await office.cancel_one(
        uow,
        reference,
        reason,
        authorize=lambda point_id: require_point(staff, point_id),
        audited=_audited(staff, "cancel", reference),
    )


async def move(caller: Caller, staff: StaffMember, reference: str, start: str) -> SheetVisit:
    return await office.move_one(
        caller,
        reference,
        start,
        authorize=lambda point_id: require_point(staff, point_id),
        audited=_audited(staff, "move", reference),
    )
