"""Where an SMS goes: SMSAPI.pl's REST API, or (with no SMS_URL) files a person can read.

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

Another gateway is a class with the same `send(sms, *, outbox_id)` (notifications/sms.py
`SmsSender`).
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import msgspec

from notifications.sms import MAX_PARTS, Sms
from notifications.transport import PermanentFailure, TemporaryFailure

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
