//! Netlink sockets: a nonblocking NETLINK_GENERIC / NETLINK_ROUTE socket with sequence
//! numbers and ack collection, generic family resolution, the IPVS client (batched table
//! writes, dumps, sync daemons) and rtnetlink address/link requests and events.
//!
//! Kernel requests are handled synchronously inside `send`, so acks are normally queued
//! before `send` returns, and each further part of a dump is produced inside the read
//! that makes room for it. The blocking helpers wait with `poll(2)` up to the socket's
//! reply wait ([`REQUEST_TIMEOUT`] for setup and tools); the daemon's IPVS socket uses
//! no wait at all, and its rtnetlink socket ([`RtnlEvents`]) sends requests and reads
//! their acks as events. Every socket exposes its fd through `AsRawFd`.

use core::fmt;
use std::io::{self, Read};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::limits::{IPVS_BATCH_OPS, NETLINK_BUF, RTNL_PENDING, RTNL_REQUEST_BUF};
use crate::wire::netlink::genl::{self, Family};
use crate::wire::netlink::ipvs::{
    self, AddrFamily, Dest, DestStats, Info, IpvsOp, IpvsReply, Service, ServiceKey, SyncDaemon,
    SyncState, Timeouts, TrafficStats,
};
use crate::wire::netlink::msg::{
    DecodeError, EncodeError, Errno, Message, Messages, Reply, NLM_F_DUMP_INTR,
};
use crate::wire::netlink::route::{self, RouteCreate, RouteRepr, RuleRepr};
use crate::wire::netlink::rtnl::{self, IfAddr, Link, RtEvent};

/// How long a request waits for its reply before failing with `Timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long DEL_DAEMON waits for its ack before checking with a GET_DAEMON dump.
pub const DAEMON_STOP_TIMEOUT: Duration = Duration::from_secs(1);
/// Bytes of one encoded request buffer (a batch of IPVS writes fits in it).
const TX_BUF: usize = NETLINK_BUF;

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
        loop {
            match (&self.socket).read(&mut self.rx) {
                Ok(n) => return Ok(self.rx.get(..n).unwrap_or(&[])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Receives one datagram, waiting up to the socket's timeout (REQUEST_TIMEOUT).
    fn recv_wait(&mut self) -> Result<usize, NetlinkError> {
        loop {
            match (&self.socket).read(&mut self.rx) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
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
                    Reply::Ack { .. } => return Ok(()),
                    Reply::Done { error, .. } => {
                        if error != 0 {
                            return Err(kernel_error(error, None));
                        }
                        if interrupted {
                            return Err(NetlinkError::DumpInterrupted);
                        }
                        return Ok(());
                    }
                    Reply::Error(e) => return Err(kernel_error(e.errno, e.message)),
                    Reply::Other(_) => {}
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

/// Why the IPVS client failed.
#[derive(Debug)]
pub enum IpvsError {
    /// The kernel has no IPVS (the ip_vs module is not loaded or not built).
    Unavailable,
    /// Opening the generic netlink socket failed.
    Socket(io::Error),
    /// A request failed; `what` names it.
    Request(&'static str, NetlinkError),
}

impl fmt::Display for IpvsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsError::Unavailable => write!(
                f,
                "IPVS is not available: the kernel has no generic netlink family \"IPVS\"; \
                 the ip_vs kernel module is missing (try `modprobe ip_vs`)"
            ),
            IpvsError::Socket(e) => write!(f, "IPVS: cannot open a generic netlink socket: {e}"),
            IpvsError::Request(what, e) => write!(f, "IPVS {what}: {e}"),
        }
    }
}

impl std::error::Error for IpvsError {}

/// One IPVS write the kernel refused, with the object it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpFailure<'a> {
    /// The refused write.
    pub op: &'a IpvsOp,
    /// Positive errno.
    pub errno: i32,
    /// The kernel's extended-ack text, if any.
    pub message: Option<&'a str>,
}

impl fmt::Display for OpFailure<'_> {
    /// `NewDest 10.0.0.2:80 in TCP 10.0.0.100:80: File exists (EEXIST)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, Errno(self.errno))?;
        if let Some(m) = self.message {
            write!(f, " ({m})")?;
        }
        if let (IpvsOp::NewService(s) | IpvsOp::SetService(s), libc::ENOENT) = (self.op, self.errno)
        {
            write!(
                f,
                "; scheduler \"{}\" is not available in the kernel (module ip_vs_{})",
                s.scheduler, s.scheduler
            )?;
        }
        Ok(())
    }
}

