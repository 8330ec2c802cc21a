"""Every refusal the domain can give, as a sentence in the reader's language, by its code.

The domain's errors (core/errors.py and each feature's errors module) carry a stable `code`
and the parameters their sentence needs; API clients get them as problem+json, and a page shows
the sentence below for the code, translated, next to the form field it belongs to. A code with
no sentence here falls back to a general sentence for its kind, never to English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from core.errors import DomainError
from core.problems import status_of
from web.i18n import N_, STATUS_NAMES, N_plural, gettext_for, plural

#: The form field each domain `field` belongs to.
FIELDS = {
    "start": "start",
    "visitor.email": "email",
    "visitor.name": "name",
    "visitor.phone": "phone",
    "language": "language",
    "opens": "opens",
    "closes": "closes",
    "date": "date",
    "cancel_affected": "affected",
    "Altcha": "altcha",
    "channel": "channel",
    "party_size": "party_size",
    "extra_services": "extra_services",
    "services": "extra_services",
}


class Problem(NamedTuple):
    field: str | None
    message: str


#: (the error's parameters, the language) -> the sentence
Explainer = Callable[[Mapping[str, Any], str], str]


def _plain(message: str) -> Explainer:
    return lambda params, lang: gettext_for(lang)(message)


NOT_PUBLISHED = N_("Visits on this day are not published yet. They can be booked from %(opens)s.")
HOURS = N_plural("%(n)s hour", "%(n)s hours")
MINUTES = N_plural("%(n)s minute", "%(n)s minutes")
TOO_FAR = N_plural(
    "This time is too far ahead: visits can be booked up to %(n)s day in advance.",
    "This time is too far ahead: visits can be booked up to %(n)s days in advance.",
)


def _too_soon(params: Mapping[str, Any], lang: str) -> str:
    ahead = _ahead(int(params["minutes"]), lang)
    return gettext_for(lang)(
        N_(
            "This time is too soon: visits must be booked at least %(ahead)s in advance. "
            "Please choose a later time."
        )
    ) % {"ahead": ahead}


def _too_far(params: Mapping[str, Any], lang: str) -> str:
    return plural(lang, TOO_FAR, int(params["days"]))


def _off_grid(params: Mapping[str, Any], lang: str) -> str:
    return gettext_for(lang)(
        N_(
            "%(time)s is not a starting time for this service. "
            "Please choose one of the times shown."
        )
    ) % {"time": params["time"]}


def _illegal(params: Mapping[str, Any], lang: str) -> str:
    _ = gettext_for(lang)
    status = _(STATUS_NAMES.get(params["visit_status"], params["visit_status"]))
    sentences = {
        "confirm": N_("This visit is %(status)s, so it cannot be confirmed any more."),
        "cancel": N_("This visit is %(status)s, so it cannot be cancelled any more."),
        "reschedule": N_("This visit is %(status)s, so it cannot be moved any more."),
    }
    sentence = sentences.get(
        params["event"], N_("This visit is %(status)s, so this cannot be done any more.")
    )
    return _(sentence) % {"status": status}


def _started(params: Mapping[str, Any], lang: str) -> str:
    _ = gettext_for(lang)
    if params["verb"] == "moved":
        return _("The visit has already started, so it can no longer be moved online.")
    return _("The visit has already started, so it can no longer be cancelled online.")


def _ahead(minutes: int, lang: str) -> str:
    if minutes % 60 == 0:
        return plural(lang, HOURS, minutes // 60)
    return plural(lang, MINUTES, minutes)


def _call(params: Mapping[str, Any], lang: str) -> str:
    """The fair rules send the visitor to the point's telephone (booking/domain/fair.py)."""
    _ = gettext_for(lang)
    if params.get("phone"):
        return _("Please call the point: %(phone)s.") % {"phone": params["phone"]}
    return _("Please contact the point.")


