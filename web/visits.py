"""A booked visit's pages: "check your e-mail", confirmation, manage, move, cancel, calendar.

The manage token reaches the visitor once, on the "check your e-mail" page, as a private link
`/bookings/{reference}/manage?token=…` (a query, not a #fragment, so no script is needed to read
it); the page's own address carries no token (the booking form hands it over in a short-lived
cookie, web/booking_flow.py `sent_cookie`), and a reload shows the visit without the link again.
Every page here sends Referrer-Policy: no-referrer, so the link never leaks to another site.
The e-mail's confirmation link only shows a button: confirming is a POST, because mail
scanners follow links.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking import links, visits
from booking import store as booking_store
from booking.caller import Caller
from booking.checks import parse_start
from booking.domain.errors import PhoneInvalid
from booking.schemas import ContactIn, Visit
from booking.secrets import token_matches
from core.problems import DomainError, NotFound, status_of
from notifications import outbox
from notifications.invitation import VisitSnapshot, build_visit_ics
from scheduling import contacts, store
from scheduling.model import Point, PointService
from scheduling.offers import visit_offer
from web.booking_flow import notify_by_of, read_sent_cookie, sent_cookie, step_link
from web.common import (
    CallerDep,
    day_slots,
    form_of,
    free_days,
    iso,
    parse_day,
    provide_caller,
    text,
    why_no_times,
)
from web.errors import explain, retry_headers
from web.i18n import written
from web.kiosk import kiosk_code
from web.manage_link import link_page_path
from web.points import address_line, map_link
from web.render import language_of, page

CHANGEABLE = ("held", "confirmed")


def _zone(point: Point) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(point.timezone)


def _target(value: str | None, point: Point) -> dt.datetime | None:
    """The new time a visitor picked on the move page (asked to confirm before moving)."""
    if not value:
        return None
    try:
        return parse_start(value, point.timezone)
    except DomainError:
        return None


DAYS_PER_PAGE = 21


def _own_confirm_link(row: asyncpg.Record, token: str) -> bool:
    """The token is this visit's confirmation link, clicked or not yet (booking/visits.py
    keeps a clicked one as a marker)."""
    return token_matches(token, row["confirm_token_hash"]) or token_matches(
        "confirmed:" + token, row["confirm_token_hash"]
    )


def manage_path(reference: str, token: str, **extra: str) -> str:
    return f"/bookings/{reference}/manage?" + urlencode({"token": token, **extra})


async def _place(conn: asyncpg.Connection, visit: Visit) -> tuple[Point, PointService | None]:
    point = await store.get_point(conn, visit.point_id)
    try:
        offer = await store.get_point_service(conn, point.id, visit.service_id)
    except NotFound:  # the service was withdrawn since; the visit still stands
        offer = None
    return point, offer


def _visit_context(visit: Visit, point: Point, offer: PointService | None) -> dict[str, Any]:
    return {
        "visit": visit,
        "point": point,
        "offer": offer,
        "address": address_line(point),
        "map": map_link(point),
    }


def page_language(request: Request, visit: Visit) -> str:
    """The language of a page about a visit: after what the visitor's browser asks for
    (`language_of`), the one its mails are in (chosen at booking or on the manage page), else
    the visit's own; so a link from a mail opens a page in the mail's language."""
    return language_of(request, visit.mail_language or written(visit.language))


async def visit_page(
    request: Request, caller: Caller, visit: Visit, template: str, token: str | None, **extra: Any
) -> Template:
    """A page about one visit, opened with its manage token: the visit, its place, the way
    back to the manage page, in `page_language`."""
    point, offer = await _place(await caller.uow.connection(), visit)
    return page(
        request,
        template,
        lang=page_language(request, visit),
        token=token,
        manage=manage_path(visit.reference, token or ""),
        **_visit_context(visit, point, offer),
        **extra,
    )


def refused(request: Request, error: DomainError, *, hint: str | None = None) -> Template:
    """A refusal as a page: the problem's sentence in the visitor's language, its status."""
    lang = language_of(request, hint)
    problem = explain(error, lang)
    return page(
        request,
        "problem.html",
        lang=lang,
        status=status_of(error),
        message=problem.message,
        headers=retry_headers(error),
    )


def _missing(request: Request, reference: str) -> Template:
    """The visit's page without a token: how to get the link (web/manage_link.py)."""
    return page(
        request, "manage_missing.html", reference=reference, link_again=link_page_path(reference)
    )


