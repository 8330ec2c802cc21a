"""Helpers for booking tests: find real free slots through the API and book them."""

from __future__ import annotations

import datetime as dt
import uuid

BASZTOWA = "krakow-basztowa-22"
EVERYDAY = "everyday-matters"


async def free_slots(client, point=BASZTOWA, service=EVERYDAY, language="uk", days=14, **extra):
    """The free slots of the coming `days`; `extra` adds query parameters (channel,
    party_size, extra_service)."""
    today = dt.date.today()
    response = await client.get(
        f"/api/v1/points/{point}/availability",
        params={
            "service": service,
            "language": language,
            "from": str(today),
            "to": str(today + dt.timedelta(days=days - 1)),
            **extra,
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
    phone: str | None = None,
    **extra,
) -> dict:
    visitor = {"name": name, "email": email}
    if phone is not None:
        visitor["phone"] = phone
    body = {
        "point_id": point,
        "service_id": service,
        "start": start,
        "language": language,
        "visitor": visitor,
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


async def publish_a_day(pool, point: str, *, days_ahead: int, opens: str, closes: str):
    """The point publishes the day `days_ahead` ahead at a release time one minute ago (so
    its 5-minute draw window is open), and that day has one special opening; return the day."""
    import zoneinfo

    zone = zoneinfo.ZoneInfo("Europe/Warsaw")
    published = (dt.datetime.now(zone) - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    day = published.date() + dt.timedelta(days=days_ahead)
    await pool.execute(
        "update points set release_time = $2, release_days_ahead = $3, draw_minutes = 5 "
        "where id = $1",
        point,
        published.time(),
        days_ahead,
    )
    await pool.execute(
        """
        insert into calendar_rules (id, point_id, kind, dates, opens, closes, labels)
        values ('draw-day', $1, 'special', array[$2::date], $3::time, $4::time, '{}')
        """,
        point,
        day,
        dt.time.fromisoformat(opens),
        dt.time.fromisoformat(closes),
    )
    return day


async def close_the_draw_window(pool, point: str) -> None:
    """The window [release, release + 1 minute) ended a minute ago."""
    await pool.execute(
        "update points set release_time = release_time - interval '2 minutes', draw_minutes = 1 "
        "where id = $1",
        point,
    )
