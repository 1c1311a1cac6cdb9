#!/bin/bash
# Web client benchmark: what the web client costs over the wire, before and
# after the build's compression and caching, in one run. Run from the
# repository root after `make` (`make bench` runs it).
#
# Two stacks run side by side (conf/stack.sh in temporary folders, on
# unusual loopback ports):
#   before  HS_WWW_DIR=www/ itself (no precompressed files, no versioned
#           asset URLs, so no long-lived caching) and HS_COMPRESS=0 (no
#           compression of JSON answers): the web client as it was served
#           before issue 13
#   after   the build's document root (build/www: versioned URLs, .br/.gz)
#           and JSON answers compressed, as `make run` serves it
# Each gets one user with BENCH_WEB_CHATS group chats (a message in each);
# bench/web_bench.mjs opens the web client signed in as that user in
# Debian's chromium (playwright-core) on a fresh profile: a first visit, then
# the browser started again on the same profile for a return visit. Each
# visit reports the bytes received (headers and bodies as on the wire), the
# requests, those the cache answered, and the time from navigation to the
# first chat of the list in the page, with the page's network throttled to
# BENCH_WEB_MBIT Mbit/s and BENCH_WEB_RTT_MS of latency (0 and 0: loopback).
# The figures are the median of BENCH_WEB_RUNS runs (fresh profile each),
# the runs alternating between the stacks; after/before is the ratio (the
# target: first-visit bytes at most 0.40).
#
# Everything it started is stopped on exit, error, Ctrl-C or SIGTERM;
# nothing is written into the repository.
#
# Environment:
#   BENCH_WEB_RUNS     runs per stack (3)
#   BENCH_WEB_CHATS    chats of the user (20)
#   BENCH_WEB_MBIT     throttled bandwidth, Mbit/s (10; 0 = none)
#   BENCH_WEB_RTT_MS   added latency, ms (40; 0 = none)
#   BENCH_PORT         HTTP port of before (18286; after on the next one)
#   BENCH_REDIS_PORT   Redis port of before (16398; after on the next one)
#   BENCH_WS_PORT      before's bridge (18394; its /metrics on +1; after's
#                      bridge on +2 and +3)
#   BENCH_WEB_DEBUG    1: every response of every visit on stderr
#   HS_CHROMIUM        the browser (/usr/bin/chromium)
#   HS_PROCS           processes per app (2, as in conf/stack.sh)
#   HS_BIN_DIR         the hs-* binaries (build/bin; the document root is
#                      the build's www beside it)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=web # read by lib.sh
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
runs=${BENCH_WEB_RUNS:-3}
nchats=${BENCH_WEB_CHATS:-20}
mbit=${BENCH_WEB_MBIT:-10}
rtt=${BENCH_WEB_RTT_MS:-40}
port=${BENCH_PORT:-18286}
rport=${BENCH_REDIS_PORT:-16398}
wsport=${BENCH_WS_PORT:-18394}
procs=${HS_PROCS:-2}
bindir=${HS_BIN_DIR:-$top/build/bin}
chromium=${HS_CHROMIUM:-/usr/bin/chromium}
py=/usr/bin/python3
www_after=$(dirname "$bindir")/www

for n in "$runs" "$nchats" "$mbit" "$rtt" "$port" "$rport" "$wsport" "$procs"; do
	case $n in '' | *[!0-9]*) die "expected a whole number, got '$n' (check BENCH_* and HS_PROCS)" ;; esac
done
[ "$runs" -ge 1 ] && [ "$nchats" -ge 1 ] || die "BENCH_WEB_RUNS and BENCH_WEB_CHATS must be at least 1"
for tool in curl redis-server lighttpd node; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (run conf/install-deps.sh)"
done
[ -x "$chromium" ] || die "$chromium is not installed (conf/install-deps.sh installs chromium; or set HS_CHROMIUM)"
[ -x "$bindir/hs-chats" ] || die "$bindir/hs-chats not found; run 'make' first"
[ -f "$www_after/index.html" ] || die "$www_after not found; run 'make' first (it builds the document root)"
"$top/conf/node-deps.sh" >&2 || die "conf/node-deps.sh failed (it installs playwright-core into tests/node)"

# Two stacks at once: before on the BENCH_* ports, after on the next ones.
port2=$((port + 1))
rport2=$((rport + 1))
wsport2=$((wsport + 2))
for p in "$port" "$port2" "$rport" "$rport2" "$wsport" $((wsport + 1)) "$wsport2" $((wsport2 + 1)); do
	port_in_use "$p" && die "port $p is in use; set BENCH_PORT, BENCH_REDIS_PORT, BENCH_WS_PORT"
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench-web.XXXXXX")
stack_pid=
app_pids=
node_pid=
browser_extra_pids=

