"""A booking's rate limits and proof of work in one Redis round trip (core/ratelimit.py
`check_at_once`, booking/caller.py `limit_booking`), with the order and answers they had as
separate calls: the address's counters, then the solution's single use, then the person's
counter, which only a request that did the work reaches.

Real processes and stores: `wizyta serve` (trusting X-Forwarded-For from 127.0.0.1, so each
request can come from its own address), the real Redis (its MONITOR shows what one booking
sends) and, for the outage, a proxy in front of it that the test blackholes.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import msgspec
import pytest

from booking import pow
from core.ratelimit import RateLimits, TooManyRequests, check_at_once
from tests.booking_helpers import BASZTOWA, booking_body, free_slots
from tests.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
def guarded(settings, pool, redis):
    strict = msgspec.structs.replace(settings, rate_limit=True, proof_of_work=True)
    with LiveServer(strict) as server:
        yield server


async def _solved(http: httpx.AsyncClient, address: str = "192.0.2.250") -> str:
    response = await http.get(
        "/api/v1/challenge", params={"point_id": BASZTOWA}, headers={"X-Forwarded-For": address}
    )
    assert response.status_code == 200, response.text
    return pow.solve(msgspec.convert(response.json(), pow.Challenge))


async def _book(
    http: httpx.AsyncClient,
    start: str,
    email: str,
    proof: str | None,
    *,
    address: str,
    key: str | None = None,
) -> httpx.Response:
    headers = {"Idempotency-Key": key or str(uuid.uuid4()), "X-Forwarded-For": address}
    if proof is not None:
        headers["Altcha"] = proof
    return await http.post("/api/v1/bookings", json=booking_body(start, email), headers=headers)


def _is_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["code"] == "rate_limited"


async def _guard_commands(redis, during) -> list[dict]:
    """What clients (not scripts) sent Redis about limits and proofs while `during` ran."""
    seen: list[dict] = []
    end = f"end-{uuid.uuid4()}"
    started = asyncio.Event()

    async def watch() -> None:
        async with redis.monitor() as monitor:
            await redis.echo("start")  # MONITOR is on once its own echo comes back
            async for command in monitor.listen():
                if command["command"] == "ECHO start":
                    started.set()
                elif command["command"] == f"ECHO {end}":
                    return
                else:
                    seen.append(command)

    watching = asyncio.create_task(watch())
    await asyncio.wait_for(started.wait(), 10)
    await during()
    await redis.echo(end)
    await asyncio.wait_for(watching, 10)
    # the guard's keys, or a script's loading; not the outbox job's script (its keys are arq's)
    guard = ("wizyta:rl:", "wizyta:pow:", "script")
    return [
        c
        for c in seen
        if c.get("client_type") != "lua" and any(g in c["command"].lower() for g in guard)
    ]


async def test_a_booking_with_limits_and_proof_of_work_is_one_redis_round_trip(guarded, redis):
    async with httpx.AsyncClient(base_url=guarded.url, timeout=30) as http:
        slots = await free_slots(http)
        # the first booking after Redis started loads the script (SCRIPT LOAD, then EVALSHA)
        first = await _book(
            http, slots[0]["start"], "a@example.org", await _solved(http), address="192.0.2.1"
        )
        assert first.status_code == 201, first.text
        proof = await _solved(http)

        async def book() -> None:
            second = await _book(
                http, slots[1]["start"], "b@example.org", proof, address="192.0.2.2"
            )
            assert second.status_code == 201, second.text

        sent = await _guard_commands(redis, book)
    assert [c["command"].split()[0].upper() for c in sent] == ["EVALSHA"], sent
    # the address's two counters, the marker and the person's counter: 2 keys per counter + 1
    assert sent[0]["command"].split()[2] == "7", sent


async def test_a_replayed_solution_is_refused_and_spends_no_ones_limit(guarded, pool):
    async with httpx.AsyncClient(base_url=guarded.url, timeout=30) as http:
        slots = await free_slots(http)
        proof = await _solved(http)
        first = await _book(
            http, slots[0]["start"], "first@example.org", proof, address="192.0.2.1"
        )
        assert first.status_code == 201, first.text
        # six replays naming someone else (the person's limit is 5 an hour) from six addresses
        for i in range(6):
            replay = await _book(
                http,
                slots[1 + i]["start"],
                "victim@example.org",
                proof,
                address=f"192.0.2.{10 + i}",
            )
            assert replay.status_code == 422, replay.text
            assert replay.json()["code"] == "proof_of_work_used"
        # and a wrong proof, a missing one: neither counts toward the person either
        for bad in ("bm90IGEgc29sdXRpb24=", None):
            refused = await _book(
                http, slots[8]["start"], "victim@example.org", bad, address="192.0.2.20"
            )
            assert refused.status_code == 422 and refused.json()["code"].startswith(
                "proof_of_work_"
            )
        mine = await _book(
            http,
            slots[10]["start"],
            "victim@example.org",
            await _solved(http),
            address="192.0.2.30",
        )
        assert mine.status_code == 201, mine.text
    assert await pool.fetchval("select count(*) from bookings") == 2


async def test_the_address_limit_counts_every_request_and_answers_before_the_proof(guarded, pool):
    async with httpx.AsyncClient(base_url=guarded.url, timeout=30) as http:
        slots = await free_slots(http)
        flood = "203.0.113.7"
        for i in range(10):  # 10 a minute from one address, whatever their proofs
            bad = await _book(http, slots[i]["start"], f"bot{i}@example.org", "x", address=flood)
            assert bad.status_code == 422, bad.text
        proof = await _solved(http)
        limited = await _book(http, slots[20]["start"], "bot@example.org", proof, address=flood)
        _is_429(limited)
        assert "network address" in limited.json()["detail"]
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # nothing past the address's counter was done: the solution is not spent
        elsewhere = await _book(
            http, slots[21]["start"], "olena@example.org", proof, address="198.51.100.4"
        )
        assert elsewhere.status_code == 201, elsewhere.text
    assert await pool.fetchval("select count(*) from bookings") == 1


async def test_the_person_limit_answers_429_for_the_e_mail_address(guarded):
    async with httpx.AsyncClient(base_url=guarded.url, timeout=30) as http:
        slots = await free_slots(http)
        codes = []
        for i in range(6):
            response = await _book(
                http,
                slots[i]["start"],
                "same.person@example.org",
                await _solved(http),
                address=f"192.0.2.{40 + i}",
            )
            codes.append(response.status_code)
        assert 429 not in codes[:5], codes
        _is_429(response)
        assert "for this e-mail address" in response.json()["detail"]
        assert int(response.headers["Retry-After"]) <= 3600


async def test_the_booking_path_and_the_library_count_the_same_keys(redis, stores):
    """A rolling deploy (or the library's `check`, which other actions keep) and the one
    script see each other's counts: the same keys and the same sliding window counter."""
    limits = RateLimits(stores.redis_url)
    for _ in range(10):  # the library counts ...
        await limits.check("booking", address="198.51.100.9")
    with pytest.raises(TooManyRequests):  # ... the script refuses the 11th
        await check_at_once(redis, limits, "booking", address="198.51.100.9", person=None)
    for _ in range(5):
        await check_at_once(redis, limits, "booking", address=None, person="someone")
    with pytest.raises(TooManyRequests) as refused:
        await limits.check("booking", address=None, person="someone")
    assert refused.value.retry_after > 1


@pytest.mark.parametrize("how", ["cut", "blackhole"])
async def test_with_redis_away_a_proof_of_work_is_a_503_and_a_booking_without_one_goes_on(
    settings, pool, redis, redis_proxy, how
):
    strict = msgspec.structs.replace(
        settings, rate_limit=True, proof_of_work=True, redis_url=redis_proxy.url
    )
    with LiveServer(strict) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            slots = await free_slots(http)
            proof = await _solved(http)
            await getattr(redis_proxy, how)()
            try:
                began = time.monotonic()
                refused = await _book(
                    http, slots[0]["start"], "a@example.org", proof, address="192.0.2.1", key="k"
                )
                took = time.monotonic() - began
                assert refused.status_code == 503, refused.text
                assert refused.headers["Retry-After"] == "5"
                assert refused.headers["content-type"].startswith("application/problem+json")
                assert took < 10, took  # a hang check, not a speed check
                # a point with no proof of work: the limits fail open, the booking goes on
                await pool.execute("update points set pow_max_number = 0 where id = $1", BASZTOWA)
                plain = await _book(
                    http, slots[1]["start"], "b@example.org", None, address="192.0.2.2"
                )
                assert plain.status_code == 201, plain.text
            finally:
                await redis_proxy.restore()
            await pool.execute("update points set pow_max_number = 50000 where id = $1", BASZTOWA)
            # back: the same request sent again (its Idempotency-Key and body) books with its
            # solution (a blackholed Redis may have set the marker late: for this request)
            for _ in range(50):
                again = await _book(
                    http, slots[0]["start"], "a@example.org", proof, address="192.0.2.1", key="k"
                )
                if again.status_code != 503:
                    break
                await asyncio.sleep(0.2)
            assert again.status_code == 201, again.text