def _cutoff(params: Mapping[str, Any], lang: str) -> str:
    _ = gettext_for(lang)
    if params["verb"] == "moved":
        sentence = N_(
            "This visit can no longer be moved online: changes are possible until %(ahead)s "
            "before the visit."
        )
    else:
        sentence = N_(
            "This visit can no longer be cancelled online: changes are possible until "
            "%(ahead)s before the visit."
        )
    ahead = _ahead(int(params["minutes"]), lang)
    return _(sentence) % {"ahead": ahead} + " " + _call(params, lang)


def _moves_limit(params: Mapping[str, Any], lang: str) -> str:
    _ = gettext_for(lang)
    sentence = _("This visit has already been moved as many times as is possible online.")
    return sentence + " " + _call(params, lang)


def _wait(forms: tuple[str, str]) -> Explainer:
    def explain(params: Mapping[str, Any], lang: str) -> str:
        return plural(lang, forms, int(params.get("retry_after", 60)))

    return explain


def _mixed_scripts(params: Mapping[str, Any], lang: str) -> str:
    return gettext_for(lang)(
        N_(
            "The letter “%(letter)s” (character %(position)s of the address) comes from "
            "another alphabet than the letters around it: it was probably typed with another "
            "keyboard layout, and no mail would arrive. Please type the address again."
        )
    ) % {"letter": params["letter"], "position": params["position"]}


def _special_day_exists(params: Mapping[str, Any], lang: str) -> str:
    _ = gettext_for(lang)
    if params.get("kind") == "open":
        sentence = N_(
            "The point already has an open day on %(day)s. Change or delete that one in the "
            "list below instead of adding it again."
        )
    else:
        sentence = N_(
            "The point is already closed on %(day)s. Change or delete that closure in the list "
            "below instead of adding it again."
        )
    return _(sentence) % {"day": params["date"]}


_VISIT_LINK_INVALID = _plain(
    N_(
        "This link for managing a visit is not valid. Please open the private link you "
        "received when you booked."
    )
)
_GONE_POINT = _plain(
    N_(
        "This point or service is not available any more. "
        "Please start again from the list of points."
    )
)
_SESSION_ENDED = _plain(N_("Your session has ended. Please log in again."))
_WAIT = _wait(
    N_plural(
        "Too many attempts in a short time. Please wait %(n)s second and try again.",
        "Too many attempts in a short time. Please wait %(n)s seconds and try again.",
    )
)

