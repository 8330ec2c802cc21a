"""Input no handler should ever see, refused once for every route before any handler runs.

- U+0000 anywhere in the decoded path, the query or a body (a raw NUL, a JSON `\\u0000`, a
  form's `%00`): PostgreSQL's text cannot hold it (asyncpg raises) and the file system cannot
  name it (`ValueError: embedded null byte`), so it would surface as a 500. 400, `nul_byte`.
- A date in the query (`?from=`, `?date=`, `?day=`...) or a JSON body outside the calendar this
  service plans for (`FIRST_DAY`..`LAST_DAY`): at the ends of Python's calendar a day's bounds
  overflow (`9999-12-31` + 1 day) or fall before year 1 in UTC. 422, `date_out_of_range`.
- A body under /api/ that is not JSON: every API route reads JSON, and a body sent as
  text/plain or a form must not be read as if it were (RFC 9110 §15.5.16). 415,
  `unsupported_media_type`.

Each refusal is RFC 9457 application/problem+json with a `code`; nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.problems import PROBLEM_JSON

FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
"""The calendar this service plans for; a day outside it is refused wherever it arrives."""

_ISO_DAY = re.compile(r"([+-]?\d{4,})-(\d{2})-(\d{2})(?:[T ].*)?", re.DOTALL)
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON_TYPES = re.compile(r"application/(?:[\w.+-]+\+)?json\s*(?:;.*)?", re.IGNORECASE)
_FORM = "application/x-www-form-urlencoded"


def within_calendar(day: dt.date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def _day_out_of_range(value: str) -> bool:
    """True for text shaped like an ISO date (or date-time) whose day is outside the calendar."""
    found = _ISO_DAY.fullmatch(value.strip())
    if found is None:
        return False
    year, month, day = (int(part) for part in found.groups())
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        return True
    try:
        return not within_calendar(dt.date(year, month, day))
    except ValueError:
        return False  # not a date at all; the handler says so


class Refusal(Exception):
    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


_TITLES = {
    400: ("Bad request", "bad-request"),
    413: ("Content too large", "too-large"),
    415: ("Unsupported media type", "unsupported-media-type"),
    422: ("Invalid request", "invalid"),
}


async def _send_problem(send: Send, refusal: Refusal) -> None:
    title, slug = _TITLES[refusal.status]
    body = msgspec.json.encode(
        refusal.extra
        | {
            "type": f"/problems/{slug}",
            "title": title,
            "status": refusal.status,
            "detail": refusal.detail,
            "code": refusal.code,
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _nul(where: str, field: str | None = None) -> Refusal:
    return Refusal(
        400,
        "nul_byte",
        f"{where[:1].upper()}{where[1:]} contains a NUL character (U+0000).",
        **({"field": field} if field else {}),
    )


def _date(where: str, value: str, field: str) -> Refusal:
    return Refusal(
        422,
        "date_out_of_range",
        f"{where[:1].upper()}{where[1:]} is {value[:40]!r}, outside the dates this service handles "
        f"({FIRST_DAY} to {LAST_DAY}).",
        field=field,
    )


def check_query(query_string: bytes) -> None:
    if b"\x00" in unquote_to_bytes(query_string.replace(b"+", b" ")):
        raise _nul("the query string")
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if _day_out_of_range(value):
            raise _date(f"the query parameter {name!r}", value, name)


def _walk_json(value: object, where: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise _nul(f"the body field {where or 'body'!r}", where or "body")
        if _day_out_of_range(value):
            raise _date(f"the body field {where or 'body'!r}", value, where or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if "\x00" in str(key):
                raise _nul("a body field's name")
            _walk_json(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk_json(item, f"{where}[{index}]")


def check_body(path: str, content_type: str, body: bytes) -> None:
    media = content_type.split(";", 1)[0].strip().lower()
    if _JSON_TYPES.fullmatch(content_type.strip()):
        try:
            document = msgspec.json.decode(body)
        except msgspec.DecodeError:
            if b"\x00" in body:
                raise _nul("the body") from None
            return  # malformed JSON: the handler's own 400 says where
        _walk_json(document, "")
        return
    if path.startswith("/api/"):
        raise Refusal(
            415,
            "unsupported_media_type",
            f"The body is {media or 'of no declared type'}; this API reads application/json.",
        )
    if media == _FORM:
        decoded = unquote_to_bytes(body.replace(b"+", b" "))
        if b"\x00" in decoded:
            field = next(
                (k for k, v in parse_qsl(body.decode("latin-1")) if "\x00" in k + v), "a field"
            )
            name = field.replace(chr(0), "")
            raise _nul(f"the form field {name!r}", name)
    elif b"\x00" in body:
        raise _nul("the body")


class RefuseHostileInput:
    """ASGI middleware: refuses the requests described in the module docstring, else passes
    the request on unchanged (its body replayed from memory, at most the app's body limit)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if "\x00" in scope["path"]:
                raise _nul("the path")
            check_query(scope.get("query_string", b""))
        except Refusal as refusal:
            await _send_problem(send, refusal)
            return
        if scope["method"] not in _UNSAFE:
            await self.app(scope, receive, send)
            return

        limit = getattr(scope.get("litestar_app"), "request_max_body_size", None)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if limit is not None and size > limit:
                await _send_problem(
                    send, Refusal(413, "too_large", f"The body is over {limit} bytes.")
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            headers = dict(scope["headers"])
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            try:
                check_body(scope["path"], content_type, body)
            except Refusal as refusal:
                await _send_problem(send, refusal)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
