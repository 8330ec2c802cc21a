"""One error tree for the domain, mapped once to RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

logger = logging.getLogger("wizyta.errors")

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """A request the domain refuses; `status` and `title` say how it reaches a client."""

    status: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status, title, type_slug = 404, "Not found", "not-found"


class Invalid(DomainError):
    status, title, type_slug = 422, "Invalid request", "invalid"


class Conflict(DomainError):
    status, title, type_slug = 409, "Conflict", "conflict"


class Unauthorized(DomainError):
    status, title, type_slug = 401, "Unauthorized", "unauthorized"


class Forbidden(DomainError):
    status, title, type_slug = 403, "Forbidden", "forbidden"


class Gone(DomainError):
    status, title, type_slug = 410, "Gone", "gone"


def problem(
    status: int, title: str, detail: str, type_slug: str, extra: dict[str, Any] | None = None
) -> Response:
    """An RFC 9457 problem; `extra` adds members but never replaces the standard ones."""
    body = dict(extra or {})
    body |= {"type": f"/problems/{type_slug}", "title": title, "status": status, "detail": detail}
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error_handler(_: Request, exc: DomainError) -> Response:
    response = problem(exc.status, exc.title, exc.detail, exc.type_slug, exc.extra)
    if "retry_after" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


def validation_error_handler(_: Request, exc: ValidationException) -> Response:
    errors = exc.extra if isinstance(exc.extra, list) else []
    detail = "; ".join(
        f"{e.get('key', 'body')}: {e.get('message')}" for e in errors if isinstance(e, dict)
    )
    return problem(400, "Malformed request", detail or exc.detail, "malformed", {"errors": errors})


def http_error_handler(_: Request, exc: HTTPException) -> Response:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    slug = {
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
        429: "too-many-requests",
    }.get(exc.status_code, "http-error")
    response = problem(exc.status_code, _reason(exc.status_code), detail, slug)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def internal_error_handler(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error",
        "Something went wrong on our side; nothing was changed. Please try again.",
        "internal",
    )


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


exception_handlers = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}

__all__ = [
    "PROBLEM_JSON",
    "Conflict",
    "DomainError",
    "Forbidden",
    "Gone",
    "Invalid",
    "MediaType",
    "NotFound",
    "Unauthorized",
    "exception_handlers",
    "problem",
]
