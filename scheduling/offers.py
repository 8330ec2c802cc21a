"""What one visit is at a point: its channel, its party and its matters, as one offer.

Pure. A visit is booked in one channel (on site, phone, video), for a party of one or more
people (a family), about one or more matters (services). The slot engine needs one duration,
one step and one set of languages; this module turns the choice into them:

- each matter takes its offer's duration in that channel, plus `extra_person_minutes` for each
  person past the first; the visit's duration is their sum (at most 8 hours: a desk's day);
- the grid is the first matter's, in that channel; the languages are those every matter is
  offered in there; the notice is the longest and the horizon the shortest of them;
- a channel a matter is not offered in, a party larger than a matter allows, more matters than
  the point's cap, or matters no desk offers together are refused, each with its own code.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from scheduling.errors import (
    ChannelNotOffered,
    PartyTooLarge,
    PartyTooSmall,
    ServicesNotTogether,
    TooManyServices,
    UnknownChannel,
    VisitTooLong,
)
from scheduling.model import CHANNELS, Point, PointService

MAX_VISIT_MINUTES = 480  # bookings_at_most_eight_hours (migrations/0024)


def check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise UnknownChannel(channel=channel, channels=", ".join(CHANNELS))


def visit_offer(
    point: Point, offers: Sequence[PointService], channel: str, party_size: int = 1
) -> PointService:
    """The offers of a visit's matters (the first is the visit's service) as one offer in
    `channel` for `party_size` people; its id is the first matter's."""
    check_channel(channel)
    if not offers:
        raise ValueError("A visit has at least one matter.")
    if len(offers) > point.max_services_per_visit:
        raise TooManyServices(
            point_id=point.id, max_services=point.max_services_per_visit, count=len(offers)
        )
    if party_size < 1:
        raise PartyTooSmall(party_size=party_size)
    own = []
    for offer in offers:
        if channel not in offer.channels:
            raise ChannelNotOffered(
                point_id=point.id,
                service_id=offer.id,
                channel=channel,
                offered=", ".join(offer.channels),
            )
        if party_size > offer.max_party_size:
            raise PartyTooLarge(
                service_id=offer.id, max_party_size=offer.max_party_size, party_size=party_size
            )
        own.append(offer.in_channel(channel))
    minutes = sum(o.duration_minutes + (party_size - 1) * o.extra_person_minutes for o in own)
    if minutes > MAX_VISIT_MINUTES:
        raise VisitTooLong(minutes=minutes, max_minutes=MAX_VISIT_MINUTES)
    first = own[0]
    if len(own) == 1 and party_size == 1:
        return first
    languages = [lang for lang in first.languages if all(lang in o.languages for o in own[1:])]
    return msgspec.structs.replace(
        first,
        duration_minutes=minutes,
        languages=languages,
        min_notice_minutes=max(o.min_notice_minutes for o in own),
        horizon_days=min(o.horizon_days for o in own),
        max_party_size=min(o.max_party_size for o in own),
    )


def desks_offering(point: Point, desks: Sequence, services: Sequence[str], channel: str) -> list:
    """The desks (anything with `channels` and `services`, None meaning every service) that
    serve `channel` and offer every one of `services`; ServicesNotTogether when there are
    none although some desk serves the channel."""
    in_channel = [d for d in desks if channel in d.channels]
    found = [d for d in in_channel if d.services is None or set(services) <= set(d.services)]
    if in_channel and not found:
        raise ServicesNotTogether(point_id=point.id, services=", ".join(services), channel=channel)
    return found
