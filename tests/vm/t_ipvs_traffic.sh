#!/bin/sh
# t_ipvs_traffic: SEED.md's LVS-DR cluster with lvsd on both directors (dir1
# MASTER, dir2 BACKUP, the sync daemon on the heartbeat link eth1) and real
# servers prepared with `lvsd realserver up`: client requests to the VIP
# alternate rs1/rs2; `lvsd status` shows the seed table as `ipvsadm -Ln` does;
# connection entries appear on the backup through the IPVS sync daemon; NAT
# and TUN (ipip) services of the same lvsd carry real requests too.
. /lab/lib.sh
W=/run/t_ipvs_traffic; mkdir -p $W
V=$LAB_VIP R1=$LAB_RS1 R2=$LAB_RS2
V2=10.0.0.101   # the TUN service's address (the ipip decap target)

start() { # NS CONF: lvsd under nsenter (which execs), so $! is lvsd
    nsenter --net=/run/netns/$1 -- /usr/sbin/lvsd run -c "$2" >>"$LAB_RUN/$1.lvsd.log" 2>&1 &
    echo $! > $W/$1.pid
}
conf() { # NS STATE PRIO: the seed config (lib.sh's lab_conf) + own socket + NAT/TUN services
    f=$(lab_conf "$1" "$2" "$3")
    # lab_conf already gives each director its own control socket; point it at $W.
    sed -i -e "s|^control_socket = .*|control_socket = $W/$1.sock|" \
        -e "s|^\[global\]\$|[global]\nreconcile_interval = 1|" "$f"
    # Quicker checks than the seed's (6 s loop, 3 retries) so a test waits seconds.
    sed -i -e 's/^delay_loop = 6$/delay_loop = 1/' -e 's/^retry = 3$/retry = 0/' \
        -e 's/^connect_timeout = 3$/connect_timeout = 1/' -e 's/^delay_before_retry = 3$/delay_before_retry = 1/' "$f"
    cat >> "$f" <<EOF

[virtual_server nat]
address = $V
port = 8080
protocol = TCP
lb_algo = rr
lb_kind = NAT

[real_server nat/$R1:80]
weight = 1

[real_server nat/$R2:80]
weight = 1

[virtual_server tun]
address = $V2
port = 80
protocol = TCP
lb_algo = rr
lb_kind = TUN

[real_server tun/$R1:80]
weight = 1

[real_server tun/$R2:80]
weight = 1
EOF
    echo "$f"
}
status() { lvsd status --socket "$W/$1.sock"; }
# N requests to URL from the client; prints the answering servers on one line
requests() {
    _s=
    for _i in $(seq "$1"); do
        _p=$(http_get client "$2") || _p="-"
        _s="$_s ${_p%% *}"
    done
    echo "${_s# }"
}
alternates() { echo "$1" | grep -Eq '^(rs1 rs2)( rs1 rs2)*$|^(rs2 rs1)( rs2 rs1)*$'; }

step "real servers: lvsd realserver up --vip VIP --dev eth0 (idempotent)"
# Each real server is its own box: its own run dir for realserver.state.
rsd() { LVSD_RUN_DIR=$W/$1 in_ns "$@"; }
for rs in rs1 rs2; do
    mkdir -p $W/$rs
    expect_ok "$rs realserver up" rsd $rs lvsd realserver up --vip "$V" --dev eth0
    expect_ok "$rs realserver up again (idempotent)" rsd $rs lvsd realserver up --vip "$V" --dev eth0
    expect_match "$rs VIP on lo" "$(in_ns $rs ip -br addr show lo)" "$V/32"
    expect_eq "$rs eth0 arp_ignore" "$(in_ns $rs cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)" 1
    expect_eq "$rs eth0 arp_announce" "$(in_ns $rs cat /proc/sys/net/ipv4/conf/eth0/arp_announce)" 2
    st=$(rsd $rs lvsd realserver status --vip "$V" --dev eth0)
    printf '%s\n' "$st" | sed "s/^/    $rs: /"
done

