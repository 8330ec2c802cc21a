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
import re
import uuid
import zoneinfo
from typing import Any
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking import pow
from booking.api import require_proof_of_work
from booking.draw import DrawEntry
from booking.schemas import BookingCreate, VisitCreated, VisitorIn
from booking.secrets import email_key
from core.problems import DomainError, NotFound
from scheduling import store
from scheduling.model import Point, PointService
from web.common import (
    bookings_of,
    day_slots,
    form_of,
    free_days,
    iso,
    languages_in_order,
    limit,
    local_today,
    parse_day,
    parse_instant,
    text,
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
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,30}$")


def draw_path(entry_id: uuid.UUID, token: str) -> str:
    """A draw entry's page (web/draws.py), the visitor's private link to its answer."""
    return f"/draws/{entry_id}?" + urlencode({"token": token})


def step_link(point_id: str, **choices: str | None) -> str:
    query = {k: v for k, v in choices.items() if v}
    return f"/points/{point_id}/book" + (f"?{urlencode(query)}" if query else "")


def details_errors(form: dict[str, Any]) -> dict[str, str]:
    """What is missing or malformed in the details form (msgids; translated when shown)."""
    errors: dict[str, str] = {}
    name, email, phone = text(form, "name"), text(form, "email"), text(form, "phone")
    if not name:
        errors["name"] = N_("Please enter your name.")
    elif len(name) > 200:
        errors["name"] = N_("The name is too long: at most 200 characters.")
    if not email:
        errors["email"] = N_(
            "Please enter your e-mail address: the confirmation link is sent there."
        )
    elif len(email) > 254 or "@" not in email:
        errors["email"] = N_(
            "This e-mail address does not look right. Please check it "
            "(it should look like name@example.com)."
        )
    if phone and not PHONE.match(phone):
        errors["phone"] = N_(
            "This phone number does not look right. Use digits, with + and the country code "
            "at the start if it is not Polish, e.g. +380 67 123 4567."
        )
    if len(text(form, "notes")) > 2000:
        errors["notes"] = N_("The note is too long: at most 2000 characters.")
    return errors


class BookingPages(Controller):
    path = "/points/{point_id:str}/book"
    include_in_schema = False

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
        context["links"] = {"service": step_link(point.id)}
        if language not in offer.languages:
            context["choices"] = languages_in_order(offer.languages)
            return self._page(request, "language", context)
        context["language"] = language
        context["links"]["language"] = step_link(point.id, service=offer.id)
        if day is None:
            first = parse_day(query.get("from")) or local_today(point)
            days, later = await free_days(conn, point, offer, language, first, DAYS_PER_PAGE)
            context |= {
                "days": days,
                "later": later
                and step_link(
                    point.id, service=offer.id, language=language, **{"from": later.isoformat()}
                ),
                "earlier": first > local_today(point)
                and step_link(point.id, service=offer.id, language=language),
                "day_link": lambda d: step_link(
                    point.id, service=offer.id, language=language, day=d.isoformat()
                ),
            }
            return self._page(request, "day", context)
        context["day"] = day
        context["links"]["day"] = step_link(point.id, service=offer.id, language=language)
        if start is None:
            return await self._times(request, conn, point, offer, language, day, context)
        context["start"] = start
        context["links"]["time"] = step_link(
            point.id, service=offer.id, language=language, day=day.isoformat()
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
        slots = (await day_slots(conn, point, offer, language, day)).slots
        context |= {
            "slots": slots,
            "time_link": lambda slot: step_link(
                point.id,
                service=offer.id,
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
    async def create(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        form = await form_of(request)
        lang = language_of(request)
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            try:
                offer = await store.get_point_service(conn, point.id, text(form, "service"))
            except NotFound:
                offer = None
            services = await store.list_point_services(conn, point.id)
            proof_of_work = await pow.needed(conn, point.id, state.settings.proof_of_work)
        language = text(form, "language")
        start = parse_instant(text(form, "start"))
        if offer is None or language not in offer.languages or start is None:
            return Redirect(path=step_link(point.id), status_code=303)
        errors = {field: gettext_for(lang)(msg) for field, msg in details_errors(form).items()}
        if not errors:
            data = BookingCreate(
                point_id=point.id,
                service_id=offer.id,
                start=start.isoformat(),
                language=language,
                visitor=VisitorIn(
                    name=text(form, "name"),
                    email=text(form, "email"),
                    phone=text(form, "phone") or None,
                ),
                notes=text(form, "notes") or None,
                needs=[n for n in _as_list(form.get("needs")) if n in NEEDS],
            )
            key = text(form, "key")
            try:
                await limit(request, "booking", email_key(data.visitor.email))
                # As the API does: the proof of work before anything is written, spent on this
                # request (key and details), so the same form sent again gets its first answer.
                await require_proof_of_work(
                    state, point.id, text(form, "altcha") or None, pow.request_tag(key, data)
                )
                result = await bookings_of(state).create(data, key)
            except DomainError as error:
                problem = explain(error, lang)
                errors[problem.field or "form"] = problem.message
            else:
                if result.status == 202:  # a release's first minutes: an entry in its draw
                    entry = msgspec.json.decode(result.body, type=DrawEntry)
                    return Redirect(
                        path=draw_path(entry.entry_id, entry.token or ""), status_code=303
                    )
                created = msgspec.json.decode(result.body, type=VisitCreated)
                target = f"/bookings/{created.reference}/sent?" + urlencode(
                    {"token": created.manage_token}
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
            "links": {
                "service": step_link(point.id),
                "language": step_link(point.id, service=offer.id),
                "day": step_link(point.id, service=offer.id, language=language),
            },
        }
        context["links"]["time"] = step_link(
            point.id, service=offer.id, language=language, day=day.isoformat()
        )
        return self._page(request, "details", context, status=422)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
