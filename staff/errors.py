"""Staff's refusals: logging in, sessions, and what an account may touch (codes as everywhere:
core/errors.py; pages translate them in web/errors.py)."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized


class WrongPassword(Unauthorized):
    code, field = "wrong_password", "password"
    template = "The e-mail or password is wrong."


class LoginRequired(Unauthorized):
    code = "login_required"
    template = "Log in first: Authorization: Bearer <session token>."


class SessionEnded(Unauthorized):
    code = "session_ended"
    template = "The session has ended or is not valid; log in again."


class TooManyLogins(TooManyRequests):
    code, field = "too_many_logins", "password"
    type_slug = "too-many-login-attempts"
    template = "Too many failed logins; try again in {retry_after} {seconds}."

    def __init__(self, retry_after: int) -> None:
        seconds = "second" if retry_after == 1 else "seconds"
        super().__init__(retry_after=retry_after, seconds=seconds)


class NotYourPoint(Forbidden):
    code = "not_your_point"
    template = "Your account may not manage the point {point_id!r}."


class AdminOnly(Forbidden):
    code = "admin_only"
    template = "Only an administrator may do this."


class ControlCharacter(Invalid):
    """Names, labels and addresses reach mails and calendar files, whose TEXT holds no control
    character but HTAB (RFC 5545 3.3.11)."""

    code = "control_character"
    template = (
        "{where} contains the control character {character}; "
        "names, labels and addresses are plain text."
    )


class NonexistentHours(Invalid):
    code = "nonexistent_time"
    template = "{reason}"


class RuleDoesNotOccur(Invalid):
    """A rule whose weekdays or dates never fall within its validity range."""

    code, field = "rule_never_occurs", "rule"
    template = "{reason}"


class OpenDayNeedsTimes(Invalid):
    code, field = "open_day_needs_times", "opens"
    template = "An open day needs 'opens' and 'closes' (HH:MM)."


class NoSuchRule(NotFound):
    code = "no_such_rule"
    template = "The point {point_id!r} has no rule {rule_id!r}."


class PasswordChangeRequired(Forbidden):
    """The account still has the one-time password it was given; everything but changing it
    (and logging out) is refused."""

    code = "password_change_required"
    template = (
        "This account still has its one-time password; choose your own first: "
        "POST /api/v1/staff/me/password."
    )


class WrongCurrentPassword(Invalid):
    code, field = "wrong_current_password", "current_password"
    template = "The current password is wrong."


class PasswordTooShort(Invalid):
    code, field = "password_too_short", "new_password"
    template = "The new password must have {minimum} to {maximum} characters."


class PasswordUnchanged(Invalid):
    code, field = "password_unchanged", "new_password"
    template = "The new password must differ from the current one."


class NoSuchStaff(NotFound):
    code, field = "no_such_staff", "email"
    template = "There is no staff account {email!r}."


class AffectedVisitsNeedAChoice(Conflict):
    """A change would leave active visits outside the hours and the request did not say what
    becomes of them (`cancel_affected` absent): nothing was written. `count` and `visits`
    (reference, start, end, status, language, service_id, desk_id) say which."""

    code, field = "affected_visits_need_a_choice", "cancel_affected"
    template = (
        "This change leaves {count} active visit(s) outside the hours; nothing was saved. "
        "Send it again with cancel_affected=true to cancel them (each visitor is told and "
        "offered another time) or cancel_affected=false to keep them (flagged on the day sheet)."
    )


class SpecialDayExists(Conflict):
    """A special day of the same kind on the same date exists at the point already."""

    code, field = "special_day_exists", "date"
    template = (
        "The point already has {what} on {date} (rule {rule_id!r}); change or delete that one "
        "instead of adding it again."
    )


class NotASpecialDay(NotFound):
    code = "no_such_special_day"
    template = "The point {point_id!r} has no special day {rule_id!r}."
