#!/bin/sh
# t_seed_scenario.sh: SEED.md's two-director LVS-DR cluster on lvsd alone,
# step by step (issue: the article's cluster, end to end). Article parameters:
# VRID 51, priorities 100/90, advert_int 1, PASS 1111, rr, DR, delay_loop 6,
# TCP_CHECK connect_timeout 3 retry 3 delay_before_retry 3 connect_port 80,
# IPVS connection sync on the heartbeat link. Figures are printed as
# "figure: ..." lines.
. /lab/lib.sh

ECHO_PORT=8080

# seed_conf NS STATE PRIO CHECK [INSTANCE_EXTRA]: the director's INI.
# CHECK: tcp (the article's TCP_CHECK), http DIGEST1 DIGEST2, misc SCRIPT.
seed_conf() {
    _ns=$1 _state=$2 _prio=$3 _check=$4; shift 4
    _f=$LAB_RUN/$_ns.ini
    {
        echo "[global]"; echo "router_id = LVS_$_ns"
        echo "control_socket = $LAB_RUN/$_ns.sock"; echo
        echo "[vrrp_instance VI_1]"
        echo "state = $_state"; echo "interface = eth0"
        [ -n "${NO_SYNC:-}" ] || echo "lvs_sync_daemon_interface = eth1"
        echo "virtual_router_id = 51"; echo "priority = $_prio"; echo "advert_int = 1"
        echo "auth_type = PASS"; echo "auth_pass = 1111"; echo "virtual_ipaddress = $LAB_VIP"
        [ -n "${INSTANCE_EXTRA:-}" ] && echo "$INSTANCE_EXTRA"
        echo
        echo "[virtual_server web]"
        echo "address = $LAB_VIP"; echo "port = 80"; echo "protocol = TCP"
        echo "delay_loop = 6"; echo "lb_algo = rr"; echo "lb_kind = DR"
        for _rs in $LAB_RS1 $LAB_RS2; do
            _w=1; [ "$_rs" = "$LAB_RS2" ] && _w=${RS2_WEIGHT:-1}
            echo; echo "[real_server web/$_rs:80]"; echo "weight = $_w"
            case $_check in
            tcp)
                echo; echo "[tcp_check web/$_rs:80]"
                echo "connect_timeout = 3"; echo "retry = 3"; echo "delay_before_retry = 3"; echo "connect_port = 80" ;;
            http)
                _d=$HTTP_DIGEST1; [ "$_rs" = "$LAB_RS2" ] && _d=$HTTP_DIGEST2
                echo; echo "[http_get web/$_rs:80]"
                echo "url = path=/ digest=$_d status_code=200"
                echo "connect_timeout = 2"; echo "retry = 1"; echo "delay_before_retry = 1"; echo "delay_loop = 2" ;;
            misc)
                echo; echo "[misc_check web/$_rs:80]"
                echo "misc_path = \"$MISC_SCRIPT $_rs\""; echo "misc_timeout = 3"; echo "misc_dynamic = yes"
                echo "delay_loop = 2"; echo "warmup = 0" ;;
            esac
        done
        echo
        echo "[virtual_server echo]"
        echo "address = $LAB_VIP"; echo "port = $ECHO_PORT"; echo "protocol = TCP"
        echo "delay_loop = 6"; echo "lb_algo = rr"; echo "lb_kind = DR"
        for _rs in $LAB_RS1 ${ECHO_RS2:-}; do
            echo; echo "[real_server echo/$_rs:$ECHO_PORT]"; echo "weight = 1"
            echo; echo "[tcp_check echo/$_rs:$ECHO_PORT]"; echo "connect_timeout = 3"
        done
    } > "$_f"
    echo "$_f"
}

in_table() { in_ns "$1" ipvsadm -Ln | grep -q -- "-> $2 "; }
table_weight() { in_ns "$1" ipvsadm -Ln | awk -v rs="$2" '$2 == rs { print $4 }' | head -n 1; }
lvsd_pid() { cat "$LAB_RUN/$1.lvsd.pid" 2>/dev/null; }
dir_table_empty() { [ -z "$(in_ns "$1" ipvsadm -Ln | sed -n '4,$p')" ]; }
figure() { echo "figure: $*"; say "$*"; }

