"""The staff package's operations, as the pages call them.

The day sheet is booking's (booking/office.py); the moves on it go through staff's `move`; the
special days are staff's API functions (staff/rules_api.py), so the pages run exactly what the
API runs (same validation, same audit, same dry run, same required choice about the visits a
change hits).
"""

from __future__ import annotations

from booking import office
from staff import rules_api, visits_api

SpecialDayIn = rules_api.SpecialDayIn
SpecialDayPatch = rules_api.SpecialDayPatch
day_sheet = office.day_sheet
move = visits_api.move
add_special_day = rules_api.add_special_day
change_special_day = rules_api.change_special_day
remove_special_day = rules_api.remove_special_day
is_special_day = rules_api.is_special_day
