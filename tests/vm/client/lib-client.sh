# tests/vm/client/lib-client.sh: guest helpers for the client-side suites
# (t_faults.sh, t_soak.sh). tests/vm/run-traffic.sh prepends this file to each
# suite, after /lab/lib.sh is sourced by the suite's first line. Needs the
# traffic probe (examples/traffic.rs) and keepalived in /opt/lab/bin (--tool).
#
# One implementation at a time runs the two-director cluster: IMPL=lvsd or
# IMPL=keepalived, the same configuration (SEED.md's, plus a line-echo
# virtual server on port 8080 for the long-lived connections) written in
# each one's syntax:
#   cl_up [VARIANT]        both directors from scratch: dir1 MASTER 100, dir2 BACKUP 90
#   cl_down                stop both, restore links, flush VIPs/IPVS/sync daemons
#   d_conf NS STATE PRIO [VARIANT]   write the config (VARIANT: see d_conf)
#   d_start NS / d_signal NS SIG / d_reload NS / d_pids NS
#   probe_start NAME / probe_mark LABEL / probe_stop / probe_report NAME [args]
#   table_of NS            "VIP:PORT RS:PORT WEIGHT" lines of the kernel table
#   want_table [VARIANT]   the same lines from the configuration (all alive)
#   lvsd_drift NS          lines where lvsd's kernel table differs from its own health view
TRAFFIC=/opt/lab/bin/traffic
KA=/opt/lab/bin/keepalived
W=/run/client; mkdir -p $W
ECHO_PORT=8080
RATE=${TRAFFIC_RATE:-100}
LONG=${TRAFFIC_LONG:-100}
# The issue's 100 ms exchange on 100 connections is 1000 echoes/s through the
# bridge, IPVS and the echo processes: under qemu TCG on one vCPU that alone
# saturates the VM (0% idle, requests late by a second). The lab default is
# one exchange a second; TRAFFIC_INTERVAL_MS=100 on a faster (KVM) host.
INTERVAL=${TRAFFIC_INTERVAL_MS:-1000}
# A connection that echoed nothing in the last STALL ms of the run stalled.
STALL=$(( INTERVAL * 3 > 1000 ? INTERVAL * 3 : 1000 ))
IMPL=${IMPL:-lvsd}

for t in "$TRAFFIC" "$KA" /opt/lab/bin/farm; do
    [ -x "$t" ] || { step "prerequisites"; fail "$t missing: run this suite with tests/vm/run-traffic.sh"; finish; }
done

# ---- real servers: DR-ready, HTTP on :80, line echo on :8080 ----------------
# HTTP comes from the farm (examples/farm.rs, one mio loop, listening on
# 0.0.0.0:80, the page naming the server) instead of the lab's busybox httpd,
# which forks per connection: under TCG that caps a real server well below
# the probe's 100 requests/s. rs_down/rs_up close and reopen its listener
# (connections refused, as from a stopped httpd). fd 6 feeds rs1's farm, 7 rs2's.
FARM=/opt/lab/bin/farm
rs_echo_start() {
    nsenter --net="/run/netns/$1" -- nc -ll -p $ECHO_PORT -e /bin/cat >/dev/null 2>&1 &
    echo $! > "$LAB_RUN/$1/echo.pid"
}
rs_farm_start() {
    rm -f $W/$1.in; mkfifo $W/$1.in
    nsenter --net="/run/netns/$1" -- $FARM 0.0.0.0 1 80 http "$LAB_RUN/$1/www/index.html" \
        < $W/$1.in > $W/$1.farm.out 2>&1 &
    case $1 in rs1) exec 6> $W/rs1.in;; rs2) exec 7> $W/rs2.in;; esac
    wait_until 10 grep -q '^ready' $W/$1.farm.out || fail "$1: farm not ready: $(cat $W/$1.farm.out)"
}
rs_cmd() { case $1 in rs1) echo "$2" >&6;; rs2) echo "$2" >&7;; esac; }
rs_down() { rs_cmd "$1" "stop 0"; }
rs_up() { rs_cmd "$1" "start 0"; }
rs_prepare() {
    for rs in rs1 rs2; do rs_dr_by_hand $rs; rs_echo_start $rs; rs_stop $rs; rs_farm_start $rs; done
}
rs_cleanup() { # back to the lab's httpd for the suites after this one
    for rs in rs1 rs2; do kill "$(cat "$LAB_RUN/$rs/echo.pid")" 2>/dev/null; done
    exec 6>&- 7>&-
    sleep 0.5
    for rs in rs1 rs2; do rs_start $rs; done
}

