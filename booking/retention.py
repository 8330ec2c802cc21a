"""Personal data is kept only as long as it is needed, in every table that holds any.

What is forgotten, and when (PERSONAL_DATA below lists every column, NOT_PERSONAL the columns
whose names only look personal; a test compares both lists with the schema):

- **visits** (`bookings`) that ended more than RETENTION_DAYS ago lose the visitor's name,
  e-mail, e-mail key, phone, notes, needs (a need such as a sign-language interpreter can say
  something about a person's health) and the confirmation token's hash; their **outbox** rows
  lose their payload (tokens, the previous time) and last error (an SMTP answer often repeats
  the address). The row stays, anonymous: point, service, desk, time, language, status.
- **draw entries** whose released day ended, and **waitlist entries** whose last day ended,
  more than RETENTION_DAYS ago lose the same personal columns and keep their anonymous facts
  (how many entered a day's draw, in which language, how many won; how many waited and were
  offered a slot), which are what shows the draw is fair and where visits are short. Their
  rows are kept rather than deleted for that, and so that a visit's link to the draw entry or
  waitlist entry it came from stays. Their token hashes stay, as a visit's manage token hash
  does: a hash of a random secret names no one, and the holder of the link sees only the
  anonymous rest.
- **idempotency keys** are deleted 24 hours after they were made: a key only has to outlive a
  client's retries of one request (minutes), and its row holds the sealed answer (the
  visitor's details and manage token) and a hash of the request (the visitor's details). A
  retry more than a day later books anew, as after any other key's end (Stripe keeps its
  keys 24 hours for the same reason).
- **failed logins** are deleted after a day (they hold an e-mail or a client's IP address); the
  brake in staff/sessions.py looks back 15 minutes and locks for 15 minutes, far shorter.
- **staff sessions** are deleted a day after they ended (expired, revoked, or idle for a day;
  staff/sessions.py ends them after 30 idle minutes or 12 hours).

Staff accounts' e-mails, the audit log (who changed what, with the changing staff member's
e-mail: the point's record of its own work, which names no visitor) and feed token labels are
kept while the account, the point or the token exists; points' addresses and contacts are an
office's, not a person's.

Each step runs in batches of BATCH rows, each batch its own short transaction that finds its
rows through an index fitting its filter (migrations 0013, 0050), and skips rows a live
transaction holds (they are taken on the next run), so a purge over a year of visits never
holds a long transaction, never reads a whole table, and never blocks a booking. A new
visit's reference meeting a visit a batch is anonymising does not wait for it either (the
trigger of migration 0050 reads the reference without waiting and draws another). Run it on a
connection outside a transaction (the worker's daily job and `wizyta purge` do).
"""

from __future__ import annotations

import logging

import asyncpg
import msgspec

logger = logging.getLogger("wizyta.retention")

BATCH = 1000

#: Every column that may hold personal data: (table, column) -> what happens to it.
PERSONAL_DATA: dict[tuple[str, str], str] = {
    ("bookings", "visitor_name"): "emptied RETENTION_DAYS after the visit",
    ("bookings", "visitor_email"): "emptied RETENTION_DAYS after the visit",
    ("bookings", "visitor_email_key"): "emptied RETENTION_DAYS after the visit",
    ("bookings", "visitor_phone"): "emptied RETENTION_DAYS after the visit",
    ("bookings", "notes"): "emptied RETENTION_DAYS after the visit",
    ("bookings", "needs"): "emptied RETENTION_DAYS after the visit",
    ("bookings", "confirm_token_hash"): "emptied RETENTION_DAYS after the visit",
    ("bookings", "manage_token_hash"): "kept: a hash of a random secret, names no one",
    ("outbox", "payload"): "row deleted with its visit once sent or failed, else emptied",
    ("outbox", "last_error"): "row deleted with its visit once sent or failed, else emptied",
    ("draw_entries", "visitor_name"): "emptied RETENTION_DAYS after the day",
    ("draw_entries", "visitor_email"): "emptied RETENTION_DAYS after the day",
    ("draw_entries", "visitor_email_key"): "emptied RETENTION_DAYS after the day",
    ("draw_entries", "visitor_phone"): "emptied RETENTION_DAYS after the day",
    ("draw_entries", "notes"): "emptied RETENTION_DAYS after the day",
    ("draw_entries", "needs"): "emptied RETENTION_DAYS after the day",
    ("draw_entries", "token_hash"): "kept: a hash of a random secret, names no one",
    ("waitlist", "visitor_name"): "emptied RETENTION_DAYS after the last day",
    ("waitlist", "visitor_email"): "emptied RETENTION_DAYS after the last day",
    ("waitlist", "visitor_email_key"): "emptied RETENTION_DAYS after the last day",
    ("waitlist", "token_hash"): "kept: a hash of a random secret, names no one",
    ("idempotency_keys", "key_hash"): "row deleted after 24 hours",
    ("idempotency_keys", "request_hash"): "row deleted after 24 hours",
    ("idempotency_keys", "response"): "row deleted after 24 hours",
    ("login_failures", "key"): "row deleted after a day",
    ("staff_sessions", "token_hash"): "row deleted a day after the session ended",
    ("staff_sessions", "csrf_hash"): "row deleted a day after the session ended",
    ("staff_accounts", "email"): "kept while the account exists",
    ("staff_accounts", "password_hash"): "kept while the account exists",
    ("audit_log", "staff_email"): "kept: the point's record of its staff's work",
    ("audit_log", "before"): "kept: configuration and visit statuses, no visitor's data",
    ("audit_log", "after"): "kept: configuration and visit statuses, no visitor's data",
    ("feed_tokens", "label"): "kept while the token exists: staff's own words",
    ("feed_tokens", "token_hash"): "kept while the token exists: names no one",
    ("kiosk_devices", "label"): "kept while the kiosk exists: where it stands, staff's words",
    ("kiosk_devices", "token_hash"): "kept while the kiosk exists: names no one",
}

