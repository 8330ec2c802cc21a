"""A claimed outbox row as the e-mail a visitor receives (notifications/mailer.py), without
any server: contacts, addresses and links."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from booking import links
from core.settings import Settings
from notifications.mailer import build_email
from scheduling import contacts

NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
KEY = b"k" * 32


def a_row(**overrides):
    row = {
        "id": 7,
        "booking_id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "kind": "confirmed",
        "row_sequence": 0,
        "due_at": NOW,
        "payload": {},
        "attempts": 0,
        "claims": 1,
        "reference": "TAR-7Q4M-X2",
        "point_id": "tarnow-solidarnosci-5-9",
        "starts_at": NOW + timedelta(days=3),
        "ends_at": NOW + timedelta(days=3, minutes=30),
        "language": "uk",
        "sequence": 0,
        "visitor_name": "Олена Коваленко",
        "visitor_email": "olena@example.org",
        "confirmed_at": NOW,
        "hold_expires_at": None,
        "status": "confirmed",
        "invited": False,
        "point_names": {"pl": "Punkt w Tarnowie, Al. Solidarności 5-9"},
        "point_address": {"street": "Al. Solidarności 5-9", "postal_code": "33-100"},
        "timezone": "Europe/Warsaw",
        "point_emails": [],
        "service_names": {"pl": "Sprawy codzienne"},
        "what_to_bring": None,
        "desk_names": None,
    }
    return row | overrides


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        public_url="https://wizyta.example",
        mail_from="Wizyta <no-reply@wizyta.example>",
        data_dir=tmp_path,
    )


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_point_without_contacts_gives_the_networks_never_the_no_reply_sender(settings):
    message = build_email(a_row(), settings, now=NOW, link_key=KEY)
    assert contacts.NETWORK_EMAILS[0] in text_of(message)
    assert message["Reply-To"] == "info.opt@muw.pl"
    assert "no-reply" not in text_of(message)
    assert "no-reply" not in message.get_body(preferencelist=("html",)).get_content()


def test_a_points_own_address_is_its_contact(settings):
    message = build_email(a_row(point_emails=["fami@muw.pl"]), settings, now=NOW, link_key=KEY)
    assert message["Reply-To"] == "fami@muw.pl"
    assert "info.opt@muw.pl" not in text_of(message)


def test_the_mail_carries_the_manage_link_with_the_visits_own_mail_token(settings):
    row = a_row()
    message = build_email(row, settings, now=NOW, link_key=KEY)
    token = links.mail_token(KEY, row["booking_id"])
    assert f"https://wizyta.example/bookings/TAR-7Q4M-X2/manage?token={token}" in text_of(message)
    assert token != links.mail_token(KEY, uuid.uuid4())
    assert token != links.mail_token(b"x" * 32, row["booking_id"])
    assert "=" not in token and len(token) == 43


def test_the_invitation_links_to_the_manage_page_too(settings):
    from icalendar import Calendar

    row = a_row()
    message = build_email(row, settings, now=NOW, link_key=KEY)
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    [event] = Calendar.from_ical(part.get_content()).walk("VEVENT")
    url = links.manage_url(
        settings.public_url, row["reference"], links.mail_token(KEY, row["booking_id"])
    )
    assert str(event["URL"]) == url
    assert url in str(event["DESCRIPTION"])
