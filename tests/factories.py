"""Shared test helpers: bookings and outbox rows inserted by plain SQL, and real SMTP servers.

The SQL helpers need the seed data (points, services, desks) and fill in everything a test does
not care about; they bypass booking's rules on purpose, so tests of other features do not
depend on the booking code.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FAR_FUTURE = datetime(2031, 1, 6, 8, 0, tzinfo=UTC)
_slots = itertools.count()


def new_reference() -> str:
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"TST-{body[:4]}-{body[4:]}"


async def insert_booking(
    conn: asyncpg.Connection,
    *,
    point_id: str | None = None,
    start: datetime | None = None,
    minutes: int = 30,
    language: str = "en",
    status: str = "confirmed",
    sequence: int = 0,
    visitor_name: str = "Test Visitor",
    visitor_email: str = "visitor@example.test",
    was_confirmed: bool | None = None,
) -> asyncpg.Record:
    """A booking at the first (or the given) seeded point, its first service and desk.

    Without `start`, each call takes a slot of its own far in the future, so any number of
    bookings never meet the desk-overlap constraint. The per-person limit is not in play (no
    email key). `was_confirmed` (default: the status implies it) sets `confirmed_at`.
    """
    place = await conn.fetchrow(
        """
        select ps.point_id, ps.service_id, d.id as desk_id
          from point_services ps join desks d on d.point_id = ps.point_id
         where $1::text is null or ps.point_id = $1
         order by ps.point_id, ps.service_id, d.id
         limit 1
        """,
        point_id,
    )
    if place is None:
        raise LookupError("no point with a service and a desk: load the seed data first")
    start = start or _FAR_FUTURE + timedelta(minutes=minutes * next(_slots))
    if was_confirmed is None:
        was_confirmed = status in ("confirmed", "checked_in", "completed", "no_show")
    return await conn.fetchrow(
        """
        insert into bookings (reference, point_id, service_id, desk_id, starts_at, ends_at,
                              language, visitor_name, visitor_email, status, sequence,
                              hold_expires_at, manage_token_hash, confirmed_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                case when $10 = 'held' then now() + interval '30 minutes' end, $12,
                case when $13 then now() end)
        returning *
        """,
        new_reference(),
        place["point_id"],
        place["service_id"],
        place["desk_id"],
        start,
        start + timedelta(minutes=minutes),
        language,
        visitor_name,
        visitor_email,
        status,
        sequence,
        secrets.token_bytes(32),
        was_confirmed,
    )


async def insert_outbox(
    conn: asyncpg.Connection,
    booking_id: UUID,
    kind: str,
    *,
    sequence: int = 0,
    payload: dict[str, Any] | None = None,
    due_at: datetime | None = None,
) -> int:
    return await conn.fetchval(
        """
        insert into outbox (booking_id, kind, sequence, payload, due_at)
        values ($1, $2, $3, $4, coalesce($5, now()))
        returning id
        """,
        booking_id,
        kind,
        sequence,
        payload or {},
        due_at,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailCatcher:
    """A real SMTP server (aiosmtpd, in a thread of its own) on 127.0.0.1 keeping what it gets.

    `replies` scripts the answers to DATA, one per message ("421 4.3.0 try later", then the
    default "250 OK"); `delay` makes each DATA take that long, like a busy server.
    """

    def __init__(self, *, delay: float = 0.0) -> None:
        self.port = free_port()
        self.delay = delay
        self.replies: deque[str] = deque()
        self.received: list[bytes] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            reply = self.replies.popleft() if self.replies else "250 OK"
            if reply.startswith("2"):
                self.received.append(envelope.content)
            else:
                self.refused.append(reply)
        return reply

    def start(self) -> MailCatcher:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        """What arrived, parsed (parsing is left until asked, to keep the server quick)."""
        with self._lock:
            received = list(self.received)
        parser = BytesParser(policy=email.policy.default)
        return [parser.parsebytes(raw) for raw in received]  # type: ignore[misc]

    def count(self) -> int:
        with self._lock:
            return len(self.received)


class SmtpServerProcess:
    """aiosmtpd in a process of its own, storing every message into a Maildir.

    For many messages at once: an SMTP server in a thread of the test process takes turns at the
    GIL with whatever else runs there, and under load stops answering in time.
    """

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpServerProcess:
        handler = ["-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}", *handler],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("the SMTP server process did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def count(self) -> int:
        """Messages stored so far (the Maildir way: complete once they are in new/)."""
        folder = self.maildir / "new"
        return sum(1 for _ in folder.iterdir()) if folder.exists() else 0

    def message_ids(self) -> list[str]:
        parser = email.parser.BytesHeaderParser()
        return [
            parser.parsebytes(path.read_bytes())["Message-ID"]
            for path in sorted((self.maildir / "new").iterdir())
        ]


def subprocess_env(**values: str) -> dict[str, str]:
    """The current environment with `values` set, for a child process run against test stores."""
    return os.environ | values


# ---------------------------------------------------------------------------- the real worker


def fast_mail_config() -> Any:
    """Short timeouts and retries, so a test's worker finishes in seconds."""
    from notifications.config import MailConfig

    return MailConfig(smtp_timeout=10, retry_base=0.2, retry_cap=1.0, max_jobs=5)


async def run_worker(settings: Any, config: Any = None, **overrides: Any) -> None:
    """The real arq worker until its queue is empty."""
    from notifications.worker import create_worker

    worker = create_worker(
        settings,
        config=config or fast_mail_config(),
        burst=True,
        poll_delay=0.02,
        **overrides,
    )
    try:
        await worker.main()
    finally:
        await worker.close()
