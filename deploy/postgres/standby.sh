#!/bin/sh
# The standby: on first start, a copy of the primary made by pg_basebackup (-R writes
# standby.signal and primary_conninfo); then PostgreSQL as a hot standby that names itself
# "standby", the name the primary's synchronous_standby_names waits for. It requires no
# standby of its own, so once promoted (pg_ctl promote) it takes writes alone.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h "$PRIMARY_HOST" -U replicator -q; do sleep 1; done
    PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h "$PRIMARY_HOST" -U replicator \
        -D "$PGDATA" -X stream -R --checkpoint=fast
    chmod 700 "$PGDATA"
fi
exec postgres \
    -c "primary_conninfo=host=$PRIMARY_HOST user=replicator password=$REPLICATION_PASSWORD application_name=standby" \
    -c hot_standby=on -c synchronous_standby_names= "$@"
