#!/usr/bin/env bash
# Prints lvsd's benchmark figures. Each section says what it measured and the
# target it is held to; nothing here asserts, the figures are for people.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/x86_64-unknown-linux-musl/release/lvsd
[ -x "$BIN" ] || { echo "bench: $BIN missing; run make build" >&2; exit 1; }

echo "== binary"
size=$(stat -c %s "$BIN")
budget=2044568 # issue 11: no larger than the binary of b4bb39a
printf 'static stripped binary: %d bytes (%d KiB); budget %d bytes: %s\n' "$size" $((size / 1024)) $budget \
    "$([ "$size" -le $budget ] && echo within || echo "over by $((size - budget))")"

for section in benches/*.bench.sh; do
    [ -e "$section" ] || continue
    echo
    echo "== $(basename "$section" .bench.sh)"
    bash "$section" "$BIN"
done
