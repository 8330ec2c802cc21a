"""What the mail worker reads from the environment beyond `core.settings.Settings`.

Kept here until these move into `Settings`; every process reads the same variables, so the web
app and any number of workers agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

LEASE_MARGIN = 10.0
"""Seconds of an outbox lease beyond the send itself: build the message, record the outcome."""


class MailConfig(msgspec.Struct, frozen=True, kw_only=True):
    smtp_timeout: float = 30.0
    """Seconds one message may take to send, all SMTP steps together (connect, commands,
    DATA); the outbox lease is sized from it."""
    sms_timeout: float = 10.0
    """Seconds one SMS request to the gateway may take; SMTP_TIMEOUT bounds every send (and
    sizes the outbox lease) whatever this says."""
    max_attempts: int = 8
    """Tries per outbox row; after the last temporary failure the row is recorded as failed."""
    retry_base: float = 60.0
    """Seconds before the second try; each later wait doubles, up to `retry_cap`."""
    retry_cap: float = 3600.0
    max_jobs: int = 20
    """Messages one worker sends at the same time (arq's max_jobs)."""
    sweep_batch: int = 1000
    """Due rows one sweep enqueues at most; the next sweep takes the rest."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_jobs < 1 or self.sweep_batch < 1:
            raise ValueError("MAIL_MAX_ATTEMPTS, WORKER_MAX_JOBS and the sweep batch must be >= 1")
        if self.smtp_timeout <= 0 or self.retry_base <= 0 or self.retry_cap < self.retry_base:
            raise ValueError("SMTP_TIMEOUT and MAIL_RETRY_SECONDS must be positive")
        if self.sms_timeout <= 0:
            raise ValueError("SMS_TIMEOUT must be positive")

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed try: 1, 2, 4, 8... minutes, capped.

        With the defaults, eight tries span about two hours: long enough to outlast a mail
        server's restart or a greylisting delay (RFC 6647), short enough that a visit a day
        ahead still gets its mail.
        """
        return min(self.retry_base * 2 ** max(attempts - 1, 0), self.retry_cap)

    @property
    def lease(self) -> float:
        """Seconds a claimed row belongs to its worker: the bounded send and a margin for
        building the message and recording the outcome. Nobody else sends the row before it
        runs out; after, the sweep lets another worker send it (the first one died)."""
        return self.smtp_timeout + LEASE_MARGIN

    @property
    def job_timeout(self) -> float:
        """A send job outlives its lease only by the time to record its outcome; arq keeps a
        job's in-progress key this long plus 10 s."""
        return self.lease + 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MailConfig:
        env = os.environ if environ is None else environ
        default = cls()

        def number(name: str, fallback: float, kind: type = float) -> float:
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                return fallback
            try:
                return kind(raw)
            except ValueError as e:
                raise SystemExit(f"wizyta: {name} must be a number, got {raw!r}") from e

        try:
            return cls(
                smtp_timeout=number("SMTP_TIMEOUT", default.smtp_timeout),
                sms_timeout=number("SMS_TIMEOUT", default.sms_timeout),
                max_attempts=int(number("MAIL_MAX_ATTEMPTS", default.max_attempts, int)),
                retry_base=number("MAIL_RETRY_SECONDS", default.retry_base),
                retry_cap=number("MAIL_RETRY_MAX_SECONDS", default.retry_cap),
                max_jobs=int(number("WORKER_MAX_JOBS", default.max_jobs, int)),
            )
        except ValueError as e:
            raise SystemExit(f"wizyta: {e}") from e
