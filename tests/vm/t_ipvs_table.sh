#!/bin/sh
# t_ipvs_table: lvsd programs the real kernel IPVS table (dir1's netns) from
# its config, with ipvsadm as the independent witness: create, read, update
# and delete of services (TCP, UDP, fwmark; persistence with granularity;
# several schedulers) and destinations (DR, NAT, weights, thresholds) driven
# by config + SIGHUP; `lvsd status` starts with `ipvsadm -Ln` byte for byte;
# an unchanged reload writes nothing; hand edits (ipvsadm -D/-d/-e) of owned
# entries are undone within one reconcile_interval; a foreign entry is left
# alone and reported; SIGTERM removes exactly what lvsd owns.
. /lab/lib.sh
W=/run/t_ipvs; mkdir -p $W
CONF=$W/dir1.ini SOCK=$W/dir1.sock LOG=$LAB_RUN/dir1.lvsd.log
V=$LAB_VIP R1=$LAB_RS1 R2=$LAB_RS2

# Start lvsd in dir1 directly under nsenter (which execs), so $! is lvsd.
start() {
    nsenter --net=/run/netns/dir1 -- /usr/sbin/lvsd run -c "$CONF" >>"$LOG" 2>&1 &
    LVSD_PID=$!
}
head_conf() {
    printf '[global]\nrouter_id = t_ipvs\nreconcile_interval = 1\ncontrol_socket = %s\n\n' "$SOCK"
}
vs() { # NAME then key=value pairs
    printf '[virtual_server %s]\n' "$1"; shift
    for kv; do printf '%s\n' "$kv" | sed 's/=/ = /'; done; echo
}
rs() { # VS/ADDR:PORT then key=value pairs
    printf '[real_server %s]\n' "$1"; shift
    for kv; do printf '%s\n' "$kv" | sed 's/=/ = /'; done; echo
}
# The table body (lines after ipvsadm -Ln's 3 header lines), as ipvsadm prints it.
svc() { printf '%s\n' "$*"; }
dst() { printf '  -> %-28s %-7s %-6s %-10s %-10s\n' "$1" "$2" "$3" 0 0; }
body() { in_ns dir1 ipvsadm -Ln | tail -n +4; }
table_is() { [ "$(body)" = "$1" ]; }
writes() { lvsd status --socket "$SOCK" | sed -n 's/.*reconciles [0-9]* writes \([0-9]*\) refused \([0-9]*\).*/\1 \2/p'; }
show_table() { in_ns dir1 ipvsadm -Ln | sed 's/^/    /'; }
expect_table() { # WHAT WANT: wait up to 5 s for the table body to equal WANT
    if wait_until 5 table_is "$2"; then echo "  ok: $1"; show_table; else
        fail "$1: table differs"; echo "    --- want:"; printf '%s\n' "$2" | sed 's/^/    /'
        echo "    --- got:"; show_table; fi
}
status_head_matches() {
    in_ns dir1 ipvsadm -Ln > $W/ipvsadm.out
    lvsd status --socket "$SOCK" > $W/status.out || return 1
    head -n "$(wc -l < $W/ipvsadm.out)" $W/status.out > $W/status.head
    cmp -s $W/ipvsadm.out $W/status.head
}
expect_status_head() {
    if status_head_matches; then echo "  ok: lvsd status starts with ipvsadm -Ln byte for byte"; else
        fail "lvsd status head differs from ipvsadm -Ln"
        diff $W/ipvsadm.out $W/status.head | sed 's/^/    /'; fi
}
reload() { kill -HUP "$LVSD_PID"; }

# ---- config A ---------------------------------------------------------------
conf_a() {
    head_conf
    vs web address=$V port=80 protocol=TCP lb_algo=rr lb_kind=DR
    rs "web/$R1:80" weight=1
    rs "web/$R2:80" weight=2
    vs tls address=$V port=443 protocol=TCP lb_algo=lc lb_kind=DR persistence_timeout=50
    rs "tls/$R1:443" weight=1
    vs dns address=$V port=53 protocol=UDP lb_algo=wrr lb_kind=NAT
    rs "dns/$R1:5353" weight=3 uthreshold=100 lthreshold=10
    rs "dns/$R2:5353" weight=4
    vs mark fwmark=7 lb_algo=sh lb_kind=DR persistence_timeout=300 persistence_granularity=255.255.255.0
    rs "mark/$R1" weight=1
    rs "mark/$R2" weight=1
}
want_a=$(
    svc "TCP  $V:80 rr"
    dst "$R1:80" Route 1; dst "$R2:80" Route 2
    svc "TCP  $V:443 lc persistent 50"
    dst "$R1:443" Route 1
    svc "UDP  $V:53 wrr"
    dst "$R1:5353" Masq 3; dst "$R2:5353" Masq 4
    svc "FWM  7 sh persistent 300 mask 255.255.255.0"
    dst "$R1:0" Route 1; dst "$R2:0" Route 1
)

