-- Messages by SMS as well as by e-mail, answers from calendar apps, reminders per point.

-- How the visitor wants to hear about the visit: e-mail, SMS or both. A visit without an
-- e-mail address (booked by staff) is told by SMS whatever this says, one without a phone by
-- e-mail (notifications/jobs.py decides, per message).
alter table bookings
    add column notify_by text[] not null default '{email}'
        check (notify_by <@ array['email', 'sms']::text[] and cardinality(notify_by) between 1 and 2);

-- One outbox row per message and channel. Booking writes one row per change (channel 'email',
-- parent_id null); when the worker takes it, it adds the change's SMS as a row of its own
-- (parent_id: the row it came from, at most one per channel), so each channel is sent, retried
-- and failed on its own, by the same rules.
alter table outbox
    add column channel   text not null default 'email' check (channel in ('email', 'sms')),
    add column parent_id bigint references outbox (id) on delete cascade;
create unique index outbox_one_per_channel on outbox (parent_id, channel) where parent_id is not null;

-- The iTIP REPLYs (RFC 5546 §3.2.3) that calendar apps sent back and what came of each: a
-- DECLINED that cancelled the visit, an ACCEPTED recorded, or why one changed nothing. No
-- address is kept: the booking names the visitor.
create table calendar_replies (
    id          bigint generated always as identity primary key,
    booking_id  uuid not null references bookings (id) on delete cascade,
    sequence    integer not null,
    partstat    text not null check (char_length(partstat) <= 40),
    outcome     text not null check (outcome in ('cancelled', 'accepted', 'ignored')),
    reason      text check (char_length(reason) <= 200),
    received_at timestamptz not null default now()
);
create index calendar_replies_booking on calendar_replies (booking_id);

-- A point's own reminder offsets (booking/reminders.py checks their limits); without a row,
-- REMINDER_OFFSETS.
create table point_reminders (
    point_id   text primary key references points (id) on delete cascade,
    offsets    text not null check (char_length(offsets) <= 40),
    updated_at timestamptz not null default now()
);
