"""Staff API for the services a point offers, each with its own booking parameters.

A service comes from the catalogue (`services`); a point offers it with its duration, slot step,
languages, minimum notice, horizon and per-person limit. Visits reference the offer, so it is
never deleted: DELETE withdraws it (`active = false`), which stops new bookings and lists the
visits already booked for it, to be kept or cancelled with notice (`cancel_affected`). Dropping
a language lists that language's visits the same way.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, Response, delete, get, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import Meta

from core.openapi import problems
from core.problems import NotFound
from core.uow import Uow
from scheduling import admin, store
from staff.auth import Staff, current_staff, require_point
from staff.changes import ChangeOutcome, audit
from staff.impact import SERVICE_WITHDRAWN, apply_point_change
from staff.schemas import STAFF_SECURITY, Languages, unique

Minutes = Annotated[int, Meta(ge=5, le=480)]


class OfferIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The whole offer (PUT replaces it); defaults are the database's."""

    duration_minutes: Minutes
    step_minutes: Minutes
    languages: Languages
    min_notice_minutes: Annotated[int, Meta(ge=0, le=60 * 24 * 30)] = 0
    horizon_days: Annotated[int, Meta(ge=1, le=366)] = 60
    per_person_limit: Annotated[int, Meta(ge=1, le=20)] = 1
    active: bool = True
    # Fair rules (booking/domain/fair.py): online changes close this long before a visit; moves
    # per visit (null: no limit); a place freed this close to its visit is held back from
    # public booking for `release_delay_minutes` (the waitlist is offered it first).
    change_cutoff_minutes: Annotated[int, Meta(ge=0, le=60 * 24 * 30)] = 0
    max_moves: Annotated[int, Meta(ge=0, le=20)] | None = None
    late_cancel_minutes: Annotated[int, Meta(ge=0, le=60 * 24 * 30)] = 1440
    release_delay_minutes: Annotated[int, Meta(ge=0, le=60 * 24 * 7)] = 0


class Offer(msgspec.Struct, frozen=True, kw_only=True):
    service_id: str
    names: dict[str, str]
    duration_minutes: int
    step_minutes: int
    languages: list[str]
    min_notice_minutes: int
    horizon_days: int
    per_person_limit: int
    active: bool
    change_cutoff_minutes: int = 0
    max_moves: int | None = None
    late_cancel_minutes: int = 1440
    release_delay_minutes: int = 0


_OFFER = """
    select ps.service_id, s.names, ps.duration_minutes, ps.step_minutes, ps.languages,
           ps.min_notice_minutes, ps.horizon_days, ps.per_person_limit, ps.active,
           ps.change_cutoff_minutes, ps.max_moves, ps.late_cancel_minutes,
           ps.release_delay_minutes
    from point_services ps join services s on s.id = ps.service_id
"""


async def _offers(conn: asyncpg.Connection, point_id: str) -> list[Offer]:
    rows = await conn.fetch(_OFFER + " where ps.point_id = $1 order by ps.service_id", point_id)
    return [Offer(**dict(r)) for r in rows]


async def _offer(
    conn: asyncpg.Connection, point_id: str, service_id: str, *, lock: bool = False
) -> Offer | None:
    row = await conn.fetchrow(
        _OFFER
        + " where ps.point_id = $1 and ps.service_id = $2"
        + (" for update of ps" if lock else ""),
        point_id,
        service_id,
    )
    return Offer(**dict(row)) if row else None


def _missing(point_id: str, service_id: str) -> NotFound:
    return NotFound(
        f"The point {point_id!r} does not offer a service {service_id!r}.",
        point_id=point_id,
        service_id=service_id,
    )


class StaffServiceController(Controller):
    path = "/api/v1/staff/points/{point_id:str}/services"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff)}

    @get("/", responses=problems(401, 403, 404, 422))
    async def list_offers(self, uow: Uow, staff: Staff, point_id: FromPath[str]) -> list[Offer]:
        """Every service the point offers, withdrawn ones included (`active: false`)."""
        require_point(staff, point_id)
        conn = await uow.connection()
        await store.get_point(conn, point_id)
        return await _offers(conn, point_id)

    @get("/{service_id:str}", responses=problems(401, 403, 404, 422))
    async def get_offer(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], service_id: FromPath[str]
    ) -> Offer:
        require_point(staff, point_id)
        offer = await _offer(await uow.connection(), point_id, service_id)
        if offer is None:
            raise _missing(point_id, service_id)
        return offer

    @put("/{service_id:str}", responses=problems(401, 403, 404, 409, 415, 422))
    async def put_offer(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        service_id: FromPath[str],
        data: JSONBody[OfferIn],
        dry_run: FromQuery[bool] = False,
        cancel_affected: FromQuery[bool] = False,
    ) -> Response[ChangeOutcome]:
        """Offer a catalogue service here, or change the offer (201 when it is new)."""
        require_point(staff, point_id)
        created = False

        async def change(conn: asyncpg.Connection) -> Offer:
            nonlocal created
            await store.get_point(conn, point_id)
            if not await conn.fetchval("select true from services where id = $1", service_id):
                raise NotFound(f"There is no service {service_id!r} in the catalogue.")
            before = await _offer(conn, point_id, service_id, lock=True)
            created = before is None
            await admin.save_offer(
                conn,
                point_id,
                service_id,
                duration_minutes=data.duration_minutes,
                step_minutes=data.step_minutes,
                languages=unique(list(data.languages)),
                min_notice_minutes=data.min_notice_minutes,
                horizon_days=data.horizon_days,
                per_person_limit=data.per_person_limit,
                active=data.active,
                change_cutoff_minutes=data.change_cutoff_minutes,
                max_moves=data.max_moves,
                late_cancel_minutes=data.late_cancel_minutes,
                release_delay_minutes=data.release_delay_minutes,
            )
            after = await _offer(conn, point_id, service_id)
            action = "create" if created else "update"
            await audit(conn, staff, action, "service", service_id, point_id, before, after)
            return after  # type: ignore[return-value]

        outcome = await apply_point_change(
            state.pool,
            state.redis,
            point_id,
            change,
            reason=SERVICE_WITHDRAWN,
            cancel_affected=cancel_affected,
            dry_run=dry_run,
        )
        return Response(outcome, status_code=201 if created and not dry_run else 200)

    @delete("/{service_id:str}", status_code=200, responses=problems(401, 403, 404, 409, 422))
    async def withdraw_offer(
        self,
        state: State,
        staff: Staff,
        point_id: FromPath[str],
        service_id: FromPath[str],
        dry_run: FromQuery[bool] = False,
        cancel_affected: FromQuery[bool] = False,
    ) -> ChangeOutcome:
        """Stop offering the service (it stays, inactive, for the visits that reference it)."""
        require_point(staff, point_id)

        async def change(conn: asyncpg.Connection) -> Offer:
            before = await _offer(conn, point_id, service_id, lock=True)
            if before is None:
                raise _missing(point_id, service_id)
            if not before.active:
                return before  # withdrawn already: nothing to change or to audit
            await admin.withdraw_offer(conn, point_id, service_id)
            after = msgspec.structs.replace(before, active=False)
            await audit(conn, staff, "withdraw", "service", service_id, point_id, before, after)
            return after

        return await apply_point_change(
            state.pool,
            state.redis,
            point_id,
            change,
            reason=SERVICE_WITHDRAWN,
            cancel_affected=cancel_affected,
            dry_run=dry_run,
        )