step "create: lvsd builds the configured table (TCP, UDP, fwmark, persistence, DR/NAT)"
in_ns dir1 ipvsadm -Ln | grep -q '^[TUF]' && fail "dir1 table not empty at start"
conf_a > $CONF
lvsd check -c $CONF > $W/check.out 2>&1 || { fail "lvsd check rejected the config"; sed 's/^/    /' $W/check.out; }
t0=$(now_ms)
start
expect_table "table A" "$want_a"
echo "    converged within $(elapsed_ms $t0) ms of start"
expect_ok "lvsd is running" kill -0 "$LVSD_PID"
wait_until 3 grep -q 'IPVS table verified by a second dump' "$LOG" && echo "  ok: start verified by a second dump" ||
    fail "no verification after the start's writes"

step "read: lvsd status begins with ipvsadm -Ln, byte for byte"
wait_until 5 test -S "$SOCK" || fail "no control socket $SOCK"
expect_status_head
sed 's/^/    /' $W/status.out

step "thresholds reach the kernel"
th=$(in_ns dir1 ipvsadm -Ln --thresholds -u "$V:53")
echo "$th" | sed 's/^/    /'
expect_match "rs1:5353 thresholds 100/10" "$th" "$R1:5353 +100 +10 "
expect_match "rs2:5353 no thresholds" "$th" "$R2:5353 +0 +0 "

step "unchanged reload (SIGHUP): no netlink write"
w0=$(writes); reload; sleep 1.5; w1=$(writes)
expect_eq "writes/refused before and after" "$w1" "$w0"
expect_match "reload logged unchanged" "$(cat $LOG)" "reload: .* unchanged"

# ---- config B: update ---------------------------------------------------------
conf_b() {
    head_conf
    vs web address=$V port=80 protocol=TCP lb_algo=wlc lb_kind=DR
    rs "web/$R1:80" weight=1
    rs "web/$R2:80" weight=5 uthreshold=7
    vs tls address=$V port=443 protocol=TCP lb_algo=lc lb_kind=DR persistence_timeout=120 persistence_granularity=16
    rs "tls/$R1:443" weight=1
    rs "tls/$R2:443" weight=1
    vs mark fwmark=7 lb_algo=mh lb_kind=DR
    rs "mark/$R2" weight=9
    vs dns6 address=$V port=53 protocol=TCP lb_algo=nq lb_kind=NAT
    rs "dns6/$R2:53" weight=1
    vs v6 address=fd00::100 port=80 protocol=TCP lb_algo=sed lb_kind=DR persistence_timeout=10 persistence_granularity=64
    rs "v6/[fd00::11]:80" weight=2
    rs "v6/[fd00::9]:80" weight=1
}
want_b=$(
    svc "TCP  $V:53 nq"
    dst "$R2:53" Masq 1
    svc "TCP  $V:80 wlc"
    dst "$R1:80" Route 1; dst "$R2:80" Route 5
    svc "TCP  $V:443 lc persistent 120 mask 255.255.0.0"
    dst "$R1:443" Route 1; dst "$R2:443" Route 1
    svc "TCP  [fd00::100]:80 sed persistent 10 mask 64"
    dst "[fd00::9]:80" Route 1; dst "[fd00::11]:80" Route 2
    svc "FWM  7 mh"
    dst "$R2:0" Route 9
)
step "update: scheduler, weight, threshold, persistence, dests added/removed, service added/removed (SIGHUP)"
conf_b > $CONF
lvsd check -c $CONF > $W/check.out 2>&1 || { fail "lvsd check rejected config B"; sed 's/^/    /' $W/check.out; }
w0=$(writes); reload
expect_table "table B" "$want_b"
w1=$(writes)
echo "    writes for A -> B: $(( ${w1% *} - ${w0% *} ))"
expect_status_head
expect_match "rs2:80 upper threshold 7" "$(in_ns dir1 ipvsadm -Ln --thresholds -t "$V:80")" "$R2:80 +7 +0 "
expect_match "lvsd still running" "$(kill -0 $LVSD_PID && echo yes)" yes

# ---- reconcile against hand edits ----------------------------------------------
step "reconcile: ipvsadm -d of an owned dest is undone within reconcile_interval (1 s)"
in_ns dir1 ipvsadm -d -t "$V:80" -r "$R2:80"
t0=$(now_ms)
if wait_until 3 table_is "$want_b"; then echo "  ok: restored after $(elapsed_ms $t0) ms"; else fail "dest not restored"; show_table; fi

