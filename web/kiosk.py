"""The kiosk at a point's entrance (`/points/{id}/kiosk`): a visitor types the reference or
scans the QR code of their confirmation and gets a ticket number; a visitor without an
appointment takes a ticket for a service and a language, when the point takes walk-ins.

No login: the tablet carries a kiosk token that staff issue for the point (booking/kiosks.py).
It is opened once as `?kiosk_token=...`; the token then lives in an HttpOnly cookie limited to
the kiosk's path, and the address bar forgets it. Every refusal is a sentence on the kiosk's
own page, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, State
from litestar.params import FromPath
from litestar.response import Redirect, Template
from markupsafe import Markup

from booking import kiosks, qr, queue
from core.problems import DomainError, status_of
from core.uow import Uow
from scheduling import store
from scheduling.model import Point
from web.common import form_of, text
from web.errors import explain
from web.i18n import N_, gettext_for
from web.render import language_of, page

KIOSK_COOKIE = "wizyta_kiosk"
YEAR = 365 * 24 * 3600


QR_LABEL = N_("QR code of the booking number %(reference)s, for the kiosk")


def kiosk_code(reference: str, lang: str) -> Markup:
    """The visit's QR code for the kiosk, as inline SVG for a page (booking/qr.py)."""
    label = gettext_for(lang)(QR_LABEL) % {"reference": reference}
    return Markup(qr.svg(reference, label=label))  # segno's markup; the label is escaped


def _path(point_id: str) -> str:
    return f"/points/{point_id}/kiosk"


class KioskPages(Controller):
    path = "/points/{point_id:str}/kiosk"
    include_in_schema = False

    @get("/")
    async def kiosk(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        token = request.query_params.get("kiosk_token")
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            try:
                await kiosks.authorize(conn, point.id, token or request.cookies.get(KIOSK_COOKIE))
            except DomainError as error:
                return await self._page(request, state, point, problem=error, usable=False)
        if token:  # set up: keep the token in the cookie, out of the address bar
            response = Redirect(path=_path(point.id), status_code=303)
            response.set_cookie(
                Cookie(
                    key=KIOSK_COOKIE,
                    value=token,
                    path=_path(point.id),
                    max_age=YEAR,
                    httponly=True,
                    samesite="strict",
                    secure=request.url.scheme == "https",
                )
            )
            return response
        return await self._page(request, state, point)

    @post("/check-in")
    async def check_in(
        self, request: Request, state: State, uow: Uow, point_id: FromPath[str]
    ) -> Template:
        form = await form_of(request)
        point = await self._authorized(request, state, point_id)
        if isinstance(point, Template):
            return point
        try:
            ticket = await queue.check_in(uow, point, text(form, "reference"))
        except DomainError as error:
            return await self._page(request, state, point, problem=error, typed=form)
        return self._ticket(request, point, ticket, wait=None)

    @post("/walk-in")
    async def walk_in(
        self, request: Request, state: State, uow: Uow, point_id: FromPath[str]
    ) -> Template:
        form = await form_of(request)
        point = await self._authorized(request, state, point_id)
        if isinstance(point, Template):
            return point
        try:
            ticket = await queue.take_walk_in(
                uow, point, text(form, "service"), text(form, "language")
            )
        except DomainError as error:
            return await self._page(request, state, point, problem=error, typed=form)
        async with state.pool.acquire() as conn:
            wait = await queue.wait_for_walk_in(conn, point)
        return self._ticket(request, point, ticket, wait=wait)

    async def _authorized(self, request: Request, state: State, point_id: str) -> Point | Template:
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            try:
                await kiosks.authorize(conn, point.id, request.cookies.get(KIOSK_COOKIE))
            except DomainError as error:
                return await self._page(request, state, point, problem=error, usable=False)
        return point

    async def _page(
        self,
        request: Request,
        state: State,
        point: Point,
        *,
        problem: DomainError | None = None,
        usable: bool = True,
        typed: dict[str, Any] | None = None,
    ) -> Template:
        lang = language_of(request)
        async with state.pool.acquire() as conn:
            settings = await queue.settings_of(conn, point.id)
            services = await store.list_point_services(conn, point.id) if usable else []
            wait = await queue.wait_for_walk_in(conn, point) if usable else None
        explained = explain(problem, lang) if problem is not None else None
        return page(
            request,
            "kiosk.html",
            lang=lang,
            status=status_of(problem) if problem is not None else 200,
            point=point,
            usable=usable,
            problem=explained.message if explained else None,
            problem_field=explained.field if explained else None,
            walk_ins=usable and settings.walk_ins,
            services=services,
            walk_in_languages=[
                code for code in point.languages if any(code in s.languages for s in services)
            ],
            wait=wait,
            typed=typed or {},
        )

    def _ticket(
        self, request: Request, point: Point, ticket: queue.Ticket, wait: int | None
    ) -> Template:
        return page(
            request,
            "kiosk_ticket.html",
            point=point,
            ticket=ticket,
            wait=wait,
            back=_path(point.id),
        )
