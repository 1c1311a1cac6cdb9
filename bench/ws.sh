#!/bin/bash
# WebSocket benchmark: the bridge (hs-ws-bridge) against three baselines
# measured in the same run with the same load generator. Run from the
# repository root after `make` (`make bench` runs it last).
#
# It starts its own stack (conf/stack.sh: Redis, one bridge, lighttpd and
# the apps) in a temporary folder on unusual loopback ports, registers two
# users and makes two group chats through the API, seeds BENCH_WS_IDLE
# (10,000) more users straight into SQLite with their sessions and access
# tokens (bench/ws_seed.py), the first BENCH_WS_SUBS (1,000) of them members
# of the fan-out chat, compiles bench/wsload.c (a C epoll load generator:
# RFC 6455 client, RESP subscriber and publisher, HTTP publisher) and runs:
#
#   idle     BENCH_WS_IDLE idle WebSocket connections on the bridge (each a
#            different user): bridge RSS delta per connection (< 16 KB).
#   fan-out  BENCH_WS_SUBS subscribers of one channel, BENCH_WS_RATES
#            (100,200,500) messages/s for BENCH_WS_SECONDS (10) each,
#            200-byte events, through each system's natural publish path:
#              redis  raw PUBLISH to BENCH_WS_SUBS SUBSCRIBE connections (the floor)
#              nchan  nginx + nchan on the same Redis, WebSocket subscribers,
#                     fed by HTTP POST to nchan's publisher endpoint
#              node   a Node.js relay on ws + ioredis (bench/node-relay)
#              ours   the apps' events script (EVAL: XADD + PUBLISH) on the
#                     channel of a real group chat, subscribers on the bridge
#            delivered events/s, latency p50/p99 (publisher to subscriber),
#            lost events, and the server's CPU per delivery (utime + stime of
#            its processes and of Redis, from /proc/<pid>/stat).
#   e2e      POST /api/v1/messages through lighttpd at BENCH_WS_E2E_RATE
#            (100) messages/s; a subscriber on lighttpd's /ws measures the
#            latency from just before the POST to receipt.
#
# The load generator shares the machine's cores with the server, as the
# baselines' figures assume. Everything it started is stopped on exit,
# error, Ctrl-C or SIGTERM; nothing is written into the repository (but
# bench/node-relay/node_modules, installed by bench/deps.sh).
#
# Environment:
#   BENCH_WS_SYSTEMS     fan-out systems, in order ("redis nchan node ours")
#   BENCH_WS_RATES       messages/s of the load points (100,200,500)
#   BENCH_WS_SECONDS     seconds per load point (10)
#   BENCH_WS_SUBS        fan-out subscribers (1000)
#   BENCH_WS_IDLE        idle connections, also the seeded users (10000); 0 skips
#   BENCH_WS_HOLD        seconds the idle connections are held after the memory is
#                        read (27: one round of the bridge's 25 s heartbeat)
#   BENCH_WS_SIZE        bytes per event (200)
#   BENCH_WS_DRAIN       seconds a point's last events may take to arrive (3)
#   BENCH_WS_E2E_RATE    POSTs/s of the end-to-end measurement (100); 0 skips
#   BENCH_WS_E2E_SECONDS its duration (10)
#   BENCH_PORT           HTTP port (18383)
#   BENCH_REDIS_PORT     Redis port (16395)
#   BENCH_WS_PORT        the bridge's port (18390; its /metrics on +1)
#   BENCH_NCHAN_PORT     nginx port (18386)
#   BENCH_NODE_PORT      Node relay port (18387)
#   HS_PROCS             processes per app (2, as in conf/stack.sh)
#   HS_BIN_DIR           the hs-* binaries (build/bin)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=ws # read by lib.sh
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
systems=${BENCH_WS_SYSTEMS:-redis nchan node ours}
rates=${BENCH_WS_RATES:-100,200,500}
seconds=${BENCH_WS_SECONDS:-10}
subs=${BENCH_WS_SUBS:-1000}
idle=${BENCH_WS_IDLE:-10000}
hold=${BENCH_WS_HOLD:-27}
size=${BENCH_WS_SIZE:-200}
drain=${BENCH_WS_DRAIN:-3}
e2e_rate=${BENCH_WS_E2E_RATE:-100}
e2e_seconds=${BENCH_WS_E2E_SECONDS:-10}
port=${BENCH_PORT:-18383}
rport=${BENCH_REDIS_PORT:-16395}
wsport=${BENCH_WS_PORT:-18390}
nchan_port=${BENCH_NCHAN_PORT:-18386}
node_port=${BENCH_NODE_PORT:-18387}
procs=${HS_PROCS:-2}
bindir=${HS_BIN_DIR:-$top/build/bin}
py=/usr/bin/python3
target_kb=16