/// Outcome of [`Ipvs::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyReport {
    /// Writes sent.
    pub sent: usize,
    /// Writes the kernel refused (each reported through the callback).
    pub failed: usize,
    /// Writes whose ack was not there when read (never waited for): their
    /// outcome is unknown until the next dump.
    pub unanswered: usize,
}

/// The IPVS client: a generic netlink socket and the resolved family id.
#[derive(Debug)]
pub struct Ipvs {
    socket: NetlinkSocket,
    family: u16,
    tx: Box<[u8]>,
    /// The socket's reply wait outside `stop_daemon`.
    reply_wait: Duration,
}

impl AsRawFd for Ipvs {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl Ipvs {
    /// Opens a socket and resolves the "IPVS" family; `Unavailable` when the module is missing.
    pub fn open() -> Result<Ipvs, IpvsError> {
        Ipvs::open_family(ipvs::IPVS_GENL_NAME)
    }

    /// Like [`Ipvs::open`] with another family name: tests drive the batching and error
    /// mapping against "nlctrl", which refuses IPVS commands, on kernels without IPVS.
    pub fn open_family(name: &str) -> Result<Ipvs, IpvsError> {
        let mut socket =
            NetlinkSocket::open(NetlinkProtocol::Generic, 0).map_err(IpvsError::Socket)?;
        let family = match socket.resolve_family(name) {
            Ok(f) => f.id,
            Err(NetlinkError::Kernel { errno, .. }) if errno == libc::ENOENT => {
                return Err(IpvsError::Unavailable)
            }
            Err(e) => return Err(IpvsError::Request("resolve family", e)),
        };
        Ok(Ipvs {
            socket,
            family,
            tx: vec![0u8; TX_BUF].into_boxed_slice(),
            reply_wait: REQUEST_TIMEOUT,
        })
    }

    /// See [`NetlinkSocket::set_reply_wait`]: `Duration::ZERO` in the event loop.
    pub fn set_reply_wait(&mut self, wait: Duration) {
        self.reply_wait = wait;
        self.socket.set_reply_wait(wait);
    }

    /// The resolved generic netlink family id.
    pub fn family(&self) -> u16 {
        self.family
    }

    fn simple(
        &mut self,
        what: &'static str,
        encode: impl FnOnce(&mut [u8], u16, u32) -> Result<usize, EncodeError>,
        af: AddrFamily,
        mut on: impl FnMut(IpvsReply),
    ) -> Result<(), IpvsError> {
        let seq = self.socket.next_seq();
        let n = encode(&mut self.tx, self.family, seq)
            .map_err(|e| IpvsError::Request(what, e.into()))?;
        let req = self.tx.get(..n).unwrap_or(&[]);
        self.socket
            .request(req, seq, |m| {
                on(ipvs::parse_reply(m.payload, af)?);
                Ok(())
            })
            .map_err(|e| IpvsError::Request(what, e))
    }

    /// GET_INFO: version and connection table size.
    pub fn info(&mut self) -> Result<Info, IpvsError> {
        let mut info = None;
        self.simple("GET_INFO", ipvs::encode_get_info, AddrFamily::V4, |r| {
            if let IpvsReply::Info(i) = r {
                info = Some(i);
            }
        })?;
        info.ok_or(IpvsError::Request(
            "GET_INFO",
            NetlinkError::Decode(DecodeError::Missing("reply")),
        ))
    }

    /// GET_CONFIG: connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let mut t = None;
        self.simple("GET_CONFIG", ipvs::encode_get_config, AddrFamily::V4, |r| {
            if let IpvsReply::Timeouts(x) = r {
                t = Some(x);
            }
        })?;
        t.ok_or(IpvsError::Request(
            "GET_CONFIG",
            NetlinkError::Decode(DecodeError::Missing("reply")),
        ))
    }

