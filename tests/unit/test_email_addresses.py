"""Which addresses a visitor may give (booking/caller.py valid_email)."""

from __future__ import annotations

import pytest

from booking.caller import valid_email
from booking.domain.errors import EmailInvalid, EmailMixedScripts


@pytest.mark.parametrize(
    ("address", "letter", "position"),
    [
        ("оksana.melnyk@gmail.com", "о", 1),  # Cyrillic о, then Latin
        ("olenа@example.com", "а", 5),  # Cyrillic а at the end
        ("oksana@gmаil.com", "а", 10),  # in a domain label
        ("тарас.шевчеnko@приклад.укр", "n", 12),  # one Latin letter among Cyrillic
    ],
)
def test_a_look_alike_address_names_the_odd_letter_and_its_place(address, letter, position):
    with pytest.raises(EmailMixedScripts) as refused:
        valid_email(address)
    assert (refused.value.params["letter"], refused.value.params["position"]) == (letter, position)
    assert refused.value.code == "email_mixed_scripts"


@pytest.mark.parametrize(
    "address",
    [
        "olena@example.com",
        "олена@приклад.укр",
        "olena@приклад.укр",
        "zoë.müller@example.de",
        "山田たろう@example.jp",  # kanji and hiragana: one writing system
        "jan.kowalski2@example.com",
    ],
)
def test_addresses_in_one_alphabet_are_accepted(address):
    assert valid_email(address)


def test_a_malformed_address_is_still_invalid():
    with pytest.raises(EmailInvalid):
        valid_email("olena@")