# Echo servers for the long-lived connection (DR: they answer for the VIP on lo).
for rs in rs1 rs2; do
    nsenter --net="/run/netns/$rs" -- nc -ll -p $ECHO_PORT -e /bin/cat >/dev/null 2>&1 &
    echo $! > "$LAB_RUN/$rs/echo.pid"
done

step "1. real servers prepared with lvsd realserver; the master holds the VIP; lvsd status is ipvsadm -Ln"
for rs in rs1 rs2; do expect_ok "$rs: lvsd realserver up" rs_lvsd $rs up; done
expect_match "rs1 lo holds the VIP" "$(in_ns rs1 ip -4 addr show dev lo)" " $LAB_VIP/32"
expect_eq "rs1 arp_ignore on eth0" "$(in_ns rs1 cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)" 1
c1=$(seed_conf dir1 MASTER 100 tcp); c2=$(seed_conf dir2 BACKUP 90 tcp)
t0=$(now_ms)
lvsd_start dir1 "$c1"; lvsd_start dir2 "$c2"
wait_until 10 has_vip dir1 || fail "dir1 did not take the VIP"
figure "lvsd start to VIP held on the master: $(elapsed_ms "$t0") ms (state MASTER waits 1 advert + skew)"
wait_until 5 in_table dir1 "$LAB_RS2:80" || fail "dir1's IPVS table lacks the real servers"
has_vip dir2 && fail "split brain: dir2 holds the VIP too"
status=$(lvsd_status dir1)
table=$(printf '%s\n' "$status" | sed '/^$/,$d')
expect_eq "lvsd status table = ipvsadm -Ln" "$table" "$(in_ns dir1 ipvsadm -Ln)"
expect_match "VIP:80 with rr" "$table" "^TCP  $LAB_VIP:80 rr"
expect_match "rs1 Route weight 1" "$table" "-> $LAB_RS1:80 +Route +1 "
expect_match "rs2 Route weight 1" "$table" "-> $LAB_RS2:80 +Route +1 "
expect_match "VIP is /32 on eth0" "$(in_ns dir1 ip -4 addr show dev eth0)" "inet $LAB_VIP/32"
figure "lvsd RSS on the master: $(awk '/VmRSS/ {print $2, $3}' "/proc/$(lvsd_pid dir1)/status")"

step "2. six client requests alternate between the real servers"
answers=$(client_requests 6 | tr '\n' ' ')
case $answers in
    "rs1 rs2 rs1 rs2 rs1 rs2 "|"rs2 rs1 rs2 rs1 rs2 rs1 ") echo "  ok: $answers" ;;
    *) fail "answers do not alternate: $answers" ;;
esac

step "3. a stopped httpd leaves the table after about 9 s and returns within about 3 s"
rs_stop rs1; t0=$(now_ms)
wait_until 30 eval '! in_table dir1 "$LAB_RS1:80"' || fail "rs1 was not removed within 30 s"
removal=$(elapsed_ms "$t0")
figure "removal of a stopped real server: $removal ms (semantics: 9000..15000 ms after the stop; the article: about 9 s)"
[ "$removal" -ge 8500 ] && [ "$removal" -le 17000 ] || fail "removal took $removal ms, outside 8.5..17 s"
expect_match "status says DEAD with the reason" "$(lvsd_status dir1)" "$LAB_RS1:80 +DEAD .*TCP_CHECK"
answers=$(client_requests 4 | tr '\n' ' ')
expect_eq "all traffic goes to rs2" "$answers" "rs2 rs2 rs2 rs2 "
rs_start rs1; t0=$(now_ms)
wait_until 15 in_table dir1 "$LAB_RS1:80" || fail "rs1 was not re-added within 15 s"
readd=$(elapsed_ms "$t0")
figure "re-add of a restarted real server: $readd ms (semantics: <= 3000 ms in a retry burst, <= 6000 ms worst; the article: about 3 s)"
[ "$readd" -le 7500 ] || fail "re-add took $readd ms, more than 7.5 s"

