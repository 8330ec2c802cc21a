-- A point's premises (where it is, and how a person in a wheelchair, a deaf or a blind person
-- gets in and is served) and its closures at short notice.
--
-- The accessibility statement (web/legal.py, the Act of 4 April 2019 on digital accessibility)
-- and each point's schema.org JSON-LD (scheduling/open_formats.py) read these facts; staff keep
-- them current through /api/v1/staff/points/{id}/premises (scheduling/admin.py writes). A fact
-- nobody has checked yet is null: the statement says "not assessed yet", never a guess.

create table point_premises (
    point_id             text primary key references points (id) on delete cascade,
    latitude             double precision check (latitude between -90 and 90),
    longitude            double precision check (longitude between -180 and 180),
    -- where the entrance is and how to reach the rooms, in four languages
    entrance             jsonb not null default '{}',
    step_free_entrance   boolean,
    lift                 boolean,
    accessible_toilet    boolean,
    disabled_parking     boolean,
    induction_loop       boolean,
    assistance_dogs      boolean,
    -- a Polish sign language (PJM) interpreter: 'on_site' (a consultant signs), 'on_request'
    -- (booked ahead, as the Act of 19 August 2011 on sign language provides), 'remote'
    -- (an online interpreter), 'none'
    sign_language        text check (sign_language in ('on_site', 'on_request', 'remote', 'none')),
    notes                jsonb not null default '{}',
    -- when someone last checked these facts on the spot
    checked_on           date,
    source               text,
    updated_at           timestamptz not null default now(),
    check ((latitude is null) = (longitude is null))
);

-- A closure at short notice (a burst pipe, a power cut, illness): the whole local day closed by
-- a calendar rule (`rule_id`, so the hours, the feed and the slots say so), plus this row, which
-- every page shows as a banner and the status page lists. Deleting the rule (reopening) removes
-- the outage with it.
create table point_outages (
    id          bigint generated always as identity primary key,
    point_id    text not null references points (id) on delete cascade,
    day         date not null,
    rule_id     text not null references calendar_rules (id) on delete cascade,
    reason      jsonb not null default '{}',
    created_at  timestamptz not null default now(),
    unique (point_id, day)
);

create index point_outages_day on point_outages (day);
