#!/usr/bin/env bash
# CI gate (a) of the speed issue: no allocation in the hot loop of W1-W4. Runs the
# package-benchmark HotLoop benchmarks (restore, then the cached loop to HLT, per iteration) and
# fails if any percentile of "Malloc (total)" is above zero.
# Usage: Benchmarks/check-allocations.sh        (from anywhere; builds the suite on first use)
set -euo pipefail
cd "$(dirname "$0")"
export RINGZERO_BENCH_SECONDS=${RINGZERO_BENCH_SECONDS:-0.5}
out=$(swift package benchmark --filter 'HotLoop.*' --no-progress 2>&1) || { echo "$out"; exit 1; }
status=0
current=""
seen=0
measured=0
while IFS= read -r line; do
    case "$line" in
        HotLoop.*) current=$line; seen=$((seen + 1)) ;;
        *"Malloc (total)"*)
            measured=$((measured + 1))
            # Columns: metric, p0 p25 p50 p75 p90 p99 p100, samples.
            counts=$(echo "$line" | tr -d '│' | awk '{ for (i = NF - 7; i < NF; i++) printf "%s ", $i }')
            nonzero=$(echo "$counts" | tr ' ' '\n' | grep -v '^$' | grep -vc '^0$' || true)
            if [ "$nonzero" -ne 0 ]; then echo "FAIL $current allocates in the hot loop: mallocs p0-p100 = $counts"; status=1
            else echo "ok   $current: no allocation ($counts)"; fi ;;
    esac
done <<< "$out"
[ -n "$current" ] || { echo "no HotLoop benchmark ran"; echo "$out"; exit 1; }
# Every benchmark must have reported its malloc count: a missing row is not a pass.
[ "$measured" -eq "$seen" ] || { echo "FAIL only $measured of $seen HotLoop benchmarks reported a malloc count"; exit 1; }
exit $status
