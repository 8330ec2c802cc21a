"""Staff API for a point's special days: open days and closures of one date.

A special day is a point-wide calendar rule for one date: `special` with hours (an open day,
such as an open Saturday) or `closed` (with hours: closed then; without: all day). Staff list,
add, change and delete them (the pages call the same functions: web/staff_domain.py); a second
one of the same kind on the same date is refused (409 `special_day_exists`), so a closure
added twice is not listed twice. Every change that newly leaves visits outside the hours needs
`cancel_affected` (staff/changes.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import asyncpg
import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, JSONBody

from core.openapi import problems
from core.uow import Uow
from scheduling import admin, store
from scheduling.rules import CalendarRule, RuleKind
from staff import rules_api
from staff.accounts import StaffMember
from staff.auth import Staff, current_staff, require_point
from staff.changes import ChangeOutcome, apply_change, audit
from staff.errors import NotASpecialDay, OpenDayNeedsTimes, SpecialDayExists
from staff.schemas import STAFF_SECURITY, refuse_control_characters


class SpecialDayIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    date: dt.date
    kind: Literal["open", "closed"]
    opens: rules_api.WallClock | None = None
    closes: rules_api.WallClock | None = None
    label: rules_api.Labels = {}


class SpecialDayPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    date: dt.date | msgspec.UnsetType = msgspec.UNSET
    kind: Literal["open", "closed"] | msgspec.UnsetType = msgspec.UNSET
    opens: rules_api.WallClock | msgspec.UnsetType | None = msgspec.UNSET
    closes: rules_api.WallClock | msgspec.UnsetType | None = msgspec.UNSET
    label: rules_api.Labels | msgspec.UnsetType = msgspec.UNSET


class SpecialDayOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    date: dt.date
    kind: Literal["open", "closed"]
    opens: str | None
    closes: str | None
    label: dict[str, str]
    source: str | None


def is_special_day(rule: CalendarRule) -> bool:
    """A point-wide rule for exactly one date: what POST .../special-days makes."""
    return (
        rule.kind in (RuleKind.SPECIAL, RuleKind.CLOSED)
        and rule.desk_id is None
        and rule.rrule is None
        and len(rule.dates) == 1
    )


def special_day_out(rule: CalendarRule) -> SpecialDayOut:
    return SpecialDayOut(
        id=rule.id,
        date=rule.dates[0],
        kind="open" if rule.kind == RuleKind.SPECIAL else "closed",
        opens=rules_api.wall(rule.opens),
        closes=rules_api.wall(rule.closes),
        label=dict(rule.labels),
        source=rule.source,
    )


def special_rule(data: SpecialDayIn) -> rules_api.RuleIn:
    """The calendar rule a special day is (422 for an open day without its hours)."""
    refuse_control_characters({"label": data.label})
    if data.kind == "open" and (data.opens is None or data.closes is None):
        raise OpenDayNeedsTimes()
    return rules_api.RuleIn(
        kind="special" if data.kind == "open" else "closed",
        dates=[data.date],
        opens=data.opens,
        closes=data.closes,
        valid_from=data.date,
        valid_until=data.date,
        labels=data.label,
    )


async def _refuse_duplicate(
    conn: asyncpg.Connection, point_id: str, rule: CalendarRule, *, other_than: str | None = None
) -> None:
    """409 when the point has a point-wide rule of the same kind on the rule's date already
    (staff's own or a seeded one). Taken in turns per point, so two at once cannot both pass."""
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended('wizyta:special-days:' || $1, 0))",
        point_id,
    )
    (day,) = rule.dates
    for existing in await store.list_rules(conn, point_id):
        if (
            existing.id != other_than
            and existing.kind == rule.kind
            and existing.desk_id is None
            and day in existing.dates
            and (existing.valid_from is None or existing.valid_from <= day)
            and (existing.valid_until is None or day <= existing.valid_until)
        ):
            raise SpecialDayExists(
                date=day.isoformat(),
                what="an open day" if rule.kind == RuleKind.SPECIAL else "a closure",
                rule_id=existing.id,
                kind="open" if rule.kind == RuleKind.SPECIAL else "closed",
            )


async def _special_day(conn: asyncpg.Connection, point_id: str, rule_id: str) -> CalendarRule:
    for rule in await store.list_rules(conn, point_id):
        if rule.id == rule_id and is_special_day(rule):
            return rule
    raise NotASpecialDay(point_id=point_id, rule_id=rule_id)


