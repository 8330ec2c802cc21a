"""What reaches iCalendar TEXT (RFC 5545 §3.3.11), the LOCATION line and ORGANIZER's SENT-BY."""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

import pytest
from icalendar import Calendar

from core.ical import ical_text
from notifications.invitation import build_invitation, build_visit_ics, location
from scheduling.feed import build_hours_feed
from scheduling.rules import CalendarRule, RuleKind
from staff.feeds import FeedVisit, build_staff_feed
from tests.unit.test_invitation import DTSTAMP, a_visit

HOSTILE = "a\u0001\u001f\u007f\u0085b\r\nc\td"


def _raw_controls(body: bytes) -> set[str]:
    """Control characters other than HTAB and the CRLF that ends each content line."""
    text = body.decode().replace("\r\n", "")
    return {c for c in text if (ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) <= 0x9F}


def test_ical_text_keeps_tabs_and_makes_line_breaks_spaces_or_newlines():
    assert ical_text(HOSTILE) == "ab c\td"
    assert ical_text(HOSTILE, lines=True) == "ab\nc\td"


@pytest.mark.parametrize("build", ["REQUEST", "CANCEL", "PUBLISH"])
def test_an_invitation_carries_no_control_character_from_a_visitors_name(build):
    visit = a_visit(visitor_name=HOSTILE, desk_name=HOSTILE, service_name={"uk": HOSTILE})
    if build == "PUBLISH":
        body = build_visit_ics(visit, dtstamp=DTSTAMP)
    else:
        body = build_invitation(visit, method=build, dtstamp=DTSTAMP)
    assert _raw_controls(body) == set()
    event = next(iter(Calendar.from_ical(body).walk("VEVENT")))
    if build != "PUBLISH":
        assert event["ATTENDEE"].params["CN"] == "ab c d"
    assert str(event["SUMMARY"]).startswith("ab c\td")


def test_the_staff_feed_and_the_hours_feed_carry_no_control_character():
    start = dt.datetime(2027, 3, 29, 8, tzinfo=dt.UTC)
    visit = FeedVisit(
        booking_id=uuid4(),
        reference="KRK-7Q4M-X2",
        status="confirmed",
        sequence=0,
        start=start,
        end=start + dt.timedelta(minutes=30),
        service=HOSTILE,
        language="uk",
        desk=HOSTILE,
        visitor_name=HOSTILE,
        needs=[HOSTILE],
        updated_at=start,
    )
    staff = build_staff_feed(
        point_id="p",
        point_name=HOSTILE,
        timezone="Europe/Warsaw",
        visits=[visit],
        show_names=True,
        window_start=start.date(),
        public_url="http://wizyta.test",
    )
    assert _raw_controls(staff) == set()
    day = dt.date(2027, 3, 29)
    rule = CalendarRule(
        id="r",
        kind=RuleKind.SPECIAL,
        dates=(day,),
        opens=dt.time(9),
        closes=dt.time(12),
        labels={"pl": "Sobota\u007f" + HOSTILE},
    )
    hours = build_hours_feed(
        point_id="p",
        point_name={"pl": HOSTILE},
        address=HOSTILE,
        timezone="Europe/Warsaw",
        rules=[rule],
        observes_holidays=True,
        window_start=day,
        window_end=day,
        public_url="http://wizyta.test",
    )
    assert _raw_controls(hours) == set()
    assert b"Sobotaab c" in hours.replace(b"\r\n ", b"")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "Punkt Informacyjno-Doradczy, ul. Basztowa 22",
            "Punkt Informacyjno-Doradczy, ul. Basztowa 22, 31-156 Kraków",
        ),
        ("Пункт, вул. Basztowa 22", "Пункт, ul. Basztowa 22, 31-156 Kraków"),
        (
            "Punkt, Wydział Spraw Cudzoziemców",
            "Punkt, Wydział Spraw Cudzoziemców, ul. Basztowa 22, 31-156 Kraków",
        ),
    ],
)
def test_the_location_names_the_street_once(name, expected):
    assert location(name, "ul. Basztowa 22, 31-156 Kraków") == expected


def test_the_organizer_is_sent_by_the_address_the_mail_comes_from():
    visit = a_visit(point_email="fami@muw.pl", sent_by="no-reply@wizyta.test")
    event = next(
        iter(
            Calendar.from_ical(build_invitation(visit, method="REQUEST", dtstamp=DTSTAMP)).walk(
                "VEVENT"
            )
        )
    )
    assert str(event["ORGANIZER"]) == "mailto:fami@muw.pl"
    assert event["ORGANIZER"].params["SENT-BY"] == "mailto:no-reply@wizyta.test"
    same = a_visit(point_email="fami@muw.pl", sent_by="FAMI@muw.pl")
    body = build_invitation(same, method="REQUEST", dtstamp=DTSTAMP)
    assert b"SENT-BY" not in body
