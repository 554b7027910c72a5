#!/usr/bin/env bash
# Installs what building and testing lvsd needs on a bare Debian machine of
# this project's kind: apt packages and the Rust musl target. Idempotent and
# quiet when everything is already there.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
pkg_for() { # command package
    have "$1" || need_apt+=("$2")
}
pkg_for musl-gcc musl-tools
pkg_for qemu-system-x86_64 qemu-system-x86
pkg_for cpio cpio
pkg_for depmod kmod
pkg_for ip iproute2
pkg_for tcpdump tcpdump
pkg_for nginx nginx
pkg_for keepalived keepalived
pkg_for ipvsadm ipvsadm
pkg_for openssl openssl
pkg_for dnsmasq dnsmasq-base   # the DNS server of the DNS_CHECK test
pkg_for promtool prometheus   # promtool and the server for the metrics tests
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
# The JSON schema test of `lvsd status --json` (tests/netns_observe.rs).
python3 -c 'import jsonschema' >/dev/null 2>&1 || need_apt+=(python3-jsonschema)

if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing packages ${need_apt[*]}; run as root or install them" >&2
        exit 1
    fi
    echo "deps: installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -qq; then
        echo "deps: apt-get update failed: no access to Debian's package archive?" >&2
        exit 1
    fi
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    # The Debian packages start services we do not want running on a build box.
    for svc in nginx keepalived; do
        if have systemctl; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
        if [ -x /etc/init.d/$svc ]; then /etc/init.d/$svc stop >/dev/null 2>&1 || true; fi
    done
fi

if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    echo "deps: adding Rust target x86_64-unknown-linux-musl"
    rustup target add x86_64-unknown-linux-musl >/dev/null
fi
