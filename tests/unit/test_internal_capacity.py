"""The public's share of a slot (scheduling/capacity.py), over random desks, visits and kept
places: online bookers never see the kept places, staff bookings fill them first, and with
nothing kept the public sees what the engine sees.

The reference counts the slow, obvious way: for each slot, every desk and every visit."""

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.capacity import public_desks, public_share
from scheduling.rules import LocalInterval
from scheduling.slots import BusyPeriod, DeskSchedule, SlotQuery, compute_slots

WARSAW = ZoneInfo("Europe/Warsaw")
DAY = dt.date(2030, 3, 5)
HALF_HOUR = dt.timedelta(minutes=30)
QUERY = SlotQuery(
    timezone="Europe/Warsaw",
    duration=HALF_HOUR,
    step=HALF_HOUR,
    language="uk",
    now=dt.datetime(2030, 3, 1, tzinfo=dt.UTC),
    first_day=DAY,
    last_day=DAY,
)
OPENING = dt.datetime.combine(DAY, dt.time(9), WARSAW)


def _desk(number: int, closes: int) -> DeskSchedule:
    hours = (LocalInterval(dt.time(9), dt.time(closes)),)
    return DeskSchedule(f"desk-{number}", frozenset({"uk"}), {DAY: hours})


@st.composite
def scenarios(draw):
    closing = draw(st.lists(st.integers(10, 13), min_size=1, max_size=5))
    desks = [_desk(n, closes) for n, closes in enumerate(closing)]
    visits = []
    for n, closes in enumerate(closing):
        for half_hour in range((closes - 9) * 2):
            kind = draw(st.sampled_from(["free", "free", "public", "staff"]))
            if kind != "free":
                start = OPENING + half_hour * HALF_HOUR
                visits.append(BusyPeriod(f"desk-{n}", start, start + HALF_HOUR, kind == "public"))
    return desks, visits, draw(st.integers(0, 4))


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_the_public_never_gets_the_places_kept_for_staff(scenario):
    desks, visits, kept = scenario
    (seen,) = compute_slots(desks, visits, QUERY)
    (public,) = public_share([seen], compute_slots(desks, (), QUERY), visits, kept)
    shown = {slot.start: slot.free for slot in public.slots}
    for slot in seen.slots:
        open_desks = [d for d in desks if _open(d, slot.start, slot.end)]
        on_them = [v for v in visits if v.start < slot.end and v.end > slot.start]
        public_visits = sum(1 for v in on_them if v.public)
        share = min(slot.free, len(open_desks) - kept - public_visits)
        assert shown.get(slot.start, 0) == max(share, 0)
    assert set(shown) <= {slot.start for slot in seen.slots}


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_with_nothing_kept_the_public_sees_what_the_engine_sees(scenario):
    desks, visits, _ = scenario
    (seen,) = compute_slots(desks, visits, QUERY)
    assert public_share([seen], compute_slots(desks, (), QUERY), visits, 0) == [seen]


def test_an_internal_desk_is_left_out_of_the_publics_desks():
    desks = [_desk(0, 12), _desk(1, 12)]
    assert public_desks(desks, frozenset({"desk-1"})) == [desks[0]]


def _open(desk: DeskSchedule, start: dt.datetime, end: dt.datetime) -> bool:
    return any(
        dt.datetime.combine(DAY, i.opens, WARSAW) <= start
        and end <= dt.datetime.combine(DAY, i.closes, WARSAW)
        for i in desk.days[DAY]
    )
