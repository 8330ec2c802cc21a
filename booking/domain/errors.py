"""Every refusal of the booking domain, with a stable code and the parameters its sentence needs.

The English templates are the API's `detail`; pages translate by `code` (web/errors.py), and
API clients branch on `code` (in every problem+json body). Codes never change meaning; a new
refusal gets a new class.
"""

from __future__ import annotations

from core.errors import Conflict, Gone, Invalid, NotFound, Unauthorized

# ---------------------------------------------------------------------------- the time asked for


class StartMalformed(Invalid):
    code, field = "start_malformed", "start"
    template = "'start' is not a date and time: {value!r}."


class InDstGap(Invalid):
    code, field = "dst_gap", "start"
    template = (
        "{time} does not exist in {timezone}: the clocks move forward that night. "
        "Choose another time."
    )


class InPast(Invalid):
    code, field = "in_past", "start"
    template = "This time is in the past."


class TooSoon(Invalid):
    code, field = "too_soon", "start"
    template = "This time is too soon: visits must be booked at least {minutes} minutes ahead."


class TooFar(Invalid):
    code, field = "too_far", "start"
    template = "This time is too far ahead: visits can be booked up to {days} days ahead."


class NotPublished(Invalid):
    code, field = "not_published", "start"
    template = "Visits on {day} are not published yet; they can be booked from {opens}."


class OffGrid(Invalid):
    code, field = "off_grid", "start"
    template = (
        "Visits for this service start every {step} minutes from the opening time; "
        "{time} is not one of them."
    )


class PointClosed(Invalid):
    code, field = "point_closed", "start"
    template = "The point is closed on {day}."


class OutsideHours(Invalid):
    code, field = "outside_hours", "start"
    template = (
        "{time} is outside the opening hours on {day} ({hours}), or no desk that speaks "
        "{language!r} is free then."
    )


class SlotTaken(Conflict):
    code, field = "slot_taken", "start"
    template = "This time has just been taken. Please choose another."


class StepFreeUnavailable(Conflict):
    """The visit asks for step-free access and every desk free at this time is known not to
    have it (desks.step_free false, e.g. a first-floor room)."""

    code, field = "step_free_unavailable", "needs"
    template = (
        "No desk with step-free access is free at this time. Please choose another time, or "
        "phone the point."
    )


# ---------------------------------------------------------------------------- what and who


class UnknownPoint(Invalid):
    """In a request body (a 422); an unknown point in a path is scheduling's 404."""

    code, field = "unknown_point", "point_id"
    template = "There is no point with id {point_id!r}."


class ServiceNotOffered(Invalid):
    code, field = "service_not_offered", "service_id"
    template = "The point {point_id!r} does not offer a service {service_id!r}."


class UnknownLanguage(Invalid):
    code, field = "unknown_language", "language"
    template = "Unknown language {language!r}; use one of {languages}."


class LanguageNotOffered(Invalid):
    code, field = "language_not_offered", "language"
    template = (
        "The service {service_id!r} is not offered in {language!r} here; "
        "it is offered in {offered}."
    )


class EmailInvalid(Invalid):
    code, field = "email_invalid", "visitor.email"
    template = "The e-mail address is not valid: {reason}"


class EmailMixedScripts(Invalid):
    """A letter of another alphabet among the others (a Cyrillic "о" among Latin letters, one
    keyboard switch away): no mailbox has such an address, so nothing could be sent there.
    `letter` is that letter, `position` its place in the address (1 = the first character)."""

    code, field = "email_mixed_scripts", "visitor.email"
    template = (
        "The e-mail address mixes alphabets: the letter {letter!r} at position {position} is "
        "{script}, the letters around it are not. Type it again with one keyboard layout."
    )


class PhoneInvalid(Invalid):
    code, field = "phone_invalid", "visitor.phone"
    template = "The phone number is not valid: {reason}."


class PhoneNotMobile(Invalid):
    """A real number, but not a mobile one (a landline, a toll-free line): no SMS reaches it."""

    code, field = "phone_not_mobile", "visitor.phone"
    template = "This is not a mobile phone number, so it cannot receive SMS."


class SmsNeedsPhone(Invalid):
    code, field = "sms_needs_phone", "visitor.phone"
    template = "To be told by SMS, give a mobile phone number."


class ContactMissing(Invalid):
    """Staff book without an e-mail (booking/staff_booking.py): the point must be able to
    reach the visitor, so a phone number is needed then."""

    code, field = "contact_missing", "visitor.phone"
    template = "Without an e-mail address, give the visitor's phone number."


class PerPersonLimit(Conflict):
    code, field = "per_person_limit", "visitor.email"
    type_slug = "per-person-limit"
    template = (
        "You already have an active visit at this point. Cancel or move it, or wait until it "
        "has taken place."
    )


class PhoneRequired(Invalid):
    """A phone visit is a call the consultant makes: without a number nobody can be called."""

    code, field = "phone_required", "visitor.phone"
    template = "A phone visit needs the phone number the consultant should call at the booked time."


