-- Channels, parties and several matters (issue 16).
--
-- A channel is how a visit happens: on_site (at a desk), phone (the consultant calls the
-- visitor's number at the booked time) or video (a link to a room). Each channel a point offers
-- has its own calendar rules (the same kinds and precedence, resolved per channel), its own
-- desks or consultants (a desk lists the channels it serves: one consultant serving phone and
-- video is one desk, so the exclusion constraint of 0003 keeps them from being booked twice at
-- once across channels), and its own duration, step and languages per offer.
-- Everything that existed before is on_site, so nothing changes for it.

alter table calendar_rules add column channel text not null default 'on_site'
    check (channel in ('on_site', 'phone', 'video'));

alter table desks
    add column channels text[] not null default '{on_site}'
        check (cardinality(channels) > 0 and channels <@ array['on_site', 'phone', 'video']),
    -- the services this desk offers; null: every service of its point
    add column services text[];

alter table point_services
    add column channels text[] not null default '{on_site}'
        check (cardinality(channels) > 0 and channels <@ array['on_site', 'phone', 'video']),
    -- a family: how many people may come to one visit, and how much longer it is per extra one
    add column max_party_size integer not null default 1 check (max_party_size between 1 and 20),
    add column extra_person_minutes integer not null default 0
        check (extra_person_minutes between 0 and 240);

-- A channel's own duration, step and languages for an offer; a column left null (or no row)
-- takes the offer's own value.
create table offer_channels (
    point_id         text not null,
    service_id       text not null,
    channel          text not null check (channel in ('on_site', 'phone', 'video')),
    duration_minutes integer check (duration_minutes between 5 and 480),
    step_minutes     integer check (step_minutes between 5 and 480),
    languages        text[]
        check (languages <@ array['pl', 'en', 'uk', 'ru', 'pjm', 'ukl', 'rsl']),
    primary key (point_id, service_id, channel),
    foreign key (point_id, service_id) references point_services (point_id, service_id)
        on delete cascade
);

create trigger offer_channels_config_changed after insert or update or delete on offer_channels
    for each row execute function point_config_changed();

-- Several matters in one visit: at most this many services a visit. A point's own video room
-- template (null: VIDEO_URL_TEMPLATE), which must place the room's name somewhere.
alter table points
    add column max_services_per_visit integer not null default 3
        check (max_services_per_visit between 1 and 10),
    add column video_url_template text
        check (strpos(video_url_template, '{room}') > 0 and char_length(video_url_template) <= 300);

alter table bookings
    add column channel text not null default 'on_site'
        check (channel in ('on_site', 'phone', 'video')),
    add column party_size integer not null default 1 check (party_size between 1 and 20),
    -- the visit's further matters; service_id is its first
    add column extra_services text[] not null default '{}',
    -- a video visit's room: the template with an unguessable room name, fixed when it is held
    -- (the link mailed must keep working whatever the template becomes)
    add column video_url text check (char_length(video_url) <= 500),
    add constraint bookings_video_has_room check (channel <> 'video' or video_url is not null),
    -- the availability query bounds its look-back by this (scheduling/availability.py)
    add constraint bookings_at_most_eight_hours check (ends_at - starts_at <= interval '8 hours');
