"""Staff sessions over the API: log in, who am I, log out."""

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
from staff.auth import Staff, bearer_token, current_staff
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


class Me(msgspec.Struct, frozen=True):
    email: str
    role: str
    point_ids: list[str]


class StaffSessionController(Controller):
    path = "/api/v1/staff"
    tags = ["staff"]

    @post(
        "/sessions",
        status_code=201,
        summary="Log in: a session token for `Authorization: Bearer`",
        responses=problems(401, 413, 415, 429),
    )
    async def create(self, state: State, request: Request, data: JSONBody[LoginIn]) -> SessionOut:
        address = request.client.host if request.client else "unknown"
        await state.rate_limits.check("login", address=address, person=data.email.lower())
        session = await log_in(state.pool, data.email, data.password, address)
        staff = session.staff
        return SessionOut(
            session.token, session.expires_at, staff.email, staff.role, sorted(staff.point_ids)
        )

    @get("/me", dependencies={"staff": Provide(current_staff)}, responses=problems(401))
    async def me(self, staff: Staff) -> Me:
        return Me(staff.email, staff.role, sorted(staff.point_ids))

    @delete(
        "/sessions/current",
        dependencies={"staff": Provide(current_staff)},
        status_code=204,
        responses=problems(401),
    )
    async def logout(self, state: State, request: Request, staff: Staff) -> None:
        token = bearer_token(request) or request.cookies.get("wizyta_session")
        if token:
            await log_out(state.pool, token)
