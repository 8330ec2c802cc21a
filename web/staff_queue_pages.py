"""Staff pages of the waiting room and the figures: the clerk's desk (call next, recall, park,
transfer, done, no-show; the queue; walk-in settings; kiosk tokens) and the statistics page
(server-rendered SVG charts, each with its numbers as a table, and the CSV export).

The same use-cases as the staff API (booking/queue.py, booking/kiosks.py, staff/statistics.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking import kiosks, office, queue
from booking import search as booking_search
from booking.search import MIN_LENGTH
from core.problems import DomainError, status_of
from core.uow import Uow
from scheduling import store
from staff.accounts import StaffMember
from staff.auth import require_point, staff_of
from staff.queue_api import issue_kiosk, revoke_kiosk
from staff.statistics import Figures, default_range, figures, figures_csv
from web.common import form_of, parse_day, text
from web.errors import explain
from web.i18n import N_, gettext_for
from web.render import language_of
from web.staff_pages import _staff_page, _to_login, who

DESK_ACTIONS = {
    "call-next": N_("Call next"),
    "recall": N_("Call again"),
    "park": N_("Stepped out"),
    "done": N_("Done"),
    "no-show": N_("Did not come"),
}
DONE = {
    "call-next": N_("The next visitor is called."),
    "recall": N_("The visitor is called again."),
    "park": N_("The visitor is set aside; call the number again when they are back."),
    "transfer": N_("The visitor is sent to the other desk."),
    "done": N_("Marked as done."),
    "no-show": N_("Marked as not come."),
    "call": N_("The visitor is called."),
    "return": N_("The visitor is back in the queue."),
    "settings": N_("The settings are saved."),
    "revoked": N_("The kiosk's token no longer works."),
}
STATUS_WORDS = {
    "waiting": N_("waiting"),
    "called": N_("called"),
    "parked": N_("stepped out"),
    "done": N_("done"),
    "no_show": N_("did not come"),
}


class StaffQueuePages(Controller):
    path = "/staff/points/{point_id:str}"
    include_in_schema = False

    # ------------------------------------------------------------------------ the desk

    @get("/queue")
    async def desk(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        return await self._desk(request, state, staff, point_id)

    async def _desk(
        self,
        request: Request,
        state: State,
        staff: StaffMember,
        point_id: str,
        *,
        desk_id: str | None = None,
        problem: str | None = None,
        status: int = 200,
        issued: Any = None,
        chosen: list[str] | None = None,
    ) -> Template:
        lang = language_of(request)
        _ = gettext_for(lang)
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            desks = await conn.fetch(
                "select id, names, languages from desks where point_id = $1 and active order by id",
                point_id,
            )
            desk_id = desk_id or request.query_params.get("desk") or None
            if desk_id not in {d["id"] for d in desks}:
                desk_id = desks[0]["id"] if desks else None
            tickets = await queue.queue_of(conn, point)
            settings = await queue.settings_of(conn, point_id)
            devices = await kiosks.list_kiosks(conn, point_id)
            wait = await queue.wait_for_walk_in(conn, point)
            services = {s.id: s.names for s in await store.list_point_services(conn, point_id)}
        current = next((t for t in tickets if t.status == "called" and t.desk_id == desk_id), None)
        done = DONE.get(request.query_params.get("done", ""))
        return _staff_page(
            request,
            staff,
            "staff/queue.html",
            lang=lang,
            status=status,
            point=point,
            desks=desks,
            desk_id=desk_id,
            at_desk=current,
            waiting=[t for t in tickets if t.status == "waiting"],
            parked=[t for t in tickets if t.status == "parked"],
            serving=[t for t in tickets if t.status == "called"],
            finished=[t for t in tickets if t.status in ("done", "no_show")],
            settings=settings,
            kiosks=[k for k in devices if k.revoked_at is None],
            issued=issued,
            wait=wait,
            services=services,
            desk_actions=DESK_ACTIONS,
            chosen=chosen if chosen is not None else request.query_params.getall("services", []),
            status_words=STATUS_WORDS,
            problem=problem,
            done=done and _(done),
            today=queue.today_of(point),
        )

    @post("/queue/desks/{desk_id:str}/{action:str}")
    async def desk_action(
        self,
        request: Request,
        state: State,
        uow: Uow,
        point_id: FromPath[str],
        desk_id: FromPath[str],
        action: FromPath[str],
    ) -> Any:
        staff = await staff_of(request, state.pool)
        require_point(staff, point_id)
        form = await form_of(request)
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
        chosen = _services_of(form)
        moves = {
            "call-next": lambda: queue.call_next(uow, point, desk_id, chosen or None),
            "recall": lambda: queue.recall(uow, point, desk_id),
            "park": lambda: queue.park(uow, point, desk_id),
            "done": lambda: queue.done(uow, point, desk_id),
            "no-show": lambda: queue.no_show(uow, point, desk_id),
            "transfer": lambda: queue.transfer(uow, point, desk_id, text(form, "to_desk")),
            "call": lambda: queue.call_ticket(uow, point, desk_id, text(form, "number")),
            "return": lambda: queue.return_to_queue(uow, point, text(form, "number")),
        }
        if action not in moves:
            return Redirect(path=f"/staff/points/{point_id}/queue", status_code=303)
        try:
            await moves[action]()
        except DomainError as error:
            message = explain(error, language_of(request)).message
            await uow.close()
            return await self._desk(
                request,
                state,
                staff,
                point_id,
                desk_id=desk_id,
                problem=message,
                status=status_of(error),
                chosen=chosen,
            )
        query = urlencode({"desk": desk_id, "done": action, "services": chosen}, doseq=True)
        return Redirect(path=f"/staff/points/{point_id}/queue?{query}", status_code=303)

    @post("/queue/settings")
    async def save_settings(
        self, request: Request, state: State, uow: Uow, point_id: FromPath[str]
    ) -> Any:
        staff = await staff_of(request, state.pool)
        require_point(staff, point_id)
        form = await form_of(request)
        cap = text(form, "walk_in_cap")
        if not cap.isdigit() or int(cap) > 999:
            _ = gettext_for(language_of(request))
            return await self._desk(
                request,
                state,
                staff,
                point_id,
                problem=_("Please give the number of tickets as a whole number from 0 to 999."),
                status=422,
            )
        from staff.changes import audit

        after = queue.QueueSettings(walk_ins=text(form, "walk_ins") == "yes", walk_in_cap=int(cap))

        async def work(conn: Any) -> None:
            before = await queue.settings_of(conn, point_id)
            await queue.save_settings(conn, point_id, after)
            await audit(conn, staff, "update", "queue_settings", point_id, point_id, before, after)

        await uow.atomic(work)
        return Redirect(path=f"/staff/points/{point_id}/queue?done=settings", status_code=303)

    @post("/queue/kiosks")
    async def add_kiosk(
        self, request: Request, state: State, uow: Uow, point_id: FromPath[str]
    ) -> Any:
        staff = await staff_of(request, state.pool)
        require_point(staff, point_id)
        form = await form_of(request)
        label = text(form, "label")[:100] or "kiosk"
        issued = await issue_kiosk(uow, staff, point_id, label, state.settings.public_url)
        await uow.close()
        return await self._desk(request, state, staff, point_id, issued=issued)

    @post("/queue/kiosks/{kiosk_id:uuid}/revoke")
    async def remove_kiosk(
        self,
        request: Request,
        state: State,
        uow: Uow,
        point_id: FromPath[str],
        kiosk_id: FromPath[UUID],
    ) -> Any:
        staff = await staff_of(request, state.pool)
        require_point(staff, point_id)
        await revoke_kiosk(uow, staff, point_id, kiosk_id)
        return Redirect(path=f"/staff/points/{point_id}/queue?done=revoked", status_code=303)

    # ------------------------------------------------------------------------ print

    @get("/print")
    async def print_day(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        """The day on paper: time, desk, visitor, service, language, needs and notes of every
        visit still on (cancelled and lapsed ones left out); no buttons."""
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            day = parse_day(request.query_params.get("date")) or queue.today_of(point)
            visits = await office.day_sheet(conn, point, day)
        return _staff_page(
            request,
            staff,
            "staff/print.html",
            point=point,
            day=day,
            visits=[v for v in visits if v.status not in ("cancelled", "expired")],
        )

    # ------------------------------------------------------------------------ search

    @get("/search")
    async def search(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        query = request.query_params.get("q", "")[:200]
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            found = await booking_search.find(conn, point_id, query)
        return _staff_page(
            request,
            staff,
            "staff/search.html",
            point=point,
            query=query,
            found=found,
            too_short=bool(query.strip()) and len(" ".join(query.split())) < MIN_LENGTH,
        )

    # ------------------------------------------------------------------------ the figures

    @get("/statistics")
    async def statistics(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        found, point = await self._figures(request, state, point_id)
        return _staff_page(
            request,
            staff,
            "staff/statistics.html",
            point=point,
            found=found,
            days=_per_day(found),
            chart=_charts(found),
            csv_link=f"/staff/points/{point_id}/statistics.csv?"
            + urlencode({"from": found.first.isoformat(), "to": found.last.isoformat()}),
        )

    @get("/statistics.csv")
    async def statistics_csv(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        found, point = await self._figures(request, state, point_id)
        name = f"wizyta-{point.id}-{found.first}-{found.last}.csv"
        return Response(
            figures_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    async def _figures(self, request: Request, state: State, point_id: str) -> tuple[Figures, Any]:
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            first, last = default_range(
                point,
                parse_day(request.query_params.get("from")),
                parse_day(request.query_params.get("to")),
            )
            if last < first:
                first, last = last, first
            if (last - first).days > 365:
                first = last - dt.timedelta(days=365)
            return await figures(conn, point, first, last), point


def _services_of(form: dict[str, Any]) -> list[str]:
    """The services the clerk ticked for "call next" (none: every service)."""
    value = form.get("services", [])
    return [v for v in ([value] if isinstance(value, str) else value) if isinstance(v, str)]


def _per_day(found: Figures) -> list[dict[str, Any]]:
    """Totals per day over services, languages and channels, with the day's capacity."""
    capacity = {c.date: c for c in found.capacity}
    days: dict[dt.date, dict[str, Any]] = {
        c.date: {
            "date": c.date,
            "booked": 0,
            "confirmed": 0,
            "cancelled_by_visitor": 0,
            "cancelled_by_office": 0,
            "no_shows": 0,
            "walk_ins": 0,
            "planned": c.planned_minutes,
            "booked_minutes": c.booked_minutes,
            "served": c.served_minutes,
        }
        for c in capacity.values()
    }
    for row in found.rows:
        day = days[row.date]
        for key in (
            "booked",
            "confirmed",
            "cancelled_by_visitor",
            "cancelled_by_office",
            "no_shows",
            "walk_ins",
        ):
            day[key] += getattr(row, key)
    return list(days.values())


