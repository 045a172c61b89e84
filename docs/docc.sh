#!/usr/bin/env bash
# Build the RingZero library's DocC documentation (Sources/RingZero/RingZero.docc) into
# .build/docc, checking that every symbol link resolves. Needs the toolchain's `docc`.
# Usage: docs/docc.sh        then open .build/docc/index.html through a web server, or
#        docs/docc.sh --check   to only report problems (exit 1 on any warning)
set -euo pipefail
cd "$(dirname "$0")/.."
graphs=.build/symbol-graphs
rm -rf "$graphs" && mkdir -p "$graphs"
swift build --target RingZero -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$graphs" >/dev/null
out=$(docc convert Sources/RingZero/RingZero.docc --additional-symbol-graph-dir "$graphs" \
      --output-path .build/docc --analyze 2>&1 || true)
if echo "$out" | grep -qE "warning|error"; then echo "$out" | grep -E "warning|error"; exit 1; fi
[ "${1:-}" = "--check" ] || echo "documentation in .build/docc"
