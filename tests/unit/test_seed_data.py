"""The seed file decodes into its Structs and holds together: ids, references, times, rules."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import msgspec
import pytest
from dateutil.rrule import rrule, rrulestr

from scheduling.seed_schema import (
    DEFAULT_SEED_PATH,
    LANGUAGE_CODES,
    SeedData,
    SeedPoint,
    SeedRule,
    load_seed_data,
    parse_wall_clock,
)

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@pytest.fixture(scope="module")
def seed() -> SeedData:
    return load_seed_data()


def all_rules(seed: SeedData) -> Iterator[tuple[SeedPoint, SeedRule]]:
    for point in seed.points:
        for rule in point.rules:
            yield point, rule


def rrule_parts(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(";"))


def weekly_days(rule: SeedRule) -> list[str]:
    assert rule.rrule is not None
    return rrule_parts(rule.rrule)["BYDAY"].split(",")


def test_the_file_is_pretty_printed_utf8_json():
    raw = DEFAULT_SEED_PATH.read_bytes()
    text = raw.decode("utf-8")
    assert "\\u" not in text, "write non-ASCII characters as themselves"
    assert text.startswith("{\n  ")
    assert isinstance(json.loads(text), dict)


def test_the_file_decodes_into_the_seed_structs(seed: SeedData):
    assert isinstance(seed, SeedData)
    assert seed.points and seed.services and seed.sources


def test_load_seed_data_reads_a_given_path(tmp_path: Path):
    path = tmp_path / "seed.json"
    path.write_bytes(DEFAULT_SEED_PATH.read_bytes())
    assert load_seed_data(path) == load_seed_data()


def test_a_rule_that_closes_before_it_opens_is_rejected(tmp_path: Path):
    data = json.loads(DEFAULT_SEED_PATH.read_text(encoding="utf-8"))
    rule = data["points"][0]["rules"][0]
    rule["opens"], rule["closes"] = "18:00", "07:00"
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(msgspec.ValidationError, match="opens must be before closes"):
        load_seed_data(path)


def test_every_id_is_unique(seed: SeedData):
    ids = [service.id for service in seed.services]
    for point in seed.points:
        ids.append(point.id)
        ids.extend(desk.id for desk in point.desks)
        ids.extend(rule.id for rule in point.rules)
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == []


def test_desks_and_rules_are_named_after_their_point(seed: SeedData):
    for point in seed.points:
        for child in [*point.desks, *point.rules]:
            assert child.id.startswith(point.id + "-"), child.id


def test_every_rule_with_a_desk_references_a_desk_of_its_point(seed: SeedData):
    for point, rule in all_rules(seed):
        if rule.desk_id is not None:
            assert rule.desk_id in {desk.id for desk in point.desks}, rule.id


def test_every_service_a_point_offers_exists_once(seed: SeedData):
    known = {service.id for service in seed.services}
    for point in seed.points:
        offered = [offer.service_id for offer in point.services]
        assert len(offered) == len(set(offered)), point.id
        assert set(offered) <= known, point.id


def test_every_service_is_offered_somewhere(seed: SeedData):
    offered = {offer.service_id for point in seed.points for offer in point.services}
    assert offered == {service.id for service in seed.services}


def test_every_language_code_is_known(seed: SeedData):
    assert {"pl", "en", "uk", "ru", "pjm", "ukl", "rsl"} == LANGUAGE_CODES
    for point in seed.points:
        assert set(point.languages) <= LANGUAGE_CODES, point.id
        for desk in point.desks:
            assert set(desk.languages) <= LANGUAGE_CODES, desk.id
        for offer in point.services:
            assert set(offer.languages) <= LANGUAGE_CODES, (point.id, offer.service_id)


def test_desks_and_services_speak_only_their_points_languages(seed: SeedData):
    for point in seed.points:
        for desk in point.desks:
            assert set(desk.languages) <= set(point.languages), desk.id
        for offer in point.services:
            assert set(offer.languages) <= set(point.languages), (point.id, offer.service_id)


def test_every_language_a_service_is_offered_in_has_a_desk_that_speaks_it(seed: SeedData):
    for point in seed.points:
        spoken = {language for desk in point.desks for language in desk.languages}
        for offer in point.services:
            assert set(offer.languages) <= spoken, (point.id, offer.service_id)


def test_every_fact_names_a_known_source(seed: SeedData):
    known = set(seed.sources)
    for service in seed.services:
        assert service.source in known, service.id
    for point in seed.points:
        assert point.source in known, point.id
        assert set(point.other_sources) <= known, point.id
        for desk in point.desks:
            assert desk.source in known, desk.id
        for offer in point.services:
            assert offer.source in known, (point.id, offer.service_id)
        for rule in point.rules:
            assert rule.source in known, rule.id


def test_every_source_is_described(seed: SeedData):
    for name, description in seed.sources.items():
        assert len(description.strip()) > 20, name


def test_values_no_seed_states_are_written_down_as_assumptions(seed: SeedData):
    for point in seed.points:
        said = " ".join(point.assumptions).lower()
        assert "visit durations" in said, point.id
        if point.address.postal_code is None:
            assert "postal code" in said, point.id
        if not point.phones:
            assert "phone" in said, point.id
        if not point.emails:
            assert "e-mail" in said, point.id


def test_times_are_hh_mm_and_a_rule_opens_before_it_closes(seed: SeedData):
    for _, rule in all_rules(seed):
        if rule.kind == "closed" and rule.opens is None:
            continue
        assert rule.opens is not None and rule.closes is not None, rule.id
        opens, closes = parse_wall_clock(rule.opens), parse_wall_clock(rule.closes)
        assert opens.strftime("%H:%M") == rule.opens, rule.id
        assert closes.strftime("%H:%M") == rule.closes, rule.id
        assert opens < closes, rule.id
        assert (rule.opens_at, rule.closes_at) == (opens, closes)


@pytest.mark.parametrize("bad", ["7:00", "07:0", "24:00", "07:60", "07-00", "07:00:00"])
def test_parse_wall_clock_rejects_anything_but_hh_mm(bad: str):
    with pytest.raises(ValueError):
        parse_wall_clock(bad)


def test_validity_ranges_run_forwards(seed: SeedData):
    for _, rule in all_rules(seed):
        if rule.valid_from is not None and rule.valid_until is not None:
            assert rule.valid_from <= rule.valid_until, rule.id


def test_each_weekly_hours_rule_has_a_well_formed_rrule(seed: SeedData):
    monday = dt.datetime(2024, 1, 1)  # the RRULE's own week, Monday to Sunday
    for _, rule in all_rules(seed):
        if rule.kind != "hours":
            continue
        assert rule.rrule is not None, rule.id
        assert not rule.dates, rule.id
        parts = rrule_parts(rule.rrule)
        assert set(parts) == {"FREQ", "BYDAY"}, rule.id  # validity lives in valid_from/until
        assert parts["FREQ"] == "WEEKLY", rule.id
        days = parts["BYDAY"].split(",")
        assert days and set(days) <= set(WEEKDAYS) and len(days) == len(set(days)), rule.id
        parsed = rrulestr(rule.rrule, dtstart=monday)
        assert isinstance(parsed, rrule), rule.id
        first_week = parsed.between(monday, monday + dt.timedelta(days=6), inc=True)
        assert {WEEKDAYS[when.weekday()] for when in first_week} == set(days), rule.id


def test_special_and_closed_rules_occur_on_dates_or_a_parseable_rrule(seed: SeedData):
    for _, rule in all_rules(seed):
        if rule.kind == "hours":
            continue
        assert rule.dates or rule.rrule, rule.id
        if rule.rrule is not None:
            rrulestr(rule.rrule, dtstart=dt.datetime(2024, 1, 1))
        assert rule.dates == sorted(set(rule.dates)), rule.id


def test_weekly_hours_of_one_point_never_overlap_in_validity_on_a_weekday(seed: SeedData):
    for point in seed.points:
        spans: dict[tuple[str, str | None, str], list[tuple[dt.date, dt.date, str]]] = defaultdict(
            list
        )
        for rule in point.rules:
            if rule.kind != "hours":
                continue
            start = rule.valid_from or dt.date.min
            end = rule.valid_until or dt.date.max
            for day in weekly_days(rule):
                spans[(rule.channel, rule.desk_id, day)].append((start, end, rule.id))
        for key, ranges in spans.items():
            ranges.sort()
            for (_, end, earlier), (start, _, later) in pairwise(ranges):
                assert end < start, f"{point.id} {key}: {earlier} overlaps {later}"


def test_every_point_has_weekly_hours_open_today_or_later(seed: SeedData):
    for point in seed.points:
        current = [
            rule
            for rule in point.rules
            if rule.kind == "hours" and rule.desk_id is None and rule.valid_until is None
        ]
        assert current, point.id


def test_basztowa_22_has_a_desk_for_each_sign_language(seed: SeedData):
    point = next(p for p in seed.points if p.id == "krakow-basztowa-22")
    signing = [d for d in point.desks if {"pjm", "ukl", "rsl"} <= set(d.languages)]
    assert signing


def test_points_keep_warsaw_time_and_two_to_four_desks(seed: SeedData):
    for point in seed.points:
        assert point.timezone == "Europe/Warsaw", point.id
        assert point.city == point.address.city, point.id
        assert 2 <= len(point.desks) <= 5, point.id


def _weekly(point: SeedPoint, channel: str) -> set[tuple[str, str, str, str | None]]:
    return {
        (day, rule.opens or "", rule.closes or "", rule.source)
        for rule in point.rules
        if rule.kind == "hours" and rule.channel == channel and rule.valid_until is None
        for day in weekly_days(rule)
    }


def test_the_seeds_phone_and_online_hours_are_channels_of_their_own(seed: SeedData):
    points = {p.id: p for p in seed.points}
    s000, s001 = "000_47d593f954d84261.txt", "001_a7b063f817b8895c.txt"
    # Basztowa: "granting information by telephone or e-mail" (000)
    phone = _weekly(points["krakow-basztowa-22"], "phone")
    assert ("MO", "07:30", "17:00", s000) in phone
    assert {("TU", "07:30", "16:30", s000), ("FR", "07:30", "16:30", s000)} <= phone
    # the INFO.OPT hotline (000)
    hotline = _weekly(points["krakow-przy-rondzie-6"], "phone")
    assert {(day, "08:00", "16:00", s000) for day in ("MO", "TU", "WE", "TH", "FR")} == hotline
    # Dekerta 24 works online: consultants on call (001), no visiting hours on site
    dekerta = points["krakow-jana-dekerta-24"]
    for channel in ("phone", "video"):
        hours = _weekly(dekerta, channel)
        assert ("MO", "09:00", "19:00", s001) in hours and ("SA", "09:00", "14:00", s001) in hours
    assert not _weekly(dekerta, "on_site")
    assert all(offer.channels == ["phone", "video"] for offer in dekerta.services)


def test_every_channel_a_point_offers_has_hours_and_a_consultant_who_speaks_its_languages(
    seed: SeedData,
):
    for point in seed.points:
        for offer in point.services:
            for channel in offer.channels:
                assert _weekly(point, channel), (point.id, channel)
                own = next((c for c in offer.channel_offers if c.channel == channel), None)
                languages = (own and own.languages) or offer.languages
                spoken = {
                    language
                    for desk in point.desks
                    if channel in desk.channels
                    for language in desk.languages
                }
                assert set(languages) <= spoken, (point.id, offer.service_id, channel)
