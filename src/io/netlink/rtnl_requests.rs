//! Blocking rtnetlink requests for setup, shutdown, the real-server helper and tools:
//! addresses, links, macvlans (VMACs) and IPv4 devconf, each waiting for its ack.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};

use super::{NetlinkError, NetlinkProtocol, NetlinkSocket};
use crate::wire::netlink::rtnl::{self, IfAddr, Link, RtEvent};

/// rtnetlink requests: addresses and links.
#[derive(Debug)]
pub struct Rtnl {
    socket: NetlinkSocket,
    tx: [u8; 256],
}

impl AsRawFd for Rtnl {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl Rtnl {
    /// Opens a NETLINK_ROUTE request socket.
    pub fn open() -> io::Result<Rtnl> {
        Ok(Rtnl {
            socket: NetlinkSocket::open(NetlinkProtocol::Route, 0)?,
            tx: [0u8; 256],
        })
    }

    fn ack_request(&mut self, n: usize, seq: u32) -> Result<(), NetlinkError> {
        self.socket
            .request(self.tx.get(..n).unwrap_or(&[]), seq, |_| Ok(()))
    }

    /// Adds `addr` (e.g. a VIP as /32 or /128 from [`IfAddr::host`]); `Ok(false)` when it
    /// was already there (EEXIST), so callers are idempotent.
    pub fn add_addr(&mut self, addr: &IfAddr) -> Result<bool, NetlinkError> {
        let seq = self.socket.next_seq();
        let n = rtnl::encode_new_addr(&mut self.tx, seq, addr)?;
        match self.ack_request(n, seq) {
            Ok(()) => Ok(true),
            Err(NetlinkError::Kernel { errno, .. }) if errno == libc::EEXIST => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes `addr`; `Ok(false)` when it was not there (EADDRNOTAVAIL).
    pub fn del_addr(&mut self, addr: &IfAddr) -> Result<bool, NetlinkError> {
        let seq = self.socket.next_seq();
        let n = rtnl::encode_del_addr(&mut self.tx, seq, addr)?;
        match self.ack_request(n, seq) {
            Ok(()) => Ok(true),
            Err(NetlinkError::Kernel { errno, .. }) if errno == libc::EADDRNOTAVAIL => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Lists every address (`None`) or those of one family (`Some(true)` = IPv6).
    pub fn addrs(
        &mut self,
        v6: Option<bool>,
        mut on: impl FnMut(IfAddr),
    ) -> Result<(), NetlinkError> {
        let seq = self.socket.next_seq();
        let n = rtnl::encode_get_addrs(&mut self.tx, seq, v6)?;
        self.socket
            .request(self.tx.get(..n).unwrap_or(&[]), seq, |m| {
                if let Some(RtEvent::NewAddr(a)) = rtnl::parse_event(m.header.kind, m.payload)? {
                    on(a);
                }
                Ok(())
            })
    }

    /// Lists every interface.
    pub fn links(&mut self, mut on: impl FnMut(Link)) -> Result<(), NetlinkError> {
        let seq = self.socket.next_seq();
        let n = rtnl::encode_get_links(&mut self.tx, seq)?;
        self.socket
            .request(self.tx.get(..n).unwrap_or(&[]), seq, |m| {
                if let Some(RtEvent::NewLink(l)) = rtnl::parse_event(m.header.kind, m.payload)? {
                    on(l);
                }
                Ok(())
            })
    }

    /// The index of the interface called `name`, if it exists.
    pub fn ifindex(&mut self, name: &str) -> Result<Option<u32>, NetlinkError> {
        Ok(self.link(name)?.map(|l| l.ifindex))
    }

    /// The interface called `name`, with its details, if it exists.
    pub fn link(&mut self, name: &str) -> Result<Option<Link>, NetlinkError> {
        let mut found = None;
        self.links(|l| {
            if l.name == name {
                found = Some(l);
            }
        })?;
        Ok(found)
    }

    /// Sets IFF_UP on or off (a VMAC lvsd created; tests and lab tools).
    pub fn set_link_up(&mut self, ifindex: u32, up: bool) -> Result<(), NetlinkError> {
        let seq = self.socket.next_seq();
        let n = rtnl::encode_set_link_up(&mut self.tx, seq, ifindex, up)?;
        self.ack_request(n, seq)
    }

    /// Creates the private-mode macvlan `name` on `lower` with address `mac` (a VMAC).
    pub fn new_macvlan(
        &mut self,
        name: &str,
        lower: u32,
        mac: [u8; 6],
    ) -> Result<(), NetlinkError> {
        let seq = self.socket.next_seq();
        let n = rtnl::encode_new_macvlan(&mut self.tx, seq, name, lower, mac)?;
        self.ack_request(n, seq)
    }

    /// Turns the macvlan `ifindex` into private mode with address `mac`.
    pub fn update_macvlan(&mut self, ifindex: u32, mac: [u8; 6]) -> Result<(), NetlinkError> {
        let seq = self.socket.next_seq();
        let n = rtnl::encode_update_macvlan(&mut self.tx, seq, ifindex, mac)?;
        self.ack_request(n, seq)
    }

    /// Deletes the link `ifindex`; `Ok(false)` when it was gone already (ENODEV).
    pub fn del_link(&mut self, ifindex: u32) -> Result<bool, NetlinkError> {
        let seq = self.socket.next_seq();
        let n = rtnl::encode_del_link(&mut self.tx, seq, ifindex)?;
        match self.ack_request(n, seq) {
            Ok(()) => Ok(true),
            Err(NetlinkError::Kernel { errno, .. }) if errno == libc::ENODEV => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sets IPv4 devconf values (`(IPV4_DEVCONF_*, value)`) of `ifindex`.
    pub fn set_ipv4_conf(
        &mut self,
        ifindex: u32,
        values: &[(u16, u32)],
    ) -> Result<(), NetlinkError> {
        let seq = self.socket.next_seq();
        let n = rtnl::encode_set_ipv4_conf(&mut self.tx, seq, ifindex, values)?;
        self.ack_request(n, seq)
    }

    /// Stops the kernel from adding a link-local address to `ifindex` on its own.
    pub fn addr_gen_mode_none(&mut self, ifindex: u32) -> Result<(), NetlinkError> {
        let seq = self.socket.next_seq();
        let n = rtnl::encode_addr_gen_mode_none(&mut self.tx, seq, ifindex)?;
        self.ack_request(n, seq)
    }
}

/// Convenience: a VIP as a host address on `ifindex`.
pub fn vip(ifindex: u32, addr: IpAddr) -> IfAddr {
    IfAddr::host(ifindex, addr)
}