step "4. HTTP_GET with the digest from lvsd genhash; a changed page takes the server out"
HTTP_DIGEST1=$(in_ns dir1 lvsd genhash -s "$LAB_RS1" -p 80 -u / | sed -n 's/^MD5SUM = //p')
HTTP_DIGEST2=$(in_ns dir1 lvsd genhash -s "$LAB_RS2" -p 80 -u / | sed -n 's/^MD5SUM = //p')
expect_eq "genhash = md5sum of rs1's page" "$HTTP_DIGEST1" "$(md5sum < "$LAB_RUN/rs1/www/index.html" | cut -d' ' -f1)"
c1=$(seed_conf dir1 MASTER 100 http)
kill -HUP "$(lvsd_pid dir1)"
sleep 3
expect_ok "both servers in the table under HTTP_GET" in_table dir1 "$LAB_RS1:80"
cp "$LAB_RUN/rs1/www/index.html" "$LAB_RUN/rs1/index.orig"
echo "rs1 defaced" > "$LAB_RUN/rs1/www/index.html"; t0=$(now_ms)
wait_until 15 eval '! in_table dir1 "$LAB_RS1:80"' || fail "rs1 with a changed page stayed in the table"
figure "removal after a digest mismatch (delay_loop 2, retry 1): $(elapsed_ms "$t0") ms"
expect_match "status names the digest" "$(lvsd_status dir1)" "$LAB_RS1:80 +DEAD .*HTTP_GET.*digest"
cp "$LAB_RUN/rs1/index.orig" "$LAB_RUN/rs1/www/index.html"
wait_until 10 in_table dir1 "$LAB_RS1:80" || fail "rs1 did not come back with its page restored"

step "5. MISC_CHECK with misc_dynamic: exit 200 sets weight 198"
MISC_SCRIPT=$LAB_RUN/misc.sh
printf '#!/bin/sh\n# $1 is the real server address\nexit 200\n' > "$MISC_SCRIPT"; chmod +x "$MISC_SCRIPT"
c1=$(seed_conf dir1 MASTER 100 misc)
kill -HUP "$(lvsd_pid dir1)"
wait_until 10 eval '[ "$(table_weight dir1 "$LAB_RS1:80")" = 198 ]' ||
    fail "rs1 weight is '$(table_weight dir1 "$LAB_RS1:80")', want 198"
expect_eq "rs2 weight from the same script" "$(table_weight dir1 "$LAB_RS2:80")" 198
c1=$(seed_conf dir1 MASTER 100 tcp)
kill -HUP "$(lvsd_pid dir1)"
wait_until 10 eval '[ "$(table_weight dir1 "$LAB_RS1:80")" = 1 ]' || fail "weights did not return to 1 after reload"

step "6. failover on SIGKILL: the backup takes over; a long-lived connection survives via connection sync"
(printf 'one\n'; sleep 7; printf 'two\n'; sleep 2) | in_ns client timeout 14 nc "$LAB_VIP" $ECHO_PORT > "$LAB_RUN/long.out" 2>&1 &
ll=$!
wait_until 5 grep -q one "$LAB_RUN/long.out" || fail "the long-lived connection got no echo"
wait_until 5 eval 'in_ns dir2 ipvsadm -Lnc | grep -q ":$ECHO_PORT"' ||
    fail "no synced connection entry on dir2 (ipvsadm -Lnc): $(in_ns dir2 ipvsadm -Lnc | tail -n 3)"
lvsd_stop dir1 KILL; t0=$(now_ms)
# A killed box keeps nothing: drop its VIP and table as a power cut would.
in_ns dir1 ip addr del "$LAB_VIP/32" dev eth0 2>/dev/null
served=0 lost=0
while ! has_vip dir2 && [ "$(elapsed_ms "$t0")" -lt 10000 ]; do
    if http_get client "http://$LAB_VIP/" >/dev/null; then served=$((served + 1)); else lost=$((lost + 1)); fi
done
takeover=$(elapsed_ms "$t0")
has_vip dir2 || fail "dir2 did not take the VIP within 10 s"
figure "takeover after SIGKILL: $takeover ms (bound: 3 x 1 s + skew 0.65 s = 3650 ms after the last advert)"
answers=$(client_requests 4 | tr '\n' ' ')
expect_match "client served by the new master" "$answers" "^(rs[12] ){4}$"
figure "client requests during the SIGKILL takeover (with connection sync): $served served, $lost failed"
wait "$ll"
expect_match "long-lived connection still echoes after the failover" "$(cat "$LAB_RUN/long.out")" "two"

step "7. preemption: the master comes back and takes over again"
in_ns dir1 ipvsadm -C # the power-cut box comes back with an empty table
lvsd_start dir1 "$c1"; t0=$(now_ms)
wait_until 10 has_vip dir1 || fail "dir1 did not preempt"
wait_until 5 eval '! has_vip dir2' || fail "dir2 kept the VIP after preemption"
figure "preemption back to the priority-100 director: $(elapsed_ms "$t0") ms"
wait_until 5 in_table dir1 "$LAB_RS1:80" || fail "dir1's table was not rebuilt"
answers=$(client_requests 4 | tr '\n' ' ')
expect_match "client served after preemption" "$answers" "^(rs[12] ){4}$"

