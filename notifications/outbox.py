"""The outbox's SQL: claim a row with a lease, record how its send went, find what is due.

Claim, commit, send, record (migrations/0014_outbox_lease.sql). `claim` is one short UPDATE,
committed at once: it gives the row a random token and a lease (`claimed_until`) that outlasts
the bounded send, so two workers never send one row at the same time, and no lock or
transaction is held while SMTP talks. The `record_*` functions apply only while the row still
carries the caller's token: a worker whose lease ran out and whose row another worker claimed
since cannot overwrite that worker's result. A worker that dies mid-send leaves the row unsent
and leased; once the lease runs out the sweep (`due`) hands it to another: at least once.
"""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import asyncpg
import msgspec

_ERROR_LENGTH = 1000

CLAIM = """
with claimed as (
    update outbox o
       set claim_token = $2, claimed_until = now() + make_interval(secs => $3),
           claims = o.claims + 1
     where o.id = $1
       and o.sent_at is null and o.failed_at is null
       and o.due_at <= now()
       and (o.retry_at is null or o.retry_at <= now())
       and (o.claimed_until is null or o.claimed_until <= now())
       -- one visit's messages go out in order, per channel: not while an earlier one is
       -- being sent
       and not exists (
           select 1 from outbox e
            where e.booking_id = o.booking_id and e.id < o.id and e.channel = o.channel
              and e.sent_at is null and e.failed_at is null and e.claimed_until > now())
    returning o.*
)
select c.id, c.booking_id, c.kind, c.sequence as row_sequence, c.due_at, c.payload, c.attempts,
       c.claims, c.channel, c.parent_id,
       b.reference, b.point_id, b.starts_at, b.ends_at, b.language, b.mail_language, b.sequence,
       b.visitor_name, b.visitor_email, b.visitor_phone, b.notify_by, b.confirmed_at,
       b.hold_expires_at,
       visit_status(b.status, b.hold_expires_at) as status,
       exists (select 1 from outbox r
                where r.booking_id = c.booking_id and r.itip_method = 'REQUEST') as invited,
       p.names as point_names, p.address as point_address, p.timezone, p.emails as point_emails,
       s.names as service_names, s.what_to_bring,
       d.names as desk_names,
       -- `channel` is the outbox row's (email or sms); how the visit happens is visit_channel
       b.channel as visit_channel, b.party_size, b.video_url,
       (select coalesce(jsonb_agg(x.names order by e.n), '[]')
          from unnest(b.extra_services) with ordinality as e(id, n)
          join services x on x.id = e.id) as extra_service_names
  from claimed c
  join bookings b on b.id = c.booking_id
  join points p on p.id = b.point_id
  join services s on s.id = b.service_id
  left join desks d on d.point_id = b.point_id and d.id = b.desk_id
"""


class Claim(msgspec.Struct, frozen=True):
    """A row this worker holds: its id, the token its outcome is recorded with, and when the
    lease runs out on this process's event-loop clock (counted from before the claim was sent,
    so never later than PostgreSQL's own `claimed_until`)."""

    outbox_id: int
    token: UUID
    until: float


async def claim(
    conn: asyncpg.Connection, outbox_id: int, *, lease: float
) -> tuple[Claim, asyncpg.Record] | None:
    """Claim the row for `lease` seconds, committed before this returns (run it outside a
    transaction); the claim and the row with all a message needs (its `invited`: was this
    visit's REQUEST sent), or None when the row is not to be sent now (see `why_not_claimed`)."""
    token, asked_at = uuid4(), asyncio.get_running_loop().time()
    row = await conn.fetchrow(CLAIM, outbox_id, token, lease)
    return None if row is None else (Claim(outbox_id, token, asked_at + lease), row)


async def why_not_claimed(conn: asyncpg.Connection, outbox_id: int) -> str:
    row = await conn.fetchrow(
        """
        select o.sent_at is not null as sent, o.failed_at is not null as failed,
               o.due_at > now() as early, o.retry_at > now() as backing_off,
               o.claimed_until > now() as leased,
               exists (select 1 from outbox e
                        where e.booking_id = o.booking_id and e.id < o.id
                          and e.channel = o.channel
                          and e.sent_at is null and e.failed_at is null
                          and e.claimed_until > now()) as behind
          from outbox o where o.id = $1
        """,
        outbox_id,
    )
    if row is None:
        return "gone"  # its booking was deleted
    if row["sent"]:
        return "already sent"
    if row["failed"]:
        return "already failed"
    if row["early"]:
        return "not due"  # the sweep enqueues it again once it is
    if row["backing_off"]:
        return "backing off"  # its retry is queued; the sweep enqueues it too once it is due
    if row["leased"]:
        return "busy"  # another worker is sending it right now
    if row["behind"]:
        return "behind"  # an earlier message of the same visit is being sent
    return "claimable"  # freed between the claim and this look: the caller may try again


_RELEASE = "claim_token = null, claimed_until = null"


