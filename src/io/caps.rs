//! Linux capabilities with raw syscalls (capget/capset, prctl): read the
//! process's sets and shrink them. Which capabilities to keep is the
//! daemon's decision; this module only carries it out.
//!
//! Order matters: the bounding set is shrunk first (PR_CAPBSET_DROP needs
//! CAP_SETPCAP in the effective set), then the permitted and effective sets
//! (which drops CAP_SETPCAP itself when it is not kept). The inheritable and
//! ambient sets are emptied, so a script run as another user gets nothing,
//! and a script run as root gets the bounding set and no more.

use std::io;

/// A set of capabilities as a bit mask (bit n = capability n).
pub type CapSet = u64;

/// `CAP_CHOWN`.
pub const CHOWN: u32 = 0;
/// `CAP_KILL`: signal processes of other users (scripts run as `script_user`).
pub const KILL: u32 = 5;
/// `CAP_SETGID`.
pub const SETGID: u32 = 6;
/// `CAP_SETUID`.
pub const SETUID: u32 = 7;
/// `CAP_SETPCAP`.
pub const SETPCAP: u32 = 8;
/// `CAP_NET_ADMIN`: IPVS, addresses, links.
pub const NET_ADMIN: u32 = 12;
/// `CAP_NET_RAW`: VRRP raw sockets, the packet socket for gratuitous ARP.
pub const NET_RAW: u32 = 13;

/// The mask of one capability.
pub const fn bit(cap: u32) -> CapSet {
    1 << cap
}

const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The sets of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sets {
    /// Effective.
    pub effective: CapSet,
    /// Permitted.
    pub permitted: CapSet,
    /// Inheritable.
    pub inheritable: CapSet,
}

fn join(data: &[Data; 2], f: impl Fn(&Data) -> u32) -> CapSet {
    u64::from(f(&data[0])) | u64::from(f(&data[1])) << 32
}

/// Reads the effective, permitted and inheritable sets.
pub fn current() -> io::Result<Sets> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget writes two Data structs (version 3) into `data`.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Sets {
        effective: join(&data, |d| d.effective),
        permitted: join(&data, |d| d.permitted),
        inheritable: join(&data, |d| d.inheritable),
    })
}

/// The highest capability number this kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
        .min(63)
}

/// Reads the bounding set (PR_CAPBSET_READ for each capability).
pub fn bounding() -> CapSet {
    let mut set = 0;
    for cap in 0..=last_cap() {
        // SAFETY: PR_CAPBSET_READ only reads.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) } == 1 {
            set |= bit(cap);
        }
    }
    set
}

/// Removes from the bounding set every capability not in `keep`. Needs
/// CAP_SETPCAP; fails with EPERM without it.
pub fn limit_bounding(keep: CapSet) -> io::Result<()> {
    for cap in 0..=last_cap() {
        if keep & bit(cap) != 0 {
            continue;
        }
        // SAFETY: PR_CAPBSET_DROP takes a capability number; it only shrinks the set.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if r != 0 {
            let e = io::Error::last_os_error();
            // EINVAL: a capability this kernel does not have.
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Sets permitted and effective to `keep` (only shrinking: what is not
/// permitted now cannot be added), inheritable and ambient to nothing.
pub fn keep_only(keep: CapSet) -> io::Result<Sets> {
    let now = current()?;
    let keep = keep & now.permitted;
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL only empties the ambient set
    // (EINVAL on kernels without ambient capabilities, ignored).
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let low = keep as u32;
    let high = (keep >> 32) as u32;
    let data = [
        Data {
            effective: low,
            permitted: low,
            inheritable: 0,
        },
        Data {
            effective: high,
            permitted: high,
            inheritable: 0,
        },
    ];
    // SAFETY: capset reads two Data structs (version 3) from `data`.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    current()
}

/// `cap_net_admin,cap_net_raw` style names of a set (for logs and status).
pub fn names(set: CapSet) -> String {
    let mut out = String::new();
    for cap in 0..64u32 {
        if set & bit(cap) != 0 {
            if !out.is_empty() {
                out.push(',');
            }
            match crate::config::capability_name(cap) {
                Some(n) => {
                    out.push_str("cap_");
                    out.push_str(n);
                }
                None => out.push_str(&format!("cap_{cap}")),
            }
        }
    }
    if out.is_empty() {
        out.push_str("none");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_sets_and_names_them() {
        let s = current().unwrap();
        // The effective set is always inside the permitted set.
        assert_eq!(s.effective & !s.permitted, 0);
        assert_eq!(
            names(bit(NET_ADMIN) | bit(NET_RAW)),
            "cap_net_admin,cap_net_raw"
        );
        assert_eq!(names(0), "none");
        assert!(last_cap() >= NET_RAW);
    }
}
