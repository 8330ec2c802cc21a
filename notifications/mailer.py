"""From a claimed outbox row to the e-mail a visitor receives, or the reason none is due.

Pure: the row (outbox joined with its booking, point, service and desk), the settings and the
time in; an `EmailMessage` out. Visits confirmed, moved or cancelled carry an iTIP invitation
twice (RFC 6047 §2.4): as the text/calendar alternative calendar apps act on, and as an
invite.ics attachment for mail programs that only show attachments.
"""

from __future__ import annotations

import email.header
import email.headerregistry
import email.policy
import email.utils
from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from booking import links, qr
from booking.phones import sms_number
from core.settings import Settings
from notifications.invitation import VisitSnapshot, build_invitation, pick_text, written_language
from notifications.messages import MessageKind, OfferedTime, RenderedMessage, render_message
from notifications.messages.render import QR_CID
from scheduling import contacts


class _Subject(email.headerregistry.UnstructuredHeader):
    """A Subject folded by email.header.Header when it is not ASCII.

    The standard folder (CPython's _fold_as_ew) drops the space where it splits a subject into
    two encoded words (RFC 2047 §6.2: white space between encoded words is not displayed), so
    "Візит … скасовано: цього дня" arrived as "скасовано:цього дня". Header keeps each space
    inside an encoded word. The message's header object folds itself, so this holds whichever
    policy writes the message out (aiosmtplib's own, the Maildir's)."""

    def fold(self, *, policy: email.policy.Policy) -> str:  # type: ignore[override]
        if getattr(policy, "utf8", False) or str(self).isascii():
            return super().fold(policy=policy)  # type: ignore[misc]
        encoded = email.header.Header(str(self), "utf-8", header_name=self.name)
        return f"{self.name}: {encoded.encode(linesep=policy.linesep)}{policy.linesep}"


_HEADERS = email.headerregistry.HeaderRegistry()
_HEADERS.map_to_type("subject", _Subject)

# 7-bit transfer encodings (base64 or quoted-printable) whatever the language: every SMTP
# server accepts them, with or without 8BITMIME (RFC 6152).
POLICY = email.policy.SMTP.clone(cte_type="7bit", header_factory=_HEADERS)

_ENDED = frozenset({"cancelled", "expired"})
_CANCELLED_KINDS = frozenset({MessageKind.CANCELLED, MessageKind.CANCELLED_BY_OFFICE})
# A waitlist offer is a held visit too, confirmed from its e-mail like any other.
ASKS_TO_CONFIRM = frozenset({MessageKind.CONFIRMATION_REQUEST, MessageKind.WAITLIST_OFFER})

Row = Mapping[str, Any]


def reason_to_skip(row: Row, now: datetime) -> str | None:
    """Why this row must not become a message any more, or None to send it.

    A reminder goes only to a visit that is still confirmed and still at the time the reminder
    was written for (the booking's SEQUENCE has not moved on); a confirmation request or a
    waitlist offer only while the visit waits for it; news of a confirmed or moved visit not
    after it was cancelled (the cancellation, sent instead, is what the visitor needs).
    """
    kind, status = MessageKind(row["kind"]), row["status"]
    if not row["visitor_email"] and not row.get("visitor_phone"):
        return "the visitor's personal data has been removed"
    if row.get("channel") == "sms" and not sms_number(row.get("visitor_phone")):
        return "no mobile phone number to send an SMS to"
    if kind is MessageKind.REMINDER:
        if status != "confirmed":
            return f"the visit is {status.replace('_', ' ')}"
        if row["sequence"] != row["row_sequence"]:
            return "the visit was changed after the reminder was written"
        if row["starts_at"] <= now:
            return "the visit has begun"
    elif kind in ASKS_TO_CONFIRM and status != "held":
        return f"the visit is {status.replace('_', ' ')}"
    elif kind in (MessageKind.CONFIRMED, MessageKind.MOVED) and status in _ENDED:
        return f"the visit is {status} now"
    return None


def channels(row: Row) -> frozenset[str]:
    """How this visit's visitor is told of a change: the channels they chose, as far as they
    can be reached; a visit with no e-mail address (booked by staff) gets SMS, one with no
    phone e-mail, whatever the choice says."""
    email, phone = bool(row["visitor_email"]), bool(sms_number(row.get("visitor_phone")))
    wanted = set(row.get("notify_by") or ("email",))
    chosen = set()
    if email and ("email" in wanted or not phone):
        chosen.add("email")
    if phone and ("sms" in wanted or not email):
        chosen.add("sms")
    return frozenset(chosen)


