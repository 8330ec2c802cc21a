"""iCalendar invitations for a visit (RFC 5545 objects sent as RFC 5546 iTIP messages).

Pure: a `VisitSnapshot` and a timestamp in, the bytes of a text/calendar part out. The worker
decides when to send which method; this module only makes each object right:

- `build_invitation(..., method="REQUEST")` for a new, confirmed or moved visit, and
  `method="CANCEL"` for a cancelled one (RFC 5546 §3.2.2 and §3.2.5);
- `build_visit_ics` for the manage page's calendar.ics download (METHOD:PUBLISH, §3.2.1).

All three carry the same UID, so a calendar app that already has the visit updates it in
place; SEQUENCE (raised by booking on every change) tells it which version is newer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec
from icalendar import Alarm, Calendar, Event
from icalendar.prop import vCalAddress

from core.ical import ical_text, vtimezone

PRODID = "-//wizyta//wizyta//EN"

LANGUAGES = ("pl", "en", "uk", "ru")
"""The languages messages and invitations are written in."""

_WRITTEN_LANGUAGE = {"pjm": "pl", "ukl": "uk", "rsl": "ru"} | {code: code for code in LANGUAGES}

_UNCONFIRMED = frozenset({"held"})
_ENDED = frozenset({"cancelled", "expired"})


def written_language(code: str) -> str:
    """The written language for a visit's language code.

    A sign-language visit (PJM, Ukrainian or Russian sign language) is written to in the
    matching spoken language's script.
    """
    try:
        return _WRITTEN_LANGUAGE[code.strip().lower()]
    except KeyError:
        raise ValueError(f"no written language for visit language {code!r}") from None


def pick_text(texts: dict[str, str] | None, language: str) -> str:
    """One language's text from a pl/en/uk/ru mapping.

    A label missing in the visitor's language falls back to Polish (what the sign on the door
    says), then English, then whatever there is.
    """
    if not texts:
        return ""
    for code in (language, "pl", "en"):
        if texts.get(code):
            return texts[code]
    return next((text for text in texts.values() if text), "")


class VisitSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a message or an invitation says about one visit, read once from booking."""

    reference: str
    uid: str
    sequence: int
    status: str
    start: datetime
    end: datetime
    timezone: str
    language: str
    visitor_name: str
    visitor_email: str
    point_name: dict[str, str]
    point_address: str
    point_email: str
    service_name: dict[str, str]
    what_to_bring: dict[str, str] | None = None
    manage_url: str | None = None
    desk_name: str | None = None
    sent_by: str | None = None
    """The address the e-mail comes From when it is not the point's (RFC 6047 §2.2.2: From is
    the ORGANIZER or its SENT-BY, RFC 5545 §3.2.18), e.g. no-reply@ for fami@muw.pl."""
    channel: str = "on_site"
    """on_site (at the address), phone (the point calls `visitor_phone`), video (`video_url`)"""
    visitor_phone: str | None = None
    video_url: str | None = None
    party_size: int = 1
    extra_service_names: list[dict[str, str]] = []
    """The names of the visit's further matters, after `service_name`."""
    mail_language: str | None = None
    """The language the visitor chose for their e-mails (pl, en, uk, ru), or None: the
    visit's own written language."""
    replies_to: str | None = None
    """The address `wizyta inbound` receives (INBOUND_ADDRESS): with it, an invitation names it
    as ORGANIZER and asks the attendee to answer (RSVP=TRUE), so a "Decline" pressed in a
    calendar app comes back as an iTIP REPLY (RFC 5546 §3.2.3) and cancels the visit."""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a visit's start and end must be aware datetimes")
        if self.end <= self.start:
            raise ValueError("a visit must end after it starts")
        if self.sequence < 0:
            raise ValueError("SEQUENCE is a non-negative integer (RFC 5545 §3.8.7.4)")
        written_language(self.language)
        if self.mail_language is not None and self.mail_language not in LANGUAGES:
            raise ValueError(f"no such language for e-mails: {self.mail_language!r}")
        ZoneInfo(self.timezone)

    @property
    def written_language(self) -> str:
        """What messages and invitations are written in: the visitor's choice, or the visit's."""
        return self.mail_language or written_language(self.language)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class _CalendarText(msgspec.Struct, frozen=True):
    reference: str
    desk: str
    bring: str
    manage: str
    phone: str  # "{point} calls {phone}"
    video: str
    people: str


