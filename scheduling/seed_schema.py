"""The shape of `seed_data.json`: the points, services, desks and calendar rules from the seeds.

These Structs describe the file, not the domain: `wizyta seed` decodes the file with them and
upserts every row by its id, so ids are stable, readable slugs. Every value a seed does not
state is written down in the point's `assumptions`; every fact names its `source` document.

msgspec decodes "YYYY-MM-DD" into `datetime.date`, but it only accepts RFC 3339 times
("07:00:00") for `datetime.time`, so wall-clock times stay "HH:MM" strings checked by a
pattern and are turned into `datetime.time` by `parse_wall_clock`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal, get_args

import msgspec
from msgspec import Meta

Language = Literal["pl", "en", "uk", "ru", "pjm", "ukl", "rsl"]
"""Spoken languages and the sign languages: Polish (pjm), Ukrainian (ukl), Russian (rsl)."""

LANGUAGE_CODES: frozenset[str] = frozenset(get_args(Language))

RuleKind = Literal["hours", "special", "closed"]

Channel = Literal["on_site", "phone", "video"]
"""At a desk, by a call the consultant makes to the visitor, or in a video room."""

Slug = Annotated[str, Meta(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=100)]
SourceName = Annotated[str, Meta(pattern=r"^[0-9]{3}_[0-9a-f]{16}\.txt$")]
WallClock = Annotated[str, Meta(pattern=r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$")]
Text = Annotated[str, Meta(min_length=1)]
PostalCode = Annotated[str, Meta(pattern=r"^[0-9]{2}-[0-9]{3}$")]
Phone = Annotated[str, Meta(pattern=r"^\+48(?: [0-9]{2,3})+$")]
Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")]
PositiveInt = Annotated[int, Meta(gt=0)]
NonNegativeInt = Annotated[int, Meta(ge=0)]

DEFAULT_SEED_PATH = Path(__file__).with_name("seed_data.json")


def parse_wall_clock(value: str) -> dt.time:
    """Turn a local "HH:MM" into a `datetime.time`; raise ValueError for anything else."""
    hours, sep, minutes = value.partition(":")
    if sep != ":" or len(hours) != 2 or len(minutes) != 2:
        raise ValueError(f"not a HH:MM time: {value!r}")
    return dt.time(int(hours), int(minutes))


class LocalizedText(msgspec.Struct, frozen=True, kw_only=True):
    """One text in the four languages visitors read: Polish, English, Ukrainian, Russian."""

    pl: Text
    en: Text
    uk: Text
    ru: Text


class SeedAddress(msgspec.Struct, frozen=True, kw_only=True):
    street: Text
    postal_code: PostalCode | None = None
    """None where no seed gives one (said so in the point's assumptions)."""
    city: Text
    details: LocalizedText | None = None
    """Where in the building: block, floor, room."""


class SeedService(msgspec.Struct, frozen=True, kw_only=True):
    id: Slug
    names: LocalizedText
    descriptions: LocalizedText
    what_to_bring: LocalizedText
    """Our guidance, not a seed's list of required documents."""
    source: SourceName


class SeedDesk(msgspec.Struct, frozen=True, kw_only=True):
    """One consultant's place at a point: the unit of capacity."""

    id: Slug
    names: LocalizedText
    languages: Annotated[list[Language], Meta(min_length=1)]
    source: SourceName
    channels: Annotated[list[Channel], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["on_site"]
    )
    """The channels this consultant serves; one serving two is never booked twice at once."""
    services: list[Slug] | None = None
    """The services offered at this desk; None: every service of the point."""
    step_free: bool | None = None
    """Reachable without stairs (a ground-floor room: true; a first-floor one: false), where
    the seed says which floor it is on; null when not known."""


class SeedChannelOffer(msgspec.Struct, frozen=True, kw_only=True):
    """What differs for an offer in one channel (a value left out is the offer's own)."""

    channel: Channel
    duration_minutes: PositiveInt | None = None
    step_minutes: PositiveInt | None = None
    languages: list[Language] | None = None
    source: SourceName


class SeedPointService(msgspec.Struct, frozen=True, kw_only=True):
    """A service as one point offers it, with that point's booking parameters."""

    service_id: Slug
    duration_minutes: PositiveInt
    step_minutes: PositiveInt
    languages: Annotated[list[Language], Meta(min_length=1)]
    min_notice_minutes: NonNegativeInt
    horizon_days: PositiveInt
    per_person_limit: PositiveInt
    source: SourceName
    """The seed that says this point offers this service."""
    channels: Annotated[list[Channel], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["on_site"]
    )
    channel_offers: list[SeedChannelOffer] = []
    max_party_size: PositiveInt = 1
    extra_person_minutes: NonNegativeInt = 0


class SeedRule(msgspec.Struct, frozen=True, kw_only=True):
    """A calendar rule (RFC 5545 RRULE and/or explicit dates) of a point or one of its desks.

    `valid_from`/`valid_until` are inclusive; None leaves that end open. A `closed` rule
    without times closes the whole day.
    """

    id: Slug
    kind: RuleKind
    rrule: Text | None = None
    dates: list[dt.date] = []
    opens: WallClock | None = None
    closes: WallClock | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    labels: LocalizedText
    desk_id: Slug | None = None
    source: SourceName
    channel: Channel = "on_site"
    """The channel whose hours the rule gives."""

    def __post_init__(self) -> None:
        if self.rrule is None and not self.dates:
            raise ValueError(f"rule {self.id}: needs an rrule or dates")
        if (self.opens is None) != (self.closes is None):
            raise ValueError(f"rule {self.id}: opens and closes come together")
        if self.kind != "closed" and self.opens is None:
            raise ValueError(f"rule {self.id}: a {self.kind} rule needs opens and closes")
        if self.opens is not None and self.closes is not None and self.opens >= self.closes:
            raise ValueError(f"rule {self.id}: opens must be before closes")
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_from > self.valid_until
        ):
            raise ValueError(f"rule {self.id}: valid_from is after valid_until")

    @property
    def opens_at(self) -> dt.time | None:
        return None if self.opens is None else parse_wall_clock(self.opens)

    @property
    def closes_at(self) -> dt.time | None:
        return None if self.closes is None else parse_wall_clock(self.closes)


class SeedPoint(msgspec.Struct, frozen=True, kw_only=True):
    id: Slug
    names: LocalizedText
    department: LocalizedText
    address: SeedAddress
    city: Text
    timezone: Literal["Europe/Warsaw"]
    phones: list[Phone] = []
    emails: list[Email] = []
    languages: Annotated[list[Language], Meta(min_length=1)]
    observes_holidays: bool
    source: SourceName
    """The seed that names the point; `other_sources` hold the rest of its facts."""
    other_sources: list[SourceName] = []
    assumptions: list[Text] = []
    """Plain sentences for every value that no seed states."""
    desks: Annotated[list[SeedDesk], Meta(min_length=1)]
    max_services_per_visit: PositiveInt = 3
    services: list[SeedPointService] = []
    rules: list[SeedRule] = []


class SeedData(msgspec.Struct, frozen=True, kw_only=True):
    sources: dict[SourceName, Text]
    """Each seed document by file name, with what it is and its date where known."""
    services: list[SeedService]
    points: list[SeedPoint]


def load_seed_data(path: Path | None = None) -> SeedData:
    """Decode the seed file (by default the one shipped beside this module)."""
    raw = (path or DEFAULT_SEED_PATH).read_bytes()
    return msgspec.json.decode(raw, type=SeedData)
