#!/usr/bin/env bash
# Times Debian's Bochs 2.7 on RingZero's hot loops W1 (alu) and W4 (vmx), the way
# shared/peers/performance.md did: whole boots (BIOS POST, boot sector, long mode, loop, exit)
# at two iteration counts; the difference cancels the boot, so
#   ns per guest instruction = (t_long - t_short) / ((N_long - N_short) * instructions per iteration).
# Each repetition runs the short and the long boot back to back; the table shows the median and
# the range over the repetitions. Runs are sequential (one Bochs at a time).
#
#   Benchmarks/peers/bochs/run.sh
#   REPETITIONS=5 W1_ITERS="25000000 150000000" W4_ITERS="15000000 90000000" Benchmarks/peers/bochs/run.sh
#
# Needs GNU as/ld (binutils) and `apt-get install -y bochs bochs-term bochsbios vgabios`
# (bochs-term only satisfies the package's GUI dependency; bochsrc uses the rfb display, the one
# headless display the Debian build has: it has no "nogui"). Not part of CI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/.build"
repetitions="${REPETITIONS:-3}"
w1_iters=(${W1_ITERS:-25000000 150000000})
w4_iters=(${W4_ITERS:-15000000 90000000})
bochs="${BOCHS:-bochs-bin}"   # Debian's /usr/bin/bochs is a wrapper that adds -q and execs bochs-bin

command -v "$bochs" >/dev/null || { echo "run.sh: no $bochs: apt-get install -y bochs bochs-term bochsbios vgabios" >&2; exit 2; }
mkdir -p "$build"

# image W ITERS -> path of a 1.44 MB floppy image running workload W for ITERS iterations.
image() {
    local img="$build/w$1-$2.img"
    as --64 --defsym W="$1" --defsym ITERS="$2" -o "$build/w$1-$2.o" "$here/loop.S"
    ld -Ttext=0x7C00 -e _start --oformat binary -o "$img" "$build/w$1-$2.o"
    truncate -s 1474560 "$img"
    echo "$img"
}

# boot W ITERS -> seconds of wall time for one whole Bochs run; fails unless the guest reported
# that the loop ran ITERS times (W1: RBX = 7 - 3 * ITERS, RCX = 0; W4: R8 = 0 and VMXON
# succeeded before and after the loop).
boot() {
    local w="$1" n="$2" img="$build/w$1-$2.img" out="$build/w$1-$2.out" start end
    # The Debian build has Bochs's debugger compiled in: it stops at the first instruction and
    # reads commands; debugger.rc says "continue". The guest's "Shutdown" write to port 0x8900
    # ends Bochs with a panic message and exit status 1, which is the expected end here.
    start=$(date +%s.%N)
    RZ_IMAGE="$img" RZ_LOG="$build/w$w-$n.log" timeout 300 \
        "$bochs" -q -f "$here/bochsrc" -rc "$here/debugger.rc" </dev/null >"$out" 2>"$build/w$w-$n.err" || true
    end=$(date +%s.%N)
    local expect
    if [[ "$w" == 1 ]]; then
        expect="$(printf 'RZ W1 iters=%016x rbx=%016x rcx=0000000000000000' "$n" $((7 - 3 * n)))"
    else
        expect="$(printf 'RZ W4 iters=%016x .* rflags_after_first_vmxon=0000000000000002 rflags_after_last_vmxon=0000000000000002 r8=0000000000000000' "$n")"
    fi
    if ! grep -q "^$expect\$" "$out" || ! grep -q '^RZ DONE$' "$out" || ! grep -q 'Shutdown port: shutdown requested' "$build/w$w-$n.err"; then
        echo "run.sh: W$w with $n iterations did not report the expected result; see $out, $build/w$w-$n.err and .log" >&2
        grep '^RZ' "$out" >&2 || true
        exit 1
    fi
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", e - s }'
}

echo "Bochs: $(dpkg-query -W -f '${Package} ${Version}' bochs 2>/dev/null || echo unknown), cpu model $(sed -n 's/^cpu: model=\([^,]*\).*/\1/p' "$here/bochsrc")"
echo "Host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(grep -m1 'cpu MHz' /proc/cpuinfo | awk -F: '{printf "%.0f MHz", $2}'), loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| workload | iterations short / long | boot short / long (s, median) | ns per guest instruction, median | min-max |"
echo "| --- | --- | --- | ---: | --- |"
for w in 1 4; do
    if [[ "$w" == 1 ]]; then iters=("${w1_iters[@]}"); ipi=5; name="W1 alu"; else iters=("${w4_iters[@]}"); ipi=4; name="W4 vmx"; fi
    short="${iters[0]}" long="${iters[1]}"
    image "$w" "$short" >/dev/null
    image "$w" "$long" >/dev/null
    shorts=() longs=() ns=()
    for ((r = 0; r < repetitions; r++)); do
        ts="$(boot "$w" "$short")"
        tl="$(boot "$w" "$long")"
        shorts+=("$ts") longs+=("$tl")
        ns+=("$(awk -v a="$ts" -v b="$tl" -v d="$(( (long - short) * ipi ))" 'BEGIN { printf "%.2f", (b - a) * 1e9 / d }')")
        echo "  W$w repetition $((r + 1)): short ${ts}s, long ${tl}s, ${ns[-1]} ns/instr" >&2
    done
    median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
    range="$(printf '%s\n' "${ns[@]}" | sort -g | sed -n '1p;$p' | paste -sd- -)"
    echo "| $name | $short / $long | $(median "${shorts[@]}") / $(median "${longs[@]}") | $(median "${ns[@]}") | $range |"
done
echo
echo "loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"