_TEXT = {
    "pl": _CalendarText(
        reference="Numer rezerwacji",
        desk="Stanowisko",
        bring="Co zabrać ze sobą",
        manage="Odwołanie lub zmiana terminu",
        phone="Wizyta telefoniczna: {point} dzwoni pod numer {phone}",
        video="Wizyta wideo",
        people="Liczba osób",
    ),
    "en": _CalendarText(
        reference="Booking reference",
        desk="Desk",
        bring="What to bring",
        manage="Cancel or change the visit",
        phone="Phone visit: {point} calls {phone}",
        video="Video visit",
        people="People",
    ),
    "uk": _CalendarText(
        reference="Номер запису",
        desk="Місце прийому",
        bring="Що взяти з собою",
        manage="Скасувати або перенести візит",
        phone="Телефонна консультація: {point} телефонує на номер {phone}",
        video="Відеоконсультація",
        people="Кількість осіб",
    ),
    "ru": _CalendarText(
        reference="Номер записи",
        desk="Место приёма",
        bring="Что взять с собой",
        manage="Отменить или перенести визит",
        phone="Телефонная консультация: {point} звонит по номеру {phone}",
        video="Видеоконсультация",
        people="Количество человек",
    ),
}


def build_invitation(
    visit: VisitSnapshot,
    *,
    method: Literal["REQUEST", "CANCEL"],
    dtstamp: datetime,
    alarm_before: timedelta = timedelta(hours=2),
) -> bytes:
    """The text/calendar body of an iTIP REQUEST (new or moved visit) or CANCEL.

    RFC 5546 §3.2.2 and §3.2.5: both carry ORGANIZER, ATTENDEE, UID, SEQUENCE and DTSTAMP;
    a CANCEL has STATUS:CANCELLED and no VALARM.
    """
    if method == "REQUEST":
        if visit.status in _ENDED:
            raise ValueError(f"a {visit.status} visit is sent with METHOD:CANCEL, not REQUEST")
        tentative = visit.status in _UNCONFIRMED
        event = _event(visit, dtstamp, status="TENTATIVE" if tentative else "CONFIRMED")
        event.add(
            "ATTENDEE",
            _attendee(visit, partstat="NEEDS-ACTION" if tentative else "ACCEPTED"),
        )
        event.add_component(_alarm(visit, alarm_before))
    elif method == "CANCEL":
        event = _event(visit, dtstamp, status="CANCELLED")
        event.add("ATTENDEE", _attendee(visit, partstat=None))
    else:
        raise ValueError(f"unsupported iTIP method {method!r}")
    return _calendar(visit, method, event).to_ical()


def build_visit_ics(
    visit: VisitSnapshot, dtstamp: datetime, *, alarm_before: timedelta = timedelta(hours=2)
) -> bytes:
    """The manage page's calendar.ics: the visit as published, not as an invitation.

    RFC 5546 §3.2.1: a PUBLISH event has an ORGANIZER and no ATTENDEE. It keeps the
    invitation's UID and SEQUENCE, so importing it next to an invitation updates one event.
    """
    if visit.status in _ENDED:
        event = _event(visit, dtstamp, status="CANCELLED")
    else:
        tentative = visit.status in _UNCONFIRMED
        event = _event(visit, dtstamp, status="TENTATIVE" if tentative else "CONFIRMED")
        event.add_component(_alarm(visit, alarm_before))
    return _calendar(visit, "PUBLISH", event).to_ical()


def _calendar(visit: VisitSnapshot, method: str, event: Event) -> Calendar:
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", method)
    cal.add_component(vtimezone(visit.timezone, visit.start))
    cal.add_component(event)
    return cal


def _event(visit: VisitSnapshot, dtstamp: datetime, *, status: str) -> Event:
    if dtstamp.tzinfo is None:
        raise ValueError("DTSTAMP must be an aware datetime")
    language = visit.written_language
    point = pick_text(visit.point_name, language)
    text = {"LANGUAGE": language}
    event = Event()
    event.add("UID", visit.uid)
    event.add("SEQUENCE", visit.sequence)
    event.add("DTSTAMP", dtstamp.astimezone(UTC))
    event.add("DTSTART", _local(visit.start, visit.zone))
    event.add("DTEND", _local(visit.end, visit.zone))
    event.add("SUMMARY", ical_text(_summary(visit, language)), parameters=text)
    event.add("LOCATION", ical_text(_where(visit, point, language)), parameters=text)
    event.add("DESCRIPTION", ical_text(_description(visit, language), lines=True), parameters=text)
    event.add("STATUS", status)
    event.add("TRANSP", "OPAQUE")
    event.add("ORGANIZER", _organizer(visit, point))
    if visit.channel == "video" and visit.video_url:
        # The room is where the visit happens: LOCATION, URL and (RFC 7986 §5.11) CONFERENCE.
        event.add("URL", visit.video_url)
        event.add("CONFERENCE", visit.video_url, parameters={"VALUE": "URI", "FEATURE": "VIDEO"})
    elif visit.manage_url:
        event.add("URL", visit.manage_url)
    return event


