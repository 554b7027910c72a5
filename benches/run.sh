#!/usr/bin/env bash
# Prints lvsd's benchmark figures. Each section says what it measured and the
# target it is held to; nothing here asserts, the figures are for people.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/x86_64-unknown-linux-musl/release/lvsd
[ -x "$BIN" ] || { echo "bench: $BIN missing; run make build" >&2; exit 1; }

echo "== binary"
size=$(stat -c %s "$BIN")
printf 'static stripped binary: %d bytes (%d KiB); target at the foundation stage <= 700 KiB\n' "$size" $((size / 1024))

for section in benches/*.bench.sh; do
    [ -e "$section" ] || continue
    echo
    echo "== $(basename "$section" .bench.sh)"
    bash "$section" "$BIN"
done
