#!/bin/sh
# tests/vm/lib.sh: shell library for guest-side VM lab scripts (busybox ash).
# Sourced by the lab driver and by every test script inside the VM:
#   . /lab/lib.sh
# Lab layout (names, addresses) comes from /etc/board.conf (board qemu-x86_64).
#
#   in_ns NAME cmd...         run cmd in the lab netns NAME (dir1 dir2 rs1 rs2 client)
#   step "name"               start a named step (closes the previous one)
#   expect_eq WHAT GOT WANT   fail the current step unless GOT = WANT
#   expect_match WHAT TEXT RE fail the current step unless TEXT matches the ERE RE
#   expect_ok WHAT cmd...     fail the current step unless cmd exits 0
#   expect_fail WHAT cmd...   fail the current step unless cmd exits non-zero
#   fail WHAT                 fail the current step with a reason
#   finish                    close the last step; exit 1 if any step failed
#   now_ms / elapsed_ms T0    monotonic milliseconds (from /proc/uptime)
#   wait_until SECS cmd...    poll cmd every 0.1 s until it succeeds (or time out)
#   http_get NS URL           body of URL fetched from netns NS (2 s timeout)
#   rs_stop NAME / rs_start NAME   stop/start a real server's httpd
#   lab_dump                  print the lab state (used on failure)
# Output markers (parsed by tests/vm/run.sh):
#   @@STEP BEGIN <name> / @@STEP PASS <name> / @@STEP FAIL <name> / @@FAIL <why>
export PATH=/opt/lab/bin:/usr/sbin:/usr/bin:/sbin:/bin
. /etc/board.conf
LAB_RUN=/run/lab
LAB_NAMESPACES="dir1 dir2 rs1 rs2 client"

# busybox ash runs its own applets before $PATH (Debian's busybox-static is
# built that way), so the lab's full tools are called by absolute path.
ip() { /opt/lab/bin/ip "$@"; }
in_ns() {
    _ns=$1; shift
    [ -e "/run/netns/$_ns" ] || { echo "in_ns: no lab netns '$_ns'" >&2; return 127; }
    _cmd=$1; shift
    [ -x "/opt/lab/bin/$_cmd" ] && _cmd=/opt/lab/bin/$_cmd
    nsenter --net="/run/netns/$_ns" -- "$_cmd" "$@"
}

_STEP= _STEP_FAILED=0 _FAILED_STEPS=0
_close_step() {
    [ -n "$_STEP" ] || return 0
    if [ "$_STEP_FAILED" = 0 ]; then echo "@@STEP PASS $_STEP"; else
        echo "@@STEP FAIL $_STEP"; _FAILED_STEPS=$((_FAILED_STEPS + 1)); fi
    _STEP= _STEP_FAILED=0
}
step() { _close_step; _STEP="$*"; echo "@@STEP BEGIN $_STEP"; }
fail() { [ -n "$_STEP" ] || step "(unnamed)"; _STEP_FAILED=1; echo "@@FAIL $*"; return 1; }
expect_eq() {
    if [ "$2" = "$3" ]; then echo "  ok: $1 = '$3'"; else fail "$1: got '$2', want '$3'"; fi
}
expect_match() {
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then echo "  ok: $1 matches /$3/"; else
        fail "$1: '$(printf '%s' "$2" | head -c 600)' does not match /$3/"; fi
}
expect_ok() {
    _what=$1; shift
    if _out=$("$@" 2>&1); then echo "  ok: $_what"; else fail "$_what: '$*' exited $?: $(printf '%s' "$_out" | head -c 600)"; fi
}
expect_fail() {
    _what=$1; shift
    if _out=$("$@" 2>&1); then fail "$_what: '$*' succeeded, expected failure: $(printf '%s' "$_out" | head -c 300)"; else echo "  ok: $_what (failed as expected)"; fi
}
finish() { _close_step; [ "$_FAILED_STEPS" = 0 ] || { echo "@@FAILED_STEPS $_FAILED_STEPS"; exit 1; }; exit 0; }

now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
elapsed_ms() { echo $(( $(now_ms) - $1 )); }
wait_until() {
    _deadline=$(( $(now_ms) + $1 * 1000 )); shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -ge "$_deadline" ] && return 1
        sleep 0.1
    done
}

# HTTP/1.0 GET with nc (Debian's static busybox wget segfaults on a refused
# connection). Prints the body; exits non-zero unless the status is 200.
http_get() {
    _hp=${2#http://}; _host=${_hp%%/*}; _path=/${_hp#*/}; [ "$_hp" = "$_host" ] && _path=/
    _port=80; case $_host in *:*) _port=${_host#*:}; _host=${_host%%:*};; esac
    _resp=$(printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$_path" "$_host" |
        in_ns "$1" timeout 3 nc -w 2 "$_host" "$_port" 2>&1 | tr -d '\r')
    printf '%s\n' "$_resp" | sed '1,/^$/d'
    printf '%s\n' "$_resp" | head -n 1 | grep -q '^HTTP/1\.[01] 200 '
}

rs_addr() { case $1 in rs1) echo "$LAB_RS1";; rs2) echo "$LAB_RS2";; esac; }
rs_start() {
    # All addresses: in DR mode requests arrive for the VIP (held on lo).
    # nsenter execs httpd, so the pid file names httpd itself (rs_stop kills it).
    nsenter --net="/run/netns/$1" -- httpd -f -v -p 80 -h "$LAB_RUN/$1/www" >>"$LAB_RUN/$1/httpd.log" 2>&1 &
    echo $! > "$LAB_RUN/$1/httpd.pid"
    wait_until 5 http_get "$1" "http://$(rs_addr "$1")/"
}
rs_stop() {
    [ -f "$LAB_RUN/$1/httpd.pid" ] && kill "$(cat "$LAB_RUN/$1/httpd.pid")" 2>/dev/null
    rm -f "$LAB_RUN/$1/httpd.pid"
}

