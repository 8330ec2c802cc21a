"""Staff sessions and the brake on guessing passwords.

A session token (256 bits) is shown once and stored as a SHA-256 hash; it ends after
SESSION_IDLE_MINUTES without use, SESSION_HOURS after login at the latest, at logout, and when
the account is disabled. Failed logins are counted per account and per client address in
PostgreSQL (so every replica sees them): from the 3rd failure in 15 minutes each next try must
wait 1, 2, 4… seconds, and 5 failures per account (20 per address) lock it for 15 minutes.
"""

from __future__ import annotations

import datetime as dt
import math

import asyncpg
import msgspec

from core.tokens import new_token, token_hash
from core.uow import UnitOfWork
from staff.accounts import StaffMember, verify_password
from staff.errors import LoginRequired, SessionEnded, TooManyLogins, WrongPassword

IDLE = dt.timedelta(minutes=30)
ABSOLUTE = dt.timedelta(hours=12)
WINDOW = dt.timedelta(minutes=15)
SLOW_AFTER = 3
LOCK_AFTER = {"account": 5, "address": 20}
LOCK_FOR = dt.timedelta(minutes=15)
_TOUCH_EVERY = dt.timedelta(seconds=60)


class Session(msgspec.Struct, frozen=True):
    token: str
    csrf_token: str
    expires_at: dt.datetime
    staff: StaffMember


async def _wait_needed(conn: asyncpg.Connection, scope: str, key: str) -> int:
    """Seconds this account or address must still wait before its next try (0 = may try)."""
    row = await conn.fetchrow(
        """
        select count(*) as n, max(failed_at) as last, now() as now from login_failures
        where scope = $1 and key = $2 and failed_at > now() - $3::interval
        """,
        scope,
        key,
        WINDOW,
    )
    n, last, now = row["n"], row["last"], row["now"]
    if n >= LOCK_AFTER[scope]:
        return max(1, math.ceil((last + LOCK_FOR - now).total_seconds()))
    if n >= SLOW_AFTER:
        delay = dt.timedelta(seconds=2 ** (n - SLOW_AFTER))
        return max(0, math.ceil((last + delay - now).total_seconds()))
    return 0


async def log_in(
    pool: asyncpg.Pool | UnitOfWork, email: str, password: str, address: str
) -> Session:
    keys = {"account": email.strip().lower(), "address": address}
    async with pool.acquire() as conn:
        waits = [await _wait_needed(conn, scope, key) for scope, key in keys.items()]
        if max(waits) > 0:
            raise TooManyLogins(max(waits))
        row = await conn.fetchrow(
            """
            select a.id, a.email, a.role, a.password_hash, a.disabled_at, a.must_change_password,
                   coalesce(array_agg(p.point_id) filter (where p.point_id is not null), '{}')
                       as point_ids
            from staff_accounts a left join staff_points p on p.staff_id = a.id
            where lower(a.email) = $1 group by a.id
            """,
            keys["account"],
        )
        ok = verify_password(row["password_hash"] if row else None, password)
        if not ok or row["disabled_at"] is not None:
            await conn.executemany(
                "insert into login_failures (scope, key) values ($1, $2)", list(keys.items())
            )
            raise WrongPassword()
        token, csrf = new_token(), new_token()
        async with conn.transaction():
            await conn.execute(
                "delete from login_failures where scope = 'account' and key = $1",
                keys["account"],
            )
            expires = await conn.fetchval(
                """
                insert into staff_sessions (token_hash, staff_id, csrf_hash, expires_at)
                values ($1, $2, $3, now() + $4::interval) returning expires_at
                """,
                token_hash(token),
                row["id"],
                token_hash(csrf),
                ABSOLUTE,
            )
    staff = StaffMember(
        row["id"],
        row["email"],
        row["role"],
        frozenset(row["point_ids"]),
        row["must_change_password"],
    )
    return Session(token, csrf, expires, staff)


async def authenticate(pool: asyncpg.Pool, token: str | None) -> tuple[StaffMember, bytes]:
    """The staff member behind a live session token (and the session's CSRF hash), or 401."""
    if not token:
        raise LoginRequired()
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """
            select a.id, a.email, a.role, a.must_change_password, s.csrf_hash, s.last_seen_at,
                   now() as now,
                   coalesce(array_agg(p.point_id) filter (where p.point_id is not null), '{}')
                       as point_ids
            from staff_sessions s
            join staff_accounts a on a.id = s.staff_id
            left join staff_points p on p.staff_id = a.id
            where s.token_hash = $1 and s.revoked_at is null and s.expires_at > now()
              and s.last_seen_at > now() - $2::interval and a.disabled_at is null
            group by a.id, s.token_hash
            """,
            token_hash(token),
            IDLE,
        )
        if row is None:
            raise SessionEnded()
        if row["now"] - row["last_seen_at"] > _TOUCH_EVERY:
            await conn.execute(
                "update staff_sessions set last_seen_at = now() where token_hash = $1",
                token_hash(token),
            )
    staff = StaffMember(
        row["id"],
        row["email"],
        row["role"],
        frozenset(row["point_ids"]),
        row["must_change_password"],
    )
    return staff, bytes(row["csrf_hash"])


async def log_out(pool: asyncpg.Pool | UnitOfWork, token: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "update staff_sessions set revoked_at = now() "
            "where token_hash = $1 and revoked_at is null",
            token_hash(token),
        )
