-- Cost that stays flat as the years of visits grow (docs/benchmarks.md, "Data growth").

-- 1. /availability's busy visits (scheduling/availability.py busy_periods) read only active
-- visits of one point. Without an index that says so, the planner's first (custom) plans on a
-- connection picked the exclusion constraint's GiST index, whose predicate is the same status
-- list, and read every active visit of every point (4-7 ms instead of 0.3 ms with a million
-- visits). This index holds the same rows in (point, start) order: one point's few hours.
create index bookings_active_point_time on bookings (point_id, starts_at)
    where status in ('held', 'confirmed', 'checked_in');

-- 2. The purge's step for what an earlier purge left (booking/retention.py _VISITS_LEFT): an
-- index that fits its filter, empty once the backlog is gone, instead of reading every
-- anonymised visit on each run.
create index bookings_purged_with_needs on bookings (id)
    where purged_at is not null and needs <> '{}';

-- 3. One trigger before a visit is written, for two things.
--
-- A new visit's reference must not be one already used. The unique index alone would say so,
-- but it waits first for any transaction that has changed the row holding that reference: a
-- new random reference meeting a past visit the purge was anonymising waited for the purge's
-- batch to commit. This plain read never waits (it sees the committed row), and the trigger
-- then skips the row (`return null`): the insert returns no row, as `on conflict do nothing`
-- does, and booking/store.py draws another reference.
--
-- The per-person limit takes a transaction-scoped advisory lock per (point, person), so that
-- two bookings by one person cannot both pass the count. Each lock is an entry in PostgreSQL's
-- shared lock table until the transaction ends, so one transaction writing 50,000 visits of
-- different people (a staff bulk operation, a generated data set) failed with "out of shared
-- memory". Now each such transaction also holds one lock, 'wizyta:persons', shared; past
-- PERSON_LOCKS rows it takes that lock exclusively instead of one more per person (waiting for
-- the bookings in flight to end and making new ones wait for it to end). A booking takes two
-- locks, never more; a bulk transaction at most PERSON_LOCKS + 1 (the last in two modes).
create or replace function bookings_enforce_per_person_limit() returns trigger
language plpgsql as $$
declare
    person_locks constant integer := 500;
    max_visits   integer;
    active       integer;
    locked       integer;
begin
    if tg_op = 'INSERT' and exists (select 1 from bookings where reference = new.reference) then
        return null;  -- a reference already used: the caller draws another
    end if;
    if new.status not in ('held', 'confirmed') or new.visitor_email_key is null then
        return new;
    end if;
    if tg_op = 'UPDATE' and old.status in ('held', 'confirmed')
       and old.visitor_email_key = new.visitor_email_key and old.point_id = new.point_id then
        return new;  -- the same visit being confirmed or moved is not one more visit
    end if;
    locked := coalesce(nullif(current_setting('wizyta.person_locks', true), ''), '0')::integer;
    if locked < person_locks then
        perform pg_advisory_xact_lock(
            hashtextextended('wizyta:person:' || new.point_id || ':' || new.visitor_email_key, 0)
        );
        perform pg_advisory_xact_lock_shared(hashtextextended('wizyta:persons', 0));
        perform set_config('wizyta.person_locks', (locked + 1)::text, true);
    elsif locked = person_locks then
        perform pg_advisory_xact_lock(hashtextextended('wizyta:persons', 0));
        perform set_config('wizyta.person_locks', (locked + 1)::text, true);
    end if;
    select per_person_limit into max_visits
      from point_services where point_id = new.point_id and service_id = new.service_id;
    select count(*) into active
      from bookings
     where point_id = new.point_id
       and visitor_email_key = new.visitor_email_key
       and id <> new.id
       and ends_at > now()
       and (status = 'confirmed' or (status = 'held' and hold_expires_at > now()));
    if active >= coalesce(max_visits, 1) then
        raise exception 'per-person limit of % active visit(s) at this point reached',
            coalesce(max_visits, 1)
            using errcode = 'WZ001';
    end if;
    return new;
end
$$;
