#!/bin/bash
# Chats benchmark: sending messages, loading history pages in a small and a
# huge chat, and full-text search over a million messages, all through
# lighttpd with wrk. Run from the repository root after `make`. See
# bench/README.md ("Chats benchmark") for what the figures mean.
#
# It starts its own stack (conf/stack.sh) in a temporary folder on unusual
# loopback ports with the per-user message rate limit lifted, registers two
# users, creates three group chats through the API, then seeds
# BENCH_SMALL (10,000) messages into one chat and BENCH_LARGE (1,000,000)
# into another straight into the SQLite file (bench/chats_seed.py: one
# transaction while the stack runs; the FTS triggers index every row), and
# measures:
#   history_10k / history_1m     GET /api/v1/messages/{chat}?limit=50
#   history_deep_10k / _1m       the same with before=<an id 1% from the oldest>
#   search_rare / search_common  GET /api/v1/messages/search?q=<word>&limit=20
#   send                         POST /api/v1/messages into the third chat
# The read targets run with few connections (BENCH_LAT_CONNECTIONS, by
# default one per app process) so that p99 is the request's own latency,
# not time spent queued behind others; the send target runs with
# BENCH_CONNECTIONS to measure throughput. Targets: p99 1M/10k <= 1.5 for
# history, p99 < 50 ms for search. Everything it started is stopped on exit,
# error, Ctrl-C or SIGTERM; nothing is written into the repository.
#
# Environment:
#   BENCH_ROUNDS           rounds of the read measurements (3; medians reported)
#   BENCH_SECONDS          wrk duration of each read measurement (3)
#   BENCH_SEND_SECONDS     wrk duration of the send measurement (10)
#   BENCH_WARMUP           warm-up seconds before each, 0 to skip (1)
#   BENCH_THREADS          wrk threads for send (2)
#   BENCH_CONNECTIONS      wrk connections for send (32)
#   BENCH_LAT_CONNECTIONS  wrk connections for the reads (HS_PROCS)
#   BENCH_SMALL            messages in the small chat (10000)
#   BENCH_LARGE            messages in the large chat (1000000)
#   BENCH_PORT             HTTP port (18282)
#   BENCH_REDIS_PORT       Redis port (16394)
#   HS_PROCS               processes per app (2, as in conf/stack.sh)
#   HS_BIN_DIR             the hs-* binaries (build/bin)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=chats
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
rounds=${BENCH_ROUNDS:-3}
seconds=${BENCH_SECONDS:-3}
send_seconds=${BENCH_SEND_SECONDS:-10}
warmup=${BENCH_WARMUP:-1}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-32}
procs=${HS_PROCS:-2}
lat_conns=${BENCH_LAT_CONNECTIONS:-$procs}
small=${BENCH_SMALL:-10000}
large=${BENCH_LARGE:-1000000}
port=${BENCH_PORT:-18282}
rport=${BENCH_REDIS_PORT:-16394}
bindir=${HS_BIN_DIR:-$top/build/bin}
py=/usr/bin/python3
target_ratio=1.5
target_search_ms=50


for n in "$rounds" "$seconds" "$send_seconds" "$warmup" "$threads" "$conns" "$lat_conns" "$small" "$large" \
	"$port" "$rport" "$procs"; do
	case $n in '' | *[!0-9]*) die "expected a whole number, got '$n' (check BENCH_* and HS_PROCS)" ;; esac
done
[ "$rounds" -ge 1 ] && [ "$seconds" -ge 1 ] && [ "$send_seconds" -ge 1 ] ||
	die "BENCH_ROUNDS, BENCH_SECONDS and BENCH_SEND_SECONDS must be at least 1"
[ "$lat_conns" -ge 1 ] && [ "$conns" -ge 1 ] && [ "$threads" -ge 1 ] || die "connections and threads must be at least 1"
[ "$small" -ge 100 ] && [ "$large" -ge 100 ] || die "BENCH_SMALL and BENCH_LARGE must be at least 100"
for tool in wrk curl redis-server redis-cli lighttpd "$py"; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (run conf/install-deps.sh)"
done
[ -x "$bindir/hs-chats" ] || die "$bindir/hs-chats not found; run 'make' first"

