"""Short messages: how a text is encoded and counted, and where an SMS goes.

A text is sent in GSM-7 (3GPP TS 23.038) where it can be: Latin letters outside that alphabet
(the Polish ą, ł, ś...) and typographic punctuation are folded to their plain forms first, as
Polish SMS are usually written. A text that still has a character GSM-7 lacks (Cyrillic) is
sent whole in UCS-2. Parts: GSM-7 takes 160 septets in one part and 153 per part of a longer
(concatenated) message, an extension character (`€`, `[`, `{`...) two septets; UCS-2 takes 70
UTF-16 code units in one part and 67 per part. `fit` picks the first of a message's wordings
that stays within MAX_PARTS.

Senders only deliver, and raise notifications.transport's `TemporaryFailure` (retry later) or
`PermanentFailure` (never): the worker applies the same retry and failure rules as to mail.

- `SmsapiSender` speaks SMSAPI.pl's REST API (POST /sms.do, form fields, `format=json`, a
  Bearer token): a success is `{"count": 1, "list": [{"id", "points", "number", "status"...}]}`;
  a refusal is `{"error": <code>, "message": ..., "invalid_numbers"?: [...]}`. Each message
  carries `idx` = its outbox row with `check_idx=1`, so a try whose answer was lost and that
  is sent again is refused by the gateway with error 53 (already sent) instead of reaching the
  phone twice: that answer counts as sent.
- `FileSmsSender` writes each SMS as a file (`WIZYTA_DATA_DIR/sms/new/`), for a machine with
  no gateway, as mail is written to a Maildir.
"""

from __future__ import annotations

import asyncio
import os
import socket
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import msgspec

from core.settings import Settings
from notifications.messages import CATALOGS, MessageKind, sms_wordings
from notifications.transport import PermanentFailure, TemporaryFailure

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


# ------------------------------------------------------------------------------- SMSAPI.pl

SMSAPI_HOST = "api.smsapi.pl"

#: Refusals about this message or this number: no retry changes them.
SMSAPI_PERMANENT = {
    11: "the message is empty or too long",
    12: "the message has more parts than max_parts",
    13: "no valid phone number",
    57: "the number is on the account's blacklist",
}
#: The same message with the same idx was sent already (check_idx=1): it is the phone's.
SMSAPI_ALREADY_SENT = 53
# Every other code is taken as temporary: the gateway's own trouble (8, 201, 202, 203, 999),
# or the account's that an operator fixes (101, 102 authorization, 103 no credits, 105 the
# address not allowed, 14 the sender name): the row keeps its tries, then fails.


class SmsapiServer(msgspec.Struct, frozen=True, kw_only=True):
    base_url: str
    token: str
    sender_name: str | None = None

    def __repr__(self) -> str:  # never show the token, not even in a traceback
        return f"SmsapiServer({self.base_url})"


