"""Reading calendar apps' REPLYs (notifications/inbound.py) as Google Calendar, Outlook and
Thunderbird write them, and the invitation that asks for them (ORGANIZER, RSVP=TRUE)."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import msgspec
import pytest
from icalendar import Calendar

from booking.reminders import parse_offsets
from notifications.invitation import build_invitation
from notifications.itip_reply import Reply, calendar_parts, replies_in
from tests.unit.test_invitation import DTSTAMP, a_visit

FIXTURES = Path(__file__).parent / "fixtures"
UID = "0b6f1a9e-3d2c-4f51-9a57-2b8e0c1d4f60@wizyta"


def filled(fixture: str, partstat: str = "DECLINED") -> bytes:
    text = (FIXTURES / fixture).read_text()
    for name, value in {
        "UID": UID,
        "SEQUENCE": "1",
        "PARTSTAT": partstat,
        "ATTENDEE": "olena@example.com",
        "FROM": "olena@example.com",
        "ORGANIZER": "replies@wizyta.test",
    }.items():
        text = text.replace("{{" + name + "}}", value)
    return text.encode()


@pytest.mark.parametrize(
    "fixture", ["reply_google_calendar.eml", "reply_outlook.eml", "reply_thunderbird.eml"]
)
def test_each_apps_reply_reads_as_one_reply_of_the_attendee(fixture):
    message = BytesParser(policy=default).parsebytes(filled(fixture))
    found = {reply for part in calendar_parts(message) for reply in replies_in(part)[1]}
    methods = {replies_in(part)[0] for part in calendar_parts(message)}
    assert methods == {"REPLY"}
    assert found == {Reply(UID, 1, "olena@example.com", "DECLINED")}


def test_a_calendar_with_a_wrong_end_is_malformed():
    message = BytesParser(policy=default).parsebytes(filled("reply_outlook.eml"))
    [part] = list(calendar_parts(message))
    with pytest.raises(ValueError, match="closes nothing"):
        replies_in(part.replace(b"END:VEVENT", b"END:VTODO"))
    with pytest.raises(ValueError):
        replies_in(b"not a calendar")


def test_a_reply_naming_two_attendees_is_malformed():
    message = BytesParser(policy=default).parsebytes(filled("reply_thunderbird.eml"))
    part = next(calendar_parts(message))
    twice = part.replace(
        b"SEQUENCE:1", b"ATTENDEE;PARTSTAT=ACCEPTED:mailto:mallory@example.net\r\nSEQUENCE:1", 1
    )
    with pytest.raises(ValueError, match="one ATTENDEE"):
        replies_in(twice)


def test_an_invitation_asks_the_attendee_to_answer_to_the_inbound_address():
    visit = msgspec.structs.replace(a_visit(), replies_to="replies@wizyta.test")
    (event,) = Calendar.from_ical(build_invitation(visit, method="REQUEST", dtstamp=DTSTAMP)).events
    assert event["ORGANIZER"] == "mailto:replies@wizyta.test"
    assert event["ATTENDEE"].params["RSVP"] == "TRUE"
    (cancel,) = Calendar.from_ical(build_invitation(visit, method="CANCEL", dtstamp=DTSTAMP)).events
    assert cancel["ORGANIZER"] == "mailto:replies@wizyta.test"


@pytest.mark.parametrize("wrong", ["10m", "8d", "24h,12h,6h,1h", "0h"])
def test_reminder_offsets_stay_within_their_limits(wrong):
    with pytest.raises(ValueError):
        parse_offsets(wrong)
    assert parse_offsets("7d,30m") == parse_offsets("30m, 7d")