    /// SET_CONFIG: connection timeouts (zero fields unchanged).
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        let t = *t;
        self.simple(
            "SET_CONFIG",
            |b, f, s| ipvs::encode_set_config(b, f, s, &t),
            AddrFamily::V4,
            |_| {},
        )
    }

    /// FLUSH: removes every service (and destination) of the table, lvsd's
    /// or not. Only `lvs_flush` and `lvs_flush_on_stop` ask for it.
    pub fn flush(&mut self) -> Result<(), IpvsError> {
        self.simple("FLUSH", ipvs::encode_flush, AddrFamily::V4, |_| {})
    }

    /// GET_DAEMON: the running sync daemons.
    pub fn daemons(&mut self, mut on: impl FnMut(SyncDaemon)) -> Result<(), IpvsError> {
        self.simple("GET_DAEMON", ipvs::encode_get_daemon, AddrFamily::V4, |r| {
            if let IpvsReply::Daemon(d) = r {
                on(d);
            }
        })
    }

    /// NEW_DAEMON: starts a sync daemon.
    pub fn start_daemon(&mut self, d: &SyncDaemon) -> Result<(), IpvsError> {
        self.simple(
            "NEW_DAEMON",
            |b, f, s| ipvs::encode_new_daemon(b, f, s, d),
            AddrFamily::V4,
            |_| {},
        )
    }

    /// DEL_DAEMON: stops the sync daemon in `state`.
    ///
    /// Stopping a sync thread that has not run yet makes `kthread_stop` return
    /// -EINTR, and `netlink_rcv_skb` sends no ack at all for -EINTR (seen under
    /// TCG when a backup daemon is stopped right after it was started). So the
    /// ack is awaited only DAEMON_STOP_TIMEOUT, then a GET_DAEMON dump decides.
    pub fn stop_daemon(&mut self, state: SyncState) -> Result<(), IpvsError> {
        self.socket.timeout = DAEMON_STOP_TIMEOUT.min(self.reply_wait);
        let result = self.simple(
            "DEL_DAEMON",
            |b, f, s| ipvs::encode_del_daemon(b, f, s, state),
            AddrFamily::V4,
            |_| {},
        );
        self.socket.timeout = self.reply_wait;
        match result {
            Err(IpvsError::Request(what, NetlinkError::Timeout)) => {
                let mut running = false;
                self.daemons(|d| running |= d.state == state)?;
                if running {
                    Err(IpvsError::Request(what, NetlinkError::Timeout))
                } else {
                    Ok(())
                }
            }
            other => other,
        }
    }

    /// Dumps the kernel table: every service into `services` (its counters
    /// into `service_stats`), then every destination (with its service key
    /// and counters) into `dests`. All are cleared first.
    pub fn dump(
        &mut self,
        services: &mut Vec<Service>,
        dests: &mut Vec<(ServiceKey, Dest, DestStats)>,
        service_stats: &mut Vec<(ServiceKey, TrafficStats)>,
    ) -> Result<(), IpvsError> {
        self.dump_services(services, service_stats)?;
        dests.clear();
        for s in services.iter() {
            self.dump_dests(&s.key, dests)?;
        }
        Ok(())
    }

    /// GET_SERVICE dump: every service into `services`, its counters into
    /// `service_stats` (both cleared first).
    pub fn dump_services(
        &mut self,
        services: &mut Vec<Service>,
        service_stats: &mut Vec<(ServiceKey, TrafficStats)>,
    ) -> Result<(), IpvsError> {
        services.clear();
        service_stats.clear();
        self.simple(
            "GET_SERVICE dump",
            ipvs::encode_dump_services,
            AddrFamily::V4,
            |r| {
                if let IpvsReply::Service(s, st) = r {
                    service_stats.push((s.key, st));
                    services.push(s);
                }
            },
        )
    }

    /// GET_DEST dump of one service: its destinations, with its key and
    /// their counters, appended to `dests`.
    pub fn dump_dests(
        &mut self,
        key: &ServiceKey,
        dests: &mut Vec<(ServiceKey, Dest, DestStats)>,
    ) -> Result<(), IpvsError> {
        let key = *key;
        self.simple(
            "GET_DEST dump",
            |b, f, q| ipvs::encode_dump_dests(b, f, q, &key),
            key.af(),
            |r| {
                if let IpvsReply::Dest(d, st) = r {
                    dests.push((key, d, st));
                }
            },
        )
    }

    /// Performs `ops` in order, in batches of IPVS_BATCH_OPS writes per datagram. Each
    /// refused write is passed to `on_failure` with the op it concerns; the rest go on.
    pub fn apply(
        &mut self,
        ops: &[IpvsOp],
        mut on_failure: impl FnMut(OpFailure<'_>),
    ) -> Result<ApplyReport, IpvsError> {
        let mut report = ApplyReport::default();
        let mut start = 0;
        while start < ops.len() {
            // Encode as many ops as fit, up to the batch size.
            let mut len = 0;
            let first_seq = self.socket.seq.wrapping_add(1).max(1);
            let mut count = 0;
            for op in ops.get(start..).unwrap_or(&[]).iter().take(IPVS_BATCH_OPS) {
                let seq = self.socket.seq.wrapping_add(1).max(1);
                let out = self.tx.get_mut(len..).unwrap_or(&mut []);
                match ipvs::encode_op(out, self.family, seq, op) {
                    Ok(n) => {
                        self.socket.seq = seq;
                        len += n;
                        count += 1;
                    }
                    Err(e) if count == 0 => return Err(IpvsError::Request("encode", e.into())),
                    Err(_) => break,
                }
            }
            let batch = ops.get(start..start + count).unwrap_or(&[]);
            self.socket
                .send(self.tx.get(..len).unwrap_or(&[]))
                .map_err(|e| IpvsError::Request("send", NetlinkError::Io("send", e)))?;
            report.sent += count;
            // Collect one ack or error per op.
            let mut pending = count;
            while pending > 0 {
                let n = match self.socket.recv_wait() {
                    Ok(n) => n,
                    Err(NetlinkError::Timeout) => {
                        // Not waited for: the next dump shows what happened.
                        report.unanswered += pending;
                        break;
                    }
                    Err(e) => return Err(IpvsError::Request("ack", e)),
                };
                for m in Messages::new(self.socket.rx.get(..n).unwrap_or(&[])) {
                    let m = m.map_err(|e| IpvsError::Request("ack", e.into()))?;
                    let index = m.header.seq.wrapping_sub(first_seq) as usize;
                    let Some(op) = batch.get(index) else {
                        continue;
                    };
                    match m.reply().map_err(|e| IpvsError::Request("ack", e.into()))? {
                        Reply::Ack { .. } => pending -= 1,
                        Reply::Error(e) => {
                            pending -= 1;
                            report.failed += 1;
                            on_failure(OpFailure {
                                op,
                                errno: e.errno,
                                message: e.message,
                            });
                        }
                        _ => {}
                    }
                }
            }
            start += count;
        }
        Ok(report)
    }
}

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
        let mut found = None;
        self.links(|l| {
            if l.name == name {
                found = Some(l.ifindex);
            }
        })?;
        Ok(found)
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

