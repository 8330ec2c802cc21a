"""Staff API for a point's waiting room: the queue, the clerk's moves at a desk, walk-in
settings and the kiosks' tokens.

Thin: what a move does is booking's (booking/queue.py); who may act is staff's. Settings and
kiosk tokens leave an audit line; the moves are recorded in the queue's own rows (desk, times).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, delete, get, post, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import Meta

from booking import kiosks, queue
from booking.kiosks import IssuedKiosk, Kiosk
from booking.queue import QueueSettings, Ticket
from core.errors import NotFound
from core.openapi import problems
from core.uow import Uow
from scheduling import store
from scheduling.model import Point
from staff.accounts import StaffMember
from staff.auth import Staff, current_staff, require_point
from staff.changes import audit
from staff.schemas import STAFF_SECURITY, Slug, refuse_control_characters


class QueueSettingsIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    walk_ins: bool
    walk_in_cap: Annotated[int, Meta(ge=0, le=999)] = 0


class KioskIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    label: Annotated[str, Meta(min_length=1, max_length=100)]
    """Where the tablet stands, e.g. "entrance, ground floor"."""


class TransferIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    to_desk: Slug


class QueueView(msgspec.Struct, frozen=True, kw_only=True):
    point_id: str
    date: dt.date
    settings: QueueSettings
    tickets: list[Ticket]
    wait_minutes: int | None


Number = Annotated[str, Meta(pattern=r"^[AW][0-9]{3}$")]
MOVES = problems(401, 403, 404, 409)


async def point_for(conn: asyncpg.Connection, staff: StaffMember, point_id: str) -> Point:
    require_point(staff, point_id)
    return await store.get_point(conn, point_id)


class StaffQueueController(Controller):
    path = "/api/v1/staff/points/{point_id:str}"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    # ------------------------------------------------------------------------ the queue

    @get("/queue", responses=problems(401, 403, 404))
    async def queue(self, uow: Uow, staff: Staff, point_id: FromPath[str]) -> QueueView:
        """Today's tickets: waiting ones in the order they will be called, then the rest."""
        conn = await uow.connection()
        point = await point_for(conn, staff, point_id)
        return QueueView(
            point_id=point.id,
            date=queue.today_of(point),
            settings=await queue.settings_of(conn, point.id),
            tickets=await queue.queue_of(conn, point),
            wait_minutes=await queue.wait_for_walk_in(conn, point),
        )

    @put("/queue/settings", responses=problems(401, 403, 404, 415))
    async def save_settings(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], data: JSONBody[QueueSettingsIn]
    ) -> QueueSettings:
        """Whether the kiosk gives tickets without an appointment, and how many a day."""

        async def work(conn: asyncpg.Connection) -> QueueSettings:
            point = await point_for(conn, staff, point_id)
            before = await queue.settings_of(conn, point.id)
            after = QueueSettings(walk_ins=data.walk_ins, walk_in_cap=data.walk_in_cap)
            await queue.save_settings(conn, point.id, after)
            await audit(conn, staff, "update", "queue_settings", point.id, point.id, before, after)
            return after

        return await uow.atomic(work)

    @post("/queue/tickets/{number:str}/return", status_code=200, responses=MOVES)
    async def return_ticket(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], number: FromPath[Number]
    ) -> Ticket:
        """A parked visitor is back: waiting again in their place."""
        point = await point_for(await uow.connection(), staff, point_id)
        return await queue.return_to_queue(uow, point, number)

    # ------------------------------------------------------------------------ at a desk

    @post("/desks/{desk_id:str}/call-next", status_code=200, responses=MOVES)
    async def call_next(
        self,
        uow: Uow,
        staff: Staff,
        point_id: FromPath[str],
        desk_id: FromPath[str],
        services: FromQuery[list[str] | None] = None,
    ) -> Ticket:
        """Call the next visitor this desk can serve (its languages; `services`, when given,
        the services it takes now); the desk's current visitor is done. 409 nobody_to_serve
        when nobody waiting can be served here (nothing changes)."""
        point = await point_for(await uow.connection(), staff, point_id)
        return await queue.call_next(uow, point, desk_id, services or None)

    @post("/desks/{desk_id:str}/call/{number:str}", status_code=200, responses=MOVES)
    async def call_ticket(
        self,
        uow: Uow,
        staff: Staff,
        point_id: FromPath[str],
        desk_id: FromPath[str],
        number: FromPath[Number],
    ) -> Ticket:
        """Call one waiting or parked ticket by its number."""
        point = await point_for(await uow.connection(), staff, point_id)
        return await queue.call_ticket(uow, point, desk_id, number)

    @post("/desks/{desk_id:str}/recall", status_code=200, responses=MOVES)
    async def recall(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], desk_id: FromPath[str]
    ) -> Ticket:
        point = await point_for(await uow.connection(), staff, point_id)
        return await queue.recall(uow, point, desk_id)

    @post("/desks/{desk_id:str}/park", status_code=200, responses=MOVES)
    async def park(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], desk_id: FromPath[str]
    ) -> Ticket:
        point = await point_for(await uow.connection(), staff, point_id)
        return await queue.park(uow, point, desk_id)

    @post(
        "/desks/{desk_id:str}/transfer",
        status_code=200,
        responses=problems(401, 403, 404, 409, 415),
    )
    async def transfer(
        self,
        uow: Uow,
        staff: Staff,
        point_id: FromPath[str],
        desk_id: FromPath[str],
        data: JSONBody[TransferIn],
    ) -> Ticket:
        point = await point_for(await uow.connection(), staff, point_id)
        return await queue.transfer(uow, point, desk_id, data.to_desk)

    @post("/desks/{desk_id:str}/done", status_code=200, responses=MOVES)
    async def done(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], desk_id: FromPath[str]
    ) -> Ticket:
        point = await point_for(await uow.connection(), staff, point_id)
        return await queue.done(uow, point, desk_id)

    @post("/desks/{desk_id:str}/no-show", status_code=200, responses=MOVES)
    async def no_show(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], desk_id: FromPath[str]
    ) -> Ticket:
        point = await point_for(await uow.connection(), staff, point_id)
        return await queue.no_show(uow, point, desk_id)

    # ------------------------------------------------------------------------ kiosks

    @get("/kiosks", responses=problems(401, 403, 404))
    async def list_kiosks(self, uow: Uow, staff: Staff, point_id: FromPath[str]) -> list[Kiosk]:
        conn = await uow.connection()
        point = await point_for(conn, staff, point_id)
        return await kiosks.list_kiosks(conn, point.id)

    @post("/kiosks", status_code=201, responses=problems(401, 403, 404, 415))
    async def issue_kiosk(
        self, state: State, uow: Uow, staff: Staff, point_id: FromPath[str], data: JSONBody[KioskIn]
    ) -> IssuedKiosk:
        """A token for one tablet at the point's entrance (shown once). Open `url` on it."""
        refuse_control_characters(data)
        return await issue_kiosk(uow, staff, point_id, data.label, state.settings.public_url)

    @delete("/kiosks/{kiosk_id:uuid}", status_code=200, responses=problems(401, 403, 404))
    async def revoke_kiosk(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], kiosk_id: FromPath[UUID]
    ) -> Kiosk:
        return await revoke_kiosk(uow, staff, point_id, kiosk_id)


async def issue_kiosk(
    uow: Uow, staff: StaffMember, point_id: str, label: str, public_url: str
) -> IssuedKiosk:
    async def work(conn: asyncpg.Connection) -> IssuedKiosk:
        point = await point_for(conn, staff, point_id)
        kiosk, token = await kiosks.issue(conn, point.id, label)
        await audit(conn, staff, "create", "kiosk", str(kiosk.id), point.id, None, {"label": label})
        url = f"{public_url}/points/{point.id}/kiosk?kiosk_token={token}"
        return IssuedKiosk(kiosk=kiosk, token=token, url=url)

    return await uow.atomic(work)


async def revoke_kiosk(uow: Uow, staff: StaffMember, point_id: str, kiosk_id: UUID) -> Kiosk:
    async def work(conn: asyncpg.Connection) -> Kiosk:
        point = await point_for(conn, staff, point_id)
        kiosk = await kiosks.revoke(conn, point.id, kiosk_id)
        if kiosk is None:
            raise NotFound(f"The point {point.id!r} has no kiosk {kiosk_id}.")
        await audit(conn, staff, "revoke", "kiosk", str(kiosk_id), point.id, None, None)
        return kiosk

    return await uow.atomic(work)
