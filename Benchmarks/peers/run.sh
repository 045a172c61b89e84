#!/usr/bin/env bash
# Runs W1-W3 on Unicorn (unicorn_bench.c), on the minimal C switch interpreter of
# shared/peers/performance.md (switch_yardstick.c) and on RingZero (`ringzero bench`), one after
# the other, and prints ns per guest instruction for each and RingZero's ratio to each.
#
#   Benchmarks/peers/run.sh [path/to/ringzero]     (default: .build/release/ringzero)
#
# Needs a C compiler and Debian's libunicorn-dev (apt-get install -y libunicorn-dev), and jq
# or python3 to read RingZero's JSON. REPETITIONS (default 5) sets the repetitions of all three.
# Not part of CI. See README.md beside this script.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ringzero="${1:-$root/.build/release/ringzero}"
repetitions="${REPETITIONS:-5}"
workloads=(w1-alu w2-cr w3-msr)

if [[ ! -x "$ringzero" ]]; then
    echo "run.sh: no RingZero binary at $ringzero (swift build -c release, or pass its path)" >&2
    exit 2
fi
if [[ ! -f /usr/include/unicorn/unicorn.h ]]; then
    echo "run.sh: Unicorn's headers are missing: apt-get install -y libunicorn-dev" >&2
    exit 2
fi

mkdir -p "$here/.build"
cc -O2 -Wall -o "$here/.build/unicorn_bench" "$here/unicorn_bench.c" -lunicorn
cc -O2 -Wall -Wextra -o "$here/.build/switch_yardstick" "$here/switch_yardstick.c"

wargs=()
for w in "${workloads[@]}"; do wargs+=(--workload "$w"); done

# A workload that Unicorn does not run as the loop intends gets "null" and a reason instead of a
# time (and a non-zero exit); the table shows "-" for it and the reason is printed below.
unicorn_status=0
unicorn_out="$("$here/.build/unicorn_bench" "${wargs[@]}" --repetitions "$repetitions" --format tsv)" ||
    unicorn_status=$?
if [[ -z "$unicorn_out" ]]; then
    echo "run.sh: unicorn_bench failed (exit $unicorn_status)" >&2
    exit 1
fi
yardstick_out="$("$here/.build/switch_yardstick" "${wargs[@]}" --repetitions "$repetitions" --format tsv)" || {
    echo "run.sh: switch_yardstick failed" >&2
    exit 1
}
ringzero_json="$("$ringzero" bench "${wargs[@]}" --repetitions "$repetitions" --format json)"

# Prints "name<TAB>nsPerInstruction" per workload, and "host<TAB>..." first.
parse_ringzero() {
    if command -v jq >/dev/null 2>&1; then
        jq -r '"host\t" + .host, (.workloads[] | "\(.name)\t\(.nsPerInstruction)")'
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c '
import json, sys
d = json.load(sys.stdin)
print("host\t" + d["host"])
for w in d["workloads"]:
    print("%s\t%s" % (w["name"], w["nsPerInstruction"]))'
    else
        echo "run.sh: need jq or python3 to read ringzero's JSON" >&2
        exit 2
    fi
}
ringzero_rows="$(printf '%s' "$ringzero_json" | parse_ringzero)"

host="$(awk -F'\t' '$1 == "host" { print $2 }' <<<"$ringzero_rows")"
echo "host: $host, $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Unicorn $(dpkg-query -W -f '${Version}' libunicorn2 2>/dev/null || echo '?'), the C switch yardstick (cc -O2) and $ringzero; medians of $repetitions repetitions"
echo
printf '| %-8s | %10s | %11s | %10s | %18s | %20s |\n' workload "Unicorn" "C switch" "RingZero" "RingZero / Unicorn" "RingZero / C switch"
printf '| %-8s | %10s | %11s | %10s | %18s | %20s |\n' --- ---: ---: ---: ---: ---:
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-" }'; }
for w in "${workloads[@]}"; do
    u="$(awk -F'\t' -v w="$w" '$1 == w && $2 != "null" { print $2 }' <<<"$unicorn_out")"
    c="$(awk -F'\t' -v w="$w" '$1 == w && $2 != "null" { print $2 }' <<<"$yardstick_out")"
    r="$(awk -F'\t' -v w="$w" '$1 == w { printf "%.3f", $2 }' <<<"$ringzero_rows")"
    printf '| %-8s | %10s | %11s | %10s | %18s | %20s |\n' "$w" "${u:--}" "${c:--}" "${r:--}" "$(ratio "$r" "$u")" "$(ratio "$r" "$c")"
done
echo
echo "ns per guest instruction; a ratio above 1 means RingZero is slower by that factor."
awk -F'\t' '$2 == "null" { print "Unicorn did not run " $1 ": " $3 }' <<<"$unicorn_out"
exit "$unicorn_status"
