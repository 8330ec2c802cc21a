"""Staff API for a point's calendar rules (special days: staff/special_days.py).

Every change here that newly leaves visits outside the hours needs `cancel_affected`
(staff/changes.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
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
from core.uow import Uow
from scheduling import admin, store
from scheduling.rules import (
    CalendarRule,
    NonexistentTime,
    RuleError,
    RuleKind,
    RuleNeverOccurs,
    check_wall_clock,
    validate_rule,
)
from staff.accounts import StaffMember
from staff.auth import Staff, current_staff, require_point
from staff.changes import ChangeOutcome, apply_change, audit
from staff.errors import NonexistentHours, NoSuchRule, RuleDoesNotOccur
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
    #: whose hours the rule gives: visits on site (default), by phone or by video
    channel: Literal["on_site", "phone", "video"] = "on_site"


class RulePatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    kind: Literal["hours", "special", "closed"] | msgspec.UnsetType = msgspec.UNSET
    rrule: Annotated[str, Meta(max_length=500)] | msgspec.UnsetType | None = msgspec.UNSET
    dates: Annotated[list[dt.date], Meta(max_length=400)] | msgspec.UnsetType = msgspec.UNSET
    opens: WallClock | msgspec.UnsetType | None = msgspec.UNSET
    closes: WallClock | msgspec.UnsetType | None = msgspec.UNSET
    valid_from: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    valid_until: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    labels: Labels | msgspec.UnsetType = msgspec.UNSET
    desk_id: str | msgspec.UnsetType | None = msgspec.UNSET
    channel: Literal["on_site", "phone", "video"] | msgspec.UnsetType = msgspec.UNSET


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
    channel: str = "on_site"


def _time(value: str | None) -> dt.time | None:
    return None if value is None else dt.time.fromisoformat(value)


def wall(value: dt.time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def rule_out(rule: CalendarRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        kind=rule.kind.value,
        rrule=rule.rrule,
        dates=list(rule.dates),
        opens=wall(rule.opens),
        closes=wall(rule.closes),
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        labels=dict(rule.labels),
        desk_id=rule.desk_id,
        source=rule.source,
        channel=rule.channel,
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
            channel=data.channel,
        )
        validate_rule(rule)
        check_wall_clock(rule, timezone)
    except NonexistentTime as e:
        raise NonexistentHours(field=e.field, reason=str(e)) from e
    except RuleNeverOccurs as e:
        raise RuleDoesNotOccur(reason=str(e)) from e
    except (RuleError, ValueError) as e:
        raise Invalid(str(e), field="rule") from e
    return rule


async def save(conn: asyncpg.Connection, point_id: str, rule: CalendarRule) -> None:
    if rule.desk_id is not None:
        known = await conn.fetchval(
            "select true from desks where id = $1 and point_id = $2", rule.desk_id, point_id
        )
        if not known:
            raise Invalid(f"The point has no desk {rule.desk_id!r}.", field="desk_id")
    await admin.save_rule(conn, point_id, rule)


async def _existing(conn: asyncpg.Connection, point_id: str, rule_id: str) -> CalendarRule:
    for rule in await store.list_rules(conn, point_id, channel=None):
        if rule.id == rule_id:
            return rule
    raise NoSuchRule(point_id=point_id, rule_id=rule_id)


def reason_of(labels: dict[str, str]) -> dict[str, str]:
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


class StaffRuleController(Controller):
    path = "/api/v1/staff/points/{point_id:str}"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/rules", responses=problems(401, 403, 404, 422))
    async def list_rules(self, uow: Uow, staff: Staff, point_id: FromPath[str]) -> list[RuleOut]:
        require_point(staff, point_id)
        conn = await uow.connection()
        await store.get_point(conn, point_id)
        return [rule_out(r) for r in await store.list_rules(conn, point_id, channel=None)]

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
        return await create(state, staff, point_id, data, dry_run, cancel_affected)

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
        return await update(
            state, staff, point_id, rule_id, data, dry_run=dry_run, cancel_affected=cancel_affected
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
        return await remove(
            state, staff, point_id, rule_id, dry_run=dry_run, cancel_affected=cancel_affected
        )


async def create(
    state: State,
    staff: StaffMember,
    point_id: str,
    data: RuleIn,
    dry_run: bool,
    cancel_affected: bool | None,
    *,
    check: Callable[[asyncpg.Connection, CalendarRule], Awaitable[None]] | None = None,
) -> ChangeOutcome:
    """Add a rule (POST .../rules, and a special day's rule with its `check`)."""
    require_point(staff, point_id)
    rule_id = f"{point_id}-{uuid.uuid4().hex[:12]}"

    async def change(conn: asyncpg.Connection) -> RuleOut:
        point = await store.get_point(conn, point_id)
        rule = to_rule(rule_id, data, point.timezone)
        if check is not None:
            await check(conn, rule)
        await save(conn, point_id, rule)
        await audit(conn, staff, "create", "rule", rule.id, point_id, None, rule_out(rule))
        return rule_out(rule)

    return await apply_change(
        state.pool,
        state.redis,
        point_id,
        change,
        reason=reason_of(dict(data.labels)),
        cancel_affected=cancel_affected,
        dry_run=dry_run,
    )


async def update(
    state: State,
    staff: StaffMember,
    point_id: str,
    rule_id: str,
    data: RulePatch,
    *,
    dry_run: bool,
    cancel_affected: bool | None,
) -> ChangeOutcome:
    """PATCH .../rules/{rule_id}: the fields given replace the rule's own (the pages too)."""
    require_point(staff, point_id)

    async def change(conn: asyncpg.Connection) -> RuleOut:
        point = await store.get_point(conn, point_id)
        before = rule_out(await _existing(conn, point_id, rule_id))
        merged = msgspec.to_builtins(before) | msgspec.to_builtins(data)
        merged.pop("id"), merged.pop("source")
        rule = to_rule(rule_id, msgspec.convert(merged, RuleIn), point.timezone)
        await save(conn, point_id, rule)
        await audit(conn, staff, "update", "rule", rule_id, point_id, before, rule_out(rule))
        return rule_out(rule)

    labels = data.labels if isinstance(data.labels, dict) else {}
    return await apply_change(
        state.pool,
        state.redis,
        point_id,
        change,
        reason=reason_of(labels),
        cancel_affected=cancel_affected,
        dry_run=dry_run,
    )


async def remove(
    state: State,
    staff: StaffMember,
    point_id: str,
    rule_id: str,
    *,
    dry_run: bool,
    cancel_affected: bool | None,
) -> ChangeOutcome:
    """DELETE .../rules/{rule_id} (the pages too): hours removed may leave visits outside."""
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
        reason=reason_of({}),
        cancel_affected=cancel_affected,
        dry_run=dry_run,
    )
