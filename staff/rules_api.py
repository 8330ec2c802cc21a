"""Staff API for a point's calendar rules and special days (open Saturdays, closures).

A special day is a point-wide rule for one date: `special` with hours (an open day) or
`closed` (with hours: closed then; without: all day). Staff list, add, change and delete them;
a second one of the same kind on the same date is refused (409 `special_day_exists`), so a
closure added twice is not listed twice. Every change here that newly leaves visits outside
the hours needs `cancel_affected` (staff/changes.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import asyncpg
import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import Meta

from core.openapi import problems
from core.problems import Invalid
from scheduling import admin, store
from scheduling.rules import (
    CalendarRule,
    NonexistentTime,
    RuleError,
    RuleKind,
    check_wall_clock,
    validate_rule,
)
from staff.accounts import StaffMember
from staff.auth import Staff, current_staff, require_point
from staff.changes import ChangeOutcome, apply_change, audit
from staff.errors import (
    NonexistentHours,
    NoSuchRule,
    NotASpecialDay,
    OpenDayNeedsTimes,
    SpecialDayExists,
)
from staff.schemas import STAFF_SECURITY, refuse_control_characters

WallClock = Annotated[str, Meta(pattern=r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$")]
Labels = Annotated[dict[str, Annotated[str, Meta(max_length=200)]], Meta(max_length=4)]
NO_LABEL = {"pl": "", "en": "", "uk": "", "ru": ""}


class RuleIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    kind: Literal["hours", "special", "closed"]
    rrule: Annotated[str, Meta(max_length=500)] | None = None
    dates: Annotated[list[dt.date], Meta(max_length=400)] = []
    opens: WallClock | None = None
    closes: WallClock | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    labels: Labels = {}
    desk_id: str | None = None


class RulePatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    kind: Literal["hours", "special", "closed"] | msgspec.UnsetType = msgspec.UNSET
    rrule: Annotated[str, Meta(max_length=500)] | msgspec.UnsetType | None = msgspec.UNSET
    dates: Annotated[list[dt.date], Meta(max_length=400)] | msgspec.UnsetType = msgspec.UNSET
    opens: WallClock | msgspec.UnsetType | None = msgspec.UNSET
    closes: WallClock | msgspec.UnsetType | None = msgspec.UNSET
    valid_from: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    valid_until: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    labels: Labels | msgspec.UnsetType = msgspec.UNSET


class SpecialDayIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    date: dt.date
    kind: Literal["open", "closed"]
    opens: WallClock | None = None
    closes: WallClock | None = None
    label: Labels = {}


class SpecialDayPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    date: dt.date | msgspec.UnsetType = msgspec.UNSET
    kind: Literal["open", "closed"] | msgspec.UnsetType = msgspec.UNSET
    opens: WallClock | msgspec.UnsetType | None = msgspec.UNSET
    closes: WallClock | msgspec.UnsetType | None = msgspec.UNSET
    label: Labels | msgspec.UnsetType = msgspec.UNSET


class SpecialDayOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    date: dt.date
    kind: Literal["open", "closed"]
    opens: str | None
    closes: str | None
    label: dict[str, str]
    source: str | None


class RuleOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    rrule: str | None
    dates: list[dt.date]
    opens: str | None
    closes: str | None
    valid_from: dt.date | None
    valid_until: dt.date | None
    labels: dict[str, str]
    desk_id: str | None
    source: str | None


def _time(value: str | None) -> dt.time | None:
    return None if value is None else dt.time.fromisoformat(value)


def _wall(value: dt.time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def rule_out(rule: CalendarRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        kind=rule.kind.value,
        rrule=rule.rrule,
        dates=list(rule.dates),
        opens=_wall(rule.opens),
        closes=_wall(rule.closes),
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        labels=dict(rule.labels),
        desk_id=rule.desk_id,
        source=rule.source,
    )


def to_rule(rule_id: str, data: RuleIn, timezone: str) -> CalendarRule:
    """A validated CalendarRule, or 422 with the reason (malformed RRULE, no occurrence, a time
    in the spring-forward gap of the point's zone...) and the field it concerns."""
    refuse_control_characters({"labels": data.labels, "rrule": data.rrule})
    try:
        rule = CalendarRule(
            id=rule_id,
            kind=RuleKind(data.kind),
            rrule=data.rrule,
            dates=tuple(sorted(set(data.dates))),
            opens=_time(data.opens),
            closes=_time(data.closes),
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            labels=dict(data.labels),
            desk_id=data.desk_id,
        )
        validate_rule(rule)
        check_wall_clock(rule, timezone)
    except NonexistentTime as e:
        raise NonexistentHours(field=e.field, reason=str(e)) from e
    except (RuleError, ValueError) as e:
        raise Invalid(str(e), field="rule") from e
    return rule


async def _save(conn: asyncpg.Connection, point_id: str, rule: CalendarRule) -> None:
    if rule.desk_id is not None:
        known = await conn.fetchval(
            "select true from desks where id = $1 and point_id = $2", rule.desk_id, point_id
        )
        if not known:
            raise Invalid(f"The point has no desk {rule.desk_id!r}.", field="desk_id")
    await admin.save_rule(conn, point_id, rule)


async def _existing(conn: asyncpg.Connection, point_id: str, rule_id: str) -> CalendarRule:
    for rule in await store.list_rules(conn, point_id):
        if rule.id == rule_id:
            return rule
    raise NoSuchRule(point_id=point_id, rule_id=rule_id)


def _reason(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in (labels or NO_LABEL).items() if v} or {
        "pl": "Zmiana godzin otwarcia",
        "en": "Change of opening hours",
        "uk": "Зміна годин роботи",
        "ru": "Изменение часов работы",
    }


DryRun = FromQuery[bool]
#: true: cancel the visits a change newly leaves outside the hours (each visitor told and
#: offered a held alternative); false: keep them (flagged on the day sheet); absent: a change
#: that leaves any is refused with 409 `affected_visits_need_a_choice`, nothing written.
CancelAffected = FromQuery[bool | None]


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
        opens=_wall(rule.opens),
        closes=_wall(rule.closes),
        label=dict(rule.labels),
        source=rule.source,
    )