bench_ports_free

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench-chats.XXXXXX")
stack_pid=
app_pids=
wrk_pid=
seed_pid=

# True while PID is a live (not zombie) process of one of our hs-* apps.

# Stops wrk and the seeder if running, then the stack (stack.sh stops redis
# and lighttpd, lighttpd its apps), makes sure the app processes seen during
# the run are gone, then removes the temporary folder and its database.
bench_traps

# The message rate limit is a GCRA of HS_MESSAGE_BURST messages at once,
# then HS_MESSAGE_RATE a second: 100,000 + 1,000/s is far above what one
# user sends in this run (a 429 would show in the "failed" column). Searches
# are limited per user too (search_burst, one more a search_period): the
# run makes tens of thousands from one user, so the burst is lifted alike.
base="http://127.0.0.1:$port"
api="$base/api/v1"
bench_start_stack HS_REGISTER_IP_BURST=1000 HS_MESSAGE_BURST=100000 HS_MESSAGE_RATE=1000 \
	HS_SEARCH_BURST=100000
db="$tmp/run/data/hypersend.db"
[ -f "$db" ] || die "no database at $db"

register alice
register bob
a_id=$(json "$tmp/alice.json" 'd["id"]')
b_id=$(json "$tmp/bob.json" 'd["id"]')
token=$(json "$tmp/alice.json" 'd["access_token"]')
auth="Authorization: Bearer $token"

# label N: 10000 -> 10k, 1000000 -> 1m.
label() {
	if [ $(($1 % 1000000)) -eq 0 ]; then
		echo "$(($1 / 1000000))m"
	elif [ $(($1 % 1000)) -eq 0 ]; then
		echo "$(($1 / 1000))k"
	else
		echo "$1"
	fi
}
ls_=$(label "$small")
ll_=$(label "$large")

# create_chat NAME: a group of alice (owner) and bob; prints its id.
create_chat() {
	curl -fsS -o "$tmp/chat-$1.json" -X POST "$api/chats" -H "$auth" -H 'Content-Type: application/json' \
		-d "{\"kind\":\"group\",\"name\":\"$1\",\"members\":[\"$b_id\"]}" || die "creating chat $1 failed"
	json "$tmp/chat-$1.json" 'd["id"]'
}
small_chat=$(create_chat "bench$ls_")
large_chat=$(create_chat "bench$ll_")
send_chat=$(create_chat benchsend)

echo "bench chats: stack up on $base (HS_PROCS=$procs); seeding $small + $large messages" >&2
"$py" "$top/bench/chats_seed.py" --db "$db" --small-chat "$small_chat" --large-chat "$large_chat" \
	--senders "$a_id,$b_id" --small "$small" --large "$large" >"$tmp/seed.json" 2>"$tmp/seed.err" &
seed_pid=$!
rc=0
wait "$seed_pid" || rc=$?
seed_pid=
[ "$rc" -eq 0 ] || die "seeding failed: $(cat "$tmp/seed.err")"
seed_s=$(json "$tmp/seed.json" 'd["insert_s"]')
seed_rps=$(json "$tmp/seed.json" 'd["rows_per_s"]')
seed_n=$(json "$tmp/seed.json" 'd["messages"]')
db_mib=$(json "$tmp/seed.json" 'd["db_mib"]')
small_old=$(json "$tmp/seed.json" 'd["chats"]["small"]["old_id"]')
large_old=$(json "$tmp/seed.json" 'd["chats"]["large"]["old_id"]')
rare=$(json "$tmp/seed.json" 'd["rare"]["word"]')
rare_hits=$(json "$tmp/seed.json" 'd["rare"]["hits"]')
common=$(json "$tmp/seed.json" 'd["common"]["word"]')
common_hits=$(json "$tmp/seed.json" 'd["common"]["hits"]')

