"""Calendar rules and their resolution, one precedence step (DESIGN.md, "The domain") at a time."""

import datetime as dt
import re

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.rules import (
    CalendarRule,
    DayHours,
    LocalInterval,
    Reason,
    RuleError,
    RuleKind,
    polish_holiday_labels,
    polish_holidays,
    recurrence,
    resolve_days,
    resolve_desk_days,
    rule_occurrences,
    validate_rule,
)

MONDAY = dt.date(2026, 3, 2)
TUESDAY = dt.date(2026, 3, 3)
SATURDAY = dt.date(2026, 3, 7)
LABOUR_DAY = dt.date(2026, 5, 1)  # a Friday and a Polish public holiday
DAY = dt.timedelta(days=1)


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def hours(rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", opens="07:30", closes="16:30", **fields):
    return CalendarRule(
        id=fields.pop("id", f"hours-{rrule}-{opens}"),
        kind=RuleKind.HOURS,
        rrule=rrule,
        opens=t(opens),
        closes=t(closes),
        **fields,
    )


def special(*dates: dt.date, opens="09:00", closes="14:00", **fields):
    return CalendarRule(
        id=fields.pop("id", f"special-{opens}"),
        kind=RuleKind.SPECIAL,
        dates=dates,
        opens=t(opens),
        closes=t(closes),
        labels=fields.pop("labels", {"en": "Open Saturday"}),
        **fields,
    )


def closed(*dates: dt.date, opens=None, closes=None, **fields):
    return CalendarRule(
        id=fields.pop("id", f"closed-{opens}"),
        kind=RuleKind.CLOSED,
        dates=dates,
        opens=t(opens) if opens else None,
        closes=t(closes) if closes else None,
        labels=fields.pop("labels", {"en": "Closed"}),
        **fields,
    )


def spans(day: DayHours) -> list[tuple[str, str]]:
    return [(i.opens.strftime("%H:%M"), i.closes.strftime("%H:%M")) for i in day.intervals]


def one_day(rules, date, **options) -> DayHours:
    [day] = resolve_days(rules, date, date, **options)
    return day


# --- steps 1-5 for a point --------------------------------------------------------------------


def test_weekly_hours_open_the_days_their_rrule_names():
    days = resolve_days([hours()], MONDAY, MONDAY + dt.timedelta(days=6))
    assert [day.status for day in days] == ["open"] * 5 + ["closed"] * 2
    assert spans(days[0]) == [("07:30", "16:30")]
    assert days[0].reasons == ()


def test_one_day_hours_comes_back_for_every_date_in_the_range_inclusive():
    days = resolve_days([], MONDAY, SATURDAY)
    assert [day.date for day in days] == [MONDAY + dt.timedelta(days=n) for n in range(6)]
    assert all(day.status == "closed" and day.intervals == () for day in days)


def test_a_polish_public_holiday_closes_the_day_with_its_name_in_four_languages():
    day = one_day([hours()], LABOUR_DAY)
    assert day.status == "closed"
    [reason] = day.reasons
    assert reason.kind == "holiday"
    assert set(reason.label) == {"pl", "en", "uk", "ru"}
    assert reason.label["pl"] == polish_holidays(LABOUR_DAY, LABOUR_DAY)[LABOUR_DAY]
    assert reason.label["ru"] == "Государственный праздник (1 мая)"  # ours: the library has none


def test_every_polish_public_holiday_has_a_russian_name_of_ours():
    labels = polish_holiday_labels(dt.date(1990, 1, 1), dt.date(2040, 12, 31))
    assert labels
    for day, label in labels.items():
        assert label["ru"] != label["en"], (day, label)
        assert re.search("[а-яё]", label["ru"], re.I), (day, label)
    christmas_eve = labels[dt.date(2026, 12, 24)]
    assert christmas_eve["ru"] == "Сочельник"


def test_a_point_that_does_not_observe_holidays_stays_open_on_them():
    day = one_day([hours()], LABOUR_DAY, observes_holidays=False)
    assert spans(day) == [("07:30", "16:30")]
    assert day.reasons == ()


def test_an_open_saturday_comes_from_a_special_rule():
    day = one_day([hours(), special(SATURDAY)], SATURDAY)
    assert spans(day) == [("09:00", "14:00")]
    assert day.reasons == (Reason("special", {"en": "Open Saturday"}),)


def test_a_special_replaces_the_weekly_hours_instead_of_adding_to_them():
    shortened = special(TUESDAY, opens="08:00", closes="12:00", labels={"en": "Short day"})
    assert spans(one_day([hours(), shortened], TUESDAY)) == [("08:00", "12:00")]


def test_specials_on_one_day_give_the_union_of_their_times():
    morning = special(SATURDAY, opens="09:00", closes="11:00", id="a")
    later = special(SATURDAY, opens="10:00", closes="13:00", id="b")
    evening = special(SATURDAY, opens="15:00", closes="17:00", id="c")
    day = one_day([morning, later, evening], SATURDAY)
    assert spans(day) == [("09:00", "13:00"), ("15:00", "17:00")]
    assert len(day.reasons) == 3


def test_whole_day_closure_beats_an_open_saturday():
    day = one_day([special(SATURDAY), closed(SATURDAY, labels={"en": "Staff training"})], SATURDAY)
    assert day.status == "closed"
    assert day.reasons == (Reason("closure", {"en": "Staff training"}),)


def test_whole_day_closure_beats_the_weekly_hours():
    assert one_day([hours(), closed(TUESDAY)], TUESDAY).status == "closed"


def test_a_special_on_a_holiday_opens_it():
    day = one_day([hours(), special(LABOUR_DAY, labels={"en": "Open on 1 May"})], LABOUR_DAY)
    assert spans(day) == [("09:00", "14:00")]
    assert [reason.kind for reason in day.reasons] == ["special"]


def test_a_whole_day_closure_on_a_holiday_is_the_reason_given():
    day = one_day([hours(), closed(LABOUR_DAY)], LABOUR_DAY)
    assert [reason.kind for reason in day.reasons] == ["closure"]


def test_a_break_cuts_a_hole_in_the_hours():
    lunch = CalendarRule(
        id="break",
        kind=RuleKind.CLOSED,
        rrule="FREQ=DAILY",
        opens=t("12:00"),
        closes=t("12:30"),
        labels={"en": "Break"},
    )
    day = one_day([hours(), lunch], TUESDAY)
    assert spans(day) == [("07:30", "12:00"), ("12:30", "16:30")]
    assert day.reasons == (Reason("closure", {"en": "Break"}),)


def test_a_timed_closure_also_cuts_a_special_day():
    meeting = closed(SATURDAY, opens="08:00", closes="10:00")
    day = one_day([special(SATURDAY), meeting], SATURDAY)
    assert spans(day) == [("10:00", "14:00")]
    assert [reason.kind for reason in day.reasons] == ["special", "closure"]


def test_a_timed_closure_that_misses_the_hours_is_not_a_reason():
    evening = closed(TUESDAY, opens="17:00", closes="19:00")
    day = one_day([hours(), evening], TUESDAY)
    assert spans(day) == [("07:30", "16:30")]
    assert day.reasons == ()


def test_a_timed_closure_over_the_whole_hours_leaves_the_day_closed():
    day = one_day([hours(), closed(TUESDAY, opens="07:00", closes="17:00")], TUESDAY)
    assert day.status == "closed"


def test_overlapping_and_touching_hours_are_merged():
    rules = [
        hours(opens="07:00", closes="10:00"),
        hours(opens="09:00", closes="12:00"),
        hours(opens="12:00", closes="13:00"),
        hours(opens="14:00", closes="15:00"),
    ]
    assert spans(one_day(rules, TUESDAY)) == [("07:00", "13:00"), ("14:00", "15:00")]


def test_validity_edges_are_inclusive_on_both_ends():
    rule = hours("FREQ=DAILY", valid_from=TUESDAY, valid_until=TUESDAY + dt.timedelta(days=2))
    days = resolve_days([rule], MONDAY, MONDAY + dt.timedelta(days=4))
    assert [day.status for day in days] == ["closed", "open", "open", "open", "closed"]


def test_hours_changed_mid_year_follow_the_rule_valid_on_each_day():
    until_june = hours(closes="18:00", valid_until=dt.date(2026, 6, 30), id="old")
    from_july = hours(closes="16:30", valid_from=dt.date(2026, 7, 1), id="new")
    days = resolve_days([until_june, from_july], dt.date(2026, 6, 30), dt.date(2026, 7, 1))
    assert [spans(day) for day in days] == [[("07:30", "18:00")], [("07:30", "16:30")]]


def test_a_dates_only_rule_occurs_only_on_its_dates():
    rule = CalendarRule(
        id="d", kind=RuleKind.HOURS, dates=(TUESDAY,), opens=t("10:00"), closes=t("11:00")
    )
    days = resolve_days([rule], MONDAY, MONDAY + dt.timedelta(days=6))
    assert [day.date for day in days if day.status == "open"] == [TUESDAY]


def test_a_rule_with_an_rrule_and_dates_occurs_on_both():
    rule = hours("FREQ=WEEKLY;BYDAY=MO", dates=(SATURDAY,))
    assert rule_occurrences(rule, MONDAY, MONDAY + dt.timedelta(days=7)) == {
        MONDAY,
        SATURDAY,
        MONDAY + dt.timedelta(days=7),
    }


def test_explicit_dates_outside_the_validity_range_do_not_occur():
    rule = hours("FREQ=WEEKLY;BYDAY=MO", dates=(SATURDAY,), valid_until=dt.date(2026, 3, 6))
    assert rule_occurrences(rule, MONDAY, dt.date(2026, 3, 31)) == {MONDAY}


def test_interval_two_weekly_is_anchored_on_valid_from():
    every_other = hours("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", valid_from=dt.date(2026, 3, 9))
    found = rule_occurrences(every_other, MONDAY, dt.date(2026, 4, 30))
    assert sorted(found) == [dt.date(2026, m, d) for m, d in ((3, 10), (3, 24), (4, 7), (4, 21))]


def test_without_valid_from_the_anchor_is_monday_3_january_2000():
    every_other = hours("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO")
    weeks = (MONDAY - dt.date(2000, 1, 3)).days // 7
    found = rule_occurrences(every_other, MONDAY, MONDAY + dt.timedelta(days=7))
    assert found == {MONDAY if weeks % 2 == 0 else MONDAY + dt.timedelta(days=7)}


def test_valid_from_is_not_an_occurrence_unless_the_rrule_matches_it():
    rule = hours("FREQ=WEEKLY;BYDAY=TU", valid_from=MONDAY)
    assert MONDAY not in rule_occurrences(rule, MONDAY, SATURDAY)


def test_count_counts_occurrences_from_the_anchor():
    rule = hours("FREQ=WEEKLY;COUNT=3;BYDAY=TU,TH", valid_from=MONDAY)
    found = rule_occurrences(rule, MONDAY, dt.date(2026, 12, 31))
    assert sorted(found) == [TUESDAY, dt.date(2026, 3, 5), dt.date(2026, 3, 10)]


def test_until_ends_the_recurrence_inclusively():
    rule = hours("FREQ=DAILY;UNTIL=20260304")
    assert sorted(rule_occurrences(rule, MONDAY, SATURDAY)) == [MONDAY, TUESDAY, TUESDAY + DAY]


def test_the_first_saturday_of_each_month_comes_from_a_monthly_rrule():
    rule = special(rrule="FREQ=MONTHLY;BYDAY=1SA", valid_from=dt.date(2025, 1, 1))
    found = rule_occurrences(rule, dt.date(2026, 1, 1), dt.date(2026, 4, 30))
    assert sorted(found) == [dt.date(2026, m, d) for m, d in ((1, 3), (2, 7), (3, 7), (4, 4))]


def test_desk_rules_are_ignored_when_resolving_the_point():
    desk_closure = closed(TUESDAY, desk_id="room-105")
    assert one_day([hours(), desk_closure], TUESDAY).status == "open"


def test_resolution_does_not_depend_on_the_order_of_the_rules():
    rules = [hours(), special(TUESDAY, id="s1"), special(TUESDAY, opens="15:00", closes="17:00")]
    assert resolve_days(rules, MONDAY, SATURDAY) == resolve_days(rules[::-1], MONDAY, SATURDAY)


def test_a_year_of_weekly_rules_anchored_in_2000_resolves_from_cached_rrules():
    rules = [hours(), hours("FREQ=WEEKLY;BYDAY=MO", opens="07:00", closes="18:00")]
    recurrence._parse.cache_clear()
    days = resolve_days(rules, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert len(days) == 365
    assert recurrence._parse.cache_info().currsize <= len(rules)


# --- step 6 for a desk ------------------------------------------------------------------------


def desk_rule(kind, rrule=None, dates=(), opens=None, closes=None, **fields):
    return CalendarRule(
        id=fields.pop("id", f"desk-{kind}-{opens}"),
        kind=kind,
        rrule=rrule,
        dates=dates,
        opens=t(opens) if opens else None,
        closes=t(closes) if closes else None,
        desk_id=fields.pop("desk_id", "room-2"),
        **fields,
    )


WEEK = resolve_days([hours()], MONDAY, SATURDAY)


def test_a_desk_without_rules_follows_the_point():
    assert resolve_desk_days(WEEK, []) == WEEK


def test_an_interpreters_hours_narrow_the_desk_to_where_they_overlap_the_point():
    interpreter = desk_rule(RuleKind.HOURS, "FREQ=WEEKLY;BYDAY=TU", opens="06:00", closes="10:00")
    desk = resolve_desk_days(WEEK, [interpreter])
    assert spans(desk[1]) == [("07:30", "10:00")]
    assert desk[0].status == "closed"  # the interpreter works on Tuesdays only


def test_desk_hours_outside_their_validity_leave_the_desk_as_the_point():
    march_only = desk_rule(
        RuleKind.HOURS,
        "FREQ=DAILY",
        opens="09:00",
        closes="10:00",
        valid_from=dt.date(2026, 3, 4),
    )
    desk = resolve_desk_days(WEEK, [march_only])
    assert spans(desk[1]) == [("07:30", "16:30")]
    assert spans(desk[2]) == [("09:00", "10:00")]


def test_a_desk_closure_closes_only_that_desk():
    absence = desk_rule(RuleKind.CLOSED, dates=(TUESDAY,), labels={"en": "Leave"})
    desk = resolve_desk_days(WEEK, [absence])
    assert desk[1].status == "closed"
    assert desk[1].reasons == (Reason("closure", {"en": "Leave"}),)
    assert [day.status for day in WEEK][1] == "open"


def test_a_desk_timed_closure_cuts_its_hours():
    meeting = desk_rule(RuleKind.CLOSED, dates=(TUESDAY,), opens="07:00", closes="09:00")
    assert spans(resolve_desk_days(WEEK, [meeting])[1]) == [("09:00", "16:30")]


def test_a_desk_never_opens_when_the_point_is_closed():
    weekend = desk_rule(RuleKind.HOURS, "FREQ=DAILY", opens="08:00", closes="20:00")
    desk = resolve_desk_days(WEEK, [weekend])
    assert desk[5].status == "closed"
    assert spans(desk[1]) == [("08:00", "16:30")]


def test_a_desk_special_narrows_that_day_instead_of_its_hours():
    interpreter = desk_rule(RuleKind.HOURS, "FREQ=WEEKLY;BYDAY=TU", opens="08:00", closes="10:00")
    longer = desk_rule(RuleKind.SPECIAL, dates=(TUESDAY,), opens="12:00", closes="20:00")
    assert spans(resolve_desk_days(WEEK, [interpreter, longer])[1]) == [("12:00", "16:30")]


def test_rules_of_two_desks_are_not_resolved_as_one():
    first = desk_rule(RuleKind.CLOSED, dates=(TUESDAY,), desk_id="room-1")
    second = desk_rule(RuleKind.CLOSED, dates=(TUESDAY,), desk_id="room-2")
    with pytest.raises(RuleError):
        resolve_desk_days(WEEK, [first, second])


# --- validation -------------------------------------------------------------------------------


def rule(**fields) -> CalendarRule:
    defaults = {"id": "r", "kind": RuleKind.HOURS, "rrule": "FREQ=WEEKLY;BYDAY=MO"}
    defaults |= {"opens": t("08:00"), "closes": t("16:00")}
    return CalendarRule(**(defaults | fields))


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(rule(rrule="FREQ=WEEKLY;BYDAY=XX"), id="malformed BYDAY"),
        pytest.param(rule(rrule="FREQ=HOURLY"), id="hourly"),
        pytest.param(rule(rrule="FREQ=MINUTELY;INTERVAL=30"), id="minutely"),
        pytest.param(rule(rrule="FREQ=SECONDLY"), id="secondly"),
        pytest.param(rule(rrule="BYDAY=MO"), id="no FREQ"),
        pytest.param(rule(rrule="FREQ=FORTNIGHTLY"), id="unknown FREQ"),
        pytest.param(rule(rrule="FREQ=WEEKLY;BYDAY"), id="part without value"),
        pytest.param(rule(rrule="FREQ=WEEKLY;BYDAY=MO;BYDAY=TU"), id="repeated part"),
        pytest.param(rule(rrule="FREQ=WEEKLY;INTERVAL=0"), id="zero interval"),
        pytest.param(rule(rrule="FREQ=WEEKLY;COUNT=-1"), id="negative count"),
        pytest.param(rule(rrule="FREQ=DAILY;COUNT=3;UNTIL=20261231"), id="count and until"),
        pytest.param(rule(rrule="FREQ=DAILY;UNTIL=20261231T230000Z"), id="until in UTC"),
        pytest.param(rule(rrule="FREQ=DAILY;BYHOUR=9"), id="byhour"),
        pytest.param(rule(rrule="FREQ=MONTHLY;BYMONTHDAY=0"), id="monthday zero"),
        pytest.param(rule(rrule="FREQ=YEARLY;BYMONTH=-1"), id="negative month"),
        pytest.param(rule(rrule="FREQ=WEEKLY;BYDAY=9MO"), id="numbered day in a weekly rule"),
        pytest.param(rule(rrule="FREQ=DAILY;UNTIL=2026"), id="until not a date"),
        pytest.param(rule(rrule="FREQ=WEEKLY;FOO=1"), id="unknown part"),
        pytest.param(rule(rrule="RRULE:FREQ=DAILY"), id="RRULE prefix"),
        pytest.param(rule(rrule="DTSTART:20260101\nRRULE:FREQ=DAILY"), id="DTSTART line"),
        pytest.param(rule(rrule=""), id="empty rrule"),
        pytest.param(rule(rrule=None), id="neither rrule nor dates"),
        pytest.param(rule(opens=None, closes=None), id="hours without times"),
        pytest.param(rule(kind=RuleKind.SPECIAL, opens=None, closes=None), id="special no times"),
        pytest.param(rule(closes=None), id="only opens"),
        pytest.param(rule(kind=RuleKind.CLOSED, opens=None), id="closure with only closes"),
        pytest.param(rule(opens=t("16:00"), closes=t("08:00")), id="opens after closes"),
        pytest.param(rule(opens=t("08:00"), closes=t("08:00")), id="opens equals closes"),
        pytest.param(
            rule(valid_from=dt.date(2026, 3, 1), valid_until=dt.date(2026, 2, 1)),
            id="until before from",
        ),
        pytest.param(
            rule(rrule="FREQ=WEEKLY;BYDAY=SA", valid_from=MONDAY, valid_until=dt.date(2026, 3, 6)),
            id="no occurrence in range",
        ),
        pytest.param(rule(rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"), id="30 February"),
        pytest.param(rule(rrule="FREQ=DAILY;UNTIL=19991231"), id="ends before its anchor"),
        pytest.param(
            rule(rrule=None, dates=(MONDAY,), valid_from=TUESDAY), id="dates outside validity"
        ),
    ],
)
def test_validate_rule_rejects_an_unusable_rule_with_a_sentence(bad):
    with pytest.raises(RuleError) as raised:
        validate_rule(bad)
    message = str(raised.value)
    assert message[0].isupper() and message.endswith(".")


@pytest.mark.parametrize(
    "bad",
    [
        rule(opens=t("16:00"), closes=t("08:00")),
        rule(kind=RuleKind.SPECIAL, opens=None, closes=None),
        rule(rrule="FREQ=WEEKLY;BYDAY=XX"),
    ],
    ids=["reversed times", "special without times", "malformed rrule"],
)
def test_resolving_a_rule_that_skipped_validation_raises_a_rule_error(bad):
    with pytest.raises(RuleError):
        resolve_days([bad], MONDAY, SATURDAY)


def test_a_rule_error_is_a_value_error():
    assert issubclass(RuleError, ValueError)


@pytest.mark.parametrize(
    "good",
    [
        rule(),
        rule(rrule="freq=weekly;byday=tu,we,th,fr;"),
        rule(rrule="FREQ=WEEKLY;COUNT=2", valid_from=MONDAY),
        rule(rrule="FREQ=DAILY;UNTIL=20261231"),
        rule(rrule=None, dates=(SATURDAY,), kind=RuleKind.CLOSED, opens=None, closes=None),
        rule(rrule="FREQ=MONTHLY;BYDAY=-1FR", valid_from=MONDAY, valid_until=dt.date(2026, 3, 31)),
        rule(rrule="FREQ=WEEKLY;BYDAY=SA", dates=(MONDAY,), valid_until=MONDAY),
    ],
)
def test_validate_rule_accepts_a_usable_rule(good):
    validate_rule(good)


def test_a_local_interval_must_open_before_it_closes():
    with pytest.raises(ValueError):
        LocalInterval(t("10:00"), t("09:00"))


# --- holidays ---------------------------------------------------------------------------------


def test_polish_holidays_come_from_the_holidays_library_by_date():
    found = polish_holidays(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert found == {dt.date(2026, 1, 1): "Nowy Rok", dt.date(2026, 1, 6): "Święto Trzech Króli"}


def test_christmas_eve_is_a_polish_public_holiday_from_2025():
    assert dt.date(2024, 12, 24) not in polish_holidays(dt.date(2024, 12, 1), dt.date(2024, 12, 31))
    assert dt.date(2025, 12, 24) in polish_holidays(dt.date(2025, 12, 1), dt.date(2025, 12, 31))


def test_holiday_labels_span_years_and_have_a_ukrainian_name():
    labels = polish_holiday_labels(dt.date(2025, 12, 31), dt.date(2026, 1, 1))
    assert list(labels) == [dt.date(2026, 1, 1)]
    assert labels[dt.date(2026, 1, 1)]["uk"] == "Новий рік"


# --- fast-forwarded recurrences agree with dateutil walking from the anchor -------------------

RRULES = [
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3",
    "FREQ=DAILY;BYMONTH=3,10",
    "FREQ=WEEKLY;BYDAY=TU,WE,TH,FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SA",
    "FREQ=WEEKLY;INTERVAL=3",
    "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,MO",
    "FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=-1",
    "FREQ=MONTHLY;BYDAY=1SA",
    "FREQ=MONTHLY;INTERVAL=5",
    "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
    "FREQ=DAILY;UNTIL=20261015",
]


@settings(max_examples=150, deadline=None)
@given(
    value=st.sampled_from(RRULES),
    anchor=st.dates(dt.date(2000, 1, 1), dt.date(2026, 12, 31)),
    first=st.dates(dt.date(2000, 1, 1), dt.date(2027, 12, 31)),
    length=st.integers(0, 70),
)
def test_fast_forwarded_recurrences_match_a_walk_from_the_anchor(value, anchor, first, length):
    last = first + dt.timedelta(days=length)
    walked = rrulestr(value, dtstart=dt.datetime.combine(anchor, dt.time.min)).between(
        dt.datetime.combine(first, dt.time.min), dt.datetime.combine(last, dt.time.max), inc=True
    )
    found = rule_occurrences(hours(value, valid_from=anchor), first, last)
    assert found == {moment.date() for moment in walked if moment.date() >= anchor}
