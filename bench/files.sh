#!/bin/bash
# Files benchmark: a large upload and download through lighttpd, each beside
# a baseline measured in the same run on the same disk:
#   upload   seed API (multipart, 8 MiB chunks, 4 connections), raw chunk PUTs
#            (4 connections) and one tus PATCH, sent by bench/upload.c
#            (sendfile over keep-alive connections: the client costs next to
#            nothing), against `dd` copying the same bytes into the same data
#            folder and onto the disk (fdatasync: the disk's ceiling); beside each, the CPU-seconds per GiB
#            of lighttpd and of the hs-files processes, and how long the
#            completing request took
#   download GET /api/v1/files/{id} (X-Sendfile) against lighttpd serving the
#            same file statically (the front server's ceiling), and the
#            same download sent by the app itself (sendfile_header = none)
#   memory   peak RSS (VmHWM) of the hs-files processes after the uploads
# Environment: BENCH_FILE_MIB (2048), BENCH_FRONT (lighttpd; or nginx, apache:
# the front's processes take lighttpd's column, and the app-streamed
# download is left out, as it needs lighttpd to restart the apps),
# BENCH_PORT (18281; the bridge takes the two after it), BENCH_REDIS_PORT
# (16393), HS_BIN_DIR. Everything it starts is stopped on exit.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mib=${BENCH_FILE_MIB:-2048}
port=${BENCH_PORT:-18281}
rport=${BENCH_REDIS_PORT:-16393}
bindir=${HS_BIN_DIR:-$top/build/bin}
chunk=$((8 * 1024 * 1024))
size=$((mib * 1024 * 1024))
count=$(((size + chunk - 1) / chunk))

procs=${HS_PROCS:-2}
bench_name=files
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
bench_ports_free
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench-files.XXXXXX")
chmod 0711 "$tmp" # Apache run as root serves as www-data, which must reach the run folder
bench_traps

mkdir -p "$tmp/www"
cp -R "$top/www/." "$tmp/www/"
front=${BENCH_FRONT:-lighttpd}
case $front in lighttpd | nginx | apache) ;; *) die "BENCH_FRONT must be lighttpd, nginx or apache" ;; esac
bench_start_stack HS_WWW_DIR="$tmp/www" HS_REGISTER_IP_BURST=1000 HS_FRONT="$front" HS_WS_PORT=$((port + 2))

api=http://127.0.0.1:$port/api/v1
token=$(curl -fs -X POST "$api/auth/register" -H 'Content-Type: application/json' \
	-d '{"username":"bench","email":"bench@example.com","password":"correct horse battery"}' |
	sed 's/.*"access_token":"\([^"]*\)".*/\1/')
auth="Authorization: Bearer $token"

echo "bench files: making a ${mib} MiB source file"
head -c "$size" /dev/urandom >"$tmp/src.bin"
data=$tmp/run/data

# The disk's ceiling: the same bytes copied into the same folder and on
# the disk (fdatasync before dd ends). Uploads write whole blocks with
# O_DIRECT and no flush, which a disk with a write cache takes faster: dd
# writing the same way is the second ceiling (ratio_direct). A copy into
# the page cache alone is shown beside them: it measures free memory more
# than the disk, and varies 4x between runs here.
dd_direct_mbs=$(dd_rate "$tmp/src.bin" "$data" oflag=direct)
dd_mbs=$(dd_rate "$tmp/src.bin" "$data" conv=fdatasync)
dd_cache_mbs=$(dd_rate "$tmp/src.bin" "$data")

init() {
	curl -fs -X POST "$api/files/upload/init" -H "$auth" -H 'Content-Type: application/json' \
		-d "{\"filename\":\"bench.bin\",\"file_size\":$size}" | sed 's/.*"upload_id":"\([^"]*\)".*/\1/'
}
complete_ms=0
complete() {
	local c0 c1
	c0=$(now)
	curl -fs -X POST "$api/files/upload/complete" -H "$auth" -H 'Content-Type: application/json' \
		-d "{\"upload_id\":\"$1\"}" >/dev/null
	c1=$(now)
	complete_ms=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
}

