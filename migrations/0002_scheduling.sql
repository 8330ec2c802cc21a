-- Points, services, desks and the calendar rules that give their opening hours.
-- Ids are readable slugs so seeds upsert idempotently and URLs stay stable.

create table points (
    id                text primary key check (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    names             jsonb not null,
    department        jsonb not null default '{}',
    address           jsonb not null,
    city              text not null,
    timezone          text not null default 'Europe/Warsaw',
    phones            text[] not null default '{}',
    emails            text[] not null default '{}',
    languages         text[] not null
        check (languages <@ array['pl', 'en', 'uk', 'ru', 'pjm', 'ukl', 'rsl']),
    observes_holidays boolean not null default true,
    source            text,
    assumptions       text[] not null default '{}',
    updated_at        timestamptz not null default now()
);

create table services (
    id            text primary key check (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    names         jsonb not null,
    descriptions  jsonb not null default '{}',
    what_to_bring jsonb,
    source        text
);

create table point_services (
    point_id           text not null references points (id) on delete cascade,
    service_id         text not null references services (id),
    duration_minutes   integer not null check (duration_minutes between 5 and 480),
    step_minutes       integer not null check (step_minutes between 5 and 480),
    languages          text[] not null
        check (languages <@ array['pl', 'en', 'uk', 'ru', 'pjm', 'ukl', 'rsl']),
    min_notice_minutes integer not null default 0 check (min_notice_minutes >= 0),
    horizon_days       integer not null default 60 check (horizon_days between 1 and 366),
    per_person_limit   integer not null default 1 check (per_person_limit between 1 and 20),
    active             boolean not null default true,
    primary key (point_id, service_id)
);

create table desks (
    id        text primary key check (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    point_id  text not null references points (id) on delete cascade,
    names     jsonb not null,
    languages text[] not null
        check (languages <@ array['pl', 'en', 'uk', 'ru', 'pjm', 'ukl', 'rsl']),
    active    boolean not null default true,
    source    text,
    unique (point_id, id)
);

create table calendar_rules (
    id          text primary key,
    point_id    text not null references points (id) on delete cascade,
    desk_id     text,
    kind        text not null check (kind in ('hours', 'special', 'closed')),
    rrule       text,
    dates       date[] not null default '{}',
    opens       time,
    closes      time,
    valid_from  date,
    valid_until date,
    labels      jsonb not null default '{}',
    source      text,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    foreign key (point_id, desk_id) references desks (point_id, id) on delete cascade,
    check (rrule is not null or cardinality(dates) > 0),
    check ((opens is null) = (closes is null)),
    check (opens is null or opens < closes),
    check (kind = 'closed' or opens is not null),
    check (valid_from is null or valid_until is null or valid_from <= valid_until)
);

create index calendar_rules_point on calendar_rules (point_id);