/// A request sent on the event socket whose ack (or dump end) is awaited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtnlRequest {
    /// RTM_NEWADDR.
    AddAddr(IfAddr),
    /// RTM_DELADDR.
    DelAddr(IfAddr),
    /// RTM_NEWROUTE.
    AddRoute(RouteRepr, RouteCreate),
    /// RTM_DELROUTE.
    DelRoute(RouteRepr),
    /// RTM_NEWRULE.
    AddRule(RuleRepr),
    /// RTM_DELRULE.
    DelRule(RuleRepr),
    /// RTM_GETLINK dump: the links arrive as `RtnlInput::Event { dump: true, .. }`.
    DumpLinks,
    /// RTM_GETADDR dump (both families).
    DumpAddrs,
}

impl RtnlRequest {
    fn is_dump(&self) -> bool {
        matches!(self, RtnlRequest::DumpLinks | RtnlRequest::DumpAddrs)
    }
}

/// What the event socket delivered, in arrival order.
// `Done` carries its request (a route with its hops is some 350 bytes) by
// value: boxing it would allocate per request in the loop; the input queue
// is allocated once at start.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RtnlInput {
    /// A link or address event, or (`dump`) an entry of a dump this socket asked for.
    Event {
        /// The event or entry.
        event: RtEvent,
        /// True for a dump entry.
        dump: bool,
    },
    /// A request ended: acked, refused by the kernel, or (`NetlinkError::Timeout`) no
    /// answer within [`REQUEST_TIMEOUT`].
    Done {
        /// The request.
        request: RtnlRequest,
        /// The caller's tag given with it.
        tag: u32,
        /// Its outcome.
        result: Result<(), NetlinkError>,
    },
    /// The kernel dropped messages for this socket (ENOBUFS: the receive buffer
    /// overflowed). Events and acks may be lost: re-dump.
    Overflow,
    /// A message that could not be decoded (skipped).
    Bad(DecodeError),
}