def _charts(found: Figures) -> dict[str, Any]:
    """Bar geometry for two charts (computed here so the template only draws): visitors per
    day (booked, walk-ins) and capacity per day (planned, booked hours)."""
    days = _per_day(found)
    width, height, left, bottom = 640, 220, 40, 30
    slot = (width - left) / max(1, len(days))
    bar = max(2.0, slot / 2 - 2)

    def series(a: str, b: str, scale_by: float = 1.0) -> dict[str, Any]:
        top = max([1.0, *(max(d[a], d[b]) / scale_by for d in days)])
        bars = []
        for i, d in enumerate(days):
            x = left + i * slot
            for j, key in enumerate((a, b)):
                h = (d[key] / scale_by) / top * (height - bottom - 10)
                bars.append(
                    {
                        "x": round(x + j * bar + 1, 1),
                        "y": round(height - bottom - h, 1),
                        "w": round(bar, 1),
                        "h": round(h, 1),
                        "cls": "bar-a" if j == 0 else "bar-b",
                    }
                )
        labels = [
            {"x": round(left + i * slot + bar, 1), "text": d["date"].strftime("%d.%m")}
            for i, d in enumerate(days)
        ]
        step = max(1, len(labels) // 10)
        return {
            "bars": bars,
            "labels": labels[::step],
            "top": round(top, 1),
            "width": width,
            "height": height,
            "base": height - bottom,
            "left": left,
        }

    return {
        "visits": series("booked", "walk_ins"),
        "capacity": series("planned", "booked_minutes", 60),
    }