for n in "$seconds" "$subs" "$idle" "$hold" "$size" "$drain" "$e2e_rate" "$e2e_seconds" "$port" "$rport" \
	"$wsport" "$nchan_port" "$node_port" "$procs"; do
	case $n in '' | *[!0-9]*) die "expected a whole number, got '$n' (check BENCH_* and HS_PROCS)" ;; esac
done
case $rates in '' | *[!0-9,]* | ,* | *, | *,,*) die "BENCH_WS_RATES must be numbers separated by commas" ;; esac
[ "$seconds" -ge 1 ] && [ "$subs" -ge 1 ] || die "BENCH_WS_SECONDS and BENCH_WS_SUBS must be at least 1"
[ "$idle" -eq 0 ] || [ "$idle" -ge "$subs" ] || die "BENCH_WS_IDLE must be 0 or at least BENCH_WS_SUBS"
for s in $systems; do
	case $s in redis | nchan | node | ours) ;; *) die "unknown system '$s' in BENCH_WS_SYSTEMS" ;; esac
done

"$top/bench/deps.sh" || die "bench/deps.sh failed"
nchan_so=/usr/lib/nginx/modules/ngx_nchan_module.so
for tool in curl redis-server redis-cli lighttpd nginx node cc "$py"; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (run conf/install-deps.sh and bench/deps.sh)"
done
[ -f "$nchan_so" ] || die "$nchan_so not found (bench/deps.sh installs libnginx-mod-nchan)"
[ -x "$bindir/hs-ws-bridge" ] && [ -x "$bindir/hs-chats" ] || die "$bindir/hs-ws-bridge not found; run 'make' first"

# Each idle connection holds a descriptor here and one in the bridge.
need_fds=$((idle > subs ? idle : subs))
need_fds=$((need_fds + 512))
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$need_fds" ] || ulimit -Hn "$need_fds" 2>/dev/null ||
	die "$need_fds descriptors are needed; the hard limit is $(ulimit -Hn) (raise it, or lower BENCH_WS_IDLE)"
ulimit -n "$(ulimit -Hn)"

bench_ports_free
for p in "$wsport" $((wsport + 1)) "$nchan_port" "$node_port"; do
	port_in_use "$p" && die "port $p is in use; set BENCH_WS_PORT, BENCH_NCHAN_PORT or BENCH_NODE_PORT"
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
t_start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench-ws.XXXXXX")
stack_pid=
app_pids=
seed_pid=
load_pid=
nginx_pid=
node_pid=

# The processes of this script go first (load generator, nginx, the relay),
# then bench_cleanup stops the stack and removes the temporary folder.
ws_cleanup() {
	local rc=$? p
	set +e # (exit rc) below must not end the script here
	for p in $load_pid $node_pid $nginx_pid; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	load_pid='' node_pid='' nginx_pid=''
	(exit "$rc")
	bench_cleanup
}
trap ws_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

echo "bench ws: building the load generator" >&2
cc -O2 -Wall -I"$top/lib/include" -o "$tmp/wsload" "$top/bench/wsload.c" || die "cannot compile bench/wsload.c"