# ---- configurations ---------------------------------------------------------
# d_conf NS STATE PRIO [VARIANT]: $W/NS.ini (lvsd) or $W/NS.conf (keepalived).
# VARIANT words: nosync (no connection sync), flap (checks every second),
# w2 (rs2 weight 2 on :80), broken (a syntax error at the end).
d_conf() {
    _ns=$1 _state=$2 _prio=$3 _var=" ${4:-} "
    _sync=1; case $_var in *" nosync "*) _sync=0;; esac
    _w2=1; case $_var in *" w2 "*) _w2=2;; esac
    # The article's TCP_CHECK, or one that follows a flapping server.
    _dl=6 _ct=3 _rt=3 _dbr=3
    case $_var in *" flap "*) _dl=1 _ct=1 _rt=1 _dbr=1;; esac
    if [ "$IMPL" = lvsd ]; then
        {
            echo "[global]"; echo "router_id = LVS_$_ns"; echo "control_socket = $W/$_ns.sock"; echo
            echo "[vrrp_instance VI_1]"; echo "state = $_state"; echo "interface = eth0"
            [ $_sync = 1 ] && echo "lvs_sync_daemon_interface = eth1"
            echo "virtual_router_id = 51"; echo "priority = $_prio"; echo "advert_int = ${ADVERT:-1}"
            [ -n "${VRRP3:-}" ] && echo "version = 3"
            [ -z "${VRRP3:-}" ] && { echo "auth_type = PASS"; echo "auth_pass = 1111"; }
            echo "virtual_ipaddress = $LAB_VIP"
            for _p in 80 $ECHO_PORT; do
                echo; echo "[virtual_server s$_p]"; echo "address = $LAB_VIP"; echo "port = $_p"
                echo "protocol = TCP"; echo "delay_loop = $_dl"; echo "lb_algo = rr"; echo "lb_kind = DR"
                for _rs in $LAB_RS1 $LAB_RS2; do
                    _w=1; [ $_p = 80 ] && [ $_rs = $LAB_RS2 ] && _w=$_w2
                    echo; echo "[real_server s$_p/$_rs:$_p]"; echo "weight = $_w"
                    echo; echo "[tcp_check s$_p/$_rs:$_p]"; echo "connect_timeout = $_ct"
                    echo "retry = $_rt"; echo "delay_before_retry = $_dbr"
                done
            done
            case $_var in *" broken "*) echo "[virtual_server broken";; esac
        } > "$W/$_ns.ini"
    else
        {
            echo "global_defs {"; echo "    router_id KA_$_ns"
            [ $_sync = 1 ] && echo "    lvs_sync_daemon eth1 VI_1"
            echo "}"
            echo "vrrp_instance VI_1 {"; echo "    state $_state"; echo "    interface eth0"
            echo "    virtual_router_id 51"; echo "    priority $_prio"; echo "    advert_int ${ADVERT:-1}"
            [ -n "${VRRP3:-}" ] && echo "    version 3"
            [ -z "${VRRP3:-}" ] && echo "    authentication {
        auth_type PASS
        auth_pass 1111
    }"
            echo "    virtual_ipaddress {"; echo "        $LAB_VIP"; echo "    }"; echo "}"
            for _p in 80 $ECHO_PORT; do
                echo "virtual_server $LAB_VIP $_p {"; echo "    delay_loop $_dl"; echo "    lb_algo rr"
                echo "    lb_kind DR"; echo "    protocol TCP"
                for _rs in $LAB_RS1 $LAB_RS2; do
                    _w=1; [ $_p = 80 ] && [ $_rs = $LAB_RS2 ] && _w=$_w2
                    echo "    real_server $_rs $_p {"; echo "        weight $_w"
                    echo "        TCP_CHECK {"; echo "            connect_timeout $_ct"
                    echo "            retry $_rt"; echo "            delay_before_retry $_dbr"
                    echo "        }"; echo "    }"
                done
                echo "}"
            done
            case $_var in *" broken "*) echo "virtual_server $LAB_VIP {"; echo "    lb_algo";; esac
        } > "$W/$_ns.conf"
    fi
}

