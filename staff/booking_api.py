"""Staff book for visitors who phone, write or walk in, and keep capacity for them.

Thin: the booking is booking's (booking/staff_booking.py: the same checks, hold and lifecycle
as a visitor's own booking); who may book at a point, and the audit line each booking leaves,
are staff's. The availability here is the staff's view: it includes the internal-only desks,
the places kept for staff in every slot and places held back after a late cancellation,
which the public API never shows (scheduling/capacity.py).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, Response, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from msgspec import Meta

from booking.api import CallerDependency
from booking.caller import CallerDep
from booking.checks import check_language
from booking.domain.visit import Visit
from booking.staff_booking import StaffBooking, StaffBookingIn, book_for_visitor
from core.openapi import problems
from core.uow import Uow
from scheduling import admin, store
from scheduling.availability import slots_for
from scheduling.model import ON_SITE
from scheduling.offers import visit_offer
from scheduling.points_api import (
    Availability,
    AvailabilityDay,
    ChannelParam,
    PartySizeParam,
    SlotOut,
    date_range,
)
from staff.accounts import StaffMember
from staff.auth import Staff, current_staff, require_point
from staff.changes import audit
from staff.schemas import STAFF_SECURITY

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description=(
            "Optional, at most 200 characters: the same key and body again get the first "
            "answer, never a second visit (another body: 422 `idempotency_key_reused`)."
        ),
    ),
]


class InternalCapacity(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    places_per_slot: Annotated[int, Meta(ge=0, le=50)]
    """Places of every slot only staff book; the public may fill the rest."""


class InternalCapacityOut(msgspec.Struct, frozen=True, kw_only=True):
    point_id: str
    places_per_slot: int
    internal_desks: list[str]
    """Desks flagged internal-only (PATCH .../desks/{id} `internal_only`)."""


async def book(
    caller: CallerDep,
    staff: StaffMember,
    point_id: str,
    data: StaffBookingIn,
    key: str | None = None,
) -> StaffBooking:
    """Book and confirm a visit for a visitor at the point, audited as the staff member's."""
    require_point(staff, point_id)

    async def audited(conn: asyncpg.Connection, point: str, reference: str, visit: Visit) -> None:
        await audit(conn, staff, "book", "visit", reference, point, None, visit)

    return await book_for_visitor(caller, point_id, data, audited=audited, key=key)


async def staff_availability(
    conn: asyncpg.Connection,
    point_id: str,
    service: str,
    language: str,
    first: dt.date | None,
    last: dt.date | None,
    channel: str = ON_SITE,
    party_size: int = 1,
) -> Availability:
    """The free slots as staff may book them (the whole capacity), in one channel, for a visit
    of `party_size` people (a family's visit is longer: fewer times fit it)."""
    point = await store.get_point(conn, point_id)
    offer = await store.get_point_service(conn, point_id, service)
    if channel != ON_SITE or ON_SITE in offer.channels:  # (a point without visits on site
        offer = visit_offer(point, [offer], channel, party_size)  # shows no free times there)
    check_language(offer, language)
    first, last = date_range(point, first, last)
    zone = zoneinfo.ZoneInfo(point.timezone)
    now = dt.datetime.now(dt.UTC)
    days = await slots_for(
        conn, point, offer, language, first, last, now, staff=True, channel=channel
    )
    return Availability(
        point_id=point.id,
        service_id=offer.id,
        language=language,
        timezone=point.timezone,
        days=[
            AvailabilityDay(
                date=day.date,
                slots=[
                    SlotOut(s.start.astimezone(zone), s.end.astimezone(zone), s.free)
                    for s in day.slots
                ],
            )
            for day in days
        ],
        channel=channel,
        party_size=party_size,
    )


async def internal_capacity(conn: asyncpg.Connection, point_id: str) -> InternalCapacityOut:
    await store.get_point(conn, point_id)
    desks = await conn.fetch(
        "select id from desks where point_id = $1 and internal_only order by id", point_id
    )
    return InternalCapacityOut(
        point_id=point_id,
        places_per_slot=await store.internal_places(conn, point_id),
        internal_desks=[d["id"] for d in desks],
    )


class StaffBookingController(Controller):
    path = "/api/v1/staff/points/{point_id:str}"
    tags = ["staff"]
    security = STAFF_SECURITY
    dependencies = {"staff": Provide(current_staff), **CallerDependency}

    @post("/bookings", status_code=201, responses=problems(401, 403, 404, 409, 415, 422))
    async def book_for_visitor(
        self,
        caller: CallerDep,
        staff: Staff,
        point_id: FromPath[str],
        data: JSONBody[StaffBookingIn],
        idempotency_key: IdempotencyKey = "",
    ) -> Response[StaffBooking]:
        """Book a visit for a visitor who phones, writes or walks in: confirmed at once.

        The e-mail is optional: without one nothing is mailed and `visitor.phone` is required
        (422 `contact_missing`); give the visitor the `reference` and `point_phones`."""
        visit = await book(caller, staff, point_id, data, idempotency_key or None)
        return Response(visit, status_code=201, headers={"Cache-Control": "no-store"})

    @get("/availability", responses=problems(401, 403, 404, 422))
    async def availability(
        self,
        uow: Uow,
        staff: Staff,
        point_id: FromPath[str],
        service: Annotated[str, QueryParameter(name="service", description="service id")],
        language: Annotated[
            str, QueryParameter(name="language", description="pl en uk ru pjm ukl rsl")
        ],
        from_: Annotated[dt.date | None, QueryParameter(name="from")] = None,
        to: Annotated[dt.date | None, QueryParameter(name="to")] = None,
        channel: ChannelParam = ON_SITE,
        party_size: PartySizeParam = 1,
    ) -> Availability:
        """Free slots as staff may book them: with the capacity kept for internal booking, for
        a visit of `party_size` people."""
        require_point(staff, point_id)
        return await staff_availability(
            await uow.connection(), point_id, service, language, from_, to, channel, party_size
        )

    @get("/internal-capacity", responses=problems(401, 403, 404, 422))
    async def get_internal_capacity(
        self, uow: Uow, staff: Staff, point_id: FromPath[str]
    ) -> InternalCapacityOut:
        """The capacity the point keeps for staff booking."""
        require_point(staff, point_id)
        return await internal_capacity(await uow.connection(), point_id)

    @put("/internal-capacity", responses=problems(401, 403, 404, 415, 422))
    async def put_internal_capacity(
        self, uow: Uow, staff: Staff, point_id: FromPath[str], data: JSONBody[InternalCapacity]
    ) -> InternalCapacityOut:
        """Keep a number of places of every slot for staff booking (0: none)."""
        require_point(staff, point_id)

        async def work(conn: asyncpg.Connection) -> InternalCapacityOut:
            before = await internal_capacity(conn, point_id)
            await admin.set_internal_places(conn, point_id, data.places_per_slot)
            after = await internal_capacity(conn, point_id)
            if after != before:
                await audit(
                    conn, staff, "update", "internal_capacity", point_id, point_id, before, after
                )
            return after

        return await uow.atomic(work)