# The message rate limit (a GCRA of HS_MESSAGE_BURST at once, then
# HS_MESSAGE_RATE a second) is lifted far above the e2e sender's rate.
base="http://127.0.0.1:$port"
api="$base/api/v1"
bench_start_stack HS_WS_PORT="$wsport" HS_WS_BRIDGES=1 HS_REGISTER_IP_BURST=1000 \
	HS_MESSAGE_BURST=100000 HS_MESSAGE_RATE=1000
db="$tmp/run/data/hypersend.db"
[ -f "$db" ] || die "no database at $db"
redis_pid=$(pgrep -P "$stack_pid" -x redis-server | head -1 || true)
bridge_pid=$(pgrep -P "$stack_pid" -x hs-ws-bridge | head -1 || true)
[ -n "$redis_pid" ] || die "cannot find the stack's redis-server"
[ -n "$bridge_pid" ] || die "cannot find the stack's hs-ws-bridge"

register alice
register bob
b_id=$(json "$tmp/bob.json" 'd["id"]')
a_token=$(json "$tmp/alice.json" 'd["access_token"]')
json "$tmp/bob.json" 'd["access_token"]' >"$tmp/bob.token"
create_chat() { # create_chat NAME: a group of alice (owner) and bob; prints its id
	curl -fsS -o "$tmp/chat-$1.json" -X POST "$api/chats" -H "Authorization: Bearer $a_token" \
		-H 'Content-Type: application/json' \
		-d "{\"kind\":\"group\",\"name\":\"$1\",\"members\":[\"$b_id\"]}" || die "creating chat $1 failed"
	json "$tmp/chat-$1.json" 'd["id"]'
}
group=$(create_chat wsfanout)
e2e_chat=$(create_chat wse2e)

users=$((idle > subs ? idle : subs))
echo "bench ws: stack up on $base, bridge on $wsport; seeding $users users ($subs in the group)" >&2
"$py" "$top/bench/ws_seed.py" --db "$db" --key-file "$tmp/run/secret.key" --chat "$group" \
	--users "$users" --members "$subs" --tokens "$tmp/tokens" >"$tmp/seed.json" 2>"$tmp/seed.err" &
seed_pid=$!
rc=0
wait "$seed_pid" || rc=$?
seed_pid=
[ "$rc" -eq 0 ] || die "seeding failed: $(cat "$tmp/seed.err")"
head -n "$subs" "$tmp/tokens" >"$tmp/tokens.subs"

# load NAME ARGS...: runs wsload in the background (a signal to this script
# alone is acted on at once), its report in $tmp/NAME.out.
load() {
	local name=$1 rc=0
	shift
	"$tmp/wsload" --label "$name" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	load_pid=$!
	wait "$load_pid" || rc=$?
	load_pid=
	[ "$rc" -eq 0 ] || die "wsload $name failed: $(cat "$tmp/$name.err" "$tmp/$name.out")"
}
# val NAME KIND [RATE] KEY: a figure out of a wsload report.
val() {
	local f=$tmp/$1.out kind=$2 rate key
	if [ $# -eq 4 ]; then rate=$3 key=$4; else rate='' key=$3; fi
	awk -v k="$kind" -v r="rate=$rate" -v key="$key" '$1 == "wsload" && $3 == k && (r == "rate=" || $4 == r) {
		for (i = 4; i <= NF; i++) if (index($i, key "=") == 1) {print substr($i, length(key) + 2); exit}
	}' "$f"
}
fanout() { # fanout SYSTEM ARGS...
	local s=$1
	shift
	echo "bench ws: fan-out $s: $subs subscribers, $rates msg/s x ${seconds}s" >&2
	load "$s" --conns "$subs" --rates "$rates" --seconds "$seconds" --drain "$drain" --late 30 --size "$size" "$@"
}

# 1. Idle connections, on the fresh bridge (before any fan-out has grown
# its allocator's pools).
if [ "$idle" -gt 0 ]; then
	echo "bench ws: $idle idle connections on the bridge" >&2
	load idle --port "$wsport" --path '/ws?token=%s' --tokens "$tmp/tokens" --conns "$idle" \
		--expect-hello --parallel 256 --rss-pid "$bridge_pid" --settle 2 --hold "$hold" --cpu "bridge=$bridge_pid"
