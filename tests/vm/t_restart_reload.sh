#!/bin/sh
# t_restart_reload: reload and restart are honest, on the real kernel IPVS.
# A restart of lvsd (SIGKILL, then start again) with `alpha` keeps the
# adopted, working real servers in the table until their first verdict (no
# outage); a reload that reorders the instances leaves the sync daemon
# following its instance by name; a reload that changes VRRP is refused and
# `lvsd status` names each key.
. /lab/lib.sh
W=/run/t_restart_reload; mkdir -p $W
# Its own log: earlier tests append IPVS lines to /run/lab/dir1.lvsd.log.
CONF=$W/dir1.ini SOCK=$W/dir1.sock LOG=$W/lvsd.log
V=$LAB_VIP R1=$LAB_RS1 R2=$LAB_RS2
TRACK=$W/vi2.track

start() {
    nsenter --net=/run/netns/dir1 -- /usr/sbin/lvsd run -c "$CONF" >>"$LOG" 2>&1 &
    LVSD_PID=$!
}
inst() { # NAME VRID PRIO [extra line]
    printf '[vrrp_instance %s]\nstate = MASTER\ninterface = eth0\nvirtual_router_id = %s\npriority = %s\nadvert_int = 1\n' "$1" "$2" "$3"
    [ -n "${4:-}" ] && printf '%s\n' "$4"
    echo
}
vi1() { inst VI_1 51 150 "virtual_ipaddress = $V
lvs_sync_daemon_interface = eth1
${1:-}"; }
vi2() { inst VI_2 52 150 "virtual_ipaddress = 10.0.0.102
track_file = $TRACK weight 0"; }
vs() {
    printf '[virtual_server web]\naddress = %s\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\nalpha\n' "$V"
    printf 'delay_loop = 6\nwarmup = 8\n\n'
    for r in $R1 $R2; do
        printf '[real_server web/%s:80]\n\n[tcp_check web/%s:80]\nconnect_timeout = 2\n\n' "$r" "$r"
    done
}
conf() { # ORDER (12 or 21) [VI_1 extra]
    printf '[global]\nreconcile_interval = 1\ncontrol_socket = %s\n\n' "$SOCK"
    if [ "$1" = 12 ]; then vi1 "${2:-}"; vi2; else vi2; vi1 "${2:-}"; fi
    vs
}
in_table() { in_ns dir1 ipvsadm -Ln | grep -q -- "-> $1 "; }
both_in_table() { in_table "$R1:80" && in_table "$R2:80"; }
daemons() { in_ns dir1 ipvsadm -Ln --daemon; }

echo 0 > $TRACK
step "first run: alpha servers join after their first check; VI_1 is master with the master sync daemon"
conf 12 > $CONF
lvsd check -c $CONF > $W/check.out 2>&1 || { fail "lvsd check rejected the config"; sed 's/^/    /' $W/check.out; }
start
wait_until 20 both_in_table || fail "the real servers did not join: $(in_ns dir1 ipvsadm -Ln)"
wait_until 10 eval 'daemons | grep -q "master sync daemon (mcast=eth1, syncid=51"' ||
    fail "no master sync daemon: $(daemons)"

step "restart (SIGKILL, start again) with alpha: the adopted servers keep serving until their first verdict"
kill -KILL "$LVSD_PID"; wait "$LVSD_PID" 2>/dev/null
: > $W/samples; : > "$LOG"
start
# The first probe is at least 1 s after start (up to 1 + warmup 8 s): sample
# the table through the first 4 s; every sample must hold both servers.
i=0
while [ $i -lt 40 ]; do
    if both_in_table; then echo ok >> $W/samples; else echo MISSING >> $W/samples; fi
    sleep 0.1; i=$((i + 1))
done
missing=$(grep -c MISSING $W/samples)
expect_eq "samples without both servers in the first 4 s after the restart" "$missing" 0
expect_ok "no real server was deleted at restart" sh -c "! grep -q 'IPVS DelDest' $LOG"

step "reload with the instances in the other order: the sync daemon follows VI_1 by name"
conf 21 > $CONF
kill -HUP "$LVSD_PID"
wait_until 5 eval 'lvsd status --socket $SOCK | grep -q "last reload: applied"' ||
    fail "reload not applied: $(lvsd status --socket $SOCK | grep 'last reload')"
# VI_2 (now first in the file) goes to FAULT: that must not move VI_1's daemon.
echo 1 > $TRACK
wait_until 5 eval 'lvsd status --socket $SOCK | grep -q "vrrp_instance VI_2 .*: FAULT"' ||
    fail "VI_2 did not go to FAULT"
sleep 1
expect_match "still the master sync daemon" "$(daemons)" "master sync daemon \(mcast=eth1, syncid=51"
expect_eq "no backup sync daemon" "$(daemons | grep -c backup)" 0

step "reload that changes VRRP: refused, and the status names the key"
conf 21 "preempt_delay = 5" > $CONF
kill -HUP "$LVSD_PID"
wait_until 5 eval 'lvsd status --socket $SOCK | grep -q "last reload: refused, needs a restart: \[vrrp_instance VI_1\] preempt_delay"' ||
    fail "not refused: $(lvsd status --socket $SOCK | grep 'last reload')"
expect_match "the log names the key" "$(cat $LOG)" "reload refused.*\[vrrp_instance VI_1\] preempt_delay"

step "stop"
kill -TERM "$LVSD_PID"; wait "$LVSD_PID" 2>/dev/null
wait_until 5 eval '[ -z "$(in_ns dir1 ipvsadm -Ln | sed -n "4,\$p")" ]' || fail "entries left: $(in_ns dir1 ipvsadm -Ln)"
in_ns dir1 busybox ip addr del 10.0.0.102/32 dev eth0 2>/dev/null
finish
