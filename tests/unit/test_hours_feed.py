"""The opening-hours feed: what a subscribing calendar app expands is exactly `resolve_days`."""

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import msgspec
import pytest
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from scheduling.feed import build_hours_feed
from scheduling.rules import CalendarRule, RuleKind, resolve_days
from scheduling.seed_schema import SeedPoint, SeedRule, load_seed_data

WARSAW = ZoneInfo("Europe/Warsaw")
START = dt.date(2026, 11, 21)
END = START + dt.timedelta(days=365)  # 366 days, both ends included
POINT = "krakow-test-1"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
SEED = load_seed_data()

_Hours = dict[dt.date, list[tuple[dt.time, dt.time]]]


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def hours(rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", opens="07:30", closes="16:30", **fields):
    return CalendarRule(
        id=fields.pop("id", f"hours-{opens}"),
        kind=RuleKind.HOURS,
        rrule=rrule,
        opens=t(opens),
        closes=t(closes),
        **fields,
    )


def special(*dates: dt.date, opens="09:00", closes="14:00", **fields):
    labels = {"pl": "Sobota otwarta", "en": "Open Saturday", "uk": "Відкрита субота"}
    return CalendarRule(
        id=fields.pop("id", f"special-{opens}"),
        kind=RuleKind.SPECIAL,
        dates=dates,
        opens=t(opens),
        closes=t(closes),
        labels=fields.pop("labels", labels),
        **fields,
    )


def closed(*dates: dt.date, opens=None, closes=None, **fields):
    return CalendarRule(
        id=fields.pop("id", f"closed-{opens}"),
        kind=RuleKind.CLOSED,
        dates=dates,
        opens=opens and t(opens),
        closes=closes and t(closes),
        labels=fields.pop("labels", {"pl": "Inwentaryzacja", "en": "Stocktaking"}),
        **fields,
    )


def feed(rules, start=START, end=END, *, observes_holidays=True, **fields) -> bytes:
    return build_hours_feed(
        point_id=fields.pop("point_id", POINT),
        point_name=fields.pop("point_name", {"pl": "Punkt testowy", "en": "Test point"}),
        address=fields.pop("address", "ul. Testowa 1, 30-001 Kraków"),
        timezone="Europe/Warsaw",
        rules=rules,
        observes_holidays=observes_holidays,
        window_start=start,
        window_end=end,
        public_url=fields.pop("public_url", "https://wizyta.example"),
        **fields,
    )


def is_closure_note(event) -> bool:
    """The all-day transparent "Zamknięte: ..." events: notes, not opening hours."""
    start = event["DTSTART"].dt
    return not isinstance(start, dt.datetime) and event.get("TRANSP") == "TRANSPARENT"


def expanded_hours(body: bytes, start: dt.date, end: dt.date) -> _Hours:
    """Per local date, the wall-clock intervals a calendar app shows after expanding the feed."""
    calendar = Calendar.from_ical(body)
    found: _Hours = defaultdict(list)
    for event in recurring_ical_events.of(calendar).between(start, end + dt.timedelta(days=1)):
        if is_closure_note(event):
            continue
        opens = event["DTSTART"].dt.astimezone(WARSAW)
        closes = event["DTEND"].dt.astimezone(WARSAW)
        assert opens.date() == closes.date(), event
        found[opens.date()].append((opens.time(), closes.time()))
    return {date: sorted(spans) for date, spans in found.items()}


def resolved_hours(rules, start: dt.date, end: dt.date, *, observes_holidays=True) -> _Hours:
    days = resolve_days(rules, start, end, observes_holidays=observes_holidays)
    return {
        day.date: [(interval.opens, interval.closes) for interval in day.intervals]
        for day in days
        if day.intervals
    }


def assert_feed_gives_resolved_hours(rules, start=START, end=END, *, observes_holidays=True):
    body = feed(rules, start, end, observes_holidays=observes_holidays)
    expected = resolved_hours(rules, start, end, observes_holidays=observes_holidays)
    assert expanded_hours(body, start, end) == expected
    return body


def events(body: bytes) -> list:
    return Calendar.from_ical(body).walk("VEVENT")


def timed_events_on(body: bytes, date: dt.date) -> list:
    return [
        event
        for event in events(body)
        if not is_closure_note(event) and event["DTSTART"].dt.date() == date
    ]


def closure_notes(body: bytes) -> dict[dt.date, str]:
    return {e["DTSTART"].dt: str(e["SUMMARY"]) for e in events(body) if is_closure_note(e)}


def calendar_rule(rule: SeedRule) -> CalendarRule:
    return CalendarRule(
        id=rule.id,
        kind=RuleKind(rule.kind),
        rrule=rule.rrule,
        dates=tuple(rule.dates),
        opens=rule.opens_at,
        closes=rule.closes_at,
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        labels=msgspec.to_builtins(rule.labels),
        desk_id=rule.desk_id,
        source=rule.source,
    )


# --- the calendar ------------------------------------------------------------------------------


def test_the_feed_parses_and_says_how_often_to_refresh_it():
    body = feed([hours()])
    calendar = Calendar.from_ical(body)
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["X-WR-TIMEZONE"] == "Europe/Warsaw"
    assert calendar["X-WR-CALNAME"] == "Punkt testowy"
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT12H\r\n" in body
    assert b"\r\nX-PUBLISHED-TTL:PT12H\r\n" in body
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Warsaw"]


def offsets_that_differ_from_the_zone(body: bytes, start: dt.date, end: dt.date) -> list:
    """Half hours of [start, end] at which the feed's own VTIMEZONE disagrees with tzdata."""
    (vtimezone,) = Calendar.from_ical(body).walk("VTIMEZONE")
    written = vtimezone.to_tz(lookup_tzid=False)
    moment = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    wrong = []
    while moment.date() <= end:
        if moment.astimezone(written).utcoffset() != moment.astimezone(WARSAW).utcoffset():
            wrong.append(moment)
        moment += dt.timedelta(minutes=30)
    return wrong


def test_the_vtimezone_agrees_with_the_zone_whenever_a_point_could_be_open():
    """Clients such as Outlook read the VTIMEZONE rather than their own zone database."""
    wrong = offsets_that_differ_from_the_zone(feed([hours()]), START, END)
    assert all(moment.astimezone(WARSAW).hour < 5 for moment in wrong)


def test_the_vtimezone_agrees_with_the_zone_at_every_half_hour():
    assert offsets_that_differ_from_the_zone(feed([hours()]), START, END) == []


def test_the_refresh_interval_follows_the_argument():
    body = feed([hours()], refresh=dt.timedelta(hours=1))
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in body


def test_weekly_hours_are_one_recurring_event_per_rule_with_a_utc_until():
    body = feed([hours(id="weekdays"), hours("FREQ=WEEKLY;BYDAY=SA", "09:00", "13:00", id="sat")])
    recurring = [event for event in events(body) if "RRULE" in event]
    assert [str(event["UID"]) for event in recurring] == [
        f"sat@{POINT}.wizyta",
        f"weekdays@{POINT}.wizyta",
    ]
    for event in recurring:
        assert event["DTSTART"].params["TZID"] == "Europe/Warsaw"
        assert START <= event["DTSTART"].dt.date() <= START + dt.timedelta(days=6)
        until = event["RRULE"]["UNTIL"][0]
        assert until.tzinfo is not None and until.utcoffset() == dt.timedelta(0)
        assert until.date() <= END
        assert str(event["TRANSP"]) == "TRANSPARENT"


def test_every_event_carries_location_url_and_a_unique_uid():
    body = feed([hours(), special(dt.date(2027, 1, 16))])
    found = events(body)
    assert len({str(event["UID"]) for event in found}) == len(found)
    assert {str(event["URL"]) for event in found} == {f"https://wizyta.example/points/{POINT}"}
    assert {str(event["LOCATION"]) for event in found} == {"ul. Testowa 1, 30-001 Kraków"}
    assert f"{POINT}-2027-01-16-1@wizyta" in {str(event["UID"]) for event in found}


def test_the_same_input_gives_the_same_bytes_whatever_the_order_of_the_rules():
    rules = [hours(id="a"), special(dt.date(2027, 1, 16)), closed(dt.date(2027, 2, 2))]
    assert feed(rules) == feed(rules) == feed(list(reversed(rules)))


def test_the_summary_is_in_the_chosen_language_with_a_fallback_to_polish():
    body = feed([special(dt.date(2027, 1, 16))], language="uk")
    assert [str(event["SUMMARY"]) for event in events(body)] == ["Punkt testowy – Відкрита субота"]


def test_desk_rules_are_not_in_the_public_feed():
    desk = hours("FREQ=WEEKLY;BYDAY=SA", "08:00", "12:00", id="desk-sat", desk_id="room-1")
    body = assert_feed_gives_resolved_hours([hours(), desk])
    assert "desk-sat" not in body.decode()


# --- the feed equals resolve_days --------------------------------------------------------------


@pytest.mark.parametrize("point", SEED.points, ids=lambda point: point.id)
def test_every_seeded_point_gets_exactly_its_resolved_hours_for_a_year(point: SeedPoint):
    rules = [calendar_rule(rule) for rule in point.rules]
    body = feed(rules, observes_holidays=point.observes_holidays, point_id=point.id)
    expected = resolved_hours(rules, START, END, observes_holidays=point.observes_holidays)
    assert expanded_hours(body, START, END) == expected
    assert any("RRULE" in event for event in events(body))


def test_holidays_on_weekdays_are_excluded_and_noted_as_closures():
    body = assert_feed_gives_resolved_hours([hours(), hours("FREQ=WEEKLY;BYDAY=SA", id="sat")])
    exdates = {
        value.dt.date()
        for event in events(body)
        if "EXDATE" in event
        for prop in (event["EXDATE"] if isinstance(event["EXDATE"], list) else [event["EXDATE"]])
        for value in prop.dts
    }
    holidays = [dt.date(2026, 12, d) for d in (24, 25, 26)]
    holidays += [dt.date(2027, 1, 1), dt.date(2027, 1, 6), dt.date(2027, 3, 29)]
    assert set(holidays) <= exdates
    notes = closure_notes(body)
    assert notes[dt.date(2026, 12, 25)].startswith("Zamknięte: ")
    assert notes[dt.date(2027, 3, 29)] == "Zamknięte: Poniedziałek Wielkanocny"


def test_a_holiday_on_a_day_the_point_is_closed_anyway_gets_no_closure_note():
    body = assert_feed_gives_resolved_hours([hours()])
    assert dt.date(2026, 12, 26) not in closure_notes(body)  # a Saturday
    assert dt.date(2027, 3, 28) not in closure_notes(body)  # Easter Sunday


def test_a_point_that_does_not_observe_holidays_is_open_on_them():
    rules = [hours()]
    body = assert_feed_gives_resolved_hours(rules, observes_holidays=False)
    assert dt.date(2026, 12, 25) in expanded_hours(body, START, END)
    assert closure_notes(body) == {}


def test_an_open_saturday_is_a_single_event_with_its_label():
    saturday = dt.date(2027, 1, 16)
    body = assert_feed_gives_resolved_hours([hours(), special(saturday)])
    (event,) = timed_events_on(body, saturday)
    assert str(event["SUMMARY"]) == "Punkt testowy – Sobota otwarta"
    assert "RRULE" not in event


def test_a_special_on_a_weekday_replaces_the_weekly_hours_that_day():
    short_day = dt.date(2026, 12, 31)  # a Thursday
    assert_feed_gives_resolved_hours([hours(), special(short_day, opens="07:30", closes="12:00")])


def test_a_special_with_the_weekly_hours_times_still_carries_its_label():
    day = dt.date(2027, 2, 3)
    body = assert_feed_gives_resolved_hours([hours(), special(day, opens="07:30", closes="16:30")])
    (event,) = timed_events_on(body, day)
    assert str(event["SUMMARY"]).endswith("Sobota otwarta")


def test_an_open_holiday_is_a_special_that_beats_the_holiday():
    assert_feed_gives_resolved_hours([hours(), special(dt.date(2027, 1, 6))])


def test_a_closure_beats_a_special_on_the_same_day():
    day = dt.date(2027, 2, 13)
    body = assert_feed_gives_resolved_hours([hours(), special(day), closed(day)])
    assert day not in expanded_hours(body, START, END)
    assert closure_notes(body)[day] == "Zamknięte: Inwentaryzacja"


def test_a_special_day_cut_away_by_a_timed_closure_is_noted_with_the_closure_alone():
    saturday = dt.date(2027, 1, 16)
    cut = closed(saturday, opens="08:00", closes="15:00")
    body = assert_feed_gives_resolved_hours([hours(), special(saturday), cut])
    assert closure_notes(body)[saturday] == "Zamknięte: Inwentaryzacja"


def test_a_whole_day_closure_on_a_weekday_is_an_exdate_and_a_note():
    day = dt.date(2027, 2, 2)
    body = assert_feed_gives_resolved_hours([hours(), closed(day)], observes_holidays=False)
    assert day not in expanded_hours(body, START, END)
    assert closure_notes(body) == {day: "Zamknięte: Inwentaryzacja"}


def test_a_timed_break_every_wednesday_splits_the_day_in_two():
    lunch = closed(opens="12:00", closes="12:30", id="lunch")
    lunch = msgspec.structs.replace(lunch, rrule="FREQ=WEEKLY;BYDAY=WE")
    body = assert_feed_gives_resolved_hours([hours(), lunch])
    wednesday = dt.date(2026, 11, 25)
    assert expanded_hours(body, START, END)[wednesday] == [
        (t("07:30"), t("12:00")),
        (t("12:30"), t("16:30")),
    ]


def test_hours_changed_mid_year_are_two_recurring_events_that_meet():
    old = hours(opens="07:30", closes="15:30", id="old", valid_until=dt.date(2027, 3, 31))
    new = hours(opens="08:00", closes="16:00", id="new", valid_from=dt.date(2027, 4, 1))
    body = assert_feed_gives_resolved_hours([old, new])
    by_uid = {str(e["UID"]): e for e in events(body) if "RRULE" in e}
    assert by_uid[f"old@{POINT}.wizyta"]["RRULE"]["UNTIL"][0].date() <= dt.date(2027, 3, 31)
    assert by_uid[f"new@{POINT}.wizyta"]["DTSTART"].dt.date() == dt.date(2027, 4, 1)


def test_overlapping_hours_rules_become_one_merged_event_on_the_days_they_overlap():
    morning = hours(opens="08:00", closes="14:00", id="morning")
    afternoon = hours("FREQ=WEEKLY;BYDAY=MO,WE", "12:00", "18:00", id="afternoon")
    body = assert_feed_gives_resolved_hours([morning, afternoon])
    assert expanded_hours(body, START, END)[dt.date(2026, 11, 23)] == [(t("08:00"), t("18:00"))]


def test_adjacent_hours_rules_become_one_merged_event():
    assert_feed_gives_resolved_hours(
        [hours(opens="08:00", closes="12:00", id="a"), hours(opens="12:00", closes="16:00")]
    )


def test_two_rules_with_the_same_hours_on_a_day_give_one_event_not_two():
    every_day = hours(id="weekdays")
    monday = hours("FREQ=WEEKLY;BYDAY=MO", id="monday")
    assert_feed_gives_resolved_hours([every_day, monday])


@pytest.mark.parametrize(
    ("start", "end"),
    [(dt.date(2026, 10, 19), dt.date(2026, 11, 1)), (dt.date(2027, 3, 22), dt.date(2027, 4, 4))],
    ids=["autumn", "spring"],
)
def test_a_week_with_a_dst_change_keeps_the_wall_clock_hours(start, end):
    night = special(dt.date(2026, 10, 25), dt.date(2027, 3, 28), opens="01:00", closes="05:00")
    assert_feed_gives_resolved_hours([hours("FREQ=DAILY", "07:00", "18:00"), night], start, end)


def test_a_rule_with_count_and_interval_keeps_its_own_occurrences():
    fortnightly = hours("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", id="fortnightly", valid_from=START)
    counted = hours("FREQ=WEEKLY;BYDAY=SA;COUNT=10", "09:00", "12:00", id="counted")
    counted = msgspec.structs.replace(counted, valid_from=dt.date(2026, 10, 3))
    monthly = hours("FREQ=MONTHLY;BYDAY=1SU", "10:00", "14:00", id="monthly")
    until = hours("FREQ=DAILY;UNTIL=20270115", "18:00", "20:00", id="until")
    body = assert_feed_gives_resolved_hours([fortnightly, counted, monthly, until])
    assert "COUNT" not in body.decode()


def test_an_hours_rule_with_only_dates_becomes_single_events():
    assert_feed_gives_resolved_hours(
        [hours(None, "10:00", "12:00", dates=(dt.date(2026, 12, 5), dt.date(2027, 1, 9)))]
    )


def test_a_window_of_one_day_is_a_valid_feed():
    assert_feed_gives_resolved_hours([hours()], START, START)  # a Saturday: no events


# --- any small rule set ------------------------------------------------------------------------

WINDOW = 120
times = st.integers(5 * 4, 21 * 4).map(lambda q: dt.time(q // 4, q % 4 * 15))


@st.composite
def spans(draw):
    opens = draw(times)
    minutes = draw(st.integers(1, (23 * 60 - opens.hour * 60 - opens.minute) // 15)) * 15
    closes = dt.datetime.combine(START, opens) + dt.timedelta(minutes=minutes)
    return opens, closes.time()


@st.composite
def rule_sets(draw, start: dt.date):
    end = start + dt.timedelta(days=WINDOW - 1)
    dates = st.dates(start - dt.timedelta(days=30), end + dt.timedelta(days=30))
    rules = []
    for n in range(draw(st.integers(1, 3))):
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
        opens, closes = draw(spans())
        valid_from, valid_until = sorted(draw(st.lists(dates, min_size=2, max_size=2)))
        every = draw(st.sampled_from(["", ";INTERVAL=2", ";COUNT=12"]))
        rules.append(
            CalendarRule(
                id=f"hours-{n}",
                kind=RuleKind.HOURS,
                rrule=f"FREQ=WEEKLY;BYDAY={','.join(days)}{every}",
                opens=opens,
                closes=closes,
                valid_from=draw(st.none() | st.just(valid_from)),
                valid_until=draw(st.none() | st.just(valid_until)),
            )
        )
    for n in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from([RuleKind.SPECIAL, RuleKind.CLOSED]))
        opens, closes = draw(spans())
        whole_day = kind == RuleKind.CLOSED and draw(st.booleans())
        rules.append(
            CalendarRule(
                id=f"{kind}-{n}",
                kind=kind,
                dates=tuple(draw(st.lists(st.dates(start, end), min_size=1, max_size=3))),
                opens=None if whole_day else opens,
                closes=None if whole_day else closes,
                labels={"pl": f"Etykieta {n}"},
            )
        )
    return rules


@settings(max_examples=50, deadline=None)
@given(data=st.data(), start=st.dates(dt.date(2026, 11, 21), dt.date(2027, 11, 21)))
def test_any_small_rule_set_gives_exactly_its_resolved_hours(data, start):
    rules = data.draw(rule_sets(start))
    end = start + dt.timedelta(days=WINDOW - 1)
    assert_feed_gives_resolved_hours(rules, start, end, observes_holidays=data.draw(st.booleans()))