fi

# 2. Fan-out, one system at a time.
for s in $systems; do
	case $s in
	redis)
		fanout redis --sub resp --port "$rport" --channel "bench:raw" --pub publish --pub-port "$rport" \
			--cpu "redis=$redis_pid"
		;;
	nchan)
		mkdir -p "$tmp/nginx"
		cat >"$tmp/nginx/nginx.conf" <<EOF
load_module $nchan_so;
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $need_fds;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections $need_fds; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  upstream bench_redis { nchan_redis_server "redis://127.0.0.1:$rport"; }
  server {
    listen 127.0.0.1:$nchan_port backlog=4096;
    location ~ ^/pub/(\w+)\$ {
      nchan_publisher;
      nchan_channel_id \$1;
      nchan_redis_pass bench_redis;
      # every event of the run stays buffered: nchan never drops one
      nchan_message_buffer_length 100000;
      nchan_message_timeout 600s;
    }
    location ~ ^/sub/(\w+)\$ {
      nchan_subscriber websocket;
      nchan_channel_id \$1;
      nchan_redis_pass bench_redis;
      nchan_subscriber_first_message newest;
    }
  }
}
EOF
		nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx/out.log" 2>&1 &
		nginx_pid=$!
		i=0
		# ready once a publish goes through, i.e. nchan has its Redis connection
		until curl -fs -o /dev/null -X POST -d ready "http://127.0.0.1:$nchan_port/pub/ready"; do
			kill -0 "$nginx_pid" 2>/dev/null || die "nginx did not start: $(cat "$tmp/nginx/out.log" "$tmp/nginx/error.log" 2>/dev/null)"
			i=$((i + 1))
			[ $i -lt 200 ] || die "nginx did not answer within 10 s"
			sleep 0.05
		done
		ngx_pids=$(echo "$nginx_pid" "$(pgrep -P "$nginx_pid" || true)" | tr ' \n' ,,)
		fanout nchan --port "$nchan_port" --path /sub/bench --pub http --pub-port "$nchan_port" \
			--pub-path /pub/bench --cpu "nginx=$ngx_pids" --cpu "redis=$redis_pid"
		kill -TERM "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
		nginx_pid=
		;;
	node)
		node "$top/bench/node-relay/relay.js" --port "$node_port" --redis-port "$rport" \
			--channel bench:node >"$tmp/node.log" 2>&1 &
		node_pid=$!
		i=0
		until grep -q '^ready' "$tmp/node.log"; do
			kill -0 "$node_pid" 2>/dev/null || die "the Node relay did not start: $(cat "$tmp/node.log")"
			i=$((i + 1))
			[ $i -lt 200 ] || die "the Node relay was not ready within 10 s"
			sleep 0.05
		done
		fanout node --port "$node_port" --path / --pub publish --pub-port "$rport" --channel bench:node \
			--cpu "node=$node_pid" --cpu "redis=$redis_pid"
		kill -TERM "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
		node_pid=
		;;
	ours)
		fanout ours --port "$wsport" --path '/ws?token=%s' --tokens "$tmp/tokens.subs" --expect-hello \
			--pub eval --pub-port "$rport" --chat "$group" --cpu "bridge=$bridge_pid" --cpu "redis=$redis_pid"
		;;
	esac
done

# 3. End to end through lighttpd: POST, store, events script, bridge, /ws.
if [ "$e2e_rate" -gt 0 ]; then
	echo "bench ws: end to end, POST /api/v1/messages at $e2e_rate/s, subscriber on $base/ws" >&2
	lighttpd_pid=$(pgrep -P "$stack_pid" -x lighttpd | head -1)
	apps_pids=$(pgrep -P "$lighttpd_pid" | tr '\n' , || true)
	load e2e --port "$port" --path '/ws?token=%s' --tokens "$tmp/bob.token" --conns 1 --expect-hello \
		--pub http --pub-port "$port" --pub-path /api/v1/messages --pub-auth "$a_token" --post-body \
		--chat "$e2e_chat" --pub-conns 4 --pub-depth 1 --rates "$e2e_rate" --seconds "$e2e_seconds" \
		--drain "$drain" --cpu "lighttpd=$lighttpd_pid" --cpu "apps=${apps_pids:-0}" --cpu "bridge=$bridge_pid" \
		--cpu "redis=$redis_pid"
