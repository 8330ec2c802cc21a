"""The staff package's operations, as the pages call them.

The day sheet is booking's (booking/office.py); the moves on it go through staff's `move`; the
special days are staff's API functions (staff/special_days.py), so the pages run exactly what the
API runs (same validation, same audit, same dry run, same required choice about the visits a
change hits).
"""

from __future__ import annotations

from booking import office
from staff import special_days, visits_api

SpecialDayIn = special_days.SpecialDayIn
SpecialDayPatch = special_days.SpecialDayPatch
day_sheet = office.day_sheet
move = visits_api.move
add_special_day = special_days.add_special_day
change_special_day = special_days.change_special_day
remove_special_day = special_days.remove_special_day
is_special_day = special_days.is_special_day
