"""Tokens in URLs never reach the logs."""

from __future__ import annotations

import logging

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
