#!/bin/sh
# benches/checks_vm-guest.sh: keepalived's health checker beside lvsd's on the
# same farm of real servers, inside the VM lab (run by benches/checks_vm.bench.sh
# through tests/vm/lab.sh, which adds keepalived and the farm to /opt/lab/bin).
# Prints "BENCH checks_vm: ..." lines.
#
# Everything runs in the lab netns dir1 (its own IPVS table): the farm
# (examples/farm.rs) listens on N loopback addresses 127.1.0.1.. (TCP) or
# 127.2.0.1.. (HTTP); then, one after the other, keepalived (checker only,
# `keepalived -n -l -G -C`: checker only, log on stderr, no syslog) and lvsd check the same servers with the same timing
# (delay_loop 1, connect_timeout 3, retry 3, delay_before_retry 1), each
# filling the IPVS table with the same virtual servers of at most 50 real
# servers. Over a window of WIN seconds after a warm-up:
#   cpu       utime+stime from /proc/PID/stat over the window, % of one core
#             (keepalived: the parent and its checker child together)
#   rss       VmRSS at the end of the window (hwm = VmHWM), summed likewise
#   lateness  seen from the farm, the same for both: for each connection to a
#             real server, (time since the previous connection to that server)
#             - delay_loop; p50/p99/max in ms. Both checkers start the next
#             probe delay_loop after the previous one ENDS (keepalived's rule,
#             which lvsd follows), so this includes the probe's own duration.
# lvsd's own histogram (`lvsd status`: start lateness, since its start) is
# printed too. Settings from the kernel command line (see the host script):
# CKB_TCP_N, CKB_HTTP_N, CKB_WIN, CKB_WARM.
. /lab/lib.sh
W=/run/ckb; mkdir -p $W
NS=dir1
NT=${CKB_TCP_N:-500} NH=${CKB_HTTP_N:-200} WIN=${CKB_WIN:-20} WARM=${CKB_WARM:-4}
PER_VS=50
KA=/opt/lab/bin/keepalived FARM=/opt/lab/bin/farm
FARM_PID= CHK_PID=
cleanup() {
    [ -n "$CHK_PID" ] && kill "$CHK_PID" 2>/dev/null
    [ -n "$FARM_PID" ] && kill "$FARM_PID" 2>/dev/null
    exec 3>&- 2>/dev/null
}
trap cleanup EXIT

# ---- the farm: one process, commands through a FIFO, answers in a file -----
farm_start() { # FIRST COUNT PORT MODE [BODY]
    rm -f $W/farm.in $W/farm.out; mkfifo $W/farm.in; : > $W/farm.out
    # nsenter execs the program, so $! is the program itself.
    nsenter --net=/run/netns/$NS -- $FARM "$@" < $W/farm.in > $W/farm.out 2> $W/farm.err &
    FARM_PID=$!
    exec 3> $W/farm.in
    wait_until 30 grep -q '^ready' $W/farm.out || { fail "farm not ready: $(cat $W/farm.err)"; return 1; }
}
farm_cmd() { # CMD: print its answer
    _n=$(wc -l < $W/farm.out)
    echo "$1" >&3
    _i=0
    while [ "$(wc -l < $W/farm.out)" -le "$_n" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
    tail -n 1 $W/farm.out
}
farm_stop() {
    exec 3>&-   # stdin closed: the farm exits
    wait "$FARM_PID" 2>/dev/null; FARM_PID=
}

# ---- configurations -------------------------------------------------------
# gen_confs KIND N BASE PORT [DIGEST]: $W/ka-KIND.conf and $W/lvsd-KIND.ini
gen_confs() {
    awk -v kind="$1" -v n="$2" -v base="$3" -v port="$4" -v digest="${5:-}" -v per=$PER_VS \
        -v ka="$W/ka-$1.conf" -v lv="$W/lvsd-$1.ini" -v sock="$W/lvsd.sock" 'BEGIN {
        printf "global_defs {\n    router_id KA_BENCH\n}\n" > ka
        printf "[global]\nrouter_id = LVSD_BENCH\ncontrol_socket = %s\n\n", sock > lv
        vip_net = (kind == "tcp") ? "10.9.0" : "10.9.1"
        for (i = 0; i < n; i++) {
            v = int(i / per)
            if (i % per == 0) {
                if (i > 0) printf "}\n" > ka
                printf "virtual_server %s.%d %d {\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n", vip_net, v + 1, port > ka
                printf "[virtual_server v%d]\naddress = %s.%d\nport = %d\nprotocol = TCP\ndelay_loop = 1\nlb_algo = rr\nlb_kind = DR\n\n", v, vip_net, v + 1, port > lv
            }
            m = i + 1
            a = sprintf("%s.%d.%d", base, int(m / 256), m % 256)
            printf "    real_server %s %d {\n        weight 1\n", a, port > ka
            printf "[real_server v%d/%s:%d]\nweight = 1\n\n", v, a, port > lv
            if (kind == "tcp") {
                printf "        TCP_CHECK {\n            connect_timeout 3\n            retry 3\n            delay_before_retry 1\n        }\n    }\n" > ka
                printf "[tcp_check v%d/%s:%d]\nconnect_timeout = 3\nretry = 3\ndelay_before_retry = 1\n\n", v, a, port > lv
            } else {
                printf "        HTTP_GET {\n            url {\n                path /\n                digest %s\n            }\n            connect_timeout 3\n            retry 3\n            delay_before_retry 1\n        }\n    }\n", digest > ka
                printf "[http_get v%d/%s:%d]\nurl = path=/ digest=%s\nconnect_timeout = 3\nretry = 3\ndelay_before_retry = 1\n\n", v, a, port, digest > lv
            }
        }
        printf "}\n" > ka
    }'
}

