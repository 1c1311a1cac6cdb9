#!/bin/bash
# The same work through each front, side by side in one run: for lighttpd,
# nginx and Apache (BENCH_FRONTS), a stack started with conf/stack.sh
# (HS_FRONT=...) and measured against that front's own static files:
#   static    GET /bench.json (~100 bytes, the front alone): the ceiling
#   auth_me   authenticated GET /api/v1/auth/me (wrk)
#   upload    a 2 GiB file by the seed's chunk API (multipart, 8 MiB chunks,
#             4 connections; bench/upload.c), beside `dd oflag=direct` of
#             the same bytes into the same data folder (the uploads write
#             whole blocks with O_DIRECT: the same way)
#   download  1 GiB of it (Range: the first GiB) through the front's sendfile
#             header (X-Sendfile, X-Accel-Redirect), best of 3, beside the
#             front serving the same bytes as a static file, same Range
# Run from the repository root after `make` (`make bench` runs it). Every
# stack is stopped before the next starts, and on exit, error or Ctrl-C.
#
# Environment: BENCH_FRONTS ("lighttpd nginx apache"), BENCH_SECONDS (5),
# BENCH_WARMUP (2: mod_fcgid starts its processes on demand), BENCH_CONNECTIONS (64), BENCH_FILE_MIB (2048),
# BENCH_PORT (18580; the bridge takes the two ports after it),
# BENCH_REDIS_PORT (16580), HS_PROCS (2), HS_BIN_DIR (build/bin).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=fronts
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
fronts=${BENCH_FRONTS:-lighttpd nginx apache}
seconds=${BENCH_SECONDS:-5}
warmup=${BENCH_WARMUP:-2}
conns=${BENCH_CONNECTIONS:-64}
mib=${BENCH_FILE_MIB:-2048}
port=${BENCH_PORT:-18580}
rport=${BENCH_REDIS_PORT:-16580}
procs=${HS_PROCS:-2}
bindir=${HS_BIN_DIR:-$top/build/bin}
for n in "$seconds" "$warmup" "$conns" "$mib" "$port" "$rport" "$procs"; do
	case $n in '' | *[!0-9]*) die "expected a whole number, got '$n' (check BENCH_* and HS_PROCS)" ;; esac
done
[ "$mib" -ge 1024 ] || die "BENCH_FILE_MIB must be at least 1024 (the download is 1 GiB of it)"
for f in $fronts; do
	case $f in lighttpd | nginx | apache) ;; *) die "unknown front '$f' in BENCH_FRONTS" ;; esac
done
for tool in wrk curl redis-server cc; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (run conf/install-deps.sh test)"
done
[ -x "$bindir/hs-files" ] || die "$bindir/hs-files not found; run 'make' first"
bench_ports_free
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench-fronts.XXXXXX")
chmod 0711 "$tmp" # Apache run as root serves as www-data, which must reach the run folder
stack_pid=
app_pids=
wrk_pid=
bench_traps

chunk=$((8 * 1024 * 1024))
size=$((mib * 1024 * 1024))
gib=$((1024 * 1024 * 1024))
base="http://127.0.0.1:$port"
api="$base/api/v1"
cc -O2 -Wall -pthread -o "$tmp/upload" "$top/bench/upload.c" || die "cannot compile bench/upload.c"
echo "bench fronts: making a $mib MiB source file" >&2
head -c "$size" /dev/urandom >"$tmp/src.bin"
src_sha=$(head -c "$gib" "$tmp/src.bin" | sha256sum | cut -c1-64)


# start FRONT: the stack behind FRONT in $tmp/run, a user, $token and $auth.
start() {
	rm -rf "$tmp/run" "$tmp/www"
	mkdir -p "$tmp/www"
	cp -R "$top/www/." "$tmp/www/"
	printf '{"name":"hypersend","kind":"bench","note":"a small static JSON file for the front-server ceiling"}\n' \
		>"$tmp/www/bench.json"
	bench_start_stack HS_WS_PORT=$((port + 2)) HS_FRONT="$1" HS_WWW_DIR="$tmp/www" HS_REGISTER_IP_BURST=1000
	token=$(curl -fs -X POST "$api/auth/register" -H 'Content-Type: application/json' \
		-d "{\"username\":\"bench$1\",\"email\":\"bench$1@example.com\",\"password\":\"correct horse battery\"}" |
		sed 's/.*"access_token":"\([^"]*\)".*/\1/')
	[ -n "$token" ] || die "registration failed behind $1"
	auth="Authorization: Bearer $token"
}

