#!/bin/bash
# tests/vm/lab.sh: boot ONE qemu VM (board qemu-x86_64, TCG) that builds the
# VM lab inside itself (tests/vm/guest/lab-up.sh) and runs the given guest
# scripts in it, then powers off. Serial output goes to stdout, each line
# prefixed with the host time ("EPOCH.USEC line"), so callers can time boots.
#
#   tests/vm/lab.sh [options] [GUEST_SCRIPT...]
#     --timeout S   hard limit for the whole qemu run (default 300)
#     --shell       interactive: lab up, then a root shell on the console
#                   (no time stamps; exit the shell to power off)
#     --no-build    use image/out/qemu-x86_64 as it is (also LAB_NO_BUILD=1)
#     --append ARGS extra kernel command line
#     --tool PATH   also copy the program PATH (and its shared libraries) to
#                   /opt/lab/bin in the test overlay (benches: keepalived, farm)
# Exit: qemu's status; 124 when the hard timeout hit. Always removes its temp
# files and kills its qemu, also on Ctrl-C or when the caller goes away.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BOARD=qemu-x86_64
TIMEOUT=300 SHELL_MODE=0 NO_BUILD=${LAB_NO_BUILD:-0} APPEND=
SCRIPTS=() TOOLS=()
while [ $# -gt 0 ]; do
    case $1 in
        --timeout) TIMEOUT=$2; shift 2 ;;
        --shell) SHELL_MODE=1; shift ;;
        --no-build) NO_BUILD=1; shift ;;
        --append) APPEND="$APPEND $2"; shift 2 ;;
        --tool) [ -x "$2" ] || { echo "lab.sh: --tool $2: not an executable" >&2; exit 2; }
                TOOLS+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        -*) echo "lab.sh: unknown option $1" >&2; exit 2 ;;
        *) [ -f "$1" ] || { echo "lab.sh: no such guest script: $1" >&2; exit 2; }
           SCRIPTS+=("$1"); shift ;;
    esac
done
command -v qemu-system-x86_64 >/dev/null || { echo "lab.sh: qemu-system-x86_64 not found (apt-get install qemu-system-x86)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-lab.XXXXXX")
cleanup() {
    if [ -s "$TMP/qemu.pid" ]; then
        kill -TERM "$(cat "$TMP/qemu.pid")" 2>/dev/null || true
        sleep 0.2; kill -KILL "$(cat "$TMP/qemu.pid")" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

if [ "$NO_BUILD" != 1 ]; then
    "$ROOT/image/build.sh" "$BOARD" >&2 || { echo "lab.sh: image build failed" >&2; exit 2; }
fi
OUT=$ROOT/image/out/$BOARD
[ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initramfs" ] || { echo "lab.sh: no image in $OUT (run image/build.sh $BOARD)" >&2; exit 2; }

# ---- test overlay: lab driver, lib, tests, witness tools with their libs ----
OV=$TMP/overlay
mkdir -p "$OV/lab/tests" "$OV/opt/lab/bin"
install -m 0755 "$HERE/guest/lab-main" "$HERE/guest/lab-up.sh" "$OV/lab/"
install -m 0644 "$HERE/lib.sh" "$OV/lab/lib.sh"
n=100
for s in "${SCRIPTS[@]}"; do
    n=$((n + 1)); install -m 0755 "$s" "$OV/lab/tests/$n-$(basename "$s")"
done
# ipvsadm is only a witness in tests (never in the product image); iproute2's
# ip is needed for netns names and veth peers in other namespaces.
# --tool programs (keepalived as a witness in benches) come the same way;
# ldd prints nothing usable for a static program, which then goes alone.
for tool in /usr/sbin/ipvsadm /usr/bin/ip /usr/bin/nsenter ${TOOLS[@]+"${TOOLS[@]}"}; do
    [ -x "$tool" ] || { echo "lab.sh: $tool not found (apt-get install ipvsadm iproute2)" >&2; exit 2; }
    [ "$tool" = /usr/bin/nsenter ] && continue
    cp "$tool" "$OV/opt/lab/bin/"
    for lib in $(ldd "$tool" 2>/dev/null | grep -o '/[^ ]*'); do
        mkdir -p "$OV$(dirname "$lib")"; cp -L "$lib" "$OV$lib"
    done
done
(cd "$OV" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort |
    cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -1 > "$TMP/overlay.gz"
cat "$OUT/initramfs" "$TMP/overlay.gz" > "$TMP/initrd"

CMDLINE="console=ttyS0 panic=-1 quiet lvsd.mode=lab$APPEND"
QEMU=(qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot -nic none
      -kernel "$OUT/vmlinuz" -initrd "$TMP/initrd" -pidfile "$TMP/qemu.pid")
if [ "$SHELL_MODE" = 1 ]; then
    timeout -k 5 "$TIMEOUT" "${QEMU[@]}" -append "$CMDLINE lvsd.lab=shell" || rc=$?
    exit "${rc:-0}"
fi
printf '%s @@HOST QEMU-START timeout=%ss\n' "$EPOCHREALTIME" "$TIMEOUT"
set +e
timeout -k 5 "$TIMEOUT" "${QEMU[@]}" -append "$CMDLINE" </dev/null 2>&1 |
    while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "${line%$'\r'}"; done
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 124 ] && printf '%s @@HOST HARD-TIMEOUT qemu killed after %ss\n' "$EPOCHREALTIME" "$TIMEOUT"
printf '%s @@HOST QEMU-EXIT rc=%s\n' "$EPOCHREALTIME" "$rc"
exit "$rc"
