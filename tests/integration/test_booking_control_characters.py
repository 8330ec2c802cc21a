"""PostgreSQL's text takes no NUL: one in a booking path, query or body is refused as malformed
(400), never a 500 (issue 14, found by schemathesis in GET /api/v1/challenge)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("seeded")

BEARER = {"Authorization": "Bearer x"}


async def test_a_nul_in_the_challenges_point_is_malformed(client):
    response = await client.get("/api/v1/challenge", params={"point_id": "a\x00b"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "", None),
        ("POST", "/cancel", None),
        ("POST", "/confirm", {"token": "x"}),
        ("POST", "/reschedule", {"start": "2030-01-01T10:00:00+01:00"}),
    ],
)
async def test_a_nul_in_a_visits_reference_is_malformed(client, method, path, body):
    response = await client.request(
        method, f"/api/v1/bookings/a%00b{path}", json=body, headers=BEARER
    )
    assert response.status_code == 400, response.text


async def test_a_nul_in_a_bookings_point_or_service_is_malformed(client):
    body = {
        "point_id": "krakow-basztowa-22\x00",
        "service_id": "everyday\x00matters",
        "start": "2030-01-01T10:00:00+01:00",
        "language": "uk",
        "visitor": {"name": "Olena", "email": "olena@example.org"},
    }
    response = await client.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": "k"})
    assert response.status_code == 400, response.text
