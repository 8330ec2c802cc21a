-- A desk's room ("pokój 12", "sala 105"), free text kept by staff: the call display shows it
-- next to the desk's name, so a visitor called knows where to go. Optional: a point with one
-- room leaves it empty.
alter table desks add column room text
    check (room is null or (length(room) between 1 and 60 and room !~ '[[:cntrl:]]'));
