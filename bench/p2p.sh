#!/bin/bash
# P2P benchmark: file transfers between two real browsers on loopback, each
# path beside a baseline measured in the same run, with the same two
# browsers and the same file. Run from the repository root after `make`
# (`make bench` runs it last).
#
# It starts its own stack (conf/stack.sh: Redis, one bridge, lighttpd and
# the apps) in a temporary folder on unusual loopback ports, with a copy of
# www/ as the document root holding the random source files and a bare page
# (p2p-bench.html: a file input, nothing else), then runs
# bench/p2p_bench.mjs: two headless chromiums (Debian's /usr/bin/chromium
# through playwright-core, fresh profiles), each a new user running the P2P
# engine (www/js/p2p.js) in that page. For each file, BENCH_P2P_RUNS rounds
# of, in this order:
#
#   static  baseline A: the recipient fetches the file from lighttpd as a
#           static file into an ArrayBuffer: the most bytes/s this browser
#           takes in from this server
#   direct  mode "direct": WebRTC DataChannel from browser to browser
#   plain   baseline B: the sender uploads the plaintext with the chunk API
#           (PUT .../chunks/{n}, 8 MiB, as many at once as the engine's relay
#           upload), the recipient downloads GET /api/v1/files/{id} with the
#           sender's token into an ArrayBuffer: the relay's bytes without
#           encryption, key exchange, transfer states or hashing
#   relay   mode "relay": encrypt + upload, bind, download + decrypt,
#           SHA-256 and complete
#
# direct / static and relay / plain are the ratios: what the WebRTC path
# gets of what the recipient can take in at all, and what encryption and
# the P2P bookkeeping cost over moving the same bytes through the files API.
# Times are taken in the recipient's page: direct and relay from its accept
# to the transfer resolving completed (received, hashed, the server's
# complete answered; the sender's offer, which hashes the file first, comes
# before), static from the fetch to the last byte in memory, plain the
# sender's upload (init, chunks, complete) plus the recipient's download.
# After each run, untimed, the recipient's page hashes what it holds: a run
# whose SHA-256 is not the file's is a failure, not a figure, and the script
# exits 1. CPU: utime + stime of each browser's process tree and of the
# stack's (Redis, bridge, lighttpd, apps) over the timed window, in % of one
# core.
#
# The engine keeps a received file in memory (and the page a Blob of it), so
# the largest size is bounded by the browser's memory, not the protocol.
# Everything it started is stopped on exit, error, Ctrl-C or SIGTERM;
# nothing is written into the repository (but tests/node/node_modules,
# installed by conf/node-deps.sh).
#
# Environment:
#   BENCH_P2P_SIZES    file sizes in MiB ("50 200")
#   BENCH_P2P_RUNS     runs of each path per size (3)
#   BENCH_P2P_MODES    paths, in the order of a round ("static direct plain relay")
#   BENCH_P2P_TIMEOUT  seconds one transfer may take (90)
#   BENCH_PORT         HTTP port (18284)
#   BENCH_REDIS_PORT   Redis port (16396)
#   BENCH_WS_PORT      the bridge's port (18392; its /metrics on +1)
#   HS_CHROMIUM        the browser (/usr/bin/chromium)
#   HS_PROCS           processes per app (2, as in conf/stack.sh)
#   HS_BIN_DIR         the hs-* binaries (build/bin)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=p2p # read by lib.sh
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
sizes=${BENCH_P2P_SIZES:-50 200}
runs=${BENCH_P2P_RUNS:-3}
modes=${BENCH_P2P_MODES:-static direct plain relay}
timeout=${BENCH_P2P_TIMEOUT:-90}
port=${BENCH_PORT:-18284}
rport=${BENCH_REDIS_PORT:-16396}
wsport=${BENCH_WS_PORT:-18392}
procs=${HS_PROCS:-2}
bindir=${HS_BIN_DIR:-$top/build/bin}
chromium=${HS_CHROMIUM:-/usr/bin/chromium}

for n in $sizes "$runs" "$timeout" "$port" "$rport" "$wsport" "$procs"; do
	case $n in '' | *[!0-9]*) die "expected a whole number, got '$n' (check BENCH_* and HS_PROCS)" ;; esac
done
[ -n "$sizes" ] || die "BENCH_P2P_SIZES is empty"
for s in $sizes; do [ "$s" -ge 1 ] || die "BENCH_P2P_SIZES: sizes are at least 1 MiB"; done
[ "$runs" -ge 1 ] && [ "$timeout" -ge 1 ] || die "BENCH_P2P_RUNS and BENCH_P2P_TIMEOUT must be at least 1"
for m in $modes; do
	case $m in static | direct | plain | relay) ;; *) die "unknown path '$m' in BENCH_P2P_MODES" ;; esac
done

