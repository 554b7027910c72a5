# Run by benches/run.sh: hostile inputs against one lvsd loop (issue 10 item 11).
# Root, network namespaces, tcpdump and python3; lvsd --dry-run. For each
# hostile source (fast chunked HTTP server, trickling SMTP server, silent
# server, 100,000 bad adverts/s, 1,000-advert bursts, 64 idle control clients,
# an rtnetlink flood) and a baseline without one: the advert lateness of a
# VRRPv3 instance at advert_int 0.1 s in the same loop (lvsd's histogram and a
# capture), the status answer time and false state changes, beside the target
# (p99 <= 1 ms, max <= 5 ms, none). WINDOW=SECONDS per row (default 10); extra
# arguments pick rows: `bash benches/hostile.bench.sh LVSD bursts smtp`.
# See benches/hostile.py. Prints figures; asserts nothing.
set -uo pipefail
LVSD=${1:?usage: hostile.bench.sh LVSD_BINARY [SOURCE...]}
shift
if [ "$(id -u)" != 0 ] || ! command -v tcpdump >/dev/null || ! command -v python3 >/dev/null; then
    echo "hostile: skipped (needs root, ip netns, tcpdump and python3)"
    exit 0
fi
if ! cargo build --quiet --release --example flood --example burst 2>/dev/null; then
    echo "hostile: skipped (the flood and burst examples did not build)"
    exit 0
fi
python3 benches/hostile.py "$LVSD" target/release/examples "$@"