#: code -> (the form field it belongs to, or None for the domain's own; the sentence)
SENTENCES: dict[str, tuple[str | None, Explainer]] = {
    "slot_taken": (
        "start",
        _plain(N_("Someone has just booked this time. Please choose another time.")),
    ),
    "step_free_unavailable": (
        "needs",
        _plain(
            N_(
                "At this time only rooms that cannot be reached without stairs are free. "
                "Please choose another time, or phone the point: they will help you."
            )
        ),
    ),
    "in_past": (
        "start",
        _plain(N_("This time has already passed. Please choose a later time.")),
    ),
    "too_soon": ("start", _too_soon),
    "too_far": ("start", _too_far),
    "dst_gap": (
        "start",
        _plain(
            N_(
                "This time does not exist: the clocks move forward that night. "
                "Please choose another time."
            )
        ),
    ),
    "off_grid": ("start", _off_grid),
    "not_published": (
        "start",
        lambda params, lang: (
            gettext_for(lang)(
                "Visits on this day are not published yet. They can be booked from %(opens)s."
            )
            % {"opens": params["opens"]}
        ),
    ),
    "point_closed": (
        "start",
        _plain(N_("The point is closed on this day. Please choose another day.")),
    ),
    "outside_hours": (
        "start",
        _plain(
            N_(
                "This time is outside the opening hours, or no consultant who speaks the chosen "
                "language is free then. Please choose another time."
            )
        ),
    ),
    "start_malformed": ("start", _plain(N_("Please choose a time from the list."))),
    "email_invalid": (
        "email",
        _plain(
            N_(
                "This e-mail address does not look right. Please check it "
                "(it should look like name@example.com)."
            )
        ),
    ),
    "email_mixed_scripts": ("email", _mixed_scripts),
    # The phone for SMS (booking/phones.py).
    "phone_invalid": (
        "phone",
        _plain(
            N_(
                "This phone number does not look right. Use digits, with + and the country code "
                "at the start if it is not Polish, e.g. +380 67 123 4567."
            )
        ),
    ),
    "phone_not_mobile": (
        "phone",
        _plain(
            N_(
                "This is not a mobile phone number, so it cannot receive SMS. Please give a "
                "mobile number, or leave the field empty."
            )
        ),
    ),
    "sms_needs_phone": (
        "phone",
        _plain(N_("To get SMS from us, please give your mobile phone number.")),
    ),
    "per_person_limit": (
        "email",
        _plain(
            N_(
                "You already have a visit booked at this point with this e-mail address. "
                "Cancel or move that visit first, or wait until it has taken place."
            )
        ),
    ),
    "unknown_language": (
        "language",
        _plain(
            N_(
                "This service is not offered in the chosen language at this point. "
                "Please choose another language."
            )
        ),
    ),
    "language_not_offered": (
        "language",
        _plain(
            N_(
                "This service is not offered in the chosen language at this point. "
                "Please choose another language."
            )
        ),
    ),
    # What a visit is: its channel, party and matters (scheduling/errors.py).
    "phone_required": (
        "phone",
        _plain(
            N_(
                "For a phone visit, please give the number the consultant should call at the "
                "booked time."
            )
        ),
    ),
    "channel_not_offered": (
        "channel",
        _plain(
            N_(
                "This service is not offered this way at this point. Please choose another "
                "way: at the point, by phone or by video."
            )
        ),
    ),
    "unknown_channel": (
        "channel",
        _plain(
            N_("Please choose how the visit should happen: at the point, by phone or by video.")
        ),
    ),
    "party_too_large": (
        "party_size",
        lambda params, lang: (
            gettext_for(lang)(
                N_(
                    "At most %(n)s people may come to one visit for this service. Please book "
                    "separate visits for the others."
                )
            )
            % {"n": params["max_party_size"]}
        ),
    ),
    "party_too_small": (
        "party_size",
        _plain(N_("Please say how many people will come: at least one.")),
    ),
    "too_many_services": (
        "extra_services",
        lambda params, lang: (
            gettext_for(lang)(
                N_("At most %(n)s matters can be dealt with in one visit at this point.")
            )
            % {"n": params["max_services"]}
        ),
    ),
    "services_not_together": (
        "extra_services",
        _plain(
            N_(
                "No consultant at this point deals with all these matters in one visit. "
                "Please book them as separate visits."
            )
        ),
    ),
    "visit_too_long": (
        "extra_services",
        _plain(
            N_(
                "Together these matters would take too long for one visit. "
                "Please book some of them as a separate visit."
            )
        ),
    ),
    "draw_plain_visits_only": (
        "start",
        _plain(
            N_(
                "This day has just been published and its visits are drawn by lot: the draw "
                "takes only visits at the point for one person and one matter. Please choose "
                "so, or book this visit in a few minutes, when the draw has closed."
            )
        ),
    ),
    "unknown_point": (None, _GONE_POINT),
    "service_not_offered": (None, _GONE_POINT),
    # The proof of work of the booking form (booking/pow.py; the ALTCHA widget on the page).
    "proof_of_work_missing": (
        "altcha",
        _plain(
            N_(
                "The automatic check against booking bots did not run, so the visit was not "
                "booked. The check needs JavaScript turned on in your browser; with it, the "
                "check runs by itself when you send the form. Please send the form again."
            )
        ),
    ),
    "proof_of_work_expired": (
        "altcha",
        _plain(
            N_(
                "The automatic check against booking bots has expired, so the visit was not "
                "booked. Please send the form again: the check runs again by itself."
            )
        ),
    ),
    "proof_of_work_invalid": (
        "altcha",
        _plain(
            N_(
                "The automatic check against booking bots was not accepted, so the visit was "
                "not booked. Please send the form again: a new check runs by itself."
            )
        ),
    ),
    "idempotency_key_reused": (
        None,
        _plain(
            N_("This form was already sent with different details. Please start the booking again.")
        ),
    ),
    "confirm_link_invalid": (
        None,
        _plain(
            N_(
                "This confirmation link is not valid. Please check that you opened the whole "
                "link from the e-mail."
            )
        ),
    ),
    "hold_expired": (
        None,
        _plain(
            N_(
                "This time was held for you, but the visit was not confirmed in time, so the "
                "time was released. Please book again."
            )
        ),
    ),
    "change_cutoff_passed": (None, _cutoff),
    "moves_limit_reached": (None, _moves_limit),
    "contact_missing": (
        "phone",
        _plain(N_("Without an e-mail address, please give the visitor's phone number.")),
    ),
    "illegal_transition": (None, _illegal),
    "already_started": (None, _started),
    "manage_token_missing": (None, _VISIT_LINK_INVALID),
    "visit_not_found": (None, _VISIT_LINK_INVALID),
    "wrong_password": ("password", _plain(N_("The e-mail address or the password is wrong."))),
    "too_many_logins": (
        "password",
        _wait(
            N_plural(
                "Too many failed attempts. Please wait %(n)s second and try again.",
                "Too many failed attempts. Please wait %(n)s seconds and try again.",
            )
        ),
    ),
    "rate_limited": (None, _WAIT),
    "too_many_requests": (None, _WAIT),
    "login_required": (None, _SESSION_ENDED),
    "session_ended": (None, _SESSION_ENDED),
    "not_your_point": (None, _plain(N_("Your account may not manage this point."))),
    "admin_only": (None, _plain(N_("Only an administrator may do this."))),
    "password_change_required": (
        None,
        _plain(N_("Please choose your own password first: the one you were given is one-time.")),
    ),
    "wrong_current_password": (
        "current_password",
        _plain(N_("The current password is wrong.")),
    ),
    "password_too_short": (
        "new_password",
        lambda params, lang: (
            gettext_for(lang)(N_("The new password must have at least %(minimum)s characters."))
            % {"minimum": params.get("minimum", 12)}
        ),
    ),
    "password_unchanged": (
        "new_password",
        _plain(N_("The new password must differ from the current one.")),
    ),
    "no_such_staff": ("email", _plain(N_("There is no staff account with this e-mail address."))),
    "form_expired": (
        None,
        _plain(
            N_(
                "This form has expired or did not come from this site. "
                "Please reload the page and try again."
            )
        ),
    ),
    "check_in_not_today": (None, _plain(N_("A visit can be checked in only on its day."))),
    "no_show_too_early": (
        None,
        _plain(N_("The visit has not started yet, so it cannot be marked as missed.")),
    ),
    "no_such_visit": (None, _plain(N_("There is no such visit; it may have been removed."))),
    # The staff's rules (staff/rules_api.py).
    "open_day_needs_times": (
        "opens",
        _plain(N_("An open day needs an opening and a closing time.")),
    ),
    "no_such_rule": (
        None,
        _plain(N_("This rule does not exist any more; someone may have removed it.")),
    ),
    "affected_visits_need_a_choice": (
        "affected",
        lambda params, lang: plural(
            lang,
            N_plural(
                "Nothing was saved: this change leaves %(n)s booked visit outside the hours. "
                "Please choose whether to cancel it (the visitor is told and offered another "
                "time) or to keep it.",
                "Nothing was saved: this change leaves %(n)s booked visits outside the hours. "
                "Please choose whether to cancel them (each visitor is told and offered another "
                "time) or to keep them.",
            ),
            int(params["count"]),
        ),
    ),
    "special_day_exists": ("date", _special_day_exists),
    "rule_never_occurs": (
        "weekdays",
        _plain(
            N_(
                "These weekdays never fall between the first and the last day given. Please "
                "choose other weekdays or a longer time."
            )
        ),
    ),
    "no_such_special_day": (
        None,
        _plain(N_("This special day does not exist any more; someone may have removed it.")),
    ),
    "visit_cancelled": (
        None,
        _plain(
            N_(
                "This visit was cancelled, so it cannot be confirmed any more. "
                "You can book a new visit at any time."
            )
        ),
    ),
    "store_unavailable": (
        None,
        _plain(
            N_(
                "The service is very busy right now, so nothing was changed. "
                "Please try again in a moment."
            )
        ),
    ),
}
SENTENCES["proof_of_work_used"] = SENTENCES["proof_of_work_invalid"]
SENTENCES["idempotency_key_missing"] = SENTENCES["idempotency_key_reused"]

