#!/bin/bash
# Files benchmark: a large upload and download through lighttpd, each beside
# a baseline measured in the same run on the same disk:
#   upload   seed API (multipart, 8 MiB chunks, 4 connections), raw chunk PUTs
#            (4 connections) and one tus PATCH, against `dd` copying the same
#            bytes into the same data folder (the disk's ceiling)
#   download GET /api/v1/files/{id} (X-Sendfile) against lighttpd serving the
#            same file statically (the front server's ceiling)
#   memory   peak RSS (VmHWM) of the hs-files processes after the uploads
# Environment: BENCH_FILE_MIB (2048), BENCH_PORT (18281), BENCH_REDIS_PORT
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
bench_traps

mkdir -p "$tmp/www"
cp -R "$top/www/." "$tmp/www/"
bench_start_stack HS_WWW_DIR="$tmp/www" HS_REGISTER_IP_BURST=1000

api=http://127.0.0.1:$port/api/v1
token=$(curl -fs -X POST "$api/auth/register" -H 'Content-Type: application/json' \
	-d '{"username":"bench","email":"bench@example.com","password":"correct horse battery"}' |
	sed 's/.*"access_token":"\([^"]*\)".*/\1/')
auth="Authorization: Bearer $token"

echo "bench files: making a ${mib} MiB source file"
head -c "$size" /dev/urandom >"$tmp/src.bin"
data=$tmp/run/data

now() { date +%s.%N; }
rate() { awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.0f", b / 1048576 / (t1 - t0) }'; }

# The disk's ceiling: the same bytes copied into the same folder.
sync
t0=$(now)
dd if="$tmp/src.bin" of="$data/dd.bin" bs=8M status=none
t1=$(now)
dd_mbs=$(rate "$size" "$t0" "$t1")
rm -f "$data/dd.bin"

init() {
	curl -fs -X POST "$api/files/upload/init" -H "$auth" -H 'Content-Type: application/json' \
		-d "{\"filename\":\"bench.bin\",\"file_size\":$size}" | sed 's/.*"upload_id":"\([^"]*\)".*/\1/'
}
complete() {
	curl -fs -X POST "$api/files/upload/complete" -H "$auth" -H 'Content-Type: application/json' \
		-d "{\"upload_id\":\"$1\"}" >/dev/null
}
export api auth tmp chunk

# Seed API: multipart chunks over 4 connections.
id=$(init)
t0=$(now)
seq 0 $((count - 1)) | xargs -P4 -I{} sh -c \
	'dd if="$tmp/src.bin" bs=$chunk skip={} count=1 status=none |
	 curl -fs -o /dev/null -X POST "$api/files/upload/chunk" -H "$auth" \
	   -F upload_id='"$id"' -F chunk_number={} -F chunk=@-'
complete "$id"
t1=$(now)
seed_mbs=$(rate "$size" "$t0" "$t1")
seed_id=$id

# Raw chunk PUTs over 4 connections.
id=$(init)
t0=$(now)
seq 0 $((count - 1)) | xargs -P4 -I{} sh -c \
	'dd if="$tmp/src.bin" bs=$chunk skip={} count=1 status=none |
	 curl -fs -o /dev/null -X PUT "$api/files/upload/'"$id"'/chunks/{}" -H "$auth" --data-binary @-'
complete "$id"
t1=$(now)
raw_mbs=$(rate "$size" "$t0" "$t1")

# tus: one creation, one PATCH streaming the whole file.
t0=$(now)
loc=$(curl -fs -D - -o /dev/null -X POST "$api/files/tus" -H "$auth" -H 'Tus-Resumable: 1.0.0' \
	-H "Upload-Length: $size" -d '' | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
curl -fs -o /dev/null -X PATCH "http://127.0.0.1:$port$loc" -H "$auth" -H 'Tus-Resumable: 1.0.0' \
	-H 'Upload-Offset: 0' -H 'Content-Type: application/offset+octet-stream' -T "$tmp/src.bin"
t1=$(now)
tus_mbs=$(rate "$size" "$t0" "$t1")

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

cat <<TXT

Files benchmark: ${mib} MiB, 8 MiB chunks, 4 connections, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)
  what                               MB/s   vs baseline
  dd into the data folder (ceiling)  $dd_mbs
  upload, seed API (multipart)       $seed_mbs   $(ratio_of "$seed_mbs" "$dd_mbs")
  upload, raw chunk PUT              $raw_mbs   $(ratio_of "$raw_mbs" "$dd_mbs")
  upload, tus (one PATCH)            $tus_mbs   $(ratio_of "$tus_mbs" "$dd_mbs")
  static download (ceiling)          $static_dl
  download via X-Sendfile            $api_dl   $(ratio_of "$api_dl" "$static_dl")
  hs-files peak RSS                  $((rss / 1024)) MiB

bench files upload_seed mbs=$seed_mbs ratio=$(ratio_of "$seed_mbs" "$dd_mbs")
bench files upload_raw mbs=$raw_mbs ratio=$(ratio_of "$raw_mbs" "$dd_mbs")
bench files upload_tus mbs=$tus_mbs ratio=$(ratio_of "$tus_mbs" "$dd_mbs")
bench files download mbs=$api_dl ratio=$(ratio_of "$api_dl" "$static_dl")
bench files hs_file_rss vmhwm_mib=$((rss / 1024))
TXT