def _where(visit: VisitSnapshot, point: str, language: str) -> str:
    """LOCATION by channel: the address on site, who calls which number by phone, the room's
    link by video."""
    if visit.channel == "video" and visit.video_url:
        return visit.video_url
    if visit.channel == "phone":
        return _TEXT[language].phone.format(point=point, phone=visit.visitor_phone or "")
    return location(point, visit.point_address)


def location(point_name: str, address: str) -> str:
    """The point's name and postal address, the street once.

    Points are named by their street ("Punkt ..., ul. Basztowa 22"; in Ukrainian "вул. Basztowa
    22"), and the address starts with it ("ul. Basztowa 22, 31-156 Kraków"): a trailing part of
    the name that is the address's street, whatever the street word, is not repeated.
    """
    street = address.split(",", 1)[0].strip()
    parts = [part.strip() for part in point_name.split(",")]
    if len(parts) > 1 and street and _street_key(parts[-1]) == _street_key(street):
        parts.pop()
    return ", ".join(filter(None, [", ".join(parts), address]))


def _street_key(street: str) -> str:
    """ "Basztowa 22" from "ul. Basztowa 22", "вул. Basztowa 22" or "al. Basztowa 22"."""
    words = street.split()
    if len(words) > 1 and words[0].endswith("."):
        words = words[1:]
    return " ".join(words).casefold()


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    """The instant as wall-clock time with a TZID, or in UTC where wall time cannot say it.

    RFC 5545 §3.3.5: a local time that occurs twice on a DST change means its first
    occurrence, so the second one (fold=1) is written in UTC instead.
    """
    local = instant.astimezone(zone)
    return instant.astimezone(UTC) if local.fold else local


SUMMARY_LENGTH = 80


def _summary(visit: VisitSnapshot, language: str) -> str:
    """Short enough for a calendar's day view: the service and where ("Sprawy codzienne –
    ul. Basztowa 22, 31-156 Kraków"); the point's long name is in LOCATION."""
    where = visit.point_address or pick_text(visit.point_name, language)
    if visit.channel == "phone":
        where = _TEXT[language].phone.split(":")[0]
    elif visit.channel == "video":
        where = _TEXT[language].video
    summary = f"{service_names(visit, language)} – {where}"
    return summary if len(summary) <= SUMMARY_LENGTH else summary[: SUMMARY_LENGTH - 1] + "…"


def _description(visit: VisitSnapshot, language: str) -> str:
    words = _TEXT[language]
    lines = [f"{words.reference}: {visit.reference}"]
    if visit.desk_name and visit.channel == "on_site":
        lines.append(f"{words.desk}: {visit.desk_name}")
    if visit.party_size > 1:
        lines.append(f"{words.people}: {visit.party_size}")
    if visit.channel == "video" and visit.video_url:
        lines.append(f"{words.video}: {visit.video_url}")
    if bring := pick_text(visit.what_to_bring, language):
        lines += ["", f"{words.bring}:", bring]
    if visit.manage_url:
        lines += ["", f"{words.manage}:", visit.manage_url]
    return "\n".join(lines)


def service_names(visit: VisitSnapshot, language: str) -> str:
    """The visit's matters, the first its service: "Sprawy codzienne; Legalizacja pobytu"."""
    names = [visit.service_name, *visit.extra_service_names]
    return "; ".join(filter(None, (pick_text(name, language) for name in names)))


def _organizer(visit: VisitSnapshot, point: str) -> vCalAddress:
    """The point organizes; the service's own address sends on its behalf (SENT-BY). With an
    inbound address, that address is the ORGANIZER calendar apps answer to."""
    if visit.replies_to:
        return vCalAddress.new(visit.replies_to.removeprefix("mailto:"), cn=_cn(point))
    sender = visit.sent_by
    if sender and sender.removeprefix("mailto:").casefold() != visit.point_email.casefold():
        sent_by = f"mailto:{sender.removeprefix('mailto:')}"
        return vCalAddress.new(visit.point_email, cn=_cn(point), sent_by=sent_by)
    return vCalAddress.new(visit.point_email, cn=_cn(point))


def _attendee(visit: VisitSnapshot, *, partstat: str | None) -> vCalAddress:
    return vCalAddress.new(
        visit.visitor_email,
        cn=_cn(visit.visitor_name),
        role="REQ-PARTICIPANT",
        partstat=partstat,
        rsvp=bool(visit.replies_to) and partstat is not None,
    )


def _cn(name: str) -> str:
    """A CN parameter value that every client reads back as written.

    icalendar encodes a double quote as RFC 6868 ^', which Outlook shows literally.
    """
    return " ".join(ical_text(name).replace('"', "'").split())


def _alarm(visit: VisitSnapshot, before: timedelta) -> Alarm:
    if before < timedelta(0):
        raise ValueError("the alarm goes off before the visit, not after it")
    alarm = Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("TRIGGER", -before)
    alarm.add("DESCRIPTION", ical_text(_summary(visit, visit.written_language)))
    return alarm