step "directors: lvsd on dir1 (MASTER 100) and dir2 (BACKUP 90); dir1 takes the VIP"
c1=$(conf dir1 MASTER 100); c2=$(conf dir2 BACKUP 90)
expect_ok "config valid" lvsd check -c "$c1"
start dir1 "$c1"; start dir2 "$c2"
wait_until 10 has_vip dir1 || fail "dir1 did not take the VIP"
expect_eq "VIP holder" "$(vip_holder)" dir1
want=$(printf '%s\n' "TCP  $V:80 rr" \
    "$(printf '  -> %-28s %-7s %-6s %-10s %-10s' "$R1:80" Route 1 0 0)" \
    "$(printf '  -> %-28s %-7s %-6s %-10s %-10s' "$R2:80" Route 1 0 0)" \
    "TCP  $V:8080 rr" \
    "$(printf '  -> %-28s %-7s %-6s %-10s %-10s' "$R1:80" Masq 1 0 0)" \
    "$(printf '  -> %-28s %-7s %-6s %-10s %-10s' "$R2:80" Masq 1 0 0)" \
    "TCP  $V2:80 rr" \
    "$(printf '  -> %-28s %-7s %-6s %-10s %-10s' "$R1:80" Tunnel 1 0 0)" \
    "$(printf '  -> %-28s %-7s %-6s %-10s %-10s' "$R2:80" Tunnel 1 0 0)")
for d in dir1 dir2; do
    if wait_until 8 sh -c "[ \"\$(nsenter --net=/run/netns/$d -- /opt/lab/bin/ipvsadm -Ln | tail -n +4)\" = \"\$1\" ]" _ "$want"; then
        echo "  ok: $d table is the seed table"; else fail "$d table differs"; fi
    in_ns $d ipvsadm -Ln | sed "s/^/    $d: /"
done

step "lvsd status on dir1 reproduces ipvsadm -Ln (seed view)"
in_ns dir1 ipvsadm -Ln > $W/ipvsadm.out
status dir1 > $W/status.out
head -n "$(wc -l < $W/ipvsadm.out)" $W/status.out > $W/status.head
if cmp -s $W/ipvsadm.out $W/status.head; then echo "  ok: byte for byte"; else
    fail "lvsd status differs from ipvsadm -Ln"; diff $W/ipvsadm.out $W/status.head | sed 's/^/    /'; fi
sed 's/^/    /' $W/status.out

step "DR: client requests to the VIP alternate rs1/rs2"
seq=$(requests 6 "http://$V/")
echo "    answers: $seq"
alternates "$seq" && echo "  ok: alternating" || fail "DR answers do not alternate: $seq"
conns=$(in_ns dir1 ipvsadm -Lnc)
echo "$conns" | sed 's/^/    dir1: /'
expect_eq "dir1 connection entries for the VIP" "$(echo "$conns" | grep -c "$V:80 ")" 6

step "sync daemon: master on dir1, backup on dir2, connections appear on dir2"
expect_match "dir1 sync daemon" "$(in_ns dir1 ipvsadm -Ln --daemon)" "master sync daemon \(mcast=eth1, syncid=51"
expect_match "dir2 sync daemon" "$(in_ns dir2 ipvsadm -Ln --daemon)" "backup sync daemon \(mcast=eth1, syncid=51"
synced() { [ "$(in_ns dir2 ipvsadm -Lnc | grep -c "$V:80 ")" -ge 6 ]; }
t0=$(now_ms)
if wait_until 8 synced; then echo "  ok: dir2 has the entries after $(elapsed_ms $t0) ms"; else fail "connections not synced to dir2"; fi
in_ns dir2 ipvsadm -Lnc | sed 's/^/    dir2: /'
expect_match "status says sync daemon master" "$(status dir1)" "sync daemon master"
expect_match "status says sync daemon backup" "$(status dir2)" "sync daemon backup"

step "health: rs1's httpd stops -> lvsd removes rs1 from VIP:80; it starts -> rs1 is back"
inweb() { in_ns dir1 ipvsadm -Ln -t "$V:80" | grep -q " $1:80 "; }
# The httpd processes living in netns $1 (lib.sh's rs_stop kills the pid of
# the backgrounded in_ns subshell, which leaves httpd running).
httpd_pids() {
    _ino=$(stat -L -c %i /run/netns/$1)
    for _p in /proc/[0-9]*; do
        [ "$(cat $_p/comm 2>/dev/null)" = httpd ] || continue
        [ "$(stat -L -c %i $_p/ns/net 2>/dev/null)" = "$_ino" ] && echo "${_p#/proc/}"
    done
}
rs_stop rs1
for p in $(httpd_pids rs1); do kill "$p"; done
wait_until 3 sh -c "! nsenter --net=/run/netns/client -- nc -z -w 1 $R1 80" || fail "rs1 httpd still answers"
t0=$(now_ms)
if wait_until 10 sh -c "! nsenter --net=/run/netns/dir1 -- /opt/lab/bin/ipvsadm -Ln -t $V:80 | grep -q ' $R1:80 '"; then
    echo "  ok: rs1 removed after $(elapsed_ms $t0) ms"; else fail "rs1 still in the table"; fi
