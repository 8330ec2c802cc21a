"""The link every e-mail about a visit carries to its manage page, derived rather than stored.

The manage token is shown once and kept only as a hash, so a mail written later (a reminder, a
move, a cancellation) cannot carry it. Mails carry a MAIL LINK TOKEN instead: an HMAC of the
visit's id under an app secret kept in PostgreSQL (`app_secrets`, first writer wins, so every
replica and worker derives the same token). Nothing new is stored per visit, the token opens
only its own visit (booking/visits.py `_authorized` accepts it beside the manage token), and
rotating the secret (deleting the row) withdraws every mailed link at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID

import asyncpg

from core.db import app_secret

_SECRET_NAME = "mail-link-key"


def mail_token(key: bytes, booking_id: UUID) -> str:
    """Urlsafe base64 (no padding) of HMAC-SHA256(key, "manage:" + the visit's id): 256 bits."""
    digest = hmac.new(key, b"manage:" + booking_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def short_token(key: bytes, booking_id: UUID) -> str:
    """The SMS's shorter link token: 128 bits of HMAC-SHA256(key, "sms:" + the visit's id), 22
    characters, so a link fits a short message; it opens the same pages as `mail_token`."""
    digest = hmac.new(key, b"sms:" + booking_id.bytes, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def tokens(key: bytes, booking_id: UUID) -> tuple[str, str]:
    """Every derived token that opens this visit's pages: the mails' and the SMS's."""
    return mail_token(key, booking_id), short_token(key, booking_id)


async def link_key(conn: asyncpg.Connection) -> bytes:
    """The replicas' shared key of mail links."""
    return await app_secret(conn, _SECRET_NAME)


def manage_url(public_url: str, reference: str, token: str) -> str:
    """The manage page with the token in its query (a page, not a script, reads it)."""
    return f"{public_url}/bookings/{reference}/manage?token={token}"


def short_url(public_url: str, reference: str, token: str) -> str:
    """The visit's page in fewer characters (an SMS): it redirects to the manage page."""
    return f"{public_url}/bookings/{reference}?token={token}"


def cancel_url(public_url: str, reference: str, token: str) -> str:
    """A reminder's "I can't come": the page that asks, then cancels (a POST: mail scanners
    and link previews only ever GET it), and offers the time to the waitlist."""
    return f"{public_url}/bookings/{reference}/cancel?token={token}"
