"""Where a finished message goes: an SMTP server, or (with no SMTP_URL) files a person can open.

A transport only delivers; it raises `TemporaryFailure` for what may succeed later (the server
is unreachable, or answered 4xx, RFC 5321 §4.2.1) and `PermanentFailure` for what never will
(5xx for this message). The job decides about retries and records the outcome.
"""

from __future__ import annotations

import asyncio
import email.policy
import os
import socket
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import msgspec


class TemporaryFailure(Exception):
    """Try again later."""


class PermanentFailure(Exception):
    """Never try this message again."""


class Transport(Protocol):
    async def deliver(self, message: EmailMessage, *, outbox_id: int) -> str:
        """Deliver one message; return where it went, for the log line."""
        ...


# ------------------------------------------------------------------------------------ SMTP


class SmtpServer(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    use_tls: bool = False
    """Implicit TLS from the first byte (smtps://, RFC 8314 §3.3)."""
    start_tls: bool | None = None
    """True: STARTTLS required (RFC 3207); False: never; None: if the server offers it."""
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never show the password, not even in a traceback
        scheme = "smtps" if self.use_tls else "smtp"
        return f"SmtpServer({scheme}://{self.host}:{self.port})"

    @property
    def where(self) -> str:
        return f"{'smtps' if self.use_tls else 'smtp'}://{self.host}:{self.port}"


_YES = {"1", "true", "yes", "on"}
_NO = {"0", "false", "no", "off"}


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://user:pass@host:587?starttls=1`, `smtps://host` (port 465), `smtp://host:1025`.

    Port 587 (submission, RFC 6409) means STARTTLS unless `?starttls=0` says otherwise.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:password@host:port or smtps://host")
    use_tls = parts.scheme == "smtps"
    port = parts.port or (465 if use_tls else 25)
    flag = (parse_qs(parts.query).get("starttls") or [""])[-1].lower()
    if flag in _YES:
        start_tls: bool | None = True
    elif flag in _NO:
        start_tls = False
    elif flag:
        raise ValueError(f"SMTP_URL: starttls must be 1 or 0, not {flag!r}")
    else:
        start_tls = True if port == 587 else None
    if use_tls and start_tls:
        raise ValueError("SMTP_URL: smtps:// is already TLS; drop ?starttls=1")
    return SmtpServer(
        host=parts.hostname,
        port=port,
        use_tls=use_tls,
        start_tls=False if use_tls else start_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SmtpTransport:
    """One SMTP connection per message: nothing to keep healthy between jobs, and a failure
    never leaks into the next message."""

    def __init__(self, server: SmtpServer, *, timeout: float) -> None:
        self.server = server
        self.timeout = timeout

    @classmethod
    def from_url(cls, url: str, *, timeout: float) -> SmtpTransport:
        return cls(parse_smtp_url(url), timeout=timeout)

    async def deliver(self, message: EmailMessage, *, outbox_id: int) -> str:
        server = self.server
        try:
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.use_tls,
                start_tls=server.start_tls,
                timeout=self.timeout,
            )
        except Exception as e:
            raise classify(e) from e
        return f"sent to {server.where}"


def classify(error: Exception) -> Exception:
    """Temporary or permanent, by the reply code where there is one (RFC 5321 §4.2.1)."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
        failure = TemporaryFailure if codes and all(400 <= c < 500 for c in codes) else None
        return (failure or PermanentFailure)(text)
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        # An internationalised address and a server without SMTPUTF8 (RFC 6531): no retry
        # will change what the server offers for this message.
        return PermanentFailure(f"not deliverable: {error.message}")
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        # Wrong credentials are the operator's to fix, not this message's fault: keep trying.
        return TemporaryFailure(f"authentication failed: {error.code} {error.message}")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        failure = PermanentFailure if error.code >= 500 else TemporaryFailure
        return failure(f"{error.code} {error.message}")
    if isinstance(error, aiosmtplib.SMTPException | OSError | TimeoutError):
        return TemporaryFailure(f"{type(error).__name__}: {error}")
    return error  # a bug, not a mail problem: let it be seen as one


# ----------------------------------------------------------------------------------- files

_FILE_POLICY = email.policy.SMTP.clone(linesep="\n")


class FileTransport:
    """Delivery into a Maildir (`mail/new/*.eml`) for a machine without a mail server.

    Written the Maildir way, into tmp/ and then renamed into new/, so a reader never sees half
    a message; `mutt -f var/mail` or any mail program opening the .eml files reads them.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def deliver(self, message: EmailMessage, *, outbox_id: int) -> str:
        # An internationalised address is written as UTF-8, as SMTPUTF8 would carry it.
        utf8 = any(not a.addr_spec.isascii() for a in message["To"].addresses)
        data = message.as_bytes(policy=_FILE_POLICY.clone(utf8=True) if utf8 else _FILE_POLICY)
        path = await asyncio.to_thread(self._write, data, outbox_id)
        return f"saved in {_shown(path)}"

    def _write(self, data: bytes, outbox_id: int) -> Path:
        tmp, new = self.directory / "tmp", self.directory / "new"
        for folder in (tmp, new, self.directory / "cur"):
            folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        host = socket.gethostname().replace("/", "_").replace(":", "_")
        name = f"{stamp}.outbox-{outbox_id}.{os.getpid()}.{host}.eml"
        try:
            (tmp / name).write_bytes(data)
            (tmp / name).replace(new / name)
        except OSError as e:
            raise TemporaryFailure(f"cannot write {new / name}: {e}") from e
        return new / name


def _shown(path: Path) -> str:
    """The path as a person at this directory would type it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
