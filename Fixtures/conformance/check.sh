#!/usr/bin/env bash
# Run every conformance case through the ringzero CLI and compare the report fields it expects.
# Usage: Fixtures/conformance/check.sh [path/to/ringzero] [case.json ...]
# Needs jq. Prints one line per failure and a summary; exits 1 if any case fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-ringzero}
shift || true
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then mapfile -t cases < <(find "$here" -name '*.case.json' | sort); fi
pass=0; fail=0
for c in "${cases[@]}"; do
    dir=$(dirname "$c"); id=$(basename "$c" .case.json)
    blob="$dir/$(jq -r .blob "$c")"; state="$dir/$(jq -r .state "$c")"
    mapfile -t profiles < <(jq -r '(.profiles // ["i7-5600u","i7-6700k","atom-330"])[]' "$c")
    for p in "${profiles[@]}"; do
        report=$("$bin" run "$blob" --state "$state" --profile "$p" --format json 2>&1) || {
            echo "FAIL $id [$p]: ringzero exited $?: $report"; fail=$((fail+1)); continue; }
        diffs=$(jq -r --argjson r "$report" --arg p "$p" '
            ((.expect // {}) + ((.expectByProfile // {})[$p] // {})) | to_entries[]
            | . as $e | ($e.key | split(".") | map(tonumber? // .)) as $path
            | ($r | getpath($path)) as $got
            | select($got != $e.value)
            | "  \($e.key): expected \($e.value | tojson), got \($got | tojson)"' "$c")
        if [ -n "$diffs" ]; then
            echo "FAIL $id [$p] — $(jq -r .rule "$c")"; echo "$diffs"; fail=$((fail+1))
        else pass=$((pass+1)); fi
    done
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