# The measured URLs, each checked once: 200 and a full page.
u_hist_s="$api/messages/$small_chat?limit=50"
u_hist_l="$api/messages/$large_chat?limit=50"
u_deep_s="$api/messages/$small_chat?limit=50&before=$small_old"
u_deep_l="$api/messages/$large_chat?limit=50&before=$large_old"
u_rare="$api/messages/search?q=$rare&limit=20"
u_common="$api/messages/search?q=$common&limit=20"
check() { # check URL MIN_ITEMS
	local code
	code=$(curl -s -o "$tmp/check.json" -w '%{http_code}' -H "$auth" "$1")
	[ "$code" = 200 ] || die "GET $1 answered $code: $(head -c 300 "$tmp/check.json")"
	local n
	n=$(json "$tmp/check.json" 'len(d["items"])')
	[ "$n" -ge "$2" ] || die "GET $1 gave $n items, expected at least $2"
}
check "$u_hist_s" 50
check "$u_hist_l" 50
check "$u_deep_s" 50
check "$u_deep_l" 50
check "$u_rare" 1
check "$u_common" 20
code=$(curl -s -o "$tmp/check.json" -w '%{http_code}' -X POST "$api/messages" \
	-H "$auth" -H 'Content-Type: application/json' -d "{\"chat_id\":\"$send_chat\",\"content\":\"hello\"}")
[ "$code" = 201 ] || die "POST /api/v1/messages answered $code: $(head -c 300 "$tmp/check.json")"

# wrk runs in the background and is waited for, so that a signal sent to
# this script alone is acted on at once.

# run_wrk NAME URL SECONDS THREADS CONNECTIONS WARMUP [wrk args...]: the
# report goes to $tmp/NAME.txt.

# wrk_pct_ms FILE PCT: that latency percentile in ms.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1}
	END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "bench chats: seeded in ${seed_s} s; reads: $rounds rounds of wrk -t1 -c$lat_conns -d${seconds}s," \
	"send: wrk -t$threads -c$conns -d${send_seconds}s, warm-up ${warmup}s" >&2
# Rounds of every read target in turn (small and large chat alternating),
# so that a passing burst of other work on the machine hits all alike; each
# figure is the median over the rounds. Every measurement has its warm-up:
# besides warming the cache, it lets the slow requests still running from
# the previous target (a common-word search takes hundreds of ms) finish
# first. Without it they would stall the first requests measured, and wrk's
# coordinated-omission correction turns one such stall into hundreds of
# latency samples, which is enough to move a p99.
reads="hist_s hist_l deep_s deep_l rare common"
for r in $(seq "$rounds"); do
	for n in $reads; do
		eval "u=\$u_$n"
		run_wrk "$n.$r" "$u" "$seconds" 1 "$lat_conns" "$warmup" -H "$auth"
	done
done
# Last, into its own chat: the seeded chats stay as they were for the reads.
BENCH_TOKEN=$token BENCH_CHAT=$send_chat run_wrk send.1 "$api/messages" "$send_seconds" \
	"$threads" "$conns" "$warmup" -s "$top/bench/chats_send.lua"

names="$reads send"
for n in $names; do
	rr=$(seq "$rounds")
	[ "$n" = send ] && rr=1
	rps= p50= p99= err=0
	for r in $rr; do
		f="$tmp/$n.$r.txt"
		v=$(wrk_rps "$f")
		[ -n "$v" ] || die "could not read wrk's report for $n: $(cat "$f")"
		rps="$rps $v"
		p50="$p50 $(wrk_pct_ms "$f" 50)"
		p99="$p99 $(wrk_pct_ms "$f" 99)"
		err=$((err + $(wrk_errors "$f")))
	done
	# shellcheck disable=SC2086 # word splitting of the lists is wanted
	eval "rps_$n=$(median $rps) p50_$n=$(median $p50) p99_$n=$(median $p99) err_$n=$err"
	eval "p99s_$n=$(echo $p99 | tr ' ' ,)"
done
ratio_hist=$(ratio_of "$p99_hist_l" "$p99_hist_s")
ratio_deep=$(ratio_of "$p99_deep_l" "$p99_deep_s")
verdict_ratio() { awk -v r="$1" -v t="$target_ratio" 'BEGIN {print (r <= t) ? "meets" : "ABOVE"}'; }
verdict_ms() { awk -v v="$1" -v t="$target_search_ms" 'BEGIN {print (v < t) ? "meets" : "ABOVE"}'; }

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu" ] || cpu=$(uname -m)
row() { # row LABEL NAME
	local n=$2
	eval "printf '  %-44s %10s %9s %9s %7s\n' \"\$1\" \"\$rps_$n\" \"\$p50_$n\" \"\$p99_$n\" \"\$err_$n\""
}