_BY_STATUS = {
    401: N_("Please log in first."),
    403: N_("You may not do this."),
    404: N_("This page does not exist. Please check the address."),
    409: N_(
        "This could not be done because something changed in the meantime. "
        "Please reload the page and try again."
    ),
    410: N_("This is no longer available."),
    429: N_("Too many attempts in a short time. Please wait a minute and try again."),
    500: N_("Something went wrong on our side; nothing was changed. Please try again."),
    503: N_(
        "The service is very busy right now, so nothing was changed. Please try again in a moment."
    ),
}
_OTHERWISE = N_("Something in the form is not right. Please check it and try again.")


def explain(error: DomainError, lang: str) -> Problem:
    """The field (of the page's form) the refusal belongs to, and the sentence to show there."""
    field = FIELDS.get(error.field) if error.field else None
    known = SENTENCES.get(error.code)
    if known is None:
        return Problem(field, general(status_of(error), lang))
    own_field, explainer = known
    return Problem(own_field or field, explainer(error.params, lang))


def retry_headers(error: DomainError) -> dict[str, str]:
    """Retry-After for a refusal that says when to try again (429, 503), on pages as in the API."""
    retry_after = error.params.get("retry_after")
    return {"Retry-After": str(retry_after)} if retry_after is not None else {}


