#!/bin/sh
# Runs libFuzzer harnesses one at a time (make fuzz; docs/fuzzing.md).
# usage: run.sh BUILD_DIR SECONDS RUNS NAME...
# Each harness starts from a scratch copy of tests/fuzz/corpus/<name>/ (new
# inputs land in the copy, never in the committed corpus), with
# tests/fuzz/<name>.dict when there is one. Prints each harness's final
# executions and coverage; exits 1 if any harness found a crash, a leak, a
# timeout or a broken invariant, naming the reproducer.
set -u
build=$1 seconds=$2 runs=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
failed=""
for name in "$@"; do
    bin="$build/fuzz_$name"
    work="$build/work/$name"
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    if [ -d "$here/corpus/$name" ]; then
        cp -R "$here/corpus/$name/." "$work/corpus/"
    fi
    set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/"
    [ "$runs" -gt 0 ] 2>/dev/null && set -- "$@" -runs="$runs"
    [ -f "$here/$name.dict" ] && set -- "$@" -dict="$here/$name.dict"
    echo "== fuzz_$name (${seconds}s)"
    "$bin" "$@" "$work/corpus" >"$work/log" 2>&1
    rc=$?
    grep -E '^#[0-9]+.*(DONE|cov:)' "$work/log" | tail -1
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$work/log"
    echo "corpus: $(ls "$work/corpus" | wc -l) inputs"
    if [ $rc -ne 0 ]; then
        grep -E 'ERROR:|invariant failed|runtime error|SUMMARY' "$work/log" | head -5
        for f in "$work/artifacts"/*; do
            [ -e "$f" ] && echo "REPRODUCER: $f (run: $bin $f; full log: $work/log)"
        done
        failed="$failed $name"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed"
    exit 1
fi
echo "fuzz: no crashes"
