-- The one definition of a visit's effective status: a hold past its expiry is expired, whether
-- or not the sweep (booking/holds.py) has marked it yet. Every reader of a visit's status uses
-- this function (booking/store.py, the day sheet, the outbox), so the rule is written once.
-- `stable` and a single SQL expression: PostgreSQL inlines it into the calling query.

create function visit_status(status text, hold_expires_at timestamptz) returns text
language sql stable parallel safe as $$
    select case when status = 'held' and hold_expires_at <= now() then 'expired' else status end
$$;

-- Whether a visit occupies its desk as a reader sees it: held (and not overdue), confirmed or
-- checked in. The exclusion constraint's WHERE clause (0003) is the same list without the
-- clock; booking/domain/lifecycle.py ACTIVE is this list in Python (a test keeps them equal).
create function visit_is_active(status text, hold_expires_at timestamptz) returns boolean
language sql stable parallel safe as $$
    select visit_status(status, hold_expires_at) in ('held', 'confirmed', 'checked_in')
$$;
