#!/bin/sh
# t_ipvs_unload: bad input from the kernel side. A scheduler module the
# kernel lacks gives an error naming the service and the scheduler (lvsd keeps
# running and serves the rest); with the IPVS module gone, `lvsd run` exits
# with code 4 and one clear line, without retrying in a loop. Module
# autoloading is switched off for the test (kernel.modprobe) and everything
# is loaded again at the end, so later tests still have IPVS.
. /lab/lib.sh
W=/run/t_ipvs_unload; mkdir -p $W
V=$LAB_VIP R1=$LAB_RS1
SCHEDS="rr wrr lc wlc lblc lblcr dh sh mh sed nq fo ovf"
old_modprobe=$(cat /proc/sys/kernel/modprobe)
printf '#!/bin/sh\nexit 1\n' > $W/no-modprobe; chmod +x $W/no-modprobe
restore() {
    echo "$old_modprobe" > /proc/sys/kernel/modprobe
    modprobe ip_vs; for s in $SCHEDS; do modprobe ip_vs_$s; done
}
conf() { # SCHED: one service with a checked real server (no warnings)
    cat <<EOF
[global]
control_socket = $W/lvsd.sock
reconcile_interval = 1

[virtual_server web]
address = $V
port = 80
protocol = TCP
lb_algo = $1
lb_kind = DR

[real_server web/$R1:80]
weight = 1

[tcp_check web/$R1:80]
connect_timeout = 1

[virtual_server other]
address = $V
port = 81
protocol = TCP
lb_algo = rr
lb_kind = DR

[real_server other/$R1:81]
weight = 1

[tcp_check other/$R1:81]
connect_timeout = 1
EOF
}

step "scheduler module missing: the error names the service and the scheduler"
echo "$W/no-modprobe" > /proc/sys/kernel/modprobe
rmmod ip_vs_ovf || fail "rmmod ip_vs_ovf"
conf ovf > $W/ovf.ini
nsenter --net=/run/netns/dir1 -- /usr/sbin/lvsd run -c $W/ovf.ini > $W/ovf.log 2>&1 &
pid=$!
has81() { in_ns dir1 ipvsadm -Ln | grep -q ":81 rr"; }
wait_until 5 has81 ||
    fail "the other service was not created"
wait_until 5 grep -q 'ovf' $W/ovf.log || fail "no error about ovf"
sed 's/^/    /' $W/ovf.log
expect_match "error names service and scheduler" "$(cat $W/ovf.log)" \
    "virtual_server web: IPVS NewService TCP $V:80 ovf: .*scheduler \"ovf\" is not available in the kernel \(module ip_vs_ovf\)"
sleep 2.2
expect_eq "logged once, not at every reconcile" "$(grep -c 'error: .*NewService TCP' $W/ovf.log)" 1
expect_eq "a refused write is not logged as done" "$(grep -c 'info: IPVS NewService' $W/ovf.log)" 0
expect_ok "lvsd keeps running" kill -0 $pid
expect_match "refused writes are counted" "$(lvsd status --socket $W/lvsd.sock)" "refused [1-9]"
kill -TERM $pid; wait_until 5 sh -c "! kill -0 $pid 2>/dev/null" || fail "lvsd did not stop"
expect_eq "dir1 table empty after stop" "$(in_ns dir1 ipvsadm -Ln | tail -n +4)" ""

step "IPVS module missing: lvsd run exits 4 with one clear line, no loop"
for ns in $LAB_NAMESPACES; do in_ns $ns ipvsadm -C 2>/dev/null; done
ipvsadm -C 2>/dev/null
for s in $SCHEDS; do rmmod ip_vs_$s 2>/dev/null; done
rmmod ip_vs || fail "rmmod ip_vs: $(lsmod | grep ip_vs)"
expect_eq "ip_vs unloaded" "$(lsmod | grep -c '^ip_vs ')" 0
conf rr > $W/rr.ini
t0=$(now_ms)
nsenter --net=/run/netns/dir1 -- timeout 10 /usr/sbin/lvsd run -c $W/rr.ini > $W/nomod.out 2> $W/nomod.err
rc=$?
echo "    exit $rc after $(elapsed_ms $t0) ms; stderr:"; sed 's/^/    | /' $W/nomod.err
expect_eq "exit code" "$rc" 4
expect_eq "stderr lines" "$(wc -l < $W/nomod.err)" 1
expect_match "the line says what is missing" "$(cat $W/nomod.err)" 'IPVS is not available.*ip_vs'
expect_eq "nothing on stdout" "$(wc -c < $W/nomod.out)" 0

step "modules back (later tests need IPVS)"
restore
expect_match "ip_vs loaded again" "$(lsmod)" '^ip_vs '
expect_ok "ipvsadm works again" in_ns dir1 ipvsadm -Ln
finish
