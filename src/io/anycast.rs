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

/// Why the announce device could not be set up or changed.
#[derive(Debug)]
pub enum AnycastError {
    /// Opening /dev/net/tun or creating the device failed.
    Device(String),
    /// An rtnetlink request failed.
    Netlink(String),
}

impl std::fmt::Display for AnycastError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnycastError::Device(s) | AnycastError::Netlink(s) => write!(f, "{s}"),
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
        let device = |what: String| AnycastError::Device(format!("announce_device {name}: {what}"));
        let tun = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .map_err(|e| {
                device(format!(
                    "/dev/net/tun: {e} (load the tun module: modprobe tun)"
                ))
            })?;
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: TUN_FLAGS,
            _pad: [0; 22],
        };
        let bytes = name.as_bytes();
        match req.name.get_mut(..bytes.len()) {
            Some(dst) if bytes.len() < libc::IFNAMSIZ => dst.copy_from_slice(bytes),
            _ => return Err(device("name longer than 15 bytes".into())),
        }
        // SAFETY: TUNSETIFF reads and writes one struct ifreq; `req` is a
        // live, properly sized #[repr(C)] ifreq for the whole call.
        let rc = unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETIFF as _, &mut req as *mut IfReq) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            let hint = if e.raw_os_error() == Some(libc::EBUSY) {
                " (another process holds it: is a second lvsd running?)"
            } else {
                ""
            };
            return Err(device(format!("TUNSETIFF: {e}{hint}")));
        }
        let netlink = |what: &str, e: NetlinkError| {
            AnycastError::Netlink(format!("announce_device {name}: {what}: {e}"))
        };
        let ifindex = rtnl
            .ifindex(name)
            .map_err(|e| netlink("looking up its index", e))?
            .ok_or_else(|| device("created but not listed by the kernel".into()))?;
        let lo = rtnl
            .ifindex("lo")
            .map_err(|e| netlink("looking up lo", e))?
            .ok_or_else(|| device("this network namespace has no lo".into()))?;
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
            .map_err(|e| AnycastError::Netlink(format!("adding {vip} to lo: {e}")))
    }

    /// Takes `vip` off lo (clean stop).
    pub fn release(&mut self, rtnl: &mut Rtnl, vip: IpAddr) -> Result<(), AnycastError> {
        rtnl.del_addr(&IfAddr::host(self.lo, vip))
            .map(|_| ())
            .map_err(|e| AnycastError::Netlink(format!("removing {vip} from lo: {e}")))
    }

    /// Announces `vip`: its host address on the device.
    pub fn announce(&mut self, rtnl: &mut Rtnl, vip: IpAddr) -> Result<(), AnycastError> {
        rtnl.add_addr(&IfAddr::host(self.ifindex, vip))
            .map(|_| ())
            .map_err(|e| AnycastError::Netlink(format!("adding {vip} to {}: {e}", self.name)))
    }

    /// Withdraws `vip`.
    pub fn withdraw(&mut self, rtnl: &mut Rtnl, vip: IpAddr) -> Result<(), AnycastError> {
        rtnl.del_addr(&IfAddr::host(self.ifindex, vip))
            .map(|_| ())
            .map_err(|e| AnycastError::Netlink(format!("removing {vip} from {}: {e}", self.name)))
    }
}