for tool in curl redis-server redis-cli lighttpd node sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (run conf/install-deps.sh)"
done
[ -x "$chromium" ] || die "$chromium is not installed (conf/install-deps.sh installs chromium; or set HS_CHROMIUM)"
[ -x "$bindir/hs-p2p" ] && [ -x "$bindir/hs-ws-bridge" ] || die "$bindir/hs-p2p not found; run 'make' first"
"$top/conf/node-deps.sh" >&2 || die "conf/node-deps.sh failed (it installs playwright-core into tests/node)"

bench_ports_free
for p in "$wsport" $((wsport + 1)); do
	port_in_use "$p" && die "port $p is in use; set BENCH_WS_PORT"
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
t_start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench-p2p.XXXXXX")
stack_pid=
app_pids=
node_pid=

bench_browser_traps

# The document root: www/, a page with a file input (the engine is
# imported into it by the Node script) and the source files.
mkdir -p "$tmp/www" "$tmp/t"
cp -R "$top/www/." "$tmp/www/"
cat >"$tmp/www/p2p-bench.html" <<'EOF'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>P2P bench</title><link rel="icon" href="data:,"></head>
<body><input id="file" type="file"></body></html>
EOF
files=
for s in $sizes; do
	echo "bench p2p: making a $s MiB random file" >&2
	f=$tmp/www/bench-p2p-${s}mib.bin
	head -c $((s * 1048576)) /dev/urandom >"$f"
	files="$files${files:+,}$s:$f:$(sha256sum "$f" | cut -d' ' -f1)"
done

base="http://127.0.0.1:$port"
bench_start_stack HS_WWW_DIR="$tmp/www" HS_WS_PORT="$wsport" HS_WS_BRIDGES=1 HS_P2P_OFFER_BURST=100000
echo "bench p2p: stack up on $base; $runs runs of '$modes' per size (sizes: $sizes MiB)" >&2

# The Node script runs in the background and is waited for, so that a
# signal sent to this script alone is acted on at once. Its per-run lines go
# to the terminal (stderr), its results to $tmp/runs.txt.
rc=0
TMPDIR="$tmp/t" node "$top/bench/p2p_bench.mjs" --base "$base" --tmp "$tmp" --files "$files" \
	--runs "$runs" --modes "$modes" --server-pid "$stack_pid" --timeout $((timeout * 1000)) \
	>"$tmp/runs.txt" &
node_pid=$!
wait "$node_pid" || rc=$?
node_pid=
grep -q '^p2p done ' "$tmp/runs.txt" || die "bench/p2p_bench.mjs failed (exit $rc): $(cat "$tmp/runs.txt")"

# ---- the report

# runs_of LABEL MODE KEY: KEY of each run of the path that went through.
runs_of() {
	awk -v l="label=$1" -v m="mode=$2" -v key="$3" '$1 == "p2p" && $2 == "run" && $3 == l && $5 == m {
		ok = 0; v = ""
		for (i = 3; i <= NF; i++) {
			if ($i == "ok=1") ok = 1
			if (index($i, key "=") == 1) v = substr($i, length(key) + 2)
		}
		if (ok && v != "") print v
	}' "$tmp/runs.txt"
}
count_of() { # count_of LABEL MODE ok|all
	awk -v l="label=$1" -v m="mode=$2" -v what="$3" '$1 == "p2p" && $2 == "run" && $3 == l && $5 == m {
		if (what == "all" || $0 ~ / ok=1 /) n++
	} END {print n + 0}' "$tmp/runs.txt"
}
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# cpu_pct LABEL MODE WHO: the median over the runs of WHO's CPU in % of a core.
cpu_pct() {
	awk -v l="label=$1" -v m="mode=$2" -v key="cpu_$3_s" '$1 == "p2p" && $2 == "run" && $3 == l && $5 == m && / ok=1 / {
		c = ""; w = ""
		for (i = 3; i <= NF; i++) {
			if (index($i, key "=") == 1) c = substr($i, length(key) + 2)
			if (index($i, "wall_ms=") == 1) w = substr($i, 9)
		}
		if (c != "" && w > 0) print 100 * c / (w / 1000)
	}' "$tmp/runs.txt" | median
}
relay_rest() { # relay_rest LABEL: ms after the recipient's first byte, per relay run
	paste -d' ' <(runs_of "$1" relay ms) <(runs_of "$1" relay first_byte_ms) | awk 'NF == 2 {print $1 - $2}'
}
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN {if (v == "") print "-"; else printf "%.*f", d, v}'; }
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "" || b == "" || b + 0 <= 0) {print "-"; exit}
		r = a / b; printf (r < 0.1) ? "%.3f" : "%.2f", r
	}'
}
has_mode() { case " $modes " in *" $1 "*) return 0 ;; esac; return 1; }
name_of() {
	case $1 in
	static) echo "A: static file" ;;
	direct) echo "direct (WebRTC)" ;;
	plain) echo "B: files API, plain" ;;
	relay) echo "relay (encrypted)" ;;
	esac
}
base_of() { case $1 in direct) echo static ;; relay) echo plain ;; esac; }

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu" ] || cpu=$(uname -m)
pw=$(awk -F'"' '/"version"/ {print $4; exit}' "$top/tests/node/node_modules/playwright-core/package.json")
failed=$(awk '/^p2p done / {for (i = 3; i <= NF; i++) if (index($i, "failed=") == 1) print substr($i, 8)}' "$tmp/runs.txt")

