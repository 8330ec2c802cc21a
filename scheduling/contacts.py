"""Whom a visitor can phone or write to about a point: its own contacts, else the network's.

Two points of the seeds give no phone or e-mail of their own (Chłopickiego 4, Tarnów). The seeds
say every point of the network was integrated with the INFO.OPT hotline and information
(seed 000: +48 12 210 20 20, info.opt@muw.pl; seed 003), so pages and mails name those instead
of nothing, and never the service's own no-reply sender.
"""

from __future__ import annotations

from collections.abc import Sequence

NETWORK_PHONES = ("+48 12 210 20 20",)
NETWORK_EMAILS = ("info.opt@muw.pl",)


def phones(own: Sequence[str] | None) -> list[str]:
    return list(own or ()) or list(NETWORK_PHONES)


def emails(own: Sequence[str] | None) -> list[str]:
    return list(own or ()) or list(NETWORK_EMAILS)
