"""Staff API for a point's premises (accessibility facts, coordinates) and its closures at
short notice (outages).

- `GET|PUT /api/v1/staff/points/{id}/premises`: the facts the accessibility statement and the
  point's JSON-LD are written from (scheduling/premises.py); PUT replaces them all, audited.
- `POST /api/v1/staff/points/{id}/outages {date?, reason?}`: the point is closed that whole
  local day (today by default) from now on: a closing calendar rule (so hours, slots and feeds
  say so), a banner on every page and the status page, and the day's visits still ahead are
  cancelled by the office, each visitor told why (booking/office.py `cancel_by_office`, through
  staff/changes.py). `DELETE …/outages/{id}` reopens the day (the visits stay cancelled).
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, delete, get, post, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from booking.office import AffectedVisit
from core.openapi import problems
from core.problems import Conflict, Invalid, NotFound
from core.uow import Uow
from scheduling import admin, outages, store
from scheduling.premises import Premises, SignLanguage, get_premises
from scheduling.rules import CalendarRule, RuleKind
from staff.accounts import StaffMember
from staff.auth import Staff, current_staff, require_point
from staff.changes import ChangeOutcome, apply_change, audit, visits_outside_hours
from staff.schemas import STAFF_SECURITY, LocalizedText, refuse_control_characters

#: How far ahead a closure counts as "at short notice"; later ones are special days.
OUTAGE_DAYS_AHEAD = 14

Description = Annotated[str, Meta(max_length=500)]


class PremisesIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    latitude: Annotated[float, Meta(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Meta(ge=-180, le=180)] | None = None
    entrance: dict[str, Description] = {}
    step_free_entrance: bool | None = None
    lift: bool | None = None
    accessible_toilet: bool | None = None
    disabled_parking: bool | None = None
    induction_loop: bool | None = None
    assistance_dogs: bool | None = None
    sign_language: SignLanguage | None = None
    notes: dict[str, Description] = {}
    checked_on: dt.date | None = None

    def __post_init__(self) -> None:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        for labels in (self.entrance, self.notes):
            if set(labels) - {"pl", "en", "uk", "ru"}:
                raise ValueError("texts are keyed by pl, en, uk, ru")


class OutageIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    date: dt.date | None = None
    """The local day closed; today by default."""
    reason: LocalizedText | None = None


class Outage(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    point_id: str
    day: dt.date
    rule_id: str
    reason: dict[str, str]


CLOSED_AT_SHORT_NOTICE = {
    "pl": "Punkt nieczynny (zamknięty w trybie pilnym)",
    "en": "The point is closed (closed at short notice)",
    "uk": "Пункт не працює (зачинено терміново)",
    "ru": "Пункт не работает (закрыт в срочном порядке)",
}


class StaffPremisesController(Controller):
    path = "/api/v1/staff/points/{point_id:str}"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/premises", responses=problems(401, 403, 404, 422))
    async def get_premises(self, uow: Uow, staff: Staff, point_id: FromPath[str]) -> Premises:
        require_point(staff, point_id)
        conn = await uow.connection()
        await store.get_point(conn, point_id)
        return await get_premises(conn, point_id)

    @put("/premises", responses=problems(401, 403, 404, 415, 422))
    async def put_premises(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], data: JSONBody[PremisesIn]
    ) -> Premises:
        """Replace the point's premises facts (a fact left out is "not assessed yet")."""
        require_point(staff, point_id)
        values = msgspec.to_builtins(data)
        refuse_control_characters({"entrance": data.entrance, "notes": data.notes})
        values["checked_on"] = data.checked_on

        async def work(conn: asyncpg.Connection) -> Premises:
            await store.get_point(conn, point_id)
            before = await get_premises(conn, point_id)
            await admin.save_premises(conn, point_id, values)
            after = await get_premises(conn, point_id)
            await audit(conn, staff, "update", "premises", point_id, point_id, before, after)
            return after

        return await uow.atomic(work)

    @get("/outages", responses=problems(401, 403, 404, 422))
    async def list_outages(self, uow: Uow, staff: Staff, point_id: FromPath[str]) -> list[Outage]:
        require_point(staff, point_id)
        conn = await uow.connection()
        await store.get_point(conn, point_id)
        rows = await conn.fetch(
            "select * from point_outages where point_id = $1 order by day", point_id
        )
        return [_outage(r) for r in rows]

    @post("/outages", status_code=201, responses=problems(401, 403, 404, 409, 415, 422))
    async def close_now(
        self, state: State, staff: Staff, point_id: FromPath[str], data: JSONBody[OutageIn]
    ) -> ChangeOutcome:
        """Close the point for a whole local day at short notice; the day's visits still ahead
        are cancelled by the office and each visitor is told why."""
        require_point(staff, point_id)
        if data.reason is not None:
            refuse_control_characters({"reason": data.reason})
        reason = msgspec.to_builtins(data.reason) if data.reason else None
        return await close_at_short_notice(state, staff, point_id, data.date, reason)

    @delete("/outages/{outage_id:str}", status_code=200, responses=problems(401, 403, 404, 422))
    async def reopen(
        self, state: State, staff: Staff, point_id: FromPath[str], outage_id: FromPath[str]
    ) -> None:
        """Reopen the day (its cancelled visits stay cancelled)."""
        require_point(staff, point_id)
        if not outage_id.isdigit() or len(outage_id) > 18:
            raise NotFound(f"The point has no outage {outage_id!r}.")
        await reopen_day(state, staff, point_id, int(outage_id))


