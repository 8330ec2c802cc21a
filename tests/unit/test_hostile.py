"""The checks of core.hostile, without a server."""

from __future__ import annotations

import pytest

from core.hostile import Refusal, check_body, check_query


@pytest.mark.parametrize(
    "query",
    [b"a=%00", b"%00=1", b"a=b%00c&d=e", b"a=\x00"],
)
def test_a_nul_anywhere_in_the_decoded_query_is_refused(query):
    with pytest.raises(Refusal) as refused:
        check_query(query)
    assert refused.value.code == "nul_byte"


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "3000-01-01", "9999-12-31T23:59:59Z"])
def test_a_day_outside_the_calendar_in_a_query_is_refused(day):
    with pytest.raises(Refusal) as refused:
        check_query(f"from={day}".encode())
    assert refused.value.code == "date_out_of_range"
    assert refused.value.extra["field"] == "from"


@pytest.mark.parametrize("query", [b"from=2027-03-28&to=2027-04-01", b"a=%2500", b"day=2027-02-30"])
def test_ordinary_queries_pass(query):
    check_query(query)


def test_a_json_escape_of_nul_names_the_field():
    with pytest.raises(Refusal) as refused:
        check_body("/api/v1/x", "application/json", b'{"a": [{"b": "x\\u0000"}]}')
    assert refused.value.code == "nul_byte"
    assert "a[0].b" in refused.value.detail


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul():
    check_body("/api/v1/x", "application/json", b'{"a": "\\\\u0000"}')


def test_a_body_that_is_not_json_is_unsupported_under_the_api_only():
    with pytest.raises(Refusal) as refused:
        check_body("/api/v1/bookings", "text/plain", b"{}")
    assert refused.value.status == 415
    check_body("/points/x/book", "application/x-www-form-urlencoded", b"a=b")
    check_body("/api/v1/bookings", "application/problem+json; charset=utf-8", b"{}")
