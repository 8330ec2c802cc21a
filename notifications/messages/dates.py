"""Dates and times as people read them, in the point's wall-clock time.

Weekday and month names come from each language's `Catalog` (Babel is not a dependency); the
grammatical case is in the catalog's tables and the order in its patterns.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from notifications.messages.catalog import Catalog


def moment(instant: datetime, zone: ZoneInfo, words: Catalog, *, weekday: bool = True) -> str:
    """ "sobota, 6 lutego 2027, 09:00", or without the weekday "6 lutego 2027, 09:00"."""
    local = instant.astimezone(zone)
    return f"{_date(local, words, weekday=weekday)}, {local:%H:%M}"


def span(start: datetime, end: datetime, zone: ZoneInfo, words: Catalog) -> str:
    """ "sobota, 6 lutego 2027, 09:00–09:30"; both ends in full if they fall on two days."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.date() == local_end.date():
        return f"{moment(start, zone, words)}–{local_end:%H:%M}"
    return f"{moment(start, zone, words)} – {moment(end, zone, words)}"


def _date(local: datetime, words: Catalog, *, weekday: bool) -> str:
    pattern = words.long_date if weekday else words.short_date
    return pattern.format(
        weekday=words.weekdays[local.weekday()],
        day=local.day,
        month=words.months[local.month - 1],
        year=local.year,
    )
