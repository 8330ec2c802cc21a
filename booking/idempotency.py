"""One booking per Idempotency-Key, and the same answer for every retry with that key.

The first answer includes the manage token, which must never be readable from the database;
it is stored encrypted (AES-GCM) under a key derived from the Idempotency-Key itself, and the
row is found by a hash of that key. Only the client, who holds the key, can get the answer back.
"""

from __future__ import annotations

import hashlib
import os

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