cat <<EOF

Hypersend chats benchmark
  machine   $(nproc) CPUs, $cpu (load average before the run: $load_before)
  stack     lighttpd $(lighttpd -v 2>/dev/null | sed -n 's/^lighttpd\/\([^ ]*\).*/\1/p'), HS_PROCS=$procs processes per app
  data      $small + $large messages seeded straight into SQLite in ${seed_s} s ($seed_rps rows/s,
            FTS triggers on), database ${db_mib} MiB
  load      reads: $rounds rounds of wrk -t1 -c$lat_conns -d${seconds}s --latency, medians;
            send: wrk -t$threads -c$conns -d${send_seconds}s --latency (warm-up ${warmup}s)

  measurement                                  requests/s  p50 (ms)  p99 (ms)  failed
EOF
row "send POST /api/v1/messages" send
row "history newest 50, $ls_ chat" hist_s
row "history newest 50, $ll_ chat" hist_l
row "history deep page (before=), $ls_ chat" deep_s
row "history deep page (before=), $ll_ chat" deep_l
row "search rare word ($rare_hits hits)" rare
row "search common word ($common_hits hits)" common
echo
printf '  %-44s %7s     (%s the target of <= %s)\n' \
	"history p99 $ll_/$ls_, newest page" "$ratio_hist" "$(verdict_ratio "$ratio_hist")" "$target_ratio" \
	"history p99 $ll_/$ls_, deep page" "$ratio_deep" "$(verdict_ratio "$ratio_deep")" "$target_ratio"
printf '  %-44s %7s ms  (%s the target of < %s ms)\n' \
	"search p99, rare word '$rare'" "$p99_rare" "$(verdict_ms "$p99_rare")" "$target_search_ms" \
	"search p99, common word '$common'" "$p99_common" "$(verdict_ms "$p99_common")" "$target_search_ms"
echo

# Machine-readable: one line per metric (p99_rounds: each round's p99).
echo "bench chats machine nproc=$(nproc) hs_procs=$procs rounds=$rounds seconds=$seconds read_connections=$lat_conns send_threads=$threads send_connections=$conns send_seconds=$send_seconds"
echo "bench chats seed messages=$seed_n seconds=$seed_s rows_per_s=$seed_rps db_mib=$db_mib"
echo "bench chats send rps=$rps_send p50_ms=$p50_send p99_ms=$p99_send failed=$err_send"
echo "bench chats history_$ls_ rps=$rps_hist_s p50_ms=$p50_hist_s p99_ms=$p99_hist_s failed=$err_hist_s p99_rounds=$p99s_hist_s"
echo "bench chats history_$ll_ rps=$rps_hist_l p50_ms=$p50_hist_l p99_ms=$p99_hist_l failed=$err_hist_l p99_rounds=$p99s_hist_l ratio=$ratio_hist"
echo "bench chats history_deep_$ls_ rps=$rps_deep_s p50_ms=$p50_deep_s p99_ms=$p99_deep_s failed=$err_deep_s p99_rounds=$p99s_deep_s"
echo "bench chats history_deep_$ll_ rps=$rps_deep_l p50_ms=$p50_deep_l p99_ms=$p99_deep_l failed=$err_deep_l p99_rounds=$p99s_deep_l ratio=$ratio_deep"
echo "bench chats search_rare rps=$rps_rare p50_ms=$p50_rare p99_ms=$p99_rare failed=$err_rare p99_rounds=$p99s_rare hits=$rare_hits word=$rare"
echo "bench chats search_common rps=$rps_common p50_ms=$p50_common p99_ms=$p99_common failed=$err_common p99_rounds=$p99s_common hits=$common_hits word=$common"

for n in $names; do
	eval "e=\$err_$n"
	[ "$e" -eq 0 ] || die "some requests failed (see the 'failed' column)"
done
