-- The language the visitor reads their e-mails in, asked on the booking form (by default the
-- page's language): a visit talked in Polish may be written to in Ukrainian. Null: the visit's
-- own written language, as before (a sign language is written in its spoken one).
alter table bookings add column mail_language text check (mail_language in ('pl', 'en', 'uk', 'ru'));
alter table draw_entries add column mail_language text
    check (mail_language in ('pl', 'en', 'uk', 'ru'));
