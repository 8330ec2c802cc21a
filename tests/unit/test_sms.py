"""Short messages (notifications/sms.py): how texts are encoded and counted, how each kind is
worded to fit, what SMSAPI's answers mean, and which numbers may receive them."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from booking.domain.errors import PhoneInvalid, PhoneNotMobile
from booking.phones import valid_mobile
from notifications.invitation import VisitSnapshot
from notifications.mailer import channels
from notifications.messages import MessageKind, sms_wordings
from notifications.sms import MAX_PARTS, encode, fit, gsm7, sends_by_sms
from notifications.sms_gateways import classify_smsapi, parse_sms_url
from notifications.transport import PermanentFailure, TemporaryFailure

# ---------------------------------------------------------------------------- parts


def test_a_latin_text_of_160_characters_is_one_part_and_161_two():
    assert encode("a" * 160).parts == 1
    assert encode("a" * 161).parts == 2
    assert encode("a" * 306).parts == 2  # 2 x 153
    assert encode("a" * 307).parts == 3


def test_gsm7_extension_characters_take_two_septets():
    assert encode("€" * 80) == encode("€" * 80)
    assert encode("€" * 80).units == 160 and encode("€" * 80).parts == 1
    assert encode("[" * 81).parts == 2


def test_an_escape_pair_is_never_split_between_two_parts():
    # 152 letters then a two-septet "€": the "€" does not fit in the first part's 153 septets
    # after one more letter, so it starts the second.
    text = "a" * 152 + "b" + "€" + "a" * 152
    assert encode(text).units == 307
    assert encode(text).parts == 3


def test_polish_letters_are_folded_so_a_polish_text_stays_gsm7():
    encoded = encode("Wizyta potwierdzona: ul. Świętego Łazarza 6, Kraków – źle?")
    assert encoded.encoding == "GSM-7"
    assert encoded.text == "Wizyta potwierdzona: ul. Swietego Lazarza 6, Krakow - zle?"


def test_letters_gsm7_has_are_kept_as_they_are():
    assert gsm7("Café Ñandù, Ørsted, Müller") == "Café Ñandù, Ørsted, Müller"
    assert gsm7("Ñandú") == "Ñandu"  # ú is not in GSM-7 (ù is)


def test_cyrillic_falls_to_ucs2_with_70_characters_in_one_part_and_67_in_each_of_more():
    assert encode("Візит" * 14).encoding == "UCS-2"
    assert encode("я" * 70).parts == 1
    assert encode("я" * 71).parts == 2
    assert encode("я" * 134).parts == 2
    assert encode("я" * 135).parts == 3


def test_one_cyrillic_letter_makes_the_whole_text_ucs2_and_keeps_polish_letters():
    encoded = encode("Kraków, ul. Łazarza – візит")
    assert encoded.encoding == "UCS-2"
    assert encoded.text == "Kraków, ul. Łazarza – візит"


def test_a_character_outside_the_bmp_counts_two_ucs2_units():
    assert encode("😀" * 35).units == 70
    assert encode("😀" * 35).parts == 1
    assert encode("😀" * 36).parts == 2


def test_fit_takes_the_first_wording_within_the_limit_or_else_the_shortest():
    long, short = "я" * 200, "я" * 100
    assert fit([long, short]).text == short
    assert fit(["я" * 300, "я" * 250]).text == "я" * 250


# ---------------------------------------------------------------------------- wordings

PUBLIC = "https://wizyta.malopolska.uw.gov.pl"
REFERENCE = "KRK-7Q4M-X2"
LINKS = {
    "confirm": f"{PUBLIC}/bookings/{REFERENCE}/confirm?token=" + "A" * 43,
    "short": f"{PUBLIC}/bookings/{REFERENCE}?token=" + "B" * 22,
    "cancel": f"{PUBLIC}/bookings/{REFERENCE}/cancel?token=" + "C" * 22,
    "rebook": f"{PUBLIC}/points/krakow-przy-rondzie-6/book",
}
LINK_OF = {
    MessageKind.CONFIRMATION_REQUEST: "confirm",
    MessageKind.WAITLIST_OFFER: "confirm",
    MessageKind.REMINDER: "cancel",
    MessageKind.HOLD_EXPIRED: "rebook",
}


def a_visit(language: str) -> VisitSnapshot:
    return VisitSnapshot(
        reference=REFERENCE,
        uid="0b6f1a9e-3d2c-4f51-9a57-2b8e0c1d4f60@wizyta",
        sequence=0,
        status="confirmed",
        start=datetime(2027, 3, 29, 8, 0, tzinfo=UTC),
        end=datetime(2027, 3, 29, 8, 30, tzinfo=UTC),
        timezone="Europe/Warsaw",
        language=language,
        visitor_name="Олена",
        visitor_email="olena@example.com",
        point_name={"pl": "Punkt Informacyjno-Doradczy"},
        point_address="ul. Przy Rondzie 6, 31-547 Kraków",
        point_email="pid@muw.example",
        service_name={"pl": "Status sprawy"},
    )


@pytest.mark.parametrize("language", ["pl", "en", "uk", "ru", "ukl"])
@pytest.mark.parametrize("kind", [k for k in MessageKind if sends_by_sms(k)])
def test_every_sms_fits_in_two_parts_in_every_language_with_its_link_whole(language, kind):
    link = LINKS[LINK_OF.get(kind, "short")]
    wordings = sms_wordings(kind, a_visit(language), link=link, place="ul. Przy Rondzie 6, Kraków")
    sms = fit(wordings)
    assert sms.parts <= MAX_PARTS
    assert sms.text.endswith(link)
    assert "29.03 10:00" in sms.text or kind in (
        MessageKind.CONFIRMATION_REQUEST,
        MessageKind.WAITLIST_OFFER,
        MessageKind.CANCELLED,
        MessageKind.HOLD_EXPIRED,
    )
    expected = "UCS-2" if language in ("uk", "ru", "ukl") else "GSM-7"
    assert sms.encoding == expected


def test_a_reminder_in_english_says_when_where_and_how_to_give_the_time_back():
    text = fit(
        sms_wordings(
            MessageKind.REMINDER, a_visit("en"), link=LINKS["cancel"], place="ul. Przy Rondzie 6"
        )
    ).text
    assert text.startswith("Reminder: visit KRK-7Q4M-X2 on 29.03 10:00, ul. Przy Rondzie 6.")
    assert "Cannot come?" in text


def test_the_manage_link_asked_for_again_is_never_an_sms():
    assert not sends_by_sms(MessageKind.MANAGE_LINK)
    assert (
        sms_wordings(MessageKind.MANAGE_LINK, a_visit("en"), link=LINKS["short"], place="") is None
    )


# ---------------------------------------------------------------------------- channels


def row(**values):
    return {
        "visitor_email": "a@example.com",
        "visitor_phone": None,
        "notify_by": ["email"],
    } | values


def test_channels_follow_the_choice_as_far_as_the_visitor_can_be_reached():
    assert channels(row()) == {"email"}
    assert channels(row(visitor_phone="+48600100200", notify_by=["email", "sms"])) == {
        "email",
        "sms",
    }
    assert channels(row(visitor_phone="+48600100200", notify_by=["sms"])) == {"sms"}
    assert channels(row(notify_by=["sms"])) == {"email"}  # no phone: e-mail after all


def test_a_visit_without_an_e_mail_address_is_told_by_sms_only():
    assert channels(row(visitor_email=None, visitor_phone="+48600100200")) == {"sms"}
    assert channels(row(visitor_email=None)) == frozenset()


# ---------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("600 100 200", "+48600100200"),
        ("+48 600-100-200", "+48600100200"),
        ("0048600100200", "+48600100200"),
        ("+380 67 123 4567", "+380671234567"),
        ("+7 912 345-67-89", "+79123456789"),
    ],
)
def test_a_mobile_number_is_kept_in_e164(written, e164):
    assert valid_mobile(written) == e164


@pytest.mark.parametrize("landline", ["12 345 67 89", "+48 12 345 67 89", "+48 800 123 456"])
def test_a_landline_or_toll_free_number_is_refused_as_not_mobile(landline):
    with pytest.raises(PhoneNotMobile) as refused:
        valid_mobile(landline)
    assert refused.value.code == "phone_not_mobile"
    assert refused.value.field == "visitor.phone"


@pytest.mark.parametrize("wrong", ["12", "600 100 20", "+48 600 100 2000", "phone", "+999 1234"])
def test_a_number_in_the_wrong_format_is_refused_as_invalid(wrong):
    with pytest.raises(PhoneInvalid) as refused:
        valid_mobile(wrong)
    assert refused.value.code == "phone_invalid"


# ---------------------------------------------------------------------------- SMSAPI's answers


def test_sms_url_names_the_gateway_the_token_and_the_sender():
    server = parse_sms_url("smsapi://s3cr3t@api.smsapi.pl?from=Wizyta")
    assert server.base_url == "https://api.smsapi.pl"
    assert server.token == "s3cr3t" and server.sender_name == "Wizyta"
    assert "s3cr3t" not in repr(server)
    assert parse_sms_url("smsapi://tok@").base_url == "https://api.smsapi.pl"
    assert parse_sms_url("smsapi+http://tok@127.0.0.1:8081").base_url == "http://127.0.0.1:8081"
    for wrong in ("https://api.smsapi.pl", "smsapi://api.smsapi.pl", "twilio://x@y"):
        with pytest.raises(ValueError):
            parse_sms_url(wrong)


def body(value) -> bytes:
    return msgspec.json.encode(value)


def test_a_queued_message_is_sent():
    answer = {"count": 1, "list": [{"id": "17", "points": 0.16, "status": "QUEUE"}]}
    assert classify_smsapi(200, body(answer)) == "sent to SMSAPI as 17 (QUEUE)"


@pytest.mark.parametrize("code", [11, 12, 13, 57])
def test_refusals_about_the_message_or_the_number_are_permanent(code):
    with pytest.raises(PermanentFailure, match=f"SMSAPI error {code}"):
        classify_smsapi(200, body({"error": code, "message": "No correct phone numbers"}))


@pytest.mark.parametrize("code", [8, 101, 102, 103, 105, 201, 202, 203, 999])
def test_the_gateways_or_the_accounts_trouble_is_temporary(code):
    with pytest.raises(TemporaryFailure, match=f"SMSAPI error {code}"):
        classify_smsapi(200, body({"error": code, "message": "Try later"}))


def test_error_53_means_this_message_was_sent_before_under_its_idx():
    assert "already sent" in classify_smsapi(200, body({"error": 53, "message": "idx"}))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_answer_is_temporary(status):
    with pytest.raises(TemporaryFailure, match=str(status)):
        classify_smsapi(status, b"<html>Bad gateway</html>")


def test_an_answer_without_a_message_list_is_not_taken_for_a_success():
    with pytest.raises(TemporaryFailure):
        classify_smsapi(200, b"OK")
    with pytest.raises(PermanentFailure):
        classify_smsapi(404, b"not here")
