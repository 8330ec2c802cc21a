-- A visit the office cancelled may be offered a held alternative (booking/alternatives.py):
-- the alternative points to the visit it replaces, so its pages and staff can tell.
alter table bookings add column alternative_for uuid references bookings (id) on delete set null;
create index bookings_alternative_for on bookings (alternative_for)
    where alternative_for is not null;