def visit_snapshot(row: Row, settings: Settings, *, link_key: bytes | None) -> VisitSnapshot:
    """The visit as messages and invitations describe it, from the claimed row; with the
    manage page's link (booking/links.py) when `link_key` is given."""
    mail_language = row.get("mail_language")
    language = mail_language or written_language(row["language"])
    manage = None
    if link_key is not None:
        token = links.mail_token(link_key, row["booking_id"])
        manage = links.manage_url(settings.public_url, row["reference"], token)
    return VisitSnapshot(
        reference=row["reference"],
        uid=f"{row['booking_id']}@wizyta",
        sequence=row["sequence"],
        status=row["status"],
        start=row["starts_at"],
        end=row["ends_at"],
        timezone=row["timezone"],
        language=row["language"],
        visitor_name=row["visitor_name"] or "",
        visitor_email=row["visitor_email"] or "",
        point_name=row["point_names"],
        point_address=postal_address(row["point_address"]),
        point_email=contacts.emails(row["point_emails"])[0],
        service_name=row["service_names"],
        what_to_bring=row["what_to_bring"],
        manage_url=manage,
        desk_name=pick_text(row["desk_names"], language) or None,
        channel=row.get("visit_channel") or "on_site",
        party_size=row.get("party_size") or 1,
        visitor_phone=row.get("visitor_phone"),
        video_url=row.get("video_url"),
        extra_service_names=list(row.get("extra_service_names") or []),
        mail_language=mail_language,
        replies_to=settings.replies_address,
    )


def build_email(
    row: Row, settings: Settings, *, now: datetime, link_key: bytes | None = None
) -> EmailMessage:
    """The message for one outbox row; ValueError when the row cannot make one. `link_key`
    (booking/links.py) puts the manage page's link in it."""
    kind = MessageKind(row["kind"])
    visit = visit_snapshot(row, settings, link_key=link_key)
    payload: Mapping[str, Any] = row["payload"] or {}
    confirm_url = None
    if kind in ASKS_TO_CONFIRM:
        token = payload.get("token")
        if not token:
            raise ValueError(f"the {kind} row has no token (already sent?)")
        query = urlencode({"token": token})
        confirm_url = f"{settings.public_url}/bookings/{visit.reference}/confirm?{query}"
    cant_come = None
    if kind is MessageKind.REMINDER and link_key is not None:
        token = links.mail_token(link_key, row["booking_id"])
        cant_come = links.cancel_url(settings.public_url, visit.reference, token)
    previous = payload.get("previous_start")
    alternative = None
    if kind is MessageKind.CANCELLED_BY_OFFICE and payload.get("alternative"):
        alternative = offered_time(payload["alternative"], payload.get("token"), settings, link_key)
    rendered = render_message(
        kind,
        visit,
        confirm_url=confirm_url,
        previous_start=datetime.fromisoformat(previous) if previous else None,
        reason=payload.get("reason"),
        rebook_url=f"{settings.public_url}/points/{row['point_id']}/book",
        deadline=row["hold_expires_at"] if kind is MessageKind.CONFIRMATION_REQUEST else None,
        alternative=alternative,
        no_alternative="alternative" in payload and payload["alternative"] is None,
        cant_come_url=cant_come,
    )
    method = invitation_method(kind, row)
    invitation = build_invitation(visit, method=method, dtstamp=now) if method else None
    return compose(
        rendered,
        visit,
        mail_from=settings.mail_from,
        message_id=f"<outbox-{row['id']}.{row['booking_id']}@{_domain(settings)}>",
        date=now,
        invitation=(method, invitation) if method and invitation else None,
    )


