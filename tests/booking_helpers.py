"""Helpers for booking tests: find real free slots through the API and book them."""

from __future__ import annotations

import datetime as dt
import uuid

BASZTOWA = "krakow-basztowa-22"
EVERYDAY = "everyday-matters"


async def free_slots(client, point=BASZTOWA, service=EVERYDAY, language="uk", days=14):
    today = dt.date.today()
    response = await client.get(
        f"/api/v1/points/{point}/availability",
        params={
            "service": service,
            "language": language,
            "from": str(today),
            "to": str(today + dt.timedelta(days=days - 1)),
        },
    )
    assert response.status_code == 200, response.text
    return [slot for day in response.json()["days"] for slot in day["slots"]]


def booking_body(
    start: str,
    email: str,
    *,
    point=BASZTOWA,
    service=EVERYDAY,
    language="uk",
    name="Олена Коваленко",
    **extra,
) -> dict:
    body = {
        "point_id": point,
        "service_id": service,
        "start": start,
        "language": language,
        "visitor": {"name": name, "email": email},
    }
    body.update(extra)
    return body


async def book(client, start: str, email: str, *, key: str | None = None, **kwargs):
    return await client.post(
        "/api/v1/bookings",
        json=booking_body(start, email, **kwargs),
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
    )


async def confirmation_token(pool, reference: str) -> str:
    return await pool.fetchval(
        """
        select o.payload->>'token' from outbox o join bookings b on b.id = o.booking_id
        where b.reference = $1 and o.kind = 'confirmation_request'
        """,
        reference,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