def general(status: int, lang: str) -> str:
    return gettext_for(lang)(_BY_STATUS.get(status, _OTHERWISE))


# ---------------------------------------------------------------------------- the waiting room


def _cap(params: Mapping[str, Any], lang: str) -> str:
    return gettext_for(lang)(
        N_(
            "All %(cap)s tickets without an appointment for today have been given out. "
            "Please ask at the reception or book a visit online."
        )
    ) % {"cap": params["cap"]}


def _other_day(params: Mapping[str, Any], lang: str) -> str:
    return gettext_for(lang)(
        N_("This booking is for %(day)s, not for today. Please come on the day of your visit.")
    ) % {"day": params["day"]}


SENTENCES.update(
    {
        "kiosk_not_set_up": (
            None,
            _plain(N_("This kiosk is not set up. Staff can set it up on the point's queue page.")),
        ),
        "kiosk_other_point": (
            None,
            _plain(N_("This kiosk is set up for another point. Please ask the staff.")),
        ),
        "reference_unreadable": (
            "reference",
            _plain(
                N_(
                    "This is not a booking number. It looks like KRK-AB12-CD and is in your "
                    "confirmation e-mail."
                )
            ),
        ),
        "reference_other_point": (
            "reference",
            _plain(
                N_(
                    "This booking is for another information point. Please check the address "
                    "in your confirmation e-mail."
                )
            ),
        ),
        "reference_other_day": ("reference", _other_day),
        "walk_ins_not_taken": (
            None,
            _plain(
                N_(
                    "This point sees visitors with an appointment only. "
                    "Please ask at the reception or book a visit online."
                )
            ),
        ),
        "walk_in_cap_reached": (None, _cap),
        "walk_in_service": (
            "service",
            _plain(N_("Please choose one of the services and languages shown.")),
        ),
        "nobody_to_serve": (
            None,
            _plain(
                N_("Nobody waiting can be served at this desk now (its languages and services).")
            ),
        ),
        "nobody_at_desk": (None, _plain(N_("Nobody is called to this desk now."))),
        "no_such_desk": (None, _plain(N_("There is no such desk at this point."))),
        "no_such_ticket": (None, _plain(N_("There is no such ticket today."))),
        "ticket_not_waiting": (
            None,
            _plain(N_("This ticket is not waiting any more, so it cannot be called.")),
        ),
        "too_many_tickets": (
            None,
            _plain(N_("No more tickets can be given out today. Please ask at the reception.")),
        ),
    }
)
