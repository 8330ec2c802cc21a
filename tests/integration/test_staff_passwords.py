"""Staff passwords: the one-time password of `staff add` (or of a reset) must be changed before
anything else, each member changes their own, an administrator resets one."""

from __future__ import annotations

import pytest

from staff.accounts import add_staff, verify_password
from tests.staff_helpers import PASSWORD, auth, login, make_accounts
from web.security import CSRF_COOKIE, STAFF_CSRF_COOKIE

pytestmark = pytest.mark.usefixtures("seeded")
BASZTOWA = "krakow-basztowa-22"
ONE_TIME = "abc-def-ghi-jkl"
NEW = "a new and long enough password"


@pytest.fixture
async def accounts(seeded):
    return await make_accounts(seeded)


@pytest.fixture
async def newcomer(seeded):
    async with seeded.acquire() as conn:
        await add_staff(conn, "new@wizyta.test", "staff", [BASZTOWA], ONE_TIME, one_time=True)
    return "new@wizyta.test"


async def _page_login(client, email: str, password: str):
    await client.get("/staff/login")
    form = {"csrf_token": client.cookies.get(CSRF_COOKIE), "email": email, "password": password}
    return await client.post("/staff/login", data=form, follow_redirects=False)


def _csrf(client) -> str:
    return client.cookies.get(STAFF_CSRF_COOKIE)


async def test_a_one_time_password_opens_only_the_change_until_it_is_changed(client, newcomer):
    response = await client.post(
        "/api/v1/staff/sessions", json={"email": newcomer, "password": ONE_TIME}
    )
    assert response.status_code == 201 and response.json()["must_change_password"] is True
    token = response.json()["token"]
    refused = await client.get(f"/api/v1/staff/points/{BASZTOWA}/visits", headers=auth(token))
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required"
    me = await client.get("/api/v1/staff/me", headers=auth(token))
    assert me.status_code == 200 and me.json()["must_change_password"] is True

    change = "/api/v1/staff/me/password"
    short = await client.post(
        change, json={"current_password": ONE_TIME, "new_password": "short"}, headers=auth(token)
    )
    assert (short.status_code, short.json()["code"]) == (422, "password_too_short")
    wrong = await client.post(
        change, json={"current_password": "nope", "new_password": NEW}, headers=auth(token)
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "wrong_current_password")
    ok = await client.post(
        change, json={"current_password": ONE_TIME, "new_password": NEW}, headers=auth(token)
    )
    assert ok.status_code == 204, ok.text
    sheet = await client.get(f"/api/v1/staff/points/{BASZTOWA}/visits", headers=auth(token))
    assert sheet.status_code == 200, sheet.text
    assert (await client.get("/api/v1/staff/me", headers=auth(token))).json()[
        "must_change_password"
    ] is False
    assert await login(client, newcomer, NEW)


async def test_changing_a_password_stores_argon2id_and_ends_the_other_sessions(
    client, accounts, pool
):
    first = await login(client, accounts.basztowa)
    second = await login(client, accounts.basztowa)
    response = await client.post(
        "/api/v1/staff/me/password",
        json={"current_password": PASSWORD, "new_password": NEW},
        headers=auth(first),
    )
    assert response.status_code == 204, response.text
    stored = await pool.fetchval(
        "select password_hash from staff_accounts where email = $1", accounts.basztowa
    )
    assert stored.startswith("$argon2id$") and verify_password(stored, NEW)
    assert (await client.get("/api/v1/staff/me", headers=auth(first))).status_code == 200
    assert (await client.get("/api/v1/staff/me", headers=auth(second))).status_code == 401
    old = await client.post(
        "/api/v1/staff/sessions", json={"email": accounts.basztowa, "password": PASSWORD}
    )
    assert old.status_code == 401


async def test_an_admin_resets_a_password_to_a_new_one_time_one(client, accounts):
    victim = await login(client, accounts.basztowa)
    staff = await login(client, accounts.rondo)
    body = {"email": accounts.basztowa}
    refused = await client.post("/api/v1/staff/password-resets", json=body, headers=auth(staff))
    assert (refused.status_code, refused.json()["code"]) == (403, "admin_only")
    admin = await login(client, accounts.admin)
    unknown = await client.post(
        "/api/v1/staff/password-resets", json={"email": "x@wizyta.test"}, headers=auth(admin)
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "no_such_staff")
    reset = await client.post("/api/v1/staff/password-resets", json=body, headers=auth(admin))
    assert reset.status_code == 201, reset.text
    one_time = reset.json()["one_time_password"]
    assert (await client.get("/api/v1/staff/me", headers=auth(victim))).status_code == 401
    again = await client.post(
        "/api/v1/staff/sessions", json={"email": accounts.basztowa, "password": one_time}
    )
    assert again.json()["must_change_password"] is True


async def test_every_staff_page_leads_to_the_change_page_until_the_password_is_changed(
    client, newcomer
):
    response = await _page_login(client, newcomer, ONE_TIME)
    assert response.headers["location"] == "/staff/password"
    for path in ("/staff", f"/staff/points/{BASZTOWA}", f"/staff/points/{BASZTOWA}/book"):
        page = await client.get(path, follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/staff/password"), path
    page = await client.get("/staff/password")
    assert page.status_code == 200 and 'id="one-time"' in page.text
    form = {
        "csrf_token": _csrf(client),
        "current_password": ONE_TIME,
        "new_password": NEW,
        "repeat_password": NEW + "x",
    }
    differ = await client.post("/staff/password", data=form)
    assert differ.status_code == 422 and "The two new passwords differ." in differ.text
    form["repeat_password"] = NEW
    done = await client.post("/staff/password", data=form, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/staff/password?done=password")
    assert (await client.get(f"/staff/points/{BASZTOWA}")).status_code == 200


async def test_an_admin_resets_a_password_from_the_page(client, accounts):
    await _page_login(client, accounts.admin, PASSWORD)
    page = await client.get("/staff/password")
    assert "Reset another account" in page.text
    form = {"csrf_token": _csrf(client), "email": accounts.rondo}
    reset = await client.post("/staff/password-resets", data=form)
    assert reset.status_code == 200 and 'id="reset-done"' in reset.text
    relogin = await client.post(
        "/api/v1/staff/sessions", json={"email": accounts.rondo, "password": PASSWORD}
    )
    assert relogin.status_code == 401
