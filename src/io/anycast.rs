//! The announce device: a non-persistent TUN device whose addresses the
//! routing daemon exports (BIRD's `direct` protocol; docs/scale-out.md).
//!
//! The device lives exactly as long as lvsd holds /dev/net/tun open: when the
//! process dies, however it dies, the kernel deletes the device and its
//! addresses, the routing daemon sees the address go (an rtnetlink event) and
//! withdraws the route. The VIPs also sit on `lo`, so IPVS keeps accepting
//! the traffic that is still on its way while the route is withdrawn.

use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use crate::io::netlink::{NetlinkError, Rtnl};
use crate::wire::netlink::rtnl::IfAddr;

/// `TUNSETIFF` = `_IOW('T', 202, int)` (linux/if_tun.h).
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// `IFF_TUN | IFF_NO_PI`: layer 3, no packet-info header.
const TUN_FLAGS: libc::c_short = 0x0001 | 0x1000;

/// Why the announce device could not be set up or changed. Each names the
/// device (`announce_device`) or the address and interface.
#[derive(Debug)]
pub enum AnycastError {
    /// /dev/net/tun could not be opened.
    Tun {
        /// The device's name.
        device: String,
        /// Why.
        source: io::Error,
    },
    /// The name does not fit an interface name.
    NameTooLong {
        /// The device's name.
        device: String,
    },
    /// TUNSETIFF refused the device.
    SetIff {
        /// The device's name.
        device: String,
        /// Why.
        source: io::Error,
    },
    /// An interface the device needs is not listed by the kernel.
    Missing {
        /// The device's name.
        device: String,
        /// What is missing.
        what: &'static str,
    },
    /// An rtnetlink request while making the device failed.
    Create {
        /// The device's name.
        device: String,
        /// The step.
        step: &'static str,
        /// Why (boxed: a netlink error is large, and errors are rare).
        source: Box<NetlinkError>,
    },
    /// Adding or removing an address failed.
    Address {
        /// "adding" or "removing".
        change: &'static str,
        /// The address.
        vip: IpAddr,
        /// The interface (lo or the device).
        interface: String,
        /// Why (boxed: a netlink error is large, and errors are rare).
        source: Box<NetlinkError>,
    },
}

impl std::fmt::Display for AnycastError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnycastError::Tun { device, source } => write!(
                f,
                "announce_device {device}: /dev/net/tun: {source} (load the tun module: modprobe tun)"
            ),
            AnycastError::NameTooLong { device } => {
                write!(f, "announce_device {device}: name longer than 15 bytes")
            }
            AnycastError::SetIff { device, source } => {
                let hint = if source.raw_os_error() == Some(libc::EBUSY) {
                    " (another process holds it: is a second lvsd running?)"
                } else {
                    ""
                };
                write!(f, "announce_device {device}: TUNSETIFF: {source}{hint}")
            }
            AnycastError::Missing { device, what } => write!(f, "announce_device {device}: {what}"),
            AnycastError::Create {
                device,
                step,
                source,
            } => write!(f, "announce_device {device}: {step}: {source}"),
            AnycastError::Address {
                change,
                vip,
                interface,
                source,
            } => {
                let to = if *change == "adding" { "to" } else { "from" };
                write!(f, "{change} {vip} {to} {interface}: {source}")
            }
        }
    }
}

impl std::error::Error for AnycastError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AnycastError::Tun { source, .. } | AnycastError::SetIff { source, .. } => Some(source),
            AnycastError::Create { source, .. } | AnycastError::Address { source, .. } => {
                Some(source.as_ref())
            }
            AnycastError::NameTooLong { .. } | AnycastError::Missing { .. } => None,
        }
    }
}

/// The open TUN device. Dropping it deletes the device (and so withdraws
/// every address on it).
#[derive(Debug)]
pub struct AnycastDevice {
    _tun: File,
    name: String,
    ifindex: u32,
    lo: u32,
}

#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

impl AnycastDevice {
    /// Creates the device `name` (not persistent) and sets it up.
    pub fn create(name: &str, rtnl: &mut Rtnl) -> Result<AnycastDevice, AnycastError> {
        let tun = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .map_err(|source| AnycastError::Tun {
                device: name.to_owned(),
                source,
            })?;
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: TUN_FLAGS,
            _pad: [0; 22],
        };
        let bytes = name.as_bytes();
        match req.name.get_mut(..bytes.len()) {
            Some(dst) if bytes.len() < libc::IFNAMSIZ => dst.copy_from_slice(bytes),
            _ => {
                return Err(AnycastError::NameTooLong {
                    device: name.to_owned(),
                })
            }
        }
        // SAFETY: TUNSETIFF reads and writes one struct ifreq; `req` is a
        // live, properly sized #[repr(C)] ifreq for the whole call.
        let rc = unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETIFF as _, &mut req as *mut IfReq) };
        if rc < 0 {
            return Err(AnycastError::SetIff {
                device: name.to_owned(),
                source: io::Error::last_os_error(),
            });
        }
        let netlink = |step: &'static str, source: NetlinkError| AnycastError::Create {
            device: name.to_owned(),
            step,
            source: Box::new(source),
        };
        let missing = |what: &'static str| AnycastError::Missing {
            device: name.to_owned(),
            what,
        };
        let ifindex = rtnl
            .ifindex(name)
            .map_err(|e| netlink("looking up its index", e))?
            .ok_or_else(|| missing("created but not listed by the kernel"))?;
        let lo = rtnl
            .ifindex("lo")
            .map_err(|e| netlink("looking up lo", e))?
            .ok_or_else(|| missing("this network namespace has no lo"))?;
        rtnl.set_link_up(ifindex, true)
            .map_err(|e| netlink("setting it up", e))?;
        Ok(AnycastDevice {
            _tun: tun,
            name: name.to_owned(),
            ifindex,
            lo,
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Puts `vip` on lo (so IPVS accepts its traffic); kept until [`Self::release`].
    pub fn hold(&mut self, rtnl: &mut Rtnl, vip: IpAddr) -> Result<(), AnycastError> {
        rtnl.add_addr(&IfAddr::host(self.lo, vip))
            .map(|_| ())
            .map_err(address_error("adding", vip, "lo"))
    }

    /// Takes `vip` off lo (clean stop).
    pub fn release(&mut self, rtnl: &mut Rtnl, vip: IpAddr) -> Result<(), AnycastError> {
        rtnl.del_addr(&IfAddr::host(self.lo, vip))
            .map(|_| ())
            .map_err(address_error("removing", vip, "lo"))
    }

    /// Announces `vip`: its host address on the device.
    pub fn announce(&mut self, rtnl: &mut Rtnl, vip: IpAddr) -> Result<(), AnycastError> {
        rtnl.add_addr(&IfAddr::host(self.ifindex, vip))
            .map(|_| ())
            .map_err(address_error("adding", vip, &self.name))
    }

    /// Withdraws `vip`.
    pub fn withdraw(&mut self, rtnl: &mut Rtnl, vip: IpAddr) -> Result<(), AnycastError> {
        rtnl.del_addr(&IfAddr::host(self.ifindex, vip))
            .map(|_| ())
            .map_err(address_error("removing", vip, &self.name))
    }
}

/// The error of adding (`change` "adding") or removing `vip` on `interface`.
fn address_error<'a>(
    change: &'static str,
    vip: IpAddr,
    interface: &'a str,
) -> impl FnOnce(NetlinkError) -> AnycastError + 'a {
    move |source| AnycastError::Address {
        change,
        vip,
        interface: interface.to_owned(),
        source: Box::new(source),
    }
}