class VisitPages(Controller):
    """Every handler uses the request's one connection (caller.uow): none takes a second."""

    path = "/bookings/{reference:str}"
    include_in_schema = False
    dependencies = {"caller": Provide(provide_caller)}

    @get("/")
    async def reference_only(self, request: Request, reference: FromPath[str]) -> Any:
        """The e-mails link here (they never carry the manage token)."""
        token = request.query_params.get("token")
        if token:
            return Redirect(path=manage_path(reference, token), status_code=303)
        return _missing(request, reference)

    @get("/sent")
    async def sent(self, request: Request, caller: CallerDep, reference: FromPath[str]) -> Any:
        """ "Check your e-mail": the visit, with its private link the first time (the booking
        form's redirect carries the token in a short-lived cookie, never in the URL)."""
        token, shown = read_sent_cookie(request, reference)
        if not token:
            return page(request, "sent.html", visit=None, link_again=link_page_path(reference))
        try:
            visit = await visits.get(caller, reference, token)
        except DomainError as error:
            return refused(request, error)
        conn = await caller.uow.connection()
        point, offer = await _place(conn, visit)
        response = page(
            request,
            "sent.html",
            mail_failed=await outbox.delivery_failed(conn, reference),
            private_link=None
            if shown
            else caller.settings.public_url + manage_path(reference, token),
            manage=None if shown else manage_path(reference, token),
            link_again=link_page_path(reference),
            hold_minutes=caller.settings.hold_minutes,
            **_visit_context(visit, point, offer),
        )
        if not shown:  # a reload still shows the visit and its mail, not the link again
            response.cookies.append(
                sent_cookie(request, reference, token, caller.settings, shown=True)
            )
        return response

    @get("/confirm")
    async def confirm_page(
        self, request: Request, caller: CallerDep, reference: FromPath[str]
    ) -> Template:
        token = request.query_params.get("token", "")
        conn = await caller.uow.connection()
        row = await booking_store.by_reference(conn, reference)
        context: dict[str, Any] = {"reference": reference, "token": token, "visit": None}
        hint = None
        if row is not None and token and _own_confirm_link(row, token):
            hint = written(row["language"])
            visit = booking_store.visit_of(row)
            point, offer = await _place(conn, visit)
            history = await booking_store.history_of(conn, row["id"])
            context |= _visit_context(visit, point, offer) | {
                "cancelled_by": history and history["cancelled_by"],
                "replaces": history and history["replaces"],
                "again": step_link(point.id),
            }
        return page(request, "confirm.html", lang=language_of(request, hint), **context)

    @post("/confirm")
    async def confirm(self, request: Request, caller: CallerDep, reference: FromPath[str]) -> Any:
        form = await form_of(request)
        token = text(form, "token")
        try:
            visit = await visits.confirm(caller, reference, token)
        except DomainError as error:
            lang = language_of(request)
            return page(
                request,
                "confirm.html",
                lang=lang,
                status=status_of(error),
                reference=reference,
                token=token,
                visit=None,
                problem=explain(error, lang).message,
            )
        point, offer = await _place(await caller.uow.connection(), visit)
        return page(
            request,
            "confirmed.html",
            lang=page_language(request, visit),
            **_visit_context(visit, point, offer),
        )

    @get("/manage")
    async def manage(
        self, request: Request, caller: CallerDep, reference: FromPath[str]
    ) -> Template:
        token = request.query_params.get("token")
        if not token:
            return _missing(request, reference)
        return await self._manage(request, caller, reference, token)

    async def _manage(
        self,
        request: Request,
        caller: Any,
        reference: str,
        token: str,
        *,
        contact_errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        try:
            visit = await visits.get(caller, reference, token)
        except DomainError as error:
            return refused(request, error)
        point, offer = await _place(await caller.uow.connection(), visit)
        now = dt.datetime.now(dt.UTC)
        changeable = visit.status in CHANGEABLE and visit.start > now
        mail_failed = await outbox.delivery_failed(await caller.uow.connection(), reference)
        return page(
            request,
            "manage.html",
            mail_failed=mail_failed,
            qr=kiosk_code(
                visit.reference,
                page_language(request, visit),
            ),
            lang=page_language(request, visit),
            token=token,
            done=request.query_params.get("done"),
            changeable=changeable,
            status=status,
            contact={
                "action": f"/bookings/{reference}/contact",
                "chosen": "both" if len(visit.notify_by) == 2 else visit.notify_by[0],
                "errors": contact_errors or {},
            },
            links={
                "calendar": f"/bookings/{reference}/calendar.ics?" + urlencode({"token": token}),
                "move": f"/bookings/{reference}/move?" + urlencode({"token": token}),
                "cancel": f"/bookings/{reference}/cancel?" + urlencode({"token": token}),
                "again": step_link(point.id),
            },
            **_visit_context(visit, point, offer),
        )

    @get("/calendar.ics")
    async def calendar(
        self, request: Request, caller: CallerDep, reference: FromPath[str]
    ) -> Response[bytes] | Template:
        token = request.query_params.get("token")
        try:
            visit = await visits.get(caller, reference, token)
        except DomainError as error:
            return refused(request, error)
        conn = await caller.uow.connection()
        point, offer = await _place(conn, visit)
        booking_id = await conn.fetchval(
            "select id from bookings where reference = $1", visit.reference
        )  # the invitation's UID (notifications/invitation.py)
        mail_token = links.mail_token(await links.link_key(conn), booking_id)
        snapshot = VisitSnapshot(
            reference=visit.reference,
            uid=f"{booking_id}@wizyta",
            sequence=visit.sequence,
            status=visit.status,
            start=visit.start,
            end=visit.end,
            timezone=visit.timezone,
            language=visit.language,
            mail_language=visit.mail_language,
            visitor_name=visit.visitor.name or "",
            visitor_email=visit.visitor.email or "",
            point_name=point.names,
            point_address=address_line(point),
            point_email=contacts.emails(point.emails)[0],
            service_name=offer.names if offer else {"en": visit.service_id},
            what_to_bring=offer.what_to_bring if offer else None,
            manage_url=links.manage_url(caller.settings.public_url, visit.reference, mail_token),
            channel=visit.channel,
            visitor_phone=visit.visitor.phone,
            video_url=visit.video_url,
            party_size=visit.party_size,
        )
        body = build_visit_ics(snapshot, dt.datetime.now(dt.UTC))
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{visit.reference}.ics"',
                "Cache-Control": "no-store",
            },
        )

    @post("/contact")
    async def contact(self, request: Request, caller: CallerDep, reference: FromPath[str]) -> Any:
        """How the visitor is told from now on: e-mail, SMS or both, and the phone for SMS."""
        form = await form_of(request)
        token = text(form, "token")
        try:
            data = msgspec.convert(
                {"notify_by": notify_by_of(form), "phone": text(form, "phone") or None},
                ContactIn,
            )
            await visits.set_contact(caller, reference, token, data)
        except (DomainError, msgspec.ValidationError) as error:
            if isinstance(error, DomainError) and error.field != "visitor.phone":
                return refused(request, error)
            lang = language_of(request)
            message = (
                explain(error, lang).message
                if isinstance(error, DomainError)
                else explain(PhoneInvalid(reason=str(error)), lang).message
            )
            return await self._manage(
                request, caller, reference, token, contact_errors={"phone": message}, status=422
            )
        return Redirect(path=manage_path(reference, token, done="contact"), status_code=303)

    # ------------------------------------------------------------------------ move

    @get("/move")
    async def move_page(
        self, request: Request, caller: CallerDep, reference: FromPath[str]
    ) -> Template:
        token = request.query_params.get("token")
        try:
            visit = await visits.get(caller, reference, token)
        except DomainError as error:
            return refused(request, error)
        return await self._move(request, await caller.uow.connection(), visit, token or "", None)

    async def _move(
        self,
        request: Request,
        conn: asyncpg.Connection,
        visit: Visit,
        token: str,
        problem: str | None,
        status: int = 200,
    ) -> Template:
        point, offer = await _place(conn, visit)
        lang = page_language(request, visit)
        base = f"/bookings/{visit.reference}/move?"
        context: dict[str, Any] = {
            "token": token,
            "problem": problem,
            "manage": manage_path(visit.reference, token),
            "day": None,
            "days": [],
            "slots": [],
            "later": None,
            "target": None,
            "movable": visit.status in CHANGEABLE and visit.start > dt.datetime.now(dt.UTC),
            "again": step_link(point.id),
            **_visit_context(visit, point, offer),
        }
        day = parse_day(request.query_params.get("day"))
        shape = {"channel": visit.channel, "services": [visit.service_id, *visit.extra_services]}
        if offer is not None:
            try:  # the visit keeps its channel, party and matters when it moves
                offers = [offer] + [
                    await store.get_point_service(conn, point.id, extra)
                    for extra in visit.extra_services
                ]
                offer = visit_offer(point, offers, visit.channel, visit.party_size)
            except DomainError:
                offer = None  # no longer offered so: the page says so, nothing to choose
        target = _target(request.query_params.get("start"), point) if problem is None else None
        if offer is None or not context["movable"]:
            pass  # withdrawn service, or a visit cancelled or over: the page says so, no times
        elif target is not None and target != visit.start:
            target_day = target.astimezone(_zone(point)).date()
            context |= {
                "target": target,
                "target_end": target + (visit.end - visit.start),
                "start": request.query_params.get("start"),
                "times_link": base + urlencode({"token": token, "day": target_day.isoformat()}),
            }
        elif day is None:
            first = parse_day(request.query_params.get("from")) or dt.date.min
            days, later = await free_days(
                conn, point, offer, visit.language, first, DAYS_PER_PAGE, **shape
            )
            context |= {
                "days": days,
                "later": later and base + urlencode({"token": token, "from": later.isoformat()}),
                "day_link": lambda d: base + urlencode({"token": token, "day": d.isoformat()}),
            }
        else:
            slots = (await day_slots(conn, point, offer, visit.language, day, **shape)).slots
            context |= {
                "day": day,
                "slots": slots,
                "no_times": None
                if slots
                else await why_no_times(conn, point, offer, day, visit.channel),
                "days_link": base + urlencode({"token": token}),
                "iso": lambda slot: iso(slot.start, point),
            }
        return page(request, "move.html", lang=lang, status=status, **context)

    @post("/move")
    async def move(self, request: Request, caller: CallerDep, reference: FromPath[str]) -> Any:
        form = await form_of(request)
        token = text(form, "token")
        try:
            await visits.move(caller, reference, token, text(form, "start"))
        except DomainError as error:
            try:
                visit = await visits.get(caller, reference, token)
            except DomainError:
                return refused(request, error)
            message = explain(error, page_language(request, visit)).message
            conn = await caller.uow.connection()
            return await self._move(request, conn, visit, token, message, status_of(error))
        return Redirect(path=manage_path(reference, token, done="moved"), status_code=303)

    # ------------------------------------------------------------------------ release

    @get("/release")
    async def release_page(
        self, request: Request, caller: CallerDep, reference: FromPath[str]
    ) -> Template:
        """The office's cancellation mail links here to give back a held alternative; the
        page only shows a button (mail scanners follow links)."""
        token = request.query_params.get("token")
        try:
            visit = await visits.get(caller, reference, token)
        except DomainError as error:
            return refused(request, error)
        return await self._release(request, caller, visit, token or "", released=False)

    async def _release(
        self, request: Request, caller: Caller, visit: Visit, token: str, *, released: bool
    ) -> Template:
        return await visit_page(
            request,
            caller,
            visit,
            "release.html",
            token,
            released=released,
            again=step_link(visit.point_id),
        )

    @post("/release")
    async def release(self, request: Request, caller: CallerDep, reference: FromPath[str]) -> Any:
        form = await form_of(request)
        token = text(form, "token")
        try:
            visit = await visits.get(caller, reference, token)
            if visit.status != "held":  # accepted, or gone already: the page says which
                return await self._release(request, caller, visit, token, released=False)
            visit = await visits.cancel(caller, reference, token)
        except DomainError as error:
            return refused(request, error)
        return await self._release(request, caller, visit, token, released=True)

    # ------------------------------------------------------------------------ cancel

    @get("/cancel")
    async def cancel_page(
        self, request: Request, caller: CallerDep, reference: FromPath[str]
    ) -> Template:
        token = request.query_params.get("token")
        try:
            visit = await visits.get(caller, reference, token)
        except DomainError as error:
            return refused(request, error)
        return await visit_page(request, caller, visit, "cancel.html", token, problem=None)

    @post("/cancel")
    async def cancel(self, request: Request, caller: CallerDep, reference: FromPath[str]) -> Any:
        form = await form_of(request)
        token = text(form, "token")
        try:
            await visits.cancel(caller, reference, token)
        except DomainError as error:
            try:
                visit = await visits.get(caller, reference, token)
            except DomainError:
                return refused(request, error)
            return await visit_page(
                request,
                caller,
                visit,
                "cancel.html",
                token,
                status=status_of(error),
                problem=explain(error, page_language(request, visit)).message,
            )
        return Redirect(path=manage_path(reference, token, done="cancelled"), status_code=303)
