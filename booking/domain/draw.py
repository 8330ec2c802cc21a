"""The draw's allotment, pure: who goes first, which slot each entrant gets, the day's board.

When a release's draw window closes, its entries are put in random order (a CSPRNG shuffle:
arrival time and speed give no advantage) and each, in that order, gets the free slot nearest
to the time it asked for (the earlier of two equally near), or none when the day is full.
booking/draw.py reads the entries and the day, and asks the store to hold each allotted visit;
PostgreSQL still decides (a desk taken a moment ago by a booking, the per-person limit), and an
entry whose first choice is refused takes the next one of `preference`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from typing import TypeVar

from scheduling.slots import BusyPeriod, Slot

T = TypeVar("T")

_random = secrets.SystemRandom()


def draw_order(entries: Sequence[T]) -> list[T]:
    """The entries in the order the draw serves them: uniformly random, unpredictable."""
    order = list(entries)
    _random.shuffle(order)
    return order


def preference(slots: Sequence[Slot], wanted: dt.datetime) -> list[Slot]:
    """The slots an entrant would take, best first: nearest to the time asked for."""
    return sorted(slots, key=lambda s: (abs(s.start - wanted), s.start))


#: The slot engine on the board's day: (service, language, busy periods) -> free slots.
Engine = Callable[[str, str, Sequence[BusyPeriod]], list[Slot]]


class Board:
    """The day's visits, kept current in memory as the draw allots, so each entry costs the
    slot engine on one day, not a round of queries; once a (service, language) is full, every
    further entry for it is answered from the kept (empty) result."""

    def __init__(self, engine: Engine, busy: Sequence[BusyPeriod]) -> None:
        self._engine = engine
        self._busy = list(busy)
        self._slots: dict[tuple[str, str], list[Slot]] = {}

    def slots(self, service_id: str, language: str) -> list[Slot]:
        key = (service_id, language)
        if key not in self._slots:
            self._slots[key] = self._engine(service_id, language, self._busy)
        return self._slots[key]

    def taken(self, desk_id: str, start: dt.datetime, end: dt.datetime) -> None:
        self._busy.append(BusyPeriod(desk_id, start, end))
        self._slots.clear()
