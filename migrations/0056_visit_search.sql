-- The clerk's search across a point's visits by reference, name, e-mail or phone, in any case
-- and by any part: trigram indexes (pg_trgm, a trusted extension) on the lower-cased name and
-- e-mail and on the phone's digits; the reference has its unique index already.
create extension if not exists pg_trgm;
create index bookings_search_name on bookings using gin (lower(visitor_name) gin_trgm_ops);
create index bookings_search_email on bookings using gin (lower(visitor_email) gin_trgm_ops);
create index bookings_search_phone on bookings
    using gin (regexp_replace(visitor_phone, '[^0-9]', '', 'g') gin_trgm_ops);
