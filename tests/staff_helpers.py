"""Staff accounts for tests: an admin, staff of one point, staff of another."""

from __future__ import annotations

from dataclasses import dataclass

from staff.accounts import add_staff

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Accounts:
    admin: str
    basztowa: str  # staff of krakow-basztowa-22
    rondo: str  # staff of krakow-przy-rondzie-6


async def make_accounts(pool) -> Accounts:
    async with pool.acquire() as conn:
        await add_staff(conn, "admin@wizyta.test", "admin", [], PASSWORD)
        await add_staff(conn, "basztowa@wizyta.test", "staff", ["krakow-basztowa-22"], PASSWORD)
        await add_staff(conn, "rondo@wizyta.test", "staff", ["krakow-przy-rondzie-6"], PASSWORD)
    return Accounts("admin@wizyta.test", "basztowa@wizyta.test", "rondo@wizyta.test")


async def login(client, email: str, password: str = PASSWORD) -> str:
    response = await client.post(
        "/api/v1/staff/sessions", json={"email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
