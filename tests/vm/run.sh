#!/bin/bash
# tests/vm/run.sh TEST_SCRIPT...: run guest test scripts in ONE boot of the VM
# lab (tests/vm/lab.sh) and report per step. Prints PASS/FAIL for every step
# as it happens, the failing step's output and the lab's logs on failure,
# and exits non-zero when any step, test or the boot itself failed.
#   --timeout S   hard limit for the qemu run (default 300)
#   --no-build    do not rebuild image/out/qemu-x86_64
#   --tool PATH   one more program (and its libraries) in /opt/lab/bin (lab.sh)
# The full serial log of a failed run is kept in $VM_LOG (default
# /tmp/lvsd-vm-last.log), of a passing one too with VM_KEEP_LOG=1; temp files
# and qemu are always cleaned up.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_ARGS=() TESTS=()
while [ $# -gt 0 ]; do
    case $1 in
        --timeout) LAB_ARGS+=(--timeout "$2"); shift 2 ;;
        --no-build) LAB_ARGS+=(--no-build); shift ;;
        --append) LAB_ARGS+=(--append "$2"); shift 2 ;;
        --tool) LAB_ARGS+=(--tool "$2"); shift 2 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) TESTS+=("$1"); shift ;;
    esac
done
[ ${#TESTS[@]} -gt 0 ] || { echo "usage: tests/vm/run.sh [--timeout S] [--no-build] TEST_SCRIPT..." >&2; exit 2; }
VM_LOG=${VM_LOG:-/tmp/lvsd-vm-last.log}
RAW=$(mktemp "${TMPDIR:-/tmp}/lvsd-vm-run.XXXXXX")
LABPID=
cleanup() { [ -n "$LABPID" ] && kill "$LABPID" 2>/dev/null; rm -f "$RAW" "$RAW.fifo"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "vm: booting the lab for ${#TESTS[@]} test script(s): ${TESTS[*]##*/}"
mkfifo "$RAW.fifo"
"$HERE/lab.sh" "${LAB_ARGS[@]}" "${TESTS[@]}" > "$RAW.fifo" 2>&1 &
LABPID=$!

fails=0 steps=0 step_fails=0 tests_done=0 t_start=0 qemu_rc=
in_logs=0 step_buf= fail_buf= logs_buf= up_failed=0 lab_done=0 host_t0=
while IFS= read -r stamped; do
    printf '%s\n' "$stamped" >> "$RAW"
    t=${stamped%% *}; line=${stamped#* }
    case $line in
        "@@HOST QEMU-START"*) host_t0=$t ;;
        "@@LAB READY "*) printf 'vm: lab ready after %.1f s (guest uptime %s s)\n' "$(awk -v a="$host_t0" -v b="$t" 'BEGIN{print b-a}')" "${line#@@LAB READY }" ;;
        "@@LAB UP-FAILED"*) up_failed=1; echo "vm: FAIL lab did not come up:" ;;
        "@@LAB DONE"*) lab_done=1 ;;
        "@@TEST BEGIN "*) set -- ${line#@@TEST BEGIN }; echo "== $1"; t_start=$t ;;
        "@@STEP BEGIN "*) step_buf= fail_buf= ;;
        "@@STEP PASS "*) steps=$((steps + 1)); echo "  PASS  ${line#@@STEP PASS }" ;;
        "@@STEP FAIL "*) steps=$((steps + 1)); step_fails=$((step_fails + 1))
            echo "  FAIL  ${line#@@STEP FAIL }"
            printf '%s' "$fail_buf"
            echo "        -- output of the failing step:"; printf '%s' "$step_buf" | sed 's/^/        | /' ;;
        "@@FAIL "*) fail_buf+="        ${line#@@FAIL }"$'\n'; step_buf+="$line"$'\n' ;;
        "@@LOGS BEGIN"*) in_logs=1 logs_buf= ;;
        "@@LOGS END"*) in_logs=0 ;;
        "@@TEST END "*) set -- ${line#@@TEST END }; tests_done=$((tests_done + 1))
            secs=$(awk -v a="$t_start" -v b="$t" 'BEGIN{print b-a}')
            if [ "$2" = rc=0 ]; then printf '  => %s PASS (%.1f s)\n' "$1" "$secs"; else
                fails=$((fails + 1)); printf '  => %s FAIL (%s, %.1f s)\n' "$1" "$2" "$secs"
                echo "  -- lab logs:"; printf '%s' "$logs_buf" | sed 's/^/  | /'; fi ;;
        "figure: "*) echo "        $line"; step_buf+="$line"$'\n' ;;
        "@@HOST HARD-TIMEOUT"*) echo "vm: FAIL ${line#@@HOST }" ;;
        "@@HOST QEMU-EXIT "*) qemu_rc=${line#@@HOST QEMU-EXIT rc=} ;;
        *) if [ $in_logs = 1 ]; then logs_buf+="$line"$'\n'; else step_buf+="$line"$'\n'; fi
           [ $up_failed = 1 ] && echo "  | $line" ;;
    esac
done < "$RAW.fifo"
wait "$LABPID"; lab_rc=$?; LABPID=

ok=1
[ $tests_done -eq ${#TESTS[@]} ] || { ok=0; echo "vm: FAIL only $tests_done of ${#TESTS[@]} test scripts finished (crash, hang or boot failure)"; }
[ $lab_done = 1 ] || { ok=0; echo "vm: FAIL the guest did not finish (no @@LAB DONE); last serial lines:"; tail -n 25 "$RAW" | cut -d' ' -f2- | sed 's/^/  | /'; }
[ "$lab_rc" = 0 ] || { ok=0; echo "vm: FAIL lab.sh exited $lab_rc (qemu rc=${qemu_rc:-?}; 124 = hard timeout)"; }
[ $fails -eq 0 ] && [ $up_failed = 0 ] || ok=0
echo "vm: $((steps - step_fails))/$steps steps passed, $((tests_done - fails))/${#TESTS[@]} tests passed"
if [ $ok = 1 ]; then
    # VM_KEEP_LOG=1: keep the serial log of a passing run too (the steps'
    # own output, which a pass does not print).
    [ -n "${VM_KEEP_LOG:-}" ] && cp "$RAW" "$VM_LOG" 2>/dev/null && echo "vm: full serial log: $VM_LOG"
    echo "vm: PASS"; exit 0
fi
cp "$RAW" "$VM_LOG" 2>/dev/null && echo "vm: full serial log: $VM_LOG"
echo "vm: FAIL"
exit 1
