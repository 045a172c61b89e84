#!/usr/bin/env bash
# Rebuild every fixture blob (*.bin) from its assembly source (*.S) with GNU as and objcopy.
# Usage: Fixtures/build.sh [DIR]            rebuild all (or those under DIR)
#        Fixtures/build.sh --check [DIR]    rebuild into a temporary folder and fail if any differs
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
check=false
if [ "${1:-}" = "--check" ]; then check=true; shift; fi
root=$(cd "${1:-$here}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
while IFS= read -r -d '' src; do
    bin="${src%.S}.bin"
    obj="$tmp/$(basename "${src%.S}").o"
    out="$tmp/$(basename "$bin")"
    as --64 -o "$obj" "$src"
    objcopy -O binary -j .text "$obj" "$out"
    if $check; then
        if ! cmp -s "$out" "$bin"; then echo "out of date: ${bin#$here/}"; status=1; fi
    else
        cp "$out" "$bin"
        echo "built ${bin#$here/}"
    fi
done < <(find "$root" -name '*.S' -print0 | sort -z)
exit $status
