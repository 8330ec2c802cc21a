"""The write side of a point's configuration: points, desks, offers and calendar rules.

Staff's controllers (staff/*_api.py) authorize, validate, audit and judge the visits a change
hits (staff/changes.py); the SQL that changes the configuration is here, beside the reads in
scheduling/store.py. Every write bumps the point's configuration version in the same
transaction (the triggers of migrations/0011), so each process's kept configuration
(scheduling/config.py) is replaced at once.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from scheduling.model import Point
from scheduling.rules import CalendarRule


async def save_rule(conn: asyncpg.Connection, point_id: str, rule: CalendarRule) -> None:
    """Insert the rule, or replace the one with its id (a rule staff made: source 'staff')."""
    await conn.execute(
        """
        insert into calendar_rules (id, point_id, desk_id, kind, rrule, dates, opens, closes,
                                    valid_from, valid_until, labels, source, channel)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'staff', $12)
        on conflict (id) do update set
            desk_id = excluded.desk_id, kind = excluded.kind, rrule = excluded.rrule,
            channel = excluded.channel,
            dates = excluded.dates, opens = excluded.opens, closes = excluded.closes,
            valid_from = excluded.valid_from, valid_until = excluded.valid_until,
            labels = excluded.labels, updated_at = now()
        """,
        rule.id,
        point_id,
        rule.desk_id,
        rule.kind.value,
        rule.rrule,
        list(rule.dates),
        rule.opens,
        rule.closes,
        rule.valid_from,
        rule.valid_until,
        rule.labels,
        rule.channel,
    )


async def delete_rule(conn: asyncpg.Connection, rule_id: str) -> None:
    await conn.execute("delete from calendar_rules where id = $1", rule_id)


async def add_desk(
    conn: asyncpg.Connection,
    point_id: str,
    desk_id: str,
    names: dict[str, str],
    languages: list[str],
    active: bool,
    internal_only: bool = False,
    *,
    step_free: bool | None = None,
    room: str | None = None,
) -> bool:
    """Add a desk; False when the point has one with this id already (nothing written)."""
    return bool(
        await conn.fetchval(
            """
            insert into desks (id, point_id, names, languages, active, source, internal_only,
                               step_free, room)
            values ($1, $2, $3, $4, $5, 'staff', $6, $7, $8)
            on conflict do nothing returning true
            """,
            desk_id,
            point_id,
            names,
            languages,
            active,
            internal_only,
            step_free,
            room,
        )
    )


async def update_desk(
    conn: asyncpg.Connection,
    desk_id: str,
    names: Any,
    languages: list[str],
    active: bool,
    internal_only: bool = False,
    *,
    step_free: bool | None = None,
    room: str | None = None,
) -> None:
    await conn.execute(
        """
        update desks set names = $2, languages = $3, active = $4, internal_only = $5,
               step_free = $6, room = $7
         where id = $1
        """,
        desk_id,
        names,
        languages,
        active,
        internal_only,
        step_free,
        room,
    )


async def set_internal_places(conn: asyncpg.Connection, point_id: str, places: int) -> None:
    """Keep `places` of every slot of the point for staff booking (scheduling/capacity.py)."""
    await conn.execute("update points set internal_places = $2 where id = $1", point_id, places)


async def save_offer(
    conn: asyncpg.Connection,
    point_id: str,
    service_id: str,
    *,
    duration_minutes: int,
    step_minutes: int,
    languages: list[str],
    min_notice_minutes: int,
    horizon_days: int,
    per_person_limit: int,
    active: bool,
    change_cutoff_minutes: int = 0,
    max_moves: int | None = None,
    late_cancel_minutes: int = 1440,
    release_delay_minutes: int = 0,
) -> None:
    """Offer the service at the point, or change the offer it has (with its fair rules:
    booking/domain/fair.py)."""
    await conn.execute(
        """
        insert into point_services (point_id, service_id, duration_minutes, step_minutes,
            languages, min_notice_minutes, horizon_days, per_person_limit, active,
            change_cutoff_minutes, max_moves, late_cancel_minutes, release_delay_minutes)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        on conflict (point_id, service_id) do update set
            duration_minutes = excluded.duration_minutes,
            step_minutes = excluded.step_minutes, languages = excluded.languages,
            min_notice_minutes = excluded.min_notice_minutes,
            horizon_days = excluded.horizon_days,
            per_person_limit = excluded.per_person_limit, active = excluded.active,
            change_cutoff_minutes = excluded.change_cutoff_minutes,
            max_moves = excluded.max_moves,
            late_cancel_minutes = excluded.late_cancel_minutes,
            release_delay_minutes = excluded.release_delay_minutes
        """,
        point_id,
        service_id,
        duration_minutes,
        step_minutes,
        languages,
        min_notice_minutes,
        horizon_days,
        per_person_limit,
        active,
        change_cutoff_minutes,
        max_moves,
        late_cancel_minutes,
        release_delay_minutes,
    )


async def withdraw_offer(conn: asyncpg.Connection, point_id: str, service_id: str) -> None:
    await conn.execute(
        "update point_services set active = false where point_id = $1 and service_id = $2",
        point_id,
        service_id,
    )


async def add_point(conn: asyncpg.Connection, values: dict[str, Any]) -> bool:
    """Add a point (source 'staff'); False when one with its id exists (nothing written)."""
    return bool(
        await conn.fetchval(
            """
            insert into points (id, names, department, address, city, timezone, phones,
                                emails, languages, observes_holidays, source)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'staff')
            on conflict do nothing returning true
            """,
            values["id"],
            values["names"],
            values["department"],
            values["address"],
            values["city"],
            values["timezone"],
            values["phones"],
            values["emails"],
            values["languages"],
            values["observes_holidays"],
        )
    )


async def update_point(conn: asyncpg.Connection, point: Point) -> None:
    await conn.execute(
        """
        update points set names = $2, department = $3, address = $4, phones = $5, emails = $6,
               languages = $7, observes_holidays = $8, video_url_template = $9,
               max_services_per_visit = $10, updated_at = now()
        where id = $1
        """,
        point.id,
        point.names,
        point.department,
        point.address,
        point.phones,
        point.emails,
        point.languages,
        point.observes_holidays,
        point.video_url_template,
        point.max_services_per_visit,
    )


async def save_premises(
    conn: asyncpg.Connection, point_id: str, values: dict[str, Any], *, source: str = "staff"
) -> None:
    """Set the point's premises (scheduling/premises.py) to `values`, all of them."""
    await conn.execute(
        """
        insert into point_premises (point_id, latitude, longitude, entrance,
            step_free_entrance, lift, accessible_toilet, disabled_parking, induction_loop,
            assistance_dogs, sign_language, notes, checked_on, source)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        on conflict (point_id) do update set
            latitude = excluded.latitude, longitude = excluded.longitude,
            entrance = excluded.entrance, step_free_entrance = excluded.step_free_entrance,
            lift = excluded.lift, accessible_toilet = excluded.accessible_toilet,
            disabled_parking = excluded.disabled_parking,
            induction_loop = excluded.induction_loop, assistance_dogs = excluded.assistance_dogs,
            sign_language = excluded.sign_language, notes = excluded.notes,
            checked_on = excluded.checked_on, source = excluded.source, updated_at = now()
        """,
        point_id,
        values.get("latitude"),
        values.get("longitude"),
        values.get("entrance") or {},
        values.get("step_free_entrance"),
        values.get("lift"),
        values.get("accessible_toilet"),
        values.get("disabled_parking"),
        values.get("induction_loop"),
        values.get("assistance_dogs"),
        values.get("sign_language"),
        values.get("notes") or {},
        values.get("checked_on"),
        source,
    )


