"""SQL of the scheduling feature: reads of points, services, desks and rules."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from core.problems import NotFound
from scheduling.model import ON_SITE, ChannelOffer, Point, PointService
from scheduling.rules import CalendarRule, RuleKind

_POINT_COLUMNS = """
    id, names, department, address, city, timezone, phones, emails, languages,
    observes_holidays, release_time, release_days_ahead, draw_minutes, max_services_per_visit,
    video_url_template
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
    ps.languages, ps.min_notice_minutes, ps.horizon_days, ps.per_person_limit, ps.channels,
    ps.max_party_size, ps.extra_person_minutes,
    ps.change_cutoff_minutes, ps.max_moves, ps.late_cancel_minutes, ps.release_delay_minutes,
    (select coalesce(jsonb_agg(jsonb_build_object(
                'channel', oc.channel, 'duration_minutes', oc.duration_minutes,
                'step_minutes', oc.step_minutes, 'languages', oc.languages)), '[]')
       from offer_channels oc
      where oc.point_id = ps.point_id and oc.service_id = ps.service_id) as own_channels
"""


def _offer(row: asyncpg.Record) -> PointService:
    """An offer with each of its channels' duration, step and languages: the channel's own
    (offer_channels, migrations/0024) where set, else the offer's."""
    values = dict(row)
    own = {o["channel"]: o for o in values.pop("own_channels")}
    channels = []
    for channel in values["channels"]:
        mine = own.get(channel, {})
        channels.append(
            ChannelOffer(
                channel=channel,
                duration_minutes=mine.get("duration_minutes") or values["duration_minutes"],
                step_minutes=mine.get("step_minutes") or values["step_minutes"],
                languages=mine.get("languages") or values["languages"],
            )
        )
    return PointService(**values, channel_offers=channels)


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
    return [_offer(r) for r in rows]


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
    return _offer(row)


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
        channel=row["channel"],
    )


async def list_rules(
    conn: asyncpg.Connection, point_id: str, channel: str | None = ON_SITE
) -> list[CalendarRule]:
    """The point's rules of one channel (its visiting hours by default), or of every one."""
    rows = await conn.fetch(
        """
        select id, kind, rrule, dates, opens, closes, valid_from, valid_until, labels, desk_id,
               source, channel
        from calendar_rules where point_id = $1 and ($2::text is null or channel = $2)
        order by id
        """,
        point_id,
        channel,
    )
    return [_rule(r) for r in rows]


async def list_desks(conn: asyncpg.Connection, point_ids: Sequence[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        select id, point_id, names, languages, channels, services, internal_only, step_free
          from desks
        where point_id = any($1::text[]) and active order by id
        """,
        list(point_ids),
    )


async def internal_places(conn: asyncpg.Connection, point_id: str) -> int:
    """Places in every slot the point keeps for staff booking (not part of the public Point)."""
    return await conn.fetchval("select internal_places from points where id = $1", point_id) or 0
