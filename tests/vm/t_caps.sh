#!/bin/sh
# t_caps: least privilege on the appliance (read-only root, real IPVS). A
# director with VRRP, IPVS and a MISC_CHECK keeps only cap_net_admin and
# cap_net_raw (effective, permitted and bounding sets); its root MISC_CHECK
# script gets exactly the bounding set; the table is programmed and the
# script reaped, all on a read-only root.
. /lab/lib.sh
W=$LAB_RUN/t_caps; mkdir -p $W
cat > $W/check.sh <<EOS
#!/bin/sh
grep ^Cap /proc/self/status > $W/script-caps
exit 0
EOS
chmod 755 $W/check.sh
conf=$(lab_conf dir1 MASTER 100)
{
    echo; echo "[virtual_server misc]"
    echo "address = $LAB_VIP"; echo "port = 81"; echo "protocol = TCP"
    echo "lb_algo = rr"; echo "lb_kind = DR"; echo "delay_loop = 1"
    echo; echo "[real_server misc/$LAB_RS1:81]"
    echo; echo "[misc_check misc/$LAB_RS1:81]"
    echo "misc_path = $W/check.sh"; echo "warmup = 0"
} >> "$conf"
cap() { awk -v k="$1:" '$1 == k { print $2 }' "$2"; }

step "the root file system is read-only"
expect_match "/ mounted ro" "$(awk '$5 == "/" { print $6 }' /proc/self/mountinfo)" '^ro'

step "lvsd keeps cap_net_admin and cap_net_raw only"
lvsd_start dir1 "$conf"
wait_until 10 has_vip dir1 || fail "dir1 did not take the VIP"
wait_until 10 test -s $W/script-caps || fail "the MISC_CHECK script did not run"
pid=$(cat "$LAB_RUN/dir1.lvsd.pid")
grep ^Cap /proc/$pid/status | sed 's/^/    /'
for k in CapEff CapPrm CapBnd; do
    expect_eq "lvsd $k" "$(cap $k /proc/$pid/status)" 0000000000003000
done
expect_eq "lvsd CapInh" "$(cap CapInh /proc/$pid/status)" 0000000000000000
expect_match "log names them" "$(cat $LAB_RUN/dir1.lvsd.log)" 'capabilities kept: cap_net_admin,cap_net_raw'

step "a root MISC_CHECK script gets the bounding set, no more"
sed 's/^/    /' $W/script-caps
expect_eq "script CapEff" "$(cap CapEff $W/script-caps)" 0000000000003000
expect_eq "script CapBnd" "$(cap CapBnd $W/script-caps)" 0000000000003000

step "with those alone lvsd programs IPVS and reaps its scripts"
misc_in_table() { in_ns dir1 ipvsadm -Ln | grep -q ":81 rr"; }
wait_until 10 misc_in_table || fail "the misc virtual server is not in the kernel table"
expect_match "status answers" "$(lvsd_status dir1)" 'control: clients 1'
sleep 2
zombies=$(for p in /proc/[0-9]*; do
    awk -v pp="$pid" '$1 == "PPid:" && $2 == pp { c = 1 } $1 == "State:" && $2 == "Z" { z = 1 } END { if (c && z) print FILENAME }' $p/status 2>/dev/null
done)
expect_eq "no zombie children" "$zombies" ""
lvsd_stop dir1
finish
