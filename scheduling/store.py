"""SQL of the scheduling feature: reads of points, services, desks and rules."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from core.problems import NotFound
from scheduling.model import Point, PointService
from scheduling.rules import CalendarRule, RuleKind

_POINT_COLUMNS = """
    id, names, department, address, city, timezone, phones, emails, languages,
    observes_holidays, release_time, release_days_ahead, draw_minutes
"""


def _point(row: asyncpg.Record) -> Point:
    return Point(**dict(row))


async def list_points(conn: asyncpg.Connection) -> list[Point]:
    rows = await conn.fetch(f"select {_POINT_COLUMNS} from points order by city, id")
    return [_point(r) for r in rows]


async def get_point(conn: asyncpg.Connection, point_id: str) -> Point:
    row = await conn.fetchrow(f"select {_POINT_COLUMNS} from points where id = $1", point_id)
    if row is None:
        raise NotFound(f"There is no point with id {point_id!r}.", point_id=point_id)
    return _point(row)


_SERVICE_COLUMNS = """
    s.id, s.names, s.descriptions, s.what_to_bring, ps.duration_minutes, ps.step_minutes,
    ps.languages, ps.min_notice_minutes, ps.horizon_days, ps.per_person_limit,
    ps.change_cutoff_minutes, ps.max_moves, ps.late_cancel_minutes, ps.release_delay_minutes
"""


async def list_point_services(conn: asyncpg.Connection, point_id: str) -> list[PointService]:
    rows = await conn.fetch(
        f"""
        select {_SERVICE_COLUMNS}
        from point_services ps join services s on s.id = ps.service_id
        where ps.point_id = $1 and ps.active
        order by s.id
        """,
        point_id,
    )
    return [PointService(**dict(r)) for r in rows]


async def get_point_service(
    conn: asyncpg.Connection, point_id: str, service_id: str
) -> PointService:
    row = await conn.fetchrow(
        f"""
        select {_SERVICE_COLUMNS}
        from point_services ps join services s on s.id = ps.service_id
        where ps.point_id = $1 and ps.service_id = $2 and ps.active
        """,
        point_id,
        service_id,
    )
    if row is None:
        raise NotFound(
            f"The point {point_id!r} does not offer a service {service_id!r}.",
            point_id=point_id,
            service_id=service_id,
        )
    return PointService(**dict(row))


def _rule(row: asyncpg.Record) -> CalendarRule:
    return CalendarRule(
        id=row["id"],
        kind=RuleKind(row["kind"]),
        rrule=row["rrule"],
        dates=tuple(row["dates"]),
        opens=row["opens"],
        closes=row["closes"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        labels=row["labels"],
        desk_id=row["desk_id"],
        source=row["source"],
    )


async def list_rules(conn: asyncpg.Connection, point_id: str) -> list[CalendarRule]:
    rows = await conn.fetch(
        """
        select id, kind, rrule, dates, opens, closes, valid_from, valid_until, labels, desk_id,
               source
        from calendar_rules where point_id = $1 order by id
        """,
        point_id,
    )
    return [_rule(r) for r in rows]


async def list_desks(conn: asyncpg.Connection, point_ids: Sequence[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        select id, point_id, names, languages, internal_only, step_free from desks
        where point_id = any($1::text[]) and active order by id
        """,
        list(point_ids),
    )


async def internal_places(conn: asyncpg.Connection, point_id: str) -> int:
    """Places in every slot the point keeps for staff booking (not part of the public Point)."""
    return await conn.fetchval("select internal_places from points where id = $1", point_id) or 0
