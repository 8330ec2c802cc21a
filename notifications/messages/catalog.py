"""The shape of one language's messages: every word a message uses, and nothing else.

A `Catalog` is a frozen Struct with a required field per label and per `MessageKind`, so a
language that lacks a translation fails when its module is imported, not in a visitor's
inbox. Templates name their values in braces:

- `{reference}`, `{when}` (weekday, date, time), `{when_short}` (date and time), `{place}`
  (point name and address): always given;
- `{previous}` (the old time of a moved visit), `{reason}` (why the office closed),
  `{deadline}` (when a held visit must be confirmed by): given only by some callers. A
  paragraph that names a value the caller did not give is left out.
"""

from __future__ import annotations

import enum

import msgspec


class MessageKind(enum.StrEnum):
    CONFIRMATION_REQUEST = "confirmation_request"  # has the confirmation link + token
    CONFIRMED = "confirmed"
    MOVED = "moved"
    CANCELLED = "cancelled"  # cancelled by the visitor
    CANCELLED_BY_OFFICE = "cancelled_by_office"  # staff closed the day
    REMINDER = "reminder"
    HOLD_EXPIRED = "hold_expired"
    WAITLIST_OFFER = "waitlist_offer"  # a freed slot offered to someone on the waitlist
    MANAGE_LINK = "manage_link"  # the manage page's link again, asked for by the visitor


class KindText(msgspec.Struct, frozen=True, kw_only=True):
    """One kind of message: its subject and what it says before and after its link."""

    subject: str
    lead: tuple[str, ...]
    action: str | None = None
    """The sentence above the confirmation (or offer) link, for kinds that carry one."""
    after: tuple[str, ...] = ()


class SmsTexts(msgspec.Struct, frozen=True, kw_only=True):
    """The SMS of each kind, each worded from the longest to the shortest: notifications/sms.py
    sends the first that fits in two parts. `{reference}`, `{when}` ("29.03 10:00"), `{place}`
    (street and town) and `{link}` (the message's one link, always last)."""

    confirmation_request: tuple[str, ...]
    confirmed: tuple[str, ...]
    moved: tuple[str, ...]
    cancelled: tuple[str, ...]
    cancelled_by_office: tuple[str, ...]
    reminder: tuple[str, ...]
    hold_expired: tuple[str, ...]
    waitlist_offer: tuple[str, ...]

    def kind(self, kind: MessageKind) -> tuple[str, ...] | None:
        """None for a kind that is never sent by SMS (the manage link asked for by e-mail)."""
        return getattr(self, kind.value, None)


class Catalog(msgspec.Struct, frozen=True, kw_only=True):
    language: str

    weekdays: tuple[str, str, str, str, str, str, str]
    """Monday first, as they stand before a date."""
    months: tuple[str, str, str, str, str, str, str, str, str, str, str, str]
    """In the case they take after a day number (Polish, Ukrainian, Russian: genitive)."""
    long_date: str
    """`{weekday}`, `{day}`, `{month}`, `{year}`: "sobota, 6 lutego 2027"."""
    short_date: str
    """`{day}`, `{month}`, `{year}`: "6 lutego 2027"."""

    greeting: str
    when: str
    where: str
    service: str
    desk: str
    visitor: str
    reference: str
    bring: str
    manage: str
    """The sentence above the manage link."""
    rebook: str
    """The sentence above the link to book again."""
    see: str
    """The sentence above the manage link in a message about a visit that is over."""
    alternative_offer: str
    """In the office's cancellation: the held alternative, `{alternative_when}`,
    `{alternative_place}`, `{alternative_until}` (by when it must be accepted)."""
    alternative_accept: str
    """The sentence above the link that takes the alternative (a page with a button)."""
    alternative_release: str
    """The sentence above the link that gives the alternative back."""
    alternative_none: str
    """In the office's cancellation when no other free time was found (the link to book
    follows)."""
    kiosk: str
    """Above the visit's QR code: scan it at the kiosk or type `{reference}`."""
    cant_come: str
    """A reminder's sentence above its "I can't come" link (a page that asks, then cancels)."""
    signoff: str
    by_phone: str
    """Where a phone visit is: `{point}` calls `{phone}` at the visit's time."""
    by_video: str
    """Where a video visit is: `{url}`, its room."""
    people: str
    """The label of a family's number of people."""
    automatic: str
    """The closing note; `{email}` is the point's address."""

    confirmation_request: KindText
    confirmed: KindText
    moved: KindText
    cancelled: KindText
    cancelled_by_office: KindText
    reminder: KindText
    hold_expired: KindText
    waitlist_offer: KindText
    manage_link: KindText
    sms: SmsTexts

    def kind(self, kind: MessageKind) -> KindText:
        return getattr(self, kind.value)
