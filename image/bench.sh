#!/bin/bash
# image/bench.sh [BOARD]: figures for the appliance image (make bench part).
#   - image size (vmlinuz, initramfs, unpacked root, modules, lvsd)
#   - boot time under TCG, host-measured on the serial output: qemu start ->
#     first /init line, -> supervisor starting lvsd, -> lvsd's first log line
#   - VM lab boot-to-ready (qemu start -> lab up, board qemu-x86_64)
# Uses the image in image/out/<BOARD> (builds it when missing). BENCH_RUNS=3.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BOARD=${1:-qemu-x86_64}
RUNS=${BENCH_RUNS:-3}
echo "host load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (TCG boot times scale with it)"
OUT=$HERE/out/$BOARD
[ -f "$OUT/initramfs" ] || "$HERE/build.sh" "$BOARD" >&2 || exit 1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-bench.XXXXXX")
cleanup() { [ -s "$TMP/qemu.pid" ] && kill -KILL "$(cat "$TMP/qemu.pid")" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

kib() { echo "$(( ($1 + 1023) / 1024 )) KiB"; }
echo "== image size (board $BOARD)"
echo "vmlinuz:            $(kib "$(wc -c < "$OUT/vmlinuz")")"
echo "initramfs (gzip):   $(kib "$(wc -c < "$OUT/initramfs")")"
echo "root unpacked:      $(kib "$(zcat "$OUT/initramfs" | wc -c)") (cpio stream)"
echo "kernel modules:     $(zcat "$OUT/initramfs" | cpio -t --quiet 2>/dev/null | grep -c '\.ko$')"
LVSD=$(zcat "$OUT/initramfs" | cpio -i --quiet --to-stdout usr/sbin/lvsd 2>/dev/null | wc -c)
echo "lvsd binary:        $(kib "$LVSD")"
echo "total (boot files): $(kib $(( $(wc -c < "$OUT/vmlinuz") + $(wc -c < "$OUT/initramfs") )))"

# One appliance boot; prints "init supervise lvsd" seconds after qemu start
# (lvsd = '-' while lvsd logs nothing).
boot_once() {
    local t0 line t init=- sup=- lv=- deadline
    rm -f "$TMP/qemu.pid"
    t0=$EPOCHREALTIME
    deadline=$(awk -v a="$t0" 'BEGIN{printf "%.6f", a + 60}')
    while IFS= read -r line; do
        t=$EPOCHREALTIME; line=${line%$'\r'}
        case $line in
            *init:\ *) [ "$init" = - ] && init=$(awk -v a="$t0" -v b="$t" 'BEGIN{printf "%.2f", b-a}') ;;
            *"supervise: starting lvsd"*) [ "$sup" = - ] && sup=$(awk -v a="$t0" -v b="$t" 'BEGIN{printf "%.2f", b-a}') ;;
            "lvsd| "*) lv=$(awk -v a="$t0" -v b="$t" 'BEGIN{printf "%.2f", b-a}'); break ;;
        esac
        # lvsd gets 3 s after the supervisor started it to print something.
        if [ "$sup" != - ] && awk -v a="$t0" -v s="$sup" -v b="$t" 'BEGIN{exit !(b-a > s+3)}'; then break; fi
        awk -v d="$deadline" -v b="$t" 'BEGIN{exit !(b > d)}' && break
    done < <(timeout -k 2 70 qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot -nic none \
        -kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs" -pidfile "$TMP/qemu.pid" \
        -append "console=ttyS0 panic=-1 quiet" </dev/null 2>&1)
    [ -s "$TMP/qemu.pid" ] && kill -KILL "$(cat "$TMP/qemu.pid")" 2>/dev/null
    echo "$init $sup $lv"
}
echo "== boot time under TCG (host clock on the serial console, $RUNS runs)"
for i in $(seq "$RUNS"); do
    set -- $(boot_once)
    echo "run $i: qemu start -> /init first line ${1}s, -> supervisor starts lvsd ${2}s, -> lvsd first log line ${3}$([ "$3" = - ] && echo ' (lvsd logged nothing: stub)' || echo s)"
done

echo "== VM lab boot-to-ready (board qemu-x86_64)"
for i in $(seq "$RUNS"); do
    "$ROOT/tests/vm/lab.sh" --no-build --timeout 120 > "$TMP/lab.log" 2>&1
    q=$(awk '/@@HOST QEMU-START/ {print $1; exit}' "$TMP/lab.log")
    r=$(awk '/@@LAB READY/ {print $1, $4; exit}' "$TMP/lab.log")
    if [ -n "$r" ]; then
        set -- $r
        echo "run $i: qemu start -> lab ready $(awk -v a="$q" -v b="$1" 'BEGIN{printf "%.2f", b-a}')s (guest uptime ${2}s)"
    else
        echo "run $i: lab did not come up"; tail -n 20 "$TMP/lab.log"
    fi
done
echo "== lvsd start -> VIP answering on the master (board qemu-x86_64 lab, dir1 alone, state MASTER, advert_int 1; 10 ms polling)"
"$ROOT/tests/vm/lab.sh" --no-build --timeout 120 "$ROOT/benches/vip-guest.sh" > "$TMP/vip.log" 2>&1
if grep -q ' BENCH ' "$TMP/vip.log"; then
    sed -n 's/^[0-9.]* BENCH //p' "$TMP/vip.log" | awk '{ printf "  %-28s %s\n", $1, $2 }'
    echo "  (start_to_vip is the election: one advert interval plus skew; vip_to_answer is the target <= 1 s after it)"
else
    echo "  no figures; last lines:"; tail -n 20 "$TMP/vip.log"
fi