step "8. reload: a weight change and an added real server converge; a broken config is rejected"
before=$(lvsd_status dir1 | sed -n 's/.* writes \([0-9]*\) .*/\1/p')
RS2_WEIGHT=3 ECHO_RS2=$LAB_RS2 seed_conf dir1 MASTER 100 tcp >/dev/null
kill -HUP "$(lvsd_pid dir1)"
wait_until 5 eval '[ "$(table_weight dir1 "$LAB_RS2:80")" = 3 ]' || fail "rs2 weight did not become 3"
wait_until 5 in_table dir1 "$LAB_RS2:$ECHO_PORT" || fail "the added real server did not appear"
after=$(lvsd_status dir1 | sed -n 's/.* writes \([0-9]*\) .*/\1/p')
expect_eq "exactly two writes (SetDest, NewDest); nothing else touched" "$((after - before))" 2
kill -HUP "$(lvsd_pid dir1)"; sleep 1
expect_eq "an unchanged reload writes nothing" "$(lvsd_status dir1 | sed -n 's/.* writes \([0-9]*\) .*/\1/p')" "$after"
echo "[virtual_server broken" >> "$LAB_RUN/dir1.ini"
kill -HUP "$(lvsd_pid dir1)"; sleep 1
expect_match "the broken config is rejected with its line" "$(cat "$LAB_RUN/dir1.lvsd.log")" "reload rejected.*dir1.ini:[0-9]+"
expect_match "status counts the rejection" "$(lvsd_status dir1)" "rejected 1\)"
answers=$(client_requests 4 | tr '\n' ' ')
expect_match "still serving" "$answers" "^(rs[12] ){4}$"

step "9. clean stop: no VIP and no IPVS entries left; the backup takes over within the skew time"
t0=$(now_ms)
lvsd_stop dir1 TERM
wait_until 5 has_vip dir2 || fail "dir2 did not take over after SIGTERM"
figure "takeover after a clean stop (priority 0): $(elapsed_ms "$t0") ms (bound: skew (256-90)/256 s = 648 ms)"
wait_until 5 eval '! has_vip dir1' || fail "dir1 left its VIP behind"
wait_until 5 dir_table_empty dir1 || fail "dir1 left IPVS entries behind: $(in_ns dir1 ipvsadm -Ln)"
answers=$(client_requests 4 | tr '\n' ' ')
expect_match "client served by dir2" "$answers" "^(rs[12] ){4}$"

step "10. nopreempt (both BACKUP): the returning higher priority does not take over; lost requests without sync"
lvsd_stop dir2 TERM; sleep 1
NO_SYNC=1 INSTANCE_EXTRA="nopreempt" seed_conf dir1 BACKUP 100 tcp >/dev/null
NO_SYNC=1 INSTANCE_EXTRA="nopreempt" seed_conf dir2 BACKUP 90 tcp >/dev/null
lvsd_start dir2 "$LAB_RUN/dir2.ini"
wait_until 10 has_vip dir2 || fail "dir2 alone did not become master"
lvsd_start dir1 "$LAB_RUN/dir1.ini"
sleep 6
has_vip dir1 && fail "dir1 took the VIP despite nopreempt"
expect_ok "dir2 keeps the VIP" has_vip dir2
lvsd_stop dir2 KILL; t0=$(now_ms)
in_ns dir2 ip addr del "$LAB_VIP/32" dev eth0 2>/dev/null
served=0 lost=0
while ! has_vip dir1 && [ "$(elapsed_ms "$t0")" -lt 10000 ]; do
    if http_get client "http://$LAB_VIP/" >/dev/null; then served=$((served + 1)); else lost=$((lost + 1)); fi
done
has_vip dir1 || fail "dir1 did not take over from the killed dir2"
figure "client requests during the SIGKILL takeover (no connection sync): $served served, $lost failed"
lvsd_stop dir1 TERM

for rs in rs1 rs2; do kill "$(cat "$LAB_RUN/$rs/echo.pid")" 2>/dev/null; rs_lvsd $rs down >/dev/null 2>&1; done
finish
