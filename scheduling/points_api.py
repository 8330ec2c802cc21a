"""Public read API of points: the list, one point, the services it offers."""

from __future__ import annotations

import asyncpg
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from scheduling import store
from scheduling.model import Point, PointService


class PointController(Controller):
    path = "/api/v1/points"
    tags = ["points"]

    @get("/")
    async def list_points(self, conn: NamedDependency[asyncpg.Connection]) -> list[Point]:
        return await store.list_points(conn)

    @get("/{point_id:str}")
    async def get_point(
        self, conn: NamedDependency[asyncpg.Connection], point_id: FromPath[str]
    ) -> Point:
        return await store.get_point(conn, point_id)

    @get("/{point_id:str}/services")
    async def list_services(
        self, conn: NamedDependency[asyncpg.Connection], point_id: FromPath[str]
    ) -> list[PointService]:
        await store.get_point(conn, point_id)
        return await store.list_point_services(conn, point_id)
