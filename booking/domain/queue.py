"""The waiting room's rules, pure: ticket numbers, what a kiosk reads, the queue's order, the
estimated wait, and the queue's refusals.

The queue's order (booking/queue.py writes it once in SQL, `ORDER_SQL`; `order_key` is the same
rule in Python for tests and readers): a ticket transferred to the calling desk comes first;
then booked visits that arrived in time (no later than LATE_GRACE after their start), by their
appointment time; then everyone else (walk-ins, late or early arrivals) by arrival.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized

#: A booked visitor this late still counts as in time.
LATE_GRACE = dt.timedelta(minutes=5)
#: Ticket letters: A for an appointment, W for a walk-in.
PREFIX = {"visit": "A", "walk_in": "W"}
MAX_PER_DAY = 999

#: What a QR code on a confirmation carries: the reference, behind a short tag a kiosk
#: recognises (a hand-held scanner types it into the kiosk's field like a keyboard).
QR_TAG = "WIZYTA:"
_REFERENCE = re.compile(r"^([A-Z]{3})-?([0-9A-Z]{4})-?([0-9A-Z]{2})$")


def ticket_number(kind: str, seq: int) -> str:
    return f"{PREFIX[kind]}{seq:03d}"


def qr_payload(reference: str) -> str:
    """The QR code's text for a visit: upper case and digits only (QR's compact alphanumeric
    mode), so a small code holds it."""
    return QR_TAG + reference


def read_reference(typed: str) -> str:
    """The reference in what a visitor typed or a scanner sent: a QR payload or the reference
    itself, in any case, with or without its hyphens and spaces. ReferenceUnreadable otherwise."""
    text = typed.strip().upper()
    if text.startswith(QR_TAG):
        text = text[len(QR_TAG) :]
    text = re.sub(r"[\s_]+", "", text)
    found = _REFERENCE.match(text)
    if found is None:
        raise ReferenceUnreadable()
    return "-".join(found.groups())


def in_time(arrived_at: dt.datetime, appointment_at: dt.datetime | None) -> bool:
    return appointment_at is not None and arrived_at <= appointment_at + LATE_GRACE


def order_key(
    *,
    arrived_at: dt.datetime,
    appointment_at: dt.datetime | None,
    ticket_id: int,
    transferred_here: bool = False,
) -> tuple:
    """The queue's order as a sort key (the same rule as booking/queue.py's SQL)."""
    if in_time(arrived_at, appointment_at):
        assert appointment_at is not None
        return (0 if transferred_here else 1, 0, appointment_at, arrived_at, ticket_id)
    return (0 if transferred_here else 1, 1, arrived_at, arrived_at, ticket_id)


def estimated_wait(waiting: int, service_minutes: float, desks: int) -> int:
    """Minutes until a walk-in arriving now is called: the visitors ahead, served by the desks
    at work, each taking the measured time (rounded up to whole minutes)."""
    if waiting <= 0:
        return 0
    return math.ceil(waiting * service_minutes / max(1, desks))


# ---------------------------------------------------------------------------- refusals


class KioskNotSetUp(Unauthorized):
    code = "kiosk_not_set_up"
    template = "This kiosk has no valid kiosk token; staff issue one on the point's queue page."


class KioskOfAnotherPoint(Forbidden):
    code = "kiosk_other_point"
    template = "This kiosk token belongs to another point."


class ReferenceUnreadable(Invalid):
    code, field = "reference_unreadable", "reference"
    template = "That is not a visit's reference; a reference looks like KRK-AB12-CD."


class ReferenceOfAnotherPoint(Conflict):
    code, field = "reference_other_point", "reference"
    template = "The visit {reference} is at another point."


class ReferenceOfAnotherDay(Conflict):
    code, field = "reference_other_day", "reference"
    template = "The visit {reference} is on {day}, not today."


class WalkInsNotTaken(Conflict):
    code = "walk_ins_not_taken"
    template = "This point takes visitors with an appointment only."


class WalkInCapReached(Conflict):
    code = "walk_in_cap_reached"
    template = "All {cap} tickets without an appointment for today have been given out."


class WalkInServiceNotOffered(Invalid):
    code, field = "walk_in_service", "service"
    template = "The point does not offer the service {service_id!r} in the language {language!r}."


class NobodyToServe(Conflict):
    code = "nobody_to_serve"
    template = "Nobody waiting can be served at the desk {desk_id!r} now."


class NobodyAtDesk(Conflict):
    code = "nobody_at_desk"
    template = "Nobody is called to the desk {desk_id!r} now."


class NoSuchDesk(NotFound):
    code = "no_such_desk"
    template = "The point {point_id!r} has no desk {desk_id!r}."


class NoSuchTicket(NotFound):
    code = "no_such_ticket"
    template = "The point has no ticket {number!r} today."


class TicketNotWaiting(Conflict):
    code = "ticket_not_waiting"
    template = "The ticket {number} is {ticket_status}, so it cannot be called now."


class TooManyTickets(Conflict):
    code = "too_many_tickets"
    template = "The point has given out the most tickets one day can number."
