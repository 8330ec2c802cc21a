"""Who is asking: the staff member behind a session, and what they may touch.

The API takes `Authorization: Bearer <token>`; pages take the same session from an HttpOnly,
SameSite=Strict cookie, and then every unsafe request must carry the session's CSRF token
(header X-CSRF-Token or form field csrf_token).
"""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency

from core.db import BoundedPool
from core.errors import FormExpired
from core.tokens import token_matches
from core.uow import UnitOfWork
from staff.accounts import StaffMember
from staff.errors import AdminOnly, NotYourPoint, PasswordChangeRequired
from staff.sessions import authenticate

SESSION_COOKIE = "wizyta_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: What an account with a one-time password may still reach: changing it, and leaving.
ONE_TIME_ALLOWED = frozenset(
    {
        "/staff/password",
        "/staff/logout",
        "/api/v1/staff/me",
        "/api/v1/staff/me/password",
        "/api/v1/staff/sessions/current",
    }
)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


async def current_staff(request: Request) -> StaffMember:
    """The staff member behind the request's session (the API's dependency `staff`).

    Read through the pool, whose connection goes back at once: the staff controllers that
    take a connection of their own (state.pool) then never hold two, and those on the
    request's unit of work take theirs after this one is returned."""
    return await staff_of(request, request.app.state.pool)


async def staff_of(request: Request, source: UnitOfWork | BoundedPool) -> StaffMember:
    """The staff member behind the request's session, read through `source`: the request's
    unit of work, or (pages, before they take a connection of their own) the pool."""
    token = bearer_token(request)
    from_cookie = token is None and SESSION_COOKIE in request.cookies
    if from_cookie:
        token = request.cookies[SESSION_COOKIE]
    staff, csrf_hash = await authenticate(source, token)
    if from_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token")
        if sent is None and "form" in request.headers.get("content-type", ""):
            sent = (await request.form()).get("csrf_token")
        if not token_matches(sent, csrf_hash):
            raise FormExpired()
    if staff.must_change_password and request.url.path.rstrip("/") not in ONE_TIME_ALLOWED:
        raise PasswordChangeRequired()
    return staff


def require_point(staff: StaffMember, point_id: str) -> None:
    if not staff.may_manage(point_id):
        raise NotYourPoint(point_id=point_id)


def require_admin(staff: StaffMember) -> None:
    if not staff.is_admin:
        raise AdminOnly()


#: A handler parameter `staff: Staff` receives the logged-in staff member (or the request is 401).
Staff = NamedDependency[StaffMember]