# ---- the directors ------------------------------------------------------------
# ts_lines: each line of stdin with the uptime (s) in front; builtins only
ts_lines() { while IFS= read -r _l; do read -r _up _x < /proc/uptime; echo "$_up $_l"; done; }
# LOG_TS=1: the daemons' log lines carry the uptime they were written at
# (through a FIFO and ts_lines; the probe's file has the uptime at its start).
# d_logto NS LOG: sets _to, where the daemon writes (not a command
# substitution: the reader, blocked opening the FIFO, would hold its pipe).
d_logto() {
    _to=$2
    [ -n "${LOG_TS:-}" ] || return 0
    rm -f "$W/$1.logp"; mkfifo "$W/$1.logp"
    ts_lines < "$W/$1.logp" >> "$2" 2>/dev/null &
    _to=$W/$1.logp
}
d_start() {
    if [ "$IMPL" = lvsd ]; then
        d_logto "$1" "$W/$1.lvsd.log"
        nsenter --net="/run/netns/$1" -- lvsd run -c "$W/$1.ini" >>"$_to" 2>&1 &
        echo $! > "$W/$1.pid"
    else
        # -n: no fork (the pid is keepalived's parent);
        # -l -G: log on stderr only (syslog, missing here, would fall back to the console).
        d_logto "$1" "$W/$1.ka.log"
        nsenter --net="/run/netns/$1" -- $KA -n -l -G -D -f "$W/$1.conf" -p "$W/$1.ka.pid" \
            -r "$W/$1.ka-vrrp.pid" -c "$W/$1.ka-chk.pid" >>"$_to" 2>&1 &
        echo $! > "$W/$1.pid"
    fi
}
# d_pids NS: the daemon's processes (keepalived: parent, VRRP and checker children)
d_pids() {
    _p=$(cat "$W/$1.pid" 2>/dev/null) || return 0
    echo "$_p"
    [ "$IMPL" = keepalived ] && awk -v pp="$_p" '$4 == pp { print $1 }' /proc/[0-9]*/stat 2>/dev/null
    return 0
}
d_running() { _p=$(cat "$W/$1.pid" 2>/dev/null) && kill -0 "$_p" 2>/dev/null; }
# d_signal NS SIG: KILL reaches every process of the daemon; others the main one.
d_signal() {
    if [ "$2" = KILL ]; then kill -KILL $(d_pids "$1") 2>/dev/null
    else kill "-$2" "$(cat "$W/$1.pid")" 2>/dev/null; fi
}
d_reload() { d_signal "$1" HUP; }
d_stop() {
    d_running "$1" || { rm -f "$W/$1.pid"; return 0; }
    _pids=$(d_pids "$1")
    kill -TERM "$(cat "$W/$1.pid")" 2>/dev/null
    _i=0
    while kill -0 $_pids 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
    kill -KILL $_pids 2>/dev/null
    rm -f "$W/$1.pid"
}
d_status() { lvsd status --socket "$W/$1.sock" 2>&1; }

# table_of NS: "VIP:PORT RS:PORT WEIGHT" for every real server in the kernel table
table_of() {
    in_ns "$1" ipvsadm -Ln 2>/dev/null | awk '$1 == "TCP" { vs = $2 } $1 == "->" && $2 ~ /^[0-9]/ { print vs, $2, $4 }' | sort
}
# want_table [VARIANT]: the configuration's table, every real server alive
want_table() {
    _w2=1; case " ${1:-} " in *" w2 "*) _w2=2;; esac
    for _p in 80 $ECHO_PORT; do for _rs in $LAB_RS1 $LAB_RS2; do
        _w=1; [ $_p = 80 ] && [ $_rs = $LAB_RS2 ] && _w=$_w2
        echo "$LAB_VIP:$_p $_rs:$_p $_w"
    done; done | sort
}
# lvsd_drift NS: from ONE status answer, the kernel table against lvsd's own
# health view (alive => present with the configured weight, DEAD => absent).
# Prints the differing lines (nothing = no drift).
lvsd_drift() {
    d_status "$1" | awk '
        /^TCP  / { vs = $2 }
        /^  -> [0-9]/ { kern[vs " " $2 " " $4] = 1 }
        /^virtual server / { hv = $4 }
        /^  [0-9]/ && hv != "" && ($2 == "alive" || $2 == "draining") { want[hv " " $1 " " $4] = 1 }
        /^reconciles / { done = 1 }
        END {
            if (!done) { print "no status answer"; exit }
            for (k in kern) if (!(k in want)) print "kernel only: " k
            for (k in want) if (!(k in kern)) print "missing in kernel: " k
        }'
}
# wait_poll SECS STEP cmd...: wait_until with a coarser step. Under TCG every
# poll costs a few forks; polling every 0.1 s during a measured fault steals
# the VM's one vCPU from the traffic it measures.
wait_poll() {
    _dl=$(( $(now_ms) + $1 * 1000 )) _st=$2; shift 2
    while ! "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -ge "$_dl" ] && return 1
        sleep "$_st"
    done
}
vip_count() { _n=0; for _d in dir1 dir2; do has_vip $_d && _n=$((_n + 1)); done; echo $_n; }

