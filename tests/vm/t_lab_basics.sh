#!/bin/sh
# t_lab_basics: the VM lab works and gives real, per-director kernel IPVS:
# DR round robin through dir1's IPVS table, set up by hand with the witness
# ipvsadm (later tests do the same with lvsd).
. /lab/lib.sh

step "ip_vs is loaded and the root is read-only"
expect_match "lsmod" "$(lsmod)" '^ip_vs '
expect_fail "write to /etc/lvsd" touch /etc/lvsd/probe
expect_ok "write to /run" touch /run/probe
expect_ok "lvsd binary is executable" test -x /usr/sbin/lvsd

step "lab namespaces and links are up"
for ns in $LAB_NAMESPACES; do expect_ok "netns $ns exists" test -e /run/netns/$ns; done
expect_ok "heartbeat dir1 -> dir2" in_ns dir1 ping -c 1 -W 1 "$LAB_DIR2_HB"
expect_fail "heartbeat net not on the service LAN" in_ns client ping -c 1 -W 1 "$LAB_DIR2_HB"

step "real servers answer with their own page"
expect_eq "rs1 page" "$(http_get client "http://$LAB_RS1/")" "rs1 $LAB_RS1"
expect_eq "rs2 page" "$(http_get client "http://$LAB_RS2/")" "rs2 $LAB_RS2"

step "real servers made DR-ready by hand (VIP on lo, arp_ignore/arp_announce)"
for rs in rs1 rs2; do
    in_ns $rs ip addr add "$LAB_VIP/32" dev lo
    for c in all lo eth0; do
        in_ns $rs sysctl -q -w net.ipv4.conf.$c.arp_ignore=1 net.ipv4.conf.$c.arp_announce=2
    done
    expect_match "$rs holds VIP on lo" "$(in_ns $rs ip -br addr show lo)" "$LAB_VIP/32"
done

step "dir1: VIP and an rr DR service via ipvsadm (witness)"
expect_ok "VIP on dir1 eth0" in_ns dir1 ip addr add "$LAB_VIP/32" dev eth0
expect_ok "ipvsadm -A" in_ns dir1 ipvsadm -A -t "$LAB_VIP:80" -s rr
expect_ok "ipvsadm -a rs1" in_ns dir1 ipvsadm -a -t "$LAB_VIP:80" -r "$LAB_RS1:80" -g -w 1
expect_ok "ipvsadm -a rs2" in_ns dir1 ipvsadm -a -t "$LAB_VIP:80" -r "$LAB_RS2:80" -g -w 1
tab=$(in_ns dir1 ipvsadm -Ln)
echo "$tab" | sed 's/^/    /'
expect_match "dir1 table has the service" "$tab" "TCP  $LAB_VIP:80 rr"
expect_match "rs1 is Route" "$tab" "$LAB_RS1:80 +Route +1 "
expect_match "rs2 is Route" "$tab" "$LAB_RS2:80 +Route +1 "

step "each director netns has its own IPVS table"
expect_eq "dir2 has no service" "$(in_ns dir2 ipvsadm -Ln | grep -c '^TCP')" "0"
expect_eq "root ns has no service" "$(ipvsadm -Ln | grep -c '^TCP')" "0"

step "6 client requests to the VIP alternate rs1/rs2 (DR through kernel IPVS)"
seq=
for i in 1 2 3 4 5 6; do
    page=$(http_get client "http://$LAB_VIP/")
    echo "    request $i -> $page"
    seq="$seq ${page%% *}"
done
seq=${seq# }
expect_match "answers" "$seq" '^(rs1 rs2 rs1 rs2 rs1 rs2|rs2 rs1 rs2 rs1 rs2 rs1)$'
# The connection table (not --stats: its counters are summed lazily).
conns=$(in_ns dir1 ipvsadm -Lnc)
echo "$conns" | sed 's/^/    /'
expect_eq "dir1 has 3 connection entries to rs1" "$(echo "$conns" | grep -c " $LAB_RS1:80")" "3"
expect_eq "dir1 has 3 connection entries to rs2" "$(echo "$conns" | grep -c " $LAB_RS2:80")" "3"
expect_eq "dir2 saw no connection" "$(in_ns dir2 ipvsadm -Lnc | grep -c "$LAB_VIP")" "0"

step "cleanup: dir1 table emptied"
in_ns dir1 ipvsadm -D -t "$LAB_VIP:80"
in_ns dir1 ip addr del "$LAB_VIP/32" dev eth0
expect_eq "dir1 has no service" "$(in_ns dir1 ipvsadm -Ln | grep -c '^TCP')" "0"
finish
