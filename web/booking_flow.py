"""Booking a visit: service -> language -> day -> time -> details.

Each step is a GET whose query carries the choices made so far, so the back button, a reload
and a shared link all work; the last step POSTs the form once (its Idempotency-Key is a hidden
field, so a double click or a resent form books once) and redirects to "check your e-mail",
handing the new visit's manage token over in a short-lived cookie (never in a URL).

The steps need no JavaScript. The details step does when the point asks for a proof of work
(PROOF_OF_WORK on, the point's `pow_max_number` not 0, booking/pow.py): the form then carries
the ALTCHA widget (web/static/vendor/altcha), which fetches a challenge from /api/v1/challenge,
solves it in a Web Worker when the form is sent, and adds the solution as the `altcha` field.
The POST checks it exactly as the API checks its `Altcha` header, before anything is written;
a form sent without JavaScript is refused with a sentence next to the widget, and the page
tells such visitors (in <noscript>) to turn JavaScript on or to phone or write to the point.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
import zoneinfo
from typing import Any, NamedTuple
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking import pow, schemas, visits
from booking.domain.errors import EmailInvalid, PerPersonLimit
from booking.draw import DrawEntry
from booking.schemas import BookingCreate
from core.problems import DomainError, status_of
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
from web.errors import explain, retry_headers
from web.i18n import LANGUAGES, N_, gettext_for
from web.points import language_cookie
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


#: The "check your e-mail" page's cookie: the new visit's manage token on its way from the
#: booking form's POST to the page after it (POST-redirect-GET), so the token is in no URL,
#: no history and no log. HttpOnly, SameSite=Strict, only for that page's path, and only for
#: as long as the hold lasts; after the page has shown the link once it says "shown".
SENT_COOKIE = "wizyta_sent"
_SHOWN = "~shown"


def sent_cookie(
    request: Request, reference: str, token: str, settings: Any, *, shown: bool = False
) -> Cookie:
    return Cookie(
        key=SENT_COOKIE,
        value=token + (_SHOWN if shown else ""),
        path=f"/bookings/{reference}/sent",
        max_age=int(settings.hold_minutes) * 60,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def read_sent_cookie(request: Request, reference: str) -> tuple[str | None, bool]:
    """(the token, whether its link was shown already), or (None, False)."""
    value = request.cookies.get(SENT_COOKIE) or ""
    token = value.removesuffix(_SHOWN)
    return (token or None), value.endswith(_SHOWN)


#: What the visitor typed on the details step, kept while they choose another time or switch
#: the language (the form's "Choose another time" and the language buttons post it to
#: `keep`): in a cookie, never in a URL; HttpOnly, SameSite=Strict, only for this point's
#: booking pages, for half an hour, and removed once the visit is booked.
DETAILS_COOKIE = "wizyta_details"
KEPT_FIELDS = ("name", "email", "phone", "notes", "mail_language")
KEEP_SECONDS = 30 * 60
_MAX_COOKIE = 3000  # bytes of the encoded value: browsers keep 4096 per cookie


def _book_path(point_id: str) -> str:
    return f"/points/{point_id}/book"


def details_cookie(request: Request, point_id: str, form: dict[str, Any]) -> Cookie:
    kept: dict[str, Any] = {f: text(form, f)[:2000] for f in KEPT_FIELDS if text(form, f)}
    kept["needs"] = [n for n in _as_list(form.get("needs")) if n in NEEDS]
    value = base64.urlsafe_b64encode(json.dumps(kept, ensure_ascii=False).encode()).decode()
    if len(value) > _MAX_COOKIE:  # a long note does not fit: keep the rest
        kept.pop("notes", None)
        value = base64.urlsafe_b64encode(json.dumps(kept, ensure_ascii=False).encode()).decode()
    return Cookie(
        key=DETAILS_COOKIE,
        value=value,
        path=_book_path(point_id),
        max_age=KEEP_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def kept_details(request: Request) -> dict[str, Any]:
    """The details kept by `details_cookie`, or {} (a cookie that does not decode is ignored)."""
    value = request.cookies.get(DETAILS_COOKIE)
    if not value:
        return {}
    try:
        kept = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(kept, dict):
        return {}
    form: dict[str, Any] = {f: kept[f] for f in KEPT_FIELDS if isinstance(kept.get(f), str)}
    form["needs"] = [n for n in _as_list(kept.get("needs")) if n in NEEDS]
    return form


def forget_details(point_id: str) -> Cookie:
    return Cookie(key=DETAILS_COOKIE, value="", path=_book_path(point_id), max_age=0)


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
        # the e-mails' language, asked on the form (by default the page's): not the visit's
        "mail_language": text(form, "mail_language")
        if text(form, "mail_language") in LANGUAGES
        else None,
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
            "already_booked": False,
            "form": kept_details(request),
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
        if step == "details":  # "Choose another time" and the language switch keep the form
            context = context | {
                "keep_form": {"id": "details", "action": _book_path(context["point"].id) + "/keep"}
            }
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
        already_booked = False
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
                # Told they have a visit here already (e.g. back and the form sent again):
                # offer its link, by mail only (web/templates/book.html, `links` below).
                already_booked = error.code == PerPersonLimit.code
            else:
                if isinstance(answer, DrawEntry):  # a release's first minutes: the draw
                    return Redirect(
                        path=draw_path(answer.entry_id, answer.token or ""), status_code=303
                    )
                # POST-redirect-GET: the token goes to the next page in a cookie, not the URL.
                cookie = sent_cookie(
                    request, answer.reference, answer.manage_token, caller.settings
                )
                return Redirect(
                    path=f"/bookings/{answer.reference}/sent",
                    status_code=303,
                    cookies=[cookie, forget_details(point.id)],
                )
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
            "already_booked": already_booked,
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

    @post("/links")
    async def links(self, request: Request, caller: CallerDep, point_id: FromPath[str]) -> Any:
        """ "Send the link to my visit to this address", offered when the form was refused
        because this address has a visit here already: the same answer whatever is found."""
        form = await form_of(request)
        point = await store.get_point(await caller.uow.connection(), point_id)
        try:
            await visits.send_links_at_point(caller, point.id, text(form, "email"))
        except EmailInvalid:
            pass  # the form was refused for another reason first: nothing to send, same answer
        except DomainError as error:  # too many asks: the sentence says how long to wait
            lang = language_of(request)
            return page(
                request,
                "problem.html",
                lang=lang,
                status=status_of(error),
                message=explain(error, lang).message,
                headers=retry_headers(error),
            )
        return Redirect(
            path=_book_path(point.id) + "/links",
            status_code=303,
            cookies=[details_cookie(request, point.id, form)],
        )

    @get("/links")
    async def links_sent(self, request: Request, conn: Conn, point_id: FromPath[str]) -> Template:
        point = await store.get_point(conn, point_id)
        return page(request, "manage_link_sent.html", point=point)

    @post("/keep")
    async def keep(self, request: Request, conn: Conn, point_id: FromPath[str]) -> Redirect:
        """The details form's "Choose another time" and language buttons: keep what was typed
        (details_cookie), then go to the times of the day, or back to the form in the chosen
        language."""
        form = await form_of(request)
        point = await store.get_point(conn, point_id)
        service, language = text(form, "service"), text(form, "language")
        start = parse_instant(text(form, "start"))
        go = text(form, "go")
        if go in LANGUAGES:  # the e-mails follow the newly chosen page language unless changed
            form = {k: v for k, v in form.items() if k != "mail_language"}
        cookies = [details_cookie(request, point.id, form)]
        if start is None or not service or not language:
            return Redirect(path=step_link(point.id), status_code=303, cookies=cookies)
        day = start.astimezone(zoneinfo.ZoneInfo(point.timezone)).date().isoformat()
        if go in LANGUAGES:
            cookies.append(language_cookie(request, go))
            target = step_link(
                point.id,
                service=service,
                language=language,
                day=day,
                start=iso(start, point),
            )
        else:  # back to a step of the booking: the details come back with the next time
            back = {
                "service": step_link(point.id),
                "language": step_link(point.id, service=service),
                "day": step_link(point.id, service=service, language=language),
            }
            target = back.get(go) or step_link(
                point.id, service=service, language=language, day=day
            )
        return Redirect(path=target, status_code=303, cookies=cookies)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