def offered_time(
    offer: Mapping[str, Any], token: str | None, settings: Settings, link_key: bytes | None
) -> OfferedTime | None:
    """The held alternative of an office cancellation (booking/alternatives.py): accepted on
    its confirmation page (the token, while the row still has it), released on its release
    page (the visit's mail link token). None without the key the release link needs."""
    if link_key is None:
        return None
    reference = offer["reference"]
    base = f"{settings.public_url}/bookings/{reference}"
    release = links.mail_token(link_key, UUID(offer["booking_id"]))
    return OfferedTime(
        start=datetime.fromisoformat(offer["start"]),
        end=datetime.fromisoformat(offer["end"]),
        timezone=offer["timezone"],
        until=datetime.fromisoformat(offer["expires_at"]),
        point_name=offer["point_names"],
        point_address=postal_address(offer["point_address"]),
        accept_url=f"{base}/confirm?" + urlencode({"token": token}) if token else None,
        release_url=f"{base}/release?" + urlencode({"token": release}),
    )


def invitation_method(kind: MessageKind, row: Row) -> Literal["REQUEST", "CANCEL"] | None:
    """REQUEST for a confirmed visit and a confirmed visit moved; CANCEL for a cancelled visit
    only if its visitor was sent a REQUEST (RFC 5546 §3.2.2, §3.2.5; `invited`, from the
    outbox): a CANCEL for an event their calendar never had is noise at best. Without one, the
    cancellation still goes out, as a plain message. A held visit gets no invitation yet."""
    was_confirmed = row["confirmed_at"] is not None
    if kind is MessageKind.CONFIRMED or (kind is MessageKind.MOVED and was_confirmed):
        return "REQUEST"
    if kind in _CANCELLED_KINDS and row["invited"]:
        return "CANCEL"
    return None


def compose(
    rendered: RenderedMessage,
    visit: VisitSnapshot,
    *,
    mail_from: str,
    message_id: str,
    date: datetime,
    invitation: tuple[str, bytes] | None = None,
) -> EmailMessage:
    """multipart/alternative(text, html[, calendar]), inside multipart/mixed with invite.ics
    when there is an invitation."""
    message = EmailMessage(policy=POLICY)
    message["From"] = mail_from
    message["To"] = recipient(visit.visitor_name, visit.visitor_email)
    message["Reply-To"] = visit.point_email
    message["Subject"] = rendered.subject
    message["Date"] = email.utils.format_datetime(date)
    # One Message-ID per outbox row: a message sent twice is recognisably the same message.
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    if rendered.qr:  # the visit's code for the kiosk, which the HTML shows (booking/qr.py)
        html = message.get_body(preferencelist=("html",))
        assert html is not None
        html.add_related(qr.png(rendered.qr), "image", "png", cid=f"<{QR_CID}>")
    if invitation:
        method, ics = invitation
        params = {"method": method, "charset": "UTF-8"}
        message.add_alternative(ics, maintype="text", subtype="calendar", params=params)
        message.add_attachment(
            ics,
            maintype="application",
            subtype="ics",
            filename="invite.ics",
            params={"name": "invite.ics"},
        )
    # Last: making a message multipart moves its Content-* headers into the first part.
    message["Content-Language"] = rendered.language  # RFC 3282
    return message


def recipient(name: str, address: str) -> Address:
    """The visitor's address as it can be sent: an internationalised domain as IDNA A-labels
    (RFC 5891) when the local part is ASCII, so any server takes it; with a non-ASCII local
    part, as written, which only SMTPUTF8 carries (RFC 6531; transport.py refuses it for good
    where the server does not offer it). ValueError for a domain IDNA cannot encode."""
    import idna

    local, _, domain = address.rpartition("@")
    if local.isascii() and not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as e:
            raise ValueError(f"the domain {domain!r} cannot be encoded: {e}") from e
    return Address(_one_line(name), username=local, domain=domain)


def needs_smtputf8(message: EmailMessage) -> bool:
    """Whether a recipient's address has non-ASCII characters left (see `recipient`)."""
    return any(not a.addr_spec.isascii() for a in message["To"].addresses)


def postal_address(address: Mapping[str, Any] | None) -> str:
    """ "ul. Przy Rondzie 6, 31-547 Kraków" from the point's {street, postal_code, city}."""
    address = address or {}
    town = " ".join(p for p in (address.get("postal_code"), address.get("city")) if p)
    return ", ".join(p for p in (address.get("street"), town) if p)


def mail_from_address(settings: Settings) -> str:
    return email.utils.parseaddr(settings.mail_from)[1]


def _domain(settings: Settings) -> str:
    return mail_from_address(settings).rpartition("@")[2] or "wizyta.localhost"


def _one_line(text: str) -> str:
    return " ".join(text.split())
