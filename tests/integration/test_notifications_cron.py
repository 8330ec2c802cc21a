"""The worker's cron jobs that call booking's own rules: expiring holds, removing old data.

They come last: booking is written alongside, and these only check the worker calls it right.
"""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser

from notifications.jobs import decide_draws, expire_holds, purge_personal_data
from notifications.messages import CATALOGS
from tests.factories import insert_booking, run_worker


async def test_the_holds_cron_expires_stale_holds_and_their_visitors_are_told(
    seeded, redis, settings
):
    async with seeded.acquire() as conn:
        visit = await insert_booking(conn, status="held", language="en")
        await conn.execute(
            "update bookings set hold_expires_at = now() - interval '1 minute' where id = $1",
            visit["id"],
        )
    ctx = {"pool": seeded, "redis": redis, "settings": settings}

    assert await expire_holds(ctx) == 1
    await run_worker(settings)  # no SMTP_URL: the mail lands in WIZYTA_DATA_DIR/mail

    status = await seeded.fetchval("select status from bookings where id = $1", visit["id"])
    assert status == "expired"
    [path] = (settings.data_dir / "mail" / "new").glob("*.eml")
    mail = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    expected = CATALOGS["en"].hold_expired.subject.format(reference=visit["reference"])
    assert mail["Subject"] == expected


async def test_the_retention_cron_removes_personal_data_of_old_visits(seeded, settings):
    long_ago = datetime.now(UTC) - timedelta(days=settings.retention_days + 5)
    async with seeded.acquire() as conn:
        old = await insert_booking(conn, start=long_ago, status="completed")
        recent = await insert_booking(conn, start=datetime.now(UTC) - timedelta(days=1))
    ctx = {"pool": seeded, "settings": settings}

    assert await purge_personal_data(ctx) == 1

    emails = dict(await seeded.fetch("select id, visitor_email from bookings"))
    assert emails == {old["id"]: None, recent["id"]: "visitor@example.test"}


async def test_the_draws_cron_runs_booking_draws_and_finds_none_due_on_a_quiet_day(
    seeded, redis, settings
):
    ctx = {"pool": seeded, "redis": redis, "settings": settings}

    assert await decide_draws(ctx) == 0
