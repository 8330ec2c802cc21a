""" "Send me my link again": a visitor who lost the manage link asks for it by mail.

The page takes a booking number and an e-mail address and always answers the same sentence
(booking/visits.py `send_link` mails the link only when they belong together), so it tells
nobody whether a visit exists. POST, then a redirect to the same answer (a reload sends
nothing twice); rate-limited per address, mailbox and visit (core/ratelimit.py "link").
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template

from booking import visits
from booking.domain.errors import EmailInvalid
from core.problems import DomainError, status_of
from web.common import CallerDep, form_of, provide_caller, text
from web.errors import explain, retry_headers
from web.i18n import N_, gettext_for
from web.render import language_of, page

PATH = "/bookings/link"
MAX_REFERENCE = 40


def link_page_path(reference: str | None = None) -> str:
    from urllib.parse import urlencode

    return PATH + (f"?{urlencode({'reference': reference})}" if reference else "")


class ManageLinkPages(Controller):
    path = PATH
    include_in_schema = False
    dependencies = {"caller": Provide(provide_caller)}

    @get("/")
    async def form(self, request: Request) -> Template:
        reference = request.query_params.get("reference", "")[:MAX_REFERENCE]
        return self._page(
            request, {"reference": reference}, {}, sent=bool(request.query_params.get("sent"))
        )

    @post("/")
    async def ask(self, request: Request, caller: CallerDep) -> Any:
        form = await form_of(request)
        lang = language_of(request)
        _ = gettext_for(lang)
        reference, email = text(form, "reference")[:MAX_REFERENCE], text(form, "email")
        errors: dict[str, str] = {}
        if not reference:
            errors["reference"] = _(N_("Please enter the booking number, e.g. KRK-7Q4M-X2."))
        if not email:
            errors["email"] = _(N_("Please enter the e-mail address you booked with."))
        if not errors:
            try:
                await visits.send_link(caller, reference, email)
            except EmailInvalid as error:
                errors["email"] = explain(error, lang).message
            except DomainError as error:
                return page(
                    request,
                    "problem.html",
                    lang=lang,
                    status=status_of(error),
                    message=explain(error, lang).message,
                    headers=retry_headers(error),
                )
            else:
                return Redirect(path=PATH + "?sent=1", status_code=303)
        return self._page(request, {"reference": reference, "email": email}, errors, status=422)

    def _page(
        self,
        request: Request,
        form: dict[str, str],
        errors: dict[str, str],
        *,
        sent: bool = False,
        status: int = 200,
    ) -> Template:
        return page(request, "manage_link.html", status=status, form=form, errors=errors, sent=sent)
