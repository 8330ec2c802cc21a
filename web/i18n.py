"""The pages' languages: gettext catalogs (Babel) for the words, CLDR (Babel) for the dates.

A visitor's language is, in order: `?lang=` on the request, the `wizyta_lang` cookie set by the
language switch, a hint from the page (the language a visit was booked in), the browser's
Accept-Language, and English for anyone whose browser asks for none of the four.

The catalogs are web/locale/<lang>/LC_MESSAGES/messages.po; the compiled .mo files beside them
are committed (`make translations` extracts, updates and recompiles them; a test checks that
every .mo matches its .po and that nothing is left untranslated).
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
from collections.abc import Callable
from pathlib import Path

from babel.dates import format_date

LANGUAGES = ("pl", "en", "uk", "ru")
DEFAULT = "en"
COOKIE = "wizyta_lang"
LOCALE_DIR = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


#: Each language's name as its own speakers write it (the switch shows these).
NATIVE_NAMES = {"pl": "Polski", "en": "English", "uk": "Українська", "ru": "Русский"}

#: Language codes a visit may be held in, with their names marked for translation.
VISIT_LANGUAGE_NAMES = {
    "pl": N_("Polish"),
    "en": N_("English"),
    "uk": N_("Ukrainian"),
    "ru": N_("Russian"),
    "pjm": N_("Polish Sign Language (PJM)"),
    "ukl": N_("Ukrainian Sign Language"),
    "rsl": N_("Russian Sign Language"),
}


#: A visit's status as a visitor or a staff member reads it.
STATUS_NAMES = {
    "held": N_("waiting for confirmation"),
    "confirmed": N_("confirmed"),
    "checked_in": N_("checked in"),
    "completed": N_("completed"),
    "no_show": N_("did not come"),
    "cancelled": N_("cancelled"),
    "expired": N_("expired"),
}

#: How a visit happens, as a visitor or a staff member reads it.
CHANNEL_NAMES = {
    "on_site": N_("at the point"),
    "phone": N_("by phone"),
    "video": N_("by video"),
}
#: A visit's needs as staff read them (booking/domain/visit.py STEP_FREE_ACCESS); a need
#: without a name is shown as it was sent.
NEED_NAMES = {"step-free-access": N_("step-free access (wheelchair, pram)")}


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular/plural pair for extraction; `plural()` translates it for a number."""
    return singular, plural


def plural(language: str, forms: tuple[str, str], n: int) -> str:
    """The pair's form for `n` in `language`, with %(n)s filled in."""
    return translations(language).ngettext(forms[0], forms[1], n) % {"n": n}


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    return gettext.translation(
        "messages", localedir=LOCALE_DIR, languages=[language], fallback=language == "en"
    )


def gettext_for(language: str) -> Callable[[str], str]:
    return translations(language).gettext


def ngettext_for(language: str) -> Callable[[str, str, int], str]:
    return translations(language).ngettext


def from_accept_language(header: str) -> str | None:
    """The first of our languages the browser asks for (RFC 9110 §12.5.4 q-values)."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        code = tag.strip().lower().split("-")[0]
        if code in LANGUAGES and quality > 0:
            choices.append((-quality, index, code))
    return min(choices)[2] if choices else None


def choose(
    query: str | None, cookie: str | None, accept_language: str, hint: str | None = None
) -> str:
    for candidate in (query, cookie, hint):
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    return from_accept_language(accept_language) or DEFAULT


def written(visit_language: str) -> str:
    """The written language of a visit's language (a sign language is written in its own)."""
    return {"pjm": "pl", "ukl": "uk", "rsl": "ru"}.get(visit_language, visit_language)


# ---------------------------------------------------------------------------- dates and times

#: CLDR locales for dates: British English writes "Tuesday 6 May", as Europe reads it.
_DATE_LOCALES = {"en": "en_GB"}


def _locale(language: str) -> str:
    return _DATE_LOCALES.get(language, language)


def long_date(day: dt.date, language: str) -> str:
    """ "wtorek, 6 maja 2025" / "вівторок, 6 травня 2025 р." (CLDR's full date)."""
    return format_date(day, "full", locale=_locale(language))


def day_and_month(day: dt.date, language: str) -> str:
    """ "wtorek, 6 maja": the weekday and the date, without the year."""
    return format_date(day, "EEEE, d MMMM", locale=_locale(language))


def short_day(day: dt.date, language: str) -> str:
    """ "wt. 6.05": for tables."""
    return format_date(day, "EEE d.MM", locale=_locale(language))


def weekday(day: dt.date, language: str) -> str:
    return format_date(day, "EEEE", locale=_locale(language))


def clock(moment: dt.datetime | dt.time) -> str:
    """24-hour wall-clock time, as every language here writes it in Poland."""
    return moment.strftime("%H:%M")
