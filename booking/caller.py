"""Who asks: what every booking use-case needs to know about the request it serves.

The JSON API and the pages build a `Caller` the same way (booking/api.py `provide_caller`),
so the same limits apply whichever way a visitor comes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar.di import NamedDependency

from booking import pow
from booking.domain.errors import EmailInvalid, EmailMixedScripts, ProofOfWorkUsed
from core.ratelimit import RateLimits, check_at_once
from core.settings import Settings
from core.uow import UnitOfWork

if TYPE_CHECKING:
    from booking.schemas import BookingCreate


@dataclass(frozen=True)
class Caller:
    """Who asks, as the use-cases need it: the request's unit of work, the app's settings and
    shared limits, and the client's address (for per-address limits)."""

    uow: UnitOfWork
    settings: Settings
    limits: RateLimits | None
    redis: Any
    address: str
    #: the process's group commit of draw entries (booking/draw_batch.py); None: one by one
    draws: Any = None

    @property
    def hold(self) -> dt.timedelta:
        """How long a held visit waits for its confirmation (HOLD_MINUTES)."""
        return dt.timedelta(minutes=self.settings.hold_minutes)

    async def limit(self, action: str, *, person: str | None = None, address: bool = True) -> None:
        if self.limits is not None:
            await self.limits.check(
                action, address=self.address if address else None, person=person
            )

    async def limit_booking(
        self, data: BookingCreate, key: str, altcha: str | None, *, person: str
    ) -> None:
        """A booking's (or a draw entry's) rate limits and proof of work, in one Redis round
        trip (core/ratelimit.py `check_at_once`), in the order they always had:

        1. the client address's counters (a 429 here comes before any 422 of the proof);
        2. the proof of work, when the point needs one: its cryptographic check here in Python
           first (a request that did not do the work gets its 422, and only the address was
           counted), then its single use, a marker in Redis (another request's solution: 422
           "already used");
        3. only then the person's counter: a request that did not do the work never spends a
           person's limit, else anyone could lock a stranger out by naming their e-mail.

        Whether the point needs a proof and the key of challenges are read in PostgreSQL, in
        one query, before the Redis call (they were read in two, between the address's
        counters and the marker): a request the address's limit refuses costs that read too.
        Redis down: the counters fail open, a proof that cannot be marked is a 503.
        """
        marker = None
        if self.settings.proof_of_work:
            conn = await self.uow.connection()
            key_of_challenges = await pow.key_if_needed(conn, data.point_id, True)
            if key_of_challenges is not None:
                try:
                    marker = pow.verified(
                        key_of_challenges,
                        data.point_id,
                        altcha,
                        # the same request sent again (same Idempotency-Key and body) may
                        # carry the same solution: the booking's idempotency answers it
                        request=pow.request_tag(key, data),
                    )
                except pow.NOT_DONE:
                    await check_at_once(
                        self.redis, self.limits, "booking", address=self.address, person=None
                    )
                    raise
        fresh = await check_at_once(
            self.redis,
            self.limits,
            "booking",
            address=self.address,
            person=person,
            single_use=marker,
        )
        if not fresh:
            raise ProofOfWorkUsed()


#: Scripts one writing system mixes as a matter of course (Japanese: kanji, hiragana, katakana).
_ONE_WRITING_SYSTEM = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK"}


def valid_email(address: str) -> str:
    """The address, normalised, if mail can reach it; EmailInvalid or EmailMixedScripts if not.

    Internationalised addresses (`олена@приклад.укр`) are valid and are sent with SMTPUTF8 and
    IDNA (notifications/mailer.py, transport.py). What is refused is a local part or domain
    label whose letters come from two alphabets (`оksana@gmail.com`, the first letter
    Cyrillic): a keyboard slip no mailbox matches, which would otherwise fail silently later.
    """
    import unicodedata

    from email_validator import EmailNotValidError, validate_email

    try:
        normalized = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as e:
        raise EmailInvalid(reason=str(e)) from e
    local, _, domain = normalized.rpartition("@")
    start = 0
    for part in [local, *domain.split(".")]:
        scripts: dict[str, list[int]] = {}
        for i, char in enumerate(part):
            if char.isalpha():  # the script is the first word of the letter's Unicode name
                script = unicodedata.name(char, "UNKNOWN").split()[0]
                script = _ONE_WRITING_SYSTEM.get(script, script)
                scripts.setdefault(script, []).append(start + i)
        if len(scripts) > 1:
            # the odd letter: the first one of the alphabet with the fewest letters
            script, places = min(scripts.items(), key=lambda item: (len(item[1]), item[1][0]))
            at = places[0]
            raise EmailMixedScripts(
                letter=normalized[at], position=at + 1, script=script.capitalize()
            )
        start += len(part) + 1
    return normalized


def token_key(reference: str, token: str | None) -> str:
    """The per-visit limit counts each (reference, token) apart: the reference is not secret
    (mail subjects, feeds), so a stranger's wrong tokens must not spend the owner's budget."""
    digest = hashlib.sha256((token or "").encode()).hexdigest()[:16]
    return f"{reference}:{digest}"


#: A handler's parameter for the use-cases' caller (booking/api.py provides it as `caller`).
CallerDep = NamedDependency[Caller]
