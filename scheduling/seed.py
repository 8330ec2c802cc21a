"""Load the seed data (points, services, desks, hours) into PostgreSQL, idempotently.

By default only missing rows are inserted, so `wizyta run` can seed at every start without
undoing what staff changed since; `wizyta seed --overwrite` puts the seeded rows back as the
file says (rows staff created themselves are never touched).
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import msgspec

from scheduling import admin
from scheduling.seed_schema import SeedData, load_seed_data

PREMISES_PATH = Path(__file__).parent / "seed_premises.json"


def _labels(value: msgspec.Struct | None) -> dict[str, str] | None:
    return None if value is None else msgspec.to_builtins(value)


async def seed_database(
    conn: asyncpg.Connection,
    data: SeedData | None = None,
    *,
    overwrite: bool = False,
    path: Path | None = None,
) -> dict[str, int]:
    data = data or load_seed_data(path)
    counts = {"points": 0, "services": 0, "desks": 0, "point_services": 0, "rules": 0}

    def upsert(table: str, columns: list[str], key: list[str]) -> str:
        placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        action = f"do update set {updates}" if overwrite else "do nothing"
        return (
            f"insert into {table} ({', '.join(columns)}) values ({placeholders}) "
            f"on conflict ({', '.join(key)}) {action} returning 1"
        )

    async with conn.transaction():
        service_sql = upsert(
            "services", ["id", "names", "descriptions", "what_to_bring", "source"], ["id"]
        )
        for s in data.services:
            counts["services"] += bool(
                await conn.fetchval(
                    service_sql,
                    s.id,
                    _labels(s.names),
                    _labels(s.descriptions),
                    _labels(s.what_to_bring),
                    s.source,
                )
            )
        point_sql = upsert(
            "points",
            [
                "id",
                "names",
                "department",
                "address",
                "city",
                "timezone",
                "phones",
                "emails",
                "languages",
                "observes_holidays",
                "source",
                "assumptions",
                "max_services_per_visit",
            ],
            ["id"],
        )
        # A seeded desk or offer is active: --overwrite reopens one staff retired or withdrew.
        desk_sql = upsert(
            "desks",
            [
                "id",
                "point_id",
                "names",
                "languages",
                "source",
                "active",
                "step_free",
                "channels",
                "services",
            ],
            ["id"],
        )
        offer_sql = upsert(
            "point_services",
            [
                "point_id",
                "service_id",
                "duration_minutes",
                "step_minutes",
                "languages",
                "min_notice_minutes",
                "horizon_days",
                "per_person_limit",
                "active",
                "channels",
                "max_party_size",
                "extra_person_minutes",
            ],
            ["point_id", "service_id"],
        )
        channel_sql = upsert(
            "offer_channels",
            ["point_id", "service_id", "channel", "duration_minutes", "step_minutes", "languages"],
            ["point_id", "service_id", "channel"],
        )
        rule_sql = upsert(
            "calendar_rules",
            [
                "id",
                "point_id",
                "desk_id",
                "kind",
                "rrule",
                "dates",
                "opens",
                "closes",
                "valid_from",
                "valid_until",
                "labels",
                "source",
                "channel",
            ],
            ["id"],
        )
        for p in data.points:
            address = msgspec.to_builtins(p.address)
            counts["points"] += bool(
                await conn.fetchval(
                    point_sql,
                    p.id,
                    _labels(p.names),
                    _labels(p.department),
                    address,
                    p.city,
                    p.timezone,
                    p.phones,
                    p.emails,
                    p.languages,
                    p.observes_holidays,
                    p.source,
                    p.assumptions,
                    p.max_services_per_visit,
                )
            )
            for d in p.desks:
                counts["desks"] += bool(
                    await conn.fetchval(
                        desk_sql,
                        d.id,
                        p.id,
                        _labels(d.names),
                        d.languages,
                        d.source,
                        True,
                        d.step_free,
                        d.channels,
                        d.services,
                    )
                )
            for o in p.services:
                counts["point_services"] += bool(
                    await conn.fetchval(
                        offer_sql,
                        p.id,
                        o.service_id,
                        o.duration_minutes,
                        o.step_minutes,
                        o.languages,
                        o.min_notice_minutes,
                        o.horizon_days,
                        o.per_person_limit,
                        True,
                        o.channels,
                        o.max_party_size,
                        o.extra_person_minutes,
                    )
                )
                for c in o.channel_offers:
                    await conn.fetchval(
                        channel_sql,
                        p.id,
                        o.service_id,
                        c.channel,
                        c.duration_minutes,
                        c.step_minutes,
                        c.languages,
                    )
            for r in p.rules:
                counts["rules"] += bool(
                    await conn.fetchval(
                        rule_sql,
                        r.id,
                        p.id,
                        r.desk_id,
                        r.kind,
                        r.rrule,
                        r.dates,
                        r.opens_at,
                        r.closes_at,
                        r.valid_from,
                        r.valid_until,
                        _labels(r.labels),
                        r.source,
                        r.channel,
                    )
                )
        # The premises' facts (scheduling/premises.py) live in a file of their own.
        if path is None:
            premises = msgspec.json.decode(PREMISES_PATH.read_bytes())["premises"]
            for values in premises:
                await admin.seed_premises(conn, values["point_id"], values, overwrite=overwrite)
    return counts