# CPU-seconds (user + system) spent so far by the given processes.
cpu_of() {
	local hz
	hz=$(getconf CLK_TCK)
	for pid in "$@"; do cat "/proc/$pid/stat" 2>/dev/null || true; done |
		awk -v hz="$hz" '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%.3f", t / hz }'
}
files_pids() { pgrep -f "$bindir/hs-files" | tr '\n' ' '; }
# measure NAME CMD...: runs an upload, sets NAME_mbs and the CPU-seconds per
# GiB of the front (NAME_lt: lighttpd, or nginx's or Apache's processes) and
# of every hs-files process (NAME_app).
measure() {
	local name=$1 l0 a0 t0 t1 pids
	shift
	pids=$(files_pids)
	l0=$(cpu_of $front_pids)
	a0=$(cpu_of $pids)
	t0=$(now)
	"$@"
	t1=$(now)
	pids=$(files_pids) # lighttpd may have respawned one
	printf -v "${name}_mbs" %s "$(rate "$size" "$t0" "$t1")"
	printf -v "${name}_lt" %s "$(awk -v a="$l0" -v b="$(cpu_of $front_pids)" -v g="$mib" \
		'BEGIN { printf "%.2f", (b - a) * 1024 / g }')"
	printf -v "${name}_app" %s "$(awk -v a="$a0" -v b="$(cpu_of $pids)" -v g="$mib" \
		'BEGIN { printf "%.2f", (b - a) * 1024 / g }')"
}

# The client (bench/upload.c) sends the file with sendfile(2) over
# keep-alive connections, so it costs next to nothing beside the servers.
cc -O2 -Wall -pthread -o "$tmp/upload" "$top/bench/upload.c" || die "cannot compile bench/upload.c"

# Seed API: multipart chunks over 4 connections.
seed_id=$(init)
chunks_upload() { "$tmp/upload" "$1" "$port" "$token" "$tmp/src.bin" "$chunk" 4 "$2" && complete "$2"; }
measure seed chunks_upload multipart "$seed_id"
seed_complete_ms=$complete_ms

# Raw chunk PUTs over 4 connections.
id=$(init)
measure raw chunks_upload raw "$id"
raw_complete_ms=$complete_ms

