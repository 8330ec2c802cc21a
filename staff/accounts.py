"""Staff accounts: argon2id password hashes, roles, the points a staff member may manage."""

from __future__ import annotations

import secrets
from uuid import UUID

import asyncpg
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's second recommended option (argon2id, 64 MiB, t=3).
_hasher = PasswordHasher()
# Verifying against this when the e-mail is unknown takes as long as a real check, so timing
# does not reveal which e-mails have accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class StaffMember(msgspec.Struct, frozen=True):
    id: UUID
    email: str
    role: str
    point_ids: frozenset[str]
    must_change_password: bool = False
    """The password is a one-time one (from `staff add` or a reset): every other request is
    refused (403 password_change_required) until the member chooses their own."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_manage(self, point_id: str) -> bool:
        return self.is_admin or point_id in self.point_ids


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


MIN_PASSWORD = 12
MAX_PASSWORD = 1000


def new_password() -> str:
    """A one-time password to hand over; 96 random bits, easy to type."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


async def add_staff(
    conn: asyncpg.Connection,
    email: str,
    role: str,
    point_ids: list[str],
    password: str,
    *,
    one_time: bool = False,
) -> UUID:
    """Add (or re-add) an account; `one_time`: the password must be changed at first login."""
    if role not in ("admin", "staff"):
        raise ValueError("role must be admin or staff")
    async with conn.transaction():
        known = await conn.fetch("select id from points where id = any($1::text[])", point_ids)
        missing = set(point_ids) - {r["id"] for r in known}
        if missing:
            raise ValueError(f"unknown point(s): {', '.join(sorted(missing))}")
        staff_id = await conn.fetchval(
            """
            insert into staff_accounts (email, password_hash, role, must_change_password)
            values ($1, $2, $3, $4)
            on conflict (lower(email)) do update
               set password_hash = excluded.password_hash, role = excluded.role,
                   must_change_password = excluded.must_change_password, disabled_at = null
            returning id
            """,
            email.strip(),
            hash_password(password),
            role,
            one_time,
        )
        await conn.execute("delete from staff_points where staff_id = $1", staff_id)
        await conn.executemany(
            "insert into staff_points (staff_id, point_id) values ($1, $2)",
            [(staff_id, p) for p in point_ids],
        )
        await revoke_sessions(conn, staff_id)
    return staff_id


async def disable_staff(conn: asyncpg.Connection, staff_id: UUID) -> None:
    """A disabled account's sessions end at once."""
    async with conn.transaction():
        await conn.execute("update staff_accounts set disabled_at = now() where id = $1", staff_id)
        await revoke_sessions(conn, staff_id)


async def revoke_sessions(conn: asyncpg.Connection | asyncpg.Pool, staff_id: UUID) -> None:
    await conn.execute(
        "update staff_sessions set revoked_at = now() where staff_id = $1 and revoked_at is null",
        staff_id,
    )


async def change_password(
    conn: asyncpg.Connection, staff_id: UUID, current: str, new: str, keep_session: bytes
) -> None:
    """The member's own change: the current password must be right, the new one at least
    MIN_PASSWORD characters and not the current one. Every other session of the account ends
    (a password that leaked stops working everywhere); `keep_session` is the asker's own."""
    from staff.errors import PasswordTooShort, PasswordUnchanged, WrongCurrentPassword

    if len(new) < MIN_PASSWORD or len(new) > MAX_PASSWORD:
        raise PasswordTooShort(minimum=MIN_PASSWORD, maximum=MAX_PASSWORD)
    async with conn.transaction():
        stored = await conn.fetchval(
            "select password_hash from staff_accounts where id = $1 for update", staff_id
        )
        if not verify_password(stored, current):
            raise WrongCurrentPassword()
        if new == current:
            raise PasswordUnchanged()
        await conn.execute(
            """
            update staff_accounts set password_hash = $2, must_change_password = false,
                   password_changed_at = now()
            where id = $1
            """,
            staff_id,
            hash_password(new),
        )
        await conn.execute(
            """
            update staff_sessions set revoked_at = now()
            where staff_id = $1 and revoked_at is null and token_hash <> $2
            """,
            staff_id,
            keep_session,
        )


async def reset_password(conn: asyncpg.Connection, email: str) -> tuple[UUID, str]:
    """An administrator's reset: a new one-time password (returned once, to hand over), to be
    changed at the next login; the account's sessions end. NoSuchStaff for an unknown e-mail."""
    from staff.errors import NoSuchStaff

    password = new_password()
    async with conn.transaction():
        staff_id = await conn.fetchval(
            """
            update staff_accounts set password_hash = $2, must_change_password = true
            where lower(email) = lower($1) returning id
            """,
            email.strip(),
            hash_password(password),
        )
        if staff_id is None:
            raise NoSuchStaff(email=email)
        await revoke_sessions(conn, staff_id)
    return staff_id, password
