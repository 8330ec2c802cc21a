"""Hostile input (issue 14): each finding reproduced against the real app, one test each."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from tests.staff_helpers import auth, login, make_accounts

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
PROBLEM = "application/problem+json"


@pytest.fixture
async def admin(client, seeded):
    accounts = await make_accounts(seeded)
    return auth(await login(client, accounts.admin))


def _refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] and body["title"] and body["detail"]


# ------------------------------------------------------------------ 2. NUL bytes, calendar ends


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/points/a%00b",
        "/api/v1/points/a%00b/hours",
        "/api/v1/points/a%00b/services",
        "/points/a%00b",
        "/points/a%00b/book",
        "/calendars/points/a%00b.ics",
        "/bookings/a%00b/manage?token=x",
        "/bookings/a%00b/confirm?token=x",
        "/bookings/a%00b/calendar.ics?token=x",
        "/api/v1/bookings/a%00b",
        "/api/v1/challenge?point_id=%00",
        f"/api/v1/points/{BASZTOWA}/availability?service=a%00b&language=uk",
        "/static/%00",
        "/static/site.css%00.html",
    ],
)
async def test_a_nul_byte_in_a_path_or_query_is_a_400_problem_not_a_500(client, path):
    _refused(await client.get(path), 400, "nul_byte")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/staff/points/a%00b/rules",
        "/api/v1/staff/points/a%00b/desks",
        "/api/v1/staff/audit?point_id=a%00b",
    ],
)
async def test_a_nul_byte_in_a_staff_path_or_query_is_a_400(client, admin, path):
    _refused(await client.get(path, headers=admin), 400, "nul_byte")


async def test_a_nul_in_a_json_body_is_refused_and_nothing_is_written(client, pool):
    booking = {
        "point_id": BASZTOWA,
        "service_id": "everyday-matters",
        "start": "2030-01-07T09:00:00Z",
        "language": "uk",
        "visitor": {"name": "a\x00b", "email": "a@example.com"},
    }
    escaped = msgspec.json.encode(booking)  # the name as the escape \u0000
    assert b"\\u0000" in escaped
    raw = escaped.replace(b"\\u0000", b"\x00")  # the byte itself, which JSON forbids
    for key, body in (("escaped", escaped), ("raw", raw)):
        response = await client.post(
            "/api/v1/bookings",
            content=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )
        _refused(response, 400, "nul_byte")
    assert (
        "visitor.name"
        in (
            await client.post(
                "/api/v1/bookings",
                content=escaped,
                headers={"Content-Type": "application/json", "Idempotency-Key": "again"},
            )
        ).json()["detail"]
    )
    assert await pool.fetchval("select count(*) from bookings") == 0


async def test_a_nul_in_a_staff_json_body_is_refused_and_nothing_is_written(client, admin, pool):
    before = await pool.fetchval("select count(*) from calendar_rules")
    response = await client.post(
        f"/api/v1/staff/points/{BASZTOWA}/special-days",
        json={"date": "2030-06-01", "kind": "closed", "label": {"pl": "a\x00b"}},
        headers=admin,
    )
    _refused(response, 400, "nul_byte")
    assert await pool.fetchval("select count(*) from calendar_rules") == before


async def test_a_percent_encoded_nul_in_a_form_is_refused(client):
    response = await client.post(
        f"/points/{BASZTOWA}/book",
        content=b"service=a%00b&name=x&csrf_token=t",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _refused(response, 400, "nul_byte")
    assert "service" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/points/{BASZTOWA}/availability?service=everyday-matters&language=uk"
        "&from=9999-12-31",
        f"/api/v1/points/{BASZTOWA}/hours?from=9999-12-30",
        f"/api/v1/points/{BASZTOWA}/hours?from=0001-01-01&to=0001-01-01",
        f"/points/{BASZTOWA}/book?day=9999-12-31",
    ],
)
async def test_a_day_at_the_ends_of_the_calendar_is_a_422_not_a_500(client, path):
    _refused(await client.get(path), 422, "date_out_of_range")


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
async def test_the_staff_day_sheet_at_the_ends_of_the_calendar_is_a_422(client, admin, day):
    response = await client.get(f"/api/v1/staff/points/{BASZTOWA}/visits?date={day}", headers=admin)
    _refused(response, 422, "date_out_of_range")
    assert "'date'" in response.json()["detail"]


async def test_an_audit_page_before_an_id_past_bigint_is_a_400_not_a_500(client, admin):
    response = await client.get("/api/v1/staff/audit?before_id=9223372036854775808", headers=admin)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    last = await client.get("/api/v1/staff/audit?before_id=9223372036854775807", headers=admin)
    assert last.status_code == 200


# ------------------------------------------------------------------ 3. tokens in the access log


async def test_percent_encoded_tokens_are_accepted_but_masked_in_the_live_access_log(
    live_server, seeded
):
    import httpx

    accounts = await make_accounts(seeded)
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        staff = auth(await login(http, accounts.basztowa))
        created = await http.post(
            f"/api/v1/staff/points/{BASZTOWA}/feed-tokens", json={}, headers=staff
        )
        secret = created.json()["url"].rsplit("/", 1)[1].removesuffix(".ics")
        for path in (f"/calendars/%73taff/{secret}.ics", f"/calendars/staff%2f{secret}.ics"):
            assert (await http.get(path)).status_code == 200, path
        for query in (f"to%6Ben={secret}", f"%74oken={secret}"):
            await http.get(f"/bookings/KRK-7Q4M-X2/manage?{query}")
    log = await asyncio.to_thread(Path(live_server.log.name).read_text)
    assert "/calendars/staff/***.ics" in log
    assert "?token=***" in log
    assert secret not in log


# ------------------------------------------------------------------ 8. HEAD, 415, feed charset


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/points",
        f"/api/v1/points/{BASZTOWA}/hours",
        f"/calendars/points/{BASZTOWA}.ics",
        "/",
        f"/points/{BASZTOWA}",
        "/static/site.css",
        "/healthz",
    ],
)
async def test_head_answers_wherever_get_does_with_its_headers_and_no_content(client, path):
    got = await client.get(path)
    head = await client.head(path)
    assert got.status_code == 200
    assert head.status_code == 200, head.text
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers.get("content-length") == got.headers.get("content-length")


async def test_head_on_the_live_server_is_200_with_the_length_and_no_body(live_server):
    import httpx

    async with httpx.AsyncClient(base_url=live_server.url) as http:
        got = await http.get(f"/api/v1/points/{BASZTOWA}")
        head = await http.head(f"/api/v1/points/{BASZTOWA}")
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-length"] == got.headers["content-length"]
        assert (await http.get("/api/v1/points")).status_code == 200  # the connection lives on


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"point_id": "x"}'),
        ("application/x-www-form-urlencoded", b"point_id=x"),
        (None, b'{"point_id": "x"}'),
    ],
)
async def test_a_json_route_refuses_a_body_that_is_not_json_with_415(
    client, pool, content_type, body
):
    headers = {"Idempotency-Key": "k"} | ({"Content-Type": content_type} if content_type else {})
    response = await client.post("/api/v1/bookings", content=body, headers=headers)
    _refused(response, 415, "unsupported_media_type")
    assert await pool.fetchval("select count(*) from bookings") == 0


async def test_feeds_send_their_charset_once(client, admin):
    hours = await client.get(f"/calendars/points/{BASZTOWA}.ics")
    assert hours.headers["content-type"] == "text/calendar; charset=utf-8"
    created = await client.post(
        f"/api/v1/staff/points/{BASZTOWA}/feed-tokens", json={}, headers=admin
    )
    staff_feed = await client.get(created.json()["url"].removeprefix("http://wizyta.test"))
    assert staff_feed.status_code == 200
    assert staff_feed.headers["content-type"] == "text/calendar; charset=utf-8"


# ------------------------------------------------------------------ 5. control characters


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            f"/api/v1/staff/points/{BASZTOWA}/special-days",
            {"date": "2030-06-01", "kind": "closed", "label": {"pl": "Remont\u007f"}},
            "label.pl",
        ),
        (
            f"/api/v1/staff/points/{BASZTOWA}/rules",
            {
                "kind": "special",
                "dates": ["2030-06-01"],
                "opens": "09:00",
                "closes": "12:00",
                "labels": {"en": "Open\u0001Saturday"},
            },
            "labels.en",
        ),
        (
            f"/api/v1/staff/points/{BASZTOWA}/desks",
            {
                "names": {"pl": "Okno\u001f", "en": "Desk", "uk": "Вікно", "ru": "Окно"},
                "languages": ["pl"],
            },
            "names.pl",
        ),
    ],
    ids=["special-day-label", "rule-label", "desk-name"],
)
async def test_a_control_character_in_a_staff_text_is_a_422_naming_the_field(
    client, admin, pool, path, body, field
):
    before = await pool.fetchval(
        "select (select count(*) from calendar_rules) + (select count(*) from desks)"
    )
    response = await client.post(path, json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["field"] == field
    assert response.json()["code"] == "control_character"
    after = await pool.fetchval(
        "select (select count(*) from calendar_rules) + (select count(*) from desks)"
    )
    assert after == before


async def test_a_desk_renamed_with_a_control_character_is_refused(client, admin, pool):
    desk = await pool.fetchval("select id from desks where point_id = $1 limit 1", BASZTOWA)
    response = await client.patch(
        f"/api/v1/staff/points/{BASZTOWA}/desks/{desk}",
        json={"names": {"pl": "a\u0085b", "en": "b", "uk": "c", "ru": "d"}},
        headers=admin,
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "names.pl"


# ------------------------------------------------------------------ 6. the spring-forward gap


async def test_hours_inside_the_spring_forward_gap_are_refused_naming_the_field(
    client, admin, pool
):
    before = await pool.fetchval("select count(*) from calendar_rules")
    response = await client.post(
        f"/api/v1/staff/points/{BASZTOWA}/special-days",
        json={"date": "2027-03-28", "kind": "open", "opens": "02:30", "closes": "03:30"},
        headers=admin,
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "opens"
    assert "2027-03-28" in response.json()["detail"]
    weekly = await client.post(
        f"/api/v1/staff/points/{BASZTOWA}/rules",
        json={
            "kind": "hours",
            "rrule": "FREQ=WEEKLY;BYDAY=SU",
            "opens": "01:00",
            "closes": "02:15",
        },
        headers=admin,
    )
    assert weekly.status_code == 422, weekly.text
    assert weekly.json()["field"] == "closes"
    assert await pool.fetchval("select count(*) from calendar_rules") == before


async def test_hours_never_report_an_interval_of_no_length(client, pool):
    # A rule saved before such rules were refused, straight into the table.
    await pool.execute(
        """
        insert into calendar_rules (id, point_id, kind, dates, opens, closes, valid_from,
                                    valid_until, labels, source)
        values ('gap', $1, 'special', array['2027-03-28'::date], '02:30', '03:30',
                '2027-03-28', '2027-03-28', '{}', 'staff')
        """,
        BASZTOWA,
    )
    response = await client.get(f"/api/v1/points/{BASZTOWA}/hours?from=2027-03-28&to=2027-03-28")
    assert response.status_code == 200
    (day,) = response.json()["days"]
    assert day["intervals"] == [] and day["status"] == "closed"
    feed = await client.get(f"/calendars/points/{BASZTOWA}.ics")
    assert feed.status_code == 200


# ------------------------------------------------------------------ 9. seed --overwrite


async def test_seed_overwrite_reopens_a_retired_desk_and_a_withdrawn_offer(
    client, admin, pool, database_url
):
    from tests.integration.test_cli import _wizyta

    desk = await pool.fetchval("select id from desks where point_id = $1 limit 1", BASZTOWA)
    service = await pool.fetchval(
        "select service_id from point_services where point_id = $1 limit 1", BASZTOWA
    )
    retired = await client.delete(f"/api/v1/staff/points/{BASZTOWA}/desks/{desk}", headers=admin)
    withdrawn = await client.delete(
        f"/api/v1/staff/points/{BASZTOWA}/services/{service}", headers=admin
    )
    assert (retired.status_code, withdrawn.status_code) == (200, 200), withdrawn.text
    await asyncio.to_thread(_wizyta, "seed", DATABASE_URL=database_url)  # staff's change stays
    assert await pool.fetchval("select active from desks where id = $1", desk) is False
    result = await asyncio.to_thread(_wizyta, "seed", "--overwrite", DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert await pool.fetchval("select active from desks where id = $1", desk) is True
    assert await pool.fetchval(
        "select active from point_services where point_id = $1 and service_id = $2",
        BASZTOWA,
        service,
    )


# ------------------------------------------------------------------ 11. the login 429's words


async def test_the_login_429_speaks_of_the_account_not_a_person_or_visit(settings, pool, redis):
    from litestar.testing import AsyncTestClient

    from app import create_app

    limited = msgspec.structs.replace(settings, rate_limit=True)
    refusals = []
    async with AsyncTestClient(app=create_app(limited)) as http:
        for _ in range(12):  # the account's limit is 10 a minute
            response = await http.post(
                "/api/v1/staff/sessions", json={"email": "nobody@wizyta.test", "password": "x"}
            )
            if response.status_code == 429:
                refusals.append(response.json()["detail"])
    limited_by_count = [d for d in refusals if d.startswith("Too many requests")]
    assert limited_by_count, refusals
    assert all("for this account" in d for d in limited_by_count)
    assert not any("person or visit" in d or " 1 seconds" in d for d in refusals), refusals


# ------------------------------------------------------------------ 7. the API reference


async def test_the_api_reference_loads_a_pinned_vendored_copy_under_a_policy(client):
    import hashlib
    import re

    from web.render import STATIC

    for path in ("/schema", "/schema/swagger"):
        page = await client.get(path)
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith(("/static/", "data:")) for s in sources), sources
        assert "<script>" not in page.text  # no inline script
        for source in sources:
            if source.startswith("/static/"):
                assert (await client.get(source)).status_code == 200, source
    folder = STATIC / "vendor" / "swagger-ui"
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert (folder / "LICENSE").exists()


async def test_the_openapi_document_declares_the_bearer_schemes_and_staff_uses_one(client):
    document = (await client.get("/schema/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["manage_token"] == schemes["manage_token"] | {"type": "http", "scheme": "bearer"}
    assert schemes["staff_session"]["scheme"] == "bearer"
    rules = document["paths"]["/api/v1/staff/points/{point_id}/rules"]["get"]
    assert rules["security"] == [{"staff_session": []}]


@pytest.mark.parametrize("start", ["9999-12-31T23:59:59Z", "0001-01-01T00:00"])
async def test_a_booking_start_at_the_ends_of_the_calendar_is_a_422_not_a_500(client, pool, start):
    body = {
        "point_id": BASZTOWA,
        "service_id": "everyday-matters",
        "start": start,
        "language": "uk",
        "visitor": {"name": "Olena", "email": "olena@example.com"},
    }
    response = await client.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": start})
    _refused(response, 422, "date_out_of_range")
    assert response.json()["field"] == "start"
    assert await pool.fetchval("select count(*) from bookings") == 0
