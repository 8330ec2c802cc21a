-- The waitlist: visitors asking to be told when a slot frees up at a point and service.

create table waitlist (
    id                uuid primary key default gen_random_uuid(),
    point_id          text not null,
    service_id        text not null,
    language          text not null
        check (language in ('pl', 'en', 'uk', 'ru', 'pjm', 'ukl', 'rsl')),
    first_day         date not null,
    last_day          date not null,
    visitor_name      text check (char_length(visitor_name) between 1 and 200),
    visitor_email     text check (char_length(visitor_email) between 3 and 254),
    visitor_email_key text,
    token_hash        bytea not null,
    status            text not null default 'waiting'
        check (status in ('waiting', 'offered', 'booked', 'withdrawn', 'expired')),
    booking_id        uuid references bookings (id) on delete set null,
    created_at        timestamptz not null default now(),
    foreign key (point_id, service_id) references point_services (point_id, service_id)
        on delete cascade,
    check (first_day <= last_day)
);

create index waitlist_waiting on waitlist (point_id, service_id, created_at)
    where status = 'waiting';

alter table bookings add column waitlist_id uuid references waitlist (id) on delete set null;
