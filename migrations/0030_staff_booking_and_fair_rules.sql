-- Staff book for visitors who phone, write or walk in; a point keeps part of its capacity for
-- them; fair rules against slot trading (booking/staff_booking.py, booking/fair.py).

-- Who booked a visit: the visitor online, or staff for a visitor (then the e-mail may be
-- missing). `moves` counts the visitor's own moves, for the limit per visit.
alter table bookings
    add column booked_by text not null default 'visitor' check (booked_by in ('visitor', 'staff')),
    add column moves integer not null default 0 check (moves >= 0);

-- Internal capacity, two ways: a desk only staff book (the public never sees it), and a number
-- of places in every slot kept for staff booking (public bookings may fill the rest).
alter table desks add column internal_only boolean not null default false;
alter table points add column internal_places integer not null default 0
    check (internal_places between 0 and 50);

-- Fair rules per offer: online changes close `change_cutoff_minutes` before the visit; a visit
-- may be moved online at most `max_moves` times (null: no limit); a cancellation (or a move
-- away) less than `late_cancel_minutes` before the visit is late, and the place it frees stays
-- out of public booking for `release_delay_minutes` (the waitlist is offered it first).
alter table point_services
    add column change_cutoff_minutes integer not null default 0
        check (change_cutoff_minutes between 0 and 43200),
    add column max_moves integer check (max_moves between 0 and 20),
    add column late_cancel_minutes integer not null default 1440
        check (late_cancel_minutes between 0 and 43200),
    add column release_delay_minutes integer not null default 0
        check (release_delay_minutes between 0 and 10080);

-- A place freed late, held back from public booking until `until`. Staff may still book it.
create table held_back_places (
    id         bigint generated always as identity primary key,
    point_id   text not null references points (id) on delete cascade,
    desk_id    text not null,
    starts_at  timestamptz not null,
    ends_at    timestamptz not null,
    until      timestamptz not null,
    booking_id uuid references bookings (id) on delete cascade,  -- the visit that freed it
    created_at timestamptz not null default now(),
    foreign key (point_id, desk_id) references desks (point_id, id) on delete cascade,
    check (starts_at < ends_at)
);

create index held_back_places_point on held_back_places (point_id, starts_at);

-- A visit booked online never lands on an internal-only desk, whatever a process believed
-- about the desk when it chose it (staff may flag the desk in the meantime): the slot engine
-- never offers such a desk to the public, and this trigger refuses what slips through. Visits
-- already on a desk when it is flagged keep their place (confirming one is not refused).
create function bookings_refuse_public_on_internal_desk() returns trigger
language plpgsql as $$
begin
    if new.booked_by = 'visitor' and new.status in ('held', 'confirmed', 'checked_in')
       and exists (select from desks d
                    where d.point_id = new.point_id and d.id = new.desk_id and d.internal_only)
    then
        raise exception 'the desk % is for internal booking only', new.desk_id
            using errcode = 'WZ002';
    end if;
    return new;
end
$$;

create trigger bookings_public_not_on_internal_desk
    before insert or update of desk_id, starts_at on bookings
    for each row execute function bookings_refuse_public_on_internal_desk();
