-- Release windows: a point may publish new days at a fixed local time; requests in the first
-- minutes after a release go into a draw instead of first-come-first-served.

alter table points
    add column release_time time,                -- local time a new day is published (null: no windows)
    add column release_days_ahead integer check (release_days_ahead between 1 and 366),
    add column draw_minutes integer not null default 5 check (draw_minutes between 1 and 120),
    add constraint points_release_config
        check ((release_time is null) = (release_days_ahead is null));

-- A visit held for someone who has not received a manage token yet (a waitlist offer, a draw
-- win) gets one when it is confirmed.
alter table bookings add column manage_token_issued boolean not null default true;

create table draw_entries (
    id                uuid primary key default gen_random_uuid(),
    point_id          text not null references points (id) on delete cascade,
    day               date not null,             -- the released local date drawn for
    service_id        text not null,
    language          text not null,
    requested_start   timestamptz not null,
    visitor_name      text not null,
    visitor_email     text not null,
    visitor_email_key text not null,
    visitor_phone     text,
    notes             text,
    needs             text[] not null default '{}',
    token_hash        bytea not null,
    arrival           bigint generated always as identity,
    status            text not null default 'entered' check (status in ('entered', 'won', 'lost')),
    booking_id        uuid references bookings (id) on delete set null,
    decided_at        timestamptz,
    created_at        timestamptz not null default now(),
    -- one entry per person per released day: the draw gives at most one visit per person
    unique (point_id, day, visitor_email_key),
    foreign key (point_id, service_id) references point_services (point_id, service_id)
);

create index draw_entries_open on draw_entries (point_id, day) where status = 'entered';
