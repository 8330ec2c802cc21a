"""Every staff endpoint answers each caller as its role allows, and a refusal changes nothing.

The matrix: no session, an expired session and a logged-out one get 401; staff of another point
get 403; staff of the point get their answer (403 where only an administrator may act); an
administrator gets it everywhere. After every refusal the tables a staff request can write are
exactly as they were.

Accounts and sessions are written straight into their tables here (one argon2 hash for the
whole run): logging in is tested in test_staff_sessions, and 160 real logins would take minutes.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from typing import Any, NamedTuple

import pytest

from core.tokens import new_token, token_hash
from staff.accounts import hash_password
from tests.booking_helpers import book, confirmation_token, free_slots
from tests.staff_helpers import PASSWORD, auth

pytestmark = pytest.mark.usefixtures("seeded")

POINT = "krakow-basztowa-22"
OTHER_POINT = "krakow-przy-rondzie-6"
DESK = "krakow-basztowa-22-desk-1"
LABELS = {"pl": "Test", "en": "Test", "uk": "Тест", "ru": "Тест"}
TABLES = (
    "points",
    "calendar_rules",
    "desks",
    "point_services",
    "bookings",
    "outbox",
    "feed_tokens",
    "audit_log",
)


def _saturday(weeks_ahead: int = 1) -> str:
    day = dt.date.today() + dt.timedelta(days=2 + 7 * (weeks_ahead - 1))
    while day.weekday() != 5:
        day += dt.timedelta(days=1)
    return str(day)


# ------------------------------------------------------------------ what each row needs first


async def _rule(client, pool) -> dict[str, str]:
    rule_id = f"{POINT}-matrix-{secrets.token_hex(4)}"
    await pool.execute(
        """
        insert into calendar_rules (id, point_id, kind, dates, labels, source)
        values ($1, $2, 'closed', $3, $4, 'staff')
        """,
        rule_id,
        POINT,
        [dt.date.fromisoformat(_saturday(3))],
        LABELS,
    )
    return {"rule_id": rule_id}


async def _visit_due(client, pool, status: str = "confirmed") -> dict[str, str]:
    """A real visit, booked and confirmed through the public API, then moved to just now."""
    slot = (await free_slots(client))[0]
    reference = (await book(client, slot["start"], "matrix@example.org")).json()["reference"]
    token = await confirmation_token(pool, reference)
    confirmed = await client.post(f"/api/v1/bookings/{reference}/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    await pool.execute(
        """
        update bookings set starts_at = date_trunc('minute', now()) - interval '10 minutes',
               ends_at = date_trunc('minute', now()) + interval '20 minutes', status = $2
        where reference = $1
        """,
        reference,
        status,
    )
    return {"reference": reference}


async def _checked_in_visit(client, pool) -> dict[str, str]:
    return await _visit_due(client, pool, "checked_in")


async def _feed_token(client, pool) -> dict[str, str]:
    token_id = await pool.fetchval(
        "insert into feed_tokens (token_hash, point_id) values ($1, $2) returning id",
        token_hash(new_token()),
        POINT,
    )
    return {"token_id": str(token_id)}


class Row(NamedTuple):
    name: str
    method: str
    url: str
    body: Any = None
    access: str = "point"  # "point": its staff and admins; "admin": admins; "own": anyone
    success: int = 200
    prepare: Any = None


P = "/api/v1/staff/points/{point}"
ROWS = [
    Row("me", "GET", "/api/v1/staff/me", access="own"),
    Row("log out", "DELETE", "/api/v1/staff/sessions/current", access="own", success=204),
    Row("list rules", "GET", P + "/rules"),
    Row("add a rule", "POST", P + "/rules", {"kind": "closed", "dates": ["{sat}"]}, success=201),
    Row("change a rule", "PATCH", P + "/rules/{rule_id}", {"dates": ["{sat2}"]}, prepare=_rule),
    Row("delete a rule", "DELETE", P + "/rules/{rule_id}", prepare=_rule),
    Row(
        "add a special day",
        "POST",
        P + "/special-days",
        {"date": "{sat}", "kind": "closed"},
        success=201,
    ),
    Row("list my points", "GET", "/api/v1/staff/points", access="own"),
    Row(
        "create a point",
        "POST",
        "/api/v1/staff/points",
        {
            "id": "krakow-testowa-1",
            "names": LABELS,
            "department": LABELS,
            "address": {"street": "ul. Testowa 1", "postal_code": "31-000", "city": "Kraków"},
            "city": "Kraków",
            "languages": ["pl", "en"],
        },
        access="admin",
        success=201,
    ),
    Row("edit a point", "PATCH", P, {"phones": ["+48 12 426 90 02"]}),
    Row("stop observing holidays", "PATCH", P, {"observes_holidays": False}, access="admin"),
    Row("list services", "GET", P + "/services"),
    Row("read a service", "GET", P + "/services/everyday-matters"),
    Row(
        "change a service",
        "PUT",
        P + "/services/everyday-matters",
        {"duration_minutes": 30, "step_minutes": 30, "languages": ["pl", "uk"]},
    ),
    Row("withdraw a service", "DELETE", P + "/services/integration-activities"),
    Row("list desks", "GET", P + "/desks"),
    Row("add a desk", "POST", P + "/desks", {"names": LABELS, "languages": ["pl"]}, success=201),
    Row("rename a desk", "PATCH", P + "/desks/{desk}", {"names": LABELS}),
    Row("retire a desk", "DELETE", P + "/desks/{desk}"),
    Row("read the day sheet", "GET", P + "/visits?date={today}"),
    Row("check in", "POST", "/api/v1/staff/bookings/{reference}/check-in", prepare=_visit_due),
    Row("mark a no-show", "POST", "/api/v1/staff/bookings/{reference}/no-show", prepare=_visit_due),
    Row(
        "complete",
        "POST",
        "/api/v1/staff/bookings/{reference}/complete",
        prepare=_checked_in_visit,
    ),
    Row("list feed tokens", "GET", P + "/feed-tokens"),
    Row("make a feed token", "POST", P + "/feed-tokens", {"show_names": False}, success=201),
    Row(
        "revoke a feed token",
        "DELETE",
        P + "/feed-tokens/{token_id}",
        prepare=_feed_token,
        success=204,
    ),
    Row("read the audit log", "GET", "/api/v1/staff/audit?limit=10", access="admin"),
]

CALLERS = ["no session", "expired session", "revoked session", "other point", "staff", "admin"]


def expected_status(row: Row, caller: str) -> int:
    if caller in ("no session", "expired session", "revoked session"):
        return 401
    allowed = {
        "own": {"other point", "staff", "admin"},
        "point": {"staff", "admin"},
        "admin": {"admin"},
    }[row.access]
    return row.success if caller in allowed else 403


# ------------------------------------------------------------------ accounts and sessions


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


async def _account(pool, email: str, role: str, points: list[str]):
    staff_id = await pool.fetchval(
        "insert into staff_accounts (email, password_hash, role) values ($1, $2, $3) returning id",
        email,
        _password_hash(),
        role,
    )
    for point in points:
        await pool.execute("insert into staff_points values ($1, $2)", staff_id, point)
    return staff_id


async def _session(pool, staff_id, lifetime: dt.timedelta = dt.timedelta(hours=12)) -> str:
    token = new_token()
    await pool.execute(
        """
        insert into staff_sessions (token_hash, staff_id, csrf_hash, expires_at)
        values ($1, $2, $3, now() + $4::interval)
        """,
        token_hash(token),
        staff_id,
        token_hash(new_token()),
        lifetime,
    )
    return token


async def headers_of(client, pool, caller: str) -> dict[str, str]:
    if caller == "no session":
        return {}
    role, points = {
        "admin": ("admin", []),
        "other point": ("staff", [OTHER_POINT]),
    }.get(caller, ("staff", [POINT]))
    staff_id = await _account(pool, f"{caller.replace(' ', '-')}@wizyta.test", role, points)
    if caller == "expired session":
        return auth(await _session(pool, staff_id, dt.timedelta(seconds=-1)))
    token = await _session(pool, staff_id)
    if caller == "revoked session":
        out = await client.delete("/api/v1/staff/sessions/current", headers=auth(token))
        assert out.status_code == 204
    return auth(token)


async def snapshot(pool) -> dict[str, list]:
    """Every row of every table a staff request may write, in a stable order."""
    return {
        table: await pool.fetchval(
            f"select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]') "
            f"from {table} t"
        )
        for table in TABLES
    }


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_each_caller_gets_what_their_role_allows_and_a_refusal_changes_nothing(
    client, pool, row, caller
):
    names = {
        "point": POINT,
        "desk": DESK,
        "today": str(dt.date.today()),
        "sat": _saturday(),
        "sat2": _saturday(2),
    }
    if row.prepare:
        names |= await row.prepare(client, pool)
    headers = await headers_of(client, pool, caller)
    before = await snapshot(pool)

    response = await client.request(
        row.method, _fill(row.url, names), json=_fill(row.body, names), headers=headers
    )

    expected = expected_status(row, caller)
    assert response.status_code == expected, response.text
    if expected in (401, 403):
        assert response.headers["content-type"].startswith("application/problem+json")
        assert await snapshot(pool) == before, "a refused request changed something"
