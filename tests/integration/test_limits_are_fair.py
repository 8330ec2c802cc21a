"""Limits stop abuse without letting a stranger lock a person out (issue 14, findings 1 and 4).

1. Five bookings naming a victim's e-mail with a missing or wrong proof of work used to spend
   that mailbox's 5-an-hour limit, so the victim's own solved request got 429 for an hour. Only
   a request that did the work counts toward a person's limit now.
4. Thirty wrong-token reads of a visit (its reference is not secret: it is in mail subjects)
   used to spend the owner's budget, so the right token got 429. Each token has its own now.
"""

from __future__ import annotations

import uuid

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from booking import pow
from tests.booking_helpers import BASZTOWA, bearer, booking_body, free_slots

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
async def guarded(settings, pool, redis):
    strict = msgspec.structs.replace(settings, proof_of_work=True, rate_limit=True)
    async with AsyncTestClient(app=create_app(strict)) as client:
        yield client


async def _solved(client) -> str:
    response = await client.get("/api/v1/challenge", params={"point_id": BASZTOWA})
    return pow.solve(msgspec.convert(response.json(), pow.Challenge))


async def _book(client, start: str, email: str, proof: str | None, *, address: str):
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Forwarded-For": address}
    if proof is not None:
        headers["Altcha"] = proof
    return await client.post("/api/v1/bookings", json=booking_body(start, email), headers=headers)


async def test_unsolved_requests_naming_someone_do_not_spend_their_limit(guarded, pool):
    slots = await free_slots(guarded)
    for i, proof in enumerate([None, "bm90IGEgc29sdXRpb24=", None, "x", None, None]):
        refused = await _book(guarded, slots[i]["start"], "victim@example.org", proof, address="a")
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"].startswith("proof_of_work_")
    mine = await _book(
        guarded, slots[10]["start"], "victim@example.org", await _solved(guarded), address="b"
    )
    assert mine.status_code == 201, mine.text
    assert await pool.fetchval("select count(*) from bookings") == 1


async def test_a_strangers_wrong_tokens_do_not_spend_the_owners_budget(guarded):
    slots = await free_slots(guarded)
    created = await _book(
        guarded, slots[0]["start"], "owner@example.org", await _solved(guarded), address="c"
    )
    assert created.status_code == 201, created.text
    reference, token = created.json()["reference"], created.json()["manage_token"]
    wrong = [
        await guarded.get(f"/api/v1/bookings/{reference}", headers=bearer(f"guess-{i}"))
        for i in range(30)
    ]
    assert {r.status_code for r in wrong} <= {404, 429}
    owner = await guarded.get(f"/api/v1/bookings/{reference}", headers=bearer(token))
    assert owner.status_code == 200, owner.text
