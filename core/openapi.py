"""What the API says about itself: the problem+json schema of every refusal, the statuses each
handler can give, and an OPTIONS that lists every method of a path.

A handler names the refusals it can really give, by status, and gets their documentation:

    @post("/{reference:str}/cancel", responses=problems(401, 404, 409))

Every API handler may also answer 400 (a body or parameter that does not parse), 503 (a store
that does not answer, core/problems.py) and, behind a rate limit, 429: `problems` adds 400 and
503 itself; 429 is named where a limit applies. The schemathesis run in `make test`
(tests/integration/test_schemathesis.py) checks each answer's status, media type and schema
against this document, so a refusal left out here fails there.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_204_NO_CONTENT

from core.problems import PROBLEM_JSON


class ProblemDetails(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem, as core/problems.py writes it. A refusal's parameters (the numbers
    and names its sentence needs, e.g. `retry_after`, `point_id`) are further members."""

    type: str
    title: str
    status: int
    detail: str
    code: str | None = None
    field: str | None = None
    errors: list[dict[str, Any]] | None = None


#: What each status means in this API (the `code` member says which refusal it is).
MEANING: dict[int, str] = {
    400: "Malformed: a body, path or query parameter does not parse (see `errors`)",
    401: "No token, or one that is not valid here (WWW-Authenticate: Bearer)",
    403: "Not allowed for this session (another point's data, an admin's change)",
    404: "No such resource, or not for this token (nothing is revealed about which)",
    409: "Conflicts with the resource's state or with another request (`code` says which)",
    410: "Gone: the hold expired before it was confirmed",
    413: "The body is larger than the server accepts",
    415: "The body is not application/json",
    422: "Understood but refused: `code` names the rule and `field` the member at fault",
    429: "Too many requests; Retry-After says when to try again",
    503: "A store did not answer in time; nothing was changed; Retry-After says when to retry",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem+json responses of a handler: the given statuses, and 400, 422 and 503, which
    every API handler can give (core/hostile.py refuses a NUL byte with 400 and a date outside
    1900-2999 in any query or JSON value with 422; a store that fails is 503)."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            generate_examples=False,
            description=MEANING[status],
            media_type=PROBLEM_JSON,
        )
        for status in sorted({400, 422, *statuses, 503})
    }


def not_modified() -> dict[int, ResponseSpec]:
    """304 for a conditional GET whose ETag still matches (RFC 9110 15.4.5): no body."""
    return {
        304: ResponseSpec(
            data_container=None, generate_examples=False, description="Not modified (ETag)"
        )
    }


async def answer_options(request: Request) -> Response | None:
    """OPTIONS lists every method of the path (RFC 9110 9.3.7, 10.2.1).

    A coroutine on purpose: litestar runs a plain function hook in a worker thread, and this
    hook runs before every request (py-spy: the thread hand-off cost 14% of the server's CPU
    in a rush of draw entries).

    litestar 2 registers a path's handlers one at a time, and the OPTIONS handler it adds
    keeps the methods of the path as they were when it was created (litestar issue 4169,
    fixed only in 3.x): `/api/v1/staff/points` answered `Allow: OPTIONS, POST`. This hook
    answers OPTIONS from the application's own map of the path's handlers instead.
    """
    if request.method != "OPTIONS":
        return None
    methods: set[str] = set()
    for path in request.route_handler.paths:
        methods |= set(request.app.route_handler_method_map.get(path, {}))
    methods = {m for m in methods if m.isupper()} | {"OPTIONS"}
    return Response(
        content=None,
        status_code=HTTP_204_NO_CONTENT,
        headers={"Allow": ", ".join(sorted(methods))},
        media_type="text/plain",
    )
