#!/bin/sh
# t_ipvs_port_reuse.sh: the kernel behaviour behind the soak's stray failures
# (issue 14), shown with ipvsadm alone, no daemon: lvsd and keepalived both
# delete a real server that fails its check, and this is what the kernel
# then does with the client ports that server saw.
#   - In DR mode the director only sees the client's half of a connection:
#     its last state is FIN_WAIT, kept 2 minutes. A new connection from the
#     same client port (a busy client reuses ports well within that) matches
#     that entry and goes to the same real server, whatever the scheduler.
#   - Once that server is deleted, with net.ipv4.vs.expire_nodest_conn = 0
#     (the kernel's default) such a SYN is dropped: the client times out.
#   - With expire_nodest_conn = 1 the stale entry is expired and the SYN
#     is scheduled to a server that is still there.
# Run with tests/vm/run-traffic.sh (it needs the probe's `traffic get`: one
# request from a chosen client port).
PORT=40404
OTHER_PORT=40406
# req PORT: one GET from the client's local PORT; the server's name or "-"
req() {
    _b=$(in_ns client $TRAFFIC get "$LAB_VIP:80" "$1" 1500 2>&1)
    case $_b in rs*) echo "${_b%% *}";; *) echo "-";; esac
}
nodest() { in_ns dir1 sysctl -q -w net.ipv4.vs.expire_nodest_conn=$1; }
cleanup() {
    nodest 0
    in_ns dir1 ipvsadm -C
    in_ns dir1 busybox ip addr del "$LAB_VIP/32" dev eth0 2>/dev/null
    for rs in rs1 rs2; do
        in_ns $rs busybox ip addr del "$LAB_VIP/32" dev lo 2>/dev/null
        for _c in all lo eth0; do
            in_ns $rs sysctl -q -w net.ipv4.conf.$_c.arp_ignore=0 net.ipv4.conf.$_c.arp_announce=0
        done
    done
}

step "setup: dir1 forwards the VIP to rs1 and rs2 by hand (DR, round robin)"
for rs in rs1 rs2; do rs_dr_by_hand $rs; done
in_ns dir1 busybox ip addr add "$LAB_VIP/32" dev eth0
in_ns client ip neigh flush to "$LAB_VIP" 2>/dev/null
expect_ok "service" in_ns dir1 ipvsadm -A -t "$LAB_VIP:80" -s rr
expect_ok "rs1" in_ns dir1 ipvsadm -a -t "$LAB_VIP:80" -r "$LAB_RS1:80" -g -w 1
expect_ok "rs2" in_ns dir1 ipvsadm -a -t "$LAB_VIP:80" -r "$LAB_RS2:80" -g -w 1
nodest 0
wait_until 5 http_get client "http://$LAB_VIP/" || fail "the VIP does not serve"
first=$(req $PORT)
expect_match "a request from port $PORT" "$first" '^rs[12]$'
case $first in rs1) gone=$LAB_RS1 other=rs2;; *) gone=$LAB_RS2 other=rs1;; esac

step "while its entry lives, the same client port goes to the same real server"
entry=$(in_ns dir1 ipvsadm -Lnc | awk -v p=":$PORT" 'substr($4, length($4) - length(p) + 1) == p { print $3, $6 }')
expect_eq "dir1's entry for port $PORT (state, server)" "$entry" "FIN_WAIT $gone:80"
seen=
for i in 1 2 3; do seen="$seen $(req $PORT)"; done
expect_eq "three more requests from port $PORT (round robin elsewhere)" "$seen" " $first $first $first"

step "the server is deleted: a new connection from that port is dropped (expire_nodest_conn 0)"
expect_ok "delete $first" in_ns dir1 ipvsadm -d -t "$LAB_VIP:80" -r "$gone:80"
expect_eq "request from port $PORT" "$(req $PORT)" "-"
expect_eq "request from port $OTHER_PORT" "$(req $OTHER_PORT)" "$other"
expect_eq "request from port $PORT again" "$(req $PORT)" "-"

step "expire_nodest_conn 1: the stale entry expires, the connection goes to $other"
nodest 1
expect_eq "request from port $PORT" "$(req $PORT)" "$other"

cleanup
finish
