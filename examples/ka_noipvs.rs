//! An LD_PRELOAD shim that lets keepalived's checker run on a kernel without
//! IPVS (benches/frontier.py; not part of lvsd).
//!
//! keepalived's health-check child exits at start when it cannot reach IPVS.
//! Its libipvs tries generic netlink first and, when the "IPVS" family is
//! missing, falls back to the old socket options on a raw socket
//! (`IP_VS_SO_GET_*` / `IP_VS_SO_SET_*` at level `IPPROTO_IP`). This library
//! answers those options itself: every set succeeds and does nothing, `GET_INFO`
//! and `GET_VERSION` describe an IPVS 1.2.1 with no services, the other gets
//! read as empty. Every other `getsockopt`/`setsockopt` goes to the kernel
//! unchanged. The checks themselves (connects, timers, the checker's loop)
//! are keepalived's own and untouched; only the table writes they lead to are
//! dropped, as `lvsd run --dry-run` keeps its table in memory.
//!
//! Build: `cargo build --release --example ka_noipvs` (a cdylib:
//! target/release/examples/libka_noipvs.so), then
//! `LD_PRELOAD=.../libka_noipvs.so keepalived ...`.

use std::os::raw::{c_int, c_long, c_uint, c_void};

/// `IPPROTO_IP`: the level of the IPVS socket options.
const IPPROTO_IP: c_int = 0;
/// linux/ip_vs.h: `IP_VS_BASE_CTL` (64 + 1024 + 64).
const IP_VS_BASE_CTL: c_int = 1152;
/// `IP_VS_SO_SET_ZERO`, the highest set option.
const IP_VS_SO_SET_MAX: c_int = IP_VS_BASE_CTL + 15;
/// `IP_VS_SO_GET_VERSION` (a text) and `IP_VS_SO_GET_INFO` (three u32s).
const IP_VS_SO_GET_VERSION: c_int = IP_VS_BASE_CTL;
const IP_VS_SO_GET_INFO: c_int = IP_VS_BASE_CTL + 1;
/// `IP_VS_SO_GET_DAEMON`, the highest get option.
const IP_VS_SO_GET_MAX: c_int = IP_VS_BASE_CTL + 7;
/// IPVS 1.2.1 as `ip_vs_getinfo.version` encodes it.
const VERSION: c_uint = (1 << 16) | (2 << 8) | 1;
/// The connection table size the fake reports.
const TABLE_SIZE: c_uint = 4096;

/// The IPVS options: a level and a name no other protocol uses.
fn is_ipvs(level: c_int, name: c_int, max: c_int) -> bool {
    level == IPPROTO_IP && (IP_VS_BASE_CTL..=max).contains(&name)
}

/// `setsockopt(2)`: IPVS options succeed and do nothing; the rest go to the
/// kernel.
///
/// # Safety
/// The caller's contract of setsockopt(2): `value` points to `len` readable
/// bytes (or is null with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *const c_void,
    len: u32,
) -> c_int {
    if is_ipvs(level, name, IP_VS_SO_SET_MAX) {
        return 0;
    }
    // SAFETY: the arguments are the caller's, passed on unchanged to the
    // system call; the raw syscall (not libc's symbol, which is this one)
    // avoids calling ourselves.
    let r: c_long = unsafe {
        libc::syscall(
            libc::SYS_setsockopt,
            fd as c_long,
            level as c_long,
            name as c_long,
            value,
            len as c_long,
        )
    };
    r as c_int
}

/// `getsockopt(2)`: IPVS options read an empty IPVS 1.2.1; the rest go to
/// the kernel.
///
/// # Safety
/// The caller's contract of getsockopt(2): `len` points to a writable
/// length and `value` to that many writable bytes.
#[no_mangle]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *mut c_void,
    len: *mut u32,
) -> c_int {
    if is_ipvs(level, name, IP_VS_SO_GET_MAX) {
        if value.is_null() || len.is_null() {
            return 0;
        }
        // SAFETY: getsockopt's contract: `len` is readable and `value` holds
        // `*len` writable bytes; nothing is written past `*len`.
        unsafe {
            let n = *len as usize;
            let buf = std::slice::from_raw_parts_mut(value as *mut u8, n);
            buf.fill(0);
            match name {
                IP_VS_SO_GET_VERSION => {
                    let text = b"IP Virtual Server version 1.2.1 (size=4096)";
                    let k = text.len().min(n.saturating_sub(1));
                    buf[..k].copy_from_slice(&text[..k]);
                }
                IP_VS_SO_GET_INFO => {
                    // struct ip_vs_getinfo { version, size, num_services }
                    for (i, v) in [VERSION, TABLE_SIZE, 0].iter().enumerate() {
                        let at = i * 4;
                        if at + 4 <= n {
                            buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
                        }
                    }
                }
                _ => {}
            }
        }
        return 0;
    }
    // SAFETY: as in setsockopt: the caller's arguments, unchanged, to the
    // raw system call.
    let r: c_long = unsafe {
        libc::syscall(
            libc::SYS_getsockopt,
            fd as c_long,
            level as c_long,
            name as c_long,
            value,
            len,
        )
    };
    r as c_int
}
