#!/usr/bin/env bash
# IPVS figures from the VM lab (real kernel, qemu TCG): lvsd applying
# 1000 virtual servers x 10 real servers to an empty table (target <= 1 s),
# per-operation time, an unchanged reload (target 0 writes, <= 50 ms), the
# restore of one hand-deleted destination, and `ipvsadm -R` of the same
# table as the yardstick. One VM boot; skipped when qemu is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 not installed"; exit 0; }
out=$(tests/vm/lab.sh --timeout 400 --append "LAB_TEST_TIMEOUT=360" benches/ipvs-guest.sh 2>&1)
figs=$(printf '%s\n' "$out" | sed -n 's/^[0-9.]* BENCH //p')
[ -n "$figs" ] || { echo "no figures; last lines:"; printf '%s\n' "$out" | tail -n 30; exit 1; }
printf '%s\n' "$out" | grep -q '@@STEP FAIL' && echo "WARNING: a bench step failed"
printf '%s\n' "$figs" | awk '{ printf "  %-28s %s\n", $1, $2 }'