{
	echo
	echo "Hypersend P2P benchmark (real browsers, loopback)"
	echo "  machine   $(nproc) CPUs, $cpu (load average before the run: $load_before)"
	echo "  browsers  $("$chromium" --version 2>/dev/null | head -1), headless, two instances (sender, recipient)" \
		"with fresh profiles; playwright-core $pw, node $(node --version)"
	echo "  files     random bytes; $runs runs of each path per size, interleaved; MB = 10^6 bytes"
	echo
	echo "  size      path                     runs ok   median MB/s   (min - max)        ratio      CPU % of a core: sender recipient server"
	for s in $sizes; do
		for m in $modes; do
			vals=$(runs_of "$s" "$m" mbs)
			med=$(echo "$vals" | median)
			lo=$(echo "$vals" | sort -g | head -1)
			hi=$(echo "$vals" | sort -g | tail -1)
			b=$(base_of "$m")
			r=-
			if [ -n "$b" ] && has_mode "$b"; then
				r=$(ratio "$med" "$(runs_of "$s" "$b" mbs | median)")
				[ "$r" = - ] || r="$r of $(case $b in static) echo A ;; *) echo B ;; esac)"
			fi
			range=-
			[ -z "$vals" ] || range="($(fmt "$lo") - $(fmt "$hi"))"
			printf '  %-9s %-24s %4s %-3s %11s   %-17s %-13s %15s %9s %6s\n' "$s MiB" "$(name_of "$m")" \
				"$(count_of "$s" "$m" all)" "$(count_of "$s" "$m" ok)" "$(fmt "$med")" "$range" "$r" \
				"$(fmt "$(cpu_pct "$s" "$m" sender)" 0)" "$(fmt "$(cpu_pct "$s" "$m" recipient)" 0)" \
				"$(fmt "$(cpu_pct "$s" "$m" server)" 0)"
		done
	done
	echo
	phases=$(
		for s in $sizes; do
			if has_mode direct && [ -n "$(runs_of "$s" direct ms)" ]; then
				echo "    $s MiB direct     first byte $(fmt "$(runs_of "$s" direct first_byte_ms | median)" 0) ms after Accept" \
					"(ICE, DTLS, SCTP); the rest is the DataChannel"
			fi
			if has_mode relay && [ -n "$(runs_of "$s" relay ms)" ]; then
				echo "    $s MiB relay      $(fmt "$(runs_of "$s" relay first_byte_ms | median)" 0) ms to the recipient's first byte (keys," \
					"encrypt + upload, bind), then $(fmt "$(relay_rest "$s" | median)" 0) ms download + decrypt + SHA-256 + complete"
			fi
			if has_mode plain && [ -n "$(runs_of "$s" plain ms)" ]; then
				echo "    $s MiB files API  upload $(fmt "$(runs_of "$s" plain upload_ms | median)" 0) ms," \
					"download $(fmt "$(runs_of "$s" plain download_ms | median)" 0) ms"
			fi
		done
	)
	if [ -n "$phases" ]; then
		echo "  where the time goes (medians)"
		echo "$phases"
		echo
	fi
	echo "  runs / ok: runs made / runs whose SHA-256 (of what the recipient's page held) was the file's;"
	echo "  only those are figures. ratio: the path's median MB/s over its baseline's. direct and relay:"
	echo "  from the recipient's Accept to the transfer completed (received, hashed, the server's complete"
	echo "  answered); A: fetch to the last byte in an ArrayBuffer; B: the sender's chunk upload (as many"
	echo "  PUTs at once as the engine's relay upload) plus the recipient's GET. CPU: utime + stime of each"
	echo "  browser's process tree and of the stack (lighttpd, apps, bridge, Redis) over the timed window,"
	echo "  median over the runs (10 ms ticks: rough for the short ones); all share the same $(nproc) cores."
	echo
	echo "  run time $(($(date +%s) - t_start)) s"
	echo
	# Machine-readable: the Node script's own lines.
	sed -n 's/^p2p run /bench p2p run /p' "$tmp/runs.txt"
}

cerr=$(awk '/^p2p done / {for (i = 3; i <= NF; i++) if (index($i, "console_errors=") == 1) print substr($i, 16)}' "$tmp/runs.txt")
[ "${cerr:-0}" -eq 0 ] || echo "bench p2p: the pages logged $cerr console error(s) (listed above)" >&2
[ "${failed:-1}" -eq 0 ] || die "$failed run(s) failed (see above); their figures are left out"
