"""Staff API for a point's desks: the places visits happen, and so the point's capacity.

A desk that stops working or loses a language removes time: its active future visits are
listed (an inactive desk has no schedule, so `visits_outside_hours` finds them too) and need
the same choice as a change of hours (staff/changes.py): `cancel_affected` true cancels them
with notice, false keeps them (flagged on the day sheet), absent refuses the change (409
`affected_visits_need_a_choice`, nothing written). Visits and desk rules reference a desk, so
DELETE retires it (`active = false`) rather than erasing its history. The pages call the same
functions (`list_desks`, `add_desk`, `update_desk`).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET, Meta, UnsetType

from core.openapi import problems
from core.problems import Conflict, Invalid, NotFound
from core.uow import Uow
from scheduling import admin, store
from staff.accounts import StaffMember
from staff.auth import Staff, current_staff, require_point
from staff.changes import ChangeOutcome, audit
from staff.impact import DESK_CLOSED, apply_point_change
from staff.schemas import (
    STAFF_SECURITY,
    Languages,
    LocalizedText,
    Slug,
    refuse_control_characters,
    unique,
)

Room = Annotated[str, Meta(min_length=1, max_length=60)]
"""Where the desk is ("pokój 12"): the call display shows it next to the desk's name."""


class DeskCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: Slug | None = None
    """Readable and unique across points; by default `{point_id}-desk-{n}`."""
    names: LocalizedText
    languages: Languages
    active: bool = True
    internal_only: bool = False
    """Only staff book this desk: online bookers never see it (internal capacity)."""
    step_free: bool | None = None
    """Reachable without stairs (true), not (false: e.g. upstairs with no lift), or not known
    (null). A visit that asks for step-free access is never put on a desk that says false."""
    room: Room | None = None


class DeskUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    names: LocalizedText | UnsetType = UNSET
    languages: Languages | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    internal_only: bool | UnsetType = UNSET
    step_free: bool | UnsetType | None = UNSET
    room: Room | UnsetType | None = UNSET


