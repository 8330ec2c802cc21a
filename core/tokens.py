"""Secrets handed to people (manage, confirmation, session and feed tokens).

256 random bits, shown once, stored only as SHA-256 hashes: a fast hash is right here because
the input is random, not a password; comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_matches(token: str | None, stored_hash: bytes | None) -> bool:
    if not token or stored_hash is None:
        return False
    return hmac.compare_digest(token_hash(token), bytes(stored_hash))
