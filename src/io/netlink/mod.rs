//! Netlink sockets: the nonblocking NETLINK_GENERIC / NETLINK_ROUTE socket itself, with
//! sequence numbers, ack collection and generic family resolution. Its users live beside
//! it, one job per file: the IPVS client ([`ipvs`]: batched table writes, dumps, sync
//! daemons), blocking rtnetlink requests for setup and tools ([`rtnl_requests`]), and
//! the daemon's rtnetlink event socket ([`rtnl_events`]).
//!
//! Kernel requests are handled synchronously inside `send`, so acks are normally queued
//! before `send` returns, and each further part of a dump is produced inside the read
//! that makes room for it. The blocking helpers wait with `poll(2)` up to the socket's
//! reply wait ([`REQUEST_TIMEOUT`] for setup and tools); the daemon's IPVS socket uses
//! no wait at all, and its rtnetlink socket ([`RtnlEvents`]) sends requests and reads
//! their acks as events. Every socket exposes its fd through `AsRawFd`.

pub mod ipvs;
pub mod rtnl_events;
pub mod rtnl_requests;

pub use crate::io::netns::unshare_network_namespace;
pub use ipvs::{ApplyReport, Ipvs, IpvsError, OpFailure, DAEMON_STOP_TIMEOUT};
pub use rtnl_events::{RtnlEvents, RtnlInput, RtnlRequest};
pub use rtnl_requests::{vip, Rtnl};

use core::fmt;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::limits::NETLINK_BUF;
use crate::wire::netlink::genl::{self, Family};
use crate::wire::netlink::msg::{
    DecodeError, EncodeError, Errno, Message, Messages, Reply, NLM_F_DUMP_INTR,
};
/// How long a request waits for its reply before failing with `Timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;

/// Netlink protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetlinkProtocol {
    /// NETLINK_ROUTE (rtnetlink).
    Route,
    /// NETLINK_GENERIC (generic netlink: IPVS).
    Generic,
}

/// A failed netlink exchange.
#[derive(Debug)]
pub enum NetlinkError {
    /// A socket call failed.
    Io(&'static str, io::Error),
    /// The kernel answered with an error.
    Kernel {
        /// Positive errno.
        errno: i32,
        /// The kernel's extended-ack text, if any.
        message: Option<heapless::String<64>>,
    },
    /// A reply could not be decoded.
    Decode(DecodeError),
    /// A request did not fit the buffer.
    Encode(EncodeError),
    /// No reply within the socket's reply wait (REQUEST_TIMEOUT unless set;
    /// none at all in the daemon's loop), or, for [`RtnlEvents`], within
    /// REQUEST_TIMEOUT of the send.
    Timeout,
    /// A dump changed while it was read (NLM_F_DUMP_INTR); retry.
    DumpInterrupted,
}

impl fmt::Display for NetlinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetlinkError::Io(what, e) => write!(f, "netlink {what}: {e}"),
            NetlinkError::Kernel { errno, message } => {
                write!(f, "{}", Errno(*errno))?;
                if let Some(m) = message {
                    write!(f, ": {m}")?;
                }
                Ok(())
            }
            NetlinkError::Decode(e) => e.fmt(f),
            NetlinkError::Encode(e) => e.fmt(f),
            NetlinkError::Timeout => write!(f, "netlink: no reply in time"),
            NetlinkError::DumpInterrupted => {
                write!(f, "netlink: dump interrupted by a concurrent change")
            }
        }
    }
}

impl std::error::Error for NetlinkError {}

impl From<DecodeError> for NetlinkError {
    fn from(e: DecodeError) -> Self {
        NetlinkError::Decode(e)
    }
}

impl From<EncodeError> for NetlinkError {
    fn from(e: EncodeError) -> Self {
        NetlinkError::Encode(e)
    }
}

fn kernel_error(errno: i32, message: Option<&str>) -> NetlinkError {
    let message = message.map(|m| {
        let mut s = heapless::String::new();
        for c in m.chars() {
            if s.push(c).is_err() {
                break;
            }
        }
        s
    });
    NetlinkError::Kernel { errno, message }
}

/// How a request ended, from the reply that ends it: an ack, an error, or the
/// NLMSG_DONE of a dump (`interrupted`: an entry carried NLM_F_DUMP_INTR). `None` for
/// a data message or a NOOP/OVERRUN.
fn request_end(reply: &Reply<'_>, interrupted: bool) -> Option<Result<(), NetlinkError>> {
    match reply {
        Reply::Ack { .. } => Some(Ok(())),
        Reply::Error(e) => Some(Err(kernel_error(e.errno, e.message))),
        Reply::Done { error, .. } if *error != 0 => Some(Err(kernel_error(*error, None))),
        Reply::Done { .. } if interrupted => Some(Err(NetlinkError::DumpInterrupted)),
        Reply::Done { .. } => Some(Ok(())),
        Reply::Data(_) | Reply::Other(_) => None,
    }
}

/// Waits until `fd` is readable or `timeout` passes; true when readable.
fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd, count 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(rc > 0);
    }
}

/// A nonblocking netlink socket bound to a kernel-assigned port id.
#[derive(Debug)]
pub struct NetlinkSocket {
    socket: Socket,
    port_id: u32,
    seq: u32,
    rx: Box<[u8]>,
    /// How long `request` waits for a reply (REQUEST_TIMEOUT unless changed).
    timeout: Duration,
}

