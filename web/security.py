"""Security headers on every response, and CSRF protection for every form.

CSRF is a double-submit token: a random 256-bit token in an HttpOnly, SameSite=Strict cookie,
repeated in each form as the hidden field `csrf_token`; an unsafe request to a page whose field
does not equal the cookie is refused. Nothing is kept on the server, so any replica checks any
form. Staff forms carry their session's own CSRF token (set as a second cookie at login), which
`staff.auth.current_staff` checks against the session as well. The JSON API under /api and the
feeds under /calendars take bearer tokens, never cookies of their own, and are exempt.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import FormExpired

CSRF_COOKIE = "wizyta_csrf"
STAFF_CSRF_COOKIE = "wizyta_staff_csrf"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Paths that are not pages: bearer-token APIs, feeds, probes, static files, the API schema.
NOT_PAGES = ("/api/", "/calendars/", "/static/", "/schema", "/swagger", "/healthz", "/readyz")

_PAGE_POLICY = [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
]
CONTENT_SECURITY_POLICY = "; ".join(_PAGE_POLICY)

#: The one page that runs code: the booking form's details step when it asks for a proof of
#: work. The vendored ALTCHA widget (web/static/vendor/altcha, its CSP-friendly build) is a
#: script of this site, solves in a Web Worker loaded from this site, and fetches its challenge
#: from /api/v1/challenge; so this page alone adds 'self' for scripts, workers and fetches.
#: Still no 'unsafe-inline', 'unsafe-eval', blob: or any other origin. Every other page keeps
#: the policy above, with no script-src at all.
PROOF_OF_WORK_POLICY = "; ".join(
    [*_PAGE_POLICY, "script-src 'self'", "worker-src 'self'", "connect-src 'self'"]
)

#: The API reference (/schema, web/api_reference.py): the vendored Swagger UI and its starter,
#: scripts of this site; it fetches the OpenAPI document from here. Swagger UI sets styles from
#: its scripts and draws its icons as data: images.
API_REFERENCE_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]
_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
_REFERENCE_CSP = (b"content-security-policy", API_REFERENCE_POLICY.encode())

#: The API reference pages: their own policy, above.
_REFERENCE = ("/schema", "/swagger")


def _csp_for(path: str) -> tuple[bytes, bytes]:
    return _REFERENCE_CSP if path.startswith(_REFERENCE) else _CSP


def is_page(path: str) -> bool:
    return not path.startswith(NOT_PAGES) and path not in ("/schema", "/swagger")


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*_HEADERS, _csp_for(scope["path"])]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def security_headers(path: str) -> dict[str, str]:
    """The same headers as a dict, for responses made outside any route (404, 405)."""
    headers = {name.decode(): value.decode() for name, value in (*_HEADERS, _csp_for(path))}
    return headers


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


class CSRFMiddleware:
    """Sets the CSRF cookie on pages and checks the token of every unsafe request to a page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_page(scope["path"]):
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive)
        cookie = request.cookies.get(CSRF_COOKIE)
        if scope["method"] in SAFE_METHODS:
            token = cookie or new_csrf_token()
            scope.setdefault("state", {})["csrf_token"] = token
            if cookie == token:
                await self.app(scope, receive, send)
                return

            async def send_with_cookie(message: Message) -> None:
                if message["type"] == "http.response.start":
                    cookie_header = _cookie_header(token, secure=scope.get("scheme") == "https")
                    message["headers"] = [*message.get("headers", []), cookie_header]
                await send(message)

            await self.app(scope, receive, send_with_cookie)
            return
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.content_type[0] in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            sent = (await request.form()).get(CSRF_FIELD)
        expected = [c for c in (cookie, request.cookies.get(STAFF_CSRF_COOKIE)) if c]
        if not isinstance(sent, str) or not any(
            secrets.compare_digest(sent.encode(), c.encode()) for c in expected
        ):
            raise FormExpired()
        scope.setdefault("state", {})["csrf_token"] = cookie or sent
        await self.app(scope, receive, send)


def _cookie_header(token: str, *, secure: bool) -> tuple[bytes, bytes]:
    value = f"{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    if secure:
        value += "; Secure"
    return (b"set-cookie", value.encode())