class Desk(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    point_id: str
    names: dict[str, str]
    languages: list[str]
    active: bool
    internal_only: bool = False
    step_free: bool | None = None
    room: str | None = None


_DESK = "select id, point_id, names, languages, active, internal_only, step_free, room from desks"


async def _desk(conn: asyncpg.Connection, point_id: str, desk_id: str) -> Desk:
    row = await conn.fetchrow(
        _DESK + " where point_id = $1 and id = $2 for update", point_id, desk_id
    )
    if row is None:
        raise NotFound(f"The point {point_id!r} has no desk {desk_id!r}.", desk_id=desk_id)
    return Desk(**dict(row))


async def _save(conn: asyncpg.Connection, desk: Desk) -> None:
    await admin.update_desk(
        conn,
        desk.id,
        desk.names,
        desk.languages,
        desk.active,
        desk.internal_only,
        step_free=desk.step_free,
        room=desk.room,
    )


async def _new_id(conn: asyncpg.Connection, point_id: str) -> str:
    prefix = f"{point_id}-desk-"
    rows = await conn.fetch("select id from desks where starts_with(id, $1)", prefix)
    taken = {r["id"] for r in rows}
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


class StaffDeskController(Controller):
    path = "/api/v1/staff/points/{point_id:str}/desks"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/", responses=problems(401, 403, 404, 422))
    async def list_desks(self, uow: Uow, staff: Staff, point_id: FromPath[str]) -> list[Desk]:
        """Every desk of the point, retired ones included (`active: false`)."""
        require_point(staff, point_id)
        conn = await uow.connection()
        await store.get_point(conn, point_id)
        return await list_desks(conn, point_id)

    @post("/", status_code=201, responses=problems(401, 403, 404, 409, 415, 422))
    async def create_desk(
        self, state: State, staff: Staff, point_id: FromPath[str], data: JSONBody[DeskCreate]
    ) -> ChangeOutcome:
        return await add_desk(state, staff, point_id, data)

    @patch("/{desk_id:str}", responses=problems(401, 403, 404, 409, 415, 422))
    async def update_desk(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        desk_id: FromPath[str],
        data: JSONBody[DeskUpdate],
        dry_run: FromQuery[bool] = False,
        cancel_affected: FromQuery[bool | None] = None,
    ) -> ChangeOutcome:
        """Rename a desk, change its languages, room or step-free access, retire or reopen it."""
        return await update_desk(
            state, staff, point_id, desk_id, data, dry_run=dry_run, cancel_affected=cancel_affected
        )

    @delete("/{desk_id:str}", status_code=200, responses=problems(401, 403, 404, 409, 422))
    async def retire_desk(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        desk_id: FromPath[str],
        dry_run: FromQuery[bool] = False,
        cancel_affected: FromQuery[bool | None] = None,
    ) -> ChangeOutcome:
        """Retire the desk (`active = false`); its visits ahead need a choice (module)."""
        require_point(staff, point_id)
        changes = {"active": False}
        return await _change(state, staff, point_id, desk_id, changes, dry_run, cancel_affected)


async def list_desks(conn: asyncpg.Connection, point_id: str) -> list[Desk]:
    rows = await conn.fetch(_DESK + " where point_id = $1 order by id", point_id)
    return [Desk(**dict(r)) for r in rows]


async def add_desk(
    state: State, staff: StaffMember, point_id: str, data: DeskCreate
) -> ChangeOutcome:
    """POST .../desks: a new desk adds time, so it never leaves a visit without one."""
    require_point(staff, point_id)
    refuse_control_characters(data)

    async def change(conn: asyncpg.Connection) -> Desk:
        await store.get_point(conn, point_id)
        desk = Desk(
            id=data.id or await _new_id(conn, point_id),
            point_id=point_id,
            names=msgspec.to_builtins(data.names),
            languages=unique(list(data.languages)),
            active=data.active,
            internal_only=data.internal_only,
            step_free=data.step_free,
            room=(data.room and data.room.strip()) or None,
        )
        if not await admin.add_desk(
            conn,
            point_id,
            desk.id,
            desk.names,
            desk.languages,
            desk.active,
            desk.internal_only,
            step_free=desk.step_free,
            room=desk.room,
        ):
            raise Conflict(f"A desk with id {desk.id!r} exists already.", field="id")
        await audit(conn, staff, "create", "desk", desk.id, point_id, None, desk)
        return desk

    return await apply_point_change(
        state.pool,
        state.redis,
        point_id,
        change,
        reason=DESK_CLOSED,
        cancel_affected=False,
        dry_run=False,
    )


async def update_desk(
    state: State,
    staff: StaffMember,
    point_id: str,
    desk_id: str,
    data: DeskUpdate,
    *,
    dry_run: bool,
    cancel_affected: bool | None,
) -> ChangeOutcome:
    """PATCH .../desks/{desk_id}: the fields given replace the desk's own."""
    require_point(staff, point_id)
    changes = msgspec.to_builtins(data)
    refuse_control_characters(changes)
    if "languages" in changes:
        changes["languages"] = unique(changes["languages"])
    if isinstance(changes.get("room"), str):
        changes["room"] = changes["room"].strip() or None
    if not changes:
        raise Invalid("Nothing to change: send at least one field.", field="body")
    return await _change(state, staff, point_id, desk_id, changes, dry_run, cancel_affected)


async def _change(
    state: State,
    staff: StaffMember,
    point_id: str,
    desk_id: str,
    changes: dict,
    dry_run: bool,
    cancel_affected: bool | None,
) -> ChangeOutcome:
    async def change(conn: asyncpg.Connection) -> Desk:
        before = await _desk(conn, point_id, desk_id)
        after = msgspec.structs.replace(before, **changes)
        if after != before:
            await _save(conn, after)
            action = "retire" if before.active and not after.active else "update"
            await audit(conn, staff, action, "desk", desk_id, point_id, before, after)
        return after

    return await apply_point_change(
        state.pool,
        state.redis,
        point_id,
        change,
        reason=DESK_CLOSED,
        cancel_affected=cancel_affected,
        dry_run=dry_run,
    )
