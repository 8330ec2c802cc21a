"""A visit's status has one definition: SQL's visit_status()/visit_is_active() (migrations/0012)
agree with the pure state machine, and no code outside booking's store writes a status.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import re

import pytest

from booking.domain.lifecycle import ACTIVE, Status, effective

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("expiry", [None, dt.timedelta(minutes=-1), dt.timedelta(minutes=5)])
async def test_sql_and_the_state_machine_agree_on_the_status_a_reader_sees(pool, status, expiry):
    now = await pool.fetchval("select now()")
    expires = None if expiry is None else now + expiry
    row = await pool.fetchrow(
        "select visit_status($1, $2) as status, visit_is_active($1, $2) as active",
        status.value,
        expires,
    )
    seen = effective(status, expires, now)
    assert row["status"] == seen.value
    assert row["active"] == (seen in ACTIVE)


def _sources() -> dict[pathlib.Path, str]:
    return {
        path: path.read_text(encoding="utf-8")
        for package in ("app.py", "booking", "core", "notifications", "scheduling", "staff", "web")
        for path in (
            [ROOT / package] if package.endswith(".py") else (ROOT / package).rglob("*.py")
        )
    }


WRITES = re.compile(r"(update\s+bookings\b|insert\s+into\s+bookings\b)", re.IGNORECASE)
OVERDUE = re.compile(r"hold_expires_at\s*<=?\s*now\(\)", re.IGNORECASE)


def test_only_the_store_writes_bookings():
    allowed = {ROOT / "booking/store.py", ROOT / "booking/retention.py"}
    writers = {p.relative_to(ROOT) for p, text in _sources().items() if WRITES.search(text)}
    assert writers == {p.relative_to(ROOT) for p in allowed}


def test_held_but_overdue_is_written_only_where_holds_are_expired():
    places = {p.relative_to(ROOT) for p, text in _sources().items() if OVERDUE.search(text)}
    assert places == {pathlib.Path("booking/store.py")}


CONFIGURATION_WRITES = re.compile(
    r"(insert\s+into|update|delete\s+from)\s+(points|desks|point_services|calendar_rules)\b",
    re.IGNORECASE,
)


def test_only_scheduling_writes_a_points_configuration():
    """Staff's controllers authorize, validate and audit; scheduling/admin.py writes."""
    writers = {
        p.relative_to(ROOT) for p, text in _sources().items() if CONFIGURATION_WRITES.search(text)
    }
    assert writers == {pathlib.Path("scheduling/admin.py")}
