"""The mails and the invitation say which channel a visit is: on site (the address is the
LOCATION), by phone (who calls which number), by video (the room's link as LOCATION and URL);
a family's number of people and every matter of the visit are named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from notifications.invitation import build_invitation
from notifications.messages.catalog import MessageKind
from notifications.messages.render import render_message
from tests.unit.test_invitation import DTSTAMP, a_visit

ROOM = "https://meet.example.org/wizyta-Abc_def-123456789XYZ"
PHONE = "+48 600 100 200"


def event_of(body: bytes):
    (event,) = Calendar.from_ical(body).walk("VEVENT")
    return event


def test_an_on_site_invitation_has_the_address_as_location():
    event = event_of(build_invitation(a_visit(), method="REQUEST", dtstamp=DTSTAMP))
    assert "ul. Przy Rondzie 6, 31-547 Kraków" in str(event["LOCATION"])
    assert str(event["URL"]) == "https://wizyta.example/manage/KRK-7Q4M-X2"


def test_a_video_invitation_carries_the_room_as_location_url_and_conference():
    visit = a_visit(channel="video", video_url=ROOM)
    event = event_of(build_invitation(visit, method="REQUEST", dtstamp=DTSTAMP))
    assert str(event["LOCATION"]) == ROOM
    assert str(event["URL"]) == ROOM
    assert str(event["CONFERENCE"]) == ROOM
    assert "https://wizyta.example/manage/KRK-7Q4M-X2" in str(event["DESCRIPTION"])


@pytest.mark.parametrize("language", ["pl", "en", "uk", "ru"])
def test_a_phone_visit_says_who_calls_which_number_in_every_language(language):
    visit = a_visit(channel="phone", visitor_phone=PHONE, language=language)
    event = event_of(build_invitation(visit, method="REQUEST", dtstamp=DTSTAMP))
    assert PHONE in str(event["LOCATION"])
    assert "Przy Rondzie 6" not in str(event["LOCATION"])
    message = render_message(MessageKind.CONFIRMED, visit)
    assert PHONE in message.text and PHONE in message.html
    point = visit.point_name[language]
    assert point.split(",")[0] in message.text


@pytest.mark.parametrize("language", ["pl", "en", "uk", "ru"])
def test_a_video_visit_mail_gives_its_room(language):
    visit = a_visit(channel="video", video_url=ROOM, language=language)
    message = render_message(MessageKind.REMINDER, visit)
    assert ROOM in message.text
    assert f'href="{ROOM}"' not in message.text and ROOM in message.html


def test_a_family_and_several_matters_are_named():
    visit = a_visit(
        party_size=3,
        extra_service_names=[{"en": "Everyday matters", "pl": "Sprawy codzienne"}],
        language="en",
        end=datetime(2027, 3, 29, 9, 20, tzinfo=UTC),
    )
    message = render_message(MessageKind.CONFIRMED, visit)
    assert "People: 3" in message.text
    assert "Status of a pending case; Everyday matters" in message.text
    event = event_of(build_invitation(visit, method="REQUEST", dtstamp=DTSTAMP))
    assert "People: 3" in str(event["DESCRIPTION"])
    assert str(event["SUMMARY"]).startswith("Status of a pending case; Everyday matters")


def test_the_staff_feed_marks_phone_video_and_family_visits_never_their_numbers():
    import datetime as dt
    import uuid

    from staff.feeds import FeedVisit, summary

    visit = FeedVisit(
        booking_id=uuid.uuid4(),
        reference="KRK-7Q4M-X2",
        status="confirmed",
        sequence=0,
        start=dt.datetime(2027, 3, 29, 8, tzinfo=UTC),
        end=dt.datetime(2027, 3, 29, 8, 30, tzinfo=UTC),
        service="Sprawy codzienne",
        language="uk",
        desk="Stanowisko 1",
        visitor_name="Olena",
        needs=[],
        updated_at=dt.datetime(2027, 3, 1, tzinfo=UTC),
        channel="phone",
        party_size=3,
    )
    assert (
        summary(visit, show_names=False) == "KRK-7Q4M-X2 · Sprawy codzienne · uk · telefon · 3 os."
    )
