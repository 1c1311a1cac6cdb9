# Shared by the bench/*.sh scripts (sourced, not run): starting and stopping
# a private stack, and running and reading wrk. A script sets bench_name,
# top, tmp, port, rport, procs and bindir before calling these, and the pids
# it starts itself (wrk_pid, seed_pid, baseline_pid) are stopped by
# bench_cleanup too.

die() {
	echo "bench ${bench_name:-}: $*" >&2
	exit 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Fails unless the HTTP and Redis ports are free.
bench_ports_free() {
	port_in_use "$port" && die "port $port is in use; set BENCH_PORT"
	port_in_use "$rport" && die "port $rport is in use; set BENCH_REDIS_PORT"
	return 0
}

# True while PID is a live (not zombie) process of one of our hs-* apps.
app_running() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && grep -qF "$bindir/hs-" "/proc/$1/cmdline" 2>/dev/null
}

# Stops wrk, the seeder and a baseline server if running, then the stack (stack.sh stops redis
# and lighttpd, lighttpd its apps), makes sure the app processes seen during
# the run are gone, then removes the temporary folder.
bench_cleanup() {
	local rc=$? p i
	trap - EXIT INT TERM HUP
	for p in ${wrk_pid:-} ${seed_pid:-} ${baseline_pid:-}; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "${stack_pid:-}" ] && kill -0 "$stack_pid" 2>/dev/null; then
		kill -TERM "$stack_pid" 2>/dev/null || true
		wait "$stack_pid" 2>/dev/null || true
	fi
	for p in ${app_pids:-}; do
		i=0
		while app_running "$p" && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if app_running "$p"; then
			echo "bench ${bench_name:-}: app process $p did not stop; killing it" >&2
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
	if [ "$rc" -ne 0 ] && [ -s "$tmp/stack.log" ]; then
		echo "bench ${bench_name:-}: stack output:" >&2
		sed 's/^/  /' "$tmp/stack.log" >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}

bench_traps() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# Processes whose command line names a browser profile of $tmp: the
# browsers, should the Node script have died without closing them.
bench_browsers_left() {
	local d
	for d in /proc/[0-9]*; do
		grep -qF "$tmp/profile-" "$d/cmdline" 2>/dev/null && echo "${d#/proc/}"
	done
	return 0
}

# For the scripts that drive browsers: the Node script (node_pid) goes first
# (it closes its browsers), then whatever browser process is left, then
# anything the script names in browser_extra_pids, then bench_cleanup.
bench_browser_cleanup() {
	local rc=$? p sig
	set +e # (exit rc) below must not end the script here
	if [ -n "${node_pid:-}" ]; then
		kill -TERM "$node_pid" 2>/dev/null
		wait "$node_pid" 2>/dev/null
		node_pid=
	fi
	for sig in TERM KILL; do
		p=$(bench_browsers_left)
		[ -n "$p" ] || break
		echo "bench $bench_name: browser processes left behind: $(echo "$p" | tr "\n" " ")(SIG$sig)" >&2
		# shellcheck disable=SC2086
		kill -"$sig" $p 2>/dev/null
		sleep 1
	done
	for p in ${browser_extra_pids:-}; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	(exit "$rc")
	bench_cleanup
}

