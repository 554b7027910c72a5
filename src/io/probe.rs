//! Drives one sans-IO check probe over a nonblocking TCP socket, with TLS in between for SSL_GET.
//!
//! The daemon registers `raw_fd()` with mio for reading and writing and calls
//! `on_ready_within` on any event, `handle_timeout` at `poll_at()`. One call reads
//! at most its byte budget: a server however fast cannot keep the loop. When the
//! budget ran out before the socket would block, the call says so (`Ready::more`)
//! and the caller must call again later without waiting for a new event, as an
//! edge-triggered poller will not report the bytes already waiting. The probe's
//! deadline is checked after every read, so a stream that never pauses still ends
//! on time. HTTP_GET opens one connection per url, so the fd can change inside a
//! call: compare `raw_fd()` after each call and register the new one (the old one
//! is closed, which removes it from epoll).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::check::probe::{FailReason, Outcome, Step, StreamProbe, Transport};
use crate::check::tls::{Plaintext, TlsSession};
use crate::limits::{
    PROBE_DATAGRAM_COST, PROBE_READY_BUDGET, PROBE_READ_BUDGET, PROBE_TLS_PLAINTEXT_BUF,
};

/// Where and how a probe connects.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// connect_ip:connect_port.
    pub address: SocketAddr,
    /// bindto (and bind_port), when set.
    pub bind: Option<SocketAddr>,
    /// TLS config and server name, for SSL_GET.
    pub tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
}

/// What one `on_ready_within` call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready {
    /// Bytes read from the socket (ciphertext for TLS).
    pub bytes: usize,
    /// The budget ran out with data possibly left: call again soon, without
    /// waiting for a readiness event.
    pub more: bool,
}

/// One probe in flight: the pure probe, its socket, and its TLS session.
pub struct ProbeDriver<P: StreamProbe> {
    probe: P,
    target: ProbeTarget,
    socket: Option<Socket>,
    tls: Option<TlsSession>,
    connecting: bool,
    /// `on_connected` was given for the current connection.
    announced: bool,
    /// Counts connections opened, so a reused fd number is still seen as new.
    connection_id: u64,
    /// Bytes this call may still read.
    budget: usize,
    /// Bytes this call has read.
    read: usize,
    /// The socket carries datagrams (UDP, ICMP): each read is one message.
    datagram: bool,
    /// A raw IPv4 ICMP socket: each message starts with the IP header.
    raw_ipv4: bool,
}

