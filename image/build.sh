#!/usr/bin/env bash
# image/build.sh BOARD: build the bootable lvsd appliance image
# image/out/<BOARD>/{vmlinuz,initramfs} from Debian's cloud kernel package
# (pinned in image/kernel.version), busybox-static, the static lvsd binary and
# the files of board/<BOARD>/. Reproducible: fixed mtimes (SOURCE_DATE_EPOCH),
# sorted newc cpio with uid/gid 0, gzip -n.
#
# Environment:
#   LVSD_BIN           lvsd binary (default target/x86_64-unknown-linux-musl/release/lvsd)
#   BUSYBOX            static busybox (default /bin/busybox, Debian busybox-static)
#   SOURCE_DATE_EPOCH  mtime for every file (default: the last git commit time)
#   OUT_DIR            output directory (default image/out/<BOARD>)
#   KERNEL_DEB         use this kernel .deb instead of the cache / apt
#   APT_DOWNLOAD_OPTS  extra options for apt-get download (e.g. -o Acquire::...)
set -euo pipefail

die() { echo "image/build.sh: error: $*" >&2; exit 1; }
note() { echo "image/build.sh: $*" >&2; }

[ $# -eq 1 ] || die "usage: image/build.sh BOARD   (boards: $(ls "$(dirname "$0")/../board" 2>/dev/null | tr '\n' ' '))"
BOARD=$1
IMAGE_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$IMAGE_DIR")
BOARD_DIR=$ROOT/board/$BOARD
OUT_DIR=${OUT_DIR:-$IMAGE_DIR/out/$BOARD}
CACHE_DIR=$IMAGE_DIR/cache
LVSD_BIN=${LVSD_BIN:-$ROOT/target/x86_64-unknown-linux-musl/release/lvsd}
BUSYBOX=${BUSYBOX:-/bin/busybox}
export LC_ALL=C TZ=UTC

# ---- inputs: kernel pin -------------------------------------------------
[ -r "$IMAGE_DIR/kernel.version" ] || die "image/kernel.version is missing"
KERNEL_ABI= KERNEL_PKG_VERSION=
. "$IMAGE_DIR/kernel.version"
[ -n "$KERNEL_ABI" ] && [ -n "$KERNEL_PKG_VERSION" ] ||
    die "image/kernel.version must set KERNEL_ABI and KERNEL_PKG_VERSION"

# ---- inputs: board folder -----------------------------------------------
[ -d "$BOARD_DIR" ] || die "no board '$BOARD': $BOARD_DIR does not exist (boards: $(ls "$ROOT/board" | tr '\n' ' '))"
for f in board.conf modules sysctl.conf lvsd.ini README.md; do
    [ -f "$BOARD_DIR/$f" ] || die "board '$BOARD' is broken: board/$BOARD/$f is missing (every board has board.conf, modules, sysctl.conf, lvsd.ini, README.md)"
done
sh -n "$BOARD_DIR/board.conf" 2>/dev/null || die "board '$BOARD' is broken: board/$BOARD/board.conf is not valid shell: $(sh -n "$BOARD_DIR/board.conf" 2>&1 | head -1)"
# Read the board in a subshell so it cannot change our variables.
KERNEL_FLAVOUR=$( (. "$BOARD_DIR/board.conf" >/dev/null 2>&1; echo "${KERNEL_FLAVOUR:-}") ) ||
    die "board '$BOARD' is broken: sourcing board/$BOARD/board.conf failed"
[ -n "$KERNEL_FLAVOUR" ] || die "board '$BOARD' is broken: board.conf does not set KERNEL_FLAVOUR"
BOARD_NAME=$( (. "$BOARD_DIR/board.conf" >/dev/null 2>&1; echo "${BOARD_NAME:-}") )
[ "$BOARD_NAME" = "$BOARD" ] || die "board '$BOARD' is broken: board.conf says BOARD_NAME='$BOARD_NAME', expected '$BOARD'"
while IFS= read -r line; do
    line=${line%%#*}; line=$(echo "$line" | tr -d ' \t')
    [ -z "$line" ] && continue
    case $line in *[!A-Za-z0-9_-]*) die "board '$BOARD' is broken: board/$BOARD/modules: '$line' is not a module name";; esac
done < "$BOARD_DIR/modules"
grep -q '^[[:space:]]*\[' "$BOARD_DIR/lvsd.ini" || die "board '$BOARD' is broken: board/$BOARD/lvsd.ini has no [section]"

# ---- inputs: lvsd, busybox ----------------------------------------------
[ -e "$LVSD_BIN" ] || die "lvsd binary not found at $LVSD_BIN; build it first with 'make' (cargo build --release --target x86_64-unknown-linux-musl) or set LVSD_BIN"
[ -x "$LVSD_BIN" ] || die "lvsd binary $LVSD_BIN is not executable"
is_static() { ! LC_ALL=C readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter' && LC_ALL=C readelf -h "$1" >/dev/null 2>&1; }
is_static "$LVSD_BIN" || die "lvsd binary $LVSD_BIN is not a static ELF executable (the image has no libc); build the x86_64-unknown-linux-musl target"
[ -x "$BUSYBOX" ] || die "busybox not found at $BUSYBOX; install it with 'apt-get install busybox-static' or set BUSYBOX"
is_static "$BUSYBOX" || die "$BUSYBOX is not a static busybox; install busybox-static (not busybox) or set BUSYBOX"

# ---- inputs: kernel package ---------------------------------------------
# The pin first (image/kernel.version). When Debian has removed that version
# from its archive, the build falls back to the kernel the metapackage
# linux-image-$KERNEL_FLAVOUR points at today, with a loud warning, so that a
# fresh machine still builds and tests; the image's /etc/lvsd-release and
# release.txt name the kernel actually used, and two builds on the same apt
# state pick the same fallback (check-reproducible.sh compares those).
PKG=linux-image-$KERNEL_ABI-$KERNEL_FLAVOUR
KVER=$KERNEL_ABI-$KERNEL_FLAVOUR
PIN_NOTE=
# apt_fetch PKG VERSION DEST: download PKG=VERSION to DEST; on failure print why.
apt_fetch() {
    command -v apt-get >/dev/null 2>&1 || { echo "apt-get is not available"; return 1; }
    mkdir -p "$CACHE_DIR"
    _tmpd=$(mktemp -d "$CACHE_DIR/dl.XXXXXX")
    if ! (cd "$_tmpd" && apt-get ${APT_DOWNLOAD_OPTS:-} download "$1=$2") >"$_tmpd/log" 2>&1; then
        if grep -qiE 'Unable to locate|Can.t find a source|Version .* was not found' "$_tmpd/log"; then
            echo "apt does not know $1=$2 (run 'apt-get update'; if it is still missing, Debian removed it)"
        else
            echo "no apt access? (apt says: $(grep -E '^(E|Err):' "$_tmpd/log" | head -2 | tr '\n' ' '))"
        fi
        rm -rf "$_tmpd"; return 1
    fi
    mv "$_tmpd"/*.deb "$3" 2>/dev/null || { rm -rf "$_tmpd"; echo "apt-get download produced no .deb for $1"; return 1; }
    rm -rf "$_tmpd"
}
DEB=${KERNEL_DEB:-$CACHE_DIR/${PKG}_${KERNEL_PKG_VERSION}_amd64.deb}
if [ ! -s "$DEB" ]; then
    [ -z "${KERNEL_DEB:-}" ] || die "KERNEL_DEB=$KERNEL_DEB does not exist"
    note "downloading $PKG=$KERNEL_PKG_VERSION into image/cache/"
    if ! why=$(apt_fetch "$PKG" "$KERNEL_PKG_VERSION" "$DEB"); then
        META=linux-image-$KERNEL_FLAVOUR
        FB_PKG=$(apt-cache depends "$META" 2>/dev/null | sed -n "s/^ *Depends: \(linux-image-[0-9][^ ]*-$KERNEL_FLAVOUR\)\$/\1/p" | head -n 1)
        FB_VER=
        [ -n "$FB_PKG" ] && FB_VER=$(apt-cache show --no-all-versions "$FB_PKG" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
        [ -n "$FB_PKG" ] && [ -n "$FB_VER" ] ||
            die "could not download the pinned kernel $PKG=$KERNEL_PKG_VERSION ($why), and apt names no current $META to fall back to"
        FB_ABI=${FB_PKG#linux-image-}; FB_ABI=${FB_ABI%-$KERNEL_FLAVOUR}
        {
            echo "image/build.sh: ######################################################################"
            echo "image/build.sh: WARNING: the pinned kernel $PKG=$KERNEL_PKG_VERSION cannot be fetched:"
            echo "image/build.sh: WARNING:   $why"
            echo "image/build.sh: WARNING: FALLING BACK to the current $META: $FB_PKG=$FB_VER."
            echo "image/build.sh: WARNING: This image is NOT the pinned one. Update image/kernel.version to"
            echo "image/build.sh: WARNING:   KERNEL_ABI=$FB_ABI"
            echo "image/build.sh: WARNING:   KERNEL_PKG_VERSION=$FB_VER"
            echo "image/build.sh: ######################################################################"
        } >&2
        PIN_NOTE=" (FALLBACK: pinned $PKG $KERNEL_PKG_VERSION could not be fetched)"
        KERNEL_ABI=$FB_ABI KERNEL_PKG_VERSION=$FB_VER PKG=$FB_PKG KVER=$FB_ABI-$KERNEL_FLAVOUR
        DEB=$CACHE_DIR/${PKG}_${KERNEL_PKG_VERSION}_amd64.deb
        if [ ! -s "$DEB" ]; then
            note "downloading the fallback $PKG=$KERNEL_PKG_VERSION into image/cache/"
            why=$(apt_fetch "$PKG" "$KERNEL_PKG_VERSION" "$DEB") ||
                die "could not download the fallback kernel $PKG=$KERNEL_PKG_VERSION either: $why"
        fi
    fi
fi
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb is needed to unpack $DEB"
command -v depmod >/dev/null 2>&1 || die "depmod (kmod) is needed"
command -v cpio >/dev/null 2>&1 || die "cpio is needed"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH

# ---- work area ------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
KPKG=$WORK/kpkg
RFS=$WORK/root
mkdir -p "$KPKG" "$RFS"
dpkg-deb -x "$DEB" "$KPKG" 2>"$WORK/err" || die "cannot unpack $DEB ($(head -1 "$WORK/err")); delete it so it is downloaded again"
KMOD=$KPKG/lib/modules/$KVER
[ -f "$KPKG/boot/vmlinuz-$KVER" ] && [ -d "$KMOD" ] || die "$DEB does not hold vmlinuz-$KVER and lib/modules/$KVER"
depmod -b "$KPKG" "$KVER" || die "depmod on the full kernel module tree failed"

# ---- module closure via modules.dep ---------------------------------------
: > "$WORK/mods"
while IFS= read -r name; do
    name=${name%%#*}; name=$(echo "$name" | tr -d ' \t')
    [ -z "$name" ] && continue
    # modules.dep lines: "kernel/path/name.ko: dep1.ko dep2.ko"; - and _ are the same.
    alt=$(echo "$name" | tr '_-' '-_')
    line=$(grep -E "/($name|$alt)\.ko(\.[a-z]+)?:" "$KMOD/modules.dep" | head -1) || true
    if [ -z "$line" ]; then
        if grep -qE "/($name|$alt)\.ko" "$KMOD/modules.builtin"; then continue; fi
        die "board '$BOARD' is broken: module '$name' (board/$BOARD/modules) is not in kernel $KVER"
    fi
    echo "$line" | tr -d ':' | tr ' ' '\n' | grep . >> "$WORK/mods"
done < "$BOARD_DIR/modules"
sort -u "$WORK/mods" > "$WORK/mods.sorted"
MDEST=$RFS/lib/modules/$KVER
while IFS= read -r m; do
    mkdir -p "$MDEST/$(dirname "$m")"
    cp "$KMOD/$m" "$MDEST/$m"
done < "$WORK/mods.sorted"
cp "$KMOD/modules.builtin" "$KMOD/modules.builtin.modinfo" "$KMOD/modules.order" "$MDEST/"
depmod -b "$RFS" "$KVER" || die "depmod on the reduced module set failed"
# Binary indexes are not needed by busybox modprobe; keep the image small.
rm -f "$MDEST"/*.bin "$MDEST/modules.builtin.modinfo"

# ---- busybox --------------------------------------------------------------
for d in bin sbin usr/bin usr/sbin etc/lvsd proc sys dev run tmp var root; do mkdir -p "$RFS/$d"; done
cp "$BUSYBOX" "$RFS/bin/busybox"
"$BUSYBOX" --list-full | while IFS= read -r app; do
    case $app in bin/busybox) continue;; esac
    [ -e "$RFS/$app" ] && continue
    # Relative symlinks so they work anywhere the tree is unpacked.
    up=$(echo "$app" | sed -e 's|[^/]*/|../|g' -e 's|[^/]*$||')
    ln -s "${up}bin/busybox" "$RFS/$app"
done
ln -sf /run "$RFS/var/run"
ln -sf /tmp "$RFS/var/tmp"

# ---- lvsd, board files, init ----------------------------------------------
install -m 0755 "$LVSD_BIN" "$RFS/usr/sbin/lvsd"
install -m 0644 "$BOARD_DIR/lvsd.ini" "$RFS/etc/lvsd/lvsd.ini"
install -m 0644 "$BOARD_DIR/board.conf" "$RFS/etc/board.conf"
install -m 0644 "$BOARD_DIR/sysctl.conf" "$RFS/etc/sysctl.conf"
{ grep -v '^[[:space:]]*\(#\|$\)' "$BOARD_DIR/modules" || true; } | tr -d ' \t' > "$RFS/etc/modules"
install -m 0755 "$IMAGE_DIR/rootfs/init" "$RFS/init"
install -m 0755 "$IMAGE_DIR/rootfs/lvsd-supervise" "$RFS/sbin/lvsd-supervise"
# ---- BIRD 2 (board.conf BIRD=yes): the routing daemon of announce mode -----
# Debian's bird2 binaries with the shared libraries ldd names (the image has
# no other libc user), the board's bird.conf, and an inittab line below.
WANT_BIRD=$( (. "$BOARD_DIR/board.conf" >/dev/null 2>&1; echo "${BIRD:-no}") )
case $WANT_BIRD in
    yes)
        BIRD_BIN=${BIRD_BIN:-/usr/sbin/bird} BIRDC_BIN=${BIRDC_BIN:-/usr/sbin/birdc}
        for prog in "$BIRD_BIN" "$BIRDC_BIN"; do
            [ -x "$prog" ] || die "board '$BOARD' asks for BIRD (BIRD=yes) but $prog is missing; install it with 'apt-get install bird2'"
            install -m 0755 "$prog" "$RFS/usr/sbin/$(basename "$prog")"
            for lib in $(ldd "$prog" 2>/dev/null | grep -o '/[^ ]*'); do
                mkdir -p "$RFS$(dirname "$lib")"; cp -L "$lib" "$RFS$lib"
            done
        done
        [ -f "$BOARD_DIR/bird.conf" ] || die "board '$BOARD' is broken: BIRD=yes needs board/$BOARD/bird.conf (see docs/examples/bird-director.conf)"
        mkdir -p "$RFS/etc/bird"
        install -m 0644 "$BOARD_DIR/bird.conf" "$RFS/etc/bird/bird.conf"
        "$BIRD_BIN" -p -c "$BOARD_DIR/bird.conf" 2>"$WORK/err" || die "board '$BOARD' is broken: board/$BOARD/bird.conf: $(head -1 "$WORK/err")"
        ;;
    no) ;;
    *) die "board '$BOARD' is broken: board.conf BIRD='$WANT_BIRD' must be yes or no" ;;
