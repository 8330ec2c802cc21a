"""The visit's state machine: which event moves a visit from which status to which.

Pure: no clock, no database. The store (booking/store.py) asks `transition` before every
status it writes, and the database's constraints guard the rest (overlap, per-person limit).
`effective` is the one rule for reading a status: a hold past its expiry is expired, whether
or not the sweep has marked it yet (the same rule as SQL's visit_status(), migrations/0012).
"""

from __future__ import annotations

import datetime as dt
import enum

from core.errors import Conflict


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
    # arrived, checked in at the kiosk, then gone when called to the desk (booking/queue.py)
    (Status.CHECKED_IN, Event.NO_SHOW): Status.NO_SHOW,
}


class IllegalTransition(Conflict):
    """The event is not allowed from the visit's status (`visit_status` and `event`)."""

    code = "illegal_transition"
    template = "A visit that is {status_words} cannot {event}."

    def __init__(self, status: Status, event: Event) -> None:
        super().__init__(
            visit_status=status.value,
            event=event.value,
            status_words=status.value.replace("_", " "),
        )
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


def effective(
    status: Status | str, hold_expires_at: dt.datetime | None, now: dt.datetime
) -> Status:
    """The status a reader sees: a hold past its expiry counts as expired."""
    status = Status(status)
    if status == Status.HELD and hold_expires_at is not None and hold_expires_at <= now:
        return Status.EXPIRED
    return status


def sources(event: Event) -> frozenset[Status]:
    """The statuses from which `event` is allowed (for changes made to many visits at once)."""
    return frozenset(status for (status, e) in _MOVES if e == event)
