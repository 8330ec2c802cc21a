"""GET /api/v1/staff/audit: who changed what and when, with the state before and after.

Administrators only: the log spans every point and names every staff member, so a point's
staff would see their colleagues' work elsewhere. Newest first; `before_id` pages back.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import QueryParameter

from core.openapi import problems
from staff.auth import Staff, current_staff, require_admin
from staff.schemas import STAFF_SECURITY

BIGINT_MAX = 2**63 - 1
"""The largest audit id PostgreSQL can hold (bigint); a larger `before_id` is a 400, not a 500."""


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: dt.datetime
    staff_id: UUID | None
    staff_email: str | None
    action: str
    entity: str
    entity_id: str | None
    point_id: str | None
    before: Any
    after: Any


class StaffAuditController(Controller):
    path = "/api/v1/staff/audit"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/", responses=problems(401, 403, 404, 422))
    async def audit_log(
        self,
        state: State,
        staff: Staff,
        point_id: Annotated[str | None, QueryParameter(description="only this point")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        before_id: Annotated[
            int | None, QueryParameter(description="older than this entry", ge=1, le=BIGINT_MAX)
        ] = None,
    ) -> list[AuditEntry]:
        require_admin(staff)
        rows = await state.pool.fetch(
            """
            select id, at, staff_id, staff_email, action, entity, entity_id, point_id, before,
                   after
            from audit_log
            where ($1::text is null or point_id = $1) and ($2::bigint is null or id < $2)
            order by id desc limit $3
            """,
            point_id,
            before_id,
            limit,
        )
        return [AuditEntry(**dict(r)) for r in rows]
