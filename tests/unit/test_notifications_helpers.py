"""The notifications' pure helpers: reminder times, SMTP_URL, backoff, failure classes.

No I/O here; these would sit in tests/unit, kept beside the other notifications tests for now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiosmtplib
import pytest

from booking.reminders import parse_offsets, reminder_times
from notifications.config import MailConfig
from notifications.mailer import postal_address
from notifications.transport import (
    PermanentFailure,
    SmtpServer,
    TemporaryFailure,
    classify,
    parse_smtp_url,
)

NOW = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)


def test_reminders_are_due_one_per_offset_still_ahead_earliest_first():
    start = NOW + timedelta(hours=30)
    offsets = parse_offsets("24h,2h")
    assert reminder_times(start, NOW, offsets) == [
        (start - timedelta(hours=24), "24h"),
        (start - timedelta(hours=2), "2h"),
    ]


def test_reminders_already_past_are_skipped():
    assert [label for _, label in reminder_times(NOW + timedelta(hours=3), NOW)] == ["2h"]
    assert reminder_times(NOW + timedelta(hours=1), NOW) == []


def test_odd_offsets_are_named_in_minutes_and_bad_ones_refused():
    offsets = parse_offsets("2d,90m")
    assert [label for _, label in reminder_times(NOW + timedelta(days=3), NOW, offsets)] == [
        "48h",
        "90m",
    ]
    with pytest.raises(ValueError):
        parse_offsets("tomorrow")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mailpit:1025", SmtpServer(host="mailpit", port=1025)),
        ("smtp://relay.example", SmtpServer(host="relay.example", port=25)),
        (
            "smtp://user%40example.pl:p%40ss@relay.example:587",
            SmtpServer(
                host="relay.example",
                port=587,
                start_tls=True,
                username="user@example.pl",
                password="p@ss",
            ),
        ),
        (
            "smtp://relay.example:2525?starttls=1",
            SmtpServer(host="relay.example", port=2525, start_tls=True),
        ),
        (
            "smtp://relay.example:587?starttls=0",
            SmtpServer(host="relay.example", port=587, start_tls=False),
        ),
        (
            "smtps://relay.example",
            SmtpServer(host="relay.example", port=465, use_tls=True, start_tls=False),
        ),
    ],
)
def test_smtp_url_says_host_port_tls_and_credentials(url, expected):
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://relay.example",
        "smtp://",
        "smtps://relay.example?starttls=1",
        "smtp://h?starttls=maybe",
    ],
)
def test_a_malformed_smtp_url_is_refused(url):
    with pytest.raises(ValueError):
        parse_smtp_url(url)


def test_an_smtp_server_never_shows_its_password():
    server = parse_smtp_url("smtp://user:secret@relay.example:587")
    assert "secret" not in repr(server) and "secret" not in server.where


def test_backoff_doubles_from_the_base_up_to_the_cap():
    config = MailConfig(retry_base=60, retry_cap=3600)
    assert [config.backoff(n) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_mail_config_reads_the_environment_and_refuses_nonsense():
    config = MailConfig.from_env({"SMTP_TIMEOUT": "10", "MAIL_MAX_ATTEMPTS": "4"})
    assert (config.smtp_timeout, config.max_attempts, config.max_jobs) == (10, 4, 20)
    with pytest.raises(SystemExit):
        MailConfig.from_env({"MAIL_MAX_ATTEMPTS": "many"})
    with pytest.raises(SystemExit):
        MailConfig.from_env({"WORKER_MAX_JOBS": "0"})


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (aiosmtplib.SMTPDataError(421, "Try again later"), TemporaryFailure),
        (aiosmtplib.SMTPDataError(550, "No such mailbox"), PermanentFailure),
        (aiosmtplib.SMTPSenderRefused(451, "Greylisted", "a@b.c"), TemporaryFailure),
        (aiosmtplib.SMTPAuthenticationError(535, "Bad credentials"), TemporaryFailure),
        (aiosmtplib.SMTPConnectError("refused"), TemporaryFailure),
        (ConnectionRefusedError(111, "Connection refused"), TemporaryFailure),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(450, "Mailbox busy", "a@b.c")]
            ),
            TemporaryFailure,
        ),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(550, "Unknown user", "a@b.c")]
            ),
            PermanentFailure,
        ),
    ],
)
def test_smtp_errors_are_temporary_for_4xx_and_permanent_for_5xx(error, kind):
    assert isinstance(classify(error), kind)


def test_a_point_address_reads_as_written_on_an_envelope():
    full = {"street": "ul. Przy Rondzie 6", "postal_code": "31-547", "city": "Kraków"}
    assert postal_address(full) == "ul. Przy Rondzie 6, 31-547 Kraków"
    assert postal_address(
        {"street": "ul. Chłopickiego 4", "postal_code": None, "city": "Kraków"}
    ) == ("ul. Chłopickiego 4, Kraków")
