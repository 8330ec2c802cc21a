"""Staff pages: log in, the day sheet (check-in, no-show, complete), special days (hours and
desks: web/staff_rules_pages.py).

The session is the staff API's own (staff.sessions), carried in an HttpOnly SameSite=Strict
cookie; its CSRF token goes in a second cookie and into every form, and `current_staff` checks
it against the session on each POST. A special day (added, changed or deleted) is previewed
first (dry run: the visits it would leave outside the hours), then confirmed with a required
choice about those visits: keep them (flagged on the day sheet) or cancel them (each visitor
told and offered a held alternative).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, State
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.domain.lifecycle import Event, allowed_events
from booking.office import SheetVisit
from core.problems import DomainError, Unauthorized, status_of
from core.tokens import token_hash
from core.uow import Uow
from scheduling import store
from scheduling.model import Point
from staff import desk_api
from staff.accounts import MIN_PASSWORD, StaffMember, change_password, reset_password
from staff.auth import SESSION_COOKIE, require_admin, require_point, staff_of
from staff.errors import AffectedVisitsNeedAChoice
from staff.sessions import ABSOLUTE, log_in, log_out
from staff.week_api import week_of
from web.common import CallerDep, client_address, form_of, limit, parse_day, provide_caller, text
from web.errors import explain
from web.i18n import N_, gettext_for
from web.render import language_of, page
from web.security import STAFF_CSRF_COOKIE
from web.staff_domain import (
    SpecialDayIn,
    SpecialDayPatch,
    add_special_day,
    change_special_day,
    day_sheet,
    is_special_day,
    move,
    remove_special_day,
)

WALL_CLOCK = re.compile(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$")
ACTIONS = {
    "check-in": (Event.CHECK_IN, N_("Check in")),
    "no-show": (Event.NO_SHOW, N_("Did not come")),
    "complete": (Event.COMPLETE, N_("Done")),
}
DONE = {
    "check-in": N_("Checked in."),
    "no-show": N_("Marked as not come."),
    "complete": N_("Marked as done."),
    "added": N_("The special day is saved; visitors see it in the hours and when booking."),
    "cancel": N_("Cancelled; the visitor is told the reason."),
    "move": N_("Moved; the visitor is told the new time."),
    "password": N_("Your password is changed; your other sessions have ended."),
    "changed": N_("The special day is changed; visitors see it in the hours and when booking."),
    "deleted": N_("The special day is deleted; the usual hours apply again that day."),
    "cancelled": N_(
        "Saved. The visits it affects are cancelled; each visitor is told by e-mail and offered "
        "another time where one is free."
    ),
}


async def who(request: Request) -> StaffMember | None:
    """The logged-in staff member, or None (the page then asks to log in)."""
    try:
        return await staff_of(request, request.app.state.pool)
    except Unauthorized:
        return None


def _to_login() -> Redirect:
    return Redirect(path="/staff/login", status_code=303)


def _cookie(key: str, value: str, request: Request, max_age: int) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path="/",
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def _points_of(conn: asyncpg.Connection, staff: StaffMember) -> list[Point]:
    return [p for p in await store.list_points(conn) if staff.may_manage(p.id)]


def _staff_page(request: Request, staff: StaffMember, template: str, **context: Any) -> Template:
    return page(request, template, staff_nav={"email": staff.email}, **context)


class StaffPages(Controller):
    path = "/staff"
    include_in_schema = False

    # ------------------------------------------------------------------------ session

    @get("/login")
    async def login_page(self, request: Request) -> Any:
        if await who(request) is not None:
            return Redirect(path="/staff", status_code=303)
        return page(request, "staff/login.html", form={}, problem=None)

    @post("/login")
    async def login(self, request: Request, state: State) -> Any:
        form = await form_of(request)
        email, password = text(form, "email"), form.get("password", "")
        lang = language_of(request)
        try:
            if not email or not password:
                raise Unauthorized("The e-mail or password is wrong.")
            await limit(request, "login", email.lower())
            session = await log_in(state.pool, email, password, client_address(request))
        except DomainError as error:
            return page(
                request,
                "staff/login.html",
                lang=lang,
                status=status_of(error),
                form={"email": email},
                problem=explain(error, lang).message,
            )
        target = "/staff/password" if session.staff.must_change_password else "/staff"
        response = Redirect(path=target, status_code=303)
        seconds = int(ABSOLUTE.total_seconds())
        response.set_cookie(_cookie(SESSION_COOKIE, session.token, request, seconds))
        response.set_cookie(_cookie(STAFF_CSRF_COOKIE, session.csrf_token, request, seconds))
        return response

    @post("/logout")
    async def logout(self, request: Request, state: State) -> Redirect:
        staff = await who(request)
        token = request.cookies.get(SESSION_COOKIE)
        if staff is not None and token:
            await log_out(state.pool, token)
        response = Redirect(path="/staff/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(STAFF_CSRF_COOKIE, path="/")
        return response

    # ------------------------------------------------------------------------ password

    @get("/password")
    async def password_page(self, request: Request) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        return self._password(request, staff, {}, None)

    def _password(
        self,
        request: Request,
        staff: StaffMember,
        errors: dict[str, str],
        reset: tuple[str, str] | None,
        status: int = 200,
        reset_errors: dict[str, str] | None = None,
    ) -> Template:
        lang = language_of(request)
        done = DONE.get(request.query_params.get("done", ""))
        return _staff_page(
            request,
            staff,
            "staff/password.html",
            lang=lang,
            status=status,
            member=staff,
            errors=errors,
            reset=reset,
            reset_errors=reset_errors or {},
            done=done and gettext_for(lang)(done),
            minimum=MIN_PASSWORD,
        )

    @post("/password")
    async def change_password(self, request: Request, state: State) -> Any:
        staff = await staff_of(request, state.pool)
        form = await form_of(request)
        current, new = form.get("current_password", ""), form.get("new_password", "")
        lang = language_of(request)
        errors: dict[str, str] = {}
        if new != form.get("repeat_password", ""):
            errors["repeat_password"] = gettext_for(lang)(N_("The two new passwords differ."))
        else:
            try:
                async with state.pool.acquire() as conn:
                    token = request.cookies.get(SESSION_COOKIE, "")
                    await change_password(conn, staff.id, current, new, token_hash(token))
            except DomainError as error:
                problem = explain(error, lang)
                errors[problem.field or "form"] = problem.message
        if errors:
            return self._password(request, staff, errors, None, 422)
        return Redirect(path="/staff/password?done=password", status_code=303)

    @post("/password-resets")
    async def reset_password(self, request: Request, state: State) -> Any:
        staff = await staff_of(request, state.pool)
        require_admin(staff)
        form = await form_of(request)
        email = text(form, "email")
        try:
            async with state.pool.acquire() as conn:
                _, password = await reset_password(conn, email)
        except DomainError as error:
            problem = explain(error, language_of(request))
            errors = {"email": problem.message}
            return self._password(request, staff, {}, None, status_of(error), errors)
        return self._password(request, staff, {}, (email, password))

    # ------------------------------------------------------------------------ points

    @get("/")
    async def home(self, request: Request, state: State) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        async with state.pool.acquire() as conn:
            points = await _points_of(conn, staff)
        return _staff_page(request, staff, "staff/home.html", points=points)

    # ------------------------------------------------------------------------ day sheet

    @get("/points/{point_id:str}")
    async def day_sheet(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        return await self._sheet(request, state, staff, point_id, {})

    async def _sheet(
        self,
        request: Request,
        state: State,
        staff: StaffMember,
        point_id: str,
        problems: dict[str, str],
        day: dt.date | None = None,
        status: int = 200,
    ) -> Template:
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            zone = zoneinfo.ZoneInfo(point.timezone)
            today = dt.datetime.now(zone).date()
            day = day or parse_day(request.query_params.get("date")) or today
            visits = await day_sheet(conn, point, day)
        lang = language_of(request)
        done = DONE.get(request.query_params.get("done", ""))
        link = f"/staff/points/{point.id}?date="
        return _staff_page(
            request,
            staff,
            "staff/day.html",
            lang=lang,
            status=status,
            point=point,
            day=day,
            today=today,
            visits=visits,
            actions={v.reference: _actions(v, dt.datetime.now(dt.UTC)) for v in visits},
            changeable={v.reference for v in visits if _changeable(v, dt.datetime.now(dt.UTC))},
            action_names={k: label for k, (_, label) in ACTIONS.items()},
            problems=problems,
            done=done and gettext_for(lang)(done),
            previous=link + (day - dt.timedelta(days=1)).isoformat(),
            next=link + (day + dt.timedelta(days=1)).isoformat(),
        )

    @post(
        "/points/{point_id:str}/visits/{reference:str}/{action:str}",
        dependencies={"caller": Provide(provide_caller)},
    )
    async def visit_action(
        self,
        request: Request,
        state: State,
        uow: Uow,
        caller: CallerDep,
        point_id: FromPath[str],
        reference: FromPath[str],
        action: FromPath[str],
    ) -> Any:
        staff = await staff_of(request, state.pool)
        form = await form_of(request)
        day = parse_day(text(form, "date"))
        if action not in ACTIONS and action not in ("cancel", "move"):
            return Redirect(path=f"/staff/points/{point_id}", status_code=303)
        lang = language_of(request)
        try:
            if action == "cancel":
                reason = text(form, "reason")
                if not reason:
                    message = gettext_for(lang)(N_("Please give the reason the visitor is told."))
                    return await self._sheet(
                        request, state, staff, point_id, {reference: message}, day, 422
                    )
                await desk_api.cancel(uow, staff, reference, {lang: reason[:500]})
            elif action == "move":
                await desk_api.move(caller, staff, reference, text(form, "start"))
            else:
                await move(uow, staff, reference, ACTIONS[action][0])
        except DomainError as error:
            message = explain(error, language_of(request)).message
            return await self._sheet(
                request, state, staff, point_id, {reference: message}, day, status_of(error)
            )
        query = {"done": action} | ({"date": day.isoformat()} if day else {})
        target = f"/staff/points/{point_id}?{urlencode(query)}#visit-{reference}"
        return Redirect(path=target, status_code=303)

    # ------------------------------------------------------------------------ week

    @get("/points/{point_id:str}/week")
    async def week(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        lang = language_of(request)
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            services = await store.list_point_services(conn, point_id)
            chosen = request.query_params.get("service") or (services[0].id if services else "")
            offer = next((s for s in services if s.id == chosen), services[0] if services else None)
            languages = offer.languages if offer else []
            language = request.query_params.get("language", "")
            language = language if language in languages else (languages[0] if languages else "")
            day = parse_day(request.query_params.get("date"))
            week, problem, status = None, None, 200
            if offer is not None and language:
                try:
                    week = await week_of(conn, point_id, offer.id, language, day)
                except DomainError as error:
                    problem, status = explain(error, lang).message, status_of(error)
        times: list[str] = []
        cells: dict[tuple[str, dt.date], Any] = {}
        if week is not None:
            for d in week.days:
                for slot in d.slots:
                    time = slot.start.strftime("%H:%M")
                    cells[(time, d.date)] = slot
                    if time not in times:
                        times.append(time)
            times.sort()
        monday = week.first - dt.timedelta(days=week.first.weekday()) if week else None
        link = f"/staff/points/{point_id}/week?" + urlencode(
            {"service": offer.id if offer else "", "language": language}
        )
        return _staff_page(
            request,
            staff,
            "staff/week.html",
            lang=lang,
            status=status,
            point=point,
            services=services,
            offer=offer,
            language=language,
            week=week,
            times=times,
            cells=cells,
            desk_names={d.id: d.names for d in week.desks} if week else {},
            problem=problem,
            previous=monday and f"{link}&date={(monday - dt.timedelta(days=7)).isoformat()}",
            next=monday and f"{link}&date={(monday + dt.timedelta(days=7)).isoformat()}",
        )

    # ------------------------------------------------------------------------ special days

    @get("/points/{point_id:str}/special-days")
    async def special_days(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        return await self._special(request, state, staff, point_id, {}, {})

    async def _special(
        self,
        request: Request,
        state: State,
        staff: StaffMember,
        point_id: str,
        form: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
        editing: str | None = None,
    ) -> Template:
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            rules = await store.list_rules(conn, point_id)
        today = dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
        upcoming = sorted(
            (
                (day, rule)
                for rule in rules
                if rule.kind.value in ("special", "closed") and rule.desk_id is None
                for day in rule.dates
                if day >= today
            ),
            key=lambda pair: pair[0],
        )
        lang = language_of(request)
        done = DONE.get(request.query_params.get("done", ""))
        return _staff_page(
            request,
            staff,
            "staff/special_days.html",
            lang=lang,
            status=status,
            point=point,
            upcoming=upcoming,
            editable={r.id for r in rules if is_special_day(r)},
            form=form,
            errors=errors,
            today=today,
            editing=editing,
            action=f"/staff/points/{point_id}/special-days" + (f"/{editing}" if editing else ""),
            done=done and gettext_for(lang)(done),
        )

    @get("/points/{point_id:str}/special-days/{rule_id:str}")
    async def edit_special_day(
        self, request: Request, state: State, point_id: FromPath[str], rule_id: FromPath[str]
    ) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        async with state.pool.acquire() as conn:
            rule = next(
                (r for r in await store.list_rules(conn, point_id) if r.id == rule_id), None
            )
        if rule is None or not is_special_day(rule):
            return Redirect(path=f"/staff/points/{point_id}/special-days", status_code=303)
        form = {
            "date": rule.dates[0].isoformat(),
            "kind": "open" if rule.kind.value == "special" else "closed",
            "opens": rule.opens.strftime("%H:%M") if rule.opens else "",
            "closes": rule.closes.strftime("%H:%M") if rule.closes else "",
        } | {f"label_{code}": rule.labels.get(code, "") for code in ("pl", "en", "uk", "ru")}
        return await self._special(request, state, staff, point_id, form, {}, editing=rule_id)

    @post("/points/{point_id:str}/special-days")
    async def add_special_day(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        return await self._change_special(request, state, point_id, None, delete=False)

    @post("/points/{point_id:str}/special-days/{rule_id:str}")
    async def change_special_day(
        self, request: Request, state: State, point_id: FromPath[str], rule_id: FromPath[str]
    ) -> Any:
        return await self._change_special(request, state, point_id, rule_id, delete=False)

    @post("/points/{point_id:str}/special-days/{rule_id:str}/delete")
    async def delete_special_day(
        self, request: Request, state: State, point_id: FromPath[str], rule_id: FromPath[str]
    ) -> Any:
        return await self._change_special(request, state, point_id, rule_id, delete=True)

    async def _change_special(
        self,
        request: Request,
        state: State,
        point_id: str,
        rule_id: str | None,
        *,
        delete: bool,
    ) -> Any:
        """Add, change or delete a special day: first a preview of the visits it leaves
        outside the hours (a dry run), then, confirmed, the change with staff's choice about
        those visits (keep and flag them, or cancel them with an alternative offered)."""
        staff = await staff_of(request, state.pool)
        require_point(staff, point_id)
        form = await form_of(request)
        lang = language_of(request)
        _ = gettext_for(lang)
        errors = {} if delete else {f: _(m) for f, m in _special_errors(form).items()}
        if errors:
            return await self._special(
                request, state, staff, point_id, form, errors, 422, editing=rule_id
            )
        rule = None if delete else _special_day_of(form)
        confirmed = text(form, "confirm") == "yes"
        choice = {"cancel": True, "keep": False}.get(text(form, "affected"))

        async def run(dry_run: bool) -> Any:
            cancel = None if dry_run else choice
            if delete:
                return await remove_special_day(
                    state, staff, point_id, rule_id, dry_run=dry_run, cancel_affected=cancel
                )
            if rule_id is None:
                return await add_special_day(
                    state, staff, point_id, rule, dry_run=dry_run, cancel_affected=cancel
                )
            patch = SpecialDayPatch(**msgspec.structs.asdict(rule))
            return await change_special_day(
                state, staff, point_id, rule_id, patch, dry_run=dry_run, cancel_affected=cancel
            )

        problem = None
        try:
            outcome = await run(dry_run=not confirmed)
        except AffectedVisitsNeedAChoice as error:
            problem = explain(error, lang).message
            outcome = await run(dry_run=True)
        except DomainError as error:
            found = explain(error, lang)
            errors = {found.field or "form": found.message}
            if delete:
                return await self._special(request, state, staff, point_id, {}, errors, 409)
            return await self._special(
                request, state, staff, point_id, form, errors, status_of(error), editing=rule_id
            )
        if confirmed and problem is None:
            done = "deleted" if delete else "changed" if rule_id else "added"
            if outcome.cancelled:
                done = "cancelled"
            return Redirect(
                path=f"/staff/points/{point_id}/special-days?done={done}", status_code=303
            )
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            before = None
            if rule_id is not None:
                before = next(
                    (r for r in await store.list_rules(conn, point_id) if r.id == rule_id), None
                )
        base = f"/staff/points/{point_id}/special-days"
        action = base if rule_id is None else f"{base}/{rule_id}" + ("/delete" if delete else "")
        return _staff_page(
            request,
            staff,
            "staff/special_preview.html",
            lang=lang,
            status=409 if problem else 200,
            point=point,
            rule=rule,
            before=before,
            delete=delete,
            form=form,
            action=action,
            problem=problem,
            affected=outcome.affected_visits,
        )


def _actions(visit: SheetVisit, now: dt.datetime) -> list[str]:
    """The moves the visit's status allows; "did not come" only once it has started (the
    office refuses it earlier: booking/office.py)."""
    allowed = allowed_events(visit.status)
    if visit.start > now:
        allowed = allowed - {Event.NO_SHOW}
    return [name for name, (event, _) in ACTIONS.items() if event in allowed]


def _changeable(visit: SheetVisit, now: dt.datetime) -> bool:
    """Whether the office may still cancel or move the visit (held or confirmed, ahead)."""
    allowed = allowed_events(visit.status)
    return visit.start > now and {Event.CANCEL, Event.RESCHEDULE} <= allowed


def _special_day_of(form: dict[str, Any]) -> SpecialDayIn:
    """The special day a valid form describes (see `_special_errors`)."""
    kind = text(form, "kind")
    labels = {code: text(form, f"label_{code}") for code in ("pl", "en", "uk", "ru")}
    return SpecialDayIn(
        date=dt.date.fromisoformat(text(form, "date")),
        kind="open" if kind == "open" else "closed",
        opens=text(form, "opens") if kind == "open" else None,
        closes=text(form, "closes") if kind == "open" else None,
        label={code: value for code, value in labels.items() if value},
    )


def _special_errors(form: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if parse_day(text(form, "date")) is None:
        errors["date"] = N_("Please give the date, for example 2025-06-14.")
    kind = text(form, "kind")
    if kind not in ("open", "closed"):
        errors["kind"] = N_("Please choose whether the point opens or closes that day.")
    if kind == "open":
        opens, closes = text(form, "opens"), text(form, "closes")
        if not WALL_CLOCK.match(opens):
            errors["opens"] = N_("Please give the opening time as HH:MM, for example 09:00.")
        if not WALL_CLOCK.match(closes):
            errors["closes"] = N_("Please give the closing time as HH:MM, for example 14:00.")
        elif WALL_CLOCK.match(opens) and closes <= opens:
            errors["closes"] = N_("The closing time must be after the opening time.")
    return errors