def parse_sms_url(url: str) -> SmsapiServer:
    """`smsapi://TOKEN@api.smsapi.pl?from=NAME` (https), `smsapi://TOKEN@` (the default host),
    or `smsapi+http://TOKEN@127.0.0.1:8080` (plain HTTP, for a local gateway or a test's)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smsapi", "smsapi+https", "smsapi+http"):
        raise ValueError("SMS_URL must look like smsapi://TOKEN@api.smsapi.pl?from=NAME")
    token = unquote(parts.password or parts.username or "")
    if not token:
        raise ValueError("SMS_URL has no token: smsapi://TOKEN@api.smsapi.pl")
    scheme = "http" if parts.scheme == "smsapi+http" else "https"
    host = parts.hostname or SMSAPI_HOST
    port = f":{parts.port}" if parts.port else ""
    sender = (parse_qs(parts.query).get("from") or [""])[-1] or None
    return SmsapiServer(
        base_url=f"{scheme}://{host}{port}{parts.path.rstrip('/')}",
        token=token,
        sender_name=sender,
    )


class SmsapiSender:
    """One HTTP request per SMS (a client per send: nothing to keep healthy between jobs)."""

    def __init__(self, server: SmsapiServer, *, timeout: float) -> None:
        self.server = server
        self.timeout = timeout

    @classmethod
    def from_url(cls, url: str, *, timeout: float) -> SmsapiSender:
        return cls(parse_sms_url(url), timeout=timeout)

    async def send(self, sms: Sms, *, outbox_id: int) -> str:
        import httpx

        form = {
            "to": sms.to.removeprefix("+"),
            "message": sms.text,
            "format": "json",
            "encoding": "utf-8",
            "max_parts": str(MAX_PARTS),
            "idx": f"wizyta{outbox_id}",
            "check_idx": "1",
        }
        if self.server.sender_name:
            form["from"] = self.server.sender_name
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.post(
                    f"{self.server.base_url}/sms.do",
                    data=form,
                    headers={"Authorization": f"Bearer {self.server.token}"},
                )
        except httpx.TimeoutException as e:
            raise TemporaryFailure(f"SMSAPI did not answer within {self.timeout:g} s") from e
        except httpx.HTTPError as e:
            raise TemporaryFailure(f"SMSAPI unreachable: {type(e).__name__}: {e}") from e
        return classify_smsapi(response.status_code, response.content)


def classify_smsapi(status: int, body: bytes) -> str:
    """What an answer of SMSAPI's /sms.do means: where it went, or a failure to raise."""
    if status >= 500:
        raise TemporaryFailure(f"SMSAPI answered HTTP {status}")
    try:
        answer = msgspec.json.decode(body)
    except msgspec.DecodeError:
        answer = None
    if isinstance(answer, dict) and answer.get("error") not in (None, 0, "0"):
        code, message = answer.get("error"), str(answer.get("message") or "")[:200]
        try:
            number = int(code)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = None
        if number == SMSAPI_ALREADY_SENT:
            return "already sent (SMSAPI error 53: the same idx was sent before)"
        text = f"SMSAPI error {code}: {message or SMSAPI_PERMANENT.get(number or 0, '')}"
        if number in SMSAPI_PERMANENT:
            raise PermanentFailure(text)
        raise TemporaryFailure(text)
    if status in (401, 403, 408, 429) or not 200 <= status < 300:
        failure = TemporaryFailure if status in (401, 403, 408, 429) else PermanentFailure
        raise failure(f"SMSAPI answered HTTP {status}")
    if not isinstance(answer, dict) or not answer.get("list"):
        raise TemporaryFailure(f"SMSAPI answered HTTP {status} without a message list")
    first = answer["list"][0] if isinstance(answer["list"][0], dict) else {}
    return f"sent to SMSAPI as {first.get('id', '?')} ({first.get('status', '?')})"


# ------------------------------------------------------------------------------------ files


class FileSmsSender:
    """Each SMS as a text file in `directory/new`, written into tmp/ and renamed (the Maildir
    way, so a reader never sees half of one)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, sms: Sms, *, outbox_id: int) -> str:
        data = (
            f"To: {sms.to}\nEncoding: {sms.encoding}\nParts: {sms.parts}\n\n{sms.text}\n"
        ).encode()
        path = await asyncio.to_thread(self._write, data, outbox_id)
        return f"saved in {path}"

    def _write(self, data: bytes, outbox_id: int) -> Path:
        tmp, new = self.directory / "tmp", self.directory / "new"
        for folder in (tmp, new):
            folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        host = socket.gethostname().replace("/", "_").replace(":", "_")
        name = f"{stamp}.outbox-{outbox_id}.{os.getpid()}.{host}.txt"
        try:
            (tmp / name).write_bytes(data)
            (tmp / name).replace(new / name)
        except OSError as e:
            raise TemporaryFailure(f"cannot write {new / name}: {e}") from e
        return new / name


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


def parts_for(text: str) -> int:
    """Parts the text takes (a shorthand for tests and logs)."""
    return encode(text).parts


__all__ = [
    "MAX_PARTS",
    "FileSmsSender",
    "Sms",
    "SmsSender",
    "SmsapiSender",
    "encode",
    "fit",
    "gsm7",
    "parse_sms_url",
]
