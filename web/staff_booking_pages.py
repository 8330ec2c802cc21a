"""Staff pages for booking on a visitor's behalf: choose a time (the staff's view of the
capacity), take the visitor's details, and print or read out the booking number.

The page calls what the staff API calls (staff/booking_api.py `book`: the same use-case,
checks and audit line); its form is converted into the API's own StaffBookingIn.
"""

from __future__ import annotations

import uuid
import zoneinfo
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect

from booking import schemas, store
from booking.staff_booking import StaffBookingIn
from core.problems import DomainError, NotFound, status_of
from scheduling import config as point_config
from staff.auth import require_point, staff_of
from staff.booking_api import book, staff_availability
from web.common import CallerDep, form_of, parse_day, provide_caller, text
from web.errors import explain
from web.i18n import N_, gettext_for
from web.points import address_line
from web.render import language_of
from web.staff_pages import _staff_page, _to_login, who

#: The details form: the API's type of each field, and what to say when it is refused (when
#: empty, or None when the field is optional; otherwise).
_DETAILS: dict[str, tuple[Any, str | None, str]] = {
    "name": (
        schemas.Name,
        N_("Please enter the visitor's name."),
        N_("The name is too long or contains characters that cannot be used."),
    ),
    "phone": (
        schemas.Phone,
        None,
        N_(
            "This phone number does not look right. Use digits, with + and the country code "
            "at the start if it is not Polish, e.g. +380 67 123 4567."
        ),
    ),
    "email": (
        schemas.EmailText,
        None,
        N_(
            "This e-mail address does not look right. Please check it "
            "(it should look like name@example.com)."
        ),
    ),
    "notes": (
        schemas.Notes,
        None,
        N_("The note is too long: at most 2000 characters."),
    ),
}


def _request(form: dict[str, Any]) -> tuple[StaffBookingIn | None, dict[str, str]]:
    """The form as the API's StaffBookingIn, or the msgids to show next to refused fields."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field, (kind, empty, otherwise) in _DETAILS.items():
        value = text(form, field)
        if not value:
            if empty is not None:
                errors[field] = empty
            values[field] = None
            continue
        try:
            values[field] = msgspec.convert(value, kind)
        except msgspec.ValidationError:
            errors[field] = otherwise
    if not text(form, "start"):
        errors["start"] = N_("Please choose a time.")
    party_size = _party_size(form)
    if party_size is None:
        errors["form"] = N_("Please choose a service, a language and a time from the lists.")
    if errors:
        return None, errors
    visitor = {k: values[k] for k in ("name", "email", "phone") if values[k] is not None}
    body = {
        "service_id": text(form, "service"),
        "start": text(form, "start"),
        "language": text(form, "language"),
        "visitor": visitor,
        "notes": values["notes"],
        "party_size": party_size,
    }
    try:
        return msgspec.convert(body, StaffBookingIn), {}
    except msgspec.ValidationError:
        return None, {"form": N_("Please choose a service, a language and a time from the lists.")}


def _party_size(form: dict[str, Any]) -> int | None:
    """How many people the visit is for (1 when the form does not say); None when it says
    something that is not a number (the form's own lists never do)."""
    value = text(form, "party_size") or "1"
    return int(value) if value.isdigit() and len(value) <= 2 else None


class StaffBookingPages(Controller):
    path = "/staff/points/{point_id:str}"
    include_in_schema = False
    dependencies = {"caller": Provide(provide_caller)}

    @get("/book")
    async def book_page(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        query = request.query_params
        return await self._page(
            request, state, staff, point_id, {k: query.get(k, "") for k in query}, {}
        )

    async def _page(
        self,
        request: Request,
        state: State,
        staff: Any,
        point_id: str,
        form: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
    ) -> Any:
        lang = language_of(request)
        async with state.pool.acquire() as conn:
            config, now = await point_config.current(conn, point_id)
            point = config.point
            today = now.astimezone(zoneinfo.ZoneInfo(point.timezone)).date()
            day = parse_day(text(form, "date")) or today
            offer = config.services.get(text(form, "service"))
            language = text(form, "language")
            slots = None
            party_size = min(_party_size(form) or 1, offer.max_party_size if offer else 1)
            if offer is not None and language in offer.languages:
                found = await staff_availability(
                    conn, point_id, offer.id, language, day, day, party_size=max(1, party_size)
                )
                slots = found.days[0].slots if found.days else []
        _ = gettext_for(lang)
        return _staff_page(
            request,
            staff,
            "staff/book.html",
            lang=lang,
            status=status,
            point=point,
            offers=sorted(config.services.values(), key=lambda o: o.id),
            offer=offer,
            language=language,
            day=day,
            today=today,
            slots=slots,
            party_size=max(1, party_size),
            form=form,
            key=text(form, "key") or str(uuid.uuid4()),  # one per form: a double click books once
            errors={field: _(message) for field, message in errors.items()},
        )

    @post("/book")
    async def book_visit(
        self, request: Request, state: State, caller: CallerDep, point_id: FromPath[str]
    ) -> Any:
        staff = await staff_of(request, state.pool)
        require_point(staff, point_id)
        form = await form_of(request)
        data, errors = _request(form)
        if data is None:
            return await self._page(request, state, staff, point_id, form, errors, 422)
        try:
            visit = await book(caller, staff, point_id, data, text(form, "key") or None)
        except DomainError as error:
            problem = explain(error, language_of(request))
            field = {"phone": "phone", "email": "email", "start": "start"}.get(problem.field or "")
            # already in the reader's language (gettext leaves a sentence it has no entry for)
            shown = {(field or "form"): problem.message}
            return await self._page(request, state, staff, point_id, form, shown, status_of(error))
        target = f"/staff/points/{point_id}/bookings/{visit.reference}"
        return Redirect(path=target, status_code=303)

    @get("/bookings/{reference:str}")
    async def slip(
        self, request: Request, state: State, point_id: FromPath[str], reference: FromPath[str]
    ) -> Any:
        """The booking number and where and when, to print or read out to the visitor."""
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        async with state.pool.acquire() as conn:
            row = await store.by_reference(conn, reference)
            if row is None or row["point_id"] != point_id:
                raise NotFound(f"There is no visit {reference!r} at this point.")
            config, _ = await point_config.current(conn, point_id)
        visit = store.visit_of(row)
        return _staff_page(
            request,
            staff,
            "staff/booked.html",
            point=config.point,
            visit=visit,
            offer=config.services.get(visit.service_id),
            address=address_line(config.point),
            day=visit.start.astimezone(zoneinfo.ZoneInfo(visit.timezone)).date(),
        )
