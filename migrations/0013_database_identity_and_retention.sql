-- Two things fixed forward, each in its own part.
--
-- 1. A random identity for this database. A process keeps each point's parsed configuration
-- by version number (scheduling/config.py, migrations/0011); numbers are unique within one
-- database only, so a process that talks to two databases (the tests do) must key what it
-- keeps by the database too. This replaces starting the version sequence at a random number,
-- which was once added to 0011 after it had landed (core/migrate.py, SUPERSEDED).
-- The identity is a constant written into a function, not a row, so emptying every table (as
-- the tests do before each test, or a reload of the data) cannot remove it. A copy of the
-- database (a template, a restore) carries the same identity: scheduling/config.py adds the
-- database's oid, which a copy in the same cluster does not share.

do $$
begin
    execute format(
        'create function database_identity() returns uuid '
        || 'language sql immutable parallel safe as %L',
        format('select %L::uuid', gen_random_uuid())
    );
end
$$;

-- 2. Retention (booking/retention.py). Draw entries and waitlist entries lose their personal
-- data once their days are long past and stay as anonymous facts (how many entered a draw,
-- in which language, what came of it), as visits do; `purged_at` says when. The indexes let
-- each of the purge's short batches find its rows without reading a whole table.

alter table draw_entries
    alter column visitor_name drop not null,
    alter column visitor_email drop not null,
    alter column visitor_email_key drop not null,
    add column purged_at timestamptz;

alter table waitlist add column purged_at timestamptz;

create index bookings_to_purge on bookings (ends_at) where purged_at is null;
create index draw_entries_to_purge on draw_entries (day) where purged_at is null;
create index waitlist_to_purge on waitlist (last_day) where purged_at is null;
create index idempotency_keys_created on idempotency_keys (created_at);
create index login_failures_failed_at on login_failures (failed_at);
