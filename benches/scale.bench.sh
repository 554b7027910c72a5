# Run by benches/run.sh (bash SECTION LVSD_BINARY): the checker and the VRRP loop at scale (root, a
# network namespace; lvsd --dry-run because this host's kernel has no IPVS).
# 10,000 TCP_CHECKs and 2,000 HTTP_GETs every second against a local farm,
# with a VRRPv3 instance (advert_int 0.1 s) in the same loop; 64 idle
# instances; a 100,000/s bad-advert flood. WINDOW=SECONDS sets the measuring
# window (default 20). See benches/scale.py for how each figure is taken.
set -uo pipefail
if [ "$(id -u)" != 0 ] || ! command -v tcpdump >/dev/null || ! command -v python3 >/dev/null; then
    echo "scale: skipped (needs root, ip netns, tcpdump and python3)"
    return 0 2>/dev/null || exit 0
fi
if ! cargo build --quiet --release --example farm --example flood --example connloop 2>/dev/null; then
    echo "scale: skipped (the farm/flood/connloop examples did not build)"
    return 0 2>/dev/null || exit 0
fi
ex=target/release/examples
python3 benches/scale.py "$1" $ex/farm $ex/flood checks tcp 10000
python3 benches/scale.py "$1" $ex/farm $ex/flood checks http 2000
python3 benches/scale.py "$1" $ex/farm $ex/flood vrrp-idle 64
python3 benches/scale.py "$1" $ex/farm $ex/flood flood 100000
