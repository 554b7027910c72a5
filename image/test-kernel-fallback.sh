#!/bin/sh
# image/test-kernel-fallback.sh: the kernel pin cannot vanish (issue 14).
# In a temporary copy of image/ and board/, pin a kernel version Debian never
# had, build the qemu-x86_64 image twice and check that
#   - the build succeeds with the current linux-image-<flavour>,
#   - it says so loudly (WARNING ... FALLING BACK),
#   - release.txt names the fallback kernel and the missed pin,
#   - both builds are byte-identical (what check-reproducible.sh compares).
# Needs apt access (it downloads the current cloud kernel once into the
# copy's cache; KERNEL_FALLBACK_CACHE=DIR reuses .debs from DIR). In CI a
# missing prerequisite is a failure; elsewhere a skip with the reason.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
skip() { if [ "${CI:-}" = true ]; then echo "kernel-fallback: FAIL: $*"; exit 1; fi; echo "kernel-fallback: skipped: $*"; exit 0; }
command -v apt-get >/dev/null 2>&1 || skip "apt-get not available"
LVSD_BIN=${LVSD_BIN:-$ROOT/target/x86_64-unknown-linux-musl/release/lvsd}
[ -x "$LVSD_BIN" ] || skip "no $LVSD_BIN (make build)"
export LVSD_BIN
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-kfb.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
mkdir -p "$TMP/repo"
cp -a "$ROOT/image" "$ROOT/board" "$TMP/repo/"
rm -rf "$TMP/repo/image/out" "$TMP/repo/image/cache"; mkdir -p "$TMP/repo/image/cache"
[ -n "${KERNEL_FALLBACK_CACHE:-}" ] && cp "$KERNEL_FALLBACK_CACHE"/*.deb "$TMP/repo/image/cache/" 2>/dev/null || true
printf 'KERNEL_ABI=6.1.0-999\nKERNEL_PKG_VERSION=6.1.999-99\n' > "$TMP/repo/image/kernel.version"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
unset KERNEL_DEB
status=0
for n in 1 2; do
    if ! OUT_DIR=$TMP/out$n "$TMP/repo/image/build.sh" qemu-x86_64 > "$TMP/log$n" 2>&1; then
        echo "kernel-fallback: FAIL: build $n failed:"; tail -n 15 "$TMP/log$n"; exit 1
    fi
done
grep -q 'WARNING: FALLING BACK' "$TMP/log1" && echo "ok: the build warns: $(grep 'FALLING BACK' "$TMP/log1" | sed 's/^image.build.sh: //')" ||
    { echo "kernel-fallback: FAIL: no loud warning"; cat "$TMP/log1"; status=1; }
rel=$(sed -n 's/^KERNEL=//p' "$TMP/out1/release.txt")
case $rel in
    *FALLBACK*6.1.0-999*) echo "ok: release.txt says KERNEL=$rel" ;;
    *) echo "kernel-fallback: FAIL: release.txt says KERNEL=$rel"; status=1 ;;
esac
for f in vmlinuz initramfs; do
    a=$(sha256sum < "$TMP/out1/$f" | cut -d' ' -f1); b=$(sha256sum < "$TMP/out2/$f" | cut -d' ' -f1)
    if [ "$a" = "$b" ]; then echo "ok: reproducible with the fallback kernel: $f $a"; else
        echo "kernel-fallback: FAIL: $f differs between two builds: $a $b"; status=1; fi
done
[ -n "${KERNEL_FALLBACK_CACHE:-}" ] && cp -n "$TMP/repo/image/cache"/*.deb "$KERNEL_FALLBACK_CACHE/" 2>/dev/null || true
[ $status = 0 ] && echo "kernel-fallback: PASS" || echo "kernel-fallback: FAIL"
exit $status