step "reconcile: ipvsadm -e of an owned dest (weight) is undone"
in_ns dir1 ipvsadm -e -t "$V:80" -r "$R1:80" -g -w 33
t0=$(now_ms)
if wait_until 3 table_is "$want_b"; then echo "  ok: restored after $(elapsed_ms $t0) ms"; else fail "weight not restored"; show_table; fi

step "reconcile: ipvsadm -E of an owned service (scheduler) is undone"
in_ns dir1 ipvsadm -E -t "$V:80" -s rr
t0=$(now_ms)
if wait_until 3 table_is "$want_b"; then echo "  ok: restored after $(elapsed_ms $t0) ms"; else fail "service not restored"; show_table; fi

step "reconcile: ipvsadm -D of an owned service is undone (with its dests)"
in_ns dir1 ipvsadm -D -t "$V:443"
t0=$(now_ms)
if wait_until 3 table_is "$want_b"; then echo "  ok: restored after $(elapsed_ms $t0) ms"; else fail "service not restored"; show_table; fi

step "foreign entries (added by hand) are left alone and reported"
in_ns dir1 ipvsadm -A -u "$V:99" -s dh
in_ns dir1 ipvsadm -a -u "$V:99" -r "$R1:99" -m -w 2
in_ns dir1 ipvsadm -a -t "$V:80" -r "10.0.0.13:80" -g -w 1
in_ns dir1 ipvsadm -A -t "$V:8080" -s sh -b sh-fallback,sh-port
in_ns dir1 ipvsadm -A -u "$V:5060" -s rr -o
in_ns dir1 ipvsadm -A -f 9 -s wrr -p 30 -M 255.255.255.252
sleep 2.5
tab=$(body)
expect_match "foreign service kept" "$tab" "^UDP  $V:99 dh"
expect_match "foreign dest in an owned service kept" "$tab" "10.0.0.13:80 +Route +1 "
expect_match "foreign sh service with flags kept" "$tab" "^TCP  $V:8080 sh \\(sh-fallback,sh-port\\)"
expect_match "foreign ops service kept" "$tab" "^UDP  $V:5060 rr ops"
expect_match "foreign fwmark service kept" "$tab" "^FWM  9 wrr persistent 30 mask 255.255.255.252"
st=$(lvsd status --socket "$SOCK")
printf '%s\n' "$st" | sed 's/^/    /'
expect_match "status reports the foreign service" "$st" "not owned by lvsd.*service UDP $V:99"
expect_match "status reports the foreign dest" "$st" "not owned by lvsd.*10.0.0.13:80"
expect_status_head
w0=$(writes); sleep 2.2; w1=$(writes)
expect_eq "steady state with foreign entries: no writes" "$w1" "$w0"

# ---- config C: delete -----------------------------------------------------------
conf_c() {
    head_conf
    vs web address=$V port=80 protocol=TCP lb_algo=wlc lb_kind=DR
    rs "web/$R1:80" weight=1
}
step "delete: services and dests removed from the config go away; foreign stays"
conf_c > $CONF; reload
want_c=$(
    svc "TCP  $V:80 wlc"
    dst "$R1:80" Route 1; dst "10.0.0.13:80" Route 1
    svc "TCP  $V:8080 sh (sh-fallback,sh-port)"
    svc "UDP  $V:99 dh"
    dst "$R1:99" Masq 2
    svc "UDP  $V:5060 rr ops"
    svc "FWM  9 wrr persistent 30 mask 255.255.255.252"
)
expect_table "table C" "$want_c"

step "SIGTERM: lvsd removes what it owns, leaves the foreign entries"
kill -TERM "$LVSD_PID"
wait_until 5 sh -c "! kill -0 $LVSD_PID" || fail "lvsd did not exit"
tab=$(body)
show_table
want_end=$(
    svc "TCP  $V:80 wlc"
    dst "10.0.0.13:80" Route 1
    svc "TCP  $V:8080 sh (sh-fallback,sh-port)"
    svc "UDP  $V:99 dh"
    dst "$R1:99" Masq 2
    svc "UDP  $V:5060 rr ops"
    svc "FWM  9 wrr persistent 30 mask 255.255.255.252"
)
# The owned service keeps living because a foreign dest is in it.
expect_eq "only foreign entries remain" "$tab" "$want_end"
expect_match "removal logged" "$(cat $LOG)" "IPVS: removed"
for svc in "-u $V:99" "-t $V:80" "-t $V:8080" "-u $V:5060" "-f 9"; do in_ns dir1 ipvsadm -D $svc; done
finish