impl<P: StreamProbe> core::fmt::Debug for ProbeDriver<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProbeDriver")
            .field("target", &self.target.address)
            .field("fd", &self.raw_fd())
            .field("connecting", &self.connecting)
            .finish()
    }
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl<P: StreamProbe> ProbeDriver<P> {
    /// Starts `probe` against `target` at `now`: opens the first connection.
    pub fn start(probe: P, target: ProbeTarget, now: Instant) -> Self {
        let mut d = ProbeDriver {
            probe,
            target,
            socket: None,
            tls: None,
            connecting: false,
            announced: false,
            connection_id: 0,
            budget: 0,
            read: 0,
            datagram: false,
            raw_ipv4: false,
        };
        let _ = d.advance(now, &mut []);
        d
    }

    /// The socket to register with the poller, while one is open.
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.socket.as_ref().map(|s| s.as_raw_fd())
    }

    /// Changes whenever a new connection opens (the fd number may be reused): re-register then.
    pub fn connection_id(&self) -> u64 {
        self.connection_id
    }

    /// Whether the probe wants to write (connect pending, request or TLS records to send).
    pub fn wants_write(&self) -> bool {
        self.connecting
            || self.tls.as_ref().is_some_and(|t| t.wants_write())
            || !self.probe.pending_write().is_empty()
    }

    /// The probe's result once it has ended.
    pub fn outcome(&self) -> Option<Outcome> {
        match self.probe.step() {
            Step::Finished(o) => Some(o),
            _ => None,
        }
    }

    /// The pure probe (e.g. to read an HTTP head for logging).
    pub fn probe(&self) -> &P {
        &self.probe
    }

    /// The probe's next deadline.
    pub fn poll_at(&self) -> Option<Instant> {
        self.probe.poll_at()
    }

    /// Fails the probe when its deadline passed; closes the socket when it ends.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.probe.handle_timeout(now);
        if self.outcome().is_some() {
            self.close();
        }
    }

    /// The socket is readable or writable (or a spurious event): makes progress
    /// with at most `PROBE_READ_BUDGET` bytes read. `scratch` is a buffer shared
    /// by all probes (any size; 16 KiB is good).
    ///
    /// Returns `true` when its work budget ran out with data possibly left in the
    /// socket: call again soon (an edge-triggered poller will not report it again).
    pub fn on_ready(&mut self, now: Instant, scratch: &mut [u8]) -> bool {
        self.on_ready_within(now, scratch, PROBE_READ_BUDGET).more
    }

    /// As `on_ready`, reading at most `budget` bytes (a zero budget still
    /// completes a connect and sends what is due).
    pub fn on_ready_within(&mut self, now: Instant, scratch: &mut [u8], budget: usize) -> Ready {
        self.budget = budget;
        self.read = 0;
        let more = self.advance(now, scratch);
        Ready {
            bytes: self.read,
            more,
        }
    }

    /// Ends the probe if its deadline passed (checked inside the read loops,
    /// where `now` is the wake-up's time); returns whether it has ended.
    fn past_deadline(&mut self, now: Instant) -> bool {
        self.probe.handle_timeout(now);
        matches!(self.probe.step(), Step::Finished(_))
    }

    fn close(&mut self) {
        if let Some(socket) = &self.socket {
            if !self.connecting && self.probe.reset_on_close() {
                // SO_LINGER 0: close sends RST, so 10,000 connect checks a
                // second do not leave 600,000 TIME_WAIT sockets behind.
                let _ = socket.set_linger(Some(std::time::Duration::ZERO));
            }
        }
        self.socket = None;
        self.tls = None;
        self.connecting = false;
        self.announced = false;
    }

    fn announce(&mut self, now: Instant) {
        if !self.announced {
            self.announced = true;
            self.probe.on_connected(now);
        }
    }

    /// Opens the datagram socket of a UDP or ICMP probe, connected to the target.
    fn open_datagram(&mut self) -> Result<Socket, FailReason> {
        let addr = self.target.address;
        let domain = Domain::for_address(addr);
        let bind = self.target.bind;
        let socket = match self.probe.transport() {
            Transport::Udp => {
                let s = Socket::new(
                    domain,
                    Type::DGRAM.nonblocking().cloexec(),
                    Some(Protocol::UDP),
                )
                .map_err(|_| FailReason::Connect)?;
                if let Some(bind) = bind {
                    s.bind(&SockAddr::from(bind))
                        .map_err(|_| FailReason::Connect)?;
                }
                s
            }
            Transport::Icmp { ident } => {
                let protocol = if addr.is_ipv6() {
                    Protocol::ICMPV6
                } else {
                    Protocol::ICMPV4
                };
                // An unprivileged ping socket where net.ipv4.ping_group_range
                // allows our group: the kernel matches replies to it by id,
                // which is the port it is bound to. Otherwise a raw socket.
                let local = bind.map(|b| b.ip()).unwrap_or(if addr.is_ipv6() {
                    std::net::Ipv6Addr::UNSPECIFIED.into()
                } else {
                    std::net::Ipv4Addr::UNSPECIFIED.into()
                });
                let ping = Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), Some(protocol))
                    .ok()
                    .filter(|s| {
                        s.bind(&SockAddr::from(SocketAddr::new(local, ident)))
                            .is_ok()
                    });
                match ping {
                    Some(s) => s,
                    None => {
                        let s =
                            Socket::new(domain, Type::RAW.nonblocking().cloexec(), Some(protocol))
                                .map_err(|_| FailReason::Connect)?;
                        if bind.is_some() {
                            s.bind(&SockAddr::from(SocketAddr::new(local, 0)))
                                .map_err(|_| FailReason::Connect)?;
                        }
                        self.raw_ipv4 = !addr.is_ipv6();
                        s
                    }
                }
            }
            Transport::Tcp => return Err(FailReason::Connect),
        };
        let peer = match self.probe.transport() {
            Transport::Icmp { .. } => SocketAddr::new(addr.ip(), 0),
            _ => addr,
        };
        socket
            .connect(&SockAddr::from(peer))
            .map_err(|e| datagram_error(&e))?;
        Ok(socket)
    }

    fn open(&mut self, now: Instant) {
        self.close();
        self.connection_id += 1;
        self.datagram = self.probe.transport() != Transport::Tcp;
        self.raw_ipv4 = false;
        if self.datagram {
            match self.open_datagram() {
                Ok(socket) => {
                    self.socket = Some(socket);
                    self.connected(now);
                }
                Err(reason) => self.probe.on_error(now, reason),
            }
            return;
        }
        let addr = self.target.address;
        let socket = match Socket::new(
            Domain::for_address(addr),
            Type::STREAM.nonblocking().cloexec(),
            Some(Protocol::TCP),
        ) {
            Ok(s) => s,
            Err(_) => return self.probe.on_error(now, FailReason::Connect),
        };
        if let Some(bind) = self.target.bind {
            if socket.bind(&SockAddr::from(bind)).is_err() {
                return self.probe.on_error(now, FailReason::Connect);
            }
        }
        match socket.connect(&SockAddr::from(addr)) {
            Ok(()) => self.connecting = false,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => self.connecting = true,
            Err(_) => return self.probe.on_error(now, FailReason::Connect),
        }
        if let Some((config, name)) = &self.target.tls {
            match TlsSession::new(config.clone(), name.clone()) {
                Ok(t) => self.tls = Some(t),
                Err(_) => return self.probe.on_error(now, FailReason::Tls),
            }
        }
        self.socket = Some(socket);
        if !self.connecting {
            self.connected(now);
        }
    }

    fn connected(&mut self, now: Instant) {
        self.connecting = false;
        // With TLS the probe is "connected" when the handshake ends.
        if self.tls.is_none() {
            self.announce(now);
        }
    }

    /// Runs until nothing more can happen without a new event; true when the budget ran out.
    fn advance(&mut self, now: Instant, scratch: &mut [u8]) -> bool {
        for _ in 0..PROBE_READY_BUDGET {
            match self.probe.step() {
                Step::Finished(_) => {
                    self.close();
                    return false;
                }
                Step::Connect => {
                    if self.announced {
                        // The probe asks for a fresh connection (next url).
                        self.close();
                    }
                    if self.socket.is_none() {
                        self.open(now);
                        continue;
                    }
                }
                Step::Exchange => {}
            }
            if !self.poll_connect(now) {
                return false;
            }
            if self.tls.as_ref().is_some_and(|t| !t.is_handshaking()) {
                self.announce(now);
            }
            let wrote = self.flush(now);
            let read = self.fill(now, scratch);
            if self.past_deadline(now) {
                self.close();
                return false;
            }
            if self.budget == 0 && self.socket.is_some() {
                // Out of bytes for this call: the rest waits for the next turn.
                return true;
            }
            if !wrote && !read {
                return false;
            }
        }
        self.outcome().is_none()
    }

    /// Completes a pending connect; returns whether the socket is usable.
    fn poll_connect(&mut self, now: Instant) -> bool {
        let Some(socket) = &self.socket else {
            return false;
        };
        if !self.connecting {
            return true;
        }
        // A peer address means connected (one syscall on the common path);
        // without one, SO_ERROR tells a failed connect from a pending one.
        let pending = match socket.peer_addr() {
            Ok(_) => {
                self.connected(now);
                return true;
            }
            Err(e) => e.raw_os_error() == Some(libc::ENOTCONN),
        };
        if pending && matches!(socket.take_error(), Ok(None)) {
            return false;
        }
        self.probe.on_error(now, FailReason::Connect);
        self.close();
        false
    }

    /// Sends what the probe and TLS have; returns whether anything moved.
    fn flush(&mut self, now: Instant) -> bool {
        let Some(socket) = &self.socket else {
            return false;
        };
        let mut moved = false;
        if let Some(tls) = &mut self.tls {
            let pending = self.probe.pending_write();
            if !pending.is_empty() && !tls.is_handshaking() {
                let n = tls.write_plaintext(pending);
                if n > 0 {
                    self.probe.on_written(now, n);
                    moved = true;
                }
            }
            while tls.wants_write() {
                let mut w: &Socket = socket;
                match tls.write_ciphertext(&mut w) {
                    Ok(0) => break,
                    Ok(_) => moved = true,
                    Err(e) if would_block(&e) => break,
                    Err(_) => {
                        self.probe.on_error(now, FailReason::Io);
                        return true;
                    }
                }
            }
            return moved;
        }
        loop {
            let pending = self.probe.pending_write();
            if pending.is_empty() {
                return moved;
            }
            let mut w: &Socket = socket;
            match w.write(pending) {
                Ok(0) => return moved,
                Ok(n) => {
                    self.probe.on_written(now, n);
                    moved = true;
                }
                Err(e) if would_block(&e) => return moved,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let reason = if self.datagram {
                        datagram_error(&e)
                    } else {
                        FailReason::Io
                    };
                    self.probe.on_error(now, reason);
                    return true;
                }
            }
        }
    }

    /// Reads what the socket has and feeds the probe; returns whether anything moved.
    fn fill(&mut self, now: Instant, scratch: &mut [u8]) -> bool {
        let mut local = [0u8; 512];
        let buf: &mut [u8] = if scratch.is_empty() {
            &mut local
        } else {
            scratch
        };
        let mut moved = false;
        loop {
            match self.probe.step() {
                Step::Finished(_) => return true,
                Step::Connect if self.announced => return true,
                _ => {}
            }
            let Some(socket) = &self.socket else {
                return moved;
            };
            if self.budget == 0 {
                return moved;
            }
            let room = buf.len().min(self.budget);
            let Some(buf) = buf.get_mut(..room) else {
                return moved;
            };
            if self.datagram {
                match self.read_datagram(now, buf) {
                    Some(true) => {
                        moved = true;
                        continue;
                    }
                    Some(false) => return moved,
                    None => return true,
                }
            }
            let mut r: &Socket = socket;
            let n = match r.read(buf) {
                Ok(n) => n,
                Err(e) if would_block(&e) => return moved,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.probe.on_error(now, FailReason::Io);
                    return true;
                }
            };
            moved = true;
            self.budget -= n.min(self.budget);
            self.read += n;
            let data = buf.get(..n).unwrap_or(&[]);
            if self.tls.is_some() {
                if n == 0 {
                    self.tls_eof(now);
                    return true;
                }
                if !self.feed_tls(now, data) {
                    return true;
                }
                // Handshake replies must go out before more can arrive.
                return true;
            }
            if n == 0 {
                self.probe.on_eof(now);
                return true;
            }
            self.probe.on_read(now, data);
            if self.past_deadline(now) {
                return true;
            }
        }
    }

    /// Reads one datagram into `buf` and gives it to the probe: `Some(true)`
    /// when one was read, `Some(false)` when none waits, `None` on an error.
    fn read_datagram(&mut self, now: Instant, buf: &mut [u8]) -> Option<bool> {
        let socket = self.socket.as_ref()?;
        // SAFETY: recv writes at most buf.len() bytes into buf, which is
        // valid for writes that long; MSG_TRUNC makes it return the message's
        // full length, which only sizes the verdict and never indexes buf.
        let n = unsafe {
            libc::recv(
                socket.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if would_block(&e) {
                return Some(false);
            }
            if e.kind() == io::ErrorKind::Interrupted {
                return Some(true);
            }
            self.probe.on_error(now, datagram_error(&e));
            return None;
        }
        let len = usize::try_from(n).unwrap_or(0);
        // Many empty datagrams must still end the turn.
        let cost = len.max(PROBE_DATAGRAM_COST);
        self.budget -= cost.min(self.budget);
        // Counted at cost too, so the loop-wide budget also bounds a flood.
        self.read += cost;
        let mut data = buf.get(..len.min(buf.len())).unwrap_or(&[]);
        let mut full = len;
        if self.raw_ipv4 {
            let header = usize::from(data.first().copied().unwrap_or(0) & 0x0f) * 4;
            data = data.get(header..).unwrap_or(&[]);
            full = full.saturating_sub(header);
        }
        self.probe.on_datagram(now, data, full);
        if self.past_deadline(now) {
            return None;
        }
        Some(true)
    }

    fn tls_eof(&mut self, now: Instant) {
        let handshaking = self.tls.as_ref().is_some_and(|t| t.is_handshaking());
        if handshaking {
            self.probe.on_error(now, FailReason::Tls);
        } else {
            self.probe.on_eof(now);
        }
    }

    /// Feeds ciphertext to TLS and plaintext to the probe; false when the probe ended.
    fn feed_tls(&mut self, now: Instant, mut data: &[u8]) -> bool {
        let mut plain = [0u8; PROBE_TLS_PLAINTEXT_BUF];
        while let Some(tls) = &mut self.tls {
            if data.is_empty() {
                break;
            }
            let used = match tls.read_ciphertext(data) {
                Ok(n) => n,
                Err(_) => {
                    self.probe.on_error(now, FailReason::Tls);
                    return false;
                }
            };
            data = data.get(used..).unwrap_or(&[]);
            if !tls.is_handshaking() {
                self.announce(now);
            }
            loop {
                let Some(tls) = &mut self.tls else {
                    return false;
                };
                match tls.read_plaintext(&mut plain) {
                    Ok(Plaintext::Data(n)) => {
                        self.probe.on_read(now, plain.get(..n).unwrap_or(&[]))
                    }
                    Ok(Plaintext::Empty) => break,
                    Ok(Plaintext::Closed) | Err(_) => {
                        self.probe.on_eof(now);
                        return false;
                    }
                }
                if self.past_deadline(now) {
                    return false;
                }
            }
            if used == 0 {
                break;
            }
        }
        true
    }
}

