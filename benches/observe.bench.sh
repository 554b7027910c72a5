# Run by benches/run.sh (bash SECTION LVSD_BINARY): issue 13's metrics endpoint. Scrape time and
# size for 1, 100 and 10,000 real servers; advert lateness of a VRRPv3
# instance (advert_int 0.1 s) with the 10,000-server table scraped every
# 100 ms, beside the same run without scrapes; RSS with metrics off and on.
# Root and ip netns; lvsd --dry-run (no IPVS in this host's kernel).
# WINDOW=SECONDS sets each lateness window (default 20).
set -uo pipefail
if [ "$(id -u)" != 0 ] || ! command -v python3 >/dev/null || ! ip netns list >/dev/null 2>&1; then
    echo "observe: skipped (needs root, ip netns and python3)"
    return 0 2>/dev/null || exit 0
fi
python3 benches/observe.py "$1" "${WINDOW:-20}"
