#!/bin/sh
# Run once by the postgres image's entrypoint when the primary's data directory is created
# (/docker-entrypoint-initdb.d). A role the standby replicates with, a pg_hba line that lets it,
# and from the next start on: no commit is acknowledged before the standby has it on disk.
# (Not on the command line: the entrypoint's first, temporary server would then wait for a
# standby that cannot exist yet.)
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
create role replicator with replication login password '${REPLICATION_PASSWORD}';
alter system set synchronous_standby_names = 'standby';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