class StaffSpecialDayController(Controller):
    path = "/api/v1/staff/points/{point_id:str}"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/special-days", responses=problems(401, 403, 404, 422))
    async def list_special_days(
        self, uow: Uow, staff: Staff, point_id: FromPath[str]
    ) -> list[SpecialDayOut]:
        """The point's special days (open days and closures of one date), by date."""
        require_point(staff, point_id)
        conn = await uow.connection()
        await store.get_point(conn, point_id)
        rules = [r for r in await store.list_rules(conn, point_id) if is_special_day(r)]
        return sorted(map(special_day_out, rules), key=lambda d: (d.date, d.kind, d.id))

    @post("/special-days", status_code=201, responses=problems(401, 403, 404, 409, 415, 422))
    async def special_day(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        data: JSONBody[SpecialDayIn],
        dry_run: rules_api.DryRun = False,
        cancel_affected: rules_api.CancelAffected = None,
    ) -> ChangeOutcome:
        """Open a day with hours (an open Saturday, a shortened day) or close it."""
        require_point(staff, point_id)
        rule_in = special_rule(data)
        return await _add(state, staff, point_id, rule_in, dry_run, cancel_affected)

    @patch("/special-days/{rule_id:str}", responses=problems(401, 403, 404, 409, 415, 422))
    async def update_special_day(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        rule_id: FromPath[str],
        data: JSONBody[SpecialDayPatch],
        dry_run: rules_api.DryRun = False,
        cancel_affected: rules_api.CancelAffected = None,
    ) -> ChangeOutcome:
        """Change a special day's date, kind, hours or note."""
        return await change_special_day(
            state, staff, point_id, rule_id, data, dry_run=dry_run, cancel_affected=cancel_affected
        )

    @delete(
        "/special-days/{rule_id:str}", status_code=200, responses=problems(401, 403, 404, 409, 422)
    )
    async def delete_special_day(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        rule_id: FromPath[str],
        dry_run: rules_api.DryRun = False,
        cancel_affected: rules_api.CancelAffected = None,
    ) -> ChangeOutcome:
        """Remove a special day (the date has its usual hours again)."""
        return await remove_special_day(
            state, staff, point_id, rule_id, dry_run=dry_run, cancel_affected=cancel_affected
        )


async def add_special_day(
    state: State,
    staff: StaffMember,
    point_id: str,
    data: SpecialDayIn,
    *,
    dry_run: bool,
    cancel_affected: bool | None,
) -> ChangeOutcome:
    """POST .../special-days, as the pages call it."""
    require_point(staff, point_id)
    rule_in = special_rule(data)
    return await _add(state, staff, point_id, rule_in, dry_run, cancel_affected)


async def _add(
    state: State,
    staff: StaffMember,
    point_id: str,
    rule: rules_api.RuleIn,
    dry_run: bool,
    cancel_affected: bool | None,
) -> ChangeOutcome:
    async def check(conn: asyncpg.Connection, made: CalendarRule) -> None:
        await _refuse_duplicate(conn, point_id, made)

    return await rules_api.create(
        state, staff, point_id, rule, dry_run, cancel_affected, check=check
    )


async def change_special_day(
    state: State,
    staff: StaffMember,
    point_id: str,
    rule_id: str,
    data: SpecialDayPatch,
    *,
    dry_run: bool,
    cancel_affected: bool | None,
) -> ChangeOutcome:
    """PATCH .../special-days/{rule_id}: the fields given replace the day's own."""
    require_point(staff, point_id)

    async def change(conn: asyncpg.Connection) -> SpecialDayOut:
        point = await store.get_point(conn, point_id)
        existing = await _special_day(conn, point_id, rule_id)
        before = special_day_out(existing)
        merged = msgspec.to_builtins(before) | msgspec.to_builtins(data)
        for key in ("id", "source"):
            merged.pop(key)
        if merged["kind"] == "closed" and "opens" not in msgspec.to_builtins(data):
            merged["opens"] = merged["closes"] = None  # closing an open day: all day
        rule = rules_api.to_rule(
            rule_id, special_rule(msgspec.convert(merged, SpecialDayIn)), point.timezone
        )
        await _refuse_duplicate(conn, point_id, rule, other_than=rule_id)
        await rules_api.save(conn, point_id, rule)
        after = special_day_out(rule)
        await audit(conn, staff, "update", "special_day", rule_id, point_id, before, after)
        return after

    labels = data.label if isinstance(data.label, dict) else {}
    return await apply_change(
        state.pool,
        state.redis,
        point_id,
        change,
        reason=rules_api.reason_of(labels),
        cancel_affected=cancel_affected,
        dry_run=dry_run,
    )


async def remove_special_day(
    state: State,
    staff: StaffMember,
    point_id: str,
    rule_id: str,
    *,
    dry_run: bool,
    cancel_affected: bool | None,
) -> ChangeOutcome:
    """DELETE .../special-days/{rule_id} (an open day removed may leave visits outside)."""
    require_point(staff, point_id)

    async def change(conn: asyncpg.Connection) -> SpecialDayOut:
        before = special_day_out(await _special_day(conn, point_id, rule_id))
        await admin.delete_rule(conn, rule_id)
        await audit(conn, staff, "delete", "special_day", rule_id, point_id, before, None)
        return before

    return await apply_change(
        state.pool,
        state.redis,
        point_id,
        change,
        reason=rules_api.reason_of({}),
        cancel_affected=cancel_affected,
        dry_run=dry_run,
    )
