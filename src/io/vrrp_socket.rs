//! Raw VRRP sockets (IP protocol 112, or 51 for VRRPv2 `auth_type AH`) for one interface and address family.
//!
//! One receive socket per (interface, family) carries every instance there
//! (the daemon demultiplexes by VRID); one send socket per source address.
//! Multicast joins 224.0.0.18 / ff02::12 on the interface (RFC 5798 5.1.1.2,
//! 5.1.2.2); TTL / hop limit is 255 on send (RFC 5798 5.1.1.3) and reported on
//! receive so the pure side can drop anything else; IPv4 TOS is 0xc0
//! (internetwork control), as keepalived sends.

use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};

use crate::wire::vrrp::{
    MULTICAST_V4 as GROUP_V4, MULTICAST_V6 as GROUP_V6, PROTOCOL, PROTOCOL_AH,
};

/// VRRP's IP protocol number as the socket API wants it.
const IPPROTO_VRRP: i32 = PROTOCOL as i32;
/// The IPsec AH protocol number: AH adverts arrive (and leave) as protocol 51.
const IPPROTO_AH: i32 = PROTOCOL_AH as i32;

/// One received datagram. IPv4 raw sockets deliver the IP header too, which
/// `wire::vrrp::split_ipv4` parses; IPv6 delivers the header fields as
/// control messages, reported here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A whole IPv4 datagram (header included) in `buf[datagram]`.
    Ipv4 {
        /// Where the datagram lies in the buffer.
        datagram: std::ops::Range<usize>,
    },
    /// An IPv6 payload and what the control messages said.
    Ipv6 {
        /// The sender's address.
        source: Ipv6Addr,
        /// The destination (the group, or our unicast address).
        destination: Ipv6Addr,
        /// Hop limit as received (0 when the kernel did not report it).
        hop_limit: u8,
        /// Where the VRRP packet lies in the buffer.
        payload: std::ops::Range<usize>,
    },
}

/// The receive socket of one interface and family.
pub struct VrrpReceiver {
    socket: Socket,
    ipv6: bool,
}

/// IP_MULTICAST_IF by interface index (`struct ip_mreqn`): the group traffic
/// leaves `ifindex` with `source`, also when `source` belongs to another
/// interface (a VMAC sends with the address of its lower device, and the
/// kernel refuses an address-only choice that differs from the bound device).
fn set_multicast_if_index_v4(
    socket: &Socket,
    source: std::net::Ipv4Addr,
    ifindex: u32,
) -> io::Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr {
            s_addr: u32::from(source).to_be(),
        },
        imr_ifindex: ifindex as libc::c_int,
    };
    // SAFETY: `mreqn` is a live ip_mreqn and its size is passed with it; the fd is open.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&mreqn as *const libc::ip_mreqn).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A nonblocking raw socket for VRRP (or, IPv4 with `ah`, for AH, protocol
/// 51) bound to `ifname`.
fn raw_socket(ifname: &str, ipv6: bool, ah: bool) -> io::Result<Socket> {
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let protocol = if ah && !ipv6 {
        IPPROTO_AH
    } else {
        IPPROTO_VRRP
    };
    let socket = Socket::new(domain, Type::RAW, Some(Protocol::from(protocol)))?;
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    socket.bind_device(Some(ifname.as_bytes()))?;
    Ok(socket)
}

