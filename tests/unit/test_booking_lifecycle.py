"""The visit state machine and the visitor's secrets, without I/O."""

from __future__ import annotations

import pytest

from booking.domain.lifecycle import (
    ACTIVE,
    Event,
    IllegalTransition,
    Status,
    allowed_events,
    transition,
)
from booking.secrets import (
    REFERENCE_ALPHABET,
    email_key,
    new_reference,
    new_token,
    token_hash,
    token_matches,
)


def test_a_held_visit_is_confirmed_by_its_e_mail():
    assert transition(Status.HELD, Event.CONFIRM) is Status.CONFIRMED


def test_a_confirmed_visit_is_checked_in_then_completed():
    assert transition(Status.CONFIRMED, Event.CHECK_IN) is Status.CHECKED_IN
    assert transition(Status.CHECKED_IN, Event.COMPLETE) is Status.COMPLETED


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (Status.HELD, Event.CHECK_IN),
        (Status.CANCELLED, Event.CONFIRM),
        (Status.EXPIRED, Event.CONFIRM),
        (Status.COMPLETED, Event.CANCEL),
        (Status.NO_SHOW, Event.CHECK_IN),
        (Status.CHECKED_IN, Event.RESCHEDULE),
        (Status.CONFIRMED, Event.COMPLETE),
    ],
)
def test_an_illegal_transition_is_refused_with_a_sentence(status, event):
    with pytest.raises(IllegalTransition, match="cannot"):
        transition(status, event)


def test_final_statuses_allow_nothing():
    for status in (Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED, Status.EXPIRED):
        assert allowed_events(status) == frozenset()
        assert status not in ACTIVE


def test_tokens_are_long_random_and_stored_as_hashes():
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 43  # 256 bits in URL-safe base64
    assert token_matches(a, token_hash(a))
    assert not token_matches(b, token_hash(a))
    assert not token_matches(None, token_hash(a))
    assert not token_matches("", token_hash(a))


def test_a_reference_is_short_human_and_names_the_city():
    reference = new_reference("Kraków")
    prefix, middle, tail = reference.split("-")
    assert prefix == "KRK" and len(middle) == 4 and len(tail) == 2
    assert set(middle + tail) <= set(REFERENCE_ALPHABET)
    assert not set("ILOU") & set(middle + tail)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Jan.Kowalski@Gmail.com", "jankowalski@gmail.com"),
        ("jan.kowalski+wizyta@googlemail.com", "jankowalski@gmail.com"),
        ("Olena@Example.org", "olena@example.org"),
        ("olena+1@example.org", "olena@example.org"),
    ],
)
def test_one_mailbox_gives_one_person_key(a, b):
    assert email_key(a) == email_key(b)


def test_dots_count_where_the_provider_does_not_ignore_them():
    assert email_key("o.lena@example.org") != email_key("olena@example.org")
