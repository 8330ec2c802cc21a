"""Short messages: how a text is encoded and counted, and where an SMS goes.

A text is sent in GSM-7 (3GPP TS 23.038) where it can be: Latin letters outside that alphabet
(the Polish ą, ł, ś...) and typographic punctuation are folded to their plain forms first, as
Polish SMS are usually written. A text that still has a character GSM-7 lacks (Cyrillic) is
sent whole in UCS-2. Parts: GSM-7 takes 160 septets in one part and 153 per part of a longer
(concatenated) message, an extension character (`€`, `[`, `{`...) two septets; UCS-2 takes 70
UTF-16 code units in one part and 67 per part. `fit` picks the first of a message's wordings
that stays within MAX_PARTS.

An `SmsSender` delivers one (notifications/sms_gateways.py: SMSAPI.pl, or files); `build_sms`
makes one from a claimed outbox row.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

import msgspec

from core.settings import Settings
from notifications.messages import CATALOGS, MessageKind, sms_wordings

MAX_PARTS = 2
"""A message is worded to take at most this many parts (the gateway is told the same)."""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

#: Characters GSM-7 lacks with a plain form it has (NFKD takes the accents off the rest).
_PLAIN = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "–": "-",
        "—": "-",
        "‑": "-",
        "„": '"',
        "“": '"',
        "”": '"',
        "«": '"',
        "»": '"',
        "‘": "'",
        "’": "'",
        "…": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "\t": " ",
    }
)

Encoding = Literal["GSM-7", "UCS-2"]


def gsm7(text: str) -> str | None:
    """The text in GSM-7's alphabet (Latin letters folded to plain ones), or None if it has a
    character that cannot be written there (Cyrillic, CJK, emoji)."""
    out = []
    for char in text.translate(_PLAIN):
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            out.append(char)
            continue
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if plain and all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in plain):
            out.append(plain)
        else:
            return None
    return "".join(out)


class Encoded(msgspec.Struct, frozen=True):
    text: str
    """What is sent: folded to GSM-7's alphabet, or as written for UCS-2."""
    encoding: Encoding
    parts: int
    units: int
    """Septets (GSM-7) or UTF-16 code units (UCS-2)."""


def encode(text: str) -> Encoded:
    """How `text` goes out and how many parts it takes."""
    folded = gsm7(text)
    if folded is not None:
        units = [2 if c in GSM7_EXTENSION else 1 for c in folded]
        return Encoded(folded, "GSM-7", _parts(units, 160, 153), sum(units))
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return Encoded(text, "UCS-2", _parts(units, 70, 67), sum(units))


def _parts(units: list[int], single: int, per_part: int) -> int:
    """Parts of a message of characters `units` long each: a character is never split
    between two parts (an escape sequence, a surrogate pair)."""
    total = sum(units)
    if total <= single:
        return 1
    parts, room = 1, per_part
    for size in units:
        if size > room:
            parts, room = parts + 1, per_part
        room -= size
    return parts


def fit(wordings: Iterable[str], max_parts: int = MAX_PARTS) -> Encoded:
    """The first wording that takes at most `max_parts` parts, or else the shortest."""
    encoded = [encode(text) for text in wordings]
    if not encoded:
        raise ValueError("no wording to send")
    for candidate in encoded:
        if candidate.parts <= max_parts:
            return candidate
    return min(encoded, key=lambda e: (e.parts, e.units))


class Sms(msgspec.Struct, frozen=True):
    to: str
    """E.164, "+48600100200"."""
    text: str
    encoding: Encoding
    parts: int


class SmsSender(Protocol):
    async def send(self, sms: Sms, *, outbox_id: int) -> str:
        """Deliver one SMS; return where it went, for the log line."""
        ...


# ------------------------------------------------------------------- from an outbox row


def sends_by_sms(kind: MessageKind) -> bool:
    """Whether a change of this kind is told by SMS too (the manage link asked for again goes
    only to the e-mail address that asked)."""
    return CATALOGS["en"].sms.kind(kind) is not None


def build_sms(row: Mapping[str, Any], settings: Settings, *, link_key: bytes) -> Sms:
    """The SMS for one claimed outbox row (see notifications/outbox.py CLAIM); ValueError
    when the row cannot make one. Its one link: the confirmation (or offer) link for what asks
    to be confirmed, "I can't come" for a reminder, booking again after an expired hold, and
    the visit's page (a short token, booking/links.py) for the rest."""
    from booking import links
    from booking.phones import valid_mobile
    from notifications.mailer import ASKS_TO_CONFIRM, visit_snapshot

    kind = MessageKind(row["kind"])
    phone = row.get("visitor_phone")
    if not phone:
        raise ValueError("the visit has no phone number")
    visit = visit_snapshot(row, settings, link_key=None)
    public, reference = settings.public_url, visit.reference
    short = links.short_token(link_key, row["booking_id"])
    if kind in ASKS_TO_CONFIRM:
        token = (row["payload"] or {}).get("token")
        if not token:
            raise ValueError(f"the {kind} row has no token (already sent?)")
        link = f"{public}/bookings/{reference}/confirm?{urlencode({'token': token})}"
    elif kind is MessageKind.REMINDER:
        link = links.cancel_url(public, reference, short)
    elif kind is MessageKind.HOLD_EXPIRED:
        link = f"{public}/points/{row['point_id']}/book"
    else:
        link = links.short_url(public, reference, short)
    address = row["point_address"] or {}
    place = ", ".join(p for p in (address.get("street"), address.get("city")) if p)
    wordings = sms_wordings(kind, visit, link=link, place=place)
    if wordings is None:
        raise ValueError(f"a {kind} message is not sent by SMS")
    encoded = fit(wordings)
    return Sms(
        to=valid_mobile(phone), text=encoded.text, encoding=encoded.encoding, parts=encoded.parts
    )
