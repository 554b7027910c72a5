//! Interface facts from the kernel: index, MAC address, flags and addresses
//! (getifaddrs), for choosing VRRP source addresses and building GARP frames.

use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What lvsd needs to know about one interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfaceInfo {
    /// The interface name.
    pub name: String,
    /// Its index.
    pub index: u32,
    /// Its hardware address (all zero for interfaces without one, such as lo).
    pub mac: [u8; 6],
    /// IFF_UP.
    pub up: bool,
    /// IFF_RUNNING (carrier).
    pub running: bool,
    /// IPv4 addresses, in the kernel's order (the first is the primary).
    pub ipv4: Vec<Ipv4Addr>,
    /// IPv6 addresses, in the kernel's order.
    pub ipv6: Vec<Ipv6Addr>,
}

impl InterfaceInfo {
    /// The first IPv6 link-local address, the source of VRRPv3 over IPv6 (RFC 5798 5.1.2.1).
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.ipv6
            .iter()
            .copied()
            .find(|a| (a.segments()[0] & 0xffc0) == 0xfe80)
    }

    /// The primary address of a family: the first IPv4, or the link-local IPv6.
    pub fn primary(&self, ipv6: bool) -> Option<IpAddr> {
        if ipv6 {
            self.link_local().map(IpAddr::V6)
        } else {
            self.ipv4.first().copied().map(IpAddr::V4)
        }
    }
}

/// Looks up one interface by name. `Ok(None)` when it does not exist.
pub fn lookup(name: &str) -> io::Result<Option<InterfaceInfo>> {
    Ok(all()?.into_iter().find(|i| i.name == name))
}

/// Every interface with its addresses.
pub fn all() -> io::Result<Vec<InterfaceInfo>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `head`; checked below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out: Vec<InterfaceInfo> = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, valid until
        // freeifaddrs below; we only read it.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        let pos = match out.iter().position(|i| i.name == name) {
            Some(p) => p,
            None => {
                out.push(InterfaceInfo {
                    name: name.clone(),
                    ..Default::default()
                });
                out.len() - 1
            }
        };
        let entry = &mut out[pos];
        entry.up = ifa.ifa_flags & libc::IFF_UP as u32 != 0;
        entry.running = ifa.ifa_flags & libc::IFF_RUNNING as u32 != 0;
        if ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr points to a sockaddr whose family field is readable.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        match family {
            libc::AF_INET => {
                // SAFETY: family AF_INET means the storage is a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                entry
                    .ipv4
                    .push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
            }
            libc::AF_INET6 => {
                // SAFETY: family AF_INET6 means the storage is a sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                entry.ipv6.push(Ipv6Addr::from(sin6.sin6_addr.s6_addr));
            }
            libc::AF_PACKET => {
                // SAFETY: family AF_PACKET means the storage is a sockaddr_ll.
                let sll = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_ll) };
                entry.index = sll.sll_ifindex as u32;
                if sll.sll_halen == 6 {
                    entry.mac.copy_from_slice(&sll.sll_addr[..6]);
                }
            }
            _ => {}
        }
    }
    // SAFETY: `head` came from getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(head) };
    for entry in &mut out {
        if entry.index == 0 {
            entry.index = index_of(&entry.name).unwrap_or(0);
        }
    }
    Ok(out)
}

/// The index of an interface name, or `None` when there is no such interface.
pub fn index_of(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the call's duration.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_found_with_its_address() {
        let lo = lookup("lo").unwrap().expect("lo exists");
        assert!(lo.index > 0);
        assert_eq!(index_of("lo"), Some(lo.index));
        assert!(lo.up);
        assert!(lo.ipv4.contains(&Ipv4Addr::LOCALHOST));
        assert_eq!(lo.primary(false), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(lookup("no-such-if0").unwrap(), None);
        assert_eq!(index_of("no-such-if0"), None);
        assert_eq!(index_of("bad\0name"), None);
    }
}
