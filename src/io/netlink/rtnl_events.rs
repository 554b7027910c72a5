//! The daemon's rtnetlink socket: link, address (and, when configured, route and rule)
//! events, and the address/route/rule requests and dumps sent on it without waiting,
//! their acks read with the events.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use super::{
    request_end, wait_readable, NetlinkError, NetlinkProtocol, NetlinkSocket, REQUEST_TIMEOUT,
};
use crate::limits::{RTNL_PENDING, RTNL_REQUEST_BUF};
use crate::wire::netlink::msg::{DecodeError, Messages, Reply, NLM_F_DUMP_INTR};
use crate::wire::netlink::route::{self, RouteCreate, RouteRepr, RuleRepr};
use crate::wire::netlink::rtnl::{self, IfAddr, RtEvent};

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
                    (reply, Some(i)) => {
                        request_end(&reply, self.pending[i].interrupted).map(|end| (i, end))
                    }
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
