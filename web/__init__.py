"""Server-rendered pages for visitors and staff: small, usable without JavaScript, in pl/en/uk/ru.

The controllers call the same use-cases as the JSON API (booking.visits, booking.office,
scheduling.store and availability, staff.sessions), never the API over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from litestar import Request, Response
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException, NotFoundException
from litestar.static_files import create_static_files_router

from core.problems import DomainError, StoreUnavailable, is_store_failure, status_of
from web.render import STATIC, template_config
from web.security import CSRFMiddleware, SecurityHeadersMiddleware, is_page, security_headers

__all__ = [
    "middleware",
    "page_exception_handlers",
    "template_config",
    "web_handlers",
]

STATIC_MAX_AGE = 365 * 24 * 3600  # the stylesheet's URL carries its hash (?v=)


def web_handlers() -> list[Any]:
    from web.booking_flow import BookingPages
    from web.display import DisplayPages
    from web.draws import DrawPages
    from web.find import FindPages
    from web.kiosk import KioskPages
    from web.legal import LegalPages
    from web.manage_link import ManageLinkPages
    from web.own_data import OwnDataPages
    from web.points import PointPages
    from web.staff_booking_pages import StaffBookingPages
    from web.staff_outages import StaffOutagePages
    from web.staff_pages import StaffPages
    from web.staff_queue_pages import StaffQueuePages
    from web.staff_rules_pages import StaffRulesPages
    from web.visits import VisitPages

    return [
        PointPages,
        FindPages,
        BookingPages,
        ManageLinkPages,
        VisitPages,
        OwnDataPages,
        LegalPages,
        DrawPages,
        StaffPages,
        KioskPages,
        DisplayPages,
        StaffQueuePages,
        StaffOutagePages,
        StaffRulesPages,
        StaffBookingPages,
        create_static_files_router(
            path="/static",
            directories=[STATIC],
            include_in_schema=False,
            cache_control=CacheControlHeader(public=True, max_age=STATIC_MAX_AGE, immutable=True),
        ),
    ]


def middleware() -> list[Any]:
    """Outermost first: every response gets the headers, pages get the CSRF check."""
    from web.legal import OutageBannerMiddleware

    return [SecurityHeadersMiddleware, CSRFMiddleware, OutageBannerMiddleware]


Handler = Callable[[Request, Any], Response]


def page_exception_handlers(api_handlers: Mapping[Any, Handler]) -> dict[Any, Handler]:
    """The API's problem+json handlers, except that a page's error is itself a page.

    Errors raised before any route matched (404, 405) skip the route middleware, so the
    security headers are added here too.
    """

    def for_pages(api_handler: Handler) -> Handler:
        def handle(request: Request, exc: Any) -> Response:
            path = request.url.path
            response = api_handler(request, exc) if not is_page(path) else _error_page(request, exc)
            for name, value in security_headers(path).items():
                response.headers.setdefault(name, value)
            return response

        return handle

    return {kind: for_pages(handler) for kind, handler in api_handlers.items()}


def _error_page(request: Request, exc: Exception) -> Response:
    import logging

    from staff.errors import PasswordChangeRequired
    from web.errors import explain, general, retry_headers
    from web.render import language_of, page

    if isinstance(exc, PasswordChangeRequired):
        # every staff page leads to the change until the one-time password is replaced
        from litestar.response import Redirect

        return Redirect(path="/staff/password", status_code=303)  # type: ignore[return-value]
    lang = language_of(request)
    headers: dict[str, str] = {}
    if not isinstance(exc, DomainError) and is_store_failure(exc):
        exc = StoreUnavailable()
    if isinstance(exc, DomainError):
        status, message = status_of(exc), explain(exc, lang).message
        headers = retry_headers(exc)
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        if isinstance(exc, NotFoundException):
            status = 404
        message = general(status, lang)
    else:
        logging.getLogger("wizyta.web").exception(
            "unhandled error on %s %s", request.method, request.url.path, exc_info=exc
        )
        status, message = 500, general(500, lang)
    return page(request, "problem.html", lang=lang, status=status, message=message, headers=headers)
