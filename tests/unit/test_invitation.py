"""iCalendar invitations for a visit: RFC 5545 objects in RFC 5546 iTIP messages.

The golden file under fixtures/ is regenerated with `python -m tests.unit.test_invitation`
after a deliberate change (or an icalendar upgrade that changes folding); read the diff.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from dateutil import tz as dateutil_tz
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event, Timezone

from notifications.invitation import (
    PRODID,
    VisitSnapshot,
    build_invitation,
    build_visit_ics,
    vtimezone,
    written_language,
)

FIXTURES = Path(__file__).parent / "fixtures"
WARSAW = ZoneInfo("Europe/Warsaw")
DTSTAMP = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)


def a_visit(**changes: object) -> VisitSnapshot:
    visit = VisitSnapshot(
        reference="KRK-7Q4M-X2",
        uid="0b6f1a9e-3d2c-4f51-9a57-2b8e0c1d4f60@wizyta",
        sequence=1,
        status="confirmed",
        start=datetime(2027, 3, 29, 8, 0, tzinfo=UTC),
        end=datetime(2027, 3, 29, 8, 30, tzinfo=UTC),
        timezone="Europe/Warsaw",
        language="uk",
        visitor_name="Олена Коваленко",
        visitor_email="olena@example.com",
        point_name={
            "pl": "Punkt Informacyjno-Doradczy, Wydział Spraw Cudzoziemców",
            "en": "Information and Advisory Point, Department of Foreigners",
            "uk": "Інформаційно-консультаційний пункт, Відділ у справах іноземців",
            "ru": "Информационно-консультационный пункт, Отдел по делам иностранцев",
        },
        point_address="ul. Przy Rondzie 6, 31-547 Kraków",
        point_email="pid@muw.example",
        service_name={
            "pl": "Status sprawy",
            "en": "Status of a pending case",
            "uk": "Статус справи",
            "ru": "Статус дела",
        },
        what_to_bring={
            "pl": "Paszport i numer sprawy",
            "en": "Passport and case number",
            "uk": "Паспорт і номер справи",
            "ru": "Паспорт и номер дела",
        },
        manage_url="https://wizyta.example/manage/KRK-7Q4M-X2",
        desk_name="Sala obsługi 1",
    )
    return msgspec.structs.replace(visit, **changes)


def the_event(ics: bytes) -> Event:
    (event,) = Calendar.from_ical(ics).events
    return event


def request(visit: VisitSnapshot, **options: object) -> bytes:
    return build_invitation(visit, method="REQUEST", dtstamp=DTSTAMP, **options)


def cancel(visit: VisitSnapshot) -> bytes:
    return build_invitation(visit, method="CANCEL", dtstamp=DTSTAMP)


def offset_by_the_vtimezone_alone(ics: bytes, wall_clock: datetime) -> timedelta | None:
    """The UTC offset the calendar's own VTIMEZONE gives, read by dateutil, not by its TZID."""
    (component,) = Calendar.from_ical(ics).timezones
    zone = dateutil_tz.tzical(StringIO(component.to_ical().decode())).get()
    return wall_clock.replace(tzinfo=zone).utcoffset()


def test_a_request_parses_back_as_one_calendar_with_the_contracted_header() -> None:
    calendar = Calendar.from_ical(request(a_visit()))
    assert calendar["PRODID"] == PRODID == "-//wizyta//wizyta//EN"
    assert calendar["VERSION"] == "2.0"
    assert calendar["CALSCALE"] == "GREGORIAN"
    assert calendar["METHOD"] == "REQUEST"
    assert len(calendar.events) == 1
    assert [zone.tz_name for zone in calendar.timezones] == ["Europe/Warsaw"]


def test_request_and_cancel_carry_the_same_uid_and_the_visits_sequence() -> None:
    requested = the_event(request(a_visit(sequence=0)))
    cancelled = the_event(cancel(a_visit(sequence=3)))
    assert requested["UID"] == cancelled["UID"] == "0b6f1a9e-3d2c-4f51-9a57-2b8e0c1d4f60@wizyta"
    assert requested["SEQUENCE"] == 0
    assert cancelled["SEQUENCE"] == 3


def test_a_request_for_a_confirmed_visit_is_confirmed_and_already_accepted() -> None:
    event = the_event(request(a_visit()))
    assert event["STATUS"] == "CONFIRMED"
    attendee = event["ATTENDEE"]
    assert attendee.params["PARTSTAT"] == "ACCEPTED"
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert attendee.params["RSVP"] == "FALSE"


def test_a_cancel_is_cancelled_in_the_method_and_the_status() -> None:
    ics = cancel(a_visit(status="cancelled", sequence=2))
    assert Calendar.from_ical(ics)["METHOD"] == "CANCEL"
    event = the_event(ics)
    assert event["STATUS"] == "CANCELLED"
    assert "PARTSTAT" not in event["ATTENDEE"].params


