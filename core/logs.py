"""Secrets never reach the logs: tokens in request paths and query strings are masked.

uvicorn's access log writes each request line; staff feed URLs carry their token in the path
(/calendars/staff/<token>.ics) and e-mailed links carry tokens in the query (?token=…).

A URL is masked as the server reads it, after percent-decoding (RFC 3986 §2.1): the app
accepts `?to%6Ben=`, `?%74oken=`, `/calendars/%73taff/<token>.ics` and
`/calendars/staff%2f<token>.ics` as the same token, so the log must not keep them either. A
word that had to be decoded to be masked is logged decoded, its control characters escaped so
a `%0A` cannot forge a log line.
"""

from __future__ import annotations

import functools
import logging
import re
from urllib.parse import unquote

_PATTERNS = (
    (re.compile(r"(/calendars/staff/)[^/?\s\".]+"), r"\1***"),
    (re.compile(r"([?&](?:token|manage_token)=)[^&\s\"]+"), r"\1***"),
)
_WORD = re.compile(r"[^\s\"']+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _mask(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _mask_word(found: re.Match[str]) -> str:
    word = found.group()
    masked = _mask(word)
    if "%" not in word:
        return masked
    decoded = unquote(word, errors="replace")
    if _mask(decoded) == decoded:
        return masked  # nothing hides behind the escapes: keep the word as it came
    return _CONTROL.sub(lambda c: f"\\x{ord(c.group()):02x}", _mask(decoded))


def redact(text: str) -> str:
    # Nothing to mask without one of these (every pattern needs one, or an escape to decode):
    # the usual access-log line is returned at once (py-spy: masking every line cost 7% of the
    # server's CPU in a rush of draw entries).
    if "%" not in text and "token=" not in text and "/calendars/staff" not in text:
        return text
    return _WORD.sub(_mask_word, text)


@functools.lru_cache(maxsize=256)
def _redact_format(text: str) -> str:
    """A log call's format string: a few constant ones, each masked once."""
    return redact(text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _redact_format(record.msg) if record.args else redact(record.msg)
        return True


def install() -> None:
    """Mask secrets in uvicorn's access log and in wizyta's own loggers."""
    for name in ("uvicorn.access", "uvicorn.error", "wizyta"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
