"""Every refusal has a stable code, and a page has a sentence for every code it can show.

Errors are typed (core/errors.py and each feature's errors module); web/errors.py translates
them by code, never by their English text. A new error class with a new code needs a sentence
there, or to be listed below as one a page never shows (API-only refusals), which then reads
the general sentence of its kind.
"""

from __future__ import annotations

import inspect

import booking.domain.errors
import booking.domain.lifecycle
import booking.domain.queue
import core.errors
import core.ratelimit
import scheduling.errors
import staff.errors
from core.errors import DomainError
from web.errors import SENTENCES, explain

#: Codes no page shows; API clients get them in problem+json.
API_ONLY = {
    "invalid",
    "not_found",
    "conflict",
    "unauthorized",
    "forbidden",
    "gone",
    "unknown_point",  # a page reaches a point by its link; the form cannot name another
    "already_in_draw",
    "draw_token_missing",
    "draw_entry_not_found",
    "waitlist_token_missing",
    "waitlist_entry_not_found",
    "waitlist_days_reversed",
    "waitlist_days_past",
    "waitlist_too_long",
    "control_character",
    "nonexistent_time",
    "video_template_invalid",  # staff's API: a point's own video room template
}


def _error_classes() -> list[type[DomainError]]:
    modules = (
        core.errors,
        booking.domain.errors,
        booking.domain.lifecycle,
        scheduling.errors,
        booking.domain.queue,
        staff.errors,
    )
    found = {
        cls
        for module in modules
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, DomainError)
    }
    found.add(core.ratelimit.TooManyRequests)
    return sorted(found, key=lambda c: c.__qualname__)


def test_codes_are_unique_across_the_error_tree():
    codes: dict[str, str] = {}
    for cls in _error_classes():
        if cls.code in codes and codes[cls.code] != cls.__qualname__:
            # a subclass may keep its parent's code only when it is the same refusal
            assert issubclass(cls, _by_name(codes[cls.code])), (cls, codes[cls.code])
        codes.setdefault(cls.code, cls.__qualname__)


def _by_name(qualname: str) -> type:
    return next(c for c in _error_classes() if c.__qualname__ == qualname)


def test_every_code_a_page_can_show_has_a_sentence():
    missing = {cls.code for cls in _error_classes() if cls.code not in SENTENCES} - API_ONLY
    assert not missing, f"add a sentence in web/errors.py SENTENCES, or list as API_ONLY: {missing}"


def test_every_sentence_belongs_to_a_code_that_exists():
    codes = {cls.code for cls in _error_classes()}
    assert not set(SENTENCES) - codes


def test_a_page_translates_by_code_not_by_the_english_text():
    from booking.domain.errors import TooSoon

    error = TooSoon(minutes=120)
    error.detail = "reworded in English, which no page may depend on"
    problem = explain(error, "uk")
    assert problem.field == "start"
    assert "2" in problem.message and "reworded" not in problem.message


def test_an_unknown_code_falls_back_to_the_general_sentence_of_its_kind():
    class Unheard(core.errors.Conflict):
        code = "unheard_of"

    problem = explain(Unheard("something new"), "pl")
    assert problem.message and "something new" not in problem.message
