-- Staff accounts, their sessions, failed logins, the audit log and staff feed tokens.

create table staff_accounts (
    id            uuid primary key default gen_random_uuid(),
    email         text not null,
    password_hash text not null,            -- argon2id
    role          text not null check (role in ('admin', 'staff')),
    disabled_at   timestamptz,
    created_at    timestamptz not null default now()
);
create unique index staff_accounts_email on staff_accounts (lower(email));

create table staff_points (
    staff_id uuid not null references staff_accounts (id) on delete cascade,
    point_id text not null references points (id) on delete cascade,
    primary key (staff_id, point_id)
);

create table staff_sessions (
    token_hash   bytea primary key,         -- sha256 of a 256-bit token; the token is shown once
    staff_id     uuid not null references staff_accounts (id) on delete cascade,
    csrf_hash    bytea not null,
    created_at   timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    expires_at   timestamptz not null,      -- absolute expiry
    revoked_at   timestamptz
);
create index staff_sessions_staff on staff_sessions (staff_id);

-- Failed logins, per account (scope 'account') and per client address (scope 'address').
create table login_failures (
    id        bigint generated always as identity primary key,
    scope     text not null check (scope in ('account', 'address')),
    key       text not null,
    failed_at timestamptz not null default now()
);
create index login_failures_key on login_failures (scope, key, failed_at);

create table audit_log (
    id        bigint generated always as identity primary key,
    staff_id  uuid references staff_accounts (id) on delete set null,
    staff_email text,
    at        timestamptz not null default now(),
    action    text not null,
    entity    text not null,
    entity_id text,
    point_id  text,
    before    jsonb,
    after     jsonb
);
create index audit_log_at on audit_log (at desc);

create table feed_tokens (
    token_hash bytea primary key,
    point_id   text not null references points (id) on delete cascade,
    created_by uuid references staff_accounts (id) on delete set null,
    -- which personal data the feed shows; default none (reference, service, language only)
    show_names boolean not null default false,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);
