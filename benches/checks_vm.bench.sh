#!/usr/bin/env bash
# Health checkers compared in the VM lab (real IPVS kernel, qemu TCG):
# keepalived's checker (`keepalived -n -l -C`, Debian's package, a witness
# only: copied into the bench overlay, never the image) and lvsd's, one after
# the other on the same farm of real servers (examples/farm.rs) with the same
# timing: TCP_CHECK every 1 s on CHECKS_VM_TCP_N servers (default 500), then
# HTTP_GET with an MD5 digest every 1 s on CHECKS_VM_HTTP_N (default 200).
# Figures: CPU (% of one emulated core), RSS, and lateness of a check against
# its schedule seen from the farm (the same method for both), plus lvsd's own
# lateness histogram. One VM boot, about 3-4 min; skipped when qemu or
# keepalived is missing. Guest side: benches/checks_vm-guest.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 not installed"; exit 0; }
KA=$(command -v keepalived || echo /usr/sbin/keepalived)
[ -x "$KA" ] || { echo "skipped: keepalived not installed (apt-get install keepalived)"; exit 0; }
# The farm is built for musl: static, so it needs no libraries in the VM.
cargo build -q --release --target x86_64-unknown-linux-musl --example farm ||
    { echo "skipped: examples/farm.rs does not build"; exit 0; }
FARM=target/x86_64-unknown-linux-musl/release/examples/farm
win=${CHECKS_VM_WIN:-20}
out=$(tests/vm/lab.sh --timeout 480 --tool "$KA" --tool "$FARM" \
    --append "LAB_TEST_TIMEOUT=420 CKB_TCP_N=${CHECKS_VM_TCP_N:-500} CKB_HTTP_N=${CHECKS_VM_HTTP_N:-200} CKB_WIN=$win" \
    benches/checks_vm-guest.sh 2>&1)
# The whole serial log, for when a figure looks odd.
log=${CHECKS_VM_LOG:-${TMPDIR:-/tmp}/lvsd-checks-vm.log}
printf '%s\n' "$out" > "$log" 2>/dev/null && echo "  (serial log: $log)"
figs=$(printf '%s\n' "$out" | sed -n 's/^[0-9.]* BENCH //p')
[ -n "$figs" ] || { echo "no figures; last lines:"; printf '%s\n' "$out" | tail -n 30; exit 1; }
if printf '%s\n' "$out" | grep -q '@@STEP FAIL'; then
    echo "WARNING: a bench step failed:"
    printf '%s\n' "$out" | grep -E '@@(STEP FAIL|FAIL) ' | cut -d' ' -f2- | sed 's/^/  /'
fi
printf '%s\n' "$figs" | sed 's/^/  /'
