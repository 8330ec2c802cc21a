"""The calendar rule and the resolved day: the shapes the rest of the service codes against."""

import datetime as dt
import enum

import msgspec

DEFAULT_ANCHOR = dt.date(2000, 1, 3)  # a Monday: the RRULE anchor of a rule without valid_from
LANGUAGES = ("pl", "en", "uk", "ru")


class RuleKind(enum.StrEnum):
    HOURS = "hours"
    SPECIAL = "special"
    CLOSED = "closed"


class CalendarRule(msgspec.Struct, frozen=True, kw_only=True):
    """One fact about when a point (or one desk, when `desk_id` is set) is open or closed."""

    id: str
    kind: RuleKind
    rrule: str | None = None
    dates: tuple[dt.date, ...] = ()
    opens: dt.time | None = None
    closes: dt.time | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    labels: dict[str, str] = {}
    desk_id: str | None = None
    source: str | None = None
    #: the channel whose hours this rule gives (on_site, phone, video); each channel's rules
    #: are resolved on their own, by the same precedence
    channel: str = "on_site"

    @property
    def is_whole_day(self) -> bool:
        return self.opens is None and self.closes is None

    @property
    def anchor(self) -> dt.date:
        """The RRULE's DTSTART (RFC 5545 §3.8.5.3): INTERVAL and COUNT count from here."""
        return self.valid_from or DEFAULT_ANCHOR


class RuleError(ValueError):
    """A calendar rule that cannot be used; the message says why, as a sentence."""


class RuleNeverOccurs(RuleError):
    """A well-formed rule with no day in its validity range (weekdays the range never meets)."""


class LocalInterval(msgspec.Struct, frozen=True):
    """Wall-clock times in the point's zone; only the slot engine, knowing DST, makes instants."""

    opens: dt.time
    closes: dt.time

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ValueError(
                f"An interval must open before it closes, not {self.opens}-{self.closes}."
            )


class Reason(msgspec.Struct, frozen=True):
    """What shaped a day, so a visitor sees why it is closed or unusual, in their language."""

    kind: str  # "holiday" | "special" | "closure"
    label: dict[str, str]


class DayHours(msgspec.Struct, frozen=True):
    """Hours on one local date: sorted, disjoint intervals, touching ones merged."""

    date: dt.date
    intervals: tuple[LocalInterval, ...]
    reasons: tuple[Reason, ...] = ()

    @property
    def status(self) -> str:
        return "open" if self.intervals else "closed"
