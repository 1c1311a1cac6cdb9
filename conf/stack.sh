#!/bin/sh
# Runs the whole Hypersend stack in the foreground: redis-server, the
# WebSocket bridge(s) and lighttpd (which spawns the FastCGI apps and proxies
# /ws to the bridges), or with HS_FRONT=nginx the apps under spawn-fcgi and
# nginx built from conf/nginx.conf, or with HS_FRONT=apache Debian's apache2
# built from conf/apache.conf, whose mod_fcgid starts the apps. Ctrl-C or
# SIGTERM stops everything it started. Used by `make run`, the integration tests and the benchmarks.
#
#   conf/stack.sh run RUNDIR
#
# Environment: HS_PORT (8080), HS_REDIS_PORT (6390), HS_BIN_DIR (build/bin),
# HS_WWW_DIR (the document root: HS_BIN_DIR/../www, made by the build),
# HS_BIND (lighttpd's address, 127.0.0.1), HS_REDIS_EXTERNAL=1 (the Redis of
# HS_REDIS_HOST and HS_REDIS_PORT is another host's: none is started here),
# HS_PROCS (processes per app, 2), HS_UPLOAD_PROCS (hs-files processes for
# upload bodies, 4), HS_WS_PORT (first bridge, 8091),
# HS_WS_BRIDGES (bridges, 1; bridge i listens on HS_WS_PORT+2i and serves
# /metrics on HS_WS_PORT+2i+1), HS_SANITIZE=1 (collect ASan/UBSan logs in
# RUNDIR/logs), HS_QUIET=1 (no banner), HS_FRONT (lighttpd, or nginx:
# HS_NGINX_WORKERS worker processes, 2; HS_NGINX_KEEPALIVE=0 drops the kept
# FastCGI connections of conf/nginx.conf; or apache: as root, the apps run
# as HS_APACHE_USER, www-data), HS_EVENTS=store (no redis-server
# and no bridge at all: events, rate limits and revocation in the store,
# events by long-poll only; /ws then answers 503), HS_STORE=mongo (the
# MongoDB backend: on HS_MONGO_URI, or else on a PostgreSQL + FerretDB pair
# of this run's own, tests/ferretdb/server.sh, in RUNDIR/mongo, stopped with
# the rest). Any other HS_* key overrides config.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
[ "${1:-}" = run ] && [ -n "${2:-}" ] || { echo "usage: $0 run RUNDIR" >&2; exit 2; }
rundir=$2
port=${HS_PORT:-8080}
rport=${HS_REDIS_PORT:-6390}
front=${HS_FRONT:-lighttpd}
case $front in
lighttpd) ;;
nginx) export HS_SENDFILE_HEADER=X-Accel-Redirect ;; # conf/nginx.conf, "Downloads"
apache) ;;
*) echo "stack: HS_FRONT must be lighttpd, nginx or apache, not '$front'" >&2; exit 2 ;;
esac
# Apache serves only as an unprivileged account: started as root, its
# workers and the apps mod_fcgid starts run as apps_user
# (conf/stack-apache.sh), which cannot open root's Redis socket (0700), so
# they reach Redis over its TCP port.
apps_user=
[ "$front" = apache ] && [ "$(id -u)" = 0 ] && apps_user=${HS_APACHE_USER:-www-data}

rm -f "$rundir/ready"
mkdir -p "$rundir/data" "$rundir/sockets" "$rundir/logs" "$rundir/redis"
rundir=$(cd "$rundir" && pwd)
rsock=$rundir/redis/redis.sock
events=${HS_EVENTS:-redis}

