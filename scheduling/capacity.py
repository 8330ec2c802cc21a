"""Internal capacity: the part of a point's capacity only staff book, so that visitors who phone,
write or walk in are not crowded out by online bookers.

Two ways, which add up. A desk flagged internal-only: the public's slot engine never sees it.
And a number of places kept in every slot (`points.internal_places`): of the desks that could
take a slot (open then and speaking the visit's language, whatever is booked), the public's
own visits may fill all but that many. Staff bookings fill the kept places first, so they take
nothing from the public's part until they need more than the kept places:

    public free = min(free, capacity - kept - public visits)

Pure. The public never sees the kept part (availability, bookings, moves, the waitlist, draws
all read slots through it), and the booking core applies it under the point's day lock
(booking/checks.py), so concurrent online bookers cannot overrun it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence

from scheduling.slots import BusyPeriod, DaySlots, DeskSchedule, Slot

#: No visit is longer (point_services.duration_minutes <= 480).
LONGEST_VISIT = dt.timedelta(hours=8)


def public_desks(desks: Iterable[DeskSchedule], internal: frozenset[str]) -> list[DeskSchedule]:
    """The desks online bookers may have (all but the internal-only ones)."""
    return [desk for desk in desks if desk.desk_id not in internal]


def public_share(
    days: Sequence[DaySlots],
    capacity: Sequence[DaySlots],
    busy: Sequence[BusyPeriod],
    kept: int,
) -> list[DaySlots]:
    """The public's slots: each free slot of `days` with its free places capped by the public's
    part of it. `capacity` is the same query with nothing booked (each slot's `free` is then
    the number of desks that could take it); `busy` the visits `days` was computed with."""
    if kept <= 0:
        return list(days)
    public = sorted((p for p in busy if p.public), key=lambda p: p.start)
    starts = [p.start for p in public]
    places = {slot.start: slot for day in capacity for slot in day.slots}
    out = []
    for day in days:
        kept_slots = []
        for slot in day.slots:
            whole = places.get(slot.start)
            if whole is None:
                continue
            share = whole.free - kept - _public_visits(public, starts, whole)
            free = min(slot.free, share)
            if free > 0:
                kept_slots.append(Slot(slot.start, slot.end, free, slot.desk_ids))
        out.append(DaySlots(day.date, tuple(kept_slots)))
    return out


def _public_visits(public: list[BusyPeriod], starts: list, slot: Slot) -> int:
    """Public visits overlapping the slot on the desks that could take it."""
    desks = set(slot.desk_ids)
    first = bisect.bisect_left(starts, slot.start - LONGEST_VISIT)
    last = bisect.bisect_left(starts, slot.end)
    return sum(
        1 for period in public[first:last] if period.end > slot.start and period.desk_id in desks
    )