# bench_browser_traps: bench_traps for the scripts that drive browsers.
bench_browser_traps() {
	trap bench_browser_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# bench_start_stack [VAR=value ...]: runs conf/stack.sh in $tmp/run with
# these extra environment settings (HS_FRONT picks the front), waits for
# /health and sets stack_pid, lighttpd_pid (the front's main process),
# front_pids (with its workers) and app_pids.
bench_start_stack() {
	env HS_PORT="$port" HS_REDIS_PORT="$rport" HS_PROCS="$procs" HS_QUIET=1 HS_BIN_DIR="$bindir" \
		"$@" "$top/conf/stack.sh" run "$tmp/run" >"$tmp/stack.log" 2>&1 &
	stack_pid=$!
	local i=0
	until curl -fs -o /dev/null "http://127.0.0.1:$port/health"; do
		kill -0 "$stack_pid" 2>/dev/null || {
			wait "$stack_pid" 2>/dev/null || true
			stack_pid=
			die "the stack did not start"
		}
		i=$((i + 1))
		[ $i -lt 400 ] || die "the stack did not answer /health within 20 s"
		sleep 0.05
	done
	lighttpd_pid=$(pgrep -P "$stack_pid" -x 'lighttpd|nginx|apache2' | head -1 || true)
	[ -n "$lighttpd_pid" ] || die "cannot find the front server process of the stack"
	# nginx and Apache work in child processes of their own
	front_pids="$lighttpd_pid $(pgrep -P "$lighttpd_pid" -x 'nginx|apache2' | tr '\n' ' ' || true)"
	# this stack's apps, whoever started them: their environment names its folder
	app_pids=
	local p
	for p in $(pgrep -f "$bindir/hs-" || true); do
		grep -qzF "$tmp/run/" "/proc/$p/environ" 2>/dev/null && app_pids="$app_pids $p"
	done
}

# Stops the stack bench_start_stack started (stack.sh stops all it ran).
bench_stop_stack() {
	kill -TERM "$stack_pid" 2>/dev/null || true
	wait "$stack_pid" 2>/dev/null || true
	stack_pid=
}

# wrk runs in the background and is waited for, so that a signal sent to
# the script alone (not to the whole terminal group) is acted on at once.
wrk_bg() {
	local out=$1
	shift
	wrk "$@" >"$out" 2>&1 &
	wrk_pid=$!
	local rc=0
	wait "$wrk_pid" || rc=$?
	wrk_pid=
	return $rc
}

# run_wrk NAME URL SECONDS THREADS CONNECTIONS WARMUP [wrk args...]: the
# report goes to $tmp/NAME.txt.
run_wrk() {
	local name=$1 url=$2 secs=$3 t=$4 c=$5 w=$6
	shift 6
	[ "$t" -le "$c" ] || t=$c
	if [ "$w" -gt 0 ]; then
		wrk_bg /dev/null -t"$t" -c"$c" -d"${w}s" "$@" "$url" || die "wrk warm-up for $name failed"
	fi
	wrk_bg "$tmp/$name.txt" -t"$t" -c"$c" -d"${secs}s" --latency "$@" "$url" ||
		die "wrk for $name failed: $(cat "$tmp/$name.txt")"
}

# Figures out of a wrk report: requests/s, a latency percentile in ms,
# failed responses (non-2xx unless the second argument is 0, socket errors).
wrk_rps() { awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$1"; }
wrk_pct_ms() {
	awk -v p="$2%" '$1 == p {
		v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
		printf "%.2f", v
	}' "$1"
}
wrk_errors() {
	awk -v non2xx="${2:-1}" '/Non-2xx or 3xx responses:/ {if (non2xx) n += $NF}
	     /Socket errors:/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) {x = $i; sub(/,/, "", x); n += x}}
	     END {print n + 0}' "$1"
}

# json FILE EXPR: a value out of a JSON file (EXPR in Python, on d). Needs $py.
json() { "$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# register NAME: a user of the bench's stack ($api); leaves the reply in $tmp/NAME.json.
register() {
	curl -fsS -o "$tmp/$1.json" -X POST "$api/auth/register" -H 'Content-Type: application/json' \
		-d "{\"username\":\"$1\",\"email\":\"$1@example.com\",\"password\":\"bench password 1234\"}" ||
		die "registering $1 failed"
}

ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }

now() { date +%s.%N; }
# rate BYTES T0 T1: MB/s (MiB per second) of BYTES moved between two now()s.
rate() { awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.0f", b / 1048576 / (t1 - t0) }'; }

# dd_rate SRC DST_FOLDER [dd flags]: MB/s of dd copying SRC into the folder
# (the copy is removed after, and the caches written back before and after).
dd_rate() {
	local src=$1 dst=$2/dd.bin t0 t1
	shift 2
	sync
	t0=$(now)
	dd if="$src" of="$dst" bs=8M status=none "$@"
	t1=$(now)
	rm -f "$dst"
	sync
	rate "$(stat -c %s "$src")" "$t0" "$t1"
}
