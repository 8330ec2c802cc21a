"""Fair rules against slot trading, as ZMS has them: pure judgments over a visit and the clock.

Someone who books popular times to sell them cancels a visit at the moment a buyer books it,
or moves it again and again. Each offer (point_services, written by scheduling/admin.py) says:

- `change_cutoff_minutes`: less than this before the visit, it can no longer be moved or
  cancelled online; the visitor is told to call the point (who may still help);
- `max_moves`: how often one visit may be moved online (None: no limit);
- `late_cancel_minutes` and `release_delay_minutes`: a place freed less than the first before
  its visit (a cancellation, or a move away) returns to public booking only the second after;
  the waitlist is offered it first and staff may book it at once (booking/fair.py).

The edges: a change exactly at the cut-off is still allowed (it closes after that instant);
a place freed exactly `late_cancel_minutes` before is not late; a held-back place is public
again from the instant `until`.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from booking.domain.errors import ChangeCutOffPassed, MovesLimitReached


class FairRules(msgspec.Struct, frozen=True, kw_only=True):
    change_cutoff: dt.timedelta = dt.timedelta(0)
    max_moves: int | None = None
    late_cancel: dt.timedelta = dt.timedelta(hours=24)
    release_delay: dt.timedelta = dt.timedelta(0)
    #: the point's telephone, for "please call" (None when it has none)
    phone: str | None = None


def check_change(
    rules: FairRules, start: dt.datetime, now: dt.datetime, verb: str, *, moves: int = 0
) -> None:
    """Refuse an online change (`verb`: "moved" or "cancelled") the rules no longer allow."""
    if now > start - rules.change_cutoff:
        raise ChangeCutOffPassed(
            verb=verb, minutes=int(rules.change_cutoff.total_seconds() // 60), phone=rules.phone
        )
    if verb == "moved" and rules.max_moves is not None and moves >= rules.max_moves:
        raise MovesLimitReached(moves=rules.max_moves, phone=rules.phone)


def held_back_until(rules: FairRules, start: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """Until when a place of a visit at `start`, freed at `now`, stays out of public booking;
    None when it returns at once (freed in good time, or the offer has no delay)."""
    if rules.release_delay <= dt.timedelta(0) or start - now >= rules.late_cancel:
        return None
    return now + rules.release_delay
