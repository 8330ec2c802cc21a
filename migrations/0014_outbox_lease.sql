-- The outbox's lease: claim, commit, send, record. A worker claims a row with one short
-- committed UPDATE (a random token and a lease that outlasts the bounded send), sends with no
-- transaction open and no connection held, then records the outcome in a second short
-- transaction that applies only while the row is still its claim. A worker that dies mid-send
-- leaves a lease that runs out; the sweep then queues the row again, under a job id that
-- counts the claims (so arq's stale in-progress key of the dead worker's job does not hold it).
alter table outbox
    add column claim_token   uuid,           -- the current claim; null when nobody holds it
    add column claimed_until timestamptz,    -- nobody else claims the row before this
    add column claims        integer not null default 0 check (claims >= 0),
    add column retry_at      timestamptz,    -- after a temporary failure, not tried before this
    -- The iTIP method the sent message carried (RFC 5546): a METHOD:CANCEL goes only to a
    -- visitor who was sent a REQUEST for the visit.
    add column itip_method   text check (itip_method in ('REQUEST', 'CANCEL'));

-- The REQUESTs sent before this migration (the only method anything asks about): a
-- confirmation always carried one, news of a move did when the visit had been confirmed;
-- rows skipped (sent_at set, "skipped: ...") carried nothing.
update outbox o
   set itip_method = 'REQUEST'
  from bookings b
 where b.id = o.booking_id
   and o.sent_at is not null
   and coalesce(o.last_error, '') not like 'skipped:%'
   and (o.kind = 'confirmed' or (o.kind = 'moved' and b.confirmed_at is not null));

-- "Was this visit's invitation sent?", asked for every cancellation.
create index outbox_invitations on outbox (booking_id) where itip_method = 'REQUEST';
