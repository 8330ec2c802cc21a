"""One booking per Idempotency-Key, and the same answer for every retry with that key.

The first answer includes the manage token, which must never be readable from the database;
it is stored encrypted (AES-GCM) under a key derived from the Idempotency-Key itself, and the
row is found by a hash of that key. Only the client, who holds the key, can get the answer back.
"""

from __future__ import annotations

import hashlib
import os

import asyncpg
import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAX_KEY_LENGTH = 200


def key_hash(key: str) -> bytes:
    return hashlib.sha256(b"wizyta:idempotency:id:" + key.encode()).digest()


def request_hash(body: msgspec.Struct) -> bytes:
    return hashlib.sha256(msgspec.json.encode(body, order="sorted")).digest()


def _cipher(key: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"wizyta:idempotency:enc:" + key.encode()).digest())


def seal(key: str, answer: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + _cipher(key).encrypt(nonce, answer, None)


def unseal(key: str, sealed: bytes) -> bytes:
    return _cipher(key).decrypt(sealed[:12], sealed[12:], None)


async def claim(
    conn: asyncpg.Connection, key_hash: bytes, request_hash: bytes
) -> asyncpg.Record | None:
    """Take the key for this request; None when it is new, else the first request's record
    (its transaction has committed by then: the insert waited for it)."""
    first = await conn.fetchval(
        """
        insert into idempotency_keys (key_hash, request_hash) values ($1, $2)
        on conflict do nothing returning true
        """,
        key_hash,
        request_hash,
    )
    if first:
        return None
    return await conn.fetchrow(
        "select request_hash, status_code, response from idempotency_keys where key_hash = $1",
        key_hash,
    )


async def record(
    conn: asyncpg.Connection,
    key_hash: bytes,
    status_code: int,
    sealed: bytes,
    reference: str | None,
) -> None:
    """Keep the answer (sealed) for the key's retries, and the visit it made, if any."""
    await conn.execute(
        "update idempotency_keys set status_code = $4, response = $2, "
        "booking_id = (select id from bookings where reference = $3) where key_hash = $1",
        key_hash,
        sealed,
        reference,
        status_code,
    )