# best URL [curl args]: the best of three 1 GiB Range transfers, in MB/s;
# each must carry the first GiB of the source, byte for byte, the first time.
best() {
	local url=$1 b=0 r t0 t1 i
	shift
	[ "$(curl -fs -r "0-$((gib - 1))" "$url" "$@" | sha256sum | cut -c1-64)" = "$src_sha" ] ||
		die "the first GiB of $url is not the source's"
	for i in 1 2 3; do
		t0=$(now)
		curl -fs -o /dev/null -r "0-$((gib - 1))" "$url" "$@"
		t1=$(now)
		r=$(rate "$gib" "$t0" "$t1")
		[ "$r" -gt "$b" ] && b=$r
	done
	echo "$b"
}

lines=
echo >&2
for front in $fronts; do
	echo "bench fronts: $front" >&2
	start "$front"
	run_wrk "$front-static" "$base/bench.json" "$seconds" 2 "$conns" "$warmup"
	run_wrk "$front-auth_me" "$api/auth/me" "$seconds" 2 "$conns" "$warmup" -H "$auth"
	s_rps=$(wrk_rps "$tmp/$front-static.txt")
	a_rps=$(wrk_rps "$tmp/$front-auth_me.txt")
	err=$(($(wrk_errors "$tmp/$front-static.txt") + $(wrk_errors "$tmp/$front-auth_me.txt")))
	[ "$err" -eq 0 ] || die "$err failed requests behind $front"

	# The disk's ceiling, into this stack's data folder, written as uploads are.
	data=$tmp/run/data
	dd_mbs=$(dd_rate "$tmp/src.bin" "$data" oflag=direct)
	id=$(curl -fs -X POST "$api/files/upload/init" -H "$auth" -H 'Content-Type: application/json' \
		-d "{\"filename\":\"bench.bin\",\"file_size\":$size}" | sed 's/.*"upload_id":"\([^"]*\)".*/\1/')
	t0=$(now)
	"$tmp/upload" multipart "$port" "$token" "$tmp/src.bin" "$chunk" 4 "$id" ||
		die "the upload behind $front failed"
	curl -fs -X POST "$api/files/upload/complete" -H "$auth" -H 'Content-Type: application/json' \
		-d "{\"upload_id\":\"$id\"}" >/dev/null || die "completing the upload behind $front failed"
	t1=$(now)
	up_mbs=$(rate "$size" "$t0" "$t1")

	ln "$data/files/${id: -2}/$id" "$tmp/www/static.bin"
	st_dl=$(best "$base/static.bin")
	api_dl=$(best "$api/files/$id" -H "$auth")
	bench_stop_stack

	printf '%s\n' "$front $s_rps $a_rps $dd_mbs $up_mbs $st_dl $api_dl" >>"$tmp/results"
	lines="${lines}bench fronts_$front static_rps=$s_rps auth_me_rps=$a_rps auth_me_ratio=$(ratio_of "$a_rps" "$s_rps") dd_mbs=$dd_mbs upload_mbs=$up_mbs upload_ratio=$(ratio_of "$up_mbs" "$dd_mbs") static_download_mbs=$st_dl download_mbs=$api_dl download_ratio=$(ratio_of "$api_dl" "$st_dl")
"
done

echo
echo "Each front beside its own static files ($(nproc) CPUs, HS_PROCS=$procs, wrk -c$conns ${seconds}s;" \
	"$mib MiB upload, 1 GiB download; load before: $load_before)"
printf '  %-9s %26s %30s %30s\n' front "auth_me req/s (static)" "upload MB/s (dd O_DIRECT)" "download MB/s (static)"
while read -r f s a d u sd ad; do
	printf '  %-9s %10s (%6s) %5s %10s (%5s) %5s %10s (%5s) %5s\n' "$f" "$a" "$s" "$(ratio_of "$a" "$s")" \
		"$u" "$d" "$(ratio_of "$u" "$d")" "$ad" "$sd" "$(ratio_of "$ad" "$sd")"
done <"$tmp/results"
echo
printf '%s' "$lines"
