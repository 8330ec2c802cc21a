"""300 visitors at once for one slot, spread by HAProxy over the web replicas: the database's
exclusion constraint, not any one process, keeps the count exact."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import time
import uuid

import asyncpg
import httpx
import pytest

from tests.cluster.conftest import LONG, sized

pytestmark = pytest.mark.cluster

CONTENDERS = 300
#: (point, language, places): the seed's basztowa has 3 desks speaking Ukrainian, przy-rondzie
#: 4 speaking English.
SLOTS = [("krakow-basztowa-22", "uk", 3)] + ([("krakow-przy-rondzie-6", "en", 4)] if LONG else [])


async def _slots_with(http, point: str, language: str, places: int) -> list[dict]:
    service = (await http.get(f"/api/v1/points/{point}/services")).json()[0]["id"]
    today = dt.date.today()
    response = await http.get(
        f"/api/v1/points/{point}/availability",
        params={
            "service": service,
            "language": language,
            "from": str(today),
            "to": str(today + dt.timedelta(days=27)),
        },
    )
    assert response.status_code == 200, response.text
    return [
        {"service": service, "start": s["start"]}
        for day in response.json()["days"]
        for s in day["slots"]
        if s["free"] == places
    ]


@pytest.mark.parametrize(("point", "language", "places"), SLOTS)
async def test_300_visitors_racing_across_replicas_get_exactly_the_slots_places(
    stack, point, language, places
):
    rounds = sized(2, 10)
    limits = httpx.Limits(max_connections=CONTENDERS + 10, max_keepalive_connections=0)
    outcomes: collections.Counter[int] = collections.Counter()
    elapsed = []
    async with httpx.AsyncClient(base_url=stack.url, timeout=60, limits=limits) as http:
        slots = await _slots_with(http, point, language, places)
        assert len(slots) >= rounds
        conn = await asyncpg.connect(stack.database_url)
        try:
            for n, slot in enumerate(slots[:rounds]):
                began = time.monotonic()
                responses = await asyncio.gather(
                    *(
                        http.post(
                            "/api/v1/bookings",
                            json={
                                "point_id": point,
                                "service_id": slot["service"],
                                "start": slot["start"],
                                "language": language,
                                "visitor": {"name": "V", "email": f"r{n}-{i}@example.org"},
                            },
                            headers={"Idempotency-Key": str(uuid.uuid4())},
                        )
                        for i in range(CONTENDERS)
                    )
                )
                elapsed.append(time.monotonic() - began)
                codes = collections.Counter(r.status_code for r in responses)
                outcomes.update(codes)
                assert codes[201] == places, codes
                assert codes[409] == CONTENDERS - places, codes
                stored = await conn.fetchval(
                    "select count(*) from bookings where starts_at = $1 and point_id = $2 "
                    "and status in ('held', 'confirmed', 'checked_in')",
                    dt.datetime.fromisoformat(slot["start"]),
                    point,
                )
                assert stored == places
        finally:
            await conn.close()
    served_by = await _requests_per_replica(stack)
    print(
        f"\nrace for a {places}-place slot at {point}: {rounds} rounds x {CONTENDERS} visitors "
        f"over {len(stack.web)} replicas -> {dict(outcomes)}; a round took "
        f"{min(elapsed):.2f}-{max(elapsed):.2f} s; bookings answered per replica: {served_by}"
    )
    assert not [code for code in outcomes if code >= 500]
    assert all(n > 0 for n in served_by), "every replica took part"


async def _requests_per_replica(stack) -> list[int]:
    """POST /api/v1/bookings lines in each replica's access log."""
    return [
        sum(
            1
            for line in r.log_path.read_text(errors="replace").splitlines()
            if "POST /api/v1/bookings" in line
        )
        for r in stack.web
    ]
