"""What the "Hours and desks" tab edits and how it reads its form (web/staff_rules_pages.py):
plain weekly hours only; any other recurrence is shown as written and left to the API."""

from __future__ import annotations

import pytest

from web.staff_rules_pages import _rule_errors, _rule_of, weekdays_of


@pytest.mark.parametrize(
    ("rrule", "days"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", [0]),
        ("FREQ=WEEKLY;BYDAY=TU,WE,TH,FR", [1, 2, 3, 4]),
        ("FREQ=WEEKLY;WKST=MO;BYDAY=SU,SA", [5, 6]),
        ("freq=weekly;byday=we", [2]),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", None),
        ("FREQ=MONTHLY;BYDAY=1MO", None),
        ("FREQ=WEEKLY;BYDAY=1MO", None),
        ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20270101", None),
        ("FREQ=WEEKLY;BYDAY", None),
        (None, None),
    ],
)
def test_only_plain_weekly_recurrences_are_edited_on_the_page(rrule, days):
    assert weekdays_of(rrule) == days


def test_a_valid_form_becomes_the_rule_the_api_would_receive():
    form = {
        "weekdays": ["FR", "MO"],
        "opens": "08:00",
        "closes": "15:30",
        "valid_from": "2027-01-04",
        "valid_until": "",
        "rule_desk": "desk-1",
        "channel": "phone",
    }
    assert _rule_errors(form, {"desk-1"}) == {}
    rule = _rule_of(form)
    assert (rule.kind, rule.rrule, rule.opens, rule.closes) == (
        "hours",
        "FREQ=WEEKLY;BYDAY=MO,FR",
        "08:00",
        "15:30",
    )
    assert (str(rule.valid_from), rule.valid_until, rule.desk_id, rule.channel) == (
        "2027-01-04",
        None,
        "desk-1",
        "phone",
    )


def test_a_desk_of_another_point_or_an_unknown_channel_is_refused_by_the_form():
    form = {
        "weekdays": "MO",
        "opens": "08:00",
        "closes": "15:30",
        "rule_desk": "elsewhere",
        "channel": "fax",
    }
    assert set(_rule_errors(form, {"desk-1"})) == {"rule_desk", "channel"}