#: Columns whose names look personal but hold an office's or the system's data.
NOT_PERSONAL: dict[tuple[str, str], str] = {
    ("outbox", "claim_token"): "a worker's random lease id (notifications/outbox.py)",
    ("bookings", "mail_language"): "the e-mails' language: as anonymous as the visit's language",
    ("draw_entries", "mail_language"): "the e-mails' language: as anonymous as its language",
    ("points", "names"): "the office's names",
    ("points", "address"): "the office's address",
    ("points", "phones"): "the office's phones",
    ("points", "emails"): "the office's e-mail addresses",
    ("services", "names"): "a service's names",
    ("desks", "names"): "a desk's names",
    ("point_premises", "notes"): "an office's notes on its premises' accessibility",
    ("calendar_rules", "labels"): "an opening rule's names (an open Saturday, a holiday)",
    ("bookings", "manage_token_issued"): "a flag",
    ("feed_tokens", "show_names"): "a flag",
    ("point_services", "per_person_limit"): "a number",
    ("point_services", "extra_person_minutes"): "a number",
    ("staff_accounts", "must_change_password"): "a flag",
    ("staff_accounts", "password_changed_at"): "when, not what",
    ("app_secrets", "name"): "which server secret",
    ("schema_migrations", "name"): "a migration file's name",
}


class Forgotten(msgspec.Struct, frozen=True, kw_only=True):
    """How many rows of each table one purge anonymised or deleted."""

    visits: int = 0
    outbox: int = 0  # sent or failed rows of anonymised visits, deleted
    draw_entries: int = 0
    waitlist: int = 0
    idempotency_keys: int = 0
    login_failures: int = 0
    staff_sessions: int = 0


#: What a visit keeps of its visitor once forgotten: nothing (the purge and an erasure alike).
_FORGET_VISIT = """
    visitor_name = null, visitor_email = null, visitor_email_key = null, visitor_phone = null,
    notes = null, needs = '{}', confirm_token_hash = null, purged_at = now(), updated_at = now()
"""
_FORGET_ENTRY = """
    visitor_name = null, visitor_email = null, visitor_email_key = null, visitor_phone = null,
    notes = null, needs = '{}', purged_at = now()
"""

_VISITS = f"""
with purged as (
    update bookings
       set {_FORGET_VISIT}
     where id in (select id from bookings
                   where purged_at is null and ends_at < now() - make_interval(days => $1)
                   order by ends_at limit $2 for update skip locked)
    returning id
), done as (
    delete from outbox
     where booking_id in (select id from purged)
       and (sent_at is not null or failed_at is not null)
    returning 1
), emptied as (
    update outbox set payload = '{{}}', last_error = null
     where booking_id in (select id from purged)
       and sent_at is null and failed_at is null
       and (payload <> '{{}}' or last_error is not null)
)
select (select count(*) from purged), (select count(*) from done)
"""

# Sent or failed outbox rows of visits an earlier purge anonymised (earlier purges kept them):
# a backlog, gone after the first runs; then the outbox holds only the messages of visits
# within the retention period and ahead, so this scan stays small however many years pass.
_OUTBOX_DONE = """
with gone as (
    delete from outbox
     where id in (select o.id from outbox o join bookings b on b.id = o.booking_id
                   where (o.sent_at is not null or o.failed_at is not null)
                     and b.purged_at is not null
                   limit $1 for update of o skip locked)
    returning 1
)
select count(*) from gone
"""

# What an earlier purge left of a visit it anonymised (it kept needs), and outbox rows of an
# anonymised visit that still say something (earlier purges kept last_error).
_VISITS_LEFT = """
with purged as (
    update bookings set needs = '{}'
     where id in (select id from bookings where purged_at is not null and needs <> '{}'
                   limit $1 for update skip locked)
    returning 1
)
select count(*) from purged
"""

_OUTBOX_LEFT = """
with emptied as (
    update outbox set payload = '{}', last_error = null
     where id in (select o.id from outbox o join bookings b on b.id = o.booking_id
                   where b.purged_at is not null
                     and (o.payload <> '{}' or o.last_error is not null)
                   limit $1 for update of o skip locked)
    returning 1
)
select count(*) from emptied
"""

