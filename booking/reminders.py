"""When reminders are due, and each point's own offsets within limits.

The rule is pure ("never in the past, one per offset"); a point may have offsets of its own
(`point_reminders`, set with `wizyta reminders POINT 48h,3h`), otherwise REMINDER_OFFSETS holds.
Every offset is between MIN_OFFSET and MAX_OFFSET, at most MAX_OFFSETS of them: a reminder is
sent early enough to free the visit's time for someone else (its "I can't come" link,
notifications) and never so early that it is forgotten, nor so often that it is noise.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

DEFAULT_OFFSETS = (dt.timedelta(hours=24), dt.timedelta(hours=2))
MIN_OFFSET = dt.timedelta(minutes=30)
MAX_OFFSET = dt.timedelta(days=7)
MAX_OFFSETS = 3
_OFFSET = re.compile(r"^\s*(\d{1,5})\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_offsets(text: str) -> tuple[dt.timedelta, ...]:
    """'24h,2h' -> (24 h, 2 h); raise ValueError on anything else or outside the limits."""
    offsets = []
    for part in text.split(","):
        match = _OFFSET.match(part)
        if not match:
            raise ValueError(f"not a reminder offset: {part!r} (use e.g. 24h, 90m, 2d)")
        offset = dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        if not MIN_OFFSET <= offset <= MAX_OFFSET:
            raise ValueError(
                f"a reminder offset is between {format_offset(MIN_OFFSET)} and "
                f"{format_offset(MAX_OFFSET)} before the visit, not {part.strip()}"
            )
        offsets.append(offset)
    unique = tuple(sorted(set(offsets), reverse=True))
    if len(unique) > MAX_OFFSETS:
        raise ValueError(f"at most {MAX_OFFSETS} reminders per visit, not {len(unique)}")
    return unique


def format_offset(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def reminder_times(
    start: dt.datetime, now: dt.datetime, offsets: tuple[dt.timedelta, ...] = DEFAULT_OFFSETS
) -> list[tuple[dt.datetime, str]]:
    """(due time, offset label) for each offset whose due time is still ahead."""
    return [(start - o, format_offset(o)) for o in offsets if start - o > now]


async def offsets_for(conn: Any, point_id: str, default: str) -> tuple[dt.timedelta, ...]:
    """The point's own offsets, or `default` (REMINDER_OFFSETS)."""
    own = await conn.fetchval("select offsets from point_reminders where point_id = $1", point_id)
    return parse_offsets(own or default)


async def set_point_offsets(conn: Any, point_id: str, text: str) -> str:
    """Give a point offsets of its own ('default': REMINDER_OFFSETS again); what was set.
    Visits confirmed from now on get them; reminders already written keep their times."""
    if not await conn.fetchval("select exists (select from points where id = $1)", point_id):
        raise LookupError(f"no point {point_id!r}")
    if text.strip().lower() == "default":
        await conn.execute("delete from point_reminders where point_id = $1", point_id)
        return f"{point_id}: reminders at REMINDER_OFFSETS"
    offsets = ",".join(format_offset(o) for o in parse_offsets(text))
    await conn.execute(
        """
        insert into point_reminders (point_id, offsets) values ($1, $2)
        on conflict (point_id) do update set offsets = excluded.offsets, updated_at = now()
        """,
        point_id,
        offsets,
    )
    return f"{point_id}: reminders {offsets} before each visit"