impl AsRawFd for NetlinkSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl NetlinkSocket {
    /// Opens and binds a nonblocking, close-on-exec socket subscribed to the legacy
    /// multicast `groups` bit mask (0 for a request socket). Extended acks and capped
    /// error echoes are turned on.
    pub fn open(protocol: NetlinkProtocol, groups: u32) -> io::Result<NetlinkSocket> {
        let proto = match protocol {
            NetlinkProtocol::Route => libc::NETLINK_ROUTE,
            NetlinkProtocol::Generic => libc::NETLINK_GENERIC,
        };
        let socket = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(proto)),
        )?;
        socket.set_nonblocking(true)?;
        let fd = socket.as_raw_fd();
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { core::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = groups;
        let len = core::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `addr` is a valid sockaddr_nl of `len` bytes for the duration of the call.
        if unsafe { libc::bind(fd, (&addr as *const libc::sockaddr_nl).cast(), len) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut bound_len = len;
        // SAFETY: `addr` has room for `bound_len` bytes; the kernel writes at most that.
        if unsafe {
            libc::getsockname(
                fd,
                (&mut addr as *mut libc::sockaddr_nl).cast(),
                &mut bound_len,
            )
        } < 0
        {
            return Err(io::Error::last_os_error());
        }
        // Best effort: older kernels lack these and still work.
        let _ = crate::io::sockopt::set_int(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
        let _ = crate::io::sockopt::set_int(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
        Ok(NetlinkSocket {
            socket,
            port_id: addr.nl_pid,
            seq: 0,
            rx: vec![0u8; NETLINK_BUF].into_boxed_slice(),
            timeout: REQUEST_TIMEOUT,
        })
    }

    /// Joins the multicast group with id `group` (generic netlink group ids, or RTNLGRP_*).
    pub fn add_membership(&self, group: u32) -> io::Result<()> {
        crate::io::sockopt::set_int(
            self.as_raw_fd(),
            SOL_NETLINK,
            NETLINK_ADD_MEMBERSHIP,
            group as libc::c_int,
        )
    }

    /// How long `request` waits for a reply that is not queued yet. The
    /// kernel answers inside the send (and produces each further dump part
    /// inside the read), so a reply that is not queued when it is read is one
    /// that will not come soon: the event loop uses `Duration::ZERO` and never
    /// waits; setup, shutdown and tools keep [`REQUEST_TIMEOUT`].
    pub fn set_reply_wait(&mut self, wait: Duration) {
        self.timeout = wait;
    }

    /// The kernel-assigned port id.
    pub fn port_id(&self) -> u32 {
        self.port_id
    }

    /// The next request sequence number (never 0: 0 is what the kernel uses for events).
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Sends one datagram (one or several encoded messages) to the kernel.
    pub fn send(&self, datagram: &[u8]) -> io::Result<()> {
        loop {
            match self.socket.send(datagram) {
                Ok(n) if n == datagram.len() => return Ok(()),
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "short netlink send",
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Receives one datagram into the socket's buffer; `WouldBlock` when none is queued.
    pub fn recv(&mut self) -> io::Result<&[u8]> {
        let n = self.read_datagram()?;
        Ok(self.rx.get(..n).unwrap_or(&[]))
    }

    /// Reads one datagram into `rx`, retrying EINTR; returns its length.
    fn read_datagram(&mut self) -> io::Result<usize> {
        loop {
            match (&self.socket).read(&mut self.rx) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    /// Receives one datagram, waiting up to the socket's timeout (REQUEST_TIMEOUT).
    fn recv_wait(&mut self) -> Result<usize, NetlinkError> {
        loop {
            match self.read_datagram() {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !wait_readable(self.as_raw_fd(), self.timeout)
                        .map_err(|e| NetlinkError::Io("poll", e))?
                    {
                        return Err(NetlinkError::Timeout);
                    }
                }
                Err(e) => return Err(NetlinkError::Io("recv", e)),
            }
        }
    }

    /// Sends `request` (one message with sequence `seq`) and reads until its ack, error or
    /// NLMSG_DONE, handing each data message to `on_data`.
    pub fn request(
        &mut self,
        request: &[u8],
        seq: u32,
        mut on_data: impl FnMut(Message<'_>) -> Result<(), NetlinkError>,
    ) -> Result<(), NetlinkError> {
        self.send(request)
            .map_err(|e| NetlinkError::Io("send", e))?;
        let mut interrupted = false;
        loop {
            let n = self.recv_wait()?;
            for m in Messages::new(self.rx.get(..n).unwrap_or(&[])) {
                let m = m?;
                if m.header.seq != seq {
                    continue; // a stale reply to an earlier, timed-out request
                }
                interrupted |= m.header.flags & NLM_F_DUMP_INTR != 0;
                match m.reply()? {
                    Reply::Data(d) => on_data(d)?,
                    reply => {
                        if let Some(end) = request_end(&reply, interrupted) {
                            return end;
                        }
                    }
                }
            }
        }
    }

    /// Resolves a generic netlink family by name (CTRL_CMD_GETFAMILY). A missing family is
    /// `NetlinkError::Kernel { errno: ENOENT, .. }`.
    pub fn resolve_family(&mut self, name: &str) -> Result<Family, NetlinkError> {
        let mut tx = [0u8; 64];
        let seq = self.next_seq();
        let n = genl::encode_get_family(&mut tx, seq, name)?;
        let mut family = None;
        self.request(&tx[..n], seq, |m| {
            family = Some(genl::parse_family(m.payload)?);
            Ok(())
        })?;
        family.ok_or(NetlinkError::Decode(DecodeError::Missing(
            "CTRL_CMD_NEWFAMILY reply",
        )))
    }
}
