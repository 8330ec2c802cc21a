"""Staff API: find a point's visits by reference, name, e-mail or phone (booking/search.py)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import FromPath, QueryParameter

from booking import search
from booking.office import SheetVisit
from core.openapi import problems
from core.uow import Uow
from scheduling import store
from staff.auth import Staff, current_staff, require_point
from staff.schemas import STAFF_SECURITY

Query = Annotated[
    str,
    QueryParameter(
        description="a reference, or a part of a name or e-mail, or a phone's digits "
        "(at least 3 characters)",
        max_length=200,
    ),
]


class StaffSearchController(Controller):
    path = "/api/v1/staff/points/{point_id:str}/visits/search"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/", responses=problems(401, 403, 404))
    async def search(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], q: Query
    ) -> list[SheetVisit]:
        """The point's visits that match, on any day, the latest first (at most 50)."""
        require_point(staff, point_id)
        conn = await uow.connection()
        await store.get_point(conn, point_id)
        return await search.find(conn, point_id, q)
