"""The layout of a message: the same blocks written once as plain text and once as HTML.

Every value that comes from a person (the visitor's name, the point's texts, a closure label)
is HTML-escaped on its way into the HTML part; the catalogs' own words are escaped too, so a
translation may safely contain "<" or "&". Links are only ever http(s) or mailto.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Literal, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import msgspec

from notifications.invitation import VisitSnapshot, pick_text, service_names
from notifications.messages import dates, en, pl, ru, uk
from notifications.messages.catalog import Catalog, MessageKind

CATALOGS: dict[str, Catalog] = {
    words.language: words for words in (pl.CATALOG, en.CATALOG, uk.CATALOG, ru.CATALOG)
}


class RenderedMessage(msgspec.Struct, frozen=True):
    subject: str
    text: str
    html: str
    language: str
    qr: str | None = None
    """The reference whose QR code (booking/qr.py) the HTML shows as `cid:` QR_CID."""


#: The Content-ID the HTML part names the QR code's image by (notifications/mailer.py adds it).
QR_CID = "qr1@wizyta"


class OfferedTime(NamedTuple):
    """A held alternative offered in the office's cancellation (booking/alternatives.py)."""

    start: datetime
    end: datetime
    timezone: str
    until: datetime  # held until then
    point_name: Mapping[str, str]
    point_address: str
    accept_url: str | None  # the confirmation link (None once the mail was sent: no token)
    release_url: str


class _Layout(NamedTuple):
    confirm: bool  # asks the visitor to open `confirm_url` (the catalog's `action` above it)
    bring: bool  # what to bring: only while the visit is still ahead
    manage: Literal["change", "see"] | None  # the manage link, above it the `manage` sentence
    # for a visit that can still change, the `see` sentence for one that is over; a
    # confirmation request has none (it carries the confirmation link; the page after it has
    # the manage link), nor an offer (the visit is not the visitor's yet)
    rebook: bool  # the link to book again: after a visit is gone


_LAYOUT = {
    MessageKind.CONFIRMATION_REQUEST: _Layout(confirm=True, bring=True, manage=None, rebook=False),
    MessageKind.CONFIRMED: _Layout(confirm=False, bring=True, manage="change", rebook=False),
    MessageKind.MOVED: _Layout(confirm=False, bring=True, manage="change", rebook=False),
    MessageKind.CANCELLED: _Layout(confirm=False, bring=False, manage="see", rebook=True),
    MessageKind.CANCELLED_BY_OFFICE: _Layout(confirm=False, bring=False, manage="see", rebook=True),
    MessageKind.REMINDER: _Layout(confirm=False, bring=True, manage="change", rebook=False),
    MessageKind.HOLD_EXPIRED: _Layout(confirm=False, bring=False, manage=None, rebook=True),
    MessageKind.WAITLIST_OFFER: _Layout(confirm=True, bring=True, manage=None, rebook=False),
    MessageKind.MANAGE_LINK: _Layout(confirm=False, bring=False, manage="change", rebook=False),
}


def render_message(
    kind: MessageKind,
    visit: VisitSnapshot,
    *,
    confirm_url: str | None = None,
    previous_start: datetime | None = None,
    reason: dict[str, str] | None = None,
    rebook_url: str | None = None,
    deadline: datetime | None = None,
    alternative: OfferedTime | None = None,
    no_alternative: bool = False,
    cant_come_url: str | None = None,
) -> RenderedMessage:
    """One message about `visit` in the visit's written language.

    `confirm_url` is required by the kinds that ask the visitor to act on a link
    (confirmation_request: the confirmation link with its token; waitlist_offer: the link that
    takes the offered time). `previous_start` (moved) and `reason` (cancelled_by_office: the
    closure's label) are optional; `rebook_url` adds a link to book again after a visit is gone;
    `deadline` (confirmation_request) says by when to confirm; `cant_come_url` (a reminder)
    adds the link to the page that cancels the visit and frees its time for others.
    `alternative` (cancelled_by_office) is the time held instead, with its accept and release
    links; `no_alternative` says none was found.
    """
    language = visit.written_language
    words = CATALOGS[language]
    text = words.kind(kind)
    layout = _LAYOUT[kind]
    if layout.confirm and not confirm_url:
        raise ValueError(f"a {kind} message needs confirm_url")

    zone = visit.zone
    point = _line(pick_text(visit.point_name, language))
    address = _line(visit.point_address)
    values = {
        "reference": _line(visit.reference),
        "when": dates.span(visit.start, visit.end, zone, words),
        "when_short": dates.moment(visit.start, zone, words, weekday=False),
        "place": _place(visit, words, point, address),
        "previous": dates.moment(previous_start, zone, words) if previous_start else None,
        "reason": _line(pick_text(reason, language)) or None,
        "deadline": dates.moment(deadline, zone, words, weekday=False) if deadline else None,
    }
    subject = _fill(text.subject, values)
    if subject is None:
        raise ValueError(f"the {language} subject of {kind} names a value that is never given")

    blocks = _Blocks()
    blocks.paragraph(words.greeting, values)
    for paragraph in text.lead:
        blocks.paragraph(paragraph, values)
    if layout.confirm and confirm_url:
        blocks.link(text.action or "", _url(confirm_url))
    for paragraph in text.after:
        blocks.paragraph(paragraph, values)
    rows = [
        (words.when, values["when"]),
        (words.where, values["place"]),
        (words.service, _line(service_names(visit, language))),
    ]
    if visit.desk_name and visit.channel == "on_site":
        rows.append((words.desk, _line(visit.desk_name)))
    if visit.party_size > 1:
        rows.append((words.people, str(visit.party_size)))
    rows += [(words.visitor, _line(visit.visitor_name)), (words.reference, values["reference"])]
    blocks.details(rows)
    if layout.bring and (bring := pick_text(visit.what_to_bring, language).strip()):
        blocks.lines(f"{words.bring}:", bring.splitlines(), strong=True)
    # The offer comes after the cancelled visit's details, so the two times are not confused.
    if alternative is not None:
        alt_zone = ZoneInfo(alternative.timezone)
        offered = {
            "alternative_when": dates.span(alternative.start, alternative.end, alt_zone, words),
            "alternative_place": ", ".join(
                p
                for p in (
                    _line(pick_text(alternative.point_name, language)),
                    _line(alternative.point_address),
                )
                if p
            ),
            "alternative_until": dates.moment(alternative.until, alt_zone, words, weekday=False),
        }
        blocks.paragraph(words.alternative_offer, offered)
        if alternative.accept_url:
            blocks.link(words.alternative_accept, _url(alternative.accept_url))
        blocks.link(words.alternative_release, _url(alternative.release_url))
    elif no_alternative:
        blocks.paragraph(words.alternative_none, {})
    if kind is MessageKind.REMINDER and cant_come_url:
        blocks.link(words.cant_come, _url(cant_come_url))
    if layout.manage and visit.manage_url:
        prompt = words.manage if layout.manage == "change" else words.see
        blocks.link(prompt, _url(visit.manage_url))
    qr = None
    if layout.manage == "change" and visit.status == "confirmed":
        qr = visit.reference  # for the kiosk at the entrance (booking/queue.py)
        blocks.image(_fill(words.kiosk, values) or "", f"cid:{QR_CID}", visit.reference)
    if layout.rebook and rebook_url:
        blocks.link(words.rebook, _url(rebook_url))
    blocks.lines(words.signoff, [point])
    blocks.paragraph(words.automatic, {"email": visit.point_email}, mailto="email")

    return RenderedMessage(
        subject=subject,
        text="\n\n".join(blocks.text) + "\n",
        html=_document(language, subject, "\n".join(blocks.html)),
        language=language,
        qr=qr,
    )


