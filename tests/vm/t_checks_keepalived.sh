#!/bin/sh
# t_checks_keepalived: PING_CHECK, UDP_CHECK and FILE_CHECK verdicts, lvsd
# beside keepalived 2.2.7. One keepalived.conf goes through
# `lvsd import-keepalived --strict`; lvsd runs the INI in dir1 while
# keepalived's checker (`-C`) runs the original in dir2. The kernel IPVS
# tables (ipvsadm -Ln, the witness) must be the same after each change:
# both real servers answer ping; a UDP port nobody listens on fails; a file's
# number changes a weight and a second file takes a server out; rs2 stops
# answering ping.
. /lab/lib.sh
W=/run/t_checks_ka; mkdir -p $W
SOCK=$W/dir1.sock LOG=$LAB_RUN/dir1.lvsd.log
R1=$LAB_RS1 R2=$LAB_RS2
KA=/opt/lab/bin/keepalived
echo 0 > $W/drain
echo 0 > $W/gate

cat > $W/keepalived.conf <<EOK
global_defs {
    router_id t_checks_ka
}
track_file drain {
    file $W/drain
    weight -1
}
track_file gate {
    file $W/gate
    weight 0
}
virtual_server 10.0.0.100 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server $R1 80 {
        weight 10
        PING_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
        FILE_CHECK {
            track_file drain
        }
    }
    real_server $R2 80 {
        weight 20
        PING_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
        FILE_CHECK {
            track_file gate
        }
    }
}
virtual_server 10.0.0.100 53 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol UDP
    real_server $R1 53 {
        weight 1
        UDP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
EOK

pairs() { # NS: destination lines prefixed by their service, sorted
    in_ns "$1" ipvsadm -Ln | awk '/^(TCP|UDP|FWM)/ {s=$1" "$2; print s; next} /->/ {print s " | " $2 " " $4}' | sort
}
same_tables() { [ "$(pairs dir1)" = "$(pairs dir2)" ]; }
show() { echo "    --- lvsd:"; pairs dir1 | sed 's/^/    /'; echo "    --- keepalived:"; pairs dir2 | sed 's/^/    /'; }
both_have() { pairs dir1 | grep -q "$1" && pairs dir2 | grep -q "$1"; }
both_lack() { ! pairs dir1 | grep -q "$1" && ! pairs dir2 | grep -q "$1"; }
agree() { # WHAT: wait until the tables are the same, then assert it
    wait_until 15 same_tables || { fail "$1: the tables differ"; show; tail -20 $W/ka.log | sed 's/^/    ka| /'; return; }
    echo "  ok: $1"; pairs dir1 | sed 's/^/    /'
}

step "import-keepalived converts PING_CHECK, UDP_CHECK and FILE_CHECK with nothing dropped"
lvsd import-keepalived --strict $W/keepalived.conf > $W/lvsd.ini 2>$W/import.err || { cat $W/import.err; fail "import failed"; }
printf '\ncontrol_socket = %s\n' "$SOCK" > $W/global.add
sed -i "/^\[global\]/r $W/global.add" $W/lvsd.ini
expect_ok "lvsd check" lvsd check -c $W/lvsd.ini
for kind in ping_check file_check udp_check; do
    expect_ok "[$kind] in the INI" grep -q "^\[$kind " $W/lvsd.ini
done

step "both daemons start; ping passes, the closed UDP port fails"
[ -x $KA ] || fail "keepalived is not in the VM (run.sh --tool /usr/sbin/keepalived)"
nsenter --net=/run/netns/dir1 -- /usr/sbin/lvsd run -c $W/lvsd.ini >>"$LOG" 2>&1 &
LVSD_PID=$!
nsenter --net=/run/netns/dir2 -- $KA -n -l -G -C -f $W/keepalived.conf -p $W/ka.pid -c $W/ka-check.pid >$W/ka.log 2>&1 &
KA_PID=$!
wait_until 20 both_have "$R2:80" || { fail "rs2 never came up in both"; show; }
wait_until 20 both_lack "$R1:53" || { fail "the UDP real server stayed"; show; }
agree "ping up, UDP port unreachable"

step "FILE_CHECK: the drain file's number lowers rs1's weight, in both"
echo 4 > $W/drain
wait_until 10 both_have "$R1:80 6" || { fail "weight 6 not reached in both"; show; }
agree "weight 10 - 4"
echo 100 > $W/drain
wait_until 10 both_have "$R1:80 0" || { fail "weight 0 not reached in both"; show; }
agree "drained to weight 0"

step "FILE_CHECK weight 0: a non-zero number takes rs2 out, in both"
echo 1 > $W/gate
wait_until 10 both_lack "$R2:80" || { fail "rs2 stayed"; show; }
agree "gate closed"
echo 0 > $W/gate
echo 0 > $W/drain
wait_until 10 both_have "$R2:80 20" || { fail "rs2 did not come back"; show; }
agree "gate open, drain back to 0"

step "rs2 stops answering ping: both remove it"
in_ns rs2 sh -c 'echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all'
wait_until 20 both_lack "$R2:80" || { fail "rs2 stayed"; show; }
agree "ping down"
in_ns rs2 sh -c 'echo 0 > /proc/sys/net/ipv4/icmp_echo_ignore_all'

step "stop"
kill -TERM $LVSD_PID; kill -TERM "$(cat $W/ka.pid 2>/dev/null || echo $KA_PID)" 2>/dev/null
sleep 1
finish
