"""The visit's state machine: which event moves a visit from which status to which.

Pure: no clock, no database. The service layer asks `transition` before it writes, and the
database's constraints guard the rest (overlap, per-person limit).
"""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    HELD = "held"  # waiting for the e-mail confirmation; expires
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Event(enum.StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    EXPIRE = "expire"
    CHECK_IN = "check_in"
    NO_SHOW = "no_show"
    COMPLETE = "complete"


#: Statuses whose visit occupies its desk (the exclusion constraint's WHERE clause).
ACTIVE = frozenset({Status.HELD, Status.CONFIRMED, Status.CHECKED_IN})

_MOVES: dict[tuple[Status, Event], Status] = {
    (Status.HELD, Event.CONFIRM): Status.CONFIRMED,
    (Status.HELD, Event.CANCEL): Status.CANCELLED,
    (Status.HELD, Event.RESCHEDULE): Status.HELD,
    (Status.HELD, Event.EXPIRE): Status.EXPIRED,
    (Status.CONFIRMED, Event.CANCEL): Status.CANCELLED,
    (Status.CONFIRMED, Event.RESCHEDULE): Status.CONFIRMED,
    (Status.CONFIRMED, Event.CHECK_IN): Status.CHECKED_IN,
    (Status.CONFIRMED, Event.NO_SHOW): Status.NO_SHOW,
    (Status.CHECKED_IN, Event.COMPLETE): Status.COMPLETED,
}


class IllegalTransition(Exception):
    def __init__(self, status: Status, event: Event) -> None:
        super().__init__(f"A visit that is {status.value.replace('_', ' ')} cannot {event.value}.")
        self.status = status
        self.event = event


def transition(status: Status | str, event: Event) -> Status:
    """The status after `event`, or IllegalTransition when the event is not allowed."""
    status = Status(status)
    try:
        return _MOVES[(status, event)]
    except KeyError:
        raise IllegalTransition(status, event) from None


def allowed_events(status: Status | str) -> frozenset[Event]:
    return frozenset(event for (source, event) in _MOVES if source == Status(status))
