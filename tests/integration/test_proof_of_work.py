"""A booking needs a fresh proof of work (ALTCHA v1) for its point, used once."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import altcha
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from booking import pow
from tests.booking_helpers import BASZTOWA, booking_body, free_slots
from tests.conftest import app_for

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
async def pow_client(settings, pool, redis):
    async with (
        app_for(msgspec.structs.replace(settings, proof_of_work=True)) as app,
        AsyncTestClient(app=app) as client,
    ):
        yield client


async def _challenge(client, point=BASZTOWA) -> pow.Challenge:
    response = await client.get("/api/v1/challenge", params={"point_id": point})
    assert response.status_code == 200, response.text
    return msgspec.convert(response.json(), pow.Challenge)


async def _book(client, start: str, email: str, proof: str | None):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    if proof is not None:
        headers["Altcha"] = proof
    return await client.post("/api/v1/bookings", json=booking_body(start, email), headers=headers)


async def test_a_booking_without_a_proof_of_work_is_refused_and_stores_nothing(pow_client, pool):
    slots = await free_slots(pow_client)
    response = await _book(pow_client, slots[0]["start"], "bot@example.org", None)
    assert response.status_code == 422
    assert "proof of work is required" in response.json()["detail"]
    assert await pool.fetchval("select count(*) from bookings") == 0


async def test_a_solved_challenge_books_once_and_cannot_be_replayed(pow_client, pool):
    slots = await free_slots(pow_client)
    challenge = await _challenge(pow_client)
    assert challenge.maxnumber == 50000  # the seeded points' difficulty
    proof = pow.solve(challenge)
    first = await _book(pow_client, slots[0]["start"], "olena@example.org", proof)
    assert first.status_code == 201, first.text
    replay = await _book(pow_client, slots[1]["start"], "maria@example.org", proof)
    assert replay.status_code == 422 and "already used" in replay.json()["detail"]
    assert await pool.fetchval("select count(*) from bookings") == 1


async def test_a_solution_for_another_point_or_a_wrong_number_is_refused(pow_client):
    slots = await free_slots(pow_client)
    other = pow.solve(await _challenge(pow_client, "tarnow-solidarnosci-5-9"))
    response = await _book(pow_client, slots[0]["start"], "a@example.org", other)
    assert response.status_code == 422 and "not valid for this point" in response.json()["detail"]
    payload = json.loads(base64.b64decode(pow.solve(await _challenge(pow_client))))
    payload["number"] += 1
    forged = base64.b64encode(json.dumps(payload).encode()).decode()
    assert (await _book(pow_client, slots[0]["start"], "b@example.org", forged)).status_code == 422
    garbage = await _book(pow_client, slots[0]["start"], "c@example.org", "not base64!")
    assert garbage.status_code == 422


async def test_an_expired_challenge_is_refused(pow_client, pool):
    async with pool.acquire() as conn:
        key = await pow.hmac_key(conn)
    stale = altcha.create_challenge_v1(
        hmac_key=key,
        max_number=1000,
        params={"point": BASZTOWA},
        expires=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
    )
    proof = pow.solve(
        pow.Challenge(
            stale.algorithm, stale.challenge, stale.max_number, stale.salt, stale.signature
        )
    )
    slots = await free_slots(pow_client)
    response = await _book(pow_client, slots[0]["start"], "late@example.org", proof)
    assert response.status_code == 422 and "expired" in response.json()["detail"]


async def test_difficulty_is_set_per_point_and_zero_turns_the_check_off(pow_client, pool):
    await pool.execute("update points set pow_max_number = 2000 where id = $1", BASZTOWA)
    assert (await _challenge(pow_client)).maxnumber == 2000
    await pool.execute("update points set pow_max_number = 0 where id = $1", BASZTOWA)
    slots = await free_slots(pow_client)
    assert (await _book(pow_client, slots[0]["start"], "o@example.org", None)).status_code == 201


async def test_a_challenge_for_an_unknown_point_is_404(pow_client):
    response = await pow_client.get("/api/v1/challenge", params={"point_id": "atlantis"})
    assert response.status_code == 404


async def test_a_retry_with_the_same_idempotency_key_and_solution_gets_the_first_answer(
    pow_client, pool
):
    slots = await free_slots(pow_client)
    proof = pow.solve(await _challenge(pow_client))
    headers = {"Idempotency-Key": str(uuid.uuid4()), "Altcha": proof}
    body = booking_body(slots[0]["start"], "olena@example.org")
    first = await pow_client.post("/api/v1/bookings", json=body, headers=headers)
    assert first.status_code == 201, first.text
    retry = await pow_client.post("/api/v1/bookings", json=body, headers=headers)
    assert retry.status_code == 201 and retry.content == first.content
    # The solution was spent on that request: the same key with other details gets nothing.
    other = booking_body(slots[1]["start"], "olena@example.org")
    changed = await pow_client.post("/api/v1/bookings", json=other, headers=headers)
    assert changed.status_code == 422 and "already used" in changed.json()["detail"]
    assert await pool.fetchval("select count(*) from bookings") == 1
