"""Staff's page for closing a point at short notice, and reopening it (staff/premises_api.py does
the work for this page and the API alike: the closing rule, the outage, the office's
cancellation of the day's visits, the audit line)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core.problems import DomainError, status_of
from scheduling import store
from staff.accounts import StaffMember
from staff.auth import require_point, staff_of
from staff.premises_api import close_at_short_notice, reopen_day
from staff.schemas import refuse_control_characters
from web.common import form_of, parse_day, text
from web.errors import explain
from web.render import language_of
from web.staff_pages import _staff_page, _to_login, who

LANGUAGES = ("pl", "en", "uk", "ru")


class StaffOutagePages(Controller):
    path = "/staff/points/{point_id:str}/outage"
    include_in_schema = False

    @get("/")
    async def form(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        return await self._page(request, state, staff, point_id, {}, {})

    async def _page(
        self,
        request: Request,
        state: State,
        staff: StaffMember,
        point_id: str,
        form: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            rows = await conn.fetch(
                """
                select id, day, reason from point_outages
                 where point_id = $1 and day >= (now() at time zone $2)::date order by day
                """,
                point_id,
                point.timezone,
            )
        today = dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
        return _staff_page(
            request,
            staff,
            "staff/outage.html",
            status=status,
            point=point,
            today=today,
            closures=rows,
            form=form,
            errors=errors,
            done=request.query_params.get("done"),
            cancelled=request.query_params.get("cancelled", ""),
        )

    @post("/")
    async def close(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await staff_of(request, state.pool)
        require_point(staff, point_id)
        form = await form_of(request)
        reason = {code: text(form, f"reason_{code}")[:200] for code in LANGUAGES}
        reason = {code: value for code, value in reason.items() if value}
        day = parse_day(text(form, "date")) if text(form, "date") else None
        try:
            refuse_control_characters({"reason": reason})
            outcome = await close_at_short_notice(state, staff, point_id, day, reason or None)
        except DomainError as error:
            problem = explain(error, language_of(request))
            errors = {problem.field or "form": problem.message}
            return await self._page(request, state, staff, point_id, form, errors, status_of(error))
        return Redirect(
            path=f"/staff/points/{point_id}/outage?done=closed&cancelled={outcome.cancelled}",
            status_code=303,
        )

    @post("/{outage_id:int}/reopen")
    async def reopen(
        self, request: Request, state: State, point_id: FromPath[str], outage_id: FromPath[int]
    ) -> Any:
        staff = await staff_of(request, state.pool)
        require_point(staff, point_id)
        await reopen_day(state, staff, point_id, outage_id)
        return Redirect(path=f"/staff/points/{point_id}/outage?done=reopened", status_code=303)