async def record_sent(
    conn: asyncpg.Connection, claim: Claim, *, itip_method: str | None = None
) -> bool:
    """Sent: count the try, note the iTIP method it carried, drop the confirmation token
    (secrets are not kept). False if the row is no longer this claim's."""
    return await _record(
        conn,
        f"""
        update outbox set sent_at = now(), attempts = attempts + 1, itip_method = $3,
                          payload = payload - 'token', {_RELEASE}
         where id = $1 and claim_token = $2
        """,
        claim,
        itip_method,
    )


async def record_skipped(conn: asyncpg.Connection, claim: Claim, reason: str) -> bool:
    """Done without a message (a reminder for a cancelled visit): sent, with the reason why."""
    return await _record(
        conn,
        f"""
        update outbox set sent_at = now(), last_error = $3, payload = payload - 'token',
                          {_RELEASE}
         where id = $1 and claim_token = $2
        """,
        claim,
        f"skipped: {reason}"[:_ERROR_LENGTH],
    )


async def record_failed(conn: asyncpg.Connection, claim: Claim, error: str) -> bool:
    """Never to be tried again: a 5xx answer, or a row no message can be made from."""
    return await _record(
        conn,
        f"""
        update outbox set failed_at = now(), attempts = attempts + 1, last_error = $3,
                          payload = payload - 'token', {_RELEASE}
         where id = $1 and claim_token = $2
        """,
        claim,
        error[:_ERROR_LENGTH],
    )


async def record_temporary_failure(
    conn: asyncpg.Connection, claim: Claim, error: str, *, max_attempts: int, retry_in: float
) -> tuple[int, bool] | None:
    """Count a failed try and hold the row back `retry_in` seconds; at `max_attempts` the row
    fails for good. (attempts, gave up), or None if the row is no longer this claim's."""
    row = await conn.fetchrow(
        f"""
        update outbox
           set attempts = attempts + 1,
               last_error = $3,
               failed_at = case when attempts + 1 >= $4 then now() end,
               retry_at = now() + make_interval(secs => $5),
               payload = case when attempts + 1 >= $4 then payload - 'token' else payload end,
               {_RELEASE}
         where id = $1 and claim_token = $2
        returning attempts, failed_at is not null as gave_up
        """,
        claim.outbox_id,
        claim.token,
        error[:_ERROR_LENGTH],
        max_attempts,
        retry_in,
    )
    return None if row is None else (row["attempts"], row["gave_up"])


async def _record(conn: asyncpg.Connection, sql: str, claim: Claim, value: object) -> bool:
    return await conn.execute(sql, claim.outbox_id, claim.token, value) == "UPDATE 1"


async def due(conn: asyncpg.Connection, *, max_attempts: int, limit: int) -> list[tuple[int, int]]:
    """(id, claims) of rows that should have gone out by now and are not being sent (never
    claimed, past their backoff, or with a lease that ran out), oldest first."""
    rows = await conn.fetch(
        """
        select id, claims from outbox
         where sent_at is null and failed_at is null and due_at <= now() and attempts < $1
           and (retry_at is null or retry_at <= now())
           and (claimed_until is null or claimed_until <= now())
         order by due_at, id
         limit $2
        """,
        max_attempts,
        limit,
    )
    return [(r["id"], r["claims"]) for r in rows]


async def add_sms(conn: asyncpg.Connection, outbox_id: int) -> int:
    """The SMS of the change row `outbox_id` was written for, as a row of its own (the same
    kind, SEQUENCE and payload), written once however often this is asked; its id."""
    created = await conn.fetchval(
        """
        insert into outbox (booking_id, kind, sequence, due_at, payload, channel, parent_id)
        select booking_id, kind, sequence, now(), payload, 'sms', id from outbox where id = $1
        on conflict (parent_id, channel) where parent_id is not null do nothing
        returning id
        """,
        outbox_id,
    )
    if created is not None:
        return created
    return await conn.fetchval(
        "select id from outbox where parent_id = $1 and channel = 'sms'", outbox_id
    )


#: Whether a visit's latest e-mail that was tried could not be delivered for good: a row
#: recorded failed, and no later one delivered (skipped rows say nothing about the address).
LAST_DELIVERY_FAILED = """
    coalesce((
        select o.failed_at is not null from outbox o
         where o.booking_id = {booking} and o.channel = 'email'
           and (o.failed_at is not null
                or (o.sent_at is not null and coalesce(o.last_error, '') not like 'skipped:%'))
         order by coalesce(o.failed_at, o.sent_at) desc, o.id desc
         limit 1), false)
"""


async def delivery_failed(conn: asyncpg.Connection, reference: str) -> bool:
    """Whether the last message to this visit's visitor could not be delivered for good (a
    5xx answer, an address no server takes): the pages then say so instead of "we sent"."""
    return bool(
        await conn.fetchval(
            "select "
            + LAST_DELIVERY_FAILED.format(booking="b.id")
            + " from bookings b where b.reference = $1",
            reference,
        )
    )