class DrawPlainVisitsOnly(Invalid):
    """The draw of a release's first minutes allots one matter, for one person, on site."""

    code, field = "draw_plain_visits_only", "channel"
    template = (
        "In the first minutes after {day} is published, its visits are drawn by lot, and the "
        "draw takes only on-site visits for one person and one matter. Enter it with one, "
        "or book this visit once the draw has closed ({closes})."
    )


# ---------------------------------------------------------------------------- the request itself


class IdempotencyKeyMissing(Invalid):
    code, field = "idempotency_key_missing", "Idempotency-Key"
    template = (
        "An Idempotency-Key header (1 to 200 characters, e.g. a UUID) is required, "
        "so a retried request cannot book twice."
    )


class IdempotencyKeyReused(Invalid):
    code, field = "idempotency_key_reused", "Idempotency-Key"
    template = (
        "This Idempotency-Key was already used for a different request; "
        "use a new key for a new booking."
    )


class ProofOfWorkMissing(Invalid):
    code, field = "proof_of_work_missing", "Altcha"
    template = (
        "A proof of work is required: get a challenge from /api/v1/challenge and send the "
        "solution in the Altcha header."
    )


class ProofOfWorkExpired(Invalid):
    code, field = "proof_of_work_expired", "Altcha"
    template = "The proof of work is expired; solve a new challenge."


class ProofOfWorkInvalid(Invalid):
    code, field = "proof_of_work_invalid", "Altcha"
    template = "The proof of work is not valid for this point; solve a new challenge."


class ProofOfWorkUsed(Invalid):
    code, field = "proof_of_work_used", "Altcha"
    template = "This proof of work was already used; solve a new challenge."


# ---------------------------------------------------------------------------- an existing visit


class ManageTokenMissing(Unauthorized):
    code = "manage_token_missing"
    template = "This needs the visit's manage token: Authorization: Bearer <token>."


class VisitNotFound(NotFound):
    """A reference and token that do not belong together; says nothing about which is wrong."""

    code = "visit_not_found"
    template = "No visit with this reference and token."


class ConfirmLinkInvalid(NotFound):
    code = "confirm_link_invalid"
    template = "No visit with this reference and confirmation link."


class VisitCancelled(Gone):
    """The link belongs to a visit that was cancelled (by its visitor or by the office)."""

    code = "visit_cancelled"
    template = "This visit was cancelled, so it cannot be confirmed any more."


class HoldExpired(Gone):
    code = "hold_expired"
    template = (
        "This visit was held for you, but it was not confirmed in time and the time was "
        "released. Please book again."
    )


class AlreadyStarted(Conflict):
    code = "already_started"
    template = "The visit has already started, so it cannot be {verb} online."


def _contact(phone: str | None) -> str:
    return f"call the point: {phone}" if phone else "contact the point"


class ChangeCutOffPassed(Conflict):
    """Fair rules (booking/domain/fair.py): changes close `minutes` before the visit."""

    code = "change_cutoff_passed"
    template = (
        "This visit can no longer be {verb} online: changes close {minutes} minutes before "
        "the visit. Please {contact}."
    )

    def __init__(self, *, verb: str, minutes: int, phone: str | None) -> None:
        super().__init__(verb=verb, minutes=minutes, phone=phone, contact=_contact(phone))


class MovesLimitReached(Conflict):
    """Fair rules (booking/domain/fair.py): a visit may be moved online `moves` times."""

    code = "moves_limit_reached"
    template = (
        "This visit has been moved {moves} times, as often as it may be moved online. "
        "Please {contact}."
    )

    def __init__(self, *, moves: int, phone: str | None) -> None:
        super().__init__(moves=moves, phone=phone, contact=_contact(phone))


class NoSuchVisit(NotFound):
    """Staff asked for a reference that does not exist."""

    code = "no_such_visit"
    template = "There is no visit {reference!r}."


class CheckInNotToday(Conflict):
    code = "check_in_not_today"
    template = "The visit is on {day}; it can be checked in on that day."


class NoShowTooEarly(Conflict):
    code = "no_show_too_early"
    template = "The visit has not started yet, so the visitor cannot be a no-show."


# ---------------------------------------------------------------------------- draw and waitlist


class AlreadyInDraw(Conflict):
    code = "already_in_draw"
    template = "You are already in the draw for {day}; one entry per person."


class DrawTokenMissing(Unauthorized):
    code = "draw_token_missing"
    template = "This needs the draw entry's token: Authorization: Bearer <token>."


class DrawEntryNotFound(NotFound):
    code = "draw_entry_not_found"
    template = "No draw entry with this id and token."


class WaitlistTokenMissing(Unauthorized):
    code = "waitlist_token_missing"
    template = "This needs the waitlist entry's token: Authorization: Bearer <token>."


class WaitlistEntryNotFound(NotFound):
    code = "waitlist_entry_not_found"
    template = "No waitlist entry with this id and token."


class WaitlistDaysReversed(Invalid):
    code, field = "waitlist_days_reversed", "last_day"
    template = "'last_day' is before 'first_day'."


class WaitlistDaysPast(Invalid):
    code, field = "waitlist_days_past", "first_day"
    template = "'first_day' is in the past."


class WaitlistTooLong(Invalid):
    code, field = "waitlist_too_long", "last_day"
    template = "A waitlist entry may span at most {days} days."