# cl_down: both directors stopped; links, bridge ports, VIPs, IPVS tables and
# sync daemons back to nothing (a power-cut box comes back empty).
cl_down() {
    d_stop dir1; d_stop dir2
    ip link set v-dir1 up 2>/dev/null; ip link set v-dir2 up 2>/dev/null
    ip link set v-dir1 type bridge_slave isolated off 2>/dev/null
    ip link set v-dir2 type bridge_slave isolated off 2>/dev/null
    for d in dir1 dir2; do
        in_ns $d busybox ip link set eth0 up; in_ns $d busybox ip link set eth1 up
        in_ns $d busybox ip addr del "$LAB_VIP/32" dev eth0 2>/dev/null
        in_ns $d ipvsadm -C
        in_ns $d ipvsadm --stop-daemon master 2>/dev/null; in_ns $d ipvsadm --stop-daemon backup 2>/dev/null
    done
    for rs in rs1 rs2; do rs_up $rs; done
}
tables_full() { # VARIANT: both directors have the configured table
    _w=$(want_table "${1:-}")
    [ "$(table_of dir1)" = "$_w" ] && [ "$(table_of dir2)" = "$_w" ]
}
# cl_up [VARIANT]: dir1 MASTER 100, dir2 BACKUP 90, tables full, dir1 serves
cl_up() {
    cl_down
    d_conf dir1 MASTER 100 "${1:-}"; d_conf dir2 BACKUP 90 "${1:-}"
    d_start dir1; d_start dir2
    wait_until 15 has_vip dir1 || { fail "$IMPL: dir1 did not take the VIP"; return 1; }
    wait_until 15 tables_full "${1:-}" || { fail "$IMPL: tables not full: dir1 '$(table_of dir1 | tr '\n' ';')' dir2 '$(table_of dir2 | tr '\n' ';')'"; return 1; }
    wait_until 10 eval '[ "$(vip_holder)" = dir1 ]' || { fail "$IMPL: VIP holders '$(vip_holder | tr '\n' ' ')'"; return 1; }
    wait_until 10 http_get client "http://$LAB_VIP/" || { fail "$IMPL: the VIP does not serve"; return 1; }
}

# ---- the traffic probe (client netns) -----------------------------------------
PROBE_PID=
probe_start() { # NAME [extra run args]
    _n=$1; shift; PROBE_NAME=$_n
    rm -f $W/probe.in $W/$_n.ev $W/$_n.out; mkfifo $W/probe.in
    nsenter --net=/run/netns/client -- $TRAFFIC run --vip "$LAB_VIP" --echo-port $ECHO_PORT \
        --rate "$RATE" --long "$LONG" --interval-ms "$INTERVAL" --out "$W/$_n.ev" "$@" < $W/probe.in > $W/$_n.out 2>&1 &
    PROBE_PID=$!
    exec 5> $W/probe.in
    wait_until 20 grep -q '^ready' $W/$_n.out || { fail "probe not ready: $(cat $W/$_n.out)"; return 1; }
}
probe_mark() { echo "mark $1" >&5; }
probe_stop() {
    [ -n "$PROBE_PID" ] || return 0
    echo stop >&5; exec 5>&-
    wait "$PROBE_PID" 2>/dev/null; PROBE_PID=
}
probe_report() { _n=$1; shift; $TRAFFIC report "$W/$_n.ev" --stall-ms $STALL "$@"; }
# result KEY TEXT: the value of KEY=... in the RESULT line of TEXT
result() { printf '%s\n' "$2" | sed -n "s/^RESULT.* $1=\([^ ]*\).*/\1/p" | tail -n 1; }
# probe_ports: the client ports of the long-lived connections the running
# probe opened (from its event file, written out every second)
probe_ports() { awk '$1 == "L" && $4 == "open" && $6 != "" { print $6 }' "$W/$PROBE_NAME.ev" 2>/dev/null; }
# synced NS PORT: how many of the running probe's long-lived connections
# (to PORT) NS's table holds as ESTABLISHED entries to the real server dir1
# scheduled them to (connection sync). Only this probe's ports count: the
# connection table outlives `ipvsadm -C` and a daemon's stop (ESTABLISHED
# entries of earlier rows stay 15 minutes), so a bare count of entries can
# reach LONG before this probe's last sync message arrived.
synced() {
    probe_ports > $W/ports.cur
    in_ns dir1 ipvsadm -Lnc > $W/conns.dir1 2>/dev/null; in_ns "$1" ipvsadm -Lnc > $W/conns.ns 2>/dev/null
    awk -v p=":$2" '
        FILENAME == ARGV[1] { want[$1] = 1; next }
        $3 != "ESTABLISHED" || $5 !~ p"$" { next }
        { split($4, c, ":"); if (!(c[2] in want)) next }
        FILENAME == ARGV[2] { rs[c[2]] = $6; next }
        rs[c[2]] == $6 { n++ }
        END { print n + 0 }' $W/ports.cur $W/conns.dir1 $W/conns.ns
}
