#!/bin/sh
# t_vmac: SEED.md's two-director LVS-DR cluster with use_vmac on the appliance
# kernel (real IPVS): each director makes vrrp.51 (private macvlan,
# 00:00:5e:00:01:33), the master holds the VIP there, the client reaches the
# real servers through it and knows the VIP at the virtual MAC; after a
# failover the same MAC answers from the other director, and a stopped
# director leaves no VMAC behind.
. /lab/lib.sh
VMAC=00:00:5e:00:01:33

vmac_conf() {
    _f=$(lab_conf "$1" "$2" "$3")
    awk '{ print } /^virtual_ipaddress = / { print "use_vmac" }' "$_f" > "$_f.tmp" && mv "$_f.tmp" "$_f"
    echo "$_f"
}
on_vmac() { in_ns "$1" busybox ip -4 addr show dev vrrp.51 2>/dev/null | grep -q " $LAB_VIP/32"; }
vmac_link() { in_ns "$1" ip -d link show dev vrrp.51 2>/dev/null; }
client_neigh() { in_ns client busybox ip neigh show "$LAB_VIP"; }

for rs in rs1 rs2; do rs_dr_by_hand $rs; done
c1=$(vmac_conf dir1 MASTER 100); c2=$(vmac_conf dir2 BACKUP 90)

step "both directors make vrrp.51; the master holds the VIP on it"
lvsd_start dir2 "$c2"; lvsd_start dir1 "$c1"
wait_until 10 on_vmac dir1 || fail "dir1 does not hold the VIP on vrrp.51"
for d in dir1 dir2; do
    expect_match "$d vrrp.51 MAC" "$(vmac_link $d)" "link/ether $VMAC"
    expect_match "$d vrrp.51 private macvlan" "$(vmac_link $d)" "macvlan mode private"
done
has_vip dir1 && fail "the VIP is on eth0 too"
on_vmac dir2 && fail "split brain: dir2 holds the VIP too"
expect_eq "eth0 arp_ignore" "$(in_ns dir1 cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)" 1

step "the client reaches the real servers through the VIP at the virtual MAC"
# The directors learn the client first (see docs/operations.md "VMAC").
for a in 10.0.0.2 10.0.0.3; do in_ns client busybox ping -c 1 -W 1 $a >/dev/null 2>&1; done
in_ns client busybox ip neigh flush to "$LAB_VIP" 2>/dev/null
wait_until 10 in_ns dir1 sh -c "ipvsadm -Ln | grep -q -- '-> $LAB_RS2:80'" || fail "no real servers in the table"
answers=$(client_requests 4 | tr '\n' ' ')
case $answers in *-*) fail "requests failed: $answers" ;; esac
expect_match "client's neighbour entry for the VIP" "$(client_neigh)" "$VMAC"

step "failover: dir2 takes the VIP on its VMAC, the same MAC answers"
lvsd_stop dir1
wait_until 6 on_vmac dir2 || fail "dir2 did not take over"
expect_eq "dir1's VMAC is gone" "$(vmac_link dir1)" ""
expect_eq "dir1 eth0 arp_ignore restored" "$(in_ns dir1 cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)" 0
wait_until 10 in_ns dir2 sh -c "ipvsadm -Ln | grep -q -- '-> $LAB_RS2:80'" || fail "no real servers on dir2"
answers=$(client_requests 4 | tr '\n' ' ')
case $answers in *-*) fail "requests failed after the failover: $answers" ;; esac
expect_match "client still knows the VIP at the virtual MAC" "$(client_neigh)" "$VMAC"
lvsd_stop dir2
expect_eq "dir2's VMAC is gone" "$(vmac_link dir2)" ""
finish
