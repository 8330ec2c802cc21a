"""A draw entry's page: "you are in the draw" while its window is open, then the answer.

A booking sent from the page in a release's first minutes becomes a draw entry, not a held
visit (booking/draw.py): the form redirects here with the entry's token in the query, as the
visit pages carry the manage token, so the page is the visitor's private link to the answer.
Asking for the answer after the window has closed decides the draw, as the API does; a winner
also gets the usual e-mail to confirm the visit.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Template

from booking import draw
from booking import store as booking_store
from core.problems import DomainError
from scheduling import store
from web.booking_flow import draw_path, step_link
from web.common import CallerDep, provide_caller
from web.points import address_line, map_link
from web.render import page
from web.visits import refused


class DrawPages(Controller):
    path = "/draws"
    include_in_schema = False
    dependencies = {"caller": Provide(provide_caller)}

    @get("/{entry_id:uuid}")
    async def entry(
        self, request: Request, caller: CallerDep, entry_id: FromPath[UUID]
    ) -> Template:
        token = request.query_params.get("token")
        context: dict[str, Any] = {"visit": None, "offer": None}
        try:
            entry = await draw.answer(caller, entry_id, token)
        except DomainError as error:
            return refused(request, error)
        conn = await caller.uow.connection()
        point = await store.get_point(conn, entry.point_id)
        if entry.reference is not None:
            row = await booking_store.by_reference(conn, entry.reference)
            context["visit"] = booking_store.visit_of(row)
            context["offer"] = await store.get_point_service(conn, point.id, row["service_id"])
        return page(
            request,
            "draw.html",
            entry=entry,
            point=point,
            address=address_line(point),
            map=map_link(point),
            link=caller.settings.public_url + draw_path(entry_id, token or ""),
            again=step_link(point.id),
            **context,
        )