esac
CONSOLE_SHELL=$( (. "$BOARD_DIR/board.conf" >/dev/null 2>&1; echo "${CONSOLE_SHELL:-no}") )
CONSOLE_TTY=$( (. "$BOARD_DIR/board.conf" >/dev/null 2>&1; echo "${CONSOLE:-ttyS0}") )
{
    echo "# busybox init, appliance mode (generated by image/build.sh for $BOARD)"
    echo "::respawn:/sbin/lvsd-supervise"
    if [ "$WANT_BIRD" = yes ]; then echo "::respawn:/usr/sbin/bird -f -c /etc/bird/bird.conf -s /run/bird.ctl"; fi
    [ "$CONSOLE_SHELL" = yes ] && echo "$CONSOLE_TTY::respawn:-/bin/sh"
    echo "::ctrlaltdel:/bin/busybox poweroff"
    echo "::shutdown:/bin/busybox killall -TERM lvsd-supervise"
} > "$RFS/etc/inittab"
chmod 0644 "$RFS/etc/inittab"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$RFS/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$RFS/etc/group"
chmod 0644 "$RFS/etc/passwd" "$RFS/etc/group"
{
    echo "BOARD=$BOARD"
    echo "KERNEL=$KVER ($PKG $KERNEL_PKG_VERSION)$PIN_NOTE"
    echo "LVSD_SHA256=$(sha256sum < "$LVSD_BIN" | cut -d' ' -f1)"
    echo "BUSYBOX=$("$BUSYBOX" 2>&1 | head -1 | sed 's/ multi-call.*//')"
    if [ "$WANT_BIRD" = yes ]; then echo "BIRD=$("$BIRD_BIN" --version 2>&1 | head -1)"; fi
    echo "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
} > "$RFS/etc/lvsd-release"

