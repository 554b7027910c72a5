#!/bin/bash
# tests/vm/demo.sh: the README's "main job" (make demo). Builds the image,
# boots the VM lab once and tells, step by step in plain words: a short story
# (DR round robin through the master's kernel IPVS, SIGKILL failover), then
# the article's whole scenario as the acceptance test runs it, one line per
# step with its figures (removal/re-add, takeovers, lost requests, RSS). About
# 90 s; stops by itself (hard timeout), powers the VM off and cleans up.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
T0=$EPOCHREALTIME
el() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%5.1fs", b-a}'; }
echo "[$(el)] lvsd demo: building the appliance image (board qemu-x86_64) and booting it under qemu (TCG, no KVM)..."
rc=1 seen_done=0 fail=0 in_seed=0
while IFS= read -r stamped; do
    line=${stamped#* }
    case $line in "@@TEST BEGIN t_seed_scenario"*) in_seed=1 ;; esac
    case $line in
        "init: lvsd appliance"*) echo "[$(el)] VM booted: ${line#init: }" ;;
        "@@LAB READY"*) echo "[$(el)] lab ready." ;;
        "@@LAB UP-FAILED"*) echo "[$(el)] PROBLEM: the lab did not come up"; fail=1 ;;
        "@@SAY "*) echo "[$(el)]     ${line#@@SAY }" ;;
        "@@TEST BEGIN t_seed_scenario"*)
            echo "[$(el)] Now the article's cluster end to end (the acceptance test tests/vm/t_seed_scenario.sh), one line per step, figures indented:" ;;
        "@@STEP BEGIN "*) [ "$in_seed" = 1 ] && echo "[$(el)] step ${line#@@STEP BEGIN }" ;;
        "@@STEP FAIL"*) echo "[$(el)] PROBLEM: that step failed: ${line#@@STEP FAIL }"; fail=1 ;;
        "@@FAIL "*) echo "[$(el)]     failed: ${line#@@FAIL }" ;;
        "@@TEST END "*) case $line in *" rc=0 "*) ;; *) fail=1 ;; esac ;;
        "@@LAB DONE"*) seen_done=1 ;;
        "@@HOST HARD-TIMEOUT"*) echo "[$(el)] PROBLEM: the VM hit its hard timeout and was killed"; fail=1 ;;
        "@@HOST QEMU-EXIT"*) echo "[$(el)] VM powered off." ;;
    esac
done < <("$HERE/lab.sh" --timeout "${DEMO_TIMEOUT:-240}" "$HERE/guest/demo-story.sh" "$HERE/t_seed_scenario.sh" 2>&1)
[ $seen_done = 1 ] || fail=1
if [ $fail = 0 ]; then echo "[$(el)] demo finished."; exit 0; fi
echo "[$(el)] demo FAILED (run tests/vm/run.sh tests/vm/guest/demo-story.sh for the details)"
exit 1
