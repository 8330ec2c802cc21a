"""A point's configuration as the slot engine needs it, kept per process and checked by number.

A booking must be decided against the rules as they are in its own transaction (staff may
have just closed the day). Reading the point, its services, rules and desks takes four
queries and parsing every RRULE; the configuration changes a few times a day. So a process
keeps each point's parsed configuration with its version (migrations/0011: every change to
the point, its services, desks or rules takes a new number from one sequence, in the changing
transaction) and a transaction reads only the number, together with the database's clock and
identity:

    config, now = await current(conn, point_id)   # one query when nothing changed

A number is never given twice within one database, so a kept configuration is either exactly
the current one or is replaced; the data loaded after reading a number is never older than
that number. Numbers of two databases do collide (each sequence starts at 1), so what is kept
is keyed by the database as well as the point: its random identity (migrations/0013) and its
oid, which a copy made from it in the same cluster (a template) does not share. A process that
talks to two databases, as the tests do, never hands one the configuration of the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg

from core.problems import NotFound
from scheduling import store
from scheduling.model import Point, PointService
from scheduling.rules import CalendarRule


@dataclass(frozen=True)
class Desk:
    id: str
    languages: tuple[str, ...]
    channels: tuple[str, ...] = ("on_site",)
    #: the services it offers; None: every service of its point
    services: tuple[str, ...] | None = None
    #: only staff book this desk (internal capacity: scheduling/capacity.py)
    internal_only: bool = False
    step_free: bool | None = None  # reachable without stairs; None: not known

    @classmethod
    def of(cls, row: asyncpg.Record) -> Desk:
        services = row["services"]
        return cls(
            row["id"],
            tuple(row["languages"]),
            tuple(row["channels"]),
            None if services is None else tuple(services),
            row["internal_only"],
            row["step_free"],
        )


@dataclass(frozen=True)
class PointConfig:
    version: int
    point: Point
    services: Mapping[str, PointService]  # the active ones, by service id
    rules: tuple[CalendarRule, ...]  # of every channel (CalendarRule.channel)
    desks: tuple[Desk, ...]  # the active ones, by id
    #: places in every slot kept for staff booking (scheduling/capacity.py)
    internal_places: int = 0
    #: the database it was read from, (identity, oid): with `version`, what identifies it
    #: across databases (caches built from a configuration key on both: scheduling/feed_api.py)
    database: tuple[str, int] | None = None
    #: desk schedules resolved from this version, by date range (scheduling/availability.py)
    resolved: dict = field(default_factory=dict, compare=False, repr=False)

    def offer(self, service_id: str) -> PointService:
        try:
            return self.services[service_id]
        except KeyError:
            raise NotFound(
                f"The point {self.point.id!r} does not offer a service {service_id!r}.",
                point_id=self.point.id,
                service_id=service_id,
            ) from None


#: The kept configurations, by (database, point id); a database is (its identity, its oid).
_kept: dict[tuple[tuple[str, int], str], PointConfig] = {}
#: The configuration of each point this process read last, of whichever database: a hint only.
_latest: dict[str, PointConfig] = {}


def latest(point_id: str) -> PointConfig | None:
    """The configuration of the point this process read last, without a query; possibly stale,
    possibly of another database (tests talk to several). Only a hint of which way to take
    (booking/draw_batch.py), never what a decision is made on."""
    return _latest.get(point_id)


async def current(conn: asyncpg.Connection, point_id: str) -> tuple[PointConfig, dt.datetime]:
    """The point's configuration as of this statement, and the database's now().

    Raises NotFound for an unknown point."""
    row = await conn.fetchrow(
        "select now() as now, "
        "database_identity()::text as identity, "
        "(select oid::int8 from pg_database where datname = current_database()) as oid, "
        "(select version from point_config_versions where point_id = $1) as version",
        point_id,
    )
    version, now = row["version"], row["now"]
    key = ((row["identity"], row["oid"]), point_id)
    kept = _kept.get(key)
    if kept is not None and version is not None and kept.version == version:
        _latest[point_id] = kept
        return kept, now
    config = await load(conn, point_id, version or 0, database=key[0])
    if version is not None:
        _kept[key] = config
    _latest[point_id] = config
    return config, now


async def load(
    conn: asyncpg.Connection,
    point_id: str,
    version: int = 0,
    *,
    database: tuple[str, int] | None = None,
) -> PointConfig:
    point = await store.get_point(conn, point_id)
    services = await store.list_point_services(conn, point_id)
    rules = await store.list_rules(conn, point_id, channel=None)
    desks = await store.list_desks(conn, [point_id])
    return PointConfig(
        version=version,
        point=point,
        services={s.id: s for s in services},
        rules=tuple(rules),
        desks=tuple(Desk.of(d) for d in desks),
        internal_places=await store.internal_places(conn, point_id),
        database=database,
    )


async def current_many(
    conn: asyncpg.Connection, point_ids: list[str]
) -> tuple[list[PointConfig], dt.datetime]:
    """`current` for several points in one round trip when nothing changed (the city search,
    scheduling/search.py); unknown points are left out."""
    rows = await conn.fetch(
        "select now() as now, database_identity()::text as identity, "
        "(select oid::int8 from pg_database where datname = current_database()) as oid, "
        "p.id, v.version "
        "from unnest($1::text[]) with ordinality as p(id, n) "
        "left join point_config_versions v on v.point_id = p.id order by p.n",
        point_ids,
    )
    if not rows:
        return [], await conn.fetchval("select now()")
    configs = []
    for row in rows:
        key = ((row["identity"], row["oid"]), row["id"])
        kept = _kept.get(key)
        if kept is not None and row["version"] is not None and kept.version == row["version"]:
            configs.append(kept)
            continue
        try:
            config = await load(conn, row["id"], row["version"] or 0, database=key[0])
        except NotFound:
            continue
        if row["version"] is not None:
            _kept[key] = config
        configs.append(config)
    return configs, rows[0]["now"]