# ---- pack reproducibly ------------------------------------------------------
# Modes must not depend on the builder's umask: dirs and executables 0755,
# other files 0644 (symlinks have no mode of their own).
find "$RFS" -type d -exec chmod 0755 {} +
find "$RFS" -type f -perm -u+x -exec chmod 0755 {} +
find "$RFS" -type f ! -perm -u+x -exec chmod 0644 {} +
chmod 1777 "$RFS/tmp"
find "$RFS" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$OUT_DIR"
(cd "$RFS" && find . -mindepth 1 | sed 's|^\./||' | sort |
    cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -9 > "$WORK/initramfs"
cp "$KPKG/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
touch -d "@$SOURCE_DATE_EPOCH" "$WORK/initramfs" "$WORK/vmlinuz"
mv "$WORK/initramfs" "$OUT_DIR/initramfs"
mv "$WORK/vmlinuz" "$OUT_DIR/vmlinuz"
cp "$RFS/etc/lvsd-release" "$OUT_DIR/release.txt"
(cd "$OUT_DIR" && sha256sum vmlinuz initramfs > SHA256SUMS)
note "built $OUT_DIR: initramfs $(wc -c < "$OUT_DIR/initramfs") bytes, $(wc -l < "$WORK/mods.sorted") modules, kernel $KVER"
