"""Staff log in with argon2id-hashed passwords; sessions end when they should."""

from __future__ import annotations

import pytest

from staff.accounts import add_staff
from tests.staff_helpers import PASSWORD, auth, login, make_accounts

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
async def accounts(seeded):
    return await make_accounts(seeded)


async def test_a_password_is_stored_as_an_argon2id_hash(client, seeded):
    # add_staff itself here: make_accounts stores a hash it made once (tests/staff_helpers.py).
    async with seeded.acquire() as conn:
        await add_staff(conn, "stored@wizyta.test", "admin", [], PASSWORD)
    stored = await seeded.fetchval(
        "select password_hash from staff_accounts where email = 'stored@wizyta.test'"
    )
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    await login(client, "stored@wizyta.test")  # and it is the password's


async def test_staff_log_in_and_see_who_they_are(client, accounts):
    token = await login(client, accounts.basztowa)
    me = await client.get("/api/v1/staff/me", headers=auth(token))
    assert me.status_code == 200
    assert me.json() == {
        "email": accounts.basztowa,
        "role": "staff",
        "point_ids": ["krakow-basztowa-22"],
        "must_change_password": False,
    }


async def test_a_wrong_password_is_401_without_saying_which_part_was_wrong(client, accounts):
    wrong = await client.post(
        "/api/v1/staff/sessions", json={"email": accounts.admin, "password": "nope"}
    )
    unknown = await client.post(
        "/api/v1/staff/sessions", json={"email": "ghost@wizyta.test", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_logout_ends_the_session(client, accounts):
    token = await login(client, accounts.admin)
    assert (
        await client.delete("/api/v1/staff/sessions/current", headers=auth(token))
    ).status_code == 204
    assert (await client.get("/api/v1/staff/me", headers=auth(token))).status_code == 401


@pytest.mark.parametrize(
    "expire",
    [
        "update staff_sessions set last_seen_at = now() - interval '31 minutes'",
        "update staff_sessions set expires_at = now() - interval '1 second'",
        "update staff_accounts set disabled_at = now()",
    ],
    ids=["idle", "absolute", "disabled"],
)
async def test_a_session_ends_when_idle_too_long_past_its_lifetime_or_disabled(
    client, accounts, pool, expire
):
    token = await login(client, accounts.admin)
    await pool.execute(expire)
    response = await client.get("/api/v1/staff/me", headers=auth(token))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_repeated_failures_slow_down_and_then_lock_the_account(client, accounts, pool):
    async def attempt(password="nope"):
        return await client.post(
            "/api/v1/staff/sessions", json={"email": accounts.admin, "password": password}
        )

    codes = [(await attempt()).status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    slowed = await attempt()
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1
    # Let the waits pass without sleeping: age the failures, then fail twice more -> locked.
    await pool.execute("update login_failures set failed_at = failed_at - interval '10 seconds'")
    assert (await attempt()).status_code == 401
    await pool.execute("update login_failures set failed_at = failed_at - interval '10 seconds'")
    assert (await attempt()).status_code == 401
    locked = await attempt(PASSWORD)  # even the right password waits while locked
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 60


async def test_a_staff_command_adds_an_account_with_a_one_time_password(database_url, seeded):
    import asyncio
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"DATABASE_URL": database_url}
    result = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-c",
            "import app; app.main()",
            "staff",
            "add",
            "new@wizyta.test",
            "--role",
            "staff",
            "--point",
            "tarnow-solidarnosci-5-9",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    password = result.stdout.strip().rsplit(": ", 1)[1]
    row = await seeded.fetchrow(
        "select role, password_hash from staff_accounts where email = 'new@wizyta.test'"
    )
    assert row["role"] == "staff" and password not in row["password_hash"]
    refused = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-c",
            "import app; app.main()",
            "staff",
            "add",
            "x@wizyta.test",
            "--point",
            "atlantis",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "unknown point(s): atlantis" in refused.stderr