def special_rule(data: SpecialDayIn) -> RuleIn:
    """The calendar rule a special day is (422 for an open day without its hours)."""
    refuse_control_characters({"label": data.label})
    if data.kind == "open" and (data.opens is None or data.closes is None):
        raise OpenDayNeedsTimes()
    return RuleIn(
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


class StaffRuleController(Controller):
    path = "/api/v1/staff/points/{point_id:str}"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/rules", responses=problems(401, 403, 404, 422))
    async def list_rules(
        self, state: State, staff: Staff, point_id: FromPath[str]
    ) -> list[RuleOut]:
        require_point(staff, point_id)
        async with state.pool.acquire() as conn:
            await store.get_point(conn, point_id)
            return [rule_out(r) for r in await store.list_rules(conn, point_id)]

    @post("/rules", status_code=201, responses=problems(401, 403, 404, 409, 415, 422))
    async def create_rule(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        data: JSONBody[RuleIn],
        dry_run: DryRun = False,
        cancel_affected: CancelAffected = None,
    ) -> ChangeOutcome:
        return await _create(state, staff, point_id, data, dry_run, cancel_affected)

    @patch("/rules/{rule_id:str}", responses=problems(401, 403, 404, 409, 415, 422))
    async def update_rule(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        rule_id: FromPath[str],
        data: JSONBody[RulePatch],
        dry_run: DryRun = False,
        cancel_affected: CancelAffected = None,
    ) -> ChangeOutcome:
        require_point(staff, point_id)

        async def change(conn: asyncpg.Connection) -> RuleOut:
            point = await store.get_point(conn, point_id)
            before = rule_out(await _existing(conn, point_id, rule_id))
            merged = msgspec.to_builtins(before) | {
                k: v for k, v in msgspec.to_builtins(data).items()
            }
            merged.pop("id"), merged.pop("source")
            rule = to_rule(rule_id, msgspec.convert(merged, RuleIn), point.timezone)
            await _save(conn, point_id, rule)
            await audit(conn, staff, "update", "rule", rule_id, point_id, before, rule_out(rule))
            return rule_out(rule)

        labels = data.labels if isinstance(data.labels, dict) else {}
        return await apply_change(
            state.pool,
            state.redis,
            point_id,
            change,
            reason=_reason(labels),
            cancel_affected=cancel_affected,
            dry_run=dry_run,
        )

    @delete("/rules/{rule_id:str}", status_code=200, responses=problems(401, 403, 404, 409, 422))
    async def delete_rule(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        rule_id: FromPath[str],
        dry_run: DryRun = False,
        cancel_affected: CancelAffected = None,
    ) -> ChangeOutcome:
        require_point(staff, point_id)

        async def change(conn: asyncpg.Connection) -> None:
            before = rule_out(await _existing(conn, point_id, rule_id))
            await admin.delete_rule(conn, rule_id)
            await audit(conn, staff, "delete", "rule", rule_id, point_id, before, None)

        return await apply_change(
            state.pool,
            state.redis,
            point_id,
            change,
            reason=_reason({}),
            cancel_affected=cancel_affected,
            dry_run=dry_run,
        )

    @get("/special-days", responses=problems(401, 403, 404, 422))
    async def list_special_days(
        self, state: State, staff: Staff, point_id: FromPath[str]
    ) -> list[SpecialDayOut]:
        """The point's special days (open days and closures of one date), by date."""
        require_point(staff, point_id)
        async with state.pool.acquire() as conn:
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
        dry_run: DryRun = False,
        cancel_affected: CancelAffected = None,
    ) -> ChangeOutcome:
        """Open a day with hours (an open Saturday, a shortened day) or close it."""
        require_point(staff, point_id)
        rule_in = special_rule(data)
        return await _create(
            state, staff, point_id, rule_in, dry_run, cancel_affected, special_day=True
        )

    @patch("/special-days/{rule_id:str}", responses=problems(401, 403, 404, 409, 415, 422))
    async def update_special_day(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        rule_id: FromPath[str],
        data: JSONBody[SpecialDayPatch],
        dry_run: DryRun = False,
        cancel_affected: CancelAffected = None,
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
        dry_run: DryRun = False,
        cancel_affected: CancelAffected = None,
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
    return await _create(
        state, staff, point_id, rule_in, dry_run, cancel_affected, special_day=True
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
        rule = to_rule(rule_id, special_rule(msgspec.convert(merged, SpecialDayIn)), point.timezone)
        await _refuse_duplicate(conn, point_id, rule, other_than=rule_id)
        await _save(conn, point_id, rule)
        after = special_day_out(rule)
        await audit(conn, staff, "update", "special_day", rule_id, point_id, before, after)
        return after

    labels = data.label if isinstance(data.label, dict) else {}
    return await apply_change(
        state.pool,
        state.redis,
        point_id,
        change,
        reason=_reason(labels),
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
        reason=_reason({}),
        cancel_affected=cancel_affected,
        dry_run=dry_run,
    )


async def _create(
    state: State,
    staff: StaffMember,
    point_id: str,
    data: RuleIn,
    dry_run: bool,
    cancel_affected: bool | None,
    *,
    special_day: bool = False,
) -> ChangeOutcome:
    require_point(staff, point_id)
    rule_id = f"{point_id}-{uuid.uuid4().hex[:12]}"

    async def change(conn: asyncpg.Connection) -> RuleOut:
        point = await store.get_point(conn, point_id)
        rule = to_rule(rule_id, data, point.timezone)
        if special_day:
            await _refuse_duplicate(conn, point_id, rule)
        await _save(conn, point_id, rule)
        await audit(conn, staff, "create", "rule", rule.id, point_id, None, rule_out(rule))
        return rule_out(rule)

    return await apply_change(
        state.pool,
        state.redis,
        point_id,
        change,
        reason=_reason(dict(data.labels)),
        cancel_affected=cancel_affected,
        dry_run=dry_run,
    )
