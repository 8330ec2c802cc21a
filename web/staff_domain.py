"""The staff package's operations, as the pages call them.

The day sheet is booking's (booking/office.py); the moves on it go through staff's `move`. The
special-day change still lives inside staff's API handler; until staff exposes it as a function
of its own, this module is the one place that reaches into it, so the pages run exactly what
the API runs (same validation, same audit, same dry run).
"""

from __future__ import annotations

from litestar.datastructures import State

from booking import office
from staff import rules_api, visits_api
from staff.accounts import StaffMember
from staff.changes import ChangeOutcome

SpecialDayIn = rules_api.SpecialDayIn
day_sheet = office.day_sheet
move = visits_api.move


async def add_special_day(
    state: State,
    staff: StaffMember,
    point_id: str,
    data: SpecialDayIn,
    *,
    dry_run: bool,
    cancel_affected: bool,
) -> ChangeOutcome:
    """POST .../special-days: an open day with hours, or a closed day (with ?dry_run first)."""
    rule = rules_api.RuleIn(
        kind="special" if data.kind == "open" else "closed",
        dates=[data.date],
        opens=data.opens,
        closes=data.closes,
        valid_from=data.date,
        valid_until=data.date,
        labels=data.label,
    )
    return await rules_api._create(state, staff, point_id, rule, dry_run, cancel_affected)
