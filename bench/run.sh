#!/bin/bash
# Hypersend benchmark: how close an authenticated API call gets to the front
# server's ceiling. Run from the repository root after `make` (`make bench`
# does both). See bench/README.md for what the figures mean.
#
# It starts its own stack (conf/stack.sh) in a temporary folder on unusual
# loopback ports, registers one user, then measures with wrk:
#   static   GET /bench.json  (~100 bytes, served by lighttpd itself)
#   auth_me  GET /api/v1/auth/me with a Bearer token (lighttpd -> hs-auth:
#            token check, SQLite revocation check and profile read)
#   fcgi_hop GET /api/v1/auth/me without a token: hs-auth answers 401 before
#            touching Redis or SQLite, so this is the FastCGI round trip alone
#   fastapi_auth_me  the same GET /auth/me served by bench/fastapi_app.py
#            (FastAPI + uvicorn, 2 workers, uvicorn's own HTTP, no front),
#            doing the same token and SQLite work against the same
#            database: the seed's kind of stack
# and prints requests/s, p99 latency, the ratios auth_me/static (the target is
# >= 0.5), auth_me/fcgi_hop (>= 0.8) and auth_me/fastapi_auth_me (>= 10), and
# the peak RSS (VmHWM) of every hs-auth process. Everything it
# started is stopped on exit, error or Ctrl-C (or SIGTERM); nothing is written
# into the repository.
#
# Environment:
#   BENCH_SECONDS      wrk duration per measurement (10; three measurements)
#   BENCH_WARMUP       warm-up seconds per target, 0 to skip (2)
#   BENCH_THREADS      wrk threads (2)
#   BENCH_CONNECTIONS  wrk connections (64)
#   BENCH_PORT         HTTP port (18280)
#   BENCH_REDIS_PORT   Redis port (16392)
#   BENCH_FASTAPI_PORT the FastAPI baseline's port (18281); BENCH_FASTAPI=0
#                      skips the baseline
#   BENCH_FASTAPI_LOOP uvicorn's --loop for it: auto (uvloop, installed by
#                      bench/deps.sh; the default), uvloop or asyncio
#   HS_PROCS           processes per app (2, as in conf/stack.sh)
#   HS_BIN_DIR         the hs-* binaries (build/bin)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=auth
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-2}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-64}
port=${BENCH_PORT:-18280}
rport=${BENCH_REDIS_PORT:-16392}
fport=${BENCH_FASTAPI_PORT:-18281}
with_fastapi=${BENCH_FASTAPI:-1}
fa_loop=${BENCH_FASTAPI_LOOP:-auto}
case $fa_loop in auto | uvloop | asyncio) ;; *) die "BENCH_FASTAPI_LOOP must be auto, uvloop or asyncio" ;; esac
procs=${HS_PROCS:-2}
bindir=${HS_BIN_DIR:-$top/build/bin}
target_ratio=0.5


for n in "$seconds" "$warmup" "$threads" "$conns" "$port" "$rport" "$fport" "$procs"; do
	case $n in '' | *[!0-9]*) die "expected a whole number, got '$n' (check BENCH_* and HS_PROCS)" ;; esac
done
[ "$seconds" -ge 1 ] || die "BENCH_SECONDS must be at least 1"
for tool in wrk curl redis-server lighttpd; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (run conf/install-deps.sh)"
done
[ -x "$bindir/hs-auth" ] || die "$bindir/hs-auth not found; run 'make' first"

bench_ports_free
py=/usr/bin/python3
if [ "$with_fastapi" = 1 ]; then
	port_in_use "$fport" && die "port $fport is in use; set BENCH_FASTAPI_PORT"
	"$top/bench/deps.sh" >&2 || die "bench/deps.sh failed (it installs the FastAPI baseline's packages)"
	"$py" -c 'import fastapi, uvicorn, jwt' 2>/dev/null ||
		die "FastAPI, uvicorn or PyJWT is missing for $py (bench/deps.sh installs them)"
fi

# Other work on the machine skews the figures; the load is printed with them.
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench.XXXXXX")
stack_pid=
app_pids=
auth_pids=
wrk_pid=
baseline_pid=

# True while PID is a live (not zombie) process of one of our hs-* apps.