fi

# ---- the report
rate_list=$(echo "$rates" | tr , ' ')
has() { [ -s "$tmp/$1.out" ] && grep -q " point " "$tmp/$1.out"; }
fmt() { awk -v v="$1" -v d="${2:-2}" 'BEGIN {if (v == "") print "-"; else printf "%.*f", d, v}'; }
sustained() { # sustained NAME RATE
	awk -v lost="$(val "$1" point "$2" lost)" -v closed="$(val "$1" point "$2" closed)" \
		-v got="$(val "$1" point "$2" delivered_per_s)" -v want="$(val "$1" point "$2" offered_per_s)" \
		'BEGIN {print (lost == 0 && closed == 0 && got >= 0.98 * want) ? "yes" : "NO"}'
}
# ratio A B: A / B, with three decimals when below 0.1.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "" || b == "" || b + 0 <= 0) {print "-"; exit}
		r = a / b; printf (r < 0.1) ? "%.3f" : "%.2f", r
	}'
}
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu" ] || cpu=$(uname -m)

{
	echo
	echo "Hypersend WebSocket benchmark"
	echo "  machine   $(nproc) CPUs, $cpu (load average before the run: $load_before)"
	echo "  load      bench/wsload (C, epoll, one process, same cores as the servers); $subs subscribers,"
	echo "            ${size}-byte events, ${seconds}s per load point, ${drain} s drain after each point"
	echo "  versions  $(redis-server --version | awk '{print $1, $3}'), nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')" \
		"+ nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null | sed 's/^[0-9]*://; s/+.*//'), node $(node --version)"
	echo
	if [ "$idle" -gt 0 ]; then
		kb=$(awk -v b="$(val idle idle bytes_per_conn)" 'BEGIN {printf "%.1f", b / 1024}')
		verdict=$(awk -v k="$kb" -v t="$target_kb" 'BEGIN {print (k < t) ? "meets" : "ABOVE"}')
		echo "  idle connections on one bridge"
		echo "    connections ready     $(val idle idle ready) of $idle in $(val idle idle connect_s) s" \
			"($(val idle idle connects_per_s)/s), $(val idle idle still_open) still open after $(val idle idle hold_s) s"
		echo "    bridge RSS            $(val idle idle rss_before_kb) KB -> $(val idle idle rss_after_kb) KB" \
			"($(val idle idle rss_after_hold_kb) KB after the hold)"
		echo "    memory / connection   $kb KB  ($verdict the target of < $target_kb KB)"
		echo "    events while joining  $(val idle idle connect_events) (presence among the $subs group members;" \
			"quiet $(val idle idle quiet_s) s after the last connect)"
		echo "    idle CPU              $(val idle idle idle_cpu_pct) % of a core over the ${hold} s hold" \
			"(heartbeats: pings answered by every connection)"
		echo
	fi
	echo "  fan-out           msg/s  offered/s  delivered/s    lost  late   p50 ms   p99 ms  CPU us/dlv (Redis)  server %  loader %  sustained"
	for s in $systems; do
		has "$s" || continue
		for r in $rate_list; do
			printf '  %-15s %7s %10s %12s %7s %5s %8s %8s %11s %7s %9s %9s  %s\n' "$s" "$r" \
				"$(val "$s" point "$r" offered_per_s)" "$(val "$s" point "$r" delivered_per_s)" \
				"$(val "$s" point "$r" lost)" "$(val "$s" point "$r" late)" \
				"$(fmt "$(val "$s" point "$r" p50_ms)")" "$(fmt "$(val "$s" point "$r" p99_ms)")" \
				"$(fmt "$(val "$s" point "$r" cpu_us_per_delivery)" 3)" \
				"($(fmt "$(val "$s" point "$r" cpu_redis_us_per_delivery)" 3))" \
				"$(fmt "$(val "$s" point "$r" cpu_pct)" 0)" "$(fmt "$(val "$s" point "$r" loader_cpu_pct)" 0)" \
				"$(sustained "$s" "$r")"
		done
	done
	echo
	echo "  CPU us/dlv: CPU time of the server's processes and of Redis per delivered event (in brackets:"
	echo "  Redis's part; server %: the same in % of one core); late: delivered after the ${drain}s drain"
	echo "  (not counted in delivered/s); lost: still missing when no more came for 1 s (or after 30 s);"
	echo "  sustained: nothing lost and delivered/s within 2% of offered. The load generator runs on the"
	echo "  same 2 cores (loader %), so a saturated system competes with it."
	if has ours; then
		echo
		echo "  ours vs baselines: ours / baseline (CPU/dlv and p99: below 1 is better; delivered/s: above 1)"
		echo "                   msg/s   CPU/dlv      p99   delivered/s   baseline"
		for b in nchan node redis; do
			has "$b" || continue
			for r in $rate_list; do
				note=
				[ "$(sustained "$b" "$r")" = yes ] || note="saturated (its p99 is queueing)"
				printf '  ours / %-8s %7s %9s %8s %13s   %s\n' "$b" "$r" \
					"$(ratio "$(val ours point "$r" cpu_us_per_delivery)" "$(val "$b" point "$r" cpu_us_per_delivery)")" \
					"$(ratio "$(val ours point "$r" p99_ms)" "$(val "$b" point "$r" p99_ms)")" \
					"$(ratio "$(val ours point "$r" delivered_per_s)" "$(val "$b" point "$r" delivered_per_s)")" \
					"${note:-sustained}"
			done
		done
	fi
	if [ "$e2e_rate" -gt 0 ] && has e2e; then
		echo
		echo "  end to end: POST /api/v1/messages -> chats app -> SQLite -> events script -> bridge -> lighttpd /ws"
		echo "    rate $e2e_rate/s for ${e2e_seconds}s: sent $(val e2e point "$e2e_rate" sent), received" \
			"$(val e2e point "$e2e_rate" received), lost $(val e2e point "$e2e_rate" lost), refused POSTs" \
			"$(val e2e point "$e2e_rate" pub_failed)"
		echo "    latency p50 $(fmt "$(val e2e point "$e2e_rate" p50_ms)") ms, p99 $(fmt "$(val e2e point "$e2e_rate" p99_ms)") ms," \
			"max $(fmt "$(val e2e point "$e2e_rate" max_ms)") ms"
		echo "    CPU per message $(fmt "$(val e2e point "$e2e_rate" cpu_us_per_delivery)" 0) us: lighttpd" \
			"$(fmt "$(val e2e point "$e2e_rate" cpu_lighttpd_us_per_delivery)" 0), apps" \
			"$(fmt "$(val e2e point "$e2e_rate" cpu_apps_us_per_delivery)" 0), bridge" \
			"$(fmt "$(val e2e point "$e2e_rate" cpu_bridge_us_per_delivery)" 0), Redis" \
			"$(fmt "$(val e2e point "$e2e_rate" cpu_redis_us_per_delivery)" 0)"
	fi
	echo
	echo "  run time $(($(date +%s) - t_start)) s"
	echo
	# Machine-readable: the load generator's own lines.
	for n in idle $systems e2e; do
		[ -s "$tmp/$n.out" ] && sed 's/^wsload /bench ws /' "$tmp/$n.out"
	done
}

for s in $systems e2e; do
	[ -s "$tmp/$s.out" ] || continue
	e=$(val "$s" 'done' error)
	[ -z "$e" ] || [ "$e" = none ] || echo "bench ws: $s: first error seen: $e" >&2
done
