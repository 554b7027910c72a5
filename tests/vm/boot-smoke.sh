#!/bin/bash
# tests/vm/boot-smoke.sh BOARD: boot the board's appliance image (not the lab)
# under qemu TCG and check, from the serial console, that /init runs for the
# right board, loads its modules without failure, configures its interfaces,
# makes the root read-only and that the supervisor starts lvsd. Boards with
# IFACES get that many virtio NICs on isolated user-mode netdevs
# (restrict=on: no traffic leaves qemu). Hard timeout; always kills qemu.
#   --no-build   use image/out/BOARD as it is
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
NO_BUILD=0; [ "${1:-}" = --no-build ] && { NO_BUILD=1; shift; }
BOARD=${1:?usage: tests/vm/boot-smoke.sh [--no-build] BOARD}
TIMEOUT=${BOOT_TIMEOUT:-120}
[ $NO_BUILD = 1 ] || "$ROOT/image/build.sh" "$BOARD" >&2 || exit 1
OUT=$ROOT/image/out/$BOARD
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-boot.XXXXXX")
cleanup() { [ -s "$TMP/qemu.pid" ] && kill -KILL "$(cat "$TMP/qemu.pid")" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
IFACES=$( . "$ROOT/board/$BOARD/board.conf"; echo "${IFACES:-}" )
NICS=(-nic none)
if [ -n "$IFACES" ]; then NICS=(); for i in $IFACES; do NICS+=(-nic user,model=virtio-net-pci,restrict=on); done; fi

want=("init: lvsd appliance, board $BOARD" "init: modules loaded:" "init: root is read-only" "supervise: starting lvsd run")
for i in $IFACES; do want+=("init: interface $i up"); done
T0=$EPOCHREALTIME
timeout -k 2 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot "${NICS[@]}" \
    -kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs" -pidfile "$TMP/qemu.pid" \
    -append "console=ttyS0 panic=-1 quiet" </dev/null > "$TMP/serial" 2>&1 &
QPID=$!
ok=0
while kill -0 $QPID 2>/dev/null; do
    if grep -aq 'supervise: starting lvsd run' "$TMP/serial"; then sleep 1; ok=1; break; fi
    sleep 0.5
done
tr -d '\r' < "$TMP/serial" > "$TMP/s"
fail=0
for w in "${want[@]}"; do
    if grep -aqF "$w" "$TMP/s"; then echo "  PASS  serial shows '$w'"; else echo "  FAIL  serial lacks '$w'"; fail=1; fi
done
if grep -aE 'init: (WARNING|FATAL)|Kernel panic' "$TMP/s"; then echo "  FAIL  warnings above"; fail=1; else echo "  PASS  no init warning, no panic"; fi
[ $ok = 1 ] || { echo "  FAIL  supervisor did not start lvsd within ${TIMEOUT}s"; fail=1; }
printf 'boot-smoke %s: %s (%.1f s)\n' "$BOARD" "$([ $fail = 0 ] && echo PASS || echo FAIL)" "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')"
[ $fail = 0 ] || { echo "-- serial console:"; sed 's/^/  | /' "$TMP/s" | tail -n 60; }
exit $fail