# The signing key is made once and kept across runs, so tokens survive restarts.
if [ ! -s "$rundir/secret.key" ]; then
	(umask 077 && od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$rundir/secret.key")
fi

# store = mongo with no server named: the test server, started here and
# stopped by stop_mongo (it runs in a session of its own, out of reach of a
# Ctrl-C to this one). A previous run's pair in the folder is stopped first.
mongo_dir=
if [ "${HS_STORE:-}" = mongo ] && [ -z "${HS_MONGO_URI:-}" ]; then
	mongo_dir=$rundir/mongo
	"$top/tests/ferretdb/server.sh" stop "$mongo_dir" 2>/dev/null || true
	rm -rf "$mongo_dir"
	uri=$("$top/tests/ferretdb/server.sh" start "$mongo_dir") ||
		{ "$top/tests/ferretdb/server.sh" stop "$mongo_dir" 2>/dev/null
		  echo "stack: the MongoDB test server did not start (see $mongo_dir)" >&2; exit 1; }
	export HS_MONGO_URI="${uri}hypersend"
fi
stop_mongo() {
	[ -z "$mongo_dir" ] || "$top/tests/ferretdb/server.sh" stop "$mongo_dir" || true
}

# The runtime config: the shipped defaults, then this run's paths (later
# keys win).
{
	cat "$top/conf/hypersend.conf"
	echo "data_dir = $rundir/data"
	echo "secret_key_file = $rundir/secret.key"
	echo "redis_port = $rport"
	# The apps and bridges reach Redis over its Unix socket (cheaper per
	# request than loopback TCP); the TCP port stays open for redis-cli and
	# tests. A run folder too deep for a socket path keeps TCP.
	if [ -n "${HS_REDIS_HOST:-}" ]; then
		echo "redis_host = $HS_REDIS_HOST"
	elif [ "${#rsock}" -lt 100 ] && [ -z "$apps_user" ]; then
		echo "redis_host = $rsock"
	fi
	# events = store: no Redis anywhere (an empty redis_host says so too)
	[ "$events" = store ] && echo "redis_host =" && echo "events = store"
	echo "access_log = $rundir/logs/access.log"
	# the store, so that commands run on this config alone (hs-files
	# cleanup, hs-auth create-admin) find the same one
	[ -z "${HS_STORE:-}" ] || echo "store = $HS_STORE"
	[ -z "${HS_MONGO_URI:-}" ] || echo "mongo_uri = $HS_MONGO_URI"
} >"$rundir/hypersend.conf"

export HS_CONFIG="$rundir/hypersend.conf"
export HS_RUN_DIR="$rundir"
export HS_BIN_DIR="${HS_BIN_DIR:-$top/build/bin}"
# The document root: the build's copy of www/ beside the binaries (versioned
# asset URLs, precompressed files; conf/build-www.sh), else www/ itself.
if [ -z "${HS_WWW_DIR:-}" ]; then
	HS_WWW_DIR="$(dirname "$HS_BIN_DIR")/www"
	[ -f "$HS_WWW_DIR/index.html" ] || HS_WWW_DIR="$top/www"
fi
export HS_WWW_DIR
export HS_PORT="$port"
# lighttpd's address: loopback unless told (a host of several, behind a
# balancer, binds its own address or 0.0.0.0)
export HS_BIND="${HS_BIND:-127.0.0.1}"
export HS_DATA_DIR="$rundir/data"
export HS_PROCS="${HS_PROCS:-2}"
export HS_UPDATES_PROCS="${HS_UPDATES_PROCS:-4}"
export HS_UPLOAD_PROCS="${HS_UPLOAD_PROCS:-4}"
# lighttpd spools request bodies through files (conf/lighttpd.conf): tmpfs.
if [ -z "${HS_SPOOL_DIR:-}" ]; then
	HS_SPOOL_DIR=/dev/shm
	[ -d /dev/shm ] && [ -w /dev/shm ] || HS_SPOOL_DIR="$rundir/spool"
fi
mkdir -p "$HS_SPOOL_DIR"
export HS_SPOOL_DIR
# lighttpd's room for connections (conf/lighttpd.conf): 32768 descriptors,
# or as many as this machine lets a process have, half of them for
# connections, so that thousands of slow sockets do not fill it.
fds=32768
if ! ulimit -n "$fds" 2>/dev/null; then
	fds=$(ulimit -Hn)
	ulimit -n "$fds" 2>/dev/null || fds=$(ulimit -n)
fi
export HS_MAX_FDS="$fds"
export HS_MAX_CONNS="$((fds / 2))"
if [ "${HS_SANITIZE:-0}" = 1 ]; then
	export ASAN_OPTIONS="log_path=$rundir/logs/asan:detect_leaks=1:abort_on_error=0"
	export UBSAN_OPTIONS="log_path=$rundir/logs/ubsan:print_stacktrace=1:halt_on_error=1"
fi

# Fail early, with the app's own words, on a bad config or key.
"$HS_BIN_DIR/hs-auth" --check || { stop_mongo; exit 1; }

redis_pid=
front_pid=
watch_pid=
bridge_pids=
stop() {
	trap - INT TERM
	if [ -n "$watch_pid" ]; then
		kill "$watch_pid" 2>/dev/null || true
		wait "$watch_pid" 2>/dev/null || true
	fi
	if [ "$front" = apache ] && [ -n "$front_pid" ]; then stop_apache_front; fi
	[ -n "$front_pid" ] && kill "$front_pid" 2>/dev/null || true
	# the apps spawn-fcgi started (their own sessions: pids from its -P files)
	for f in "$rundir"/sockets/*.pid; do
		[ -f "$f" ] && kill $(cat "$f") 2>/dev/null || true
	done
	for p in $bridge_pids; do kill "$p" 2>/dev/null || true; done
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	stop_mongo
}
trap 'stop; exit 0' INT TERM

# The bridges, and the proxy list lighttpd includes for /ws.
ws_port=${HS_WS_PORT:-8091}
ws_n=${HS_WS_BRIDGES:-1}
echo 'proxy.server = ( "" => (' >"$rundir/ws-backends.conf"
if [ "$events" = store ]; then
	# Nothing listens there: /ws answers 503, as on a host without a bridge.
	echo "  ( \"host\" => \"127.0.0.1\", \"port\" => $ws_port )," >>"$rundir/ws-backends.conf"
	ws_n=0
fi

# HS_REDIS_EXTERNAL=1: HS_REDIS_HOST names a Redis elsewhere (several
# hosts share one), none is started here.
if [ "$events" != store ] && [ "${HS_REDIS_EXTERNAL:-0}" != 1 ]; then
	redis-server --bind 127.0.0.1 --port "$rport" --unixsocket "$rsock" --unixsocketperm 700 \
		--save '' --appendonly no \
		--dir "$rundir/redis" --logfile "$rundir/logs/redis.log" --daemonize no &
	redis_pid=$!
	i=0
	until redis-cli -p "$rport" ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "stack: redis-server did not start (see $rundir/logs/redis.log)" >&2; stop; exit 1; }
		sleep 0.05
	done
fi

i=0
while [ $i -lt "$ws_n" ]; do
	p=$((ws_port + 2 * i))
	echo "  ( \"host\" => \"127.0.0.1\", \"port\" => $p )," >>"$rundir/ws-backends.conf"
	HS_WS_PORT=$p HS_WS_METRICS_PORT=$((p + 1)) HS_WS_LOG="$rundir/logs/ws-bridge-$i.log" \
		"$HS_BIN_DIR/hs-ws-bridge" &
	bridge_pids="$bridge_pids $!"
	i=$((i + 1))
done
echo '))' >>"$rundir/ws-backends.conf"
i=0
until [ "$(cat "$rundir"/logs/ws-bridge-*.log 2>/dev/null | grep -c "listening on")" -ge "$ws_n" ]; do
	i=$((i + 1))
	dead=0
	for p in $bridge_pids; do kill -0 "$p" 2>/dev/null || dead=1; done
	if [ $i -ge 200 ] || [ $dead = 1 ]; then
		echo "stack: hs-ws-bridge did not start (see $rundir/logs/ws-bridge-*.log)" >&2
		stop
		exit 1
	fi
	sleep 0.05
done

if [ "$front" = nginx ]; then
	. "$top/conf/stack-nginx.sh"
	start_nginx_front
elif [ "$front" = apache ]; then
	. "$top/conf/stack-apache.sh"
	start_apache_front || { stop; exit 1; }
else
	lighttpd -D -f "$top/conf/lighttpd.conf" &
	front_pid=$!
fi
i=0
until curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -ge 200 ] || ! kill -0 "$front_pid" 2>/dev/null; then
		echo "stack: $front did not come up (see $rundir/logs/$front-error.log)" >&2
		stop
		exit 1
	fi
	sleep 0.05
done
# Started: whoever waits on this stack (the tests) starts only after this
# script's own /health requests, which would otherwise arrive mid-test.
: >"$rundir/ready"

if [ "${HS_QUIET:-0}" != 1 ]; then
	cat <<MSG

  Hypersend is running on http://127.0.0.1:$port  (Ctrl-C stops it)
  real-time events: ws://127.0.0.1:$port/ws?token=<access token>  (docs/ws.md)
  runtime folder: $rundir  (logs in $rundir/logs)

  Try:
    curl -s -X POST http://127.0.0.1:$port/api/v1/auth/register \\
      -H 'Content-Type: application/json' \\
      -d '{"username":"alice","email":"alice@example.com","password":"correct horse battery"}'

MSG
fi

# The front exiting ends the stack. Redis may go away and come back (a
# restart, a test killing it): the apps and the bridges reconnect by
# themselves, so that is only reported.
redis_said=0
while kill -0 "$front_pid" 2>/dev/null; do
	if [ $redis_said = 0 ] && [ -n "$redis_pid" ] && ! kill -0 "$redis_pid" 2>/dev/null; then
		echo "stack: redis-server exited; the apps and bridges wait for a Redis on port $rport" >&2
		redis_said=1
	fi
	sleep 1 &
	wait $! 2>/dev/null || true
done
echo "stack: $front exited; stopping" >&2
stop
exit 1
