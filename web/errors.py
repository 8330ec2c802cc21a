"""Every refusal the domain can give, as a sentence in the reader's language.

The domain speaks English to API clients (problem+json `detail`). A page shows the same refusal
translated, next to the field that caused it; each sentence below is matched to the domain's
own wording, so a new refusal falls back to a general sentence for its status, never to English.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from core.problems import DomainError
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
    "Altcha": "altcha",
}


class Problem(NamedTuple):
    field: str | None
    message: str


Explainer = Callable[[re.Match[str], DomainError, str], str]


def _plain(message: str) -> Explainer:
    return lambda match, error, lang: gettext_for(lang)(message)


HOURS = N_plural("%(n)s hour", "%(n)s hours")
MINUTES = N_plural("%(n)s minute", "%(n)s minutes")
TOO_FAR = N_plural(
    "This time is too far ahead: visits can be booked up to %(n)s day in advance.",
    "This time is too far ahead: visits can be booked up to %(n)s days in advance.",
)


def _too_soon(match: re.Match[str], error: DomainError, lang: str) -> str:
    minutes = int(match["minutes"])
    if minutes % 60 == 0:
        ahead = plural(lang, HOURS, minutes // 60)
    else:
        ahead = plural(lang, MINUTES, minutes)
    return gettext_for(lang)(
        "This time is too soon: visits must be booked at least %(ahead)s in advance. "
        "Please choose a later time."
    ) % {"ahead": ahead}


def _too_far(match: re.Match[str], error: DomainError, lang: str) -> str:
    return plural(lang, TOO_FAR, int(match["days"]))


def _off_grid(match: re.Match[str], error: DomainError, lang: str) -> str:
    return gettext_for(lang)(
        "%(time)s is not a starting time for this service. Please choose one of the times shown."
    ) % {"time": match["time"]}


def _illegal(match: re.Match[str], error: DomainError, lang: str) -> str:
    _ = gettext_for(lang)
    status = _(STATUS_NAMES.get(match["status"].replace(" ", "_"), match["status"]))
    sentences = {
        "confirm": N_("This visit is %(status)s, so it cannot be confirmed any more."),
        "cancel": N_("This visit is %(status)s, so it cannot be cancelled any more."),
        "reschedule": N_("This visit is %(status)s, so it cannot be moved any more."),
    }
    sentence = sentences.get(
        match["event"], N_("This visit is %(status)s, so this cannot be done any more.")
    )
    return _(sentence) % {"status": status}


def _started(match: re.Match[str], error: DomainError, lang: str) -> str:
    _ = gettext_for(lang)
    if match["verb"] == "moved":
        return _("The visit has already started, so it can no longer be moved online.")
    return _("The visit has already started, so it can no longer be cancelled online.")


def _wait(forms: tuple[str, str]) -> Explainer:
    def explain(match: re.Match[str], error: DomainError, lang: str) -> str:
        return plural(lang, forms, int(error.extra.get("retry_after", 60)))

    return explain


# (pattern on the domain's detail, field or None to keep the domain's, explanation)
_RULES: list[tuple[re.Pattern[str], str | None, Explainer]] = [
    (
        re.compile(r"^This time has just been taken"),
        "start",
        _plain(N_("Someone has just booked this time. Please choose another time.")),
    ),
    (
        re.compile(r"^This time is in the past"),
        "start",
        _plain(N_("This time has already passed. Please choose a later time.")),
    ),
    (re.compile(r"^This time is too soon.* at least (?P<minutes>\d+) minutes"), "start", _too_soon),
    (re.compile(r"^This time is too far ahead.* up to (?P<days>\d+) days"), "start", _too_far),
    (
        re.compile(r"does not exist in .*: the clocks move forward"),
        "start",
        _plain(
            N_(
                "This time does not exist: the clocks move forward that night. "
                "Please choose another time."
            )
        ),
    ),
    (
        re.compile(r"^Visits for this service start every .*; (?P<time>\d\d:\d\d) is not one"),
        "start",
        _off_grid,
    ),
    (
        re.compile(r"^The point is closed on"),
        "start",
        _plain(N_("The point is closed on this day. Please choose another day.")),
    ),
    (
        re.compile(r"is outside the opening hours"),
        "start",
        _plain(
            N_(
                "This time is outside the opening hours, or no consultant who speaks the chosen "
                "language is free then. Please choose another time."
            )
        ),
    ),
    (
        re.compile(r"^'start' is not a date and time"),
        "start",
        _plain(N_("Please choose a time from the list.")),
    ),
    (
        re.compile(r"^The e-mail address is not valid"),
        "email",
        _plain(
            N_(
                "This e-mail address does not look right. Please check it "
                "(it should look like name@example.com)."
            )
        ),
    ),
    (
        re.compile(r"^You already have an active visit at this point"),
        "email",
        _plain(
            N_(
                "You already have a visit booked at this point with this e-mail address. "
                "Cancel or move that visit first, or wait until it has taken place."
            )
        ),
    ),
    (
        re.compile(r"^(Unknown language|The service .* is not offered in)"),
        "language",
        _plain(
            N_(
                "This service is not offered in the chosen language at this point. "
                "Please choose another language."
            )
        ),
    ),
    (
        re.compile(r"^(There is no point|The point .* does not offer)"),
        None,
        _plain(
            N_(
                "This point or service is not available any more. "
                "Please start again from the list of points."
            )
        ),
    ),
    # The proof of work of the booking form (booking/pow.py; the ALTCHA widget on the page).
    (
        re.compile(r"^A proof of work is required"),
        "altcha",
        _plain(
            N_(
                "The automatic check against booking bots did not run, so the visit was not "
                "booked. The check needs JavaScript turned on in your browser; with it, the "
                "check runs by itself when you send the form. Please send the form again."
            )
        ),
    ),
    (
        re.compile(r"^The proof of work is expired"),
        "altcha",
        _plain(
            N_(
                "The automatic check against booking bots has expired, so the visit was not "
                "booked. Please send the form again: the check runs again by itself."
            )
        ),
    ),
    (
        re.compile(r"^(The proof of work is not valid|This proof of work was already used)"),
        "altcha",
        _plain(
            N_(
                "The automatic check against booking bots was not accepted, so the visit was "
                "not booked. Please send the form again: a new check runs by itself."
            )
        ),
    ),
    (
        re.compile(r"Idempotency-Key"),
        None,
        _plain(
            N_("This form was already sent with different details. Please start the booking again.")
        ),
    ),
    (
        re.compile(r"^No visit with this reference and confirmation link"),
        None,
        _plain(
            N_(
                "This confirmation link is not valid. Please check that you opened the whole "
                "link from the e-mail."
            )
        ),
    ),
    (
        re.compile(r"^This visit was held for you, but it was not confirmed in time"),
        None,
        _plain(
            N_(
                "This time was held for you, but the visit was not confirmed in time, so the "
                "time was released. Please book again."
            )
        ),
    ),
    (re.compile(r"^A visit that is (?P<status>[a-z ]+) cannot (?P<event>[a-z_]+)"), None, _illegal),
    (re.compile(r"^The visit has already started, so it cannot be (?P<verb>\w+)"), None, _started),
    (
        re.compile(
            r"^(This needs the visit's manage token|No visit with this reference and token)"
        ),
        None,
        _plain(
            N_(
                "This link for managing a visit is not valid. Please open the private link you "
                "received when you booked."
            )
        ),
    ),
    (
        re.compile(r"^The e-mail or password is wrong"),
        "password",
        _plain(N_("The e-mail address or the password is wrong.")),
    ),
    (
        re.compile(r"^Too many failed logins"),
        "password",
        _wait(
            N_plural(
                "Too many failed attempts. Please wait %(n)s second and try again.",
                "Too many failed attempts. Please wait %(n)s seconds and try again.",
            )
        ),
    ),
    (
        re.compile(r"^Too many requests"),
        None,
        _wait(
            N_plural(
                "Too many attempts in a short time. Please wait %(n)s second and try again.",
                "Too many attempts in a short time. Please wait %(n)s seconds and try again.",
            )
        ),
    ),
    (
        re.compile(r"^(The session has ended|Log in first)"),
        None,
        _plain(N_("Your session has ended. Please log in again.")),
    ),
    (
        re.compile(r"^Your account may not manage the point"),
        None,
        _plain(N_("Your account may not manage this point.")),
    ),
    (
        re.compile(r"^Only an administrator may do this"),
        None,
        _plain(N_("Only an administrator may do this.")),
    ),
    (
        re.compile(r"^The form has expired"),
        None,
        _plain(
            N_(
                "This form has expired or did not come from this site. "
                "Please reload the page and try again."
            )
        ),
    ),
    (
        re.compile(r"^An open day needs 'opens' and 'closes'"),
        "opens",
        _plain(N_("An open day needs an opening and a closing time.")),
    ),
    (
        re.compile(r"^The visit is on .*; it can be checked in on that day"),
        None,
        _plain(N_("A visit can be checked in only on its day.")),
    ),
    (
        re.compile(r"^The visit has not started yet, so the visitor cannot be a no-show"),
        None,
        _plain(N_("The visit has not started yet, so it cannot be marked as missed.")),
    ),
    (
        re.compile(r"^There is no visit"),
        None,
        _plain(N_("There is no such visit; it may have been removed.")),
    ),
    (
        re.compile(r"^The point .* has no rule"),
        None,
        _plain(N_("This rule does not exist any more; someone may have removed it.")),
    ),
]

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
}
_OTHERWISE = N_("Something in the form is not right. Please check it and try again.")


def explain(error: DomainError, lang: str) -> Problem:
    """The field (of the page's form) the refusal belongs to, and the sentence to show there."""
    field: Any = error.extra.get("field")
    field = FIELDS.get(field) if isinstance(field, str) else None
    for pattern, own_field, explainer in _RULES:
        match = pattern.search(error.detail)
        if match:
            return Problem(own_field or field, explainer(match, error, lang))
    return Problem(field, general(error.status, lang))


def general(status: int, lang: str) -> str:
    return gettext_for(lang)(_BY_STATUS.get(status, _OTHERWISE))