expect_match "status says rs1 is dead" "$(status dir1)" "$R1:80 +DEAD"
seq=$(requests 3 "http://$V/")
expect_eq "all requests to rs2" "$seq" "rs2 rs2 rs2"
rs_start rs1
t0=$(now_ms)
if wait_until 10 inweb "$R1"; then echo "  ok: rs1 back after $(elapsed_ms $t0) ms"; else fail "rs1 not back"; fi
expect_match "status says rs1 is alive" "$(status dir1)" "$R1:80 +alive"

step "NAT: requests to VIP:8080 reach rs1/rs2:80 through dir1 and alternate"
in_ns dir1 sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
for rs in rs1 rs2; do
    # Replies to the client must pass the director to be un-NATed.
    in_ns $rs ip route add "$LAB_CLIENT/32" via "$LAB_DIR1_SVC"
    in_ns $rs sysctl -q -w net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0
done
seq=$(requests 4 "http://$V:8080/")
echo "    answers: $seq"
alternates "$seq" && echo "  ok: alternating through NAT" || fail "NAT answers do not alternate: $seq"
for rs in rs1 rs2; do in_ns $rs ip route del "$LAB_CLIENT/32" via "$LAB_DIR1_SVC"; done

step "TUN (ipip): requests to $V2:80 are tunnelled to rs1/rs2 and alternate"
in_ns dir1 ip addr add "$V2/32" dev eth0
# The board keeps fallback tunnels (tunl0) out of namespaces
# (fb_tunnels_only_for_init_net=2), so each real server gets its own ipip
# device that takes every ipip packet sent to its address.
for rs in rs1 rs2; do
    in_ns $rs ip link add ipip0 type ipip local "$(rs_addr $rs)"
    in_ns $rs ip link set ipip0 up
    in_ns $rs ip addr add "$V2/32" dev ipip0
    in_ns $rs sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.ipip0.rp_filter=0
done
seq=$(requests 4 "http://$V2/")
echo "    answers: $seq"
alternates "$seq" && echo "  ok: alternating through ipip" || fail "TUN answers do not alternate: $seq"

step "keepalived's global form: lvs_sync_daemon = eth1 VI_1 id 7 (dir2 restarted as BACKUP)"
kill -TERM "$(cat $W/dir2.pid)"
wait_until 5 sh -c "! kill -0 $(cat $W/dir2.pid) 2>/dev/null" || fail "dir2 lvsd did not stop"
expect_eq "dir2 sync daemon stopped with lvsd" "$(in_ns dir2 ipvsadm -Ln --daemon)" ""
sed -i -e '/^lvs_sync_daemon_interface/d' -e "s|^\[global\]\$|[global]\nlvs_sync_daemon = eth1 VI_1 id 7|" "$c2"
expect_ok "config with the global form valid" lvsd check -c "$c2"
start dir2 "$c2"
gd() { in_ns dir2 ipvsadm -Ln --daemon | grep -q 'backup sync daemon (mcast=eth1, syncid=7'; }
wait_until 8 gd && echo "  ok: dir2 runs a backup sync daemon with syncid 7" || fail "no backup daemon with syncid 7 on dir2"
in_ns dir2 ipvsadm -Ln --daemon | sed 's/^/    dir2: /'
expect_eq "dir1 still holds the VIP" "$(vip_holder)" dir1

step "cleanup: lvsd stops and removes its table, realserver down undoes up"
for d in dir1 dir2; do kill -TERM "$(cat $W/$d.pid)"; done
for d in dir1 dir2; do
    wait_until 5 sh -c "! kill -0 $(cat $W/$d.pid) 2>/dev/null" || fail "$d lvsd did not stop"
    expect_eq "$d table empty" "$(in_ns $d ipvsadm -Ln | tail -n +4)" ""
done
in_ns dir1 ip addr del "$V2/32" dev eth0
for rs in rs1 rs2; do
    in_ns $rs ip link del ipip0
    expect_ok "$rs realserver down" rsd $rs lvsd realserver down --vip "$V" --dev eth0
    expect_eq "$rs VIP gone from lo" "$(in_ns $rs ip -br addr show lo | grep -c "$V/32")" 0
    expect_eq "$rs arp_ignore back" "$(in_ns $rs cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)" 0
done
finish
