"""The visitor's own data from the manage page: download it all (JSON) or erase it now.

The manage link is the proof, as for moving or cancelling (booking/privacy.py); both acts are
POSTs with the form's CSRF token, so no prefetching mail scanner or browser does either.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking import privacy, visits
from core.problems import DomainError
from web.common import CallerDep, form_of, provide_caller, text
from web.render import page
from web.visits import refused, visit_page


class OwnDataPages(Controller):
    path = "/bookings/{reference:str}"
    include_in_schema = False
    dependencies = {"caller": Provide(provide_caller)}

    @post("/data")
    async def download(
        self, request: Request, caller: CallerDep, reference: FromPath[str]
    ) -> Response[bytes] | Template:
        form = await form_of(request)
        try:
            data = await privacy.export(caller, reference, text(form, "token"))
        except DomainError as error:
            return refused(request, error)
        return Response(
            msgspec.json.format(msgspec.json.encode(data), indent=2),
            media_type="application/json",
            status_code=200,
            headers={
                "Content-Disposition": f'attachment; filename="wizyta-{reference}.json"',
                "Cache-Control": "no-store",
            },
        )

    @get("/erase")
    async def erase_page(
        self, request: Request, caller: CallerDep, reference: FromPath[str]
    ) -> Template:
        token = request.query_params.get("token")
        try:
            visit = await visits.get(caller, reference, token)
        except DomainError as error:
            return refused(request, error)
        return await visit_page(request, caller, visit, "erase.html", token)

    @post("/erase")
    async def erase(self, request: Request, caller: CallerDep, reference: FromPath[str]) -> Any:
        form = await form_of(request)
        try:
            erased = await privacy.erase(caller, reference, text(form, "token"))
        except DomainError as error:
            return refused(request, error)
        query = urlencode({"cancelled": "1"}) if erased.cancelled else ""
        return Redirect(
            path=f"/bookings/{reference}/erased" + (f"?{query}" if query else ""), status_code=303
        )

    @get("/erased")
    async def erased(self, request: Request, reference: FromPath[str]) -> Template:
        """Says what was done; shows nothing of the visit (there is nothing left to show)."""
        return page(
            request,
            "erased.html",
            reference=reference[:40],
            cancelled=bool(request.query_params.get("cancelled")),
        )