def sms_wordings(
    kind: MessageKind, visit: VisitSnapshot, *, link: str, place: str
) -> list[str] | None:
    """The SMS of `kind` in the visit's written language, each wording shorter than the one
    before (notifications/sms.py sends the first that fits); None for a kind sent only by
    e-mail. `link` is the one link it carries, `place` the point's street and town."""
    words = CATALOGS[visit.written_language]
    templates = words.sms.kind(kind)
    if templates is None:
        return None
    local = visit.start.astimezone(visit.zone)
    values = {
        "reference": _line(visit.reference),
        "when": f"{local:%d.%m %H:%M}",
        "place": _line(place),
        "link": _url(link),
    }
    return [template.format_map(values) for template in templates]


class _Blocks:
    """A message's blocks, kept side by side as text and as HTML."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.html: list[str] = []

    def paragraph(
        self, template: str, values: Mapping[str, str | None], *, mailto: str | None = None
    ) -> None:
        """A paragraph, or nothing if the template names a value that was not given."""
        text = _fill(template, values)
        if text is None:
            return
        markup = {key: escape(value) for key, value in values.items() if value is not None}
        if mailto:
            address = escape(_line(values[mailto] or ""))
            markup[mailto] = f'<a href="mailto:{address}">{address}</a>'
        self.text.append(text)
        self.html.append(f"<p>{_fill(escape(template, quote=False), markup)}</p>")

    def link(self, prompt: str, url: str) -> None:
        self.text.append(f"{prompt}\n{url}")
        self.html.append(f'<p>{escape(prompt)}<br>\n<a href="{escape(url)}">{escape(url)}</a></p>')

    def image(self, text: str, src: str, alt: str) -> None:
        """A sentence and, in the HTML only, the image below it."""
        self.text.append(text)
        self.html.append(
            f"<p>{escape(text)}<br>\n"
            f'<img src="{escape(src)}" alt="QR {escape(alt)}" width="145" height="145"></p>'
        )

    def lines(self, heading: str, lines: list[str], *, strong: bool = False) -> None:
        lines = [line.strip() for line in lines if line.strip()]
        self.text.append("\n".join([heading, *lines]))
        top = f"<strong>{escape(heading)}</strong>" if strong else escape(heading)
        self.html.append("<p>" + "<br>\n".join([top, *map(escape, lines)]) + "</p>")

    def details(self, rows: list[tuple[str, str]]) -> None:
        self.text.append("\n".join(f"{label}: {value}" for label, value in rows))
        items = "\n".join(
            f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in rows
        )
        self.html.append(f"<dl>\n{items}\n</dl>")


def _place(visit: VisitSnapshot, words: Catalog, point: str, address: str) -> str:
    """Where the visit happens, by channel: the address, who calls which number, the room."""
    if visit.channel == "phone":
        return words.by_phone.format(point=point, phone=_line(visit.visitor_phone or ""))
    if visit.channel == "video" and visit.video_url:
        return words.by_video.format(url=_url(visit.video_url))
    return f"{point}, {address}"


def _fill(template: str, values: Mapping[str, str | None]) -> str | None:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if any(values.get(name) is None for name in names):
        return None
    return template.format_map(values)


def _line(value: str) -> str:
    """A person-given value on one line: no line breaks to break a header or a layout."""
    return " ".join(value.split())


def _url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or _line(url) != url:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    return url


def _document(language: str, subject: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="{language}" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(subject)}</title>
</head>
<body style="font-family: Arial, Helvetica, sans-serif; font-size: 16px; line-height: 1.5;">
{body}
</body>
</html>
"""
