"""The opening-hours feed that calendar apps subscribe to: one point's public hours as iCalendar.

An RFC 5545 VCALENDAR published with METHOD:PUBLISH (RFC 5546 §3.2.1) and the RFC 7986 refresh
hint. Each weekly `hours` rule is one recurring VEVENT (RRULE, §3.8.5.3) with an EXDATE
(§3.8.5.1) for every day its interval is not in the resolved hours untouched; whatever the
recurring events leave out of `resolve_days` becomes single VEVENTs. So expanding the feed gives,
day by day, exactly what `resolve_days` gives: the feed is a diff against it, not a second
reading of the rules.

Closed days that the weekly hours or a special day would have opened (a holiday, a whole-day
closure) also get an all-day TRANSP:TRANSPARENT VEVENT ("Zamknięte: Boże Narodzenie"), so a
subscriber sees why; such events are not opening hours. Every event is transparent (§3.8.2.7):
a point's hours must not make the subscriber look busy.

Pure: no I/O, no clock. The same input gives the same bytes, since the ETag is their hash.
"""

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import msgspec
from dateutil.rrule import rrulestr
from icalendar import Calendar, Event, vDuration, vRecur

from core.ical import ical_text, vtimezone
from scheduling.rules import (
    LANGUAGES,
    CalendarRule,
    DayHours,
    RuleKind,
    real_span,
    resolve_days,
    rule_occurrences,
)

PRODID = "-//wizyta//opening hours//EN"
_Span = tuple[dt.time, dt.time]
_DAY = dt.timedelta(days=1)
_CLOSED = {"pl": "Zamknięte", "en": "Closed", "uk": "Зачинено", "ru": "Закрыто"}
#: what a channel's feed adds to the point's name (its visiting hours add nothing)
CHANNEL_NAMES = {
    "phone": {
        "pl": "wizyty telefoniczne",
        "en": "phone visits",
        "uk": "телефонні консультації",
        "ru": "телефонные консультации",
    },
    "video": {
        "pl": "wizyty wideo",
        "en": "video visits",
        "uk": "відеоконсультації",
        "ru": "видеоконсультации",
    },
}


def build_hours_feed(
    *,
    point_id: str,
    point_name: dict[str, str],
    address: str,
    timezone: str,
    rules: Sequence[CalendarRule],
    observes_holidays: bool,
    window_start: dt.date,
    window_end: dt.date,
    language: str = "pl",
    public_url: str,
    refresh: dt.timedelta = dt.timedelta(hours=12),
    channel: str = "on_site",
) -> bytes:
    """The feed of a point's public hours for the dates [window_start, window_end], in one
    channel (its visiting hours by default; phone or video visits have hours of their own).

    Desk rules are ignored: subscribers see when the point is open, not each desk.
    """
    if window_end < window_start:
        raise ValueError(f"The feed's window ends on {window_end}, before {window_start}.")
    if language not in LANGUAGES:
        raise ValueError(f"The feed is written in one of {', '.join(LANGUAGES)}, not {language}.")
    point_rules = sorted(
        (rule for rule in rules if rule.desk_id is None and rule.channel == channel),
        key=lambda r: r.id,
    )
    days = resolve_days(point_rules, window_start, window_end, observes_holidays=observes_holidays)
    name = _pick(point_name, language)
    if channel in CHANNEL_NAMES:
        name = f"{name} – {CHANNEL_NAMES[channel][language]}"
        address = CHANNEL_NAMES[channel][language]
    feed = _Feed(
        point_id=point_id if channel == "on_site" else f"{point_id}-{channel}",
        name=name,
        language=language,
        zone=ZoneInfo(timezone),
        address=address,
        url=f"{public_url.rstrip('/')}/points/{point_id}",
        stamp=dt.datetime.combine(window_start, dt.time.min, tzinfo=dt.UTC),
    )
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    calendar.add("NAME", ical_text(feed.name), parameters={"LANGUAGE": language})  # RFC 7986 §5.1
    calendar.add("X-WR-CALNAME", ical_text(feed.name))
    calendar.add("X-WR-TIMEZONE", timezone)
    calendar.add("URL", feed.url)  # RFC 7986 §5.5
    source = f"{public_url.rstrip('/')}/calendars/points/{point_id}.ics"
    calendar.add("SOURCE", source if channel == "on_site" else f"{source}?channel={channel}")
    calendar.add("REFRESH-INTERVAL", refresh, parameters={"VALUE": "DURATION"})  # §5.7
    calendar.add("X-PUBLISHED-TTL", vDuration(refresh))
    middle = window_start + (window_end - window_start) / 2
    calendar.add_component(vtimezone(timezone, dt.datetime.combine(middle, dt.time(12), dt.UTC)))
    for event in _events(feed, point_rules, days, window_start, window_end):
        calendar.add_component(event)
    return calendar.to_ical()


