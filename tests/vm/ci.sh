#!/bin/bash
# tests/vm/ci.sh: the VM part of CI (what `make vm-test` runs). Needs root-free
# qemu-system-x86_64 (TCG), apt access or a cached kernel .deb, busybox-static,
# ipvsadm and iproute2 on the host, and the static lvsd already built (`make`).
#   1. build both boards' images;  2. check they are reproducible;
#   3. boot-smoke both boards (appliance mode);  4. all VM lab tests, one boot;
#   5. suites with their own boot: metrics, restart/reload, checks beside
#   keepalived, capabilities, the client-side fault matrix and 3-minute soak,
#   and the scale-out lab (needs bird2 on the host).
# Takes about 30-40 minutes on 2 cores. Exits non-zero on any failure.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
T0=$EPOCHREALTIME
el() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0fs", b-a}'; }
fail=0
run() { echo "== [$(el)] $*"; "$@" || { echo "== FAILED: $*"; fail=1; }; }
run "$ROOT/image/build.sh" qemu-x86_64
run "$ROOT/image/build.sh" generic-x86_64
run "$ROOT/image/check-reproducible.sh" qemu-x86_64 generic-x86_64
run "$HERE/boot-smoke.sh" --no-build generic-x86_64
run "$HERE/boot-smoke.sh" --no-build qemu-x86_64
# keepalived comes in as a witness for the tests that compare tables with it.
# Suites with their own boot below are left out of this one.
main_suite=()
for t in "$HERE"/t_*.sh; do
    case ${t##*/} in t_observe.sh|t_checks_keepalived.sh|t_caps.sh|t_restart_reload.sh|t_scale_out.sh|t_vmac.sh) continue ;; esac
    main_suite+=("$t")
done
run "$HERE/run.sh" --no-build --timeout 900 --tool "$(command -v keepalived || echo /usr/sbin/keepalived)" "${main_suite[@]}"
# Issue 13: metrics on real IPVS scraped by a real Prometheus, drain with
# ipvsadm as witness (own boot, prometheus and promtool added to the lab).
run "$HERE/run.sh" --no-build --timeout 900 --tool /usr/bin/prometheus --tool /usr/bin/promtool "$HERE/t_observe.sh"
# Issue 10: restart and reload honesty on real IPVS (own boot).
run "$HERE/run.sh" --no-build --timeout 300 "$HERE/t_restart_reload.sh"
# Issue 12: PING/UDP/FILE_CHECK verdicts beside keepalived's checker (own boot, ~12 s).
run "$HERE/run.sh" --no-build --timeout 300 --tool "$(command -v keepalived || echo /usr/sbin/keepalived)" "$HERE/t_checks_keepalived.sh"
# Issue 12: use_vmac on the appliance kernel with real IPVS (own boot, ~5 s).
run "$HERE/run.sh" --no-build --timeout 300 "$HERE/t_vmac.sh"
# Least privilege on the appliance: its own boot.
run "$HERE/run.sh" --no-build --timeout 300 "$HERE/t_caps.sh"
# What the client sees (issue 14): the fault matrix beside keepalived, then a
# 3-minute soak; each its own boot with the traffic probe and keepalived.
run "$HERE/run-traffic.sh" --no-build --timeout 1080 --append "LAB_TEST_TIMEOUT=1020 FAULT_FLAPS=10" "$HERE/client/t_faults.sh"
run "$HERE/run-traffic.sh" --no-build --timeout 420 --append "LAB_TEST_TIMEOUT=360 SOAK_MIN=3 SOAK_KILL_S=80" "$HERE/client/t_soak.sh"
# The kernel behaviour behind the soak's expire_nodest_conn (issue 14), ~1 min.
run "$HERE/run-traffic.sh" --no-build --timeout 200 "$HERE/client/t_ipvs_port_reuse.sh"
# Issue 15: N active directors behind ECMP (own boot, its own topology; BIRD
# from the host and examples/scaleflow in the lab, ~10 min).
run cargo build -q --release --target x86_64-unknown-linux-musl --example scaleflow --manifest-path "$ROOT/Cargo.toml"
run "$HERE/run.sh" --no-build --timeout 1500 --append LAB_TEST_TIMEOUT=1400 \
    --tool /usr/sbin/bird --tool /usr/sbin/birdc \
    --tool "$ROOT/target/x86_64-unknown-linux-musl/release/examples/scaleflow" "$HERE/t_scale_out.sh"
echo "== [$(el)] VM CI $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