async def seed_premises(
    conn: asyncpg.Connection, point_id: str, values: dict[str, Any], *, overwrite: bool
) -> bool:
    """The seed's premises: only where none are stored, unless `overwrite`."""
    if not overwrite and await conn.fetchval(
        "select true from point_premises where point_id = $1", point_id
    ):
        return False
    if not await conn.fetchval("select true from points where id = $1", point_id):
        return False
    await save_premises(conn, point_id, values, source="seed")
    return True


async def add_outage(
    conn: asyncpg.Connection, point_id: str, day: Any, rule: CalendarRule, reason: dict[str, str]
) -> int | None:
    """Close the point's day at short notice: the whole-day closing rule and the outage row
    that the pages show. None when the day has an outage already (nothing written)."""
    if await conn.fetchval(
        "select true from point_outages where point_id = $1 and day = $2", point_id, day
    ):
        return None
    await save_rule(conn, point_id, rule)
    return await conn.fetchval(
        """
        insert into point_outages (point_id, day, rule_id, reason)
        values ($1, $2, $3, $4) returning id
        """,
        point_id,
        day,
        rule.id,
        reason,
    )


async def lift_outage(conn: asyncpg.Connection, point_id: str, outage_id: int) -> str | None:
    """Reopen: remove the outage's closing rule (and with it the outage). Its rule id, or None
    when the point has no such outage."""
    rule_id = await conn.fetchval(
        "select rule_id from point_outages where id = $1 and point_id = $2", outage_id, point_id
    )
    if rule_id is not None:
        await delete_rule(conn, rule_id)
    return rule_id