_DRAW_ENTRIES = f"""
with purged as (
    update draw_entries
       set {_FORGET_ENTRY}
     where id in (select id from draw_entries
                   where purged_at is null and day < (now() - make_interval(days => $1))::date
                   order by day limit $2 for update skip locked)
    returning 1
)
select count(*) from purged
"""

_WAITLIST = """
with purged as (
    update waitlist
       set visitor_name = null, visitor_email = null, visitor_email_key = null,
           purged_at = now()
     where id in (select id from waitlist
                   where purged_at is null
                     and last_day < (now() - make_interval(days => $1))::date
                   order by last_day limit $2 for update skip locked)
    returning 1
)
select count(*) from purged
"""

_IDEMPOTENCY_KEYS = """
with gone as (
    delete from idempotency_keys
     where key_hash in (select key_hash from idempotency_keys
                         where created_at < now() - interval '24 hours'
                         limit $1 for update skip locked)
    returning 1
)
select count(*) from gone
"""

_LOGIN_FAILURES = """
with gone as (
    delete from login_failures
     where id in (select id from login_failures where failed_at < now() - interval '1 day'
                   limit $1 for update skip locked)
    returning 1
)
select count(*) from gone
"""

_STAFF_SESSIONS = """
with gone as (
    delete from staff_sessions
     where token_hash in (select token_hash from staff_sessions
                           where expires_at < now() - interval '1 day'
                              or revoked_at < now() - interval '1 day'
                              or last_seen_at < now() - interval '1 day'
                           limit $1 for update skip locked)
    returning 1
)
select count(*) from gone
"""


async def _in_batches(conn: asyncpg.Connection, sql: str, *args: object, batch: int) -> int:
    """Run `sql` (its last parameter is the batch size) until a batch is not full."""
    return (await _counted_batches(conn, sql, *args, batch=batch))[0]


async def _counted_batches(
    conn: asyncpg.Connection, sql: str, *args: object, batch: int
) -> list[int]:
    """`_in_batches` for a statement answering several counts, the first the batch's rows."""
    totals: list[int] = []
    while True:
        async with conn.transaction():
            row = await conn.fetchrow(sql, *args, batch)
        totals = [t + n for t, n in zip(totals or [0] * len(row), row, strict=True)]
        if row[0] < batch:
            return totals


async def forget(conn: asyncpg.Connection, retention_days: int, *, batch: int = BATCH) -> Forgotten:
    """Anonymise or delete whatever personal data has outlived its use (see the module)."""
    visits, outbox = await _counted_batches(conn, _VISITS, retention_days, batch=batch)
    await _in_batches(conn, _VISITS_LEFT, batch=batch)
    outbox += await _in_batches(conn, _OUTBOX_DONE, batch=batch)
    await _in_batches(conn, _OUTBOX_LEFT, batch=batch)
    forgotten = Forgotten(
        visits=visits,
        outbox=outbox,
        draw_entries=await _in_batches(conn, _DRAW_ENTRIES, retention_days, batch=batch),
        waitlist=await _in_batches(conn, _WAITLIST, retention_days, batch=batch),
        idempotency_keys=await _in_batches(conn, _IDEMPOTENCY_KEYS, batch=batch),
        login_failures=await _in_batches(conn, _LOGIN_FAILURES, batch=batch),
        staff_sessions=await _in_batches(conn, _STAFF_SESSIONS, batch=batch),
    )
    if forgotten != Forgotten():
        logger.info("personal data forgotten: %s", msgspec.structs.asdict(forgotten))
    return forgotten


_ONE_VISIT = f"""
with purged as (
    update bookings set {_FORGET_VISIT} where id = $1 returning id, waitlist_id
), emptied as (
    update outbox set payload = '{{}}', last_error = null where booking_id = $1
), drawn as (
    update draw_entries set {_FORGET_ENTRY} where booking_id = $1
), waited as (
    update waitlist
       set visitor_name = null, visitor_email = null, visitor_email_key = null,
           purged_at = now()
     where booking_id = $1 or id = (select waitlist_id from purged)
), keys as (
    delete from idempotency_keys where booking_id = $1
)
select count(*) from purged
"""


async def forget_visit(conn: asyncpg.Connection, booking_id: object) -> bool:
    """Erase one visitor's personal data now (GDPR art. 17, booking/privacy.py): the visit, its
    messages' payloads and errors, the draw or waitlist entry it came from, and the idempotency
    key whose sealed answer holds their details, as the purge does after RETENTION_DAYS. The
    anonymous row stays (point, service, time, language, status), as the office's figures need.
    Its messages not sent yet are then skipped by the worker (notifications/mailer.py)."""
    return bool(await conn.fetchval(_ONE_VISIT, booking_id))


async def purge_personal_data(conn: asyncpg.Connection, retention_days: int) -> int:
    """Forget what has outlived its use (see the module); return how many visits were
    anonymised now (the CLI and the worker report that figure)."""
    return (await forget(conn, retention_days)).visits
