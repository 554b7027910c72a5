#!/bin/sh
# t_lvs_keys: keepalived's LVS-side keys, lvsd beside keepalived 2.2.7. One
# keepalived.conf (a port-less virtual_server, per-real-server lvs_method,
# sorry_server_inhibit and sorry_server_lvs_method, lvs_sync_daemon with
# maxlen/port/ttl/group and no instance, lvs_timeouts, lvs_flush,
# lvs_flush_on_stop VS) is imported for lvsd (dir1) and run as it is by
# keepalived's checker (`-C`, dir2). The kernel is the witness: ipvsadm -Ln,
# ipvsadm -Ln --timeout and ipvsadm -Ln --daemon must read the same in both
# namespaces at start, after the quorum is lost (sorry server takes over)
# and after a clean stop.
. /lab/lib.sh
W=/run/t_lvs_keys; mkdir -p $W
SOCK=$W/dir1.sock LOG=$LAB_RUN/dir1.lvsd.log
R1=$LAB_RS1 R2=$LAB_RS2
KA=/opt/lab/bin/keepalived
VIP=10.0.0.120

cat > $W/keepalived.conf <<EOK
global_defs {
    router_id t_lvs_keys
    lvs_sync_daemon eth1 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.90
    lvs_timeouts tcp 7200 tcpfin 30 udp 60
    lvs_flush
    lvs_flush_on_stop VS
}
virtual_server $VIP {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    persistence_timeout 50
    sorry_server 10.0.0.13 80
    sorry_server_inhibit
    sorry_server_lvs_method NAT
    real_server $R1 {
        weight 1
        lvs_method TUN
        TCP_CHECK { connect_port 80 connect_timeout 1 retry 0 }
    }
    real_server $R2 {
        weight 2
        TCP_CHECK { connect_port 80 connect_timeout 1 retry 0 }
    }
}
EOK

# Every destination (address, forwarding, weight) prefixed by its service,
# sorted; counters left out.
pairs() { # NS
    in_ns "$1" ipvsadm -Ln | awk '/^(TCP|UDP|FWM)/ {s=$0; print s; next} /->/ && $2 != "RemoteAddress:Port" {print s " | " $2 " " $3 " " $4}' | sort
}
daemons() { in_ns "$1" ipvsadm -Ln --daemon | sort; }
timeouts() { in_ns "$1" ipvsadm -Ln --timeout; }
same() { # WHAT: lvsd's and keepalived's views agree
    a=$($1 dir1) b=$($1 dir2)
    if [ "$a" = "$b" ] && [ -n "$a" ]; then echo "  ok: $1 the same in both:"; echo "$a" | sed 's/^/    /'; else
        fail "$1 differ"; echo "    --- lvsd:"; echo "$a" | sed 's/^/    /'
        echo "    --- keepalived:"; echo "$b" | sed 's/^/    /'; tail -20 $W/ka.log | sed 's/^/    ka| /'; fi
}
same_pairs() { [ "$(pairs dir1)" = "$(pairs dir2)" ]; }
dests() { in_ns "$1" ipvsadm -Ln | grep -c -- '->.*\(Route\|Tunnel\|Masq\)'; }
has_dests() { [ "$(dests "$1")" -ge "$2" ]; }
sorry_serving() { in_ns "$1" ipvsadm -Ln | grep -q '10.0.0.13:80 *Masq *1 '; }
has_service() { in_ns "$1" ipvsadm -Ln | grep -q "$2"; }
lacks_service() { ! has_service "$@"; }
no_daemons() { [ -z "$(in_ns "$1" ipvsadm -Ln --daemon)" ]; }

# Each namespace starts from an empty table, but for one foreign service that
# lvs_flush must remove, and from the kernel's default timeouts.
for ns in dir1 dir2; do
    in_ns $ns ipvsadm -C
    in_ns $ns ipvsadm -A -t 10.0.0.199:81 -s rr
    in_ns $ns ipvsadm --set 900 120 300
done
ORIG=$(timeouts dir1)

step "import-keepalived converts every LVS key without a drop, and lvsd check accepts it"
lvsd import-keepalived --strict $W/keepalived.conf > $W/lvsd.ini 2>$W/import.err || { cat $W/import.err; fail "import failed"; }
printf '\ncontrol_socket = %s\nreconcile_interval = 1\n' "$SOCK" > $W/global.add
sed -i "/^\[global\]/r $W/global.add" $W/lvsd.ini
expect_ok "lvsd check" lvsd check -c $W/lvsd.ini
cat $W/lvsd.ini | sed 's/^/    /'

step "lvsd (dir1) and keepalived (dir2) make the same table, timeouts and sync daemons"
[ -x $KA ] || fail "keepalived is not in the VM (run.sh --tool /usr/sbin/keepalived)"
nsenter --net=/run/netns/dir1 -- /usr/sbin/lvsd run -c $W/lvsd.ini >>"$LOG" 2>&1 &
LVSD_PID=$!
nsenter --net=/run/netns/dir2 -- $KA -n -l -G -C -f $W/keepalived.conf -p $W/ka.pid -c $W/ka-check.pid >$W/ka.log 2>&1 &
KA_PID=$!
wait_until 15 has_dests dir1 3 || fail "lvsd's table is incomplete"
wait_until 15 has_dests dir2 3 || fail "keepalived's table is incomplete"
wait_until 5 same_pairs
same pairs
expect_match "port-less persistent service, TUN, DR and the inhibited NAT sorry server" "$(pairs dir1 | tr '\n' ';')" \
    "TCP  $VIP:0 rr persistent 50 \| $R1:0 Tunnel 1;.*\| $R2:0 Route 2;.*\| 10.0.0.13:80 Masq 0;"