#[derive(Debug)]
struct PendingRequest {
    seq: u32,
    tag: u32,
    request: RtnlRequest,
    sent: Instant,
    /// A dump entry carried NLM_F_DUMP_INTR.
    interrupted: bool,
}

/// The daemon's rtnetlink socket: subscribed to link and address events
/// (RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR), and the socket its
/// address requests and dumps go out on. Nothing here waits: a request is sent
/// and remembered, its ack is read with the events on readiness
/// ([`RtnlEvents::drain`], a message budget per call), and a request without an
/// answer is reported by [`RtnlEvents::expire`] after [`REQUEST_TIMEOUT`].
#[derive(Debug)]
pub struct RtnlEvents {
    socket: NetlinkSocket,
    tx: [u8; RTNL_REQUEST_BUF],
    pending: Vec<PendingRequest>,
    /// Requests sent while the pending table was full (their acks are ignored).
    pub untracked: u64,
}

impl AsRawFd for RtnlEvents {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl RtnlEvents {
    /// Opens the event socket.
    pub fn open() -> io::Result<RtnlEvents> {
        let groups = rtnl::RTMGRP_LINK | rtnl::RTMGRP_IPV4_IFADDR | rtnl::RTMGRP_IPV6_IFADDR;
        Ok(RtnlEvents {
            socket: NetlinkSocket::open(NetlinkProtocol::Route, groups)?,
            tx: [0u8; RTNL_REQUEST_BUF],
            pending: Vec::with_capacity(RTNL_PENDING),
            untracked: 0,
        })
    }

    /// Also listens to route and rule deletions (only when routes or rules
    /// are configured: a router's route churn is not lvsd's business otherwise).
    pub fn watch_routes(&self) -> io::Result<()> {
        for group in [
            route::RTNLGRP_IPV4_ROUTE,
            route::RTNLGRP_IPV6_ROUTE,
            route::RTNLGRP_IPV4_RULE,
            route::RTNLGRP_IPV6_RULE,
        ] {
            self.socket.add_membership(group)?;
        }
        Ok(())
    }

    /// Sets the socket's receive buffer (SO_RCVBUF; the kernel doubles it and
    /// enforces a minimum). Tests shrink it to provoke ENOBUFS.
    pub fn set_receive_buffer(&self, bytes: usize) -> io::Result<()> {
        self.socket.socket.set_recv_buffer_size(bytes)
    }

    /// Sends `request` without waiting; its outcome comes later from `drain` or
    /// `expire` with `tag`. An error here means it was not sent.
    pub fn send(
        &mut self,
        request: RtnlRequest,
        tag: u32,
        now: Instant,
    ) -> Result<(), NetlinkError> {
        let seq = self.socket.next_seq();
        let n = match &request {
            RtnlRequest::AddAddr(a) => rtnl::encode_new_addr(&mut self.tx, seq, a)?,
            RtnlRequest::DelAddr(a) => rtnl::encode_del_addr(&mut self.tx, seq, a)?,
            RtnlRequest::AddRoute(r, create) => {
                route::encode_new_route(&mut self.tx, seq, r, *create)?
            }
            RtnlRequest::DelRoute(r) => route::encode_del_route(&mut self.tx, seq, r)?,
            RtnlRequest::AddRule(r) => route::encode_new_rule(&mut self.tx, seq, r)?,
            RtnlRequest::DelRule(r) => route::encode_del_rule(&mut self.tx, seq, r)?,
            RtnlRequest::DumpLinks => rtnl::encode_get_links(&mut self.tx, seq)?,
            RtnlRequest::DumpAddrs => rtnl::encode_get_addrs(&mut self.tx, seq, None)?,
        };
        self.socket
            .send(self.tx.get(..n).unwrap_or(&[]))
            .map_err(|e| NetlinkError::Io("send", e))?;
        if self.pending.len() < RTNL_PENDING {
            self.pending.push(PendingRequest {
                seq,
                tag,
                request,
                sent: now,
                interrupted: false,
            });
        } else {
            // Still sent (a VIP change is never dropped); only its ack is not matched.
            self.untracked += 1;
        }
        Ok(())
    }

    /// Requests still waiting for an answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether a dump is in progress (the kernel runs one dump per socket at a time).
    pub fn dumping(&self) -> bool {
        self.pending.iter().any(|p| p.request.is_dump())
    }