lab_dump() {
    echo "---- lab state at uptime $(cut -d' ' -f1 /proc/uptime)s ----"
    for ns in $LAB_NAMESPACES; do
        echo "== netns $ns"
        in_ns "$ns" ip -br addr 2>&1
        in_ns "$ns" ip route 2>&1
        in_ns "$ns" ip neigh 2>&1
        case $ns in dir*) in_ns "$ns" ipvsadm -Ln 2>&1;; esac
    done
    for rs in rs1 rs2; do echo "== $rs httpd log (tail)"; tail -n 5 "$LAB_RUN/$rs/httpd.log" 2>/dev/null; done
    for f in /run/lvsd/*.log "$LAB_RUN"/*.log; do [ -f "$f" ] && { echo "== $f (tail)"; tail -n 80 "$f"; }; done
    echo "== dmesg (tail)"; dmesg | tail -n 15
    echo "---- end of lab state ----"
}

# ---- helpers for lvsd in the lab (directors dir1/dir2) ----------------------
say() { echo "@@SAY $*"; }            # a plain-words line for the demo

# lab_conf NS STATE PRIORITY: write /run/lab/NS.ini, SEED.md's director config
# with the lab's addresses (schema after docs/examples/seed-master.ini).
lab_conf() {
    _f=$LAB_RUN/$1.ini
    {
        echo "[global]"; echo "router_id = LVS_$1"
        # All lab namespaces share the VM's /run: one control socket each.
        echo "control_socket = $LAB_RUN/$1.sock"; echo
        echo "[vrrp_instance VI_1]"
        echo "state = $2"; echo "interface = eth0"; echo "lvs_sync_daemon_interface = eth1"
        echo "virtual_router_id = 51"; echo "priority = $3"; echo "advert_int = 1"
        echo "auth_type = PASS"; echo "auth_pass = 1111"; echo "virtual_ipaddress = $LAB_VIP"; echo
        echo "[virtual_server web]"
        echo "address = $LAB_VIP"; echo "port = 80"; echo "protocol = TCP"
        echo "delay_loop = 6"; echo "lb_algo = rr"; echo "lb_kind = DR"
        for _rs in $LAB_RS1 $LAB_RS2; do
            echo; echo "[real_server web/$_rs:80]"; echo "weight = 1"
            echo; echo "[tcp_check web/$_rs:80]"
            echo "connect_timeout = 3"; echo "retry = 3"; echo "delay_before_retry = 3"; echo "connect_port = 80"
        done
    } > "$_f"
    echo "$_f"
}
# lvsd_start NS CONF: run lvsd in the director's netns; log in /run/lab/NS.lvsd.log
# nsenter execs lvsd (no wrapper shell), so the pid file names lvsd itself
# and a signal sent to it reaches the daemon.
lvsd_start() {
    nsenter --net="/run/netns/$1" -- lvsd run -c "$2" >>"$LAB_RUN/$1.lvsd.log" 2>&1 &
    echo $! > "$LAB_RUN/$1.lvsd.pid"
}
# lvsd_stop NS [SIGNAL]: stop (default TERM) the director's lvsd
lvsd_stop() {
    [ -f "$LAB_RUN/$1.lvsd.pid" ] || return 0
    _pid=$(cat "$LAB_RUN/$1.lvsd.pid")
    kill "-${2:-TERM}" "$_pid" 2>/dev/null
    rm -f "$LAB_RUN/$1.lvsd.pid"
    # Wait (up to 10 s) until it is gone, so a restart never meets the old one.
    _i=0
    while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
}
lvsd_running() { [ -f "$LAB_RUN/$1.lvsd.pid" ] && kill -0 "$(cat "$LAB_RUN/$1.lvsd.pid")" 2>/dev/null; }
# lvsd_status NS: `lvsd status` of the director's daemon
lvsd_status() { lvsd status --socket "$LAB_RUN/$1.sock"; }
# rs_lvsd RS ACTION: `lvsd realserver ACTION` in a real server, with its own state dir
rs_lvsd() {
    _rs=$1; shift
    in_ns "$_rs" env LVSD_RUN_DIR="$LAB_RUN/$_rs" lvsd realserver "$@" --vip "$LAB_VIP" --dev eth0
}
# has_vip NS: the director holds the VIP on its service interface
has_vip() { in_ns "$1" busybox ip -4 addr show dev eth0 | grep -q " $LAB_VIP/32"; }
vip_holder() { for _d in dir1 dir2; do has_vip $_d && echo $_d; done; }

# rs_dr_by_hand RS: make a real server DR-ready without lvsd (VIP on lo,
# arp_ignore=1, arp_announce=2), as SEED.md's init script does.
rs_dr_by_hand() {
    in_ns "$1" busybox ip addr add "$LAB_VIP/32" dev lo 2>/dev/null
    for _c in all lo eth0; do
        in_ns "$1" sysctl -q -w net.ipv4.conf.$_c.arp_ignore=1 net.ipv4.conf.$_c.arp_announce=2
    done
}
# client_requests N: N requests from the client to the VIP; prints one
# server name per line ("-" for a failed request).
client_requests() {
    _i=0
    while [ $_i -lt "$1" ]; do
        _i=$((_i + 1))
        _p=$(http_get client "http://$LAB_VIP/") && echo "${_p%% *}" || echo "-"
    done
}
