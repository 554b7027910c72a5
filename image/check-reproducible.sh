#!/bin/sh
# image/check-reproducible.sh [BOARD...]: build each board's image twice into
# separate directories (same inputs, same SOURCE_DATE_EPOCH) and compare the
# sha256 of vmlinuz and initramfs. Exits non-zero on any difference.
# Default boards: qemu-x86_64 generic-x86_64.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || set -- qemu-x86_64 generic-x86_64
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-repro.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
: "${SOURCE_DATE_EPOCH:=$(git -C "$HERE" log -1 --format=%ct 2>/dev/null || echo 0)}"
export SOURCE_DATE_EPOCH
status=0
for board in "$@"; do
    for n in 1 2; do
        # A different TMPDIR and umask for the second build shake out path
        # and permission leaks into the archive.
        mkdir -p "$TMP/tmp$n"
        ( [ $n = 2 ] && umask 077; TMPDIR=$TMP/tmp$n OUT_DIR=$TMP/$board.$n "$HERE/build.sh" "$board" ) 2>/dev/null ||
            { echo "check-reproducible: build $n of $board failed"; "$HERE/build.sh" "$board" >/dev/null; exit 1; }
    done
    for f in vmlinuz initramfs; do
        a=$(sha256sum < "$TMP/$board.1/$f" | cut -d' ' -f1)
        b=$(sha256sum < "$TMP/$board.2/$f" | cut -d' ' -f1)
        if [ "$a" = "$b" ]; then echo "reproducible: $board/$f $a"; else
            echo "NOT reproducible: $board/$f $a != $b"; status=1; fi
    done
done
exit $status
