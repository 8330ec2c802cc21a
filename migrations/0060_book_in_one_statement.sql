-- A visitor's booking in one statement, one round trip, its own transaction ([9/9]).
--
-- Before, a booking was a transaction of nine round trips: BEGIN, the Idempotency-Key's claim,
-- the configuration and now(), the desks' busy times, the day's turn, the insert, the outbox row,
-- the key's answer, COMMIT. The reads that need Python (the configuration, which the slot engine
-- works from, and the busy times) still come first, each its own statement; then `book_visit`
-- does what must be atomic, in one call outside any transaction block: the key (its first answer
-- if it has one), the day's turn, the desk, the visit, its outbox row and the key's answer.
--
-- `place_held_visit` is the one place a held visit is inserted, whoever holds it: a visitor's
-- booking (through book_visit), a draw's allotment, a waitlist offer, staff's booking and an
-- office alternative call it inside their own transactions (booking/store.py insert_held).
-- `choose_desk` is the one desk choice, for a hold and for a move.

-- Which of the slot's desks a visit goes to, decided in the statement that places it (after the
-- day's turn, so it sees every visit committed before): among the desks free at that time, a
-- visit that asks for step-free access takes a step-free desk first, one not known to be
-- second, never one known not to be; every other visit takes the desk with the fewest extra
-- skills (languages beyond its own, step-free access), keeping the scarce desk (the one with
-- sign languages, the ground-floor room) for those who need it. A visit booked online never goes
-- to a desk kept for staff's bookings (desks.internal_only). `p_self` is the visit being moved
-- (its own time does not count as taken), or null.
create function choose_desk(
    p_point text, p_desks text[], p_step_free boolean, p_booked_by text,
    p_start timestamptz, p_end timestamptz, p_self uuid
) returns text
language sql stable as $$
    select d.id
      from desks d
     where d.point_id = p_point and d.id = any(p_desks)
       and not (p_step_free and d.step_free is false)
       and not (d.internal_only and p_booked_by = 'visitor')
       and not exists (
           select from bookings o
            where o.desk_id = d.id and o.status in ('held', 'confirmed', 'checked_in')
              and tstzrange(o.starts_at, o.ends_at, '[)') && tstzrange(p_start, p_end, '[)')
              and o.id is distinct from p_self)
     order by case when p_step_free and d.step_free is not true then 1 else 0 end,
              cardinality(d.languages)
                + case when not p_step_free and d.step_free then 1 else 0 end,
              d.id
     limit 1
$$;

-- A held visit as the application hands it over: every column the insert writes but the desk,
-- and what the desk choice needs to know.
create type held_visit as (
    reference           text,
    point_id            text,
    service_id          text,
    starts_at           timestamptz,
    ends_at             timestamptz,
    language            text,
    visitor_name        text,
    visitor_email       text,
    visitor_email_key   text,
    visitor_phone       text,
    notes               text,
    needs               text[],
    hold_expires_at     timestamptz,
    manage_token_hash   bytea,
    manage_token_issued boolean,
    confirm_token_hash  bytea,
    waitlist_id         uuid,
    mail_language       text,
    booked_by           text,
    notify_by           text[],
    channel             text,
    party_size          integer,
    extra_services      text[],
    video_url           text,
    needs_step_free     boolean  -- among its needs, step-free access: the desk choice's
);

