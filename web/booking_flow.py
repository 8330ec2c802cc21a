"""Booking a visit: service -> language -> day -> time -> details.

Each step is a GET whose query carries the choices made so far, so the back button, a reload
and a shared link all work; the last step POSTs the form once (its Idempotency-Key is a hidden
field, so a double click or a resent form books once) and redirects to "check your e-mail".

The steps need no JavaScript. The details step does when the point asks for a proof of work
(PROOF_OF_WORK on, the point's `pow_max_number` not 0, booking/pow.py): the form then carries
the ALTCHA widget (web/static/vendor/altcha), which fetches a challenge from /api/v1/challenge,
solves it in a Web Worker when the form is sent, and adds the solution as the `altcha` field.
The POST checks it exactly as the API checks its `Altcha` header, before anything is written;
a form sent without JavaScript is refused with a sentence next to the widget, and the page
tells such visitors (in <noscript>) to turn JavaScript on or to phone or write to the point.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any, NamedTuple
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking import pow, schemas, visits
from booking.draw import DrawEntry
from booking.schemas import BookingCreate
from core.problems import DomainError
from scheduling import store
from scheduling.model import Point, PointService
from scheduling.offers import visit_offer
from web.common import (
    CallerDep,
    day_slots,
    form_of,
    free_days,
    iso,
    languages_in_order,
    local_today,
    parse_day,
    parse_instant,
    provide_caller,
    text,
    why_no_times,
)
from web.errors import explain
from web.i18n import N_, gettext_for
from web.render import language_of, page
from web.security import PROOF_OF_WORK_POLICY

Conn = NamedDependency[asyncpg.Connection]
DAYS_PER_PAGE = 21
STEPS = ("service", "language", "day", "time", "details")
STEP_NAMES = {
    "service": N_("Service"),
    "language": N_("Language"),
    "day": N_("Day"),
    "time": N_("Time"),
    "details": N_("Your details"),
}
NEEDS = {"step-free-access": N_("I need step-free access (wheelchair, pram)")}


def draw_path(entry_id: uuid.UUID, token: str) -> str:
    """A draw entry's page (web/draws.py), the visitor's private link to its answer."""
    return f"/draws/{entry_id}?" + urlencode({"token": token})


def step_link(point_id: str, **choices: str | list[str] | None) -> str:
    query = {k: v for k, v in choices.items() if v}
    return f"/points/{point_id}/book" + (f"?{urlencode(query, doseq=True)}" if query else "")


class Shape(NamedTuple):
    """What the visit is besides its service: its channel, party and further matters, carried
    from step to step in the query (`channel`, `party`, `also`)."""

    channel: str
    party: int
    also: tuple[str, ...]

    def query(self) -> dict[str, str | list[str] | None]:
        return {
            "channel": self.channel,
            "party": str(self.party) if self.party > 1 else None,
            "also": list(self.also) or None,
        }


def visit_shape(
    point: Point, services: list[PointService], offer: PointService, values: Any, lang: str
) -> tuple[Shape, PointService, str | None]:
    """The visit's shape from the query or form: (shape, the offer as scheduling/offers.py
    shapes it, a sentence when what was asked cannot be booked and was set back)."""
    channel = values.get("channel")
    if channel not in offer.channels:
        channel = offer.channels[0]
    try:
        party = max(1, int(values.get("party") or 1))
    except (TypeError, ValueError):
        party = 1
    known = {s.id: s for s in services}
    raw = values.getall("also", []) if hasattr(values, "getall") else values.get("also") or []
    also = tuple(dict.fromkeys(a for a in _as_list(raw) if a in known and a != offer.id))
    try:
        shaped = visit_offer(point, [offer, *(known[a] for a in also)], channel, party)
    except DomainError as error:
        plain = Shape(channel, 1, ())
        return plain, offer.in_channel(channel), explain(error, lang).message
    return Shape(channel, party, also), shaped, None


#: The details form's fields, the API's types for them (booking/schemas.py), and what to say
#: when a value is refused: (when empty, when too long, otherwise). The limits themselves are
#: the types'; a sentence is only chosen here.
_DETAILS: dict[str, tuple[Any, str | None, str | None, str]] = {
    "name": (
        schemas.Name,
        N_("Please enter your name."),
        N_("The name is too long: at most 200 characters."),
        N_("The name contains characters that cannot be used. Please type it again."),
    ),
    "email": (
        schemas.EmailText,
        N_("Please enter your e-mail address: the confirmation link is sent there."),
        None,
        N_(
            "This e-mail address does not look right. Please check it "
            "(it should look like name@example.com)."
        ),
    ),
    "phone": (
        schemas.Phone,
        None,
        None,
        N_(
            "This phone number does not look right. Use digits, with + and the country code "
            "at the start if it is not Polish, e.g. +380 67 123 4567."
        ),
    ),
    "notes": (
        schemas.Notes,
        None,
        N_("The note is too long: at most 2000 characters."),
        N_("The note contains characters that cannot be used. Please type it again."),
    ),
}


def booking_request(
    form: dict[str, Any],
    point_id: str,
    offer: PointService,
    language: str,
    start: dt.datetime,
    shape: Shape | None = None,
) -> tuple[BookingCreate | None, dict[str, str]]:
    """The form as the API's BookingCreate (msgspec.convert: the same checks as the API), or
    the msgids to show next to each field that was refused."""
    errors: dict[str, str] = {}
    values: dict[str, str | None] = {}
    for field, (kind, empty, too_long, otherwise) in _DETAILS.items():
        value = text(form, field)
        if not value and empty is None:
            values[field] = None  # optional and not given
            continue
        try:
            values[field] = msgspec.convert(value, kind)
        except msgspec.ValidationError:
            if not value and empty is not None:
                errors[field] = empty
            elif too_long is not None and len(value) > _max_length(kind):
                errors[field] = too_long
            else:
                errors[field] = otherwise
    if errors:
        return None, errors
    visitor = {"name": values["name"], "email": values["email"], "phone": values["phone"]}
    body = {
        "point_id": point_id,
        "service_id": offer.id,
        "start": start.isoformat(),
        "language": language,
        "visitor": visitor,
        "notes": values["notes"],
        "needs": [n for n in _as_list(form.get("needs")) if n in NEEDS],
        "notify_by": notify_by_of(form),
    }
    if shape is not None:
        body |= {
            "channel": shape.channel,
            "party_size": shape.party,
            "extra_services": list(shape.also),
        }
    return msgspec.convert(body, BookingCreate), {}


def notify_by_of(form: dict[str, Any]) -> list[str]:
    """The form's choice of channels ("email", "sms" or "both") as the API's list."""
    return {"sms": ["sms"], "both": ["email", "sms"]}.get(text(form, "notify_by"), ["email"])


def _max_length(kind: Any) -> int:
    return next(m.max_length for m in kind.__metadata__ if getattr(m, "max_length", None))


class BookingPages(Controller):
    path = "/points/{point_id:str}/book"
    include_in_schema = False
    dependencies = {"caller": Provide(provide_caller)}

    @get("/")
    async def step(self, request: Request, conn: Conn, point_id: FromPath[str]) -> Template:
        point = await store.get_point(conn, point_id)
        services = await store.list_point_services(conn, point.id)
        query = request.query_params
        offer = next((s for s in services if s.id == query.get("service")), None)
        language = query.get("language")
        day = parse_day(query.get("day"))
        start = parse_instant(query.get("start"))
        context: dict[str, Any] = {"point": point, "services": services, "offer": offer}
        if offer is None:
            return self._page(request, "service", context)
        shape, shaped, problem = visit_shape(point, services, offer, query, language_of(request))
        chosen = {"service": offer.id, **shape.query()}
        others = [s for s in services if s.id != offer.id and shape.channel in s.channels]
        context |= {
            "shape": shape,
            "shaped": shaped,
            "shape_problem": problem,
            "others": others,
        }
        context["links"] = {"service": step_link(point.id)}
        if language not in shaped.languages:
            context["choices"] = languages_in_order(shaped.languages)
            context["language_link"] = lambda code: step_link(point.id, **chosen, language=code)
            return self._page(request, "language", context)
        context["language"] = language
        context["links"]["language"] = step_link(point.id, **chosen)
        matters = {"channel": shape.channel, "services": [offer.id, *shape.also]}
        if day is None:
            first = parse_day(query.get("from")) or local_today(point)
            days, later = await free_days(
                conn, point, shaped, language, first, DAYS_PER_PAGE, **matters
            )
            context |= {
                "days": days,
                "later": later
                and step_link(point.id, **chosen, language=language, **{"from": later.isoformat()}),
                "earlier": first > local_today(point)
                and step_link(point.id, **chosen, language=language),
                "day_link": lambda d: step_link(
                    point.id, **chosen, language=language, day=d.isoformat()
                ),
            }
            return self._page(request, "day", context)
        context["day"] = day
        context["links"]["day"] = step_link(point.id, **chosen, language=language)
        if start is None:
            return await self._times(request, conn, point, shaped, language, day, context)
        context["start"] = start
        context["links"]["time"] = step_link(
            point.id, **chosen, language=language, day=day.isoformat()
        )
        context |= {
            "form": {},
            "key": str(uuid.uuid4()),
            "needs": NEEDS,
            "proof_of_work": await pow.needed(
                conn, point.id, request.app.state.settings.proof_of_work
            ),
        }
        return self._page(request, "details", context)

    async def _times(
        self,
        request: Request,
        conn: asyncpg.Connection,
        point: Point,
        offer: PointService,
        language: str,
        day: dt.date,
        context: dict[str, Any],
        status: int = 200,
    ) -> Template:
        shape: Shape = context["shape"]
        matters = {"channel": shape.channel, "services": [offer.id, *shape.also]}
        slots = (await day_slots(conn, point, offer, language, day, **matters)).slots
        context |= {
            "slots": slots,
            "no_times": None
            if slots
            else await why_no_times(conn, point, offer, day, shape.channel),
            "time_link": lambda slot: step_link(
                point.id,
                service=offer.id,
                **shape.query(),
                language=language,
                day=day.isoformat(),
                start=iso(slot.start, point),
            ),
        }
        return self._page(request, "time", context, status=status)

    def _page(
        self, request: Request, step: str, context: dict[str, Any], status: int = 200
    ) -> Template:
        lang = language_of(request)
        _ = gettext_for(lang)
        # The widget's script, worker and challenge fetch need a policy of their own (security.py).
        policy = PROOF_OF_WORK_POLICY if context.get("proof_of_work") else None
        return page(
            request,
            "book.html",
            lang=lang,
            status=status,
            title=_("Book a visit") + " – " + _(STEP_NAMES[step]),
            headers={"Content-Security-Policy": policy} if policy else None,
            **{
                "links": {},
                "step": step,
                "steps": STEPS,
                "step_names": STEP_NAMES,
                "step_number": STEPS.index(step) + 1,
            }
            | context,
        )

    @post("/")
    async def create(self, request: Request, caller: CallerDep, point_id: FromPath[str]) -> Any:
        form = await form_of(request)
        lang = language_of(request)
        conn = await caller.uow.connection()
        point = await store.get_point(conn, point_id)
        services = await store.list_point_services(conn, point.id)
        offer = next((s for s in services if s.id == text(form, "service")), None)
        proof_of_work = await pow.needed(conn, point.id, caller.settings.proof_of_work)
        language = text(form, "language")
        start = parse_instant(text(form, "start"))
        if offer is None or start is None:
            return Redirect(path=step_link(point.id), status_code=303)
        shape, shaped, _ = visit_shape(point, services, offer, form, lang)
        if language not in shaped.languages:
            return Redirect(path=step_link(point.id), status_code=303)
        data, problems = booking_request(form, point.id, offer, language, start, shape)
        errors = {field: gettext_for(lang)(msg) for field, msg in problems.items()}
        if data is not None:
            try:
                # The API's use-case: the same limits, proof of work and idempotency (the key
                # is a hidden field, so the same form sent again gets its first answer).
                answer = await visits.hold(
                    caller, data, text(form, "key"), text(form, "altcha") or None
                )
            except DomainError as error:
                problem = explain(error, lang)
                errors[problem.field or "form"] = problem.message
            else:
                if isinstance(answer, DrawEntry):  # a release's first minutes: the draw
                    return Redirect(
                        path=draw_path(answer.entry_id, answer.token or ""), status_code=303
                    )
                target = f"/bookings/{answer.reference}/sent?" + urlencode(
                    {"token": answer.manage_token}
                )
                return Redirect(path=target, status_code=303)
        day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date()
        context: dict[str, Any] = {
            "point": point,
            "services": services,
            "offer": offer,
            "language": language,
            "day": day,
            "start": start,
            "form": form,
            "key": text(form, "key") or str(uuid.uuid4()),
            "needs": NEEDS,
            "proof_of_work": proof_of_work,
            "errors": errors,
            "shape": shape,
            "shaped": shaped,
            "links": {
                "service": step_link(point.id),
                "language": step_link(point.id, service=offer.id, **shape.query()),
                "day": step_link(point.id, service=offer.id, **shape.query(), language=language),
                "time": step_link(
                    point.id,
                    service=offer.id,
                    **shape.query(),
                    language=language,
                    day=day.isoformat(),
                ),
            },
        }
        return self._page(request, "details", context, status=422)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
