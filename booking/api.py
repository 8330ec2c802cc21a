"""HTTP handlers of the visitor's side: bookings, draws, proof-of-work challenges, the waitlist.

Thin: each handler turns the request into plain values, calls a use-case (booking/visits.py,
booking/draw.py, booking/waitlist.py) and returns the domain value it gets; refusals are typed
errors that core/problems.py maps to problem+json, with their stable `code`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, PathParameter, QueryParameter

from booking import draw, pow, visits, waitlist
from booking.caller import Caller, CallerDep, valid_email
from booking.schemas import (
    LINE,
    BookingCreate,
    ConfirmIn,
    ContactIn,
    Language,
    RescheduleIn,
    Slug,
    Visit,
    VisitCreated,
    VisitorIn,
)
from booking.secrets import email_key
from core.errors import NotFound
from core.openapi import problems
from core.uow import Uow


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


async def provide_caller(request: Request, state: State, uow: Uow) -> Caller:
    """The use-cases' view of this request (the pages provide it the same way)."""
    return Caller(
        uow=uow,
        settings=state.settings,
        limits=getattr(state, "rate_limits", None),
        redis=state.redis,
        address=client_address(request),
        draws=getattr(state, "draw_entries", None),
    )


CallerDependency = {"caller": Provide(provide_caller)}

#: PostgreSQL's text takes no NUL: a control character in these is a 400, never a 500.
Reference = Annotated[str, PathParameter(min_length=1, max_length=100, pattern=LINE)]
PointId = Annotated[str, QueryParameter(min_length=1, max_length=100, pattern=LINE)]

#: The visitor's manage token (or a draw's or waitlist entry's token), shown once.
TOKEN_DOC = "`Authorization: Bearer <token>`: the token the booking answer showed once."

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        required=True,  # documented as required; a missing one is refused with a `code` (422)
        description=(
            "A key of the client's choosing (at most 200 characters), new for each booking: "
            "the same key and body again get the first answer, never a second visit. "
            "Missing, or longer: 422 `idempotency_key_missing`; "
            "the same key with another body: 422 `idempotency_key_reused`."
        ),
    ),
]
Altcha = Annotated[
    str,
    HeaderParameter(
        name="Altcha",
        description=(
            "The solved proof of work (ALTCHA v1, base64 JSON) for a challenge from "
            "GET /api/v1/challenge, when the point asks for one (422 `proof_of_work_*` "
            "without it)."
        ),
    ),
]


class BookingController(Controller):
    path = "/api/v1/bookings"
    tags = ["bookings"]
    dependencies = CallerDependency

    @post(
        "/",
        status_code=201,
        summary="Hold a visit (confirmed later from the e-mail), or enter a release's draw",
        responses={
            201: ResponseSpec(
                VisitCreated,
                generate_examples=False,
                description="The visit is held until `expires_at`; its manage token is shown "
                "once (Location: the visit; Cache-Control: no-store)",
            ),
            202: ResponseSpec(
                draw.DrawEntry,
                generate_examples=False,
                description="In a release's first minutes: entered into its draw, decided "
                "when the window closes (Location: the entry; its token is shown once)",
            ),
            **problems(409, 413, 415, 422, 429),
        },
    )
    async def create(
        self,
        caller: CallerDep,
        data: JSONBody[BookingCreate],
        idempotency_key: IdempotencyKey = "",
        altcha: Altcha = "",
    ) -> Response[VisitCreated | draw.DrawEntry]:
        answer = await visits.hold(caller, data, idempotency_key, altcha or None)
        if isinstance(answer, draw.DrawEntry):
            location = f"/api/v1/draws/{answer.entry_id}"
            status = 202
        else:
            location = f"/api/v1/bookings/{answer.reference}"
            status = 201
        # The answer carries a secret shown once (manage or entry token): never cached.
        headers = {"Location": location, "Cache-Control": "no-store"}
        return Response(answer, status_code=status, headers=headers)

    @get(
        "/{reference:str}",
        summary="A visit, with its manage token",
        description=TOKEN_DOC,
        responses=problems(401, 404, 429),
    )
    async def get_visit(self, caller: CallerDep, request: Request, reference: Reference) -> Visit:
        return await visits.get(caller, reference, bearer(request))

    @post(
        "/{reference:str}/confirm",
        status_code=200,
        summary="Confirm a held visit with the token from the e-mail",
        description="A second click answers the visit again.",
        responses={
            # Not a oneOf of Visit and VisitCreated: a VisitCreated is a Visit too, so a body
            # with a token would match both, which oneOf forbids.
            200: ResponseSpec(
                Visit,
                generate_examples=False,
                description="The confirmed visit. One held without a manage token (a draw's "
                "win, a waitlist's offer) gets one now, shown once: its body is then a "
                "VisitCreated, with `manage_token` (Cache-Control: no-store)",
            ),
            **problems(404, 409, 410, 413, 429),
        },
    )
    async def confirm(
        self, caller: CallerDep, reference: Reference, data: JSONBody[ConfirmIn]
    ) -> Response[Visit | VisitCreated]:
        answer = await visits.confirm(caller, reference, data.token)
        return Response(answer, headers={"Cache-Control": "no-store"})

    @post(
        "/{reference:str}/cancel",
        status_code=200,
        summary="Cancel a visit",
        description=TOKEN_DOC,
        responses=problems(401, 404, 409, 429),
    )
    async def cancel(self, caller: CallerDep, request: Request, reference: Reference) -> Visit:
        return await visits.cancel(caller, reference, bearer(request))

    @post(
        "/{reference:str}/contact",
        status_code=200,
        summary="Choose how the visitor is told about the visit: e-mail, SMS or both",
        description=TOKEN_DOC
        + " SMS need a mobile number: `phone` here, or the one given when booking.",
        responses=problems(401, 404, 413, 415, 422, 429),
    )
    async def contact(
        self,
        caller: CallerDep,
        request: Request,
        reference: Reference,
        data: JSONBody[ContactIn],
    ) -> Visit:
        return await visits.set_contact(caller, reference, bearer(request), data)

    @post(
        "/{reference:str}/reschedule",
        status_code=200,
        summary="Move a visit to another free slot",
        description=TOKEN_DOC,
        responses=problems(401, 404, 409, 413, 415, 422, 429),
    )
    async def reschedule(
        self,
        caller: CallerDep,
        request: Request,
        reference: Reference,
        data: JSONBody[RescheduleIn],
    ) -> Visit:
        return await visits.move(caller, reference, bearer(request), data.start)


