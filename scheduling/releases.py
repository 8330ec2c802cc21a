"""Release windows: when a point publishes a new bookable day, and when its draw runs. Pure.

A point with `release_time` R and `release_days_ahead` N publishes day D + N at local time R
on day D. Requests for that day in the first `draw_minutes` after its release are drawn by lot
instead of first come, first served (booking.draw).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo


def release_instant(day: dt.date, zone: str, release_time: dt.time, days_ahead: int) -> dt.datetime:
    """The instant `day` becomes bookable."""
    published_on = day - dt.timedelta(days=days_ahead)
    return dt.datetime.combine(published_on, release_time, zoneinfo.ZoneInfo(zone))


def last_released_day(
    now: dt.datetime, zone: str, release_time: dt.time, days_ahead: int
) -> dt.date:
    local = now.astimezone(zoneinfo.ZoneInfo(zone))
    today = local.date()
    released_today = now >= release_instant(
        today + dt.timedelta(days=days_ahead), zone, release_time, days_ahead
    )
    return today + dt.timedelta(days=days_ahead if released_today else days_ahead - 1)


def draw_window(
    day: dt.date, zone: str, release_time: dt.time, days_ahead: int, draw_minutes: int
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the draw for `day`: requests in it are allotted by lot."""
    start = release_instant(day, zone, release_time, days_ahead)
    return start, start + dt.timedelta(minutes=draw_minutes)
