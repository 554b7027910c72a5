#!/bin/sh
# t_observe: the views and the runtime control of issue 13 on the real
# kernel IPVS, with ipvsadm as the independent witness:
# - GET /metrics reports a real active connection (node_ipvs_backend_connections_active);
# - traffic through the VIP makes the kernel's counters grow, and lvsd's
#   per-service and per-destination counters (IPVS_*_ATTR_STATS64) equal
#   `ipvsadm -Ln --stats --exact` read in the same moment; the global
#   node_ipvs_* totals equal /proc/net/ip_vs_stats; promtool check metrics
#   passes on the real scrape (--tool /usr/bin/promtool);
# - with --tool /usr/bin/prometheus (tests/vm/ci.sh), a real Prometheus scrapes
#   lvsd and PromQL returns the master's state, that active connection and a
#   backend's connection counter;
# - `lvsd rs drain` sets weight 0 at once, keeps the server while its
#   connection lives, and removes it within about a second of the connection's end;
# - the drain survives a reload (SIGHUP); `lvsd rs enable` brings the server back;
# - `lvsd rs weight` and `disable` act at once; bad commands are refused precisely;
# - `lvsd status` still starts with `ipvsadm -Ln` byte for byte with an override.
. /lab/lib.sh
W=/run/t_observe; mkdir -p $W
SOCK=$LAB_RUN/dir1.sock
V=$LAB_VIP R1=$LAB_RS1 R2=$LAB_RS2

metrics() { # the body of GET /metrics from the client
    printf 'GET /metrics HTTP/1.0\r\n\r\n' | in_ns client timeout 5 nc -w 3 "$LAB_DIR1_SVC" 9180 | tr -d '\r' | sed '1,/^$/d'
}
rsctl() { lvsd rs "$@" --socket "$SOCK"; }
table() { in_ns dir1 ipvsadm -Ln; }
listed() { table | grep -q -- "-> $1:80 "; }
not_listed() { ! listed "$1"; }
weight_of() { table | awk -v rs="$1:80" '$2 == rs { print $4 }'; }
active_of() { table | awk -v rs="$1:80" '$2 == rs { print $5 }'; }
has_active() { [ "$(active_of "$1")" = 1 ]; }
weight_is() { [ "$(weight_of "$1")" = "$2" ]; }
status_head_matches() {
    table > $W/ipvsadm.out
    lvsd status --socket "$SOCK" > $W/status.out || return 1
    head -n "$(wc -l < $W/ipvsadm.out)" $W/status.out | cmp -s - $W/ipvsadm.out
}

step "dir1 runs lvsd with metrics_listen and holds the VIP"
# DR-ready with the helper, undone at the end (the tests after this one in
# the same boot find the real servers as the lab made them).
rs_lvsd rs1 up > /dev/null || fail "rs1: lvsd realserver up"
rs_lvsd rs2 up > /dev/null || fail "rs2: lvsd realserver up"
CONF=$(lab_conf dir1 MASTER 100)
sed -i "s|^control_socket = .*|&\nmetrics_listen = $LAB_DIR1_SVC:9180\nreconcile_interval = 5|" "$CONF"
lvsd_start dir1 "$CONF"
wait_until 15 has_vip dir1 || fail "dir1 never became master"
wait_until 15 listed "$R1" || fail "rs1 not in the table"
wait_until 15 listed "$R2" || fail "rs2 not in the table"
table | sed 's/^/    /'

step "a long connection through the VIP shows as active in ipvsadm and in the metrics"
mkfifo $W/hold
nsenter --net=/run/netns/client -- nc "$V" 80 < $W/hold > /dev/null 2>&1 &
NC=$!
exec 3> $W/hold
if wait_until 10 has_active "$R1"; then HELD=$R1 OTHER=$R2
elif wait_until 1 has_active "$R2"; then HELD=$R2 OTHER=$R1
else fail "no active connection in the table"; table; HELD=$R1 OTHER=$R2; fi
echo "  the connection went to $HELD"
M=$(metrics)
expect_match "metrics: the active connection" "$M" \
    "node_ipvs_backend_connections_active\{local_address=\"$V\",local_port=\"80\",remote_address=\"$HELD\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\"\} 1"
