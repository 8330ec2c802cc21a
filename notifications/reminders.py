"""The reminder rows a confirmed (or moved) visit gets: pure, so booking writes them in the same
transaction as the change, and the worker only has to decide whether each is still wanted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from booking.reminders import parse_offsets, reminder_times


def reminder_rows(
    start: datetime,
    now: datetime,
    sequence: int,
    offsets: str | Iterable[timedelta] = "24h,2h",
) -> list[tuple[datetime, dict[str, Any]]]:
    """(due_at, payload) per reminder offset still ahead of `now`, earliest first.

    `offsets` is REMINDER_OFFSETS ("24h,2h") or timedeltas. Write each as an outbox row of kind
    'reminder' with `sequence` = the booking's SEQUENCE after the change: the worker skips a
    reminder whose visit is no longer confirmed or whose SEQUENCE has moved on since.
    """
    if start.tzinfo is None or now.tzinfo is None:
        raise ValueError("start and now must be aware datetimes")
    if isinstance(offsets, str):
        parsed = parse_offsets(offsets)
    else:
        parsed = tuple(sorted({o for o in offsets if o > timedelta(0)}, reverse=True))
    return [
        (due_at, {"offset": label, "sequence": sequence})
        for due_at, label in reminder_times(start, now, parsed)
    ]
