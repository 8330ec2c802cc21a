"""HTTP handlers of the visit lifecycle (the visitor's side)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from booking.schemas import BookingCreate, ConfirmIn, RescheduleIn, Visit
from booking.secrets import email_key
from booking.service import Bookings, Result


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


def booking_handlers() -> list[object]:
    return [BookingController]
