-- Fair access: proof-of-work difficulty per point, and secrets shared by every replica.

-- ALTCHA difficulty: the largest number a client may have to try (0 turns the check off).
alter table points add column pow_max_number integer not null default 50000
    check (pow_max_number between 0 and 10000000);

-- Server-side secrets generated on first use, so replicas agree without configuration.
create table app_secrets (
    name       text primary key,
    value      bytea not null,
    created_at timestamptz not null default now()
);
