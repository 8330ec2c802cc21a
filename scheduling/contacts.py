"""Whom a visitor can phone or write to about a point: its own contacts, else the network's.

Two points of the seeds give no phone or e-mail of their own (Chłopickiego 4, Tarnów). The seeds
say every point of the network was integrated with the INFO.OPT hotline and information
(seed 000: +48 12 210 20 20, info.opt@muw.pl; seed 003), so pages and mails name those instead
of nothing, and never the service's own no-reply sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

NETWORK_PHONES = ("+48 12 210 20 20",)
NETWORK_EMAILS = ("info.opt@muw.pl",)


def phones(own: Sequence[str] | None) -> list[str]:
    return list(own or ()) or list(NETWORK_PHONES)


def emails(own: Sequence[str] | None) -> list[str]:
    return list(own or ()) or list(NETWORK_EMAILS)


class Contacts(NamedTuple):
    phones: list[str]
    emails: list[str]
    network: bool
    """True when these are the network's (the point has none of its own)."""


def of(point: Any) -> Contacts:
    """A point's phones and e-mails; where it has neither, the network's."""
    if point.phones or point.emails:
        return Contacts(list(point.phones), list(point.emails), False)
    return Contacts(list(NETWORK_PHONES), list(NETWORK_EMAILS), True)
