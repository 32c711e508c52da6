#!/bin/sh
# loadscope PostgreSQL 15 entrypoint: the official postgres image's semantics,
# for an image built offline from Debian packages (no pg_ctlcluster: we
# initdb straight into $PGDATA).
#
# Environment (defaults in brackets):
#   PGDATA [/var/lib/postgresql/data]   PGPORT [5432]
#   POSTGRES_USER [postgres]            POSTGRES_DB [$POSTGRES_USER]
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_HOST_AUTH_METHOD [scram-sha-256]  (scram-sha-256 | md5 | trust)
#   POSTGRES_MAX_CONNECTIONS [100]
#   LOADSCOPE_MONITOR_PASSWORD [loadscope_monitor]  (role loadscope_monitor, pg_monitor)
#   POSTGRES_INITDB_ARGS  extra initdb arguments
# Arguments: none, "postgres [-c k=v ...]", or "-c k=v ..." are server options;
# anything else is exec'd as a command (e.g. `sh` for debugging).
#
# Stopping: `docker stop` sends SIGTERM, which postgres treats as a *smart*
# shutdown (waits for every client, e.g. the app's pool, to disconnect, so
# docker would SIGKILL it after 10 s). The image format we build can't carry
# a STOPSIGNAL, so postgres is run as a child of this shell, which turns
# SIGTERM into SIGINT (fast shutdown: clients are disconnected, a clean
# checkpoint is written) in well under a second.
set -eu

PGBIN=/usr/lib/postgresql/15/bin
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGPORT="${PGPORT:-5432}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-}"
POSTGRES_HOST_AUTH_METHOD="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
POSTGRES_MAX_CONNECTIONS="${POSTGRES_MAX_CONNECTIONS:-100}"
LOADSCOPE_MONITOR_PASSWORD="${LOADSCOPE_MONITOR_PASSWORD:-loadscope_monitor}"
POSTGRES_INITDB_ARGS="${POSTGRES_INITDB_ARGS:-}"
SOCKDIR="${PGSOCKETDIR:-/var/run/postgresql}"

log() { echo "loadscope-postgres: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Server options or a foreign command?
if [ "$#" -gt 0 ] && [ "$1" = postgres ]; then
    shift
fi
if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi

case "$POSTGRES_MAX_CONNECTIONS" in
    ''|*[!0-9]*) die "POSTGRES_MAX_CONNECTIONS must be a number, got '$POSTGRES_MAX_CONNECTIONS'" ;;
esac
case "$PGPORT" in
    ''|*[!0-9]*) die "PGPORT must be a number, got '$PGPORT'" ;;
esac
case "$POSTGRES_HOST_AUTH_METHOD" in
    scram-sha-256|md5|trust) ;;
    *) die "POSTGRES_HOST_AUTH_METHOD must be scram-sha-256, md5 or trust" ;;
esac

# As root: prepare directories, then re-run this script as postgres.
# setpriv is in util-linux (part of every Debian minbase), unlike gosu.
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" "$SOCKDIR"
    chown postgres:postgres "$PGDATA" "$SOCKDIR"
    chmod 700 "$PGDATA"
    chmod 2775 "$SOCKDIR"
    # HOME: psql/initdb must not look into /root.
    HOME=/var/lib/postgresql exec setpriv --reuid=postgres --regid=postgres --init-groups \
        "$0" "$@"
fi

if [ ! -w "$SOCKDIR" ]; then
    # Not root and the socket dir isn't ours (e.g. `--user` with another uid).
    SOCKDIR="$PGDATA"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        die "POSTGRES_PASSWORD is empty: set it, or POSTGRES_HOST_AUTH_METHOD=trust (no password)"
    fi
    log "initialising database in $PGDATA (user=$POSTGRES_USER db=$POSTGRES_DB auth=$POSTGRES_HOST_AUTH_METHOD)"
    pwfile=""
    if [ -n "$POSTGRES_PASSWORD" ]; then
        # A private temp file, not the command line: ps would show it.
        pwfile="$(umask 077; mktemp)"
        printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    fi
    # C.UTF-8 ships with libc: no locales package needed, UTF-8 encoding.
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is word-split on purpose
    "$PGBIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
        ${pwfile:+"--pwfile=$pwfile"} $POSTGRES_INITDB_ARGS >&2
    if [ -n "$pwfile" ]; then rm -f "$pwfile"; fi

    # Host connections only from loopback (the server listens nowhere else);
    # the unix socket stays trust for this script and local admin.
    cat > "$PGDATA/pg_hba.conf" <<EOF
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   $POSTGRES_HOST_AUTH_METHOD
host    all       all   ::1/128        $POSTGRES_HOST_AUTH_METHOD
EOF
    echo "password_encryption = 'scram-sha-256'" >> "$PGDATA/postgresql.conf"

    # Temporary server on the unix socket only, so nothing (app, healthcheck
    # on 127.0.0.1) can connect before set-up is complete.
    "$PGBIN/pg_ctl" -D "$PGDATA" -w -t 60 \
        -o "-c listen_addresses='' -c port=$PGPORT -c unix_socket_directories=$SOCKDIR" start >&2

    psql_init() {
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PGPORT" -U "$POSTGRES_USER" "$@"
    }
    if [ "$POSTGRES_DB" != postgres ]; then
        psql_init -d postgres -v db="$POSTGRES_DB" <<'EOSQL'
CREATE DATABASE :"db";
EOSQL
    fi
    # pg_monitor: reads all of pg_stat_activity (query text of every role),
    # pg_stat_* and pg_settings, without being a superuser.
    psql_init -d postgres -v pw="$LOADSCOPE_MONITOR_PASSWORD" <<'EOSQL'
CREATE ROLE loadscope_monitor LOGIN PASSWORD :'pw';
GRANT pg_monitor TO loadscope_monitor;
EOSQL
    # Same hook as the official image: *.sql and *.sh run once, in order.
    if [ -d /docker-entrypoint-initdb.d ]; then
        for f in /docker-entrypoint-initdb.d/*; do
            case "$f" in
                *.sh) log "running $f"; . "$f" ;;
                *.sql) log "running $f"; psql_init -d "$POSTGRES_DB" -f "$f" ;;
                *) ;;
            esac
        done
    fi

    "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >&2
    log "initialisation complete"
fi

log "starting postgres on 127.0.0.1:$PGPORT (max_connections=$POSTGRES_MAX_CONNECTIONS)"
# Settings on the command line, not in postgresql.conf, so a changed env
# takes effect on the next start even with an existing $PGDATA.
"$PGBIN/postgres" -D "$PGDATA" \
    -c listen_addresses=127.0.0.1 \
    -c port="$PGPORT" \
    -c unix_socket_directories="$SOCKDIR" \
    -c max_connections="$POSTGRES_MAX_CONNECTIONS" \
    "$@" &
pid=$!

# SIGTERM/SIGINT -> fast shutdown; SIGQUIT -> immediate; SIGHUP -> reload.
trap 'kill -INT "$pid" 2>/dev/null || true' TERM INT
trap 'kill -QUIT "$pid" 2>/dev/null || true' QUIT
trap 'kill -HUP "$pid" 2>/dev/null || true' HUP

# `wait` returns early whenever a trapped signal arrives; loop until the
# postmaster itself has exited (kill -0 still succeeds on an unreaped child).
status=0
while :; do
    set +e
    wait "$pid"
    status=$?
    set -e
    kill -0 "$pid" 2>/dev/null || break
done
log "postgres exited with status $status"
exit "$status"
