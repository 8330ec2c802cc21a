"""The domain's error tree (core/errors.py), mapped once to RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from core.db import STORE_FAILURES, stuck_protocol
from core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    StoreUnavailable,
    TooManyRequests,
    Unauthorized,
)

logger = logging.getLogger("wizyta.errors")

PROBLEM_JSON = "application/problem+json"


#: HTTP status and RFC 9110 reason for each kind of domain error.
STATUS: dict[str, tuple[int, str]] = {
    "invalid": (422, "Invalid request"),
    "not_found": (404, "Not found"),
    "conflict": (409, "Conflict"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "gone": (410, "Gone"),
    "too_many_requests": (429, "Too many requests"),
    "unavailable": (503, "Service unavailable"),
}


def status_of(error: DomainError) -> int:
    return STATUS[error.kind][0]


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


def problem_of(error: DomainError) -> Response:
    """The one mapping of a domain error to problem+json: the status by its kind, the stable
    `code`, its `field` and parameters as members, Retry-After when it says when to retry."""
    status, title = STATUS[error.kind]
    extra: dict[str, Any] = {"code": error.code}
    if error.field is not None:
        extra["field"] = error.field
    extra |= msgspec.to_builtins(error.params)
    response = problem(status, title, error.detail, error.type_slug or _slug(error.kind), extra)
    retry_after = error.params.get("retry_after")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _slug(kind: str) -> str:
    return kind.replace("_", "-")


def domain_error_handler(_: Request, exc: DomainError) -> Response:
    return problem_of(exc)


class _Throttled:
    """One log line per `every` seconds for a condition that hits every request at once (an
    outage): the first occurrence, then a count of what was not logged."""

    def __init__(self, every: float = 10.0) -> None:
        self.every, self.last, self.quiet = every, -math.inf, 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            self.quiet += 1
            return
        if self.quiet:
            message += f" (and {self.quiet} more in the last {self.every:.0f} s)"
        self.last, self.quiet = now, 0
        logger.warning(message, *args)


_outage_log = _Throttled()


def store_failure_handler(request: Request, exc: Exception) -> Response:
    _outage_log.warning(
        "store unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return problem_of(exc if isinstance(exc, StoreUnavailable) else StoreUnavailable())


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


def is_store_failure(exc: BaseException) -> bool:
    """Whether `exc` is, or was raised on account of, a failing store: what a broken connection
    raises while it is cleaned up (a rollback, a release) comes wrapped in other errors, such as
    an InterfaceError whose context is the failure or the ExceptionGroup of a dependency's
    cleanup. Such a request is answered 503, as the failure itself would be."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, STORE_FAILURES) or stuck_protocol(e):
            return True
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
    return False


def internal_error_handler(request: Request, exc: Exception) -> Response:
    if is_store_failure(exc):
        return store_failure_handler(request, exc)
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


exception_handlers: dict[Any, Any] = {
    DomainError: domain_error_handler,
    **dict.fromkeys(STORE_FAILURES, store_failure_handler),
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
    "StoreUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "exception_handlers",
    "is_store_failure",
    "problem",
    "status_of",
]