expect_match "metrics: dir1 is master" "$M" \
    "keepalived_vrrp_state\{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"$V\"\} 2"
echo "$M" | grep -E '^(node_ipvs_backend_connections_active|lvsd_ipvs_backend_connections_total|keepalived_vrrp_state)' | sed 's/^/    /'

step "traffic through the VIP: the counters grow and equal ipvsadm -Ln --stats"
# NAME LABELS -> the value of that series in the scrape $M.
metric() {
    if [ -n "$2" ]; then _want="$1{$2}"; else _want=$1; fi
    printf '%s\n' "$M" | awk -v want="$_want" '$1 == want { print $2 }'
}
svc_labels="local_address=\"$V\",local_port=\"80\",proto=\"TCP\",local_mark=\"\""
be_labels() { echo "local_address=\"$V\",local_port=\"80\",remote_address=\"$1\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\""; }
SUFFIXES="connections_total incoming_packets_total outgoing_packets_total incoming_bytes_total outgoing_bytes_total"
# One line per entry of `ipvsadm -Ln --stats --exact` beside lvsd's figures:
# "what ipvsadm: c ip op ib ob lvsd: c ip op ib ob"; returns 1 on a difference.
stats_match() {
    in_ns dir1 ipvsadm -Ln --stats --exact > $W/stats.out || return 1
    M=$(metrics)
    : > $W/stats.cmp
    _bad=0
    for entry in "svc $V:80" "be $R1:80" "be $R2:80"; do
        kind=${entry%% *} ep=${entry#* }
        if [ "$kind" = svc ]; then
            k=$(awk -v ep="$ep" '$1 == "TCP" && $2 == ep { print $3, $4, $5, $6, $7 }' $W/stats.out)
            l=""; for s in $SUFFIXES; do l="$l $(metric "lvsd_ipvs_service_$s" "$svc_labels")"; done
        else
            k=$(awk -v ep="$ep" '$1 == "->" && $2 == ep { print $3, $4, $5, $6, $7 }' $W/stats.out)
            l=""; for s in $SUFFIXES; do l="$l $(metric "lvsd_ipvs_backend_$s" "$(be_labels "${ep%:80}")")"; done
        fi
        l=${l# }
        echo "$entry ipvsadm: $k lvsd: $l" >> $W/stats.cmp
        { [ -n "$k" ] && [ "$k" = "$l" ]; } || _bad=1
    done
    return $_bad
}
M=$(metrics)
BEFORE=$(metric lvsd_ipvs_service_connections_total "$svc_labels")
GLOBAL_BEFORE=$(metric node_ipvs_connections_total "")
expect_match "service counter before" "$BEFORE" '^[0-9]+$'
T0=$(now_ms)
OKS=$(client_requests 20 | grep -vc '^-$')
echo "  20 requests through the VIP, $OKS answered ($(elapsed_ms $T0) ms)"
expect_eq "every request answered" "$OKS" 20
# The kernel folds its per-CPU counters into these totals every 2 s (its
# rate estimator), closing packets included: compare once all 20 show.
settled() {
    stats_match || return 1
    AFTER=$(metric lvsd_ipvs_service_connections_total "$svc_labels")
    [ "${AFTER:-0}" -ge $(( BEFORE + 20 )) ]
}
T0=$(now_ms)
if wait_until 15 settled; then
    echo "figure: counters: lvsd equals ipvsadm -Ln --stats --exact (connections, packets, bytes in and out), all 20 requests counted after $(elapsed_ms $T0) ms:"
else
    AFTER=$(metric lvsd_ipvs_service_connections_total "$svc_labels")
    fail "lvsd's counters differ from ipvsadm -Ln --stats --exact, or the service's connections grew from $BEFORE to $AFTER, not by 20"
fi
sed 's/^/    /' $W/stats.cmp
echo "figure: counters: lvsd_ipvs_service_connections_total $BEFORE -> $AFTER"
PKTS=$(metric lvsd_ipvs_service_incoming_packets_total "$svc_labels")
[ "${PKTS:-0}" -gt 0 ] || fail "no incoming packets counted"
# The global totals are the kernel's /proc/net/ip_vs_stats (hex).
M=$(metrics)
GLOBAL=$(metric node_ipvs_connections_total "")
PROC=$(in_ns dir1 awk 'NR == 3 { print $1 }' /proc/net/ip_vs_stats)
expect_eq "node_ipvs_connections_total = /proc/net/ip_vs_stats" "$GLOBAL" "$(printf '%d' "0x$PROC")"
[ "${GLOBAL:-0}" -ge $(( GLOBAL_BEFORE + 20 )) ] || fail "node_ipvs_connections_total grew from $GLOBAL_BEFORE to $GLOBAL"
echo "figure: counters: node_ipvs_connections_total $GLOBAL_BEFORE -> $GLOBAL"
printf '%s\n' "$M" | grep -E '^(node_ipvs_[a-z_]+|lvsd_ipvs_service_connections_total|lvsd_ipvs_backend_connections_total)[{ ]' | sed 's/^/    /'
PROMTOOL=/opt/lab/bin/promtool
if [ -x "$PROMTOOL" ]; then
    printf '%s\n' "$M" > $W/metrics.txt
    if "$PROMTOOL" check metrics < $W/metrics.txt > $W/promtool.out 2>&1; then
        echo "  promtool check metrics: passed on $(wc -l < $W/metrics.txt) lines"
    else fail "promtool check metrics"; sed 's/^/    /' $W/promtool.out; fi
else
    fail "promtool is not in the lab: run with tests/vm/run.sh --tool /usr/bin/promtool"
fi
HELD_CONNS=$(metric lvsd_ipvs_backend_connections_total "$(be_labels "$HELD")")

step "a real Prometheus scrapes dir1: PromQL returns the master state, the active connection and a backend's counter"
PROM=/opt/lab/bin/prometheus
promql() { # QUERY (URL-encoded) -> the JSON answer
    printf 'GET /api/v1/query?query=%s HTTP/1.0\r\n\r\n' "$1" | in_ns client timeout 5 nc -w 3 127.0.0.1 9090 | tr -d '\r' | sed '1,/^$/d'
}
prom_has() { promql "$1" | grep -q "$2"; }
# Prometheus' JSON has no final newline (busybox sed keeps it that way):
# add one, or the next marker line would be glued to it.
show_promql() { promql "$1" | sed 's/^/    /'; echo; }
if [ -x "$PROM" ]; then
    printf 'global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: lvsd\n    static_configs:\n      - targets: ["%s:9180"]\n' "$LAB_DIR1_SVC" > $W/prom.yml
    mkdir -p $W/tsdb
    nsenter --net=/run/netns/client -- "$PROM" --config.file=$W/prom.yml --storage.tsdb.path=$W/tsdb \
        --web.listen-address=127.0.0.1:9090 > $W/prometheus.log 2>&1 &
    PROM_PID=$!
    T0=$(now_ms)
    Q_STATE='keepalived_vrrp_state%7Biname%3D%22VI_1%22%7D'
    Q_ACTIVE="node_ipvs_backend_connections_active%7Bremote_address%3D%22$HELD%22%7D"
    if wait_until 120 prom_has "$Q_STATE" ',"2"\]'; then
        echo "figure: prometheus: keepalived_vrrp_state{iname=\"VI_1\"} = 2 after $(elapsed_ms $T0) ms"
        show_promql "$Q_STATE"
    else fail "PromQL never saw the master state"; tail -20 $W/prometheus.log; fi
    if wait_until 30 prom_has "$Q_ACTIVE" ',"1"\]'; then
        echo "figure: prometheus: node_ipvs_backend_connections_active{remote_address=\"$HELD\"} = 1"
        show_promql "$Q_ACTIVE"
    else fail "PromQL never saw the active connection"; show_promql "$Q_ACTIVE"; fi
    Q_CONNS="lvsd_ipvs_backend_connections_total%7Bremote_address%3D%22$HELD%22%7D"
    if wait_until 30 prom_has "$Q_CONNS" ",\"$HELD_CONNS\"\]"; then
        echo "figure: prometheus: lvsd_ipvs_backend_connections_total{remote_address=\"$HELD\"} = $HELD_CONNS (as ipvsadm --stats)"
        show_promql "$Q_CONNS"
    else fail "PromQL never returned $HELD_CONNS for $HELD's connection counter"; show_promql "$Q_CONNS"; fi
    kill $PROM_PID; wait $PROM_PID 2>/dev/null
else
    fail "prometheus is not in the lab: run with tests/vm/run.sh --tool /usr/bin/prometheus"
fi

step "drain: weight 0 at once, the server stays while its connection lives"
T0=$(now_ms)
OUT=$(rsctl drain web "$HELD:80" 60); echo "  $OUT"
expect_match "drain answer" "$OUT" "^ok: TCP $V:80 $HELD:80 draining"
wait_until 3 weight_is "$HELD" 0 || fail "weight did not drop to 0"
echo "figure: drain: weight 0 in the kernel $(elapsed_ms $T0) ms after 'lvsd rs drain'"
sleep 3
expect_ok "still listed with its connection" listed "$HELD"
expect_eq "still active" "$(active_of "$HELD")" 1
expect_match "status shows the override" "$(lvsd status --socket "$SOCK")" "$HELD:80 .*\[operator: draining\]"
expect_ok "lvsd status starts with ipvsadm -Ln" status_head_matches
table | sed 's/^/    /'

step "the connection ends: the server leaves the table within about a second"
kill $NC; exec 3>&-
T1=$(now_ms)
wait_until 10 not_listed "$HELD" || fail "the drained server stayed in the table"
DRAIN_MS=$(elapsed_ms $T1)
echo "figure: drain: $HELD:80 removed from the kernel table $DRAIN_MS ms after its last connection closed (poll every 1 s)"
[ "$DRAIN_MS" -le 3000 ] || fail "removal took $DRAIN_MS ms"
expect_match "status: drained" "$(lvsd status --socket "$SOCK")" "$HELD:80 .*\[operator: drained\]"
expect_match "metrics: drained" "$(metrics)" "lvsd_real_server_operator_override\{.*remote_address=\"$HELD\".*mode=\"drained\"\} 1"
expect_ok "the other server still serves" listed "$OTHER"

step "the drain survives a reload; enable brings the server back"
kill -HUP "$(cat "$LAB_RUN/dir1.lvsd.pid")"
sleep 2
expect_ok "still out after SIGHUP" not_listed "$HELD"
OUT=$(lvsd reload --socket "$SOCK"); echo "  $OUT"
expect_match "lvsd reload answers" "$OUT" "^ok: reload: "
expect_ok "still out after lvsd reload" not_listed "$HELD"
OUT=$(rsctl enable web "$HELD:80"); echo "  $OUT"
wait_until 5 listed "$HELD" || fail "enable did not bring it back"
expect_eq "configured weight again" "$(weight_of "$HELD")" 1

step "weight and disable act at once; bad commands are refused"
rsctl weight "$V:80" "$OTHER:80" 5 > /dev/null
wait_until 5 weight_is "$OTHER" 5 || fail "weight 5 not in the kernel"
rsctl disable web "$OTHER:80" > /dev/null
wait_until 5 not_listed "$OTHER" || fail "disable did not remove it"
expect_fail "unknown real server" rsctl drain web 10.0.0.99:80
expect_match "its message" "$(rsctl drain web 10.0.0.99:80 2>&1)" "no configured real server 10.0.0.99:80"
expect_fail "unknown virtual server" rsctl enable nosuch "$OTHER:80"
rsctl enable web "$OTHER:80" > /dev/null
wait_until 5 listed "$OTHER" || fail "enable after disable"
table | sed 's/^/    /'

lvsd_stop dir1
rs_lvsd rs1 down > /dev/null || fail "rs1: lvsd realserver down"
rs_lvsd rs2 down > /dev/null || fail "rs2: lvsd realserver down"
finish
