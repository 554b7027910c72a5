#!/usr/bin/env bash
# N active directors behind ECMP (issue 15, docs/scale-out.md), measured in the
# VM lab (real kernel, qemu TCG): one router with BIRD (BGP + BFD 100 ms x 3,
# ECMP with the L4 hash), three directors with lvsd in announce mode and BIRD,
# three real servers, one client. It runs tests/vm/t_scale_out.sh and prints
# its figures:
#   - spread of new flows over the directors;
#   - route withdrawal at the router after a director's lvsd gets SIGKILL
#     (TUN device gone -> BIRD direct -> BGP withdraw) and after a power cut
#     (BFD detection);
#   - new-connection outage (window in which a new connection's SYN was lost)
#     and long-lived connections kept, in both cases;
#   - flows moved (and broken) when a director returns;
#   - flows broken when a real server dies; quorum loss on one director.
# Times are CLOCK_BOOTTIME ms in the guest; the emulated CPU is slow and
# shared, so they are upper bounds of what real hardware does. One VM boot,
# about 4-6 min; skipped when qemu or bird is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 not installed"; exit 0; }
BIRD=$(command -v bird || echo /usr/sbin/bird)
BIRDC=$(command -v birdc || echo /usr/sbin/birdc)
[ -x "$BIRD" ] && [ -x "$BIRDC" ] || { echo "skipped: bird2 not installed (apt-get install bird2)"; exit 0; }
cargo build -q --release --target x86_64-unknown-linux-musl --example scaleflow ||
    { echo "skipped: examples/scaleflow.rs does not build"; exit 0; }
SF=target/x86_64-unknown-linux-musl/release/examples/scaleflow
out=$(tests/vm/lab.sh --timeout 1500 --tool "$BIRD" --tool "$BIRDC" --tool "$SF" \
    --append "LAB_TEST_TIMEOUT=1400" tests/vm/t_scale_out.sh 2>&1)
log=${SCALE_OUT_LOG:-${TMPDIR:-/tmp}/lvsd-scale-out.log}
printf '%s\n' "$out" > "$log" 2>/dev/null && echo "  (serial log: $log)"
figs=$(printf '%s\n' "$out" | sed -n 's/^[0-9.]* figure: //p')
[ -n "$figs" ] || { echo "no figures; last lines:"; printf '%s\n' "$out" | tail -n 30; exit 1; }
if printf '%s\n' "$out" | grep -q '@@STEP FAIL'; then
    echo "WARNING: a lab step failed (figures may be partial):"
    printf '%s\n' "$out" | grep -E '@@FAIL ' | cut -d' ' -f2- | sed 's/^/  /'
fi
printf '%s\n' "$figs" | sed 's/^/  /'
echo "  targets: spread 33.3% +-10 each; withdrawal <= 1000 ms (BFD 300 ms); outage <= 1000 ms; long-lived kept 100%; 0 broken on return"
