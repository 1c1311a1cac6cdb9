#!/bin/bash
# Hypersend benchmark through nginx: GET /api/v1/auth/me with kept FastCGI
# connections (conf/nginx.conf as shipped: upstream keepalive and
# fastcgi_keep_conn) and without (a new connection per request, as lighttpd
# does), beside nginx's own static file, as ratios from the same run. Run
# from the repository root after `make` (`make bench` runs it after
# bench/run.sh). See bench/README.md.
#
# It starts the stack twice (conf/stack.sh with HS_FRONT=nginx: the apps
# under spawn-fcgi, nginx with HS_NGINX_WORKERS workers), once with the
# keepalive lines and once without, in a temporary folder on loopback
# ports, registers one user in each, and measures with wrk:
#   static           GET /bench.json (~100 bytes, nginx alone): the ceiling
#   auth_me_keepalive  GET /api/v1/auth/me with a Bearer token, kept connections
#   fcgi_hop_keepalive GET /api/v1/auth/me without a token (401 before Redis
#                    and SQLite): the FastCGI round trip alone, kept
#   auth_me          the authenticated call, a new FastCGI connection each
#   fcgi_hop         the bare round trip, a new connection each
# Everything it started is stopped on exit, error or Ctrl-C.
#
# Environment: BENCH_SECONDS (10), BENCH_WARMUP (2), BENCH_THREADS (2),
# BENCH_CONNECTIONS (64), BENCH_PORT (18480; the bridge takes the two
# ports after it), BENCH_REDIS_PORT (16480),
# HS_PROCS (2), HS_NGINX_WORKERS (2), HS_BIN_DIR (build/bin).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=nginx
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-2}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-64}
port=${BENCH_PORT:-18480}
rport=${BENCH_REDIS_PORT:-16480}
procs=${HS_PROCS:-2}
workers=${HS_NGINX_WORKERS:-2}
bindir=${HS_BIN_DIR:-$top/build/bin}

for n in "$seconds" "$warmup" "$threads" "$conns" "$port" "$rport" "$procs" "$workers"; do
	case $n in '' | *[!0-9]*) die "expected a whole number, got '$n' (check BENCH_*, HS_PROCS, HS_NGINX_WORKERS)" ;; esac
done
[ "$seconds" -ge 1 ] || die "BENCH_SECONDS must be at least 1"
for tool in wrk curl redis-server nginx spawn-fcgi; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (run conf/install-deps.sh test)"
done
[ -x "$bindir/hs-auth" ] || die "$bindir/hs-auth not found; run 'make' first"
bench_ports_free
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench-nginx.XXXXXX")
stack_pid=
app_pids=
wrk_pid=
bench_traps

cp -R "$top/www" "$tmp/www"
printf '{"name":"hypersend","kind":"bench","note":"a small static JSON file for the front-server ceiling"}\n' \
	>"$tmp/www/bench.json"
base="http://127.0.0.1:$port"
me_url="$base/api/v1/auth/me"

# nginx_stack KEEPALIVE: starts the nginx stack (1: conf/nginx.conf's kept
# connections, 0: none), waits for /health, sets stack_pid, app_pids and
# auth (a new user's Authorization header).
nginx_stack() {
	rm -rf "$tmp/run"
	bench_start_stack HS_WS_PORT=$((port + 2)) HS_FRONT=nginx HS_NGINX_WORKERS="$workers" \
		HS_NGINX_KEEPALIVE="$1" HS_WWW_DIR="$tmp/www" HS_REGISTER_IP_BURST=100000
	local user="bench$$k$1" resp token
	resp=$(curl -fsS -X POST "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
		-d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"bench password 1234\"}") ||
		die "registration failed"
	token=$(printf '%s' "$resp" | sed -n 's/.*"access_token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
	[ -n "$token" ] || die "no access_token in the registration reply: $resp"
	auth="Authorization: Bearer $token"
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$me_url")" = 200 ] ||
		die "GET /api/v1/auth/me did not answer 200"
}

echo "bench nginx: $workers nginx workers, HS_PROCS=$procs, wrk -t$threads -c$conns -d${seconds}s," \
	"warm-up ${warmup}s" >&2
nginx_stack 1
grep -q 'keepalive 16;' "$tmp/run/nginx/site.conf" || die "conf/nginx.conf has no upstream keepalive"
run_wrk static "$base/bench.json" "$seconds" "$threads" "$conns" "$warmup"
run_wrk auth_me_keepalive "$me_url" "$seconds" "$threads" "$conns" "$warmup" -H "$auth"
run_wrk fcgi_hop_keepalive "$me_url" "$seconds" "$threads" "$conns" "$warmup"
bench_stop_stack
nginx_stack 0
grep -Eq '^ *(keepalive|fastcgi_keep_conn) ' "$tmp/run/nginx/site.conf" && die "HS_NGINX_KEEPALIVE=0 left keepalive lines"
run_wrk auth_me "$me_url" "$seconds" "$threads" "$conns" "$warmup" -H "$auth"
run_wrk fcgi_hop "$me_url" "$seconds" "$threads" "$conns" "$warmup"
bench_stop_stack

s_rps=$(wrk_rps "$tmp/static.txt")
[ -n "$s_rps" ] || die "could not read wrk's report"
failed=0
echo
echo "Hypersend through nginx $(nginx -v 2>&1 | sed -n 's/.*nginx\/\([^ ]*\).*/\1/p') ($workers workers, spawn-fcgi, HS_PROCS=$procs; load average before: $load_before)"
printf '  %-34s %12s %9s %7s %7s\n' target requests/s "p99 (ms)" failed ratio
lines=
for name in static auth_me_keepalive fcgi_hop_keepalive auth_me fcgi_hop; do
	f="$tmp/$name.txt"
	rps=$(wrk_rps "$f")
	[ -n "$rps" ] || die "could not read wrk's report for $name"
	p99=$(wrk_pct_ms "$f" 99)
	case $name in fcgi_hop*) err=$(wrk_errors "$f" 0) ;; *) err=$(wrk_errors "$f") ;; esac
	failed=$((failed + err))
	ratio=$(ratio_of "$rps" "$s_rps")
	printf '  %-34s %12s %9s %7s %7s\n' "$name" "$rps" "$p99" "$err" "$ratio"
	lines="${lines}bench nginx_$name rps=$rps p99_ms=$p99 failed=$err ratio=$ratio
"
done
ka=$(wrk_rps "$tmp/auth_me_keepalive.txt")
echo "  kept connections / new connection each: $(ratio_of "$ka" "$(wrk_rps "$tmp/auth_me.txt")") (auth_me)"
echo
echo "bench nginx_machine nproc=$(nproc) hs_procs=$procs nginx_workers=$workers threads=$threads connections=$conns seconds=$seconds"
printf '%s' "$lines"
[ "$failed" -eq 0 ] || die "some requests failed (see the 'failed' column)"