impl VrrpReceiver {
    /// Opens the receive socket on `ifname` (index `ifindex`), joined to the
    /// VRRP group unless the instances there are all unicast. `ah`: IPv4
    /// protocol 51, where VRRPv2 adverts with `auth_type AH` arrive.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        ipv6: bool,
        join_group: bool,
        ah: bool,
    ) -> io::Result<Self> {
        let socket = raw_socket(ifname, ipv6, ah)?;
        if ipv6 {
            let fd = socket.as_raw_fd();
            crate::io::sockopt::set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
            crate::io::sockopt::set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
            if join_group {
                socket.join_multicast_v6(&GROUP_V6, ifindex)?;
            }
        } else if join_group {
            socket.join_multicast_v4_n(&GROUP_V4, &InterfaceIndexOrAddress::Index(ifindex))?;
        }
        Ok(VrrpReceiver { socket, ipv6 })
    }

    /// Receives one datagram into `buf`; `Ok(None)` when nothing is pending.
    /// Truncated datagrams are returned as they are: the parser rejects them.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        if self.ipv6 {
            self.recv_v6(buf)
        } else {
            self.recv_v4(buf)
        }
    }

    fn recv_v4(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        // SAFETY: u8 and MaybeUninit<u8> have the same layout; recv only writes.
        let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        let n = match self.socket.recv(uninit) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(Received::Ipv4 {
            datagram: 0..n.min(buf.len()),
        }))
    }

    fn recv_v6(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        // u64 elements keep the control buffer aligned for cmsghdr.
        let mut control = [0u64; 16];
        // SAFETY: sockaddr_in6 is plain data; all-zero is valid.
        let mut from: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is valid and fields are set below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_in6).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: every pointer in `msg` refers to live buffers of the stated sizes.
        let n = unsafe { libc::recvmsg(self.socket.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(e);
        }
        let n = n as usize;
        let mut hop_limit = 0u8;
        let mut destination = Ipv6Addr::UNSPECIFIED;
        // SAFETY: the CMSG_* macros walk the control buffer the kernel filled,
        // bounded by msg_controllen; each data read checks the cmsg type first.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                let c = &*cmsg;
                if c.cmsg_level == libc::IPPROTO_IPV6 {
                    if c.cmsg_type == libc::IPV6_HOPLIMIT {
                        let v = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const i32);
                        hop_limit = u8::try_from(v).unwrap_or(0);
                    } else if c.cmsg_type == libc::IPV6_PKTINFO {
                        let info = std::ptr::read_unaligned(
                            libc::CMSG_DATA(cmsg) as *const libc::in6_pktinfo
                        );
                        destination = Ipv6Addr::from(info.ipi6_addr.s6_addr);
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        Ok(Some(Received::Ipv6 {
            source: Ipv6Addr::from(from.sin6_addr.s6_addr),
            destination,
            hop_limit,
            payload: 0..n.min(buf.len()),
        }))
    }
}

impl AsRawFd for VrrpReceiver {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

/// The send socket for one source address on one interface.
pub struct VrrpSender {
    socket: Socket,
    ifindex: u32,
    source: IpAddr,
}

impl VrrpSender {
    /// Opens a send socket on `ifname` with source address `source`. `ah`
    /// (IPv4 only): the caller writes whole datagrams, IPv4 header included
    /// (IP_HDRINCL), because the AH ICV covers the header's identification,
    /// addresses and length; the kernel fills in only the header checksum.
    pub fn open(ifname: &str, ifindex: u32, source: IpAddr, ah: bool) -> io::Result<Self> {
        let ipv6 = source.is_ipv6();
        let socket = raw_socket(ifname, ipv6, ah)?;
        if ah && !ipv6 {
            socket.set_header_included_v4(true)?;
        }
        match source {
            IpAddr::V4(a) => {
                socket.set_ttl_v4(255)?;
                socket.set_multicast_ttl_v4(255)?;
                socket.set_tos_v4(0xc0)?;
                socket.set_multicast_loop_v4(false)?;
                set_multicast_if_index_v4(&socket, a, ifindex)?;
                socket.bind(&SockAddr::from(SocketAddrV4::new(a, 0)))?;
            }
            IpAddr::V6(a) => {
                socket.set_unicast_hops_v6(255)?;
                socket.set_multicast_hops_v6(255)?;
                socket.set_multicast_loop_v6(false)?;
                socket.set_multicast_if_v6(ifindex)?;
                let scope = if (a.segments()[0] & 0xffc0) == 0xfe80 {
                    ifindex
                } else {
                    0
                };
                socket.bind(&SockAddr::from(SocketAddrV6::new(a, 0, 0, scope)))?;
            }
        }
        Ok(VrrpSender {
            socket,
            ifindex,
            source,
        })
    }

    /// The source address adverts leave with (needed for the v3 checksum).
    pub fn source(&self) -> IpAddr {
        self.source
    }

    /// Sends one VRRP packet to `destination` (the group or a unicast peer).
    pub fn send(&self, destination: IpAddr, packet: &[u8]) -> io::Result<()> {
        let addr = match destination {
            IpAddr::V4(a) => SocketAddr::V4(SocketAddrV4::new(a, 0)),
            IpAddr::V6(a) => {
                let scope = if a.is_multicast() || (a.segments()[0] & 0xffc0) == 0xfe80 {
                    self.ifindex
                } else {
                    0
                };
                SocketAddr::V6(SocketAddrV6::new(a, 0, 0, scope))
            }
        };
        let n = self.socket.send_to(packet, &SockAddr::from(addr))?;
        if n != packet.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!(
                    "VRRP advert to {destination}: sent {n} of {} bytes",
                    packet.len()
                ),
            ));
        }
        Ok(())
    }
}
