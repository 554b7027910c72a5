#!/bin/sh
# tests/vm/guest/lab-up.sh: build the lab inside the VM (board qemu-x86_64).
#   netns dir1, dir2 (directors: separate network stacks => separate IPVS tables)
#   netns rs1, rs2   (real servers: busybox httpd, a page naming the server)
#   netns client
#   service LAN: bridge br-svc in the root netns, one veth (eth0) per netns
#   heartbeat:   veth dir1:eth1 <-> dir2:eth1 (its own /24)
# The real servers are NOT made DR-ready here (no VIP on lo, no arp_*):
# that is the job of the tests (by hand today, `lvsd realserver up` later).
. /lab/lib.sh
set -e
trap '[ $? = 0 ] || echo "lab-up: failed at line $LINENO"' EXIT
mkdir -p "$LAB_RUN"
mark() { echo "lab-up: $* at $(cut -d' ' -f1 /proc/uptime)s"; }
mark start

# One iproute2 batch for what busybox ip cannot do (named netns, veth peers
# in other namespaces): each exec of the dynamic ip costs ~0.2 s under TCG.
{
    echo "link add br-svc type bridge forward_delay 0 stp_state 0"
    echo "link set br-svc up"
    for ns in $LAB_NAMESPACES; do
        echo "netns add $ns"
        echo "link add v-$ns type veth peer name eth0 netns $ns"
        echo "link set v-$ns master br-svc up"
    done
    # Heartbeat / sync link between the directors only.
    echo "link add eth1 netns dir1 type veth peer name eth1 netns dir2"
} > "$LAB_RUN/up.batch"
/opt/lab/bin/ip -batch "$LAB_RUN/up.batch"
# Inside the namespaces the static busybox ip is enough (and fast).
ns_up() { # NS ADDR/PREFIX DEV
    in_ns "$1" busybox ip addr add "$2" dev "$3"
    in_ns "$1" busybox ip link set "$3" up
}
for ns in $LAB_NAMESPACES; do in_ns "$ns" busybox ip link set lo up; done
ns_up dir1 "$LAB_DIR1_SVC/$LAB_PREFIX" eth0
ns_up dir2 "$LAB_DIR2_SVC/$LAB_PREFIX" eth0
ns_up rs1 "$LAB_RS1/$LAB_PREFIX" eth0
ns_up rs2 "$LAB_RS2/$LAB_PREFIX" eth0
ns_up client "$LAB_CLIENT/$LAB_PREFIX" eth0
ns_up dir1 "$LAB_DIR1_HB/$LAB_PREFIX" eth1
ns_up dir2 "$LAB_DIR2_HB/$LAB_PREFIX" eth1
mark links
for d in dir1 dir2; do in_ns "$d" sysctl -q -w net.ipv4.ip_forward=1; done

for rs in rs1 rs2; do
    mkdir -p "$LAB_RUN/$rs/www"
    echo "$rs $(rs_addr "$rs")" > "$LAB_RUN/$rs/www/index.html"
    rs_start "$rs"
done
set +e
mark httpd
# Ready when every neighbour answers on the LAN and the heartbeat link.
for a in $LAB_DIR1_SVC $LAB_DIR2_SVC $LAB_RS1 $LAB_RS2; do
    wait_until 10 in_ns client ping -c 1 -W 1 "$a" || { echo "lab-up: $a unreachable from client"; exit 1; }
done
wait_until 10 in_ns dir1 ping -c 1 -W 1 "$LAB_DIR2_HB" || { echo "lab-up: heartbeat link dead"; exit 1; }
mark ready
exit 0
