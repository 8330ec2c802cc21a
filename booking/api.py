"""HTTP handlers of the visit lifecycle (the visitor's side)."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody

from booking import draw, pow
from booking.schemas import BookingCreate, ConfirmIn, RescheduleIn, Visit
from booking.secrets import email_key
from booking.service import Bookings, Result
from core.jobs import enqueue_outbox
from core.problems import NotFound


def bookings_of(state: State) -> Bookings:
    return Bookings(state.pool, state.redis, state.settings)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def limit(state: State, request: Request, action: str, person: str | None) -> None:
    await state.rate_limits.check(action, address=client_address(request), person=person)


async def _pow_key(state: State) -> bytes:
    if getattr(state, "pow_key", None) is None:
        async with state.pool.acquire() as conn:
            state.pow_key = await pow.hmac_key(conn)
    return state.pow_key


async def proof_of_work_needed(state: State, point_id: str) -> bool:
    """Whether booking at this point needs a proof of work (the API's and the page's rule)."""
    if not state.settings.proof_of_work:
        return False
    async with state.pool.acquire() as conn:
        return await pow.needed(conn, point_id, enabled=True)


async def require_proof_of_work(
    state: State, point_id: str, payload: str | None, request: bytes | None = None
) -> None:
    """Checked before anything is written; `request` (pow.request_tag) lets that same request,
    retried with its Idempotency-Key, reuse its solution and get its idempotent answer."""
    if not await proof_of_work_needed(state, point_id):
        return
    key = await _pow_key(state)
    await pow.check_solution(state.redis, key, point_id, payload, request=request)


def _json(result: Result) -> Response[bytes]:
    return Response(result.body, status_code=result.status, media_type="application/json")


class BookingController(Controller):
    path = "/api/v1/bookings"
    tags = ["bookings"]

    @post("/", status_code=201, summary="Hold a visit (confirmed later from the e-mail)")
    async def create(
        self, state: State, request: Request, data: JSONBody[BookingCreate]
    ) -> Response[bytes]:
        key = request.headers.get("idempotency-key", "")
        await limit(state, request, "booking", email_key(data.visitor.email))
        await require_proof_of_work(
            state, data.point_id, request.headers.get("altcha"), pow.request_tag(key, data)
        )
        return _json(await bookings_of(state).create(data, key))

    @get("/{reference:str}", summary="A visit, with its manage token")
    async def get_visit(self, state: State, request: Request, reference: FromPath[str]) -> Visit:
        await limit(state, request, "manage", reference)
        return await bookings_of(state).get(reference, bearer(request))

    @post("/{reference:str}/confirm", status_code=200)
    async def confirm(
        self, state: State, request: Request, reference: FromPath[str], data: JSONBody[ConfirmIn]
    ) -> Response[bytes]:
        await limit(state, request, "confirm", reference)
        return _json(await bookings_of(state).confirm(reference, data.token))

    @post("/{reference:str}/cancel", status_code=200)
    async def cancel(
        self, state: State, request: Request, reference: FromPath[str]
    ) -> Response[bytes]:
        await limit(state, request, "manage", reference)
        return _json(await bookings_of(state).cancel(reference, bearer(request)))

    @post("/{reference:str}/reschedule", status_code=200)
    async def reschedule(
        self, state: State, request: Request, reference: FromPath[str], data: JSONBody[RescheduleIn]
    ) -> Response[bytes]:
        await limit(state, request, "manage", reference)
        return _json(await bookings_of(state).reschedule(reference, bearer(request), data.start))


class DrawController(Controller):
    path = "/api/v1/draws"
    tags = ["bookings"]

    @get("/{entry_id:uuid}", summary="The answer to a draw entry (decided once its window closes)")
    async def result(
        self, state: State, request: Request, entry_id: FromPath[UUID]
    ) -> draw.DrawEntry:
        await limit(state, request, "manage", str(entry_id))
        hold = dt.timedelta(minutes=state.settings.hold_minutes)
        async with state.pool.acquire() as conn, conn.transaction():
            entry, outbox = await draw.result(conn, entry_id, bearer(request), hold)
        await enqueue_outbox(state.redis, outbox)
        return entry


class ChallengeController(Controller):
    path = "/api/v1/challenge"
    tags = ["bookings"]

    @get("/", summary="A proof-of-work challenge (ALTCHA v1) required to book at a point")
    async def challenge(
        self, state: State, request: Request, point_id: FromQuery[str]
    ) -> pow.Challenge:
        await limit(state, request, "challenge", None)
        async with state.pool.acquire() as conn:
            max_number = await pow.difficulty(conn, point_id)
        if max_number is None:
            raise NotFound(f"There is no point with id {point_id!r}.")
        return pow.new_challenge(await _pow_key(state), point_id, max(max_number, 1))


def booking_handlers() -> list[object]:
    from booking.waitlist_api import WaitlistController

    return [BookingController, ChallengeController, DrawController, WaitlistController]
