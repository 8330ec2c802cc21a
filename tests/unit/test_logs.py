"""Tokens in URLs never reach the logs."""

from __future__ import annotations

import logging

import pytest

from core.logs import RedactSecrets, redact


def test_a_staff_feed_token_in_a_path_is_masked():
    line = 'GET /calendars/staff/Zx9_abc-DEF.ics HTTP/1.1" 200'
    assert redact(line) == 'GET /calendars/staff/***.ics HTTP/1.1" 200'


def test_a_token_in_a_query_string_is_masked_and_the_rest_kept():
    assert redact("/bookings/KRK-7Q4M-X2/confirm?token=s3cr3t&lang=uk") == (
        "/bookings/KRK-7Q4M-X2/confirm?token=***&lang=uk"
    )


def test_the_filter_masks_uvicorn_access_log_arguments():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/calendars/staff/secret.ics", "1.1", 200),
        None,
    )
    RedactSecrets().filter(record)
    assert "secret" not in record.getMessage()
    assert "/calendars/staff/***.ics" in record.getMessage()


@pytest.mark.parametrize(
    "path",
    [
        "/bookings/KRK-7Q4M-X2/confirm?to%6Ben=s3cr3t",
        "/bookings/KRK-7Q4M-X2/confirm?%74oken=s3cr3t",
        "/bookings/KRK-7Q4M-X2/manage?lang=uk&%74%6F%6B%65%6E=s3cr3t",
        "/calendars/%73taff/s3cr3t.ics",
        "/calendars/staff%2fs3cr3t.ics",
        "/calendars/staff%2Fs3cr3t.ics?x=%0Aforged",
    ],
)
def test_a_percent_encoded_token_is_masked_by_the_real_access_log_formatter(path):
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )
    RedactSecrets().filter(record)
    line = AccessFormatter("%(message)s", use_colors=False).format(record)
    assert "s3cr3t" not in line
    assert "***" in line
    assert "\n" not in line


def test_a_word_with_escapes_but_no_token_is_kept_as_it_came():
    assert redact("/points/a%20b?from=2027-01-01") == "/points/a%20b?from=2027-01-01"
