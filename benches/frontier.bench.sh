#!/usr/bin/env bash
# The 10 ms frontier (issue 14), lvsd and keepalived side by side in the VM
# lab: one VRRPv3 instance at advert_int 0.01 s with FRONTIER_CHECKS TCP
# checks/s (default 10,000) in the same daemon on both directors, for
# FRONTIER_MIN minutes each (default 10), the traffic probe on the VIP; then
# a master power cut. Figures: false failovers, the master's CPU, the
# takeover measured from the traffic (target <= 40 ms). Guest side:
# tests/vm/client/t_frontier.sh. About 2 x FRONTIER_MIN + 4 minutes; skipped
# when qemu or keepalived is missing. Asserts nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 not installed"; exit 0; }
MIN=${FRONTIER_MIN:-10}
tmo=$(( (MIN * 2 + 8) * 60 ))
log=${FRONTIER_LOG:-${TMPDIR:-/tmp}/lvsd-frontier.log}
out=$(CI= tests/vm/run-traffic.sh --timeout "$tmo" \
    --append "LAB_TEST_TIMEOUT=$((tmo - 60)) FRONTIER_MIN=$MIN FRONTIER_CHECKS=${FRONTIER_CHECKS:-10000} FRONTIER_RS=${FRONTIER_RS:-1000}" \
    tests/vm/client/t_frontier.sh 2>&1)
printf '%s\n' "$out" > "$log" 2>/dev/null && echo "  (run log: $log)"
printf '%s\n' "$out" | grep -E 'skipped|figure: frontier|FAIL' | sed 's/^ *//; s/^figure: /  /'
