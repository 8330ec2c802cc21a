"""When reminders are due: pure, so the rule "never in the past, one per offset" is testable."""

from __future__ import annotations

import datetime as dt
import re

DEFAULT_OFFSETS = (dt.timedelta(hours=24), dt.timedelta(hours=2))
_OFFSET = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_offsets(text: str) -> tuple[dt.timedelta, ...]:
    """'24h,2h' -> (24 h, 2 h); raise ValueError on anything else."""
    offsets = []
    for part in text.split(","):
        match = _OFFSET.match(part)
        if not match:
            raise ValueError(f"not a reminder offset: {part!r} (use e.g. 24h, 90m, 2d)")
        offsets.append(dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))}))
    return tuple(sorted(set(offsets), reverse=True))


def format_offset(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def reminder_times(
    start: dt.datetime, now: dt.datetime, offsets: tuple[dt.timedelta, ...] = DEFAULT_OFFSETS
) -> list[tuple[dt.datetime, str]]:
    """(due time, offset label) for each offset whose due time is still ahead."""
    return [(start - o, format_offset(o)) for o in offsets if start - o > now]