def test_a_request_has_a_display_alarm_two_hours_before_the_visit() -> None:
    (alarm,) = the_event(request(a_visit())).walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm["TRIGGER"].to_ical() == b"-PT2H"
    assert "Статус справи" in alarm["DESCRIPTION"]


def test_the_alarm_can_go_off_at_another_time() -> None:
    (alarm,) = the_event(request(a_visit(), alarm_before=timedelta(days=1))).walk("VALARM")
    assert alarm["TRIGGER"].to_ical() == b"-P1D"


def test_a_cancel_has_no_alarm() -> None:
    assert the_event(cancel(a_visit(status="cancelled"))).walk("VALARM") == []


def test_dtstart_is_warsaw_wall_clock_time_for_the_same_instant() -> None:
    ics = request(a_visit())
    event = the_event(ics)
    assert event["DTSTART"].params["TZID"] == "Europe/Warsaw"
    assert event["DTEND"].params["TZID"] == "Europe/Warsaw"
    assert event.start == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
    assert event.end == datetime(2027, 3, 29, 8, 30, tzinfo=UTC)
    assert b"DTSTART;TZID=Europe/Warsaw:20270329T100000\r\n" in ics
    assert b"DTSTAMP:20270320T120000Z\r\n" in ics


@pytest.mark.parametrize(
    ("start", "wall_clock", "offset_hours"),
    [
        # the Monday after clocks went forward (2027-03-28)
        (datetime(2027, 3, 29, 8, 0, tzinfo=UTC), datetime(2027, 3, 29, 10, 0), 2),
        # the day clocks go back (2026-10-25), before and after the change
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 2, 30), 2),
        (datetime(2026, 10, 25, 8, 0, tzinfo=UTC), datetime(2026, 10, 25, 9, 0), 1),
        # the day clocks go forward, just after the gap
        (datetime(2027, 3, 28, 1, 30, tzinfo=UTC), datetime(2027, 3, 28, 3, 30), 2),
        # winter and summer
        (datetime(2027, 1, 15, 8, 0, tzinfo=UTC), datetime(2027, 1, 15, 9, 0), 1),
        (datetime(2026, 7, 15, 8, 0, tzinfo=UTC), datetime(2026, 7, 15, 10, 0), 2),
    ],
)
def test_the_vtimezone_covers_the_visits_date_including_dst_changes(
    start: datetime, wall_clock: datetime, offset_hours: int
) -> None:
    ics = request(a_visit(start=start, end=start + timedelta(minutes=30)))
    event = the_event(ics)
    assert event["DTSTART"].dt.replace(tzinfo=None) == wall_clock
    assert offset_by_the_vtimezone_alone(ics, wall_clock) == timedelta(hours=offset_hours)


def test_the_vtimezone_is_written_as_yearly_rules_that_outlook_reads() -> None:
    component = vtimezone("Europe/Warsaw", datetime(2027, 3, 29, tzinfo=UTC))
    ical = component.to_ical().decode()
    assert "RDATE" not in ical
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in ical
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in ical
    # RFC 5545 §3.6.5: the onset is the wall-clock time before the change
    assert "DTSTART:20260329T020000" in ical
    assert "DTSTART:20261025T030000" in ical


def test_a_zone_without_yearly_rules_falls_back_to_icalendars_vtimezone() -> None:
    component = vtimezone("Asia/Dubai", datetime(2027, 3, 29, tzinfo=UTC))
    assert isinstance(component, Timezone)
    assert component.tz_name == "Asia/Dubai"
    assert [observance["TZOFFSETTO"].td for observance in component.standard] == [
        timedelta(hours=4)
    ]


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    tzid=st.sampled_from(["Europe/Warsaw", "America/New_York", "Australia/Sydney"]),
)
def test_any_start_in_any_zone_reads_back_as_the_same_instant(start: datetime, tzid: str) -> None:
    start = start.replace(second=0, microsecond=0)
    ics = request(a_visit(start=start, end=start + timedelta(minutes=30), timezone=tzid))
    dtstart = the_event(ics)["DTSTART"]
    if "TZID" not in dtstart.params:  # the second of two equal wall-clock times: written in UTC
        assert dtstart.dt == start
        assert start.astimezone(ZoneInfo(tzid)).fold == 1
        return
    wall_clock = dtstart.dt.replace(tzinfo=None)
    assert wall_clock - offset_by_the_vtimezone_alone(ics, wall_clock) == start.replace(tzinfo=None)


def test_the_second_of_two_equal_wall_clock_times_is_written_in_utc() -> None:
    # 2026-10-25 02:30 happens twice in Warsaw; RFC 5545 §3.3.5 reads TZID time as the first.
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    ics = request(a_visit(start=second, end=second + timedelta(minutes=30)))
    assert b"DTSTART:20261025T013000Z\r\n" in ics
    assert the_event(ics).start == second


