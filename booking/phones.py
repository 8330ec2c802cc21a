"""A visitor's phone number, checked and written one way (E.164) on its way in.

Numbers are read with Google's libphonenumber (the `phonenumbers` package): one written without
a country code is taken as Polish. It must be a valid number of a mobile phone, the only kind an
SMS reaches: a landline, a toll-free or premium line, or a number of the wrong length is
refused with a sentence, before anything is written.
"""

from __future__ import annotations

from booking.domain.errors import PhoneInvalid, PhoneNotMobile

DEFAULT_REGION = "PL"


def valid_mobile(text: str) -> str:
    """The number in E.164 ("+48600100200") if an SMS can reach it; PhoneInvalid or
    PhoneNotMobile if not."""
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneNumberType

    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except NumberParseException as e:
        raise PhoneInvalid(reason=str(e)) from e
    if not phonenumbers.is_valid_number(number):
        raise PhoneInvalid(reason="no such number")
    kind = phonenumbers.number_type(number)
    # FIXED_LINE_OR_MOBILE: where the numbering plan cannot tell (the United States).
    if kind not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise PhoneNotMobile()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sms_number(text: str | None) -> str | None:
    """The number in E.164 if an SMS can reach it, else None (a phone staff wrote down for a
    call may be a landline: kept, but never texted)."""
    if not text:
        return None
    try:
        return valid_mobile(text)
    except (PhoneInvalid, PhoneNotMobile):
        return None
