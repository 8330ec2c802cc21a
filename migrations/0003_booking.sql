-- Visits (bookings), their idempotency keys, and the outbox of notifications.
-- The invariants live here so that no race in any number of processes can break them.

create table bookings (
    id                 uuid primary key default gen_random_uuid(),
    reference          text not null unique check (reference ~ '^[A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{2}$'),
    point_id           text not null references points (id),
    service_id         text not null references services (id),
    desk_id            text not null,
    starts_at          timestamptz not null,
    ends_at            timestamptz not null,
    language           text not null
        check (language in ('pl', 'en', 'uk', 'ru', 'pjm', 'ukl', 'rsl')),
    visitor_name       text check (char_length(visitor_name) between 1 and 200),
    visitor_email      text check (char_length(visitor_email) between 3 and 254),
    -- The e-mail as its provider sees it (lower case; dots and +tags dropped where ignored),
    -- for the per-person limit.
    visitor_email_key  text,
    visitor_phone      text,
    notes              text check (char_length(notes) <= 2000),
    needs              text[] not null default '{}',
    status             text not null
        check (status in ('held', 'confirmed', 'checked_in', 'completed', 'no_show',
                          'cancelled', 'expired')),
    sequence           integer not null default 0 check (sequence >= 0),
    hold_expires_at    timestamptz,
    manage_token_hash  bytea not null,
    confirm_token_hash bytea,
    cancelled_by       text check (cancelled_by in ('visitor', 'office')),
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    confirmed_at       timestamptz,
    cancelled_at       timestamptz,
    purged_at          timestamptz,
    foreign key (point_id, desk_id) references desks (point_id, id),
    foreign key (point_id, service_id) references point_services (point_id, service_id),
    check (starts_at < ends_at),
    check (status <> 'held' or hold_expires_at is not null),
    -- No two active visits overlap on one desk ([) ranges: back-to-back visits are fine).
    constraint bookings_no_overlap_on_desk exclude using gist (
        desk_id with =,
        tstzrange(starts_at, ends_at, '[)') with &&
    ) where (status in ('held', 'confirmed', 'checked_in'))
);

create index bookings_point_time on bookings (point_id, starts_at);
create index bookings_person on bookings (point_id, visitor_email_key)
    where status in ('held', 'confirmed');
create index bookings_stale_holds on bookings (hold_expires_at) where status = 'held';

-- The per-person limit: active future visits per e-mail per point, at most the limit of the
-- service being booked. A transaction-scoped advisory lock per (point, person) serialises the
-- count-then-insert, so concurrent bookings by one person cannot both pass.
create function bookings_enforce_per_person_limit() returns trigger
language plpgsql as $$
declare
    max_visits integer;
    active     integer;
begin
    if new.status not in ('held', 'confirmed') or new.visitor_email_key is null then
        return new;
    end if;
    if tg_op = 'UPDATE' and old.status in ('held', 'confirmed')
       and old.visitor_email_key = new.visitor_email_key and old.point_id = new.point_id then
        return new;  -- the same visit being confirmed or moved is not one more visit
    end if;
    perform pg_advisory_xact_lock(
        hashtextextended('wizyta:person:' || new.point_id || ':' || new.visitor_email_key, 0)
    );
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

create trigger bookings_per_person_limit
    before insert or update of status, visitor_email_key, point_id on bookings
    for each row execute function bookings_enforce_per_person_limit();

-- One booking per idempotency key. The stored answer contains the manage token, which must
-- never be readable from the database: it is encrypted with a key derived from the
-- idempotency key itself, which only the client knows (we keep a hash of it).
create table idempotency_keys (
    key_hash     bytea primary key,
    request_hash bytea not null,
    status_code  integer,
    response     bytea,
    booking_id   uuid references bookings (id) on delete set null,
    created_at   timestamptz not null default now()
);

-- Every state change writes its outbox row in the same transaction; the worker sends it.
create table outbox (
    id          bigint generated always as identity primary key,
    booking_id  uuid not null references bookings (id) on delete cascade,
    kind        text not null check (kind in (
        'confirmation_request', 'confirmed', 'moved', 'cancelled', 'cancelled_by_office',
        'reminder', 'hold_expired', 'waitlist_offer')),
    sequence    integer not null,       -- the booking's SEQUENCE when the row was written
    due_at      timestamptz not null default now(),
    payload     jsonb not null default '{}',
    attempts    integer not null default 0,
    sent_at     timestamptz,
    failed_at   timestamptz,
    last_error  text,
    created_at  timestamptz not null default now()
);

create index outbox_pending on outbox (due_at) where sent_at is null and failed_at is null;
create index outbox_booking on outbox (booking_id);