class _Feed(msgspec.Struct, frozen=True, kw_only=True):
    """What every event of one feed shares."""

    point_id: str
    name: str
    language: str
    zone: ZoneInfo
    address: str
    url: str
    stamp: dt.datetime

    def event(self, uid: str, summary: str) -> Event:
        event = Event()
        event.add("UID", uid)
        event.add("DTSTAMP", self.stamp)
        event.add("SUMMARY", ical_text(summary), parameters={"LANGUAGE": self.language})
        event.add("LOCATION", ical_text(self.address))
        event.add("URL", self.url)
        event.add("TRANSP", "TRANSPARENT")
        return event

    def at(self, date: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(date, time, tzinfo=self.zone)


def _events(
    feed: _Feed, rules: list[CalendarRule], days: list[DayHours], first: dt.date, last: dt.date
) -> list[Event]:
    """Recurring events by rule id, then each date's single events and closure, by date."""
    resolved = {day.date: {(i.opens, i.closes) for i in day.intervals} for day in days}
    special = {day.date for day in days if any(r.kind == "special" for r in day.reasons)}
    produced: dict[dt.date, set[_Span]] = {day.date: set() for day in days}
    events: list[Event] = []
    for rule in rules:
        if rule.kind != RuleKind.HOURS or rule.rrule is None:
            continue  # an hours rule's explicit dates fall to single events
        span: _Span = (rule.opens, rule.closes)  # type: ignore[assignment]
        weekly = msgspec.structs.replace(rule, dates=())
        wanted = sorted(
            date
            for date in rule_occurrences(weekly, first, last)
            if date not in special and span in resolved[date] and span not in produced[date]
        )
        if wanted:
            events.append(_recurring(feed, rule, span, wanted, produced))
    would_open = set().union(
        *(rule_occurrences(r, first, last) for r in rules if r.kind != RuleKind.CLOSED)
    )
    for day in days:
        extra = " – ".join(
            _pick(r.label, feed.language) for r in day.reasons if r.kind == "special"
        )
        summary = " – ".join(filter(None, (feed.name, extra)))
        spans = sorted(resolved[day.date] - produced[day.date])
        real = [s for s in spans if real_span(day.date, *s, feed.zone) is not None]  # no gap
        for n, (opens, closes) in enumerate(real, 1):
            event = feed.event(f"{feed.point_id}-{day.date.isoformat()}-{n}@wizyta", summary)
            event.add("DTSTART", feed.at(day.date, opens))
            event.add("DTEND", feed.at(day.date, closes))
            events.append(event)
        if not day.intervals and day.reasons and day.date in would_open:
            events.append(_closure(feed, day))
    return events


def _recurring(
    feed: _Feed,
    rule: CalendarRule,
    span: _Span,
    wanted: list[dt.date],
    produced: dict[dt.date, set[_Span]],
) -> Event:
    """One rule's weekly hours from its first to its last wanted date in the window.

    DTSTART moves to the first wanted date, an occurrence, so INTERVAL periods stay aligned; COUNT
    and the rule's own UNTIL give way to an UNTIL at the end of the last wanted date, in UTC as
    §3.3.10 requires with a TZID DTSTART. The RRULE is expanded here as a client will expand it:
    the dates it adds are EXDATEs, and a wanted date it misses is left to a single event.
    """
    parts = [
        part.strip()
        for part in rule.rrule.upper().split(";")  # type: ignore[union-attr]
        if part.strip() and part.partition("=")[0].strip() not in ("UNTIL", "COUNT")
    ]
    start, end = wanted[0], wanted[-1]
    begin = dt.datetime.combine(start, span[0])
    expanded = {start} | {
        moment.date()
        for moment in rrulestr(";".join(parts), dtstart=begin).between(
            begin, dt.datetime.combine(end, dt.time.max), inc=True
        )
    }
    for date in expanded.intersection(wanted):
        produced[date].add(span)
    until = feed.at(end, dt.time(23, 59, 59)).astimezone(dt.UTC)
    event = feed.event(f"{rule.id}@{feed.point_id}.wizyta", feed.name)
    event.add("DTSTART", feed.at(start, span[0]))
    event.add("DTEND", feed.at(start, span[1]))
    event.add("RRULE", vRecur.from_ical(";".join([*parts, f"UNTIL={until:%Y%m%dT%H%M%SZ}"])))
    for date in sorted(expanded.difference(wanted)):
        event.add("EXDATE", feed.at(date, span[0]))
    return event


def _closure(feed: _Feed, day: DayHours) -> Event:
    """An all-day, transparent note that the point is closed, and why (§3.6.1: DTEND exclusive)."""
    labels = (
        _pick(reason.label, feed.language) for reason in day.reasons if reason.kind != "special"
    )
    why = ", ".join(dict.fromkeys(filter(None, labels)))
    closed = _CLOSED[feed.language]
    summary = f"{closed}: {why}" if why else closed
    event = feed.event(f"{feed.point_id}-{day.date.isoformat()}-closed@wizyta", summary)
    event.add("DTSTART", day.date)
    event.add("DTEND", day.date + _DAY)
    return event


def _pick(texts: dict[str, str], language: str) -> str:
    """One language's text; a missing one falls back to Polish, then English, then any."""
    for code in (language, "pl", "en"):
        if texts.get(code):
            return texts[code]
    return next((text for text in texts.values() if text), "")
