#!/usr/bin/env bash
# Run by benches/run.sh (bash SECTION LVSD_BINARY): the 10 ms frontier (issue
# 14 item 4), lvsd and keepalived side by side on the host, in network
# namespaces (root; lvsd --dry-run and keepalived with IPVS answered by
# examples/ka_noipvs.rs: this host's kernel has no IPVS, and VRRP and checks
# need none). One VRRPv3 instance at advert_int 0.01 s and 10,000 TCP
# checks/s on each of two directors for FRONTIER_MIN minutes per daemon
# (default 10), then SIGKILL of the master (its link down with it) measured
# from a client's traffic (target <= 40 ms; bound 36.5 ms). Both daemons run
# under FRONTIER_SCHED (default "chrt -f 10", SCHED_FIFO as keepalived's
# vrrp_rt_priority; FRONTIER_SCHED= for ordinary processes). About
# 2 x FRONTIER_MIN + 2 minutes. See benches/frontier.py for the figures and
# the other knobs. Prints figures; asserts nothing. Not in CI.
set -uo pipefail
LVSD=${1:?usage: frontier.bench.sh LVSD_BINARY}
if [ "$(id -u)" != 0 ] || ! command -v tcpdump >/dev/null || ! command -v python3 >/dev/null; then
    echo "frontier: skipped (needs root, ip netns, tcpdump and python3)"
    exit 0
fi
if ! cargo build --quiet --release --example farm --example traffic --example ka_noipvs 2>/dev/null; then
    echo "frontier: skipped (the farm, traffic and ka_noipvs examples did not build)"
    exit 0
fi
export FRONTIER_SCHED=${FRONTIER_SCHED-chrt -f 10}
command -v chrt >/dev/null || FRONTIER_SCHED=
# The driver cleans up after itself; this trap is for a driver that was
# killed outright: every namespace of this run (the tag carries our pid) and
# what still runs in it.
export FRONTIER_TAG=lvfr$$
cleanup() {
    ip netns list 2>/dev/null | while read -r ns _; do
        case $ns in "$FRONTIER_TAG"*) ;; *) continue ;; esac
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
python3 benches/frontier.py "$LVSD" target/release/examples
