#!/usr/bin/env bash
# VRRP takeover timing, lvsd and keepalived side by side (root; network
# namespaces: a bridge and two directors). A tcpdump on the bridge gives the
# old master's last advert, the new master's first advert and its first
# gratuitous ARP. Bounds: after SIGKILL the master down interval
# (3 x advert_int + skew), after SIGTERM (priority 0) the skew time, where skew
# is v2 (256-p)/256 s and v3 (256-p) x advert_int / 256 of the backup's priority.
# Prints figures; asserts nothing. $1 = the lvsd binary. REPS (default 3);
# CASES ("VER ADVERT SIGNAL,...") and IMPLS narrow the run; KEEP_CAPTURES=DIR
# keeps each tcpdump text capture there.
set -uo pipefail
LVSD=${1:?usage: vrrp_takeover.bench.sh LVSD_BINARY}
LVSD=$(readlink -f "$LVSD")
HERE=$(cd "$(dirname "$0")" && pwd)
REPS=${REPS:-3}
if [ "$(id -u)" != 0 ] || ! command -v tcpdump >/dev/null; then
    echo "vrrp_takeover: skipped (needs root, ip netns and tcpdump)"
    exit 0
fi
HAVE_KA=0
command -v keepalived >/dev/null && HAVE_KA=1

TAG=vb$$
BR=${TAG}br D1=${TAG}d1 D2=${TAG}d2
WORK=$(mktemp -d /tmp/lvsd-bench-vrrp.XXXXXX)
NET=10.254.40
VIP=$NET.100
P_MASTER=200 P_BACKUP=100

cleanup() {
    for ns in $D1 $D2 $BR; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add $BR && ip netns add $D1 && ip netns add $D2 || exit 0
ip -n $BR link add br0 type bridge && ip -n $BR link set br0 up
i=0
for d in $D1 $D2; do
    i=$((i + 1))
    ip -n $d link set lo up
    ip link add eth0 netns $d type veth peer name p$i netns $BR
    ip -n $BR link set p$i master br0 && ip -n $BR link set p$i up
    ip -n $d addr add $NET.$i/24 dev eth0 && ip -n $d link set eth0 up
done

has_vip() { ip -n "$1" -o addr show dev eth0 | grep -q " $VIP/32 "; }
wait_vip() { # ns, seconds
    local n=$(( $2 * 50 ))
    while [ $n -gt 0 ]; do has_vip "$1" && return 0; sleep 0.02; n=$((n - 1)); done
    return 1
}

lvsd_conf() { # file prio version advert
    local proto="version = 2"
    [ "$3" = 3 ] && proto="version = 3"
    cat >"$1" <<EOF
[global]
control_socket = $1.sock

[vrrp_instance VI_1]
state = BACKUP
interface = eth0
virtual_router_id = 51
priority = $2
$proto
advert_int = $4
virtual_ipaddress = $VIP
EOF
}

ka_conf() { # file prio version advert
    cat >"$1" <<EOF
global_defs {
    router_id bench
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $2
    version $3
    advert_int $4
    virtual_ipaddress {
        $VIP/32
    }
}
EOF
}

start() { # impl ns name prio version advert -> pid in $STARTED
    local impl=$1 ns=$2 name=$3
    if [ "$impl" = lvsd ]; then
        lvsd_conf "$WORK/$name.ini" "$4" "$5" "$6"
        ip netns exec "$ns" "$LVSD" run -c "$WORK/$name.ini" 2>"$WORK/$name.log" &
    else
        ka_conf "$WORK/$name.conf" "$4" "$5" "$6"
        ip netns exec "$ns" keepalived --vrrp -n -l -G -f "$WORK/$name.conf" \
            -p "$WORK/$name.pid" -r "$WORK/$name.vrrp.pid" >"$WORK/$name.log" 2>&1 &
    fi
    STARTED=$!
}

stop_all() {
    for d in $D1 $D2; do
        for pid in $(ip netns pids "$d" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    done
    sleep 0.2
    for d in $D1 $D2; do ip -n "$d" addr del $VIP/32 dev eth0 2>/dev/null; done
    rm -f "$WORK"/*.pid
}

# One takeover: prints "takeover_s bound_s garp_after_s" or "fail".
one() { # impl version advert signal
    local impl=$1 ver=$2 adv=$3 sig=$4
    start "$impl" $D2 b $P_BACKUP "$ver" "$adv"
    sleep 0.3
    start "$impl" $D1 m $P_MASTER "$ver" "$adv"
    local mpid=$STARTED
    if ! wait_vip $D1 15; then echo fail; stop_all; return; fi
    sleep 1
    ip netns exec $BR tcpdump -l -n -tt --time-stamp-precision=nano -i br0 \
        "ip proto 112 or arp" >"$WORK/cap.txt" 2>/dev/null &
    local tpid=$!
    sleep 1.5
    if [ "$impl" = keepalived ] && [ "$sig" = KILL ]; then
        # The VRRP child sends the adverts: kill it and its parent together.
        kill -KILL "$(cat "$WORK/m.vrrp.pid")" "$mpid" 2>/dev/null
    else
        kill -"$sig" "$mpid" 2>/dev/null
    fi
    wait_vip $D2 15 || { echo fail; kill $tpid; stop_all; return; }
    sleep 0.5
    kill $tpid 2>/dev/null; wait $tpid 2>/dev/null
    stop_all
    if [ -n "${KEEP_CAPTURES:-}" ]; then
        mkdir -p "$KEEP_CAPTURES"
        cp "$WORK/cap.txt" "$KEEP_CAPTURES/$impl-v$ver-$adv-$sig-$(date +%s%N).txt"
    fi
    python3 "$HERE/takeover_capture.py" measure "$WORK/cap.txt" "$NET.1" "$NET.2" "$VIP" "$ver" "$adv" "$P_BACKUP" "$sig"
}

impls="lvsd"
[ $HAVE_KA = 1 ] && impls="lvsd keepalived"
impls=${IMPLS:-$impls}
printf '%-10s %-4s %-7s %-5s %-4s %12s %12s %12s %14s\n' \
    impl ver advert sig run "takeover_s" "bound_s" "late_ms" "garp_after_ms"
IFS=, read -r -a CASES <<<"${CASES:-2 1 KILL,2 1 TERM,3 0.05 KILL,3 0.05 TERM}"
for case in "${CASES[@]}"; do
    set -- $case
    for impl in $impls; do
        for r in $(seq 1 "$REPS"); do
            res=$(one "$impl" "$1" "$2" "$3")
            if [ "$res" = fail ] || [ -z "$res" ]; then
                printf '%-10s %-4s %-7s %-5s %-4s %12s\n' "$impl" "v$1" "$2" "$3" "$r" "no takeover seen"
                continue
            fi
            set -- $case $res
            python3 "$HERE/takeover_capture.py" row "$impl" "v$1" "$2" "$3" "$r" "$4" "$5" "$6"
            set -- $case
        done
    done
done
echo "targets (issue 6): takeover within 0.5 ms of the bound; first GARP within 0.2 ms of the first advert"
