-- The point's day from the door to the desk: kiosks, the waiting-room queue, its calls.
-- Nothing here names a person: a ticket is a number, a service, a language and times; a booked
-- visit's ticket links to the visit (whose personal data the retention purge removes). The
-- figures (staff/statistics.py) are counted from these rows and the visits' anonymous columns,
-- so they outlive the purge.

-- Walk-ins per point: whether the kiosk hands out tickets without a booking, and how many a day.
create table queue_settings (
    point_id     text primary key references points (id) on delete cascade,
    walk_ins     boolean not null default false,
    walk_in_cap  integer not null default 0 check (walk_in_cap between 0 and 999),
    updated_at   timestamptz not null default now()
);

-- A tablet at a point's entrance: staff issue its token once (only its hash is kept).
create table kiosk_devices (
    id          uuid primary key default gen_random_uuid(),
    point_id    text not null references points (id) on delete cascade,
    label       text not null check (char_length(label) between 1 and 100),
    token_hash  bytea not null unique,
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz
);

create index kiosk_devices_point on kiosk_devices (point_id);

-- One arrival: a booked visit checked in, or a walk-in's ticket. `number` is what the screens
-- show (A for appointments, W for walk-ins, then the day's count of that kind).
create table queue_tickets (
    id              bigint generated always as identity primary key,
    point_id        text not null references points (id) on delete cascade,
    day             date not null,                 -- the point's local date
    kind            text not null check (kind in ('visit', 'walk_in')),
    seq             integer not null check (seq between 1 and 999),
    number          text not null check (number ~ '^[AW][0-9]{3}$'),
    booking_id      uuid unique references bookings (id) on delete set null,
    service_id      text not null references services (id),
    language        text not null
        check (language in ('pl', 'en', 'uk', 'ru', 'pjm', 'ukl', 'rsl')),
    appointment_at  timestamptz,                   -- a booked visit's start
    arrived_at      timestamptz not null default now(),
    status          text not null default 'waiting'
        check (status in ('waiting', 'called', 'parked', 'done', 'no_show')),
    desk_id         text,                          -- called to, or transferred to
    called_at       timestamptz,                   -- the first call
    done_at         timestamptz,                   -- done or no-show
    calls           integer not null default 0,
    unique (point_id, day, number),
    check ((kind = 'visit') = (appointment_at is not null)),
    foreign key (point_id, desk_id) references desks (point_id, id)
);

create index queue_tickets_waiting on queue_tickets (point_id, day) where status = 'waiting';
create index queue_tickets_point_day on queue_tickets (point_id, day);
-- A desk serves one visitor at a time.
create unique index queue_tickets_one_called_per_desk on queue_tickets (desk_id)
    where status = 'called';

-- Every call and recall, for the waiting room's screen (its last few calls).
create table queue_calls (
    id          bigint generated always as identity primary key,
    point_id    text not null references points (id) on delete cascade,
    ticket_id   bigint not null references queue_tickets (id) on delete cascade,
    desk_id     text not null,
    called_at   timestamptz not null default now(),
    foreign key (point_id, desk_id) references desks (point_id, id)
);

create index queue_calls_point_time on queue_calls (point_id, called_at desc);
