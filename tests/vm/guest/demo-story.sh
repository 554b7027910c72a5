#!/bin/sh
# tests/vm/guest/demo-story.sh: the demo's story, run inside the VM lab.
# Prints plain-words lines (@@SAY, @@FAIL) that tests/vm/demo.sh shows.
# lvsd does every step: there is no fallback. When lvsd does not put the VIP
# on a real server's lo, take the VIP or program IPVS, the story says so
# (PROBLEM) and exits non-zero, so `make demo` fails. ipvsadm only reads.
. /lab/lib.sh

# problem TEXT: say what went wrong and end the story as a failure.
problem() {
    say "PROBLEM: $*"
    echo "@@FAIL $*"
    lvsd_stop dir1 2>/dev/null; lvsd_stop dir2 2>/dev/null
    exit 1
}

say "The lab is up inside one VM: directors dir1 and dir2 (each its own network stack and IPVS table), real servers rs1 and rs2 (busybox httpd), a client, service LAN $LAB_SVC_NET, heartbeat link $LAB_HB_NET."
say "Real server pages: rs1 says '$(http_get client "http://$LAB_RS1/")', rs2 says '$(http_get client "http://$LAB_RS2/")'."

# ---- real servers ---------------------------------------------------------
for rs in rs1 rs2; do
    if out=$(rs_lvsd $rs up 2>&1) &&
       in_ns $rs busybox ip addr show lo | grep -q "$LAB_VIP/32"; then
        say "$rs: 'lvsd realserver up --vip $LAB_VIP' put the VIP on lo and set arp_ignore/arp_announce."
    else
        problem "$rs: 'lvsd realserver up --vip $LAB_VIP' did not put the VIP on lo: $(echo "$out" | head -n 2 | tr '\n' ' ')"
    fi
done

# ---- directors --------------------------------------------------------------
c1=$(lab_conf dir1 MASTER 100); c2=$(lab_conf dir2 BACKUP 90)
if out=$(lvsd check -c "$c1" 2>&1); then
    say "lvsd check accepts dir1's config (MASTER, priority 100) ${out:+: $(echo "$out" | head -n 3 | tr '\n' ' ')}"
else
    problem "lvsd check rejects the lab config: $(echo "$out" | head -n 2 | tr '\n' ' ')"
fi
lvsd_start dir1 "$c1"; lvsd_start dir2 "$c2"
say "Started lvsd on dir1 (MASTER, priority 100) and dir2 (BACKUP, priority 90); waiting up to 6 s for the VIP."
t0=$(now_ms)
vip_or_dead() { has_vip dir1 || ! lvsd_running dir1; }
if wait_until 6 vip_or_dead && has_vip dir1 && wait_until 2 eval 'in_ns dir1 ipvsadm -Ln | grep -q "$LAB_VIP:80"'; then
    say "dir1 holds the VIP after $(elapsed_ms "$t0") ms and its IPVS table has $LAB_VIP:80 (read with the witness ipvsadm)."
else
    for d in dir1 dir2; do
        lvsd_running $d || say "lvsd on $d exited: $(tail -n 2 "$LAB_RUN/$d.lvsd.log" 2>/dev/null | tr '\n' ' ')"
    done
    if has_vip dir1; then
        problem "lvsd on dir1 holds the VIP but did not program IPVS with $LAB_VIP:80 within 2 s."
    fi
    problem "lvsd on dir1 did not take the VIP within 6 s."
fi
say "dir1's IPVS table (ipvsadm -Ln):"
in_ns dir1 ipvsadm -Ln | sed -n '4,$p' | while IFS= read -r l; do say "    $l"; done

# ---- traffic ----------------------------------------------------------------
answers=$(client_requests 6 | tr '\n' ' ')
say "Client: 6 requests to http://$LAB_VIP/ were answered by: $answers"
case $answers in
    "rs1 rs2 rs1 rs2 rs1 rs2 "|"rs2 rs1 rs2 rs1 rs2 rs1 ") say "OK: the answers alternate between the two real servers (round robin, direct routing: the replies go straight from the real server to the client)." ;;
    *) say "PROBLEM: the answers do not alternate as round robin should." ; DEMO_FAIL=1 ;;
esac

# ---- failover -----------------------------------------------------------------
say "Killing the master: SIGKILL to lvsd on dir1."
lvsd_stop dir1 KILL
in_ns dir1 busybox ip addr del "$LAB_VIP/32" dev eth0 2>/dev/null # a dead box keeps no address
t0=$(now_ms); lost=0 served=0
while [ $(( $(now_ms) - t0 )) -lt 8000 ]; do
    if http_get client "http://$LAB_VIP/" >/dev/null; then served=$((served + 1)); else lost=$((lost + 1)); fi
    has_vip dir2 && [ $served -gt 0 ] && break
done
if has_vip dir2; then
    say "dir2 took over the VIP after $(elapsed_ms "$t0") ms; client requests during the takeover: $served served, $lost failed."
    answers=$(client_requests 4 | tr '\n' ' ')
    say "Client after the failover: $answers"
else
    say "PROBLEM: dir2 did not take the VIP within 8 s."; echo "@@FAIL dir2 did not take the VIP within 8 s"; DEMO_FAIL=1
fi
lvsd_stop dir2
say "End of the short story."
[ -z "${DEMO_FAIL:-}" ]