/// What an error on a datagram socket means: ICMP said the port, host or
/// network is unreachable (keepalived fails the server), or something else.
fn datagram_error(e: &io::Error) -> FailReason {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH) => {
            FailReason::Unreachable
        }
        _ => FailReason::Io,
    }
}

/// Runs one probe to its end on its own poller, blocking the caller (genhash, tests).
pub fn run_blocking<P: StreamProbe>(probe: P, target: ProbeTarget) -> io::Result<(Outcome, P)> {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(4);
    let mut scratch = [0u8; 16 * 1024];
    let mut driver = ProbeDriver::start(probe, target, Instant::now());
    let mut registered: Option<(RawFd, u64)> = None;
    loop {
        if let Some(outcome) = driver.outcome() {
            return Ok((outcome, driver.probe));
        }
        let fd = driver.raw_fd().map(|fd| (fd, driver.connection_id()));
        if fd != registered {
            if let Some((fd, _)) = fd {
                poll.registry().register(
                    &mut SourceFd(&fd),
                    Token(0),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
            }
            registered = fd;
        }
        let timeout = driver
            .poll_at()
            .map(|at| at.saturating_duration_since(Instant::now()));
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        // Each call reads at most its budget; the clock is read again for
        // each, so a stream that never pauses still meets its deadline.
        while driver.on_ready(Instant::now(), &mut scratch) {}
        driver.handle_timeout(Instant::now());
    }
}
