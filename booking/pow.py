"""Proof of work before a booking (ALTCHA, protocol v1), so taking every slot costs CPU.

A client asks GET /api/v1/challenge?point_id=…, finds the number whose SHA-256 with the salt
gives the challenge (at most the point's `pow_max_number` tries; a phone needs well under a
second for the default 50,000), and sends the base64 JSON payload
`{"algorithm","challenge","number","salt","signature"}` in the `Altcha` header of
POST /api/v1/bookings. A challenge is signed (HMAC), bound to its point, valid 10 minutes, and
accepted for one booking request: its signature is remembered in Redis, with a fingerprint of
the request it was first used for (the Idempotency-Key and the request's body), until it expires.
The same request sent again (a retry with the same Idempotency-Key and body, a resent form) may
carry the same solution, so that the booking's idempotent replay answers it; anything else is
refused. The booking page's form sends the solution of the ALTCHA widget as its `altcha` field.

While Redis cannot be asked whether a solution was already used, a booking that needs a proof
of work is refused with 503 and Retry-After: accepting it would let one solution book without
limit for as long as Redis is away, and nothing has been written yet. Bookings at points with
no proof of work (difficulty 0, or PROOF_OF_WORK=off) go on without Redis.

A booking checks its solution here in Python (`verified`) and sets the marker in the same Redis
round trip as its rate limits (booking/caller.py `limit_booking`, core/ratelimit.py
`check_at_once`); `check_solution` sets it alone.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import altcha
import asyncpg
import msgspec
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from booking import idempotency
from booking.domain.errors import (
    ProofOfWorkExpired,
    ProofOfWorkInvalid,
    ProofOfWorkMissing,
    ProofOfWorkUsed,
)
from core.db import app_secret
from core.errors import StoreUnavailable
from core.ratelimit import SingleUse

VALID_FOR = dt.timedelta(minutes=10)
_SECRET_NAME = "altcha-hmac-key"


class Challenge(msgspec.Struct, frozen=True):
    algorithm: str
    challenge: str
    maxnumber: int
    salt: str
    signature: str


async def hmac_key(conn: asyncpg.Connection) -> bytes:
    """The replicas' shared key of challenges."""
    return await app_secret(conn, _SECRET_NAME)


async def difficulty(conn: asyncpg.Connection, point_id: str) -> int | None:
    return await conn.fetchval("select pow_max_number from points where id = $1", point_id)


async def needed(conn: asyncpg.Connection, point_id: str, enabled: bool) -> bool:
    """Whether booking at this point needs a proof of work: PROOF_OF_WORK is on and the point's
    difficulty is not 0. An unknown point needs none here (its booking is refused anyway)."""
    return enabled and bool(await difficulty(conn, point_id))


async def key_if_needed(conn: asyncpg.Connection, point_id: str, enabled: bool) -> bytes | None:
    """`hmac_key` if booking at this point needs a proof of work (see `needed`), else None:
    one query for both in the usual case (the key made already)."""
    if not enabled:
        return None
    row = await conn.fetchrow(
        """
        select p.pow_max_number, s.value
        from points p left join app_secrets s on s.name = $2
        where p.id = $1
        """,
        point_id,
        _SECRET_NAME,
    )
    if row is None or not row["pow_max_number"]:
        return None
    return bytes(row["value"]) if row["value"] is not None else await hmac_key(conn)


def new_challenge(key: bytes, point_id: str, max_number: int) -> Challenge:
    challenge = altcha.create_challenge_v1(
        hmac_key=key,
        max_number=max_number,
        expires=dt.datetime.now(dt.UTC) + VALID_FOR,
        params={"point": point_id},
    )
    return Challenge(
        challenge.algorithm,
        challenge.challenge,
        challenge.max_number,
        challenge.salt,
        challenge.signature,
    )


def request_tag(idempotency_key: str, body: msgspec.Struct) -> bytes:
    """What a solution is spent on: one booking request, as its Idempotency-Key and body."""
    return hashlib.sha256(
        idempotency.key_hash(idempotency_key) + idempotency.request_hash(body)
    ).digest()


def verified(
    key: bytes, point_id: str, payload: str | None, *, request: bytes | None = None
) -> SingleUse:
    """The single-use marker of a fresh, correct solution for this point; otherwise 422 saying
    why. Only the cryptographic check, in Python: spending the marker is the caller's, either
    `check_solution` or, for a booking, in the same Redis round trip as its rate limits
    (core/ratelimit.py `check_at_once`)."""
    if not payload:
        raise ProofOfWorkMissing()
    try:
        decoded = json.loads(base64.b64decode(payload, validate=True))
        ok, error = altcha.verify_solution_v1(decoded, key, check_expires=True)
        bound = altcha.extract_params_v1(decoded).get("point") == [point_id]
    except (ValueError, TypeError, KeyError, AttributeError):
        ok, error, bound = False, "malformed", False
    if not ok or not bound:
        if error and "expire" in error.lower():
            raise ProofOfWorkExpired()
        raise ProofOfWorkInvalid()
    # The marker outlives the challenge: it is set at the latest when the challenge expires.
    return SingleUse(
        f"wizyta:pow:{decoded['signature']}", request or b"1", int(VALID_FOR.total_seconds())
    )


#: What `verified` raises: the request did not do the work.
NOT_DONE = (ProofOfWorkMissing, ProofOfWorkExpired, ProofOfWorkInvalid)


async def check_solution(
    redis: ArqRedis,
    key: bytes,
    point_id: str,
    payload: str | None,
    *,
    request: bytes | None = None,
) -> None:
    """Accept a fresh, correct solution for this point once; otherwise 422 saying why.

    With `request` (see `request_tag`), "once" means for one request: that request sent again
    with the same solution is accepted again, and the booking's idempotency answers it.
    """
    marker = verified(key, point_id, payload, request=request)
    try:
        if await redis.set(marker.key, marker.value, nx=True, ex=marker.seconds):
            return
        first_use = await redis.get(marker.key)
    except (RedisError, OSError, TimeoutError) as e:  # single use cannot be checked: refuse
        raise StoreUnavailable(retry_after=5) from e
    if request is None or first_use != request:
        raise ProofOfWorkUsed()


def solve(challenge: Challenge) -> str:
    """What a client does (used by tests and documented for API clients)."""
    solution = altcha.solve_challenge_v1(
        challenge.challenge, challenge.salt, challenge.algorithm, challenge.maxnumber
    )
    assert solution is not None, "no number up to maxnumber solves this challenge"
    payload = {
        "algorithm": challenge.algorithm,
        "challenge": challenge.challenge,
        "number": solution.number,
        "salt": challenge.salt,
        "signature": challenge.signature,
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()