# ---- measuring ------------------------------------------------------------
# pids of PID and its children
# family PID: PID and all its descendants
family() {
    awk '{ parent[$1] = $4 } END {
        keep[root] = 1; n = 1
        while (n) { n = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; n = 1 } }
        for (p in keep) print p }' root="$1" /proc/[0-9]*/stat 2>/dev/null | sort -n
}
ticks() { for _p in $1; do awk '{ print $14 + $15 }' /proc/$_p/stat 2>/dev/null; done | awk '{ s += $1 } END { print s + 0 }'; }
status_kb() { for _p in $1; do awk -v k="$2:" '$1 == k { print $2 }' /proc/$_p/status 2>/dev/null; done | awk '{ s += $1 } END { print s + 0 }'; }
ipvs_dests() { in_ns $NS ipvsadm -Ln | grep -c -- '->  *[0-9]' ; }
ipvs_has() { [ "$(ipvs_dests)" -ge "$1" ]; }
# gaps line "gaps n=.. min=..us p50=..us ..." -> "p50 X p99 Y max Z ms (n=N)"
gaps_ms() {
    echo "$1" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
        END { f = "%.1f"; for (k in v) sub("us$", "", v[k])
              printf "p50 " f " p99 " f " max " f " ms (n=%d)", v["p50"] / 1000, v["p99"] / 1000, v["max"] / 1000, v["n"] }'
}

# measure WHO KIND N: WHO's daemon is $CHK_PID; the farm runs. Sets RESULT.
measure() {
    _want=$(($3 + 0))
    wait_until 120 ipvs_has "$_want" ||
        fail "$1: IPVS has $(ipvs_dests) of $_want real servers after 120 s"
    sleep "$WARM"
    _pids=$(family "$CHK_PID" | tr '\n' ' ')
    farm_cmd "gaps 1000" > /dev/null
    _t0=$(now_ms); _c0=$(ticks "$_pids"); _f0=$(ticks "$FARM_PID")
    sleep "$WIN"
    _c1=$(ticks "$_pids"); _f1=$(ticks "$FARM_PID"); _t1=$(now_ms)
    _gaps=$(farm_cmd "gaps 1000")
    _rss=$(status_kb "$_pids" VmRSS) _hwm=$(status_kb "$_pids" VmHWM)
    echo "    $1 $2: processes $_pids; ticks $_c0 -> $_c1 over $((_t1 - _t0)) ms; $_gaps"
    _cpu=$(awk -v c=$((_c1 - _c0)) -v ms=$((_t1 - _t0)) 'BEGIN { printf "%.1f%%", c * 10 * 100 / ms }')
    _mib=$(awk -v a="$_rss" -v b="$_hwm" 'BEGIN { printf "rss %.1f MiB (hwm %.1f)", a / 1024, b / 1024 }')
    _fcpu=$(awk -v c=$((_f1 - _f0)) -v ms=$((_t1 - _t0)) 'BEGIN { printf "%.1f%%", c * 10 * 100 / ms }')
    RESULT="cpu $_cpu $_mib lateness $(gaps_ms "$_gaps") [farm cpu $_fcpu]"
    echo "$_gaps" | grep -q 'n=0$' && fail "$1 $2: no connection seen by the farm in the window"
}
stop_checker() {
    [ -n "$CHK_PID" ] || return 0
    kill -TERM "$CHK_PID" 2>/dev/null
    wait_until 60 sh -c "! kill -0 $CHK_PID 2>/dev/null" || kill -KILL "$CHK_PID" 2>/dev/null
    wait "$CHK_PID" 2>/dev/null; CHK_PID=
    in_ns $NS ipvsadm -C
}

