#!/bin/sh
# t_frontier.sh: the 10 ms frontier (issue 14), for `make bench`
# (benches/frontier.bench.sh). VRRPv3 allows 10 ms adverts. For
# FRONTIER_MIN minutes (default 10) one instance runs at advert_int 0.01 s
# with FRONTIER_CHECKS TCP checks per second (default 10,000: FRONTIER_RS
# real servers on a farm in each director's netns, delay_loop = RS / CHECKS)
# in the same daemon, on both directors, plus the traffic probe on the VIP.
# Then the master loses its power (SIGKILL, links down) and the takeover is
# measured from the traffic. lvsd first, then keepalived, the same way.
# Figures (asserts nothing, a bench):
#   false failovers: state changes logged by the notify script during the
#     window (a stable pair has none: dir1 MASTER, dir2 BACKUP throughout);
#   takeover after SIGKILL from the traffic: the probe's outage window;
#     target <= 40 ms (bound 3 x 10 ms + skew (256-90) x 10 ms / 256 = 36.5 ms).
MIN=${FRONTIER_MIN:-10}
CHECKS=${FRONTIER_CHECKS:-10000}
NRS=${FRONTIER_RS:-1000}
IMPLS=${FRONTIER_IMPLS:-"lvsd keepalived"}
ADVERT=0.01 VRRP3=1
LONG=${TRAFFIC_LONG:-10}
DL=$(awk -v n="$NRS" -v c="$CHECKS" 'BEGIN { printf "%.3f", n / c }')
PER_VS=50

step "frontier setup: real servers, a check farm in each director"
rs_prepare
for d in dir1 dir2; do
    rm -f $W/$d.farm.in; mkfifo $W/$d.farm.in
    nsenter --net="/run/netns/$d" -- $FARM 127.1.0.1 "$NRS" 80 tcp < $W/$d.farm.in > $W/$d.farm.out 2>&1 &
done
exec 8> $W/dir1.farm.in 9> $W/dir2.farm.in
wait_until 60 grep -q ready $W/dir1.farm.out && wait_until 60 grep -q ready $W/dir2.farm.out || fail "farms not ready"
for d in dir1 dir2; do
    printf '#!/bin/sh\necho "$(cut -d" " -f1 /proc/uptime) $*" >> %s/notify.%s.log\n' "$W" $d > $W/notify-$d.sh
    chmod 755 $W/notify-$d.sh
done
echo "  $CHECKS checks/s: $NRS real servers on 127.1.0.1.. (farm), delay_loop $DL s, connect_timeout 1, retry 1; advert_int $ADVERT (VRRPv3); $MIN min"

# frontier_conf NS STATE PRIO: d_conf (v3, 10 ms) + notify + the check load
frontier_conf() {
    d_conf "$1" "$2" "$3"
    if [ "$IMPL" = lvsd ]; then
        awk -v n="$W/notify-$1.sh" '{ print } /^virtual_router_id/ { print "notify = " n }' $W/$1.ini > $W/$1.tmp
        awk -v n="$NRS" -v per=$PER_VS -v dl="$DL" 'BEGIN {
            for (i = 0; i < n; i++) {
                v = int(i / per); m = i + 1; a = sprintf("127.1.%d.%d", int(m / 256), m % 256)
                if (i % per == 0) printf "\n[virtual_server f%d]\naddress = 10.9.0.%d\nport = 80\nprotocol = TCP\ndelay_loop = %s\nlb_algo = rr\nlb_kind = DR\n", v, v + 1, dl
                printf "\n[real_server f%d/%s:80]\nweight = 1\n\n[tcp_check f%d/%s:80]\nconnect_timeout = 1\nretry = 1\ndelay_before_retry = 1\n", v, a, v, a
            } }' >> $W/$1.tmp
        mv $W/$1.tmp $W/$1.ini
    else
        awk -v n="$W/notify-$1.sh" '{ print } /virtual_router_id/ { print "    notify " n }' $W/$1.conf > $W/$1.tmp
        awk -v n="$NRS" -v per=$PER_VS -v dl="$DL" 'BEGIN {
            for (i = 0; i < n; i++) {
                v = int(i / per); m = i + 1; a = sprintf("127.1.%d.%d", int(m / 256), m % 256)
                if (i % per == 0) { if (i > 0) print "}"; printf "virtual_server 10.9.0.%d 80 {\n    delay_loop %s\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n", v + 1, dl }
                printf "    real_server %s 80 {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }\n    }\n", a
            }
            print "}" }' >> $W/$1.tmp
        mv $W/$1.tmp $W/$1.conf
    fi
}
dests() { in_ns "$1" ipvsadm -Ln | grep -c -- '->  *[0-9]'; }

for IMPL in $IMPLS; do
    step "$IMPL: $MIN min at advert_int $ADVERT with $CHECKS checks/s on both directors"
    cl_down; rm -f $W/notify.*.log
    frontier_conf dir1 MASTER 100; frontier_conf dir2 BACKUP 90
    d_start dir1; d_start dir2
    wait_until 30 has_vip dir1 || { fail "$IMPL: dir1 did not take the VIP"; continue; }
    wait_until 120 eval '[ "$(dests dir1)" -ge $((NRS + 4)) ] && [ "$(dests dir2)" -ge $((NRS + 4)) ]' ||
        fail "$IMPL: tables hold $(dests dir1) / $(dests dir2) of $((NRS + 4)) real servers"
    sleep 5
    probe_start "front-$IMPL" || continue
    n1=$(cat $W/notify.dir1.log 2>/dev/null | wc -l); n2=$(cat $W/notify.dir2.log 2>/dev/null | wc -l)
    c0=$(awk '{ print $14 + $15 }' $(for p in $(d_pids dir1); do echo /proc/$p/stat; done) 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
    t0=$(now_ms)
    sleep $((MIN * 60))
    c1=$(awk '{ print $14 + $15 }' $(for p in $(d_pids dir1); do echo /proc/$p/stat; done) 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
    el=$(elapsed_ms "$t0")
    f1=$(( $(cat $W/notify.dir1.log 2>/dev/null | wc -l) - n1 )); f2=$(( $(cat $W/notify.dir2.log 2>/dev/null | wc -l) - n2 ))
    echo "  notify dir1: $(tail -n 5 $W/notify.dir1.log 2>/dev/null | tr '\n' ';')"
    echo "  notify dir2: $(tail -n 5 $W/notify.dir2.log 2>/dev/null | tr '\n' ';')"
    cpu=$(awk -v c=$((c1 - c0)) -v ms="$el" 'BEGIN { printf "%.1f%%", c * 10 * 100 / ms }')
    probe_mark fault; d_signal dir1 KILL; ip link set v-dir1 down; in_ns dir1 busybox ip link set eth1 down
    wait_poll 10 0.5 has_vip dir2 || fail "$IMPL: dir2 did not take over"
    sleep 4
    probe_stop
    rep=$(probe_report "front-$IMPL" --fault fault)
    printf '%s\n' "$rep" | sed 's/^/  /'
    echo "figure: frontier $IMPL: $MIN min, advert 10 ms, $CHECKS checks/s: false failovers (notify lines) dir1 $f1 dir2 $f2; master CPU $cpu of the vCPU; takeover after SIGKILL from the traffic $(result outage_ms "$rep") ms (target <= 40, bound 36.5), failed $(result failed "$rep")/$(result requests "$rep")"
    cl_down
done
exec 8>&- 9>&-
rs_cleanup
finish