# Stops the stack (stack.sh stops redis and lighttpd, lighttpd its apps),
# makes sure the app processes seen during the run are gone, then removes
# the temporary folder.
bench_traps

# A copy of www/ with the small static file, so the repository stays clean.
cp -R "$top/www" "$tmp/www"
printf '{"name":"hypersend","kind":"bench","note":"a small static JSON file for the front-server ceiling"}\n' \
	>"$tmp/www/bench.json"

base="http://127.0.0.1:$port"
bench_start_stack HS_WWW_DIR="$tmp/www" HS_REGISTER_IP_BURST=100000
auth_pids=$(pgrep -P "$lighttpd_pid" -x hs-auth | sort -n | tr '\n' ' ' || true)
[ -n "$auth_pids" ] || die "cannot find the hs-auth processes of the stack"

# One user and its access token.
user="bench$$"
resp=$(curl -fsS -X POST "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
	-d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"bench password 1234\"}") ||
	die "registration failed"
token=$(printf '%s' "$resp" | sed -n 's/.*"access_token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
[ -n "$token" ] || die "no access_token in the registration reply: $resp"
auth="Authorization: Bearer $token"

static_url="$base/bench.json"
me_url="$base/api/v1/auth/me"
code=$(curl -s -o /dev/null -w '%{http_code}' "$static_url")
[ "$code" = 200 ] || die "GET /bench.json answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$me_url")
[ "$code" = 200 ] || die "GET /api/v1/auth/me answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$me_url")
[ "$code" = 401 ] || die "GET /api/v1/auth/me without a token answered $code, not 401"

# The FastAPI baseline, on the stack's own config (key, Redis, database).
fa_url="http://127.0.0.1:$fport/api/v1/auth/me"
if [ "$with_fastapi" = 1 ]; then
	HS_CONFIG="$tmp/run/hypersend.conf" "$py" -m uvicorn --app-dir "$top/bench" fastapi_app:app \
		--host 127.0.0.1 --port "$fport" --workers 2 --loop "$fa_loop" --no-access-log --log-level warning \
		>"$tmp/fastapi.log" 2>&1 &
	baseline_pid=$!
	i=0
	until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$fa_url")" = 200 ]; do
		kill -0 "$baseline_pid" 2>/dev/null || die "the FastAPI baseline did not start: $(cat "$tmp/fastapi.log")"
		i=$((i + 1))
		[ $i -lt 200 ] || die "the FastAPI baseline did not answer 200 within 20 s: $(cat "$tmp/fastapi.log")"
		sleep 0.1
	done
fi

# wrk runs in the background and is waited for, so that a signal sent to
# this script alone (not to the whole terminal group) is acted on at once.

# run_wrk NAME URL [wrk args...]: leaves the wrk report in $tmp/NAME.txt.

# Figures out of a wrk report: rps, p99 in ms, failed responses.
# wrk_errors FILE [count_non_2xx=1]

echo "bench: stack up on $base (HS_PROCS=$procs), wrk -t$threads -c$conns -d${seconds}s," \
	"warm-up ${warmup}s" >&2
run_wrk static "$static_url" "$seconds" "$threads" "$conns" "$warmup"
run_wrk auth_me "$me_url" "$seconds" "$threads" "$conns" "$warmup" -H "$auth"
run_wrk fcgi_hop "$me_url" "$seconds" "$threads" "$conns" "$warmup"
if [ "$with_fastapi" = 1 ]; then
	run_wrk fastapi_auth_me "$fa_url" "$seconds" "$threads" "$conns" "$warmup" -H "$auth"
	f_rps=$(wrk_rps "$tmp/fastapi_auth_me.txt")
	f_p99=$(wrk_pct_ms "$tmp/fastapi_auth_me.txt" 99)
	f_err=$(wrk_errors "$tmp/fastapi_auth_me.txt")
	[ -n "$f_rps" ] || die "could not read wrk's report for the FastAPI baseline"
	# Stopped before the figures: its two workers hold memory, not CPU.
	kill -TERM "$baseline_pid" 2>/dev/null || true
	wait "$baseline_pid" 2>/dev/null || true
	baseline_pid=
else
	f_rps=0 f_p99=0 f_err=0
fi

