-- Staff management: feed tokens get an id, so they can be listed and revoked without their
-- secret, and a label saying where they are used; the audit log is read per point.

alter table feed_tokens add column id uuid not null default gen_random_uuid();
alter table feed_tokens add constraint feed_tokens_id_key unique (id);
alter table feed_tokens add column label text check (char_length(label) <= 200);
create index feed_tokens_point on feed_tokens (point_id, created_at);

create index audit_log_point on audit_log (point_id, id desc);
