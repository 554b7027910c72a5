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

ip link add br-svc type bridge forward_delay 0 stp_state 0
ip link set br-svc up
for ns in $LAB_NAMESPACES; do
    ip netns add "$ns"
    ip link add "v-$ns" type veth peer name eth0 netns "$ns"
    ip link set "v-$ns" master br-svc up
    in_ns "$ns" ip link set lo up
    in_ns "$ns" ip link set eth0 up
done
in_ns dir1 ip addr add "$LAB_DIR1_SVC/$LAB_PREFIX" dev eth0
in_ns dir2 ip addr add "$LAB_DIR2_SVC/$LAB_PREFIX" dev eth0
in_ns rs1 ip addr add "$LAB_RS1/$LAB_PREFIX" dev eth0
in_ns rs2 ip addr add "$LAB_RS2/$LAB_PREFIX" dev eth0
in_ns client ip addr add "$LAB_CLIENT/$LAB_PREFIX" dev eth0

# Heartbeat / sync link between the directors only.
ip link add hb1 netns dir1 type veth peer name hb2 netns dir2
in_ns dir1 ip link set hb1 name eth1
in_ns dir2 ip link set hb2 name eth1
in_ns dir1 ip addr add "$LAB_DIR1_HB/$LAB_PREFIX" dev eth1
in_ns dir2 ip addr add "$LAB_DIR2_HB/$LAB_PREFIX" dev eth1
in_ns dir1 ip link set eth1 up
in_ns dir2 ip link set eth1 up

for d in dir1 dir2; do in_ns "$d" sysctl -q -w net.ipv4.ip_forward=1; done

for rs in rs1 rs2; do
    mkdir -p "$LAB_RUN/$rs/www"
    echo "$rs $(rs_addr "$rs")" > "$LAB_RUN/$rs/www/index.html"
    rs_start "$rs"
done
set +e
# Ready when every neighbour answers on the LAN and the heartbeat link.
for a in $LAB_DIR1_SVC $LAB_DIR2_SVC $LAB_RS1 $LAB_RS2; do
    wait_until 10 in_ns client ping -c 1 -W 1 "$a" || { echo "lab-up: $a unreachable from client"; exit 1; }
done
wait_until 10 in_ns dir1 ping -c 1 -W 1 "$LAB_DIR2_HB" || { echo "lab-up: heartbeat link dead"; exit 1; }
exit 0
