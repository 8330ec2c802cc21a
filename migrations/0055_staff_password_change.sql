-- A password handed over by an administrator (`staff add`, a reset) is one-time: the account
-- must choose its own before it may do anything else.
alter table staff_accounts add column must_change_password boolean not null default false;
alter table staff_accounts add column password_changed_at timestamptz;
