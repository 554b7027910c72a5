#!/bin/sh
# benches/vip-guest.sh: lvsd start -> VIP held -> VIP answering, inside the VM
# lab (run by image/bench.sh through tests/vm/lab.sh). Prints "BENCH key value".
# dir1 alone (state MASTER, priority 100, advert_int 1): the election ends when
# lvsd puts the VIP on eth0 (it waits one advert interval plus skew for a
# better master first); the VIP answers when the client's ping gets a reply.
. /lab/lib.sh
c1=$(lab_conf dir1 MASTER 100)
# Poll every 10 ms (wait_until polls every 100 ms).
poll() { # seconds command...
    _end=$(( $(now_ms) + $1 * 1000 )); shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -ge "$_end" ] && return 1
        sleep 0.01
    done
}
answers() { in_ns client busybox ping -c 1 -W 1 "$LAB_VIP"; }
for i in 1 2 3; do
    step "run $i"
    t0=$(now_ms)
    lvsd_start dir1 "$c1"
    if ! poll 10 has_vip dir1; then fail "dir1 did not take the VIP"; lvsd_stop dir1; continue; fi
    t1=$(now_ms)
    poll 5 answers || fail "the VIP does not answer the client"
    t2=$(now_ms)
    echo "BENCH run${i}_start_to_vip_ms $((t1 - t0))"
    echo "BENCH run${i}_vip_to_answer_ms $((t2 - t1))"
    lvsd_stop dir1
    in_ns client busybox ip neigh flush all 2>/dev/null
    sleep 1
done
finish
