-- Indexes for the staff search (booking/search.py): any part of a name or e-mail (ILIKE) and the
-- digits of a phone, by trigrams (pg_trgm, a trusted extension); the reference has its unique
-- index already.
create extension if not exists pg_trgm;
create index bookings_search_name on bookings using gin (visitor_name gin_trgm_ops);
create index bookings_search_email on bookings using gin (visitor_email gin_trgm_ops);
create index bookings_search_phone on bookings
    using gin (regexp_replace(coalesce(visitor_phone, ''), '\D', '', 'g') gin_trgm_ops);