-- Put the visit on the best free desk of `desks` after the day's turn (`turn`, an advisory
-- lock per point and local day: crowds of bookers of one slot take turns instead of
-- deadlocking on the exclusion constraint), and write its outbox row `message` (none when
-- null). No row placed: `reference_taken` says whether the reference was the reason (the
-- caller draws another) or no desk was free. The per-person trigger raises WZ001, the
-- internal-desk trigger WZ002, as for any insert.
create function place_held_visit(
    v held_visit, desks text[], turn text, message text, payload jsonb,
    out booking_id uuid, out desk_id text, out outbox_id bigint, out reference_taken boolean
)
language plpgsql as $$
begin
    perform pg_advisory_xact_lock(hashtextextended(turn, 0));
    -- A new statement, so a new snapshot: it sees every visit committed while this one waited.
    insert into bookings (
        reference, desk_id, point_id, service_id, starts_at, ends_at, language,
        visitor_name, visitor_email, visitor_email_key, visitor_phone, notes, needs, status,
        hold_expires_at, manage_token_hash, manage_token_issued, confirm_token_hash, waitlist_id,
        mail_language, booked_by, notify_by, channel, party_size, extra_services, video_url)
    select v.reference, d.id, v.point_id, v.service_id, v.starts_at, v.ends_at, v.language,
           v.visitor_name, v.visitor_email, v.visitor_email_key, v.visitor_phone, v.notes,
           v.needs, 'held', v.hold_expires_at, v.manage_token_hash, v.manage_token_issued,
           v.confirm_token_hash, v.waitlist_id, v.mail_language, v.booked_by, v.notify_by,
           v.channel, v.party_size, v.extra_services, v.video_url
      from choose_desk(v.point_id, desks, v.needs_step_free, v.booked_by,
                       v.starts_at, v.ends_at, null) as d(id)
     where d.id is not null
    on conflict do nothing
    returning bookings.id, bookings.desk_id into booking_id, desk_id;
    if booking_id is null then
        -- on conflict do nothing: the exclusion constraint (a writer that does not take the
        -- turn), or the reference (the per-person trigger skips a reference already used)
        reference_taken := exists (select from bookings b where b.reference = v.reference);
        return;
    end if;
    reference_taken := false;
    if message is not null then
        insert into outbox (booking_id, kind, sequence, due_at, payload, channel)
        values (booking_id, message, 0, now(), coalesce(payload, '{}'),
                case when v.visitor_email is null then 'sms' else 'email' end)
        returning id into outbox_id;
    end if;
end
$$;

-- A visitor's booking under an Idempotency-Key, in one call. `answers` are the sealed answers,
-- one per desk of `desks` (the answer names the desk, known only here; the seal needs the key,
-- which the database never sees), and the key keeps the one for the desk chosen.
--   outcome 'answered': the key has an answer already (first_*: the retry gets it back);
--   outcome 'placed':   held (booking_id, desk_id, outbox_id);
--   outcome 'taken' / 'reference_taken': nothing written.
-- A request with the same key committing meanwhile is raised as WZ004, undoing this one's
-- visit: the caller reads that request's answer.
create function book_visit(
    key_hash bytea, request_hash bytea, answers bytea[],
    v held_visit, desks text[], turn text, payload jsonb,
    out outcome text, out booking_id uuid, out desk_id text, out outbox_id bigint,
    out first_request_hash bytea, out first_status integer, out first_response bytea
)
language plpgsql as $$
declare
    placed record;
begin
    select k.request_hash, k.status_code, k.response
      into first_request_hash, first_status, first_response
      from idempotency_keys k where k.key_hash = book_visit.key_hash;
    if found then
        outcome := 'answered';
        return;
    end if;
    placed := place_held_visit(v, desks, turn, 'confirmation_request', payload);
    if placed.booking_id is null then
        outcome := case when placed.reference_taken then 'reference_taken' else 'taken' end;
        return;
    end if;
    insert into idempotency_keys (key_hash, request_hash, status_code, response, booking_id)
    values (book_visit.key_hash, book_visit.request_hash, 201,
            answers[array_position(desks, placed.desk_id)], placed.booking_id)
    on conflict do nothing;
    if not found then
        raise exception 'another request with this Idempotency-Key has committed'
            using errcode = 'WZ004';
    end if;
    outcome := 'placed';
    booking_id := placed.booking_id;
    desk_id := placed.desk_id;
    outbox_id := placed.outbox_id;
end
$$;
