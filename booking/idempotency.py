"""One booking per Idempotency-Key, and the same answer for every retry with that key.

The first answer includes the manage token, which must never be readable from the database;
it is stored encrypted (AES-GCM) under a key derived from the Idempotency-Key itself, and the
row is found by a hash of that key. Only the client, who holds the key, can get the answer back.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from typing import Any

import asyncpg
import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from booking.domain.errors import IdempotencyKeyReused

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


class Ticket(msgspec.Struct, frozen=True):
    """A request's Idempotency-Key: the key (it seals the answer), the hash the row is found by,
    and the hash of the request's body (the same key with another body is refused)."""

    key: str
    key_hash: bytes
    request_hash: bytes

    @classmethod
    def of(cls, key: str, body: msgspec.Struct) -> Ticket:
        return cls(key, key_hash(key), request_hash(body))

    def seal_each(self, answers: Iterable[msgspec.Struct]) -> list[bytes]:
        cipher = _cipher(self.key)
        sealed = []
        for answer in answers:
            nonce = os.urandom(12)
            sealed.append(nonce + cipher.encrypt(nonce, msgspec.json.encode(answer), None))
        return sealed

    def first(self, request: bytes, status: int, response: bytes, kind: Any = None) -> Any:
        """The first answer given with this key, from its row (request_hash, status_code,
        response), as `kind` (by default a visitor's: a draw entry for a 202, else a held
        visit); refused if the body was another."""
        if bytes(request) != self.request_hash:
            raise IdempotencyKeyReused()
        if kind is None:
            from booking.domain.visit import VisitCreated
            from booking.draw import DrawEntry  # the answers' types import the store: a cycle

            kind = DrawEntry if status == 202 else VisitCreated
        return msgspec.json.decode(unseal(self.key, response), type=kind)


async def first_answer(conn: asyncpg.Connection, ticket: Ticket) -> Any:
    """The key's first answer, if it has one."""
    row = await conn.fetchrow(
        "select request_hash, status_code, response from idempotency_keys where key_hash = $1",
        ticket.key_hash,
    )
    return None if row is None else ticket.first(*row)


async def claim(conn: asyncpg.Connection, ticket: Ticket, kind: Any = None) -> Any:
    """Take the key for this request in the caller's transaction: None when it is new, else
    the first request's answer as `kind` (Ticket.first; its transaction has committed by then:
    the insert waited)."""
    first = await _claim_hash(conn, ticket.key_hash, ticket.request_hash)
    return None if first is None else ticket.first(*first, kind=kind)


async def _claim_hash(
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
    ticket: Ticket,
    status_code: int,
    answer: msgspec.Struct,
    reference: str | None,
) -> None:
    """Keep the answer (sealed) for the key's retries, and the visit it made, if any."""
    await _record_sealed(
        conn,
        ticket.key_hash,
        status_code,
        seal(ticket.key, msgspec.json.encode(answer)),
        reference,
    )


async def _record_sealed(
    conn: asyncpg.Connection,
    key_hash: bytes,
    status_code: int,
    sealed: bytes,
    reference: str | None,
) -> None:
    await conn.execute(
        "update idempotency_keys set status_code = $4, response = $2, "
        "booking_id = (select id from bookings where reference = $3) where key_hash = $1",
        key_hash,
        sealed,
        reference,
        status_code,
    )
