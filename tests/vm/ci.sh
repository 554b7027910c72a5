#!/bin/bash
# tests/vm/ci.sh: the VM part of CI (what `make test-vm` runs). Needs root-free
# qemu-system-x86_64 (TCG), apt access or a cached kernel .deb, busybox-static,
# ipvsadm and iproute2 on the host, and the static lvsd already built (`make`).
#   1. build both boards' images;  2. check they are reproducible;
#   3. boot-smoke both boards (appliance mode);  4. all VM lab tests, one boot.
# Takes about 2-4 minutes on 2 busy cores. Exits non-zero on any failure.
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
    case ${t##*/} in t_observe.sh|t_checks_keepalived.sh|t_caps.sh|t_restart_reload.sh) continue ;; esac
    main_suite+=("$t")
done
run "$HERE/run.sh" --no-build --timeout 900 --tool "$(command -v keepalived || echo /usr/sbin/keepalived)" "${main_suite[@]}"
# Issue 13: metrics on real IPVS scraped by a real Prometheus, drain with
# ipvsadm as witness (own boot, the prometheus binary added to the lab).
run "$HERE/run.sh" --no-build --timeout 900 --tool /usr/bin/prometheus "$HERE/t_observe.sh"
# Issue 10: restart and reload honesty on real IPVS (own boot).
run "$HERE/run.sh" --no-build --timeout 300 "$HERE/t_restart_reload.sh"
# Issue 12: PING/UDP/FILE_CHECK verdicts beside keepalived's checker (own boot, ~12 s).
run "$HERE/run.sh" --no-build --timeout 300 --tool "$(command -v keepalived || echo /usr/sbin/keepalived)" "$HERE/t_checks_keepalived.sh"
# Least privilege on the appliance: its own boot.
run "$HERE/run.sh" --no-build --timeout 300 "$HERE/t_caps.sh"
echo "== [$(el)] VM CI $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
