"""`GET /api/v1/points/{id}/opening_hours`: the point's hours as an OpenStreetMap value."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.openapi import problems
from scheduling import store
from scheduling.availability import point_days
from scheduling.model import Point
from scheduling.open_formats import HORIZON_DAYS, Week, osm_opening_hours, week_of

Conn = NamedDependency[asyncpg.Connection]


class OpeningHours(msgspec.Struct, frozen=True):
    point_id: str
    opening_hours: str
    """The OpenStreetMap `opening_hours` value (wall-clock times in `timezone`)."""
    timezone: str
    exceptions_until: dt.date
    """Dated exceptions (holidays, closures, open Saturdays) are written up to this day."""


async def week_for(conn: asyncpg.Connection, point: Point) -> tuple[Week, dt.date, dt.date]:
    """The point's regular week and its exceptions from today over HORIZON_DAYS."""
    today = dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
    last = today + dt.timedelta(days=HORIZON_DAYS - 1)
    rules = await store.list_rules(conn, point.id)
    return week_of(point_days(point, rules, today, last)), today, last


class OpenFormatsController(Controller):
    path = "/api/v1/points"
    tags = ["points"]

    @get("/{point_id:str}/opening_hours", cache=True, responses=problems(404, 422))
    async def opening_hours(self, conn: Conn, point_id: FromPath[str]) -> OpeningHours:
        """The same hours as `/hours`, in the syntax of OpenStreetMap's `opening_hours` key."""
        point = await store.get_point(conn, point_id)
        week, _, last = await week_for(conn, point)
        return OpeningHours(point.id, osm_opening_hours(week), point.timezone, last)
