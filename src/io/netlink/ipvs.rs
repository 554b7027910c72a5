//! The IPVS client over generic netlink: batched table writes with one ack per write,
//! GET dumps of services, destinations and sync daemons, and the connection timeouts.

use core::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use super::{NetlinkError, NetlinkProtocol, NetlinkSocket, REQUEST_TIMEOUT};
use crate::limits::{IPVS_BATCH_OPS, NETLINK_BUF};
use crate::wire::netlink::ipvs::{
    self, AddrFamily, Dest, DestStats, Info, IpvsOp, IpvsReply, Service, ServiceKey, SyncDaemon,
    SyncState, Timeouts, TrafficStats,
};
use crate::wire::netlink::msg::{DecodeError, EncodeError, Errno, Messages, Reply};

/// How long DEL_DAEMON waits for its ack before checking with a GET_DAEMON dump.
pub const DAEMON_STOP_TIMEOUT: Duration = Duration::from_secs(1);
/// Bytes of one encoded request buffer (a batch of IPVS writes fits in it).
const TX_BUF: usize = NETLINK_BUF;

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

    /// Sends a GET request and returns the reply `pick` takes (the last, if several).
    fn get_one<T>(
        &mut self,
        what: &'static str,
        encode: impl FnOnce(&mut [u8], u16, u32) -> Result<usize, EncodeError>,
        pick: impl Fn(IpvsReply) -> Option<T>,
    ) -> Result<T, IpvsError> {
        let mut found = None;
        self.simple(what, encode, AddrFamily::V4, |r| {
            if let Some(x) = pick(r) {
                found = Some(x);
            }
        })?;
        found.ok_or(IpvsError::Request(
            what,
            NetlinkError::Decode(DecodeError::Missing("reply")),
        ))
    }

    /// GET_INFO: version and connection table size.
    pub fn info(&mut self) -> Result<Info, IpvsError> {
        self.get_one("GET_INFO", ipvs::encode_get_info, |r| match r {
            IpvsReply::Info(i) => Some(i),
            _ => None,
        })
    }

    /// GET_CONFIG: connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        self.get_one("GET_CONFIG", ipvs::encode_get_config, |r| match r {
            IpvsReply::Timeouts(t) => Some(t),
            _ => None,
        })
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
