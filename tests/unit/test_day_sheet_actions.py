"""What the staff day sheet offers for a visit (web/staff_pages.py `_actions`)."""

from __future__ import annotations

import datetime as dt

from booking.office import SheetVisit, VisitorOnSheet
from web.staff_pages import _actions

NOW = dt.datetime(2027, 2, 1, 9, 0, tzinfo=dt.UTC)


def a_visit(start: dt.datetime, status: str = "confirmed") -> SheetVisit:
    return SheetVisit(
        time=start.strftime("%H:%M"),
        start=start,
        end=start + dt.timedelta(minutes=30),
        reference="KRK-7Q4M-X2",
        status=status,
        service_id="everyday-matters",
        service={"pl": "Sprawy codzienne"},
        language="uk",
        needs=[],
        notes=None,
        visitor=VisitorOnSheet("Olena", "olena@example.org", None),
        desk_id="room-1",
        desk={"pl": "Pokój 1"},
    )


def test_did_not_come_is_not_offered_before_the_visit_starts():
    assert "no-show" not in _actions(a_visit(NOW + dt.timedelta(minutes=5)), NOW)
    assert "check-in" in _actions(a_visit(NOW + dt.timedelta(minutes=5)), NOW)


def test_did_not_come_is_offered_once_the_visit_has_started():
    assert "no-show" in _actions(a_visit(NOW - dt.timedelta(minutes=1)), NOW)
