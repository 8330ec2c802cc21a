"""Staff's "Hours and desks" tab: a point's weekly hours and its desks, kept from the page.

The page runs what the API runs (staff/rules_api.py for rules, staff/desks_api.py for desks):
the same validation, the same audit line and the same required choice about the visits a
change newly leaves without a place (staff/changes.py). A change goes through at once when it
hits no visit; when it does, the page shows those visits (a dry run, nothing written) and asks
what becomes of them, keep or cancel, with no default, before anything is saved. The form is
checked first for what a person gets wrong (no weekday, closing before opening) and each
mistake said as a sentence next to its field; whatever the API refuses beyond that is said by
its code (web/errors.py).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core.problems import DomainError, status_of
from scheduling import store
from scheduling.model import Point
from scheduling.rules import CalendarRule, RuleKind
from staff import desks_api, rules_api
from staff.accounts import StaffMember
from staff.auth import require_point, staff_of
from staff.changes import ChangeOutcome
from staff.errors import AffectedVisitsNeedAChoice
from web.common import form_of, parse_day, text
from web.errors import explain
from web.i18n import N_, gettext_for
from web.render import language_of
from web.staff_pages import _staff_page, _to_login, who

WALL_CLOCK = re.compile(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$")
#: RFC 5545 §3.3.10 weekday codes, Monday = 0.
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
A_MONDAY = dt.date(2024, 1, 1)
CHANNELS = ("on_site", "phone", "video")
NAME_LANGUAGES = ("pl", "en", "uk", "ru")
DESK_LANGUAGES = ("pl", "en", "uk", "ru", "pjm", "ukl", "rsl")
#: Form fields that are the page's own, never passed on from a preview.
OWN_FIELDS = frozenset({"csrf_token", "confirm", "affected"})
DONE = {
    "rule-added": N_(
        "The weekly hours are saved; visitors see them in the hours and when booking."
    ),
    "rule-changed": N_(
        "The weekly hours are changed; visitors see them in the hours and when booking."
    ),
    "rule-ended": N_("The weekly hours now end on the day given."),
    "rule-deleted": N_("The weekly hours are deleted."),
    "desk-added": N_("The desk is added; its free times can be booked now."),
    "desk-changed": N_("The desk is saved."),
    "cancelled": N_(
        "Saved. The visits it affects are cancelled; each visitor is told by e-mail and offered "
        "another time where one is free."
    ),
}


ENDS_BEFORE_IT_STARTS = N_(
    "These hours would end before they first apply. To remove them, delete them instead."
)
RULE_DONE = {
    "add": "rule-added",
    "change": "rule-changed",
    "end": "rule-ended",
    "delete": "rule-deleted",
}


def weekdays_of(rrule: str | None) -> list[int] | None:
    """The weekdays of a plain weekly RRULE (FREQ=WEEKLY;BYDAY=…, Monday = 0), or None for any
    other recurrence, which the page shows as written and leaves to the API."""
    if not rrule:
        return None
    try:
        parts = dict(part.split("=", 1) for part in rrule.upper().split(";") if part)
    except ValueError:
        return None
    if parts.get("FREQ") != "WEEKLY" or not set(parts) <= {"FREQ", "BYDAY", "WKST"}:
        return None
    days = parts.get("BYDAY", "").split(",")
    if not all(day in WEEKDAYS for day in days):
        return None
    return sorted({WEEKDAYS.index(day) for day in days})


def is_weekly_hours(rule: CalendarRule) -> bool:
    """A rule the page edits: weekly hours on plain weekdays, without extra dates."""
    return rule.kind == RuleKind.HOURS and not rule.dates and weekdays_of(rule.rrule) is not None


def _chosen(form: dict[str, Any], name: str) -> list[str]:
    value = form.get(name, [])
    return [value] if isinstance(value, str) else list(value)


def _date_or_none(form: dict[str, Any], name: str) -> dt.date | None:
    return parse_day(text(form, name))


def _rule_errors(form: dict[str, Any], desk_ids: set[str]) -> dict[str, str]:
    """What is wrong with a weekly-hours form, as untranslated sentences by field."""
    errors: dict[str, str] = {}
    if not [d for d in _chosen(form, "weekdays") if d in WEEKDAYS]:
        errors["weekdays"] = N_("Please choose at least one weekday.")
    opens, closes = text(form, "opens"), text(form, "closes")
    if not WALL_CLOCK.match(opens):
        errors["opens"] = N_("Please give the opening time as HH:MM, for example 09:00.")
    if not WALL_CLOCK.match(closes):
        errors["closes"] = N_("Please give the closing time as HH:MM, for example 14:00.")
    elif WALL_CLOCK.match(opens) and closes <= opens:
        errors["closes"] = N_("The closing time must be after the opening time.")
    first, last = _date_or_none(form, "valid_from"), _date_or_none(form, "valid_until")
    if text(form, "valid_from") and first is None:
        errors["valid_from"] = N_("Please give the date, for example 2025-06-14.")
    if text(form, "valid_until") and last is None:
        errors["valid_until"] = N_("Please give the date, for example 2025-06-14.")
    elif first and last and last < first:
        errors["valid_until"] = N_("The last day must not be before the first day.")
    if text(form, "rule_desk") and text(form, "rule_desk") not in desk_ids:
        errors["rule_desk"] = N_("Please choose the whole point or one of its desks.")
    if text(form, "channel") not in CHANNELS:
        errors["channel"] = N_("Please choose whose hours these are.")
    return errors


def _rule_of(form: dict[str, Any]) -> rules_api.RuleIn:
    """The weekly rule a valid form describes (see `_rule_errors`), converted as the API's
    body is (msgspec.convert: the same limits)."""
    days = [d for d in WEEKDAYS if d in _chosen(form, "weekdays")]
    first, last = _date_or_none(form, "valid_from"), _date_or_none(form, "valid_until")
    return msgspec.convert(
        {
            "kind": "hours",
            "rrule": "FREQ=WEEKLY;BYDAY=" + ",".join(days),
            "opens": text(form, "opens"),
            "closes": text(form, "closes"),
            "valid_from": first and first.isoformat(),
            "valid_until": last and last.isoformat(),
            "desk_id": text(form, "rule_desk") or None,
            "channel": text(form, "channel"),
        },
        rules_api.RuleIn,
    )


def _rule_form(rule: CalendarRule) -> dict[str, Any]:
    return {
        "weekdays": [WEEKDAYS[d] for d in weekdays_of(rule.rrule) or []],
        "opens": rules_api.wall(rule.opens) or "",
        "closes": rules_api.wall(rule.closes) or "",
        "valid_from": rule.valid_from.isoformat() if rule.valid_from else "",
        "valid_until": rule.valid_until.isoformat() if rule.valid_until else "",
        "rule_desk": rule.desk_id or "",
        "channel": rule.channel,
    }


def _desk_errors(form: dict[str, Any], *, new: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    for code in NAME_LANGUAGES:
        if not text(form, f"desk_name_{code}"):
            errors[f"desk_name_{code}"] = N_("Please give the desk's name in this language.")
        elif len(text(form, f"desk_name_{code}")) > 300:
            errors[f"desk_name_{code}"] = N_("Please shorten the name to 300 characters.")
    if not [c for c in _chosen(form, "desk_languages") if c in DESK_LANGUAGES]:
        errors["desk_languages"] = N_("Please choose at least one language the desk serves.")
    if len(text(form, "desk_room")) > 60:
        errors["desk_room"] = N_("Please shorten the room to 60 characters.")
    if text(form, "desk_step_free") not in ("yes", "no", "unknown"):
        errors["desk_step_free"] = N_("Please say whether the desk is reachable without stairs.")
    if not new and text(form, "desk_active") not in ("yes", "no"):
        errors["desk_active"] = N_("Please say whether the desk is working or retired.")
    return errors


def _desk_fields(form: dict[str, Any], *, new: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "names": {code: text(form, f"desk_name_{code}") for code in NAME_LANGUAGES},
        "languages": [c for c in DESK_LANGUAGES if c in _chosen(form, "desk_languages")],
        "step_free": {"yes": True, "no": False}.get(text(form, "desk_step_free")),
        "room": text(form, "desk_room") or None,
    }
    if not new:
        fields["active"] = text(form, "desk_active") == "yes"
    return fields


def _desk_form(desk: desks_api.Desk) -> dict[str, Any]:
    return {f"desk_name_{code}": desk.names.get(code, "") for code in NAME_LANGUAGES} | {
        "desk_languages": list(desk.languages),
        "desk_room": desk.room or "",
        "desk_step_free": "unknown"
        if desk.step_free is None
        else "yes"
        if desk.step_free
        else "no",
        "desk_active": "yes" if desk.active else "no",
    }


def _passed_on(form: dict[str, Any]) -> list[tuple[str, str]]:
    """The form's own fields as hidden inputs of the preview, repeated ones once per value."""
    return [
        (name, value)
        for name, values in form.items()
        if name not in OWN_FIELDS
        for value in ([values] if isinstance(values, str) else values)
    ]