    /// When the oldest request times out.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.sent + REQUEST_TIMEOUT).min()
    }

    /// Reports every request sent `REQUEST_TIMEOUT` or longer before `now` as timed out.
    pub fn expire(&mut self, now: Instant, mut on: impl FnMut(RtnlInput)) {
        let mut k = 0;
        while k < self.pending.len() {
            if now.saturating_duration_since(self.pending[k].sent) >= REQUEST_TIMEOUT {
                let p = self.pending.swap_remove(k);
                on(RtnlInput::Done {
                    request: p.request,
                    tag: p.tag,
                    result: Err(NetlinkError::Timeout),
                });
            } else {
                k += 1;
            }
        }
    }

    /// Reads datagrams until WouldBlock or until `budget` messages were handed to
    /// `on` (the datagram being read is finished). Returns true when the budget ran
    /// out first: more may be queued, and since readiness is edge-triggered the
    /// caller must come back on its own.
    pub fn drain(&mut self, budget: usize, mut on: impl FnMut(RtnlInput)) -> io::Result<bool> {
        let mut handled = 0;
        let port_id = self.socket.port_id;
        while handled < budget {
            let data = match self.socket.recv() {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    handled += 1;
                    on(RtnlInput::Overflow);
                    continue;
                }
                Err(e) => return Err(e),
            };
            for m in Messages::new(data) {
                handled += 1;
                let m = match m {
                    Ok(m) => m,
                    Err(e) => {
                        on(RtnlInput::Bad(e));
                        break;
                    }
                };
                let mine = if m.header.port_id == port_id {
                    self.pending.iter().position(|p| p.seq == m.header.seq)
                } else {
                    None
                };
                let reply = match m.reply() {
                    Ok(r) => r,
                    Err(e) => {
                        on(RtnlInput::Bad(e));
                        continue;
                    }
                };
                let finished = match (reply, mine) {
                    (Reply::Data(d), _) => {
                        let dump = mine.is_some_and(|i| self.pending[i].request.is_dump());
                        if dump && d.header.flags & NLM_F_DUMP_INTR != 0 {
                            if let Some(i) = mine {
                                self.pending[i].interrupted = true;
                            }
                        }
                        match rtnl::parse_event(d.header.kind, d.payload) {
                            Ok(Some(event)) => on(RtnlInput::Event { event, dump }),
                            Ok(None) => {}
                            Err(e) => on(RtnlInput::Bad(e)),
                        }
                        None
                    }
                    (Reply::Ack { .. }, Some(i)) => Some((i, Ok(()))),
                    (Reply::Error(e), Some(i)) => Some((i, Err(kernel_error(e.errno, e.message)))),
                    (Reply::Done { error, .. }, Some(i)) => Some((
                        i,
                        if error != 0 {
                            Err(kernel_error(error, None))
                        } else if self.pending[i].interrupted {
                            Err(NetlinkError::DumpInterrupted)
                        } else {
                            Ok(())
                        },
                    )),
                    // An answer to a request that already timed out, or noise.
                    _ => None,
                };
                if let Some((i, result)) = finished {
                    let p = self.pending.swap_remove(i);
                    on(RtnlInput::Done {
                        request: p.request,
                        tag: p.tag,
                        result,
                    });
                }
            }
        }
        Ok(true)
    }

    /// At shutdown only: waits up to `limit` for the answers still pending
    /// (the last VIP removals), handing them to `on`.
    pub fn settle(&mut self, limit: Duration, mut on: impl FnMut(RtnlInput)) {
        let end = Instant::now() + limit;
        while !self.pending.is_empty() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match wait_readable(self.as_raw_fd(), left) {
                Ok(true) => {
                    if self.drain(usize::MAX, &mut on).is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
        let now = Instant::now() + REQUEST_TIMEOUT;
        self.expire(now, on);
    }
}

/// Moves the calling thread into a new, empty network namespace (only `lo`, down). For
/// tests and lab tools; needs CAP_SYS_ADMIN. The namespace goes away with its last user.
pub fn unshare_network_namespace() -> io::Result<()> {
    // SAFETY: unshare takes flags only; CLONE_NEWNET affects just the calling thread.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Convenience: a VIP as a host address on `ifindex`.
pub fn vip(ifindex: u32, addr: IpAddr) -> IfAddr {
    IfAddr::host(ifindex, addr)
}
