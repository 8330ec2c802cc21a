"""A point's hours in the open formats maps and search engines read, from the same rules.

Both come from the resolved days (scheduling/rules, the same `resolve_days` as `/hours` and the
.ics feed) over the next HORIZON_DAYS: the week that most days follow is the regular pattern,
and every day that differs from it (a holiday, a closure, an open Saturday, hours that change
on a date) is an exception written with its date. So the formats say exactly what `/hours`
says for each of those days, and after them the regular week goes on.

- OpenStreetMap's `opening_hours` (https://wiki.openstreetmap.org/wiki/Key:opening_hours/specification):
  `Mo-Fr 08:00-16:00; 2026 Dec 25 off; 2027 Jan 16 09:00-14:00`; a later rule replaces an
  earlier one on the days it names, which is how the exceptions override the week.
- schema.org JSON-LD: a `GovernmentOffice` with `openingHoursSpecification` (the week) and
  `specialOpeningHoursSpecification` (the exceptions; a closed day as opens = closes = 00:00,
  as schema.org and Google's guidelines write it), address, geo, telephone, availableLanguage.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec

from scheduling import contacts
from scheduling.model import Point
from scheduling.premises import Premises
from scheduling.rules import DayHours

HORIZON_DAYS = 180

OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
OSM_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SCHEMA_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: BCP 47 tags for availableLanguage; the sign languages by their ISO 639-3 codes.
BCP47 = {"pl": "pl", "en": "en", "uk": "uk", "ru": "ru", "pjm": "pso", "ukl": "ukl", "rsl": "rsl"}

Intervals = tuple[tuple[dt.time, dt.time], ...]


class Week(msgspec.Struct, frozen=True):
    """The regular week and the dated days that differ from it."""

    days: tuple[Intervals, ...]
    """Monday first; an empty tuple is a closed day."""
    exceptions: tuple[tuple[dt.date, Intervals], ...]


def _intervals(day: DayHours) -> Intervals:
    return tuple((i.opens, i.closes) for i in day.intervals)


def week_of(days: Sequence[DayHours]) -> Week:
    """The hours most days of each weekday have, and every day of `days` that differs from it.
    (All days count: a weekly break is a closure on every one of its days, and holidays and
    open Saturdays are too rare to outvote a weekday's usual hours.)"""
    usual: list[Counter[Intervals]] = [Counter() for _ in range(7)]
    for day in days:
        usual[day.date.weekday()][_intervals(day)] += 1
    week = tuple(c.most_common(1)[0][0] if c else () for c in usual)
    exceptions = tuple(
        (day.date, _intervals(day)) for day in days if _intervals(day) != week[day.date.weekday()]
    )
    return Week(week, exceptions)


# ---------------------------------------------------------------------------- OpenStreetMap


def _osm_times(intervals: Intervals) -> str:
    return ",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in intervals) if intervals else "off"


def _osm_weekdays(indexes: list[int]) -> str:
    """Mo,We-Fr: runs of three or more days as ranges."""
    parts, run = [], [indexes[0]]
    for i in indexes[1:]:
        if i == run[-1] + 1:
            run.append(i)
            continue
        parts.append(run)
        run = [i]
    parts.append(run)
    out = []
    for r in parts:
        if len(r) >= 3:
            out.append(f"{OSM_DAYS[r[0]]}-{OSM_DAYS[r[-1]]}")
        else:
            out.extend(OSM_DAYS[i] for i in r)
    return ",".join(out)


def osm_opening_hours(week: Week) -> str:
    """The `opening_hours` value: the regular week, then each dated exception."""
    groups: dict[Intervals, list[int]] = {}
    for index, intervals in enumerate(week.days):
        if intervals:
            groups.setdefault(intervals, []).append(index)
    rules = [
        f"{_osm_weekdays(indexes)} {_osm_times(intervals)}"
        for intervals, indexes in sorted(groups.items(), key=lambda g: g[1][0])
    ]
    for day, intervals in week.exceptions:
        rules.append(
            f"{day.year} {OSM_MONTHS[day.month - 1]} {day.day:02d} {_osm_times(intervals)}"
        )
    return "; ".join(rules) if rules else "off"


# ---------------------------------------------------------------------------- schema.org


def _spec(intervals: Intervals, **extra: Any) -> list[dict[str, Any]]:
    if not intervals:  # closed all day
        return [
            {"@type": "OpeningHoursSpecification", **extra, "opens": "00:00", "closes": "00:00"}
        ]
    return [
        {
            "@type": "OpeningHoursSpecification",
            **extra,
            "opens": f"{a:%H:%M}",
            "closes": f"{b:%H:%M}",
        }
        for a, b in intervals
    ]


def json_ld(
    point: Point, premises: Premises, week: Week, *, url: str, lang: str = "pl"
) -> dict[str, Any]:
    """The point as a schema.org GovernmentOffice (JSON-LD)."""
    regular: list[dict[str, Any]] = []
    groups: dict[Intervals, list[int]] = {}
    for index, intervals in enumerate(week.days):
        if intervals:
            groups.setdefault(intervals, []).append(index)
    for intervals, indexes in sorted(groups.items(), key=lambda g: g[1][0]):
        days = [f"https://schema.org/{SCHEMA_DAYS[i]}" for i in indexes]
        regular.extend(_spec(intervals, dayOfWeek=days))
    special: list[dict[str, Any]] = []
    for day, intervals in week.exceptions:
        when = day.isoformat()
        special.extend(_spec(intervals, validFrom=when, validThrough=when))
    address = point.address
    office: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "GovernmentOffice",
        "@id": url,
        "url": url,
        "name": point.names.get(lang) or point.names.get("pl", point.id),
        "address": {
            "@type": "PostalAddress",
            "streetAddress": address.get("street", ""),
            "addressLocality": address.get("city", point.city),
            "addressRegion": "małopolskie",
            "addressCountry": "PL",
        },
        "availableLanguage": [BCP47.get(code, code) for code in point.languages],
        "openingHoursSpecification": regular,
        "specialOpeningHoursSpecification": special,
    }
    if address.get("postal_code"):
        office["address"]["postalCode"] = address["postal_code"]
    if point.department:
        office["parentOrganization"] = {
            "@type": "GovernmentOrganization",
            "name": point.department.get(lang) or point.department.get("pl", ""),
        }
    reach = contacts.of(point)  # the network's hotline where the point has no contact of its own
    if reach.phones:
        office["telephone"] = reach.phones[0]
    if reach.emails:
        office["email"] = reach.emails[0]
    if premises.latitude is not None and premises.longitude is not None:
        office["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": premises.latitude,
            "longitude": premises.longitude,
        }
    if premises.step_free_entrance is not None:
        office["amenityFeature"] = [
            {
                "@type": "LocationFeatureSpecification",
                "name": "wheelchair accessible entrance",
                "value": premises.step_free_entrance,
            }
        ]
    return office


def script_json(value: dict[str, Any]) -> str:
    """JSON for a <script type="application/ld+json"> element: `<`, `>` and `&` escaped, so no
    text in it can close the element."""
    text = msgspec.json.encode(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