# The "before" stack (browser_extra_pids) is stopped after the browsers,
# then bench_cleanup stops the "after" one (stack_pid).
bench_browser_traps

# seed LABEL PORT: the user and its chats on that stack; the session the web
# client would keep (js/session.js: no refresh token) in $tmp/session-LABEL.json.
seed() {
	local i chat token
	api="http://127.0.0.1:$2/api/v1"
	register "webbench_$1"
	token=$(json "$tmp/webbench_$1.json" 'd["access_token"]')
	"$py" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps({"access_token": d["access_token"], "session_id": d["session_id"],
                  "user": {k: d[k] for k in ("id", "username", "email", "role")}}))' \
		"$tmp/webbench_$1.json" >"$tmp/session-$1.json"
	for i in $(seq 1 "$nchats"); do
		curl -fsS -o "$tmp/chat.json" -X POST "$api/chats" -H "Authorization: Bearer $token" \
			-H 'Content-Type: application/json' \
			-d "{\"kind\":\"group\",\"name\":\"Project group $i\",\"description\":\"The group of project $i\",\"members\":[]}" ||
			die "creating chat $i failed"
		chat=$(json "$tmp/chat.json" 'd["id"]')
		curl -fsS -o /dev/null -X POST "$api/messages" -H "Authorization: Bearer $token" \
			-H 'Content-Type: application/json' \
			-d "{\"chat_id\":\"$chat\",\"content\":\"Hello group $i, here is the plan for this week.\"}" ||
			die "posting in chat $i failed"
	done
}

# The before stack (bench_start_stack uses $tmp/run and $port), then the
# after stack, each with its user.
bench_start_stack HS_WWW_DIR="$top/www" HS_COMPRESS=0 HS_WS_PORT="$wsport" HS_WS_BRIDGES=1
seed before "$port"
browser_extra_pids=$stack_pid
before_apps=$app_pids
mv "$tmp/stack.log" "$tmp/stack-before.log"
mkdir -p "$tmp/after"
port_b=$port rport_b=$rport
port=$port2 rport=$rport2
tmp_b=$tmp
tmp=$tmp/after
bench_start_stack HS_WWW_DIR="$www_after" HS_COMPRESS=1 HS_WS_PORT="$wsport2" HS_WS_BRIDGES=1
tmp=$tmp_b
port=$port_b rport=$rport_b
app_pids="$app_pids $before_apps"
seed after "$port2"

# Runs alternate between the stacks, in turn first, so that a change of
# the machine's load during the run weighs on both alike.
: >"$tmp/visits.txt"
for r in $(seq 1 "$runs"); do
	order="before after"
	[ $((r % 2)) = 1 ] || order="after before"
	for label in $order; do
		p=$port
		[ $label = before ] || p=$port2
		node "$top/bench/web_bench.mjs" --base "http://127.0.0.1:$p" --profile "$tmp/profile-$label-$r" \
			--label "$label" --session "$tmp/session-$label.json" --mbit "$mbit" --rtt-ms "$rtt" \
			>>"$tmp/visits.txt" 2>"$tmp/node.err" &
		node_pid=$!
		wait "$node_pid" || die "bench/web_bench.mjs failed: $(cat "$tmp/node.err")"
		node_pid=
		[ -z "${BENCH_WEB_DEBUG:-}" ] || sed "s/^/$label /" "$tmp/node.err" >&2
	done
done

# ---- the report
# med LABEL VISIT KEY: the median of KEY over the runs.
med() {
	awk -v l="label=$1" -v v="visit=$2" -v key="$3" '$1 == "web" && $3 == l && $4 == v {
		for (i = 5; i <= NF; i++) if (index($i, key "=") == 1) print substr($i, length(key) + 2)
	}' "$tmp/visits.txt" | sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

echo "bench machine nproc=$(nproc) load_before=\"$load_before\" runs=$runs chats=$nchats mbit=$mbit rtt_ms=$rtt"
fail=0
for visit in first return; do
	for what in bytes list_ms; do
		b=$(med before $visit $what)
		a=$(med after $visit $what)
		echo "bench web ${visit}_${what} before=$b after=$a ratio=$(ratio_of "$a" "$b")"
	done
	echo "bench web ${visit}_requests before=$(med before $visit requests) after=$(med after $visit requests) cached_before=$(med before $visit cached) cached_after=$(med after $visit cached)"
done
r=$(ratio_of "$(med after first bytes)" "$(med before first bytes)")
if awk -v r="$r" 'BEGIN {exit !(r > 0.40)}'; then
	echo "bench web: first-visit bytes ratio $r is above the 0.40 target" >&2
	fail=1
fi
exit $fail