async def close_at_short_notice(
    state: State,
    staff: StaffMember,
    point_id: str,
    day: dt.date | None,
    reason: dict[str, str] | None,
) -> ChangeOutcome:
    """The closure, its outage row, its audit line and the office's cancellation of the day's
    visits, in one transaction (staff/changes.py); the API and staff's page both call this."""
    reason = reason or CLOSED_AT_SHORT_NOTICE
    closing: list[tuple[dt.date, str]] = []  # the day closed, and the point's zone

    async def change(conn: asyncpg.Connection) -> Outage:
        point = await store.get_point(conn, point_id)
        today = dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
        closed = day or today
        closing.append((closed, point.timezone))
        if not today <= closed <= today + dt.timedelta(days=OUTAGE_DAYS_AHEAD):
            raise Invalid(
                f"A closure at short notice is for a day from today ({today}) to "
                f"{OUTAGE_DAYS_AHEAD} days ahead; add a special day for a later one.",
                field="date",
            )
        rule = CalendarRule(
            id=f"{point_id}-outage-{uuid.uuid4().hex[:12]}",
            kind=RuleKind.CLOSED,
            dates=(closed,),
            valid_from=closed,
            valid_until=closed,
            labels=reason,
        )
        outage_id = await admin.add_outage(conn, point_id, closed, rule, reason)
        if outage_id is None:
            raise Conflict(f"The point is already closed at short notice on {closed}.")
        outage = _outage(
            await conn.fetchrow("select * from point_outages where id = $1", outage_id)
        )
        await audit(conn, staff, "create", "outage", str(outage_id), point_id, None, outage)
        return outage

    async def that_days_visits(conn: asyncpg.Connection, point_id: str) -> list[AffectedVisit]:
        """The visits of the closed day still ahead (only those: the closure is of one day);
        none before the change has named the day (staff/changes.py asks before and after)."""
        if not closing:
            return []
        [(closed, zone)] = closing
        return [
            v
            for v in await visits_outside_hours(conn, point_id)
            if v.start.astimezone(zoneinfo.ZoneInfo(zone)).date() == closed
        ]

    outcome = await apply_change(
        state.pool,
        state.redis,
        point_id,
        change,
        reason=reason,
        cancel_affected=True,
        dry_run=False,
        find_affected=that_days_visits,
    )
    outages.forget_cached()  # this process's pages show it at once; others within a second
    return outcome


async def reopen_day(state: State, staff: StaffMember, point_id: str, outage_id: int) -> None:
    async with state.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "select * from point_outages where id = $1 and point_id = $2", outage_id, point_id
        )
        if row is None:
            raise NotFound(f"The point has no outage {outage_id}.")
        await admin.lift_outage(conn, point_id, outage_id)
        await audit(conn, staff, "delete", "outage", str(outage_id), point_id, _outage(row), None)
    outages.forget_cached()


def _outage(row: asyncpg.Record) -> Outage:
    return Outage(
        id=row["id"],
        point_id=row["point_id"],
        day=row["day"],
        rule_id=row["rule_id"],
        reason=dict(row["reason"]),
    )
