"""Properties of the slot engine with channels, parties and several matters (issue 16).

Each channel is resolved on its own: its rules, its consultants. A consultant serving two
channels is one desk, so a visit in one channel takes them from the other. A party's visit and
a visit of several matters are just longer visits: never a slot where a shorter one has none.
Pure: scheduling.availability's `schedules_of` and `slots_from` with scheduling.offers.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.availability import schedules_of, slots_from
from scheduling.config import Desk
from scheduling.errors import ChannelNotOffered, PartyTooLarge, ServicesNotTogether
from scheduling.model import CHANNELS, ChannelOffer, Point, PointService
from scheduling.offers import desks_offering, visit_offer
from scheduling.rules import RuleKind, resolve_days
from scheduling.slots import BusyPeriod, DaySlots
from tests.unit.test_slot_properties import DST_CHANGES, reference_range, rules_for

UTC = dt.UTC
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
PROPERTY = settings(max_examples=40, deadline=None)
SERVICES = ("a", "b", "c")


def point(observes_holidays: bool, cap: int = 3) -> Point:
    return Point(
        id="p",
        names={},
        department={},
        address={},
        city="Kraków",
        timezone="Europe/Warsaw",
        phones=[],
        emails=[],
        languages=["pl", "uk"],
        observes_holidays=observes_holidays,
        max_services_per_visit=cap,
    )


@st.composite
def offers(draw, service_id: str) -> PointService:
    channels = sorted(draw(st.sets(st.sampled_from(CHANNELS), min_size=1)))
    step = draw(st.sampled_from([15, 20, 30]))
    own = [
        ChannelOffer(
            channel=channel,
            duration_minutes=draw(st.sampled_from([15, 20, 30, 45, 60])),
            step_minutes=draw(st.sampled_from([15, 20, 30])),
            languages=sorted(draw(st.sets(st.sampled_from(["pl", "uk"]), min_size=1))),
        )
        for channel in channels
    ]
    return PointService(
        id=service_id,
        names={},
        descriptions={},
        what_to_bring=None,
        duration_minutes=30,
        step_minutes=step,
        languages=["pl", "uk"],
        min_notice_minutes=draw(st.integers(0, 120)),
        horizon_days=60,
        per_person_limit=1,
        channels=channels,
        channel_offers=own,
        max_party_size=draw(st.integers(1, 5)),
        extra_person_minutes=draw(st.sampled_from([0, 5, 10, 15])),
    )


@st.composite
def worlds(draw):
    """A point with rules in every channel, consultants serving some channels and services,
    visits on them, and the offers of three services."""
    base = draw(st.sampled_from(DST_CHANGES) | st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)))
    first = base - draw(st.integers(0, 1)) * DAY
    last = first + draw(st.integers(0, 2)) * DAY
    dates = [first + n * DAY for n in range((last - first).days + 1)]
    rules = []
    for channel in CHANNELS:
        for kind, count in ((RuleKind.HOURS, (1, 2)), (RuleKind.CLOSED, (0, 1))):
            for rule in draw(rules_for(kind, dates, 15, count=count)):
                rules.append(
                    msgspec.structs.replace(rule, id=f"{channel}-{rule.id}", channel=channel)
                )
    desks = []
    for n in range(1, draw(st.integers(1, 4)) + 1):
        desk_id = f"desk-{n}"
        desks.append(
            Desk(
                desk_id,
                tuple(sorted(draw(st.sets(st.sampled_from(["pl", "uk"]), min_size=1)))),
                tuple(sorted(draw(st.sets(st.sampled_from(CHANNELS), min_size=1)))),
                draw(
                    st.none()
                    | st.sets(st.sampled_from(SERVICES), min_size=1).map(sorted).map(tuple)
                ),
            )
        )
        for rule in draw(rules_for(RuleKind.CLOSED, dates, 15, desk_id, count=(0, 1))):
            channel = draw(st.sampled_from(CHANNELS))
            rules.append(msgspec.structs.replace(rule, id=f"{channel}-{rule.id}", channel=channel))
    start_of = dt.datetime.combine(first, dt.time(), UTC) - dt.timedelta(hours=3)
    visits = []
    for _ in range(draw(st.integers(0, 8))):
        start = start_of + draw(st.integers(0, (len(dates) * 24 + 3) * 4)) * 15 * MINUTE
        length = draw(st.integers(1, 8)) * 15 * MINUTE
        visits.append(BusyPeriod(draw(st.sampled_from(desks)).id, start, start + length))
    now = start_of - draw(st.integers(0, 48 * 60)) * MINUTE
    services = {service_id: draw(offers(service_id)) for service_id in SERVICES}
    return {
        "point": point(draw(st.booleans())),
        "rules": rules,
        "desks": desks,
        "visits": visits,
        "now": now,
        "first": first,
        "last": last,
        "services": services,
        "language": draw(st.sampled_from(["pl", "uk"])),
    }


def slots(world, channel: str, matters: list[str], party: int = 1) -> list[DaySlots]:
    """What availability computes: the visit's shape, the desks of the channel offering every
    matter, the engine."""
    shaped = visit_offer(world["point"], [world["services"][m] for m in matters], channel, party)
    allowed = {desk.id for desk in desks_offering(world["point"], world["desks"], matters, channel)}
    schedules = [
        s
        for s in schedules_of(
            world["point"], world["rules"], world["first"], world["last"], world["desks"], channel
        )
        if s.desk_id in allowed
    ]
    return slots_from(
        world["point"],
        shaped,
        world["language"],
        world["first"],
        world["last"],
        world["now"],
        schedules,
        world["visits"],
    )


def pairs(days: list[DaySlots]) -> set[tuple[dt.datetime, str]]:
    return {(s.start, desk) for day in days for s in day.slots for desk in s.desk_ids}


def offered(world, channel: str, matters: list[str], party: int = 1) -> bool:
    try:
        slots(world, channel, matters, party)
    except (ChannelNotOffered, PartyTooLarge, ServicesNotTogether):
        return False
    return True


@PROPERTY
@given(worlds(), st.sampled_from(CHANNELS), st.sampled_from(SERVICES))
def test_a_channel_is_served_only_by_its_consultants_within_its_own_hours(world, channel, m):
    if not offered(world, channel, [m]):
        return
    serving = {d.id for d in world["desks"] if channel in d.channels}
    own = [r for r in world["rules"] if r.channel == channel and r.desk_id is None]
    hours = {
        day.date: day.intervals
        for day in resolve_days(
            own, world["first"], world["last"], observes_holidays=world["point"].observes_holidays
        )
    }
    for day in slots(world, channel, [m]):
        for slot in day.slots:
            assert set(slot.desk_ids) <= serving
            ranges = [reference_range(day.date, i.opens, i.closes) for i in hours[day.date]]
            assert any(low <= slot.start and slot.end <= high for low, high in ranges)


@PROPERTY
@given(worlds(), st.sampled_from(CHANNELS), st.sampled_from(SERVICES))
def test_another_channels_rules_never_change_a_channels_slots(world, channel, m):
    if not offered(world, channel, [m]):
        return
    alone = dict(world, rules=[r for r in world["rules"] if r.channel == channel])
    assert slots(world, channel, [m]) == slots(alone, channel, [m])


@PROPERTY
@given(worlds(), st.sampled_from(CHANNELS), st.sampled_from(CHANNELS), st.sampled_from(SERVICES))
def test_a_visit_in_one_channel_takes_its_consultant_from_every_channel(world, one, other, m):
    """A consultant of two channels is one desk: whatever channel a visit was booked in, no slot
    of any channel lists its desk while it lasts."""
    if not offered(world, other, [m]):
        return
    for day in slots(world, other, [m]):
        for slot in day.slots:
            for visit in world["visits"]:
                if visit.desk_id in slot.desk_ids:
                    assert slot.end <= visit.start or visit.end <= slot.start


@PROPERTY
@given(worlds(), st.sampled_from(CHANNELS), st.sampled_from(SERVICES), st.integers(1, 5))
def test_a_larger_party_gets_a_longer_visit_and_never_a_slot_a_smaller_one_lacks(
    world, channel, m, party
):
    offer = world["services"][m]
    if not offered(world, channel, [m], party):
        return
    own = offer.in_channel(channel)
    length = dt.timedelta(minutes=own.duration_minutes + (party - 1) * offer.extra_person_minutes)
    larger = slots(world, channel, [m], party)
    for day in larger:
        for slot in day.slots:
            assert slot.end - slot.start == length
    assert pairs(larger) <= pairs(slots(world, channel, [m], 1))


def test_a_party_larger_than_the_service_allows_is_refused():
    service = PointService(
        id="a",
        names={},
        descriptions={},
        what_to_bring=None,
        duration_minutes=30,
        step_minutes=30,
        languages=["pl"],
        min_notice_minutes=0,
        horizon_days=60,
        per_person_limit=1,
        max_party_size=2,
    )
    with pytest.raises(PartyTooLarge):
        visit_offer(point(True), [service], "on_site", 3)


@PROPERTY
@given(
    worlds(),
    st.sampled_from(CHANNELS),
    st.lists(st.sampled_from(SERVICES), min_size=2, max_size=3, unique=True),
)
def test_several_matters_last_their_sum_on_desks_offering_all_of_them(world, channel, matters):
    if not offered(world, channel, matters):
        return
    own = [world["services"][m].in_channel(channel) for m in matters]
    length = dt.timedelta(minutes=sum(o.duration_minutes for o in own))
    together = slots(world, channel, matters)
    for day in together:
        for slot in day.slots:
            assert slot.end - slot.start == length
            for desk in world["desks"]:
                if desk.id in slot.desk_ids:
                    assert desk.services is None or set(matters) <= set(desk.services)
    # the first matter alone, on the same grid, is never offered less
    assert pairs(together) <= pairs(slots(world, channel, matters[:1]))
