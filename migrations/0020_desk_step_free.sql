-- Step-free access per desk: true = reachable without stairs (e.g. a ground-floor room),
-- false = not (e.g. a first-floor room with no lift the sources mention), null = not known.
-- A visit that asks for step-free access goes to a step-free desk first, to one not known
-- second, never to one that is not step-free (booking/store.py insert_held).
alter table desks add column step_free boolean;

-- What the seeds say of the rooms at ul. Przy Rondzie 6 ("ground floor - service room 1,
-- service room 2; 1st floor - rooms 105 - 106"), for a database seeded before this column.
update desks set step_free = true
 where id in ('krakow-przy-rondzie-6-room-1', 'krakow-przy-rondzie-6-room-2')
   and step_free is null;
update desks set step_free = false
 where id in ('krakow-przy-rondzie-6-room-105', 'krakow-przy-rondzie-6-room-106')
   and step_free is null;
