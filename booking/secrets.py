"""References, tokens and the person key: what a visitor holds and how we recognise it.

Tokens come from core.tokens (256 random bits, stored as hashes). References are short and
human: three letters of the city, then six characters from an alphabet without look-alikes.
"""

from __future__ import annotations

import secrets

from core.tokens import new_token, token_hash, token_matches

# Crockford's base32 without I, L, O, U: no 0/O or 1/I/L confusion when read aloud or typed.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CITY_CODES = {"Kraków": "KRK", "Tarnów": "TAR", "Nowy Sącz": "NSA"}

# Providers known to ignore dots in the local part (Gmail) get them dropped from the key.
_DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


__all__ = ["email_key", "new_reference", "new_token", "token_hash", "token_matches"]


def new_reference(city: str) -> str:
    prefix = CITY_CODES.get(city, "PID")
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"{prefix}-{body[:4]}-{body[4:]}"


def email_key(email: str) -> str:
    """One key per mailbox for the per-person limit.

    Lower case throughout (providers treat addresses case-insensitively in practice), a
    `+tag` dropped (plus addressing delivers to the same mailbox at the big providers), and dots
    dropped where the provider ignores them (Gmail). Used only for counting, never for sending.
    """
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS:
        domain = _DOTLESS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"
