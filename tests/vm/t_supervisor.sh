#!/bin/sh
# t_supervisor: the image's lvsd supervisor (/sbin/lvsd-supervise) reports a
# rejected config once and does not crash-loop; restarts a dying lvsd with
# growing backoff and says why it died (exit code / signal); stops lvsd on
# SIGTERM. Driven with a fake lvsd so it does not depend on lvsd's progress;
# the real binary is checked to execute.
. /lab/lib.sh
W=/run/t_sup; mkdir -p $W
fake() { # fake lvsd: $1 = what "check" does, $2 = what "run" does
    printf '#!/bin/sh\ncase $1 in check) %s ;; run) %s ;; esac\n' "$1" "$2" > $W/lvsd
    chmod +x $W/lvsd
}
sup() { # run the supervisor with the fake for SECS seconds, output in $W/out
    rm -rf $W/run; : > $W/out
    LVSD=$W/lvsd LVSD_CONF=/etc/lvsd/lvsd.ini LVSD_RUN_DIR=$W/run /sbin/lvsd-supervise > $W/out 2>&1 &
    sp=$!; sleep "$1"
    kill -0 $sp 2>/dev/null && alive=yes || alive=no
    kill -TERM $sp 2>/dev/null; sleep 0.3; kill -KILL $sp 2>/dev/null
    sed 's/^/    /' $W/out
}

step "the real lvsd binary executes"
/usr/sbin/lvsd check -c /etc/lvsd/lvsd.ini > $W/real.out 2>&1; rc=$?
echo "    lvsd check -c /etc/lvsd/lvsd.ini -> exit $rc: $(head -c 300 $W/real.out)"
[ $rc -lt 126 ] || fail "lvsd did not execute (exit $rc)"

step "bad config: one clear message, lvsd not started, no crash loop"
fake 'echo "lvsd.ini:14: [vrrp_instance VI_1] virtual_router_id = 300: must be 1..=255" >&2; exit 2' 'echo started; exit 0'
sup 2
out=$(cat $W/out)
expect_match "rejection reported" "$out" 'CONFIG REJECTED: lvsd check -c /etc/lvsd/lvsd.ini exited 2'
expect_match "lvsd's reason shown" "$out" 'lvsd\| lvsd.ini:14: .*virtual_router_id'
expect_eq "lvsd run never started" "$(grep -c 'starting lvsd' $W/out)" "0"
expect_eq "supervisor waits (alive)" "$alive" "yes"

step "lvsd exiting with an error is restarted with growing backoff"
fake 'exit 0' 'echo "boom"; exit 3'
sup 4.5
out=$(cat $W/out)
expect_match "exit code logged" "$out" 'lvsd exited with code 3 after 0s; restarting in 1s'
expect_match "backoff grows" "$out" 'restarting in 2s'
expect_match "lvsd output is prefixed" "$out" 'lvsd\| boom'
n=$(grep -c 'starting lvsd' $W/out)
[ "$n" -ge 2 ] && [ "$n" -le 4 ] && echo "  ok: $n starts in 4.5 s" || fail "expected 2..4 starts in 4.5 s, got $n"

step "lvsd killed by a signal: the signal is named"
fake 'exit 0' 'kill -KILL $$'
sup 1.5
expect_match "signal logged" "$(cat $W/out)" 'lvsd killed by signal KILL'

step "SIGTERM to the supervisor stops lvsd"
fake 'exit 0' 'echo $$ > '$W'/child.pid; exec sleep 600'
sup 1.5
expect_match "stop logged" "$(cat $W/out)" 'stopping lvsd'
sleep 0.3
expect_fail "lvsd child is gone" kill -0 "$(cat $W/child.pid)"
finish
