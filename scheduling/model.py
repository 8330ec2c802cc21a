"""What the scheduling API returns: frozen Structs, one per resource."""

from __future__ import annotations

import datetime
from typing import Any

import msgspec

Labels = dict[str, str]

#: The languages a visit may be held in: four spoken, three sign languages (PJM: Polish,
#: UKL: Ukrainian, RSL: Russian). The bookings table checks the same list (migrations/0003).
LANGUAGES = ("pl", "en", "uk", "ru", "pjm", "ukl", "rsl")

#: How a visit happens: at a desk, by a phone call the consultant makes to the visitor's number,
#: or in a video room. The database checks the same list (migrations/0024).
CHANNELS = ("on_site", "phone", "video")
ON_SITE, PHONE, VIDEO = CHANNELS


class Point(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    names: Labels
    department: Labels
    address: dict[str, Any]
    city: str
    timezone: str
    phones: list[str]
    emails: list[str]
    languages: list[str]
    observes_holidays: bool
    release_time: datetime.time | None = None  # new days are published at this local time...
    release_days_ahead: int | None = None  # ...this many days ahead
    draw_minutes: int = 5  # requests this soon after a release are drawn by lot
    max_services_per_visit: int = 3  # several matters in one visit: at most this many
    video_url_template: str | None = None  # its own video rooms (None: VIDEO_URL_TEMPLATE)


class PointService(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    names: Labels
    descriptions: Labels
    what_to_bring: Labels | None
    duration_minutes: int
    step_minutes: int
    languages: list[str]
    min_notice_minutes: int
    horizon_days: int
    per_person_limit: int
    #: the channels this offer is booked in; each may have its own duration, step, languages
    channels: list[str] = msgspec.field(default_factory=lambda: [ON_SITE])
    channel_offers: list[ChannelOffer] = []
    #: a family: how many people may come, and how many minutes each one past the first adds
    max_party_size: int = 1
    extra_person_minutes: int = 0
    # Fair rules against slot trading (booking/fair.py): online changes close this many
    # minutes before the visit; moves per visit (None: no limit); a cancellation this close to
    # the visit is late, and the place it frees returns to public booking only after the delay.
    change_cutoff_minutes: int = 0
    max_moves: int | None = None
    late_cancel_minutes: int = 1440
    release_delay_minutes: int = 0

    def in_channel(self, channel: str) -> PointService:
        """The offer as booked in `channel`: its own duration, step and languages there."""
        for own in self.channel_offers:
            if own.channel == channel:
                return msgspec.structs.replace(
                    self,
                    duration_minutes=own.duration_minutes,
                    step_minutes=own.step_minutes,
                    languages=own.languages,
                )
        return self


class ChannelOffer(msgspec.Struct, frozen=True, kw_only=True):
    """An offer in one channel: what that channel's visit lasts, its grid and languages."""

    channel: str
    duration_minutes: int
    step_minutes: int
    languages: list[str]