def test_organizer_is_the_point_and_attendee_the_visitor_as_mailto_addresses() -> None:
    event = the_event(request(a_visit()))
    assert event["ORGANIZER"] == "mailto:pid@muw.example"
    assert event["ORGANIZER"].params["CN"] == (
        "Інформаційно-консультаційний пункт, Відділ у справах іноземців"
    )
    assert event["ATTENDEE"] == "mailto:olena@example.com"
    assert event["ATTENDEE"].params["CN"] == "Олена Коваленко"


def test_summary_and_location_are_in_the_visits_language() -> None:
    event = the_event(request(a_visit(language="ru")))
    assert event["SUMMARY"] == "Статус дела – ul. Przy Rondzie 6, 31-547 Kraków"  # short
    assert len(event["SUMMARY"]) <= 80
    assert event["SUMMARY"].params["LANGUAGE"] == "ru"
    assert event["LOCATION"] == (
        "Информационно-консультационный пункт, Отдел по делам иностранцев, "
        "ul. Przy Rondzie 6, 31-547 Kraków"
    )


def test_the_description_carries_the_reference_what_to_bring_and_the_manage_link() -> None:
    description = the_event(request(a_visit(language="pl")))["DESCRIPTION"]
    assert "Numer rezerwacji: KRK-7Q4M-X2" in description
    assert "Stanowisko: Sala obsługi 1" in description
    assert "Co zabrać ze sobą:\nPaszport i numer sprawy" in description
    assert "https://wizyta.example/manage/KRK-7Q4M-X2" in description


def test_the_description_leaves_out_what_the_visit_does_not_have() -> None:
    visit = a_visit(language="en", what_to_bring=None, manage_url=None, desk_name=None)
    event = the_event(request(visit))
    assert event["DESCRIPTION"] == "Booking reference: KRK-7Q4M-X2"
    assert "URL" not in event


@pytest.mark.parametrize(("sign", "written"), [("pjm", "pl"), ("ukl", "uk"), ("rsl", "ru")])
def test_a_sign_language_visit_is_written_in_the_matching_language(sign: str, written: str) -> None:
    assert written_language(sign) == written
    assert the_event(request(a_visit(language=sign)))["SUMMARY"].params["LANGUAGE"] == written


def test_a_held_visit_is_requested_as_tentative_and_not_yet_accepted() -> None:
    event = the_event(request(a_visit(status="held")))
    assert event["STATUS"] == "TENTATIVE"
    assert event["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"


@pytest.mark.parametrize("status", ["cancelled", "expired"])
def test_a_visit_that_is_gone_cannot_be_sent_as_a_request(status: str) -> None:
    with pytest.raises(ValueError, match="CANCEL"):
        request(a_visit(status=status))


def test_the_calendar_download_is_published_with_the_same_uid_and_sequence() -> None:
    ics = build_visit_ics(a_visit(sequence=4), DTSTAMP)
    assert Calendar.from_ical(ics)["METHOD"] == "PUBLISH"
    event = the_event(ics)
    assert event["UID"] == the_event(request(a_visit()))["UID"]
    assert event["SEQUENCE"] == 4
    assert event["STATUS"] == "CONFIRMED"
    assert event["ORGANIZER"] == "mailto:pid@muw.example"
    # RFC 5546 §3.2.1: a published event has no attendees
    assert "ATTENDEE" not in event
    assert len(event.walk("VALARM")) == 1


def test_the_download_of_a_cancelled_visit_is_cancelled_without_alarm() -> None:
    event = the_event(build_visit_ics(a_visit(status="cancelled"), DTSTAMP))
    assert event["STATUS"] == "CANCELLED"
    assert event.walk("VALARM") == []


def test_lines_end_with_crlf_and_are_folded_to_75_octets() -> None:
    ics = request(a_visit())
    assert ics.endswith(b"END:VCALENDAR\r\n")
    lines = ics.split(b"\r\n")
    assert b"\n" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 75


def test_a_quote_in_a_name_does_not_become_an_rfc_6868_escape() -> None:
    event = the_event(request(a_visit(visitor_name='Anna "Ania" Nowak')))
    assert event["ATTENDEE"].params["CN"] == "Anna 'Ania' Nowak"


def test_a_naive_or_backwards_visit_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        a_visit(start=datetime(2027, 3, 29, 10, 0))
    with pytest.raises(ValueError, match="end after"):
        a_visit(end=datetime(2027, 3, 29, 7, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="written language"):
        a_visit(language="de")


def the_golden_request() -> bytes:
    return request(a_visit())


def test_the_request_is_line_for_line_the_reviewed_fixture() -> None:
    # compared line by line, so a checkout that rewrites CRLF does not fail it
    reviewed = (FIXTURES / "invitation_request_uk.ics").read_bytes()
    assert the_golden_request().splitlines() == reviewed.splitlines()


if __name__ == "__main__":
    (FIXTURES / "invitation_request_uk.ics").write_bytes(the_golden_request())
