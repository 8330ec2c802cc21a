"""Who is asking: the staff member behind a session, and what they may touch.

The API takes `Authorization: Bearer <token>`; pages take the same session from an HttpOnly,
SameSite=Strict cookie, and then every unsafe request must carry the session's CSRF token
(header X-CSRF-Token or form field csrf_token).
"""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from core.problems import Forbidden
from core.tokens import token_matches
from staff.accounts import StaffMember
from staff.sessions import authenticate

SESSION_COOKIE = "wizyta_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


async def current_staff(request: Request, state: State) -> StaffMember:
    token = bearer_token(request)
    from_cookie = token is None and SESSION_COOKIE in request.cookies
    if from_cookie:
        token = request.cookies[SESSION_COOKIE]
    staff, csrf_hash = await authenticate(state.pool, token)
    if from_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token")
        if sent is None and "form" in request.headers.get("content-type", ""):
            sent = (await request.form()).get("csrf_token")
        if not token_matches(sent, csrf_hash):
            raise Forbidden("The form has expired or did not come from this site; reload it.")
    return staff


def require_point(staff: StaffMember, point_id: str) -> None:
    if not staff.may_manage(point_id):
        raise Forbidden(f"Your account may not manage the point {point_id!r}.")


def require_admin(staff: StaffMember) -> None:
    if not staff.is_admin:
        raise Forbidden("Only an administrator may do this.")


#: A handler parameter `staff: Staff` receives the logged-in staff member (or the request is 401).
Staff = NamedDependency[StaffMember]
