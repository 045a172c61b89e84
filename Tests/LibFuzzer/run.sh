#!/usr/bin/env bash
# Build the libFuzzer target with -sanitize=fuzzer and run it on a corpus seeded from the
# fixtures. Usage: Tests/LibFuzzer/run.sh [seconds] [extra libFuzzer flags]
# Crashes (fast/reference differences, Swift traps) are saved as crash-* files in this folder.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
swift build -c release -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library >/dev/null
corpus=.build/corpus
mkdir -p "$corpus"
# Seed: every fixture blob, prefixed with a header byte per starting mode.
i=0
while IFS= read -r -d '' bin; do
    for header in 0 1 3; do
        { printf "\\x$(printf %02x $header)"; cat "$bin"; } > "$corpus/fixture-$i-$header"
    done
    i=$((i + 1))
done < <(find ../../Fixtures -name '*.bin' -print0)
.build/release/RingZeroFuzzTarget "$corpus" -max_total_time="$seconds" -max_len=512 "$@"
