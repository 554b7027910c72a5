#!/bin/bash
# tests/vm/run-traffic.sh [run.sh options] SUITE...: run the client-side
# suites (tests/vm/client/t_*.sh: the fault matrix, the soak) in one boot of the VM lab, with the traffic probe
# (examples/traffic.rs, built static for musl), the farm as the real
# servers' HTTP service (examples/farm.rs) and keepalived (Debian's, a
# witness beside lvsd, never in the image) added to the overlay with --tool.
# Each suite is sent as /lab/lib.sh + tests/vm/client/lib-client.sh + the
# suite. Options are run.sh's (--timeout, --no-build, --append).
# In CI (CI=true) a missing keepalived or probe is a failure; elsewhere the
# run is skipped with the reason.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
skip() {
    if [ "${CI:-}" = true ]; then echo "run-traffic: FAIL: $*" >&2; exit 1; fi
    echo "run-traffic: skipped: $*"; exit 0
}
KA=$(command -v keepalived || echo /usr/sbin/keepalived)
[ -x "$KA" ] || skip "keepalived not installed (apt-get install keepalived; scripts/deps.sh)"
(cd "$ROOT" && cargo build -q --release --target x86_64-unknown-linux-musl --example traffic --example farm) ||
    skip "examples/traffic.rs or farm.rs does not build for x86_64-unknown-linux-musl"
PROBE=$ROOT/target/x86_64-unknown-linux-musl/release/examples/traffic
FARM=$ROOT/target/x86_64-unknown-linux-musl/release/examples/farm
ARGS=() SUITES=()
while [ $# -gt 0 ]; do
    case $1 in
        --timeout|--append) ARGS+=("$1" "$2"); shift 2 ;;
        --no-build) ARGS+=("$1"); shift ;;
        -*) echo "run-traffic: unknown option $1" >&2; exit 2 ;;
        *) [ -f "$1" ] || { echo "run-traffic: no suite $1" >&2; exit 2; }; SUITES+=("$1"); shift ;;
    esac
done
[ ${#SUITES[@]} -gt 0 ] || { echo "usage: tests/vm/run-traffic.sh [--timeout S] [--no-build] [--append 'K=V'] SUITE..." >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-traffic.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
GUEST=()
for s in "${SUITES[@]}"; do
    g=$TMP/$(basename "$s")
    { echo '#!/bin/sh'; echo '. /lab/lib.sh'; cat "$HERE/client/lib-client.sh"; sed '1{/^#!/d}' "$s"; } > "$g"
    GUEST+=("$g")
done
"$HERE/run.sh" "${ARGS[@]}" --tool "$KA" --tool "$PROBE" --tool "$FARM" "${GUEST[@]}"