class StaffRulesPages(Controller):
    path = "/staff/points/{point_id:str}"
    include_in_schema = False

    # ------------------------------------------------------------------------ the tab

    @get("/rules")
    async def rules(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        return await self._page(request, state, staff, point_id)

    @get("/rules/{rule_id:str}")
    async def edit_rule(
        self, request: Request, state: State, point_id: FromPath[str], rule_id: FromPath[str]
    ) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        async with state.pool.acquire() as conn:
            rules = await store.list_rules(conn, point_id, channel=None)
        rule = next((r for r in rules if r.id == rule_id), None)
        if rule is None or not is_weekly_hours(rule):
            return Redirect(path=f"/staff/points/{point_id}/rules", status_code=303)
        return await self._page(
            request, state, staff, point_id, rule_form=_rule_form(rule), editing=rule_id
        )

    @get("/desks/{desk_id:str}")
    async def edit_desk(
        self, request: Request, state: State, point_id: FromPath[str], desk_id: FromPath[str]
    ) -> Any:
        staff = await who(request)
        if staff is None:
            return _to_login()
        require_point(staff, point_id)
        async with state.pool.acquire() as conn:
            desk = next(
                (d for d in await desks_api.list_desks(conn, point_id) if d.id == desk_id), None
            )
        if desk is None:
            return Redirect(path=f"/staff/points/{point_id}/rules", status_code=303)
        return await self._page(
            request, state, staff, point_id, desk_form=_desk_form(desk), editing_desk=desk_id
        )

    async def _page(
        self,
        request: Request,
        state: State,
        staff: StaffMember,
        point_id: str,
        *,
        rule_form: dict[str, Any] | None = None,
        rule_errors: dict[str, str] | None = None,
        editing: str | None = None,
        desk_form: dict[str, Any] | None = None,
        desk_errors: dict[str, str] | None = None,
        editing_desk: str | None = None,
        status: int = 200,
    ) -> Template:
        async with state.pool.acquire() as conn:
            point = await store.get_point(conn, point_id)
            rules = await store.list_rules(conn, point_id, channel=None)
            desks = await desks_api.list_desks(conn, point_id)
        today = dt.datetime.now(zoneinfo.ZoneInfo(point.timezone)).date()
        current = [r for r in rules if r.valid_until is None or r.valid_until >= today]
        lang = language_of(request)
        done = DONE.get(request.query_params.get("done", ""))
        return _staff_page(
            request,
            staff,
            "staff/rules.html",
            lang=lang,
            status=status,
            point=point,
            rules=current,
            past=len(rules) - len(current),
            editable={r.id for r in current if is_weekly_hours(r)},
            desks=desks,
            desk_names={d.id: d.names for d in desks},
            weekdays=lambda rrule: weekdays_of(rrule) or [],
            monday=lambda n: A_MONDAY + dt.timedelta(days=n),
            codes=WEEKDAYS,
            channels=CHANNELS,
            desk_languages=DESK_LANGUAGES,
            today=today,
            rule_form=rule_form
            if rule_form is not None
            else {"weekdays": [], "valid_from": today.isoformat(), "channel": "on_site"},
            rule_errors=rule_errors or {},
            editing=editing,
            desk_form=desk_form if desk_form is not None else {"desk_step_free": "unknown"},
            desk_errors=desk_errors or {},
            editing_desk=editing_desk,
            done=done and gettext_for(lang)(done),
        )

    # ------------------------------------------------------------------------ weekly hours

    @post("/rules")
    async def add_rule(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        return await self._change_rule(request, state, point_id, None, "add")

    @post("/rules/{rule_id:str}")
    async def change_rule(
        self, request: Request, state: State, point_id: FromPath[str], rule_id: FromPath[str]
    ) -> Any:
        return await self._change_rule(request, state, point_id, rule_id, "change")

    @post("/rules/{rule_id:str}/end")
    async def end_rule(
        self, request: Request, state: State, point_id: FromPath[str], rule_id: FromPath[str]
    ) -> Any:
        return await self._change_rule(request, state, point_id, rule_id, "end")

    @post("/rules/{rule_id:str}/delete")
    async def delete_rule(
        self, request: Request, state: State, point_id: FromPath[str], rule_id: FromPath[str]
    ) -> Any:
        return await self._change_rule(request, state, point_id, rule_id, "delete")

    async def _change_rule(
        self, request: Request, state: State, point_id: str, rule_id: str | None, what: str
    ) -> Any:
        staff = await staff_of(request, state.pool)
        require_point(staff, point_id)
        form = await form_of(request)
        _ = gettext_for(language_of(request))
        async with state.pool.acquire() as conn:
            rules = await store.list_rules(conn, point_id, channel=None)
            desks = await desks_api.list_desks(conn, point_id)
        rule = next((r for r in rules if r.id == rule_id), None)
        if rule_id is not None and (rule is None or not is_weekly_hours(rule)):
            return Redirect(path=f"/staff/points/{point_id}/rules", status_code=303)

        errors: dict[str, str] = {}
        if what in ("add", "change"):
            errors = _rule_errors(form, {d.id for d in desks})
        elif what == "end":
            until = _date_or_none(form, "until")
            if until is None:
                errors["until"] = N_("Please give the last day the hours apply.")
            elif rule is not None and rule.valid_from and until < rule.valid_from:
                errors["until"] = N_("The last day must not be before the first day.")
        if errors:
            shown = {f: _(m) for f, m in errors.items()}
            if what == "end":
                # the end form is one field in the list; its sentence goes to the form's summary
                shown = {"form": shown["until"]}
            return await self._page(
                request,
                state,
                staff,
                point_id,
                rule_form=form if what != "end" else None,
                rule_errors=shown,
                editing=rule_id if what == "change" else None,
                status=422,
            )

        async def run(dry_run: bool, cancel: bool | None) -> ChangeOutcome:
            if what == "add":
                return await rules_api.create(
                    state, staff, point_id, _rule_of(form), dry_run, cancel
                )
            if what == "delete":
                return await rules_api.remove(
                    state, staff, point_id, rule_id, dry_run=dry_run, cancel_affected=cancel
                )
            if what == "end":
                patch = rules_api.RulePatch(valid_until=_date_or_none(form, "until"))
            else:
                made = _rule_of(form)
                patch = rules_api.RulePatch(
                    rrule=made.rrule,
                    opens=made.opens,
                    closes=made.closes,
                    valid_from=made.valid_from,
                    valid_until=made.valid_until,
                    desk_id=made.desk_id,
                    channel=made.channel,
                )
            return await rules_api.update(
                state, staff, point_id, rule_id, patch, dry_run=dry_run, cancel_affected=cancel
            )

        async def refused(error: DomainError) -> Template:
            found = explain(error, language_of(request))
            message, field = found.message, found.field or "form"
            if what in ("end", "delete"):
                field = "form"  # the list's small forms have no fields of the add form
                if error.code == "rule_never_occurs":
                    message = _(ENDS_BEFORE_IT_STARTS)
            return await self._page(
                request,
                state,
                staff,
                point_id,
                rule_form=form if what in ("add", "change") else None,
                rule_errors={field: message},
                editing=rule_id if what == "change" else None,
                status=status_of(error),
            )

        base = f"/staff/points/{point_id}/rules"
        action = (
            base
            if rule_id is None
            else f"{base}/{rule_id}" + ("" if what == "change" else f"/{what}")
        )
        described = _rule_of(form) if what in ("add", "change") else None
        return await self._decide(
            request,
            state,
            staff,
            point_id,
            form,
            run,
            refused,
            done=RULE_DONE[what],
            preview={
                "what": what,
                "action": action,
                "rule": rule,
                "described": described,
                "until": _date_or_none(form, "until"),
                "desk_names": {d.id: d.names for d in desks},
            },
        )

    # ------------------------------------------------------------------------ desks

    @post("/desks")
    async def add_desk(self, request: Request, state: State, point_id: FromPath[str]) -> Any:
        return await self._change_desk(request, state, point_id, None)

    @post("/desks/{desk_id:str}")
    async def change_desk(
        self, request: Request, state: State, point_id: FromPath[str], desk_id: FromPath[str]
    ) -> Any:
        return await self._change_desk(request, state, point_id, desk_id)

    async def _change_desk(
        self, request: Request, state: State, point_id: str, desk_id: str | None
    ) -> Any:
        staff = await staff_of(request, state.pool)
        require_point(staff, point_id)
        form = await form_of(request)
        lang = language_of(request)
        errors = _desk_errors(form, new=desk_id is None)
        if errors:
            return await self._page(
                request,
                state,
                staff,
                point_id,
                desk_form=form,
                desk_errors={f: gettext_for(lang)(m) for f, m in errors.items()},
                editing_desk=desk_id,
                status=422,
            )
        fields = _desk_fields(form, new=desk_id is None)
        async with state.pool.acquire() as conn:
            before = next(
                (d for d in await desks_api.list_desks(conn, point_id) if d.id == desk_id), None
            )
        if desk_id is not None and before is None:
            return Redirect(path=f"/staff/points/{point_id}/rules", status_code=303)

        async def run(dry_run: bool, cancel: bool | None) -> ChangeOutcome:
            if desk_id is None:
                data = msgspec.convert(fields, desks_api.DeskCreate)
                return await desks_api.add_desk(state, staff, point_id, data)
            patch = msgspec.convert(fields, desks_api.DeskUpdate)
            return await desks_api.update_desk(
                state, staff, point_id, desk_id, patch, dry_run=dry_run, cancel_affected=cancel
            )

        async def refused(error: DomainError) -> Template:
            found = explain(error, lang)
            return await self._page(
                request,
                state,
                staff,
                point_id,
                desk_form=form,
                desk_errors={found.field or "form": found.message},
                editing_desk=desk_id,
                status=status_of(error),
            )

        retiring = before is not None and before.active and not fields.get("active", True)
        base = f"/staff/points/{point_id}/desks"
        return await self._decide(
            request,
            state,
            staff,
            point_id,
            form,
            run,
            refused,
            done="desk-added" if desk_id is None else "desk-changed",
            preview={
                "what": "retire" if retiring else "desk",
                "action": base if desk_id is None else f"{base}/{desk_id}",
                "desk": before,
            },
        )

    # ------------------------------------------------------------------------ the choice

    async def _decide(
        self,
        request: Request,
        state: State,
        staff: StaffMember,
        point_id: str,
        form: dict[str, Any],
        run: Callable[[bool, bool | None], Awaitable[ChangeOutcome]],
        refused: Callable[[DomainError], Awaitable[Template]],
        *,
        done: str,
        preview: dict[str, Any],
    ) -> Any:
        """Make the change; if it hits visits and staff have not chosen yet, show them (a dry
        run) with the required keep/cancel choice instead. Nothing is written until then."""
        lang = language_of(request)
        confirmed = text(form, "confirm") == "yes"
        choice = {"cancel": True, "keep": False}.get(text(form, "affected")) if confirmed else None
        problem = None
        try:
            outcome = await run(False, choice)
        except AffectedVisitsNeedAChoice as error:
            problem = explain(error, lang).message if confirmed else None
            try:
                outcome = await run(True, None)
            except DomainError as again:
                return await refused(again)
        except DomainError as error:
            return await refused(error)
        if problem is None and not outcome.dry_run:
            done = "cancelled" if outcome.cancelled else done
            return Redirect(path=f"/staff/points/{point_id}/rules?done={done}", status_code=303)
        async with state.pool.acquire() as conn:
            point: Point = await store.get_point(conn, point_id)
        return _staff_page(
            request,
            staff,
            "staff/change_preview.html",
            lang=lang,
            status=409 if problem else 200,
            point=point,
            problem=problem,
            affected=outcome.affected_visits,
            hidden=_passed_on(form),
            weekdays=lambda rrule: weekdays_of(rrule) or [],
            monday=lambda n: A_MONDAY + dt.timedelta(days=n),
            **preview,
        )
