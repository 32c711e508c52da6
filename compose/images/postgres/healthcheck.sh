#!/bin/sh
# Healthy once the real server accepts connections on 127.0.0.1:$PGPORT.
# During initialisation only the unix socket is open, so this stays
# unhealthy until set-up (database, monitor role) is complete.
exec /usr/lib/postgresql/15/bin/pg_isready -q -h 127.0.0.1 -p "${PGPORT:-5432}" \
    -U "${POSTGRES_USER:-postgres}" -d "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" -t 3