same timeouts
expect_match "lvs_timeouts" "$(timeouts dir1)" "7200 30 60"
same daemons
expect_match "master daemon settings" "$(daemons dir1)" "master sync daemon \(mcast=eth1, syncid=7, maxlen=1400, group=224.0.0.90, port=8849, ttl=2\)"
expect_match "backup daemon too (no instance)" "$(daemons dir1)" "backup sync daemon \(mcast=eth1, syncid=7"
expect_ok "lvs_flush removed the foreign service" lacks_service dir1 10.0.0.199:81
expect_ok "as keepalived's lvs_flush did" lacks_service dir2 10.0.0.199:81

step "quorum lost: the sorry server serves with weight 1, in both"
rs_stop rs1; rs_stop rs2
wait_until 15 sorry_serving dir1 || fail "lvsd's sorry server did not take over"
wait_until 15 sorry_serving dir2 || fail "keepalived's sorry server did not take over"
wait_until 5 same_pairs
same pairs
rs_start rs1; rs_start rs2
wait_until 15 has_dests dir1 3 || fail "lvsd's pool did not come back"
wait_until 15 has_dests dir2 3 || fail "keepalived's pool did not come back"
wait_until 5 same_pairs
same pairs

step "stop with lvs_flush_on_stop VS: services gone whole, foreign ones stay, timeouts and daemons restored"
for ns in dir1 dir2; do
    # A real server added by hand goes with its service (VS); a foreign service stays.
    in_ns $ns ipvsadm -a -t $VIP:0 -r 10.0.0.14 -g
    in_ns $ns ipvsadm -A -t 10.0.0.198:82 -s rr
done
kill -TERM $LVSD_PID; kill -TERM "$(cat $W/ka.pid 2>/dev/null || echo $KA_PID)" 2>/dev/null
wait_until 10 lacks_service dir1 "$VIP:0" || fail "lvsd left its service"
wait_until 10 lacks_service dir2 "$VIP:0" || fail "keepalived left its service"
wait_until 10 no_daemons dir1 || fail "lvsd left a sync daemon"
wait_until 10 no_daemons dir2 || echo "  keepalived left a sync daemon (witness only)"
same pairs
expect_ok "the foreign service stays" has_service dir1 10.0.0.198:82
expect_eq "timeouts restored" "$(timeouts dir1)" "$ORIG"
same timeouts

step "lvs_sync_daemon following a VRRP instance: its MASTER runs only the master daemon, with the settings"
vrrp_conf() { # VRID ADDRESS
    cat <<EOK
global_defs {
    router_id t_lvs_keys_$1
    lvs_sync_daemon eth1 VI_S id 9 maxlen 1200 port 8850 ttl 3 group 224.0.0.91
}
vrrp_instance VI_S {
    state MASTER
    interface eth0
    virtual_router_id $1
    priority 150
    advert_int 1
    virtual_ipaddress { $2/32 }
}
EOK
}
master_only() { [ "$(daemons "$1")" = "master sync daemon (mcast=eth1, syncid=9, maxlen=1200, group=224.0.0.91, port=8850, ttl=3)" ]; }
# Two VRIDs: each daemon is master of its own instance.
vrrp_conf 201 10.0.0.121 > $W/vrrp-lvsd.conf
vrrp_conf 202 10.0.0.122 > $W/vrrp-ka.conf
lvsd import-keepalived --strict $W/vrrp-lvsd.conf > $W/vrrp.ini 2>$W/import2.err || { cat $W/import2.err; fail "import failed"; }
sed -i "/^\[global\]/r $W/global.add" $W/vrrp.ini
nsenter --net=/run/netns/dir1 -- /usr/sbin/lvsd run -c $W/vrrp.ini >>"$LOG" 2>&1 &
LVSD_PID=$!
nsenter --net=/run/netns/dir2 -- $KA -n -l -G -P -f $W/vrrp-ka.conf -p $W/ka2.pid -r $W/ka2-vrrp.pid >$W/ka2.log 2>&1 &
KA_PID=$!
wait_until 15 master_only dir1 || fail "lvsd: $(daemons dir1)"
wait_until 15 master_only dir2 || { fail "keepalived: $(daemons dir2)"; tail -20 $W/ka2.log | sed 's/^/    ka| /'; }
same daemons
kill -TERM $LVSD_PID; kill -TERM "$(cat $W/ka2.pid 2>/dev/null || echo $KA_PID)" 2>/dev/null
wait_until 10 no_daemons dir1 || fail "lvsd left a sync daemon"
wait_until 10 no_daemons dir2 || echo "  keepalived left a sync daemon (witness only)"
in_ns dir1 ipvsadm -C; in_ns dir2 ipvsadm -C
finish
