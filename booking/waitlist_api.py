"""HTTP handlers of the waitlist."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from booking import waitlist
from booking.api import bearer, limit
from booking.guards import valid_email
from booking.schemas import Language, Slug, VisitorIn
from booking.secrets import email_key


class WaitlistIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    point_id: Slug
    service_id: Slug
    language: Language
    first_day: dt.date
    last_day: dt.date
    visitor: VisitorIn


class WaitlistEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    status: str
    point_id: str
    service_id: str
    language: str
    first_day: dt.date
    last_day: dt.date
    reference: str | None = None  # the offered visit, once a slot was offered
    token: str | None = None  # shown once, when joining


def _entry(row, token: str | None = None) -> WaitlistEntry:
    return WaitlistEntry(
        id=row["id"],
        status=row["status"],
        point_id=row["point_id"],
        service_id=row["service_id"],
        language=row["language"],
        first_day=row["first_day"],
        last_day=row["last_day"],
        reference=row.get("reference"),
        token=token,
    )


class WaitlistController(Controller):
    path = "/api/v1/waitlist"
    tags = ["waitlist"]

    @post("/", status_code=201, summary="Ask to be offered a slot that frees up")
    async def join(
        self, state: State, request: Request, data: JSONBody[WaitlistIn]
    ) -> WaitlistEntry:
        email = valid_email(data.visitor.email)
        await limit(state, request, "waitlist", email_key(email))
        async with state.pool.acquire() as conn, conn.transaction():
            entry_id, token = await waitlist.join(
                conn,
                point_id=data.point_id,
                service_id=data.service_id,
                language=data.language,
                first_day=data.first_day,
                last_day=data.last_day,
                name=data.visitor.name.strip(),
                email=email,
                email_key=email_key(email),
            )
            row = await waitlist.entry(conn, entry_id, token)
        return _entry(row, token)

    @get("/{entry_id:uuid}")
    async def show(self, state: State, request: Request, entry_id: FromPath[UUID]) -> WaitlistEntry:
        async with state.pool.acquire() as conn:
            return _entry(await waitlist.entry(conn, entry_id, bearer(request)))

    @delete("/{entry_id:uuid}", status_code=200)
    async def leave(
        self, state: State, request: Request, entry_id: FromPath[UUID]
    ) -> WaitlistEntry:
        async with state.pool.acquire() as conn, conn.transaction():
            await waitlist.entry(conn, entry_id, bearer(request))
            await conn.execute(
                "update waitlist set status = 'withdrawn' where id = $1 and status = 'waiting'",
                entry_id,
            )
            return _entry(await waitlist.entry(conn, entry_id, bearer(request)))