class DrawController(Controller):
    path = "/api/v1/draws"
    tags = ["bookings"]
    dependencies = CallerDependency

    @get(
        "/{entry_id:uuid}",
        summary="The answer to a draw entry (decided once its window closes)",
        description="`Authorization: Bearer <token>`: the entry's token, shown once.",
        responses=problems(401, 404, 429),
    )
    async def result(
        self, caller: CallerDep, request: Request, entry_id: FromPath[UUID]
    ) -> draw.DrawEntry:
        return await draw.answer(caller, entry_id, bearer(request))


class ChallengeController(Controller):
    path = "/api/v1/challenge"
    tags = ["bookings"]
    dependencies = CallerDependency

    @get(
        "/",
        summary="A proof-of-work challenge (ALTCHA v1) required to book at a point",
        responses=problems(404, 429),
    )
    async def challenge(self, caller: CallerDep, point_id: PointId) -> pow.Challenge:
        await caller.limit("challenge")
        conn = await caller.uow.connection()
        max_number = await pow.difficulty(conn, point_id)
        if max_number is None:
            raise NotFound(f"There is no point with id {point_id!r}.", point_id=point_id)
        return pow.new_challenge(await pow.hmac_key(conn), point_id, max(max_number, 1))


# ---------------------------------------------------------------------------- waitlist


class WaitlistIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    point_id: Slug
    service_id: Slug
    language: Language
    first_day: dt.date
    last_day: dt.date
    visitor: VisitorIn


class WaitlistEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    status: str
    point_id: str
    service_id: str
    language: str
    first_day: dt.date
    last_day: dt.date
    reference: str | None = None  # the offered visit, once a slot was offered
    token: Annotated[str | None, msgspec.Meta(description="shown once, when joining")] = None


def _entry(row: asyncpg.Record, token: str | None = None) -> WaitlistEntry:
    return WaitlistEntry(
        id=row["id"],
        status=row["status"],
        point_id=row["point_id"],
        service_id=row["service_id"],
        language=row["language"],
        first_day=row["first_day"],
        last_day=row["last_day"],
        reference=row.get("reference"),
        token=token,
    )


class WaitlistController(Controller):
    path = "/api/v1/waitlist"
    tags = ["waitlist"]
    dependencies = CallerDependency

    @post(
        "/",
        status_code=201,
        summary="Ask to be offered a slot that frees up",
        responses=problems(413, 415, 422, 429),
    )
    async def join(self, caller: CallerDep, data: JSONBody[WaitlistIn]) -> Response[WaitlistEntry]:
        email = valid_email(data.visitor.email)
        await caller.limit("waitlist", person=email_key(email))

        async def work(conn: asyncpg.Connection) -> WaitlistEntry:
            entry_id, token = await waitlist.join(
                conn,
                point_id=data.point_id,
                service_id=data.service_id,
                language=data.language,
                first_day=data.first_day,
                last_day=data.last_day,
                name=data.visitor.name.strip(),
                email=email,
                email_key=email_key(email),
            )
            return _entry(await waitlist.entry(conn, entry_id, token), token)

        entry = await caller.uow.atomic(work)
        return Response(entry, status_code=201, headers={"Cache-Control": "no-store"})

    @get(
        "/{entry_id:uuid}",
        description="`Authorization: Bearer <token>`: the entry's token, shown once.",
        responses=problems(401, 404),
    )
    async def show(self, uow: Uow, request: Request, entry_id: FromPath[UUID]) -> WaitlistEntry:
        return _entry(await waitlist.entry(await uow.connection(), entry_id, bearer(request)))

    @delete(
        "/{entry_id:uuid}",
        status_code=200,
        description="`Authorization: Bearer <token>`: the entry's token, shown once.",
        responses=problems(401, 404),
    )
    async def leave(self, uow: Uow, request: Request, entry_id: FromPath[UUID]) -> WaitlistEntry:
        async def work(conn: asyncpg.Connection) -> WaitlistEntry:
            return _entry(await waitlist.leave(conn, entry_id, bearer(request)))

        return await uow.atomic(work)


def booking_handlers() -> list[object]:
    return [BookingController, ChallengeController, DrawController, WaitlistController]