s_rps=$(wrk_rps "$tmp/static.txt")
s_p99=$(wrk_pct_ms "$tmp/static.txt" 99)
s_err=$(wrk_errors "$tmp/static.txt")
m_rps=$(wrk_rps "$tmp/auth_me.txt")
m_p99=$(wrk_pct_ms "$tmp/auth_me.txt" 99)
m_err=$(wrk_errors "$tmp/auth_me.txt")
h_rps=$(wrk_rps "$tmp/fcgi_hop.txt")
h_p99=$(wrk_pct_ms "$tmp/fcgi_hop.txt" 99)
h_err=$(wrk_errors "$tmp/fcgi_hop.txt" 0) # its 401s are the point
if [ -z "$s_rps" ] || [ -z "$m_rps" ] || [ -z "$h_rps" ]; then
	die "could not read wrk's report"
fi
ratio=$(ratio_of "$m_rps" "$s_rps")
h_ratio=$(ratio_of "$h_rps" "$s_rps")
mh_ratio=$(ratio_of "$m_rps" "$h_rps")
mf_ratio=$(ratio_of "$m_rps" "$f_rps")
verdict=$(awk -v r="$ratio" -v t="$target_ratio" 'BEGIN {print (r >= t) ? "meets" : "BELOW"}')

# Peak resident memory of each hs-auth process, after the load.
rss_lines=
for p in $auth_pids; do
	kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
	[ -n "$kb" ] || die "hs-auth process $p is gone"
	rss_lines="$rss_lines$p $(awk -v k="$kb" 'BEGIN {printf "%.1f", k / 1024}')
"
done

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu" ] || cpu=$(uname -m)

cat <<EOF

Hypersend benchmark
  machine   $(nproc) CPUs, $cpu (load average before the run: $load_before)
  stack     lighttpd $(lighttpd -v 2>/dev/null | sed -n 's/^lighttpd\/\([^ ]*\).*/\1/p'), HS_PROCS=$procs hs-auth processes
  load      wrk -t$threads -c$conns -d${seconds}s --latency (after ${warmup}s warm-up)

  target                          requests/s    p99 (ms)   failed
  static /bench.json (ceiling) $(printf '%13s %11s %8s' "$s_rps" "$s_p99" "$s_err")
  GET /api/v1/auth/me          $(printf '%13s %11s %8s' "$m_rps" "$m_p99" "$m_err")
  FastCGI hop (401, no token)  $(printf '%13s %11s %8s' "$h_rps" "$h_p99" "$h_err")
  FastAPI GET /auth/me         $(printf '%13s %11s %8s' "$f_rps" "$f_p99" "$f_err")

  ratio auth_me / static = $ratio  ($verdict the target of >= $target_ratio)
  ratio fcgi_hop / static = $h_ratio  (the most auth_me can reach through this front)
  ratio auth_me / fcgi_hop = $mh_ratio  (the app's own work; target >= 0.8)
  ratio auth_me / fastapi_auth_me = $mf_ratio  (target >= 10; FastAPI without a front)

  hs-auth peak RSS (VmHWM)
EOF
printf '%s' "$rss_lines" | while read -r p mib; do
	printf '    pid %-8s %8s MiB\n' "$p" "$mib"
done
echo

# Machine-readable: one line per metric.
echo "bench machine nproc=$(nproc) hs_procs=$procs threads=$threads connections=$conns seconds=$seconds"
echo "bench static rps=$s_rps p99_ms=$s_p99 failed=$s_err"
echo "bench auth_me rps=$m_rps p99_ms=$m_p99 failed=$m_err ratio=$ratio"
echo "bench fcgi_hop rps=$h_rps p99_ms=$h_p99 failed=$h_err ratio=$h_ratio"
echo "bench auth_me_over_hop ratio=$mh_ratio"
[ "$with_fastapi" = 1 ] &&
	echo "bench fastapi_auth_me rps=$f_rps p99_ms=$f_p99 failed=$f_err ours_over_fastapi=$mf_ratio loop=$fa_loop"
printf '%s' "$rss_lines" | while read -r p mib; do
	echo "bench hs_auth_rss pid=$p vmhwm_mib=$mib"
done

if [ "$s_err" -ne 0 ] || [ "$m_err" -ne 0 ] || [ "$h_err" -ne 0 ] || [ "$f_err" -ne 0 ]; then
	die "some requests failed (see the 'failed' column)"
fi
