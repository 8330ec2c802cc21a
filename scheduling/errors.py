"""Refusals about what a visit is: its channel, its party and its matters (issue 16).

Scheduling raises them while it works out what a visit at a point would be (the availability
API, the city search) and booking raises the same ones when a visit is held, so a client gets
one code for one mistake whichever it asked. Each is a 422 naming the field to correct.
"""

from __future__ import annotations

from core.errors import Invalid


class UnknownChannel(Invalid):
    code, field = "unknown_channel", "channel"
    template = "Unknown channel {channel!r}; use one of {channels}."


class ChannelNotOffered(Invalid):
    code, field = "channel_not_offered", "channel"
    template = (
        "The service {service_id!r} is not offered as a {channel} visit at {point_id!r}; "
        "it is offered as {offered}."
    )


class PartyTooLarge(Invalid):
    code, field = "party_too_large", "party_size"
    template = (
        "At most {max_party_size} people may come to one visit for {service_id!r}; "
        "{party_size} were asked for."
    )


class PartyTooSmall(Invalid):
    code, field = "party_too_small", "party_size"
    template = "A visit is for at least one person; {party_size} were asked for."


class TooManyServices(Invalid):
    code, field = "too_many_services", "extra_services"
    template = (
        "At most {max_services} matters can be dealt with in one visit at {point_id!r}; "
        "{count} were chosen."
    )


class ServicesNotTogether(Invalid):
    code, field = "services_not_together", "extra_services"
    template = (
        "No desk at {point_id!r} offers {services} together in one {channel} visit; "
        "book them as separate visits."
    )


class VisitTooLong(Invalid):
    code, field = "visit_too_long", "extra_services"
    template = (
        "Together these matters, for this party, would take {minutes} minutes; "
        "one visit may last at most {max_minutes} minutes."
    )


class VideoTemplateInvalid(Invalid):
    """A point's own video room template that would not give each visit a room of its own."""

    code, field = "video_template_invalid", "video_url_template"
    template = "The video room template {problem}."
