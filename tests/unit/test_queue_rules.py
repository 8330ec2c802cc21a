"""The waiting room's pure rules: what a kiosk reads, the queue's order, the estimated wait."""

from __future__ import annotations

import datetime as dt

import pytest

from booking.domain.queue import (
    ReferenceUnreadable,
    estimated_wait,
    order_key,
    qr_payload,
    read_reference,
    ticket_number,
)

T0 = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)


def minutes(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


@pytest.mark.parametrize(
    "typed",
    [
        "KRK-AB12-CD",
        "krk-ab12-cd",
        " KRK AB12 CD ",
        "KRKAB12CD",
        "WIZYTA:KRK-AB12-CD",
        "wizyta:krk-ab12-cd",
    ],
)
def test_the_kiosk_reads_a_reference_typed_or_scanned(typed):
    assert read_reference(typed) == "KRK-AB12-CD"


def test_the_qr_payload_is_what_the_kiosk_reads_in_qr_alphanumeric_characters():
    payload = qr_payload("NWS-7Q4M-X2")
    assert read_reference(payload) == "NWS-7Q4M-X2"
    assert set(payload) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@pytest.mark.parametrize("typed", ["", "hello", "KRK-AB12", "KRK-AB12-CD-EF", "12-3456-78"])
def test_anything_else_is_refused_with_a_sentence(typed):
    with pytest.raises(ReferenceUnreadable, match="looks like"):
        read_reference(typed)


def test_ticket_numbers():
    assert (ticket_number("visit", 1), ticket_number("walk_in", 42)) == ("A001", "W042")


def test_in_time_visits_first_by_appointment_then_everyone_by_arrival():
    tickets = {
        "in time, 9:30": order_key(arrived_at=minutes(10), appointment_at=minutes(30), ticket_id=1),
        "in time, 9:15": order_key(arrived_at=minutes(12), appointment_at=minutes(15), ticket_id=2),
        "walk-in at 9:05": order_key(arrived_at=minutes(5), appointment_at=None, ticket_id=3),
        "20 min late": order_key(arrived_at=minutes(20), appointment_at=minutes(0), ticket_id=4),
        "4 min late": order_key(arrived_at=minutes(4), appointment_at=minutes(0), ticket_id=5),
        "walk-in sent here": order_key(
            arrived_at=minutes(50), appointment_at=None, ticket_id=6, transferred_here=True
        ),
    }
    assert sorted(tickets, key=tickets.__getitem__) == [
        "walk-in sent here",
        "4 min late",  # still within the grace
        "in time, 9:15",
        "in time, 9:30",
        "walk-in at 9:05",
        "20 min late",
    ]


def test_the_estimated_wait():
    assert estimated_wait(0, 20, 3) == 0
    assert estimated_wait(5, 12.5, 2) == 32  # 5 x 12.5 / 2 = 31.25, rounded up
    assert estimated_wait(3, 10, 0) == 30  # nobody at work yet: one desk