# run_pair KIND N PORT BASE LABEL
run_pair() {
    kind=$1 n=$2
    step "$kind: keepalived -C, $n real servers"
    in_ns $NS ipvsadm -C
    # fd 3 (the farm's stdin) stays with this shell: the farm exits when it closes.
    nsenter --net=/run/netns/$NS -- $KA -n -l -G -C -f $W/ka-$kind.conf -p $W/ka.pid -c $W/ka-checkers.pid \
        > $W/ka-$kind.log 2>&1 3>&- &
    CHK_PID=$!
    sleep 1
    kill -0 $CHK_PID 2>/dev/null || { fail "keepalived exited: $(tail -n 20 $W/ka-$kind.log)"; CHK_PID=; return 1; }
    measure keepalived $kind $n; KA_RES=$RESULT
    echo "    keepalived log: $(wc -l < $W/ka-$kind.log) lines; last: $(tail -n 1 $W/ka-$kind.log)"
    stop_checker

    step "$kind: lvsd, $n real servers"
    nsenter --net=/run/netns/$NS -- lvsd run -c $W/lvsd-$kind.ini > $W/lvsd-$kind.log 2>&1 3>&- &
    CHK_PID=$!
    measure lvsd $kind $n; LV_RES=$RESULT
    own=$(lvsd status --socket $W/lvsd.sock 2>&1 | sed -n 's/^ *start lateness: //p')
    echo "    lvsd status: $(lvsd status --socket $W/lvsd.sock 2>&1 | grep '^health checks: .* probe(s), run')"
    stop_checker
    label=$(echo "$kind" | tr a-z A-Z); [ "$kind" = http ] && label="HTTP_GET+digest"
    [ "$kind" = tcp ] && label="TCP_CHECK"
    echo "BENCH checks_vm: $label N=$n keepalived $KA_RES"
    echo "BENCH checks_vm: $label N=$n lvsd       $LV_RES"
    echo "BENCH checks_vm: $label N=$n lvsd's own start lateness (since start, incl. warm-up): $own"
}

echo "BENCH checks_vm: under qemu TCG emulation (1 vCPU, ~10-30x slower than native); delay_loop 1 s, window ${WIN} s after ${WARM} s warm-up; cpu = % of one (emulated) core; lateness = gap between connections to one real server minus delay_loop, seen by the farm"
echo "BENCH checks_vm: $($KA --version 2>&1 | head -n 1), lvsd $(lvsd --version 2>/dev/null | head -n 1)"

step "TCP farm: $NT listeners on 127.1.0.1.. port 80"
gen_confs tcp "$NT" 127.1 80
farm_start 127.1.0.1 "$NT" 80 tcp || finish
run_pair tcp "$NT"
farm_stop

step "HTTP farm: $NH listeners on 127.2.0.1.. port 8080"
i=0; while [ $i -lt 40 ]; do echo "<p>lvsd checks_vm bench page, line $i</p>"; i=$((i + 1)); done > $W/page.html
digest=$(md5sum $W/page.html | cut -d' ' -f1)
echo "    page $(wc -c < $W/page.html) bytes, md5 $digest"
gen_confs http "$NH" 127.2 8080 "$digest"
farm_start 127.2.0.1 "$NH" 8080 http $W/page.html || finish
run_pair http "$NH"
farm_stop
finish