# tus: one creation, one PATCH streaming the whole file.
tus_upload() {
	local loc
	loc=$(curl -fs -D - -o /dev/null -X POST "$api/files/tus" -H "$auth" -H 'Tus-Resumable: 1.0.0' \
		-H "Upload-Length: $size" -d '' | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	"$tmp/upload" tus "$port" "$token" "$tmp/src.bin" "$loc"
}
measure tus tus_upload

rss=0
for pid in $(pgrep -f "$bindir/hs-files" || true); do
	kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
	[ "${kb:-0}" -gt "$rss" ] && rss=$kb
done

# Downloads: the app's X-Sendfile against the same bytes as a static file.
src_sha=$(sha256sum "$tmp/src.bin" | cut -c1-64)
ln "$data/files/${seed_id: -2}/$seed_id" "$tmp/www/static.bin"
best() { # best of three transfers of URL, in MB/s
	local best=0 url=$1
	shift
	for _ in 1 2 3; do
		t0=$(now)
		curl -fs -o /dev/null "$url" "$@"
		t1=$(now)
		r=$(rate "$size" "$t0" "$t1")
		[ "$r" -gt "$best" ] && best=$r
	done
	echo "$best"
}
got_sha=$(curl -fs "$api/files/$seed_id" -H "$auth" | sha256sum | cut -c1-64)
[ "$got_sha" = "$src_sha" ] || { echo "bench files: downloaded bytes differ" >&2; exit 1; }
static_dl=$(best "http://127.0.0.1:$port/static.bin")
api_dl=$(best "$api/files/$seed_id" -H "$auth")

# The same download sent by the app itself (sendfile_header = none, a host
# without X-Sendfile): the key is added to the config and lighttpd restarts
# the hs-files processes it was told to stop. Its ETag ("inode-size-mtime")
# shows the app answered, not lighttpd. (Other fronts do not restart the
# apps they did not start: left out there.)
self_dl=0
self_app=0
if [ "$front" = lighttpd ]; then
	echo "sendfile_header = none" >>"$tmp/run/hypersend.conf"
	for pid in $(pgrep -P "$lighttpd_pid" -f "$bindir/hs-files" || true); do kill "$pid"; done
	i=0
	until curl -fsI "$api/files/$seed_id" -H "$auth" 2>/dev/null | grep -qi '^etag: "[0-9a-f]*-[0-9a-f]*-'; do
		i=$((i + 1))
		[ $i -lt 200 ] || die "the hs-files processes did not come back with sendfile_header = none"
		sleep 0.05
	done
	got_sha=$(curl -fs "$api/files/$seed_id" -H "$auth" | sha256sum | cut -c1-64)
	[ "$got_sha" = "$src_sha" ] || { echo "bench files: streamed bytes differ" >&2; exit 1; }
	a0=$(cpu_of $(files_pids))
	self_dl=$(best "$api/files/$seed_id" -H "$auth")
	self_app=$(awk -v a="$a0" -v b="$(cpu_of $(files_pids))" -v g="$mib" 'BEGIN { printf "%.2f", (b - a) * 1024 / g / 3 }')
fi

cat <<TXT

Files benchmark through $front: ${mib} MiB, 8 MiB chunks, 4 connections, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)
  what                               MB/s   vs baseline
  dd into the data folder, on disk (ceiling)  $dd_mbs
  dd into the data folder, O_DIRECT  $dd_direct_mbs
  dd into the page cache only        $dd_cache_mbs
  upload, seed API (multipart)       $seed_mbs   $(ratio_of "$seed_mbs" "$dd_mbs")   CPU-s/GiB hs-files $seed_app $front $seed_lt, complete $seed_complete_ms ms
  upload, raw chunk PUT              $raw_mbs   $(ratio_of "$raw_mbs" "$dd_mbs")   CPU-s/GiB hs-files $raw_app $front $raw_lt, complete $raw_complete_ms ms
  upload, tus (one PATCH)            $tus_mbs   $(ratio_of "$tus_mbs" "$dd_mbs")   CPU-s/GiB hs-files $tus_app $front $tus_lt
  seed API against tus                      $(ratio_of "$seed_mbs" "$tus_mbs")
  static download (ceiling)          $static_dl
  download via X-Sendfile            $api_dl   $(ratio_of "$api_dl" "$static_dl")
  download streamed by the app (sendfile_header = none)  $self_dl   $(ratio_of "$self_dl" "$static_dl")   CPU-s/GiB hs-files $self_app
  hs-files peak RSS                  $((rss / 1024)) MiB

bench files front=$front dd mbs=$dd_mbs direct_mbs=$dd_direct_mbs page_cache_mbs=$dd_cache_mbs
bench files upload_seed mbs=$seed_mbs ratio=$(ratio_of "$seed_mbs" "$dd_mbs") ratio_direct=$(ratio_of "$seed_mbs" "$dd_direct_mbs") app_cpu_s_per_gib=$seed_app front_cpu_s_per_gib=$seed_lt complete_ms=$seed_complete_ms vs_tus=$(ratio_of "$seed_mbs" "$tus_mbs")
bench files upload_raw mbs=$raw_mbs ratio=$(ratio_of "$raw_mbs" "$dd_mbs") ratio_direct=$(ratio_of "$raw_mbs" "$dd_direct_mbs") app_cpu_s_per_gib=$raw_app front_cpu_s_per_gib=$raw_lt complete_ms=$raw_complete_ms
bench files upload_tus mbs=$tus_mbs ratio=$(ratio_of "$tus_mbs" "$dd_mbs") ratio_direct=$(ratio_of "$tus_mbs" "$dd_direct_mbs") app_cpu_s_per_gib=$tus_app front_cpu_s_per_gib=$tus_lt
bench files download mbs=$api_dl ratio=$(ratio_of "$api_dl" "$static_dl")
bench files download_self mbs=$self_dl ratio=$(ratio_of "$self_dl" "$static_dl") app_cpu_s_per_gib=$self_app
bench files hs_file_rss vmhwm_mib=$((rss / 1024))
TXT
