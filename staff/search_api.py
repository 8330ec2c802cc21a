"""GET /api/v1/staff/points/{id}/search?q=: the clerk's search across a point's visits by
reference, name, e-mail or phone (booking/office.py `search`: case-insensitive, by any part,
on trigram indexes)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import Provide
from litestar.params import FromPath, QueryParameter

from booking import office
from booking.office import SheetVisit
from core.openapi import problems
from core.uow import Uow
from staff.auth import Staff, current_staff, require_point
from staff.errors import SearchTooShort


class SearchResult(msgspec.Struct, frozen=True, kw_only=True):
    point_id: str
    query: str
    visits: list[SheetVisit]
    """Visits ahead first (soonest first), then past ones (latest first); at most 50."""


Query = Annotated[
    str,
    QueryParameter(
        min_length=0,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="a reference, or part of a name, an e-mail or a phone number",
    ),
]


def check_query(q: str) -> str:
    wanted = q.strip()
    if len(wanted) < office.SEARCH_MIN:
        raise SearchTooShort(minimum=office.SEARCH_MIN)
    return wanted


class StaffSearchController(Controller):
    path = "/api/v1/staff"
    tags = ["staff"]
    dependencies = {"staff": Provide(current_staff)}

    @get("/points/{point_id:str}/search", responses=problems(401, 403, 404))
    async def search(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], q: Query
    ) -> SearchResult:
        """The point's visits matching `q` on any day, whatever their status."""
        require_point(staff, point_id)
        wanted = check_query(q)
        visits = await office.search(await uow.connection(), point_id, wanted)
        return SearchResult(point_id=point_id, query=wanted, visits=visits)
