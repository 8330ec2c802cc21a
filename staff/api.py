"""Staff sessions over the API: log in, who am I, log out, change one's password; an
administrator resets another account's password."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import JSONBody
from msgspec import Meta

from core.openapi import problems
from core.tokens import token_hash
from core.uow import Uow
from staff.accounts import MAX_PASSWORD, change_password, reset_password
from staff.auth import SESSION_COOKIE, Staff, bearer_token, current_staff, require_admin
from staff.sessions import log_in, log_out


class LoginIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=1000)]


class SessionOut(msgspec.Struct, frozen=True):
    token: str
    expires_at: dt.datetime
    email: str
    role: str
    point_ids: list[str]
    must_change_password: bool = False
    """True after `staff add` or a reset: POST /api/v1/staff/me/password before anything else
    (every other request answers 403 `password_change_required`)."""


class Me(msgspec.Struct, frozen=True):
    email: str
    role: str
    point_ids: list[str]
    must_change_password: bool = False


class PasswordChangeIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    current_password: Annotated[str, Meta(min_length=1, max_length=MAX_PASSWORD)]
    new_password: Annotated[str, Meta(min_length=1, max_length=MAX_PASSWORD)]


class PasswordResetIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)]


class PasswordResetOut(msgspec.Struct, frozen=True):
    email: str
    one_time_password: str
    """Shown once: hand it over; it must be changed at the next login."""


class StaffSessionController(Controller):
    path = "/api/v1/staff"
    tags = ["staff"]

    @post(
        "/sessions",
        status_code=201,
        summary="Log in: a session token for `Authorization: Bearer`",
        responses=problems(401, 413, 415, 429),
    )
    async def create(
        self, state: State, uow: Uow, request: Request, data: JSONBody[LoginIn]
    ) -> SessionOut:
        address = request.client.host if request.client else "unknown"
        await state.rate_limits.check("login", address=address, person=data.email.lower())
        session = await log_in(uow, data.email, data.password, address)
        staff = session.staff
        return SessionOut(
            session.token,
            session.expires_at,
            staff.email,
            staff.role,
            sorted(staff.point_ids),
            staff.must_change_password,
        )

    @get("/me", dependencies={"staff": Provide(current_staff)}, responses=problems(401))
    async def me(self, staff: Staff) -> Me:
        return Me(staff.email, staff.role, sorted(staff.point_ids), staff.must_change_password)

    @post(
        "/me/password",
        dependencies={"staff": Provide(current_staff)},
        status_code=204,
        summary="Change one's own password (ends the account's other sessions)",
        responses=problems(401, 403, 413, 415),
    )
    async def change_password(
        self, uow: Uow, request: Request, staff: Staff, data: JSONBody[PasswordChangeIn]
    ) -> None:
        token = bearer_token(request) or request.cookies.get(SESSION_COOKIE, "")
        await change_password(
            await uow.connection(),
            staff.id,
            data.current_password,
            data.new_password,
            token_hash(token),
        )

    @post(
        "/password-resets",
        dependencies={"staff": Provide(current_staff)},
        status_code=201,
        summary="Administrators: a new one-time password for an account",
        responses=problems(401, 403, 404, 413, 415),
    )
    async def reset(
        self, uow: Uow, staff: Staff, data: JSONBody[PasswordResetIn]
    ) -> PasswordResetOut:
        require_admin(staff)
        _, password = await reset_password(await uow.connection(), data.email)
        return PasswordResetOut(data.email.strip(), password)

    @delete(
        "/sessions/current",
        dependencies={"staff": Provide(current_staff)},
        status_code=204,
        responses=problems(401),
    )
    async def logout(self, uow: Uow, request: Request, staff: Staff) -> None:
        token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
        if token:
            await log_out(uow, token)
