"""Staff accounts for tests: an admin, staff of one point, staff of another."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from staff.accounts import hash_password, revoke_sessions

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Accounts:
    admin: str
    basztowa: str  # staff of krakow-basztowa-22
    rondo: str  # staff of krakow-przy-rondzie-6


#: The three accounts: e-mail, role, the points they manage.
ACCOUNTS = (
    ("admin@wizyta.test", "admin", []),
    ("basztowa@wizyta.test", "staff", ["krakow-basztowa-22"]),
    ("rondo@wizyta.test", "staff", ["krakow-przy-rondzie-6"]),
)


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


async def make_accounts(pool) -> Accounts:
    """The three accounts, each with PASSWORD, as `add_staff` makes them (the same rows: the
    account, its points), with one argon2id hash of PASSWORD made once per process by the real
    `hash_password`: a hash costs about 0.25 s of CPU on purpose, and three for each of the
    many staff tests were a minute of the suite. Logging in still verifies it for real.
    `add_staff` itself, hashing included, is tested where it is the subject
    (test_staff_sessions, test_staff_passwords, test_cli, the browser tests)."""
    async with pool.acquire() as conn, conn.transaction():
        for email, role, points in ACCOUNTS:
            staff_id = await conn.fetchval(
                """
                insert into staff_accounts (email, password_hash, role, must_change_password)
                values ($1, $2, $3, false)
                on conflict (lower(email)) do update
                   set password_hash = excluded.password_hash, role = excluded.role,
                       must_change_password = false, disabled_at = null
                returning id
                """,
                email,
                _password_hash(),
                role,
            )
            await conn.execute("delete from staff_points where staff_id = $1", staff_id)
            await conn.executemany(
                "insert into staff_points (staff_id, point_id) values ($1, $2)",
                [(staff_id, p) for p in points],
            )
            await revoke_sessions(conn, staff_id)
    return Accounts(*(email for email, _, _ in ACCOUNTS))


async def login(client, email: str, password: str = PASSWORD) -> str:
    response = await client.post(
        "/api/v1/staff/sessions", json={"email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
