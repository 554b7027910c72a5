#!/bin/sh
# benches/ipvs-guest.sh: IPVS figures inside the VM lab (run by
# benches/ipvs.bench.sh through tests/vm/lab.sh). Prints "BENCH key value" lines.
# lvsd applies 1000 virtual servers x 10 real servers to dir1's empty kernel
# table; ipvsadm -R restores the same table into dir2 as the yardstick.
. /lab/lib.sh
W=/run/bench; mkdir -p $W
NVS=${BENCH_VS:-1000} NRS=${BENCH_RS:-10}
step "generate $NVS x $NRS"
awk -v nvs=$NVS -v nrs=$NRS -v sock=$W/lvsd.sock -v rules=$W/rules 'BEGIN {
    printf "[global]\ncontrol_socket = %s\nreconcile_interval = 2\n\n", sock
    for (i = 0; i < nvs; i++) {
        a = sprintf("10.1.%d.%d", int(i / 250), i % 250 + 1)
        printf "[virtual_server v%d]\naddress = %s\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n\n", i, a
        printf "-A -t %s:80 -s rr\n", a > rules
        for (j = 0; j < nrs; j++) {
            printf "[real_server v%d/10.2.0.%d:80]\nweight = 1\n\n", i, j + 1
            printf "-a -t %s:80 -r 10.2.0.%d:80 -g -w 1\n", a, j + 1 > rules
        }
    }
}' > $W/big.ini
entries=$((NVS * NRS + NVS))
echo "BENCH config_bytes $(wc -c < $W/big.ini)"
# What a reload costs before IPVS is involved: load + validate the file.
t0=$(now_ms); lvsd check -c $W/big.ini > /dev/null 2>&1
echo "BENCH config_check_ms $(elapsed_ms $t0)"

step "lvsd applies the table to an empty kernel table"
nsenter --net=/run/netns/dir1 -- /usr/sbin/lvsd run -c $W/big.ini > $W/lvsd.log 2>&1 &
pid=$!
wait_until 120 grep -q 'IPVS table converged' $W/lvsd.log || fail "no convergence"
line=$(grep 'IPVS table converged' $W/lvsd.log)
echo "    $line"
ms=$(echo "$line" | sed -n 's/.* in \([0-9]*\) ms.*/\1/p')
echo "BENCH lvsd_apply_ms $ms"
echo "BENCH lvsd_apply_writes $(echo "$line" | sed -n 's/.*converged: \([0-9]*\) write.*/\1/p')"
echo "BENCH lvsd_us_per_op $(( ms * 1000 / entries ))"
n=$(in_ns dir1 ipvsadm -Ln | tail -n +4 | wc -l)
expect_eq "kernel entries (ipvsadm -Ln)" "$n" "$entries"

step "steady-state reconcile (dump + compare, no writes)"
sleep 2.5
st=$(lvsd status --socket $W/lvsd.sock | grep '^reconciles')
echo "    $st"
echo "BENCH reconcile_nochange_ms $(echo "$st" | sed -n 's/.*last reconcile \([0-9]*\) ms.*/\1/p')"

step "unchanged reload"
w0=$(lvsd status --socket $W/lvsd.sock | sed -n 's/.* writes \([0-9]*\) .*/\1/p')
kill -HUP $pid
wait_until 20 grep -q 'reload: .* unchanged' $W/lvsd.log || fail "no reload line"
echo "    $(grep 'reload: .* unchanged' $W/lvsd.log)"
echo "BENCH reload_unchanged_ms $(grep 'reload: .* unchanged' $W/lvsd.log | sed -n 's/.*[( ]\([0-9]*\) ms).*/\1/p')"
w1=$(lvsd status --socket $W/lvsd.sock | sed -n 's/.* writes \([0-9]*\) .*/\1/p')
echo "BENCH reload_unchanged_writes $((w1 - w0))"

step "restore one hand-deleted destination (reconcile_interval 2 s)"
back() { in_ns dir1 ipvsadm -Ln -t 10.1.0.1:80 | grep -q '10.2.0.5:80'; }
in_ns dir1 ipvsadm -d -t 10.1.0.1:80 -r 10.2.0.5:80
t0=$(now_ms)
wait_until 10 back || fail "not restored"
echo "BENCH restore_one_dest_ms $(elapsed_ms $t0)"
kill -TERM $pid
wait_until 60 sh -c "! kill -0 $pid 2>/dev/null"

step "ipvsadm -R of the same table (yardstick, dir2)"
t0=$(now_ms)
in_ns dir2 ipvsadm -R < $W/rules || fail "ipvsadm -R"
ms=$(elapsed_ms $t0)
echo "BENCH ipvsadm_restore_ms $ms"
echo "BENCH ipvsadm_us_per_op $(( ms * 1000 / entries ))"
expect_eq "dir2 entries" "$(in_ns dir2 ipvsadm -Ln | tail -n +4 | wc -l)" "$entries"
in_ns dir2 ipvsadm -C
finish
