"""Staff API for the points themselves: which ones a caller manages, their details, new points.

Who may do what:
- staff see and edit the points they manage (names, department, address, phones, e-mails,
  languages);
- only an administrator creates a point (it needs staff accounts, desks and services set up
  around it) and changes `observes_holidays`: whether a public office works on Polish public
  holidays is the institution's decision, not one point's; a point that opens on one holiday
  adds a special day instead, which is dated, labelled and visible in the feed;
- `city` and `timezone` are fixed at creation: visit references and every wall-clock rule of
  the point hang on them.
"""

from __future__ import annotations

import zoneinfo
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET, Meta, UnsetType

from core.openapi import problems
from core.problems import Conflict, Forbidden, Invalid, NotFound
from core.settings import video_template_problem
from core.uow import Uow
from scheduling import admin, store
from scheduling.errors import VideoTemplateInvalid
from scheduling.model import Point
from staff.auth import Staff, current_staff, require_admin, require_point
from staff.changes import ChangeOutcome, audit
from staff.impact import HOURS_CHANGED, apply_point_change
from staff.schemas import (
    STAFF_SECURITY,
    Address,
    Email,
    Languages,
    LocalizedText,
    Phone,
    Slug,
    Text,
    refuse_control_characters,
    unique,
)


class PointCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: Slug
    names: LocalizedText
    department: LocalizedText
    address: Address
    city: Text
    timezone: str = "Europe/Warsaw"
    phones: list[Phone] = []
    emails: list[Email] = []
    languages: Languages
    observes_holidays: bool = True

    def __post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {self.timezone!r}") from e


class PointUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    names: LocalizedText | UnsetType = UNSET
    department: LocalizedText | UnsetType = UNSET
    address: Address | UnsetType = UNSET
    phones: list[Phone] | UnsetType = UNSET
    emails: list[Email] | UnsetType = UNSET
    languages: Languages | UnsetType = UNSET
    observes_holidays: bool | UnsetType = UNSET
    #: the point's own video rooms, `{room}` where each visit's room name goes (null: the
    #: server's VIDEO_URL_TEMPLATE)
    video_url_template: Annotated[str, Meta(max_length=300)] | UnsetType | None = UNSET
    #: several matters in one visit: at most this many
    max_services_per_visit: Annotated[int, Meta(ge=1, le=10)] | UnsetType = UNSET


async def _locked_point(conn: asyncpg.Connection, point_id: str) -> Point:
    """The point, locked so two edits of it apply one after the other."""
    if not await conn.fetchval("select true from points where id = $1 for update", point_id):
        raise NotFound(f"There is no point with id {point_id!r}.", point_id=point_id)
    return await store.get_point(conn, point_id)


async def _write(conn: asyncpg.Connection, point: Point) -> None:
    await admin.update_point(conn, point)


class StaffPointController(Controller):
    path = "/api/v1/staff/points"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/", responses=problems(401, 403, 404, 422))
    async def list_points(self, uow: Uow, staff: Staff) -> list[Point]:
        """The points the caller may manage: all of them for an administrator."""
        points = await store.list_points(await uow.connection())
        return [p for p in points if staff.may_manage(p.id)]

    @post("/", status_code=201, responses=problems(401, 403, 404, 409, 415, 422))
    async def create_point(
        self, state: State, staff: Staff, data: JSONBody[PointCreate]
    ) -> ChangeOutcome:
        """A new point (administrators only); desks, services and hours are added after."""
        require_admin(staff)
        values = msgspec.to_builtins(data)
        refuse_control_characters(values)

        async def change(conn: asyncpg.Connection) -> Point:
            added = await admin.add_point(
                conn,
                values
                | {
                    "city": data.city,
                    "timezone": data.timezone,
                    "phones": unique(data.phones),
                    "emails": unique(data.emails),
                    "languages": unique(list(data.languages)),
                    "observes_holidays": data.observes_holidays,
                },
            )
            if not added:
                raise Conflict(f"A point with id {data.id!r} exists already.", field="id")
            point = await store.get_point(conn, data.id)
            await audit(conn, staff, "create", "point", point.id, point.id, None, point)
            return point

        return await apply_point_change(
            state.pool,
            state.redis,
            data.id,
            change,
            reason=HOURS_CHANGED,
            cancel_affected=False,
            dry_run=False,
        )

    @patch("/{point_id:str}", responses=problems(401, 403, 404, 409, 415, 422))
    async def update_point(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        data: JSONBody[PointUpdate],
        dry_run: FromQuery[bool] = False,
        cancel_affected: FromQuery[bool] = False,
    ) -> ChangeOutcome:
        """Change a point's details; turning holidays on closes days, so visits are listed."""
        require_point(staff, point_id)
        changes = msgspec.to_builtins(data)
        refuse_control_characters(changes)
        for key in ("phones", "emails", "languages"):
            if key in changes:
                changes[key] = unique(changes[key])
        if not changes:
            raise Invalid("Nothing to change: send at least one field.", field="body")
        template = changes.get("video_url_template")
        if template is not None and (problem := video_template_problem(template)):
            raise VideoTemplateInvalid(problem=problem)

        async def change(conn: asyncpg.Connection) -> Point:
            before = await _locked_point(conn, point_id)
            holidays = changes.get("observes_holidays", before.observes_holidays)
            if holidays != before.observes_holidays and not staff.is_admin:
                raise Forbidden(
                    "Only an administrator may change whether a point observes "
                    "public holidays; add a special day to open on one holiday."
                )
            after = msgspec.structs.replace(before, **changes)
            if after != before:
                await _write(conn, after)
                await audit(conn, staff, "update", "point", point_id, point_id, before, after)
            return after

        return await apply_point_change(
            state.pool,
            state.redis,
            point_id,
            change,
            reason=HOURS_CHANGED,
            cancel_affected=cancel_affected,
            dry_run=dry_run,
        )
