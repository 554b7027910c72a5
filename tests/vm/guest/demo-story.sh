#!/bin/sh
# tests/vm/guest/demo-story.sh: the demo's story, run inside the VM lab.
# Prints plain-words lines (@@SAY / @@NOTYET) that tests/vm/demo.sh shows.
# It uses lvsd wherever lvsd can already do the job and says plainly where
# it cannot yet, falling back to the witness ipvsadm to show the kernel path.
. /lab/lib.sh

say "The lab is up inside one VM: directors dir1 and dir2 (each its own network stack and IPVS table), real servers rs1 and rs2 (busybox httpd), a client, service LAN $LAB_SVC_NET, heartbeat link $LAB_HB_NET."
say "Real server pages: rs1 says '$(http_get client "http://$LAB_RS1/")', rs2 says '$(http_get client "http://$LAB_RS2/")'."

# ---- real servers ---------------------------------------------------------
for rs in rs1 rs2; do
    if rs_lvsd $rs up >/dev/null 2>&1 &&
       in_ns $rs busybox ip addr show lo | grep -q "$LAB_VIP/32"; then
        say "$rs: 'lvsd realserver up --vip $LAB_VIP' put the VIP on lo and set arp_ignore/arp_announce."
    else
        rs_dr_by_hand $rs
        notyet "$rs: 'lvsd realserver up' is not built yet; the VIP was put on lo and arp_ignore=1/arp_announce=2 set by hand."
    fi
done

# ---- directors --------------------------------------------------------------
c1=$(lab_conf dir1 MASTER 100); c2=$(lab_conf dir2 BACKUP 90)
if out=$(lvsd check -c "$c1" 2>&1); then
    say "lvsd check accepts dir1's config (MASTER, priority 100) ${out:+: $(echo "$out" | head -n 3 | tr '\n' ' ')}"
else
    notyet "lvsd check rejects the lab config: $(echo "$out" | head -n 2 | tr '\n' ' ')"
fi
lvsd_start dir1 "$c1"; lvsd_start dir2 "$c2"
say "Started lvsd on dir1 (MASTER, priority 100) and dir2 (BACKUP, priority 90); waiting up to 6 s for the VIP."
t0=$(now_ms)
vip_or_dead() { has_vip dir1 || ! lvsd_running dir1; }
if wait_until 6 vip_or_dead && has_vip dir1 && wait_until 2 eval 'in_ns dir1 ipvsadm -Ln | grep -q "$LAB_VIP:80"'; then
    LVSD_WORKS=1
    say "dir1 holds the VIP after $(elapsed_ms "$t0") ms and its IPVS table has $LAB_VIP:80 (checked with the witness ipvsadm)."
else
    LVSD_WORKS=0
    for d in dir1 dir2; do lvsd_running $d || notyet "lvsd on $d exited: $(tail -n 2 "$LAB_RUN/$d.lvsd.log" 2>/dev/null | tr '\n' ' ')"; done
    notyet "lvsd does not hold the VIP or program IPVS yet (VRRP and IPVS support are not built yet)."
    lvsd_stop dir1; lvsd_stop dir2
    say "To show the kernel path anyway, dir1 gets the VIP and an rr/DR service by hand with ipvsadm (a test-only witness, not in the product image)."
    in_ns dir1 busybox ip addr add "$LAB_VIP/32" dev eth0
    in_ns dir1 ipvsadm -A -t "$LAB_VIP:80" -s rr
    in_ns dir1 ipvsadm -a -t "$LAB_VIP:80" -r "$LAB_RS1:80" -g -w 1
    in_ns dir1 ipvsadm -a -t "$LAB_VIP:80" -r "$LAB_RS2:80" -g -w 1
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
if [ "$LVSD_WORKS" = 1 ]; then
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
        say "PROBLEM: dir2 did not take the VIP within 8 s."; DEMO_FAIL=1
    fi
    lvsd_stop dir2
else
    notyet "Failover (kill the master, the backup takes the VIP, the client is still served) needs lvsd's VRRP, which is not built yet: skipped."
fi
say "End of the short story."
[ -z "${DEMO_FAIL:-}" ]
