"""Secrets never reach the logs: tokens in request paths and query strings are masked.

uvicorn's access log writes each request line; staff feed URLs carry their token in the path
(/calendars/staff/<token>.ics) and e-mailed links carry tokens in the query (?token=…).
"""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    (re.compile(r"(/calendars/staff/)[^/?\s\".]+"), r"\1***"),
    (re.compile(r"([?&](?:token|manage_token)=)[^&\s\"]+"), r"\1***"),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(record.msg) if isinstance(record.msg, str) else record.msg
        return True


def install() -> None:
    """Mask secrets in uvicorn's access log and in wizyta's own loggers."""
    for name in ("uvicorn.access", "uvicorn.error", "wizyta"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
