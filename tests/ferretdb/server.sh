#!/bin/bash
# Starts and stops the MongoDB-protocol test server of the mongo store backend:
# a PostgreSQL cluster created in a folder of the caller's (initdb, never the
# system cluster) and hs-ferretdb (tests/ferretdb/build.sh) on top of it, each
# on a free loopback port.
#
#   server.sh start DIR   # DIR empty or absent; prints the mongodb:// URI
#   server.sh stop DIR    # stops both (SIGTERM, then SIGKILL after 10 s)
#
# FerretDB listens on HS_FERRETDB_HOST (127.0.0.1; PostgreSQL stays on
# loopback). DIR/uri holds the URI, DIR/ferretdb.log and DIR/log/postgresql.log the logs. Run as root, the
# PostgreSQL programs run as the postgres user (initdb refuses root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "ferretdb/server.sh: $*" >&2; exit 1; }

pg_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    die "no PostgreSQL server programs in /usr/lib/postgresql/*/bin (conf/install-deps.sh test)"
}

# A TCP port nothing listens on now (the kernel's pick, released at once).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits up to $3 seconds for $1:$2 to accept a connection.
wait_port() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    local dir=$1 bin pgport port ferret host=${HS_FERRETDB_HOST:-127.0.0.1}
    ferret=$("$here/build.sh")
    bin=$(pg_bin)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -e "$dir/pg" ] && die "$dir/pg exists: stop that server first or use a new folder"
    mkdir -p "$dir/pg" "$dir/sock" "$dir/log"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir/pg" "$dir/sock" "$dir/log" && chmod o+x "$dir"; fi
    as_pg "$bin/initdb" -D "$dir/pg" -U hs --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -3 "$dir/initdb.log")"
    pgport=$(free_port)
    # Loopback only, a socket folder of our own; durability off: a test cluster.
    as_pg "$bin/pg_ctl" -D "$dir/pg" -l "$dir/log/postgresql.log" -w -t 60 start -o \
        "-c listen_addresses=127.0.0.1 -p $pgport -k $dir/sock -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null ||
        die "PostgreSQL did not start: $(tail -3 "$dir/log/postgresql.log")"
    echo "$pgport" >"$dir/pg.port"
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$pgport" -U hs ferretdb ||
        die "createdb ferretdb failed"
    port=$(free_port)
    setsid "$ferret" --listen-addr="$host:$port" \
        --postgresql-url="postgres://hs@127.0.0.1:$pgport/ferretdb" \
        >"$dir/ferretdb.log" 2>&1 </dev/null &
    echo $! >"$dir/ferretdb.pid"
    wait_port "$host" "$port" 30 || die "FerretDB did not listen on $port: $(tail -3 "$dir/ferretdb.log")"
    echo "mongodb://$host:$port/" >"$dir/uri"
    cat "$dir/uri"
}

stop() {
    local dir=$1 pid i
    if [ -f "$dir/ferretdb.pid" ]; then
        pid=$(cat "$dir/ferretdb.pid")
        if kill -TERM "$pid" 2>/dev/null; then
            for ((i = 0; i < 100; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/ferretdb.pid"
    fi
    if [ -f "$dir/pg/postmaster.pid" ]; then
        as_pg "$(pg_bin)/pg_ctl" -D "$dir/pg" -m fast -w -t 10 stop >/dev/null 2>&1 ||
            as_pg "$(pg_bin)/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
}

case ${1:-} in
start) [ $# -eq 2 ] || die "usage: server.sh start DIR"; start "$2" ;;
stop) [ $# -eq 2 ] || die "usage: server.sh stop DIR"; stop "$2" ;;
*) die "usage: server.sh start|stop DIR" ;;
esac
