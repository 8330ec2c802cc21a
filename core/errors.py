"""The error tree every feature raises: a stable code, parameters, and a kind. No HTTP here.

An error says what went wrong in the domain's words: its `code` (stable, for API clients and
for the pages' translated sentences), its parameters (the numbers and names a sentence needs),
the form `field` it belongs to, and its `kind`, the family a client treats alike (invalid, not
found, conflict...). Two places map it, each once: core/problems.py to RFC 9457 problem+json
(status by kind, the code and parameters in the body) and web/errors.py to a sentence in the
reader's language (by code). Nothing ever parses the English `detail`.

A subclass names its code and an English template over its parameters:

    class TooSoon(Invalid):
        code = "too_soon"
        field = "start"
        template = "This time is too soon: visits must be booked at least {minutes} minutes ahead."

    raise TooSoon(minutes=30)

The generic classes (`Invalid`, `NotFound`...) also take a sentence of their own for refusals
that no client or page needs to tell apart from others of their kind.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

Kind = Literal[
    "invalid",
    "not_found",
    "conflict",
    "unauthorized",
    "forbidden",
    "gone",
    "too_many_requests",
    "unavailable",
]


class DomainError(Exception):
    kind: ClassVar[Kind] = "invalid"
    code: ClassVar[str] = "invalid"
    template: ClassVar[str] = ""
    #: the RFC 9457 `type` slug when it is not the kind's (kept stable for API clients)
    type_slug: ClassVar[str | None] = None
    field: str | None = None

    def __init__(self, detail: str | None = None, /, *, field: str | None = None, **params: Any):
        self.params = params
        if field is not None:
            self.field = field
        self.detail = detail if detail is not None else self.template.format(**params)
        super().__init__(self.detail)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.params!r})"


class Invalid(DomainError):
    kind, code = "invalid", "invalid"


class NotFound(DomainError):
    kind, code = "not_found", "not_found"


class Conflict(DomainError):
    kind, code = "conflict", "conflict"


class Unauthorized(DomainError):
    kind, code = "unauthorized", "unauthorized"


class Forbidden(DomainError):
    kind, code = "forbidden", "forbidden"


class FormExpired(Forbidden):
    """A form without the token its page was given: from another site, or from before."""

    code = "form_expired"
    type_slug = "form-expired"
    template = "The form has expired or did not come from this site; reload it."


class Gone(DomainError):
    kind, code = "gone", "gone"


class TooManyRequests(DomainError):
    """A rate limit is spent; `retry_after` seconds until the next request may pass."""

    kind, code = "too_many_requests", "too_many_requests"

    def __init__(self, detail: str | None = None, /, *, retry_after: int, **params: Any):
        super().__init__(detail, retry_after=retry_after, **params)
        self.retry_after = retry_after


class StoreUnavailable(DomainError):
    """PostgreSQL (or another store the request needs) did not answer in time; nothing was
    written by this request, and it may be sent again after `retry_after` seconds."""

    kind, code = "unavailable", "store_unavailable"
    template = "The service is busy or one of its stores is unreachable; please try again shortly."

    def __init__(self, detail: str | None = None, /, *, retry_after: int = 2, **params: Any):
        super().__init__(detail, retry_after=retry_after, **params)
        self.retry_after = retry_after
