//! What every sans-IO stream probe shares: its outcome, failure reasons, and the `StreamProbe` driver interface.

use core::fmt;
use core::time::Duration;
use std::time::Instant;

use crate::wire::http::HttpError;
use crate::wire::smtp::SmtpError;

/// Why a probe failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The connection could not be made (refused, unreachable, bind failed).
    Connect,
    /// The probe's deadline passed (connect, or no progress within connect_timeout).
    Timeout,
    /// The whole dialogue did not end within its own deadline, however
    /// steadily the server kept sending (HTTP: 2 x connect_timeout per url;
    /// SMTP: `SMTP_DIALOGUE_STEPS` x connect_timeout).
    Deadline,
    /// A read or write on the connection failed.
    Io,
    /// The peer closed before the dialogue ended.
    Closed,
    /// The TLS handshake or record layer failed.
    Tls,
    /// The HTTP response could not be read.
    Http(HttpError),
    /// The HTTP status is not in the accepted list (url index, status).
    Status(u8, u16),
    /// The body's MD5 differs from the configured digest (url index).
    Digest(u8),
    /// The body did (regex_no_match) or did not contain the url's regex (url index).
    Regex(u8),
    /// The SMTP reply could not be read.
    Smtp(SmtpError),
    /// The SMTP server answered with an unexpected code.
    SmtpCode(u16),
    /// The script exited with this code (1, or >= 2 without misc_dynamic).
    ExitCode(u8),
    /// The script was killed by this signal (not by our timeout).
    Signal(i32),
    /// DNS_CHECK: the answer's RCODE is not NOERROR.
    DnsRcode(u8),
    /// FILE_CHECK: the file's value takes the server down.
    FileValue(i32),
    /// An ICMP destination unreachable came back (UDP_CHECK, PING_CHECK).
    Unreachable,
    /// The UDP reply's length or bytes differ from `require_reply`.
    Reply,
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::Connect => f.write_str("connection failed"),
            FailReason::Timeout => f.write_str("timed out"),
            FailReason::Deadline => f.write_str("dialogue exceeded its overall deadline"),
            FailReason::Io => f.write_str("read or write failed"),
            FailReason::Closed => f.write_str("connection closed early"),
            FailReason::Tls => f.write_str("TLS failed"),
            FailReason::Http(e) => write!(f, "{e}"),
            FailReason::Status(u, s) => write!(f, "url {u}: status {s} not accepted"),
            FailReason::Digest(u) => write!(f, "url {u}: digest mismatch"),
            FailReason::Regex(u) => write!(f, "url {u}: body regex verdict is a failure"),
            FailReason::Smtp(e) => write!(f, "{e}"),
            FailReason::SmtpCode(c) => write!(f, "unexpected SMTP reply {c}"),
            FailReason::ExitCode(c) => write!(f, "script exited with {c}"),
            FailReason::Signal(s) => write!(f, "script killed by signal {s}"),
            FailReason::DnsRcode(r) => write!(f, "DNS answer with RCODE {r}"),
            FailReason::FileValue(v) => write!(f, "file value {v} takes the server down"),
            FailReason::Unreachable => f.write_str("destination unreachable"),
            FailReason::Reply => f.write_str("reply does not match require_reply"),
        }
    }
}

/// The end of one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server passed; `weight` is a MISC_CHECK dynamic weight.
    Up {
        /// misc_dynamic weight (exit code - 2), when one was reported.
        weight: Option<u32>,
    },
    /// The server failed.
    Down(FailReason),
}

impl Outcome {
    /// Whether the probe passed.
    pub fn is_up(&self) -> bool {
        matches!(self, Outcome::Up { .. })
    }
}

/// A probe's deadline and its first verdict: once given, later events never
/// change it (a connect that completes after the timeout is ignored).
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    deadline: Instant,
    outcome: Option<Outcome>,
}

impl Verdict {
    /// Open, with the deadline `timeout` after `now`.
    pub fn new(now: Instant, timeout: Duration) -> Self {
        Verdict {
            deadline: now + timeout,
            outcome: None,
        }
    }

    /// Give the verdict, unless one was given already.
    pub fn finish(&mut self, outcome: Outcome) {
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
        }
    }

    /// The verdict, once given.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// Still open and the deadline has come.
    pub fn due(&self, now: Instant) -> bool {
        self.outcome.is_none() && now >= self.deadline
    }

    /// Down with a timeout once the deadline has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.due(now) {
            self.finish(Outcome::Down(FailReason::Timeout));
        }
    }

    /// The deadline while the verdict is open.
    pub fn poll_at(&self) -> Option<Instant> {
        self.outcome.is_none().then_some(self.deadline)
    }
}

/// What a stream probe needs from its driver next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Open a new connection (and call `on_connected` when it completes).
    Connect,
    /// Send `pending_write()`, and read.
    Exchange,
    /// Close the connection; the probe is over.
    Finished(Outcome),
}

/// What kind of socket a probe runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A TCP connection (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK).
    Tcp,
    /// A connected UDP socket: one datagram per write, per read (UDP_CHECK).
    Udp,
    /// An ICMP socket connected to the server; echo id `ident` (PING_CHECK).
    Icmp {
        /// The echo identifier the probe sends and expects back.
        ident: u16,
    },
}

/// A probe that talks over one byte stream at a time (plain TCP or TLS plaintext).
pub trait StreamProbe {
    /// What the driver should do next.
    fn step(&self) -> Step;
    /// The connection asked for by `Step::Connect` is established.
    fn on_connected(&mut self, now: Instant);
    /// Bytes to send now (may be empty).
    fn pending_write(&self) -> &[u8];
    /// `n` bytes of `pending_write()` were sent.
    fn on_written(&mut self, now: Instant, n: usize);
    /// Bytes arrived.
    fn on_read(&mut self, now: Instant, data: &[u8]);
    /// The peer closed its side.
    fn on_eof(&mut self, now: Instant);
    /// The connection failed (`Connect` while connecting, `Io` or `Tls` later).
    fn on_error(&mut self, now: Instant, reason: FailReason);
    /// One datagram arrived (datagram transports): its first bytes in `data`,
    /// `len` its full length (it may have been longer than the buffer).
    fn on_datagram(&mut self, now: Instant, data: &[u8], len: usize) {
        let _ = len;
        self.on_read(now, data);
    }
    /// The socket kind this probe needs.
    fn transport(&self) -> Transport {
        Transport::Tcp
    }
    /// Fails the probe if its deadline has passed. Extra calls are harmless.
    fn handle_timeout(&mut self, now: Instant);
    /// The probe's next deadline, while it runs.
    fn poll_at(&self) -> Option<Instant>;
    /// Whether the driver ends a connection it opened with a reset instead
    /// of FIN (no TIME_WAIT left on the director). Plain connect checks say
    /// yes: nothing was exchanged that a reset could cut short.
    fn reset_on_close(&self) -> bool {
        false
    }
}

/// Any stream probe, so the daemon can keep all of them in one table.
// Slots of a fixed-size table: boxing the HTTP variant would allocate per check.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AnyProbe {
    /// TCP_CHECK.
    Tcp(super::tcp::TcpProbe),
    /// HTTP_GET or SSL_GET (TLS is the driver's part).
    Http(super::http::HttpProbe),
    /// SMTP_CHECK.
    Smtp(super::smtp::SmtpProbe),
    /// UDP_CHECK.
    Udp(super::udp::UdpProbe),
    /// PING_CHECK.
    Ping(super::ping::PingProbe),
    /// DNS_CHECK.
    Dns(super::dns::DnsProbe),
}

macro_rules! each {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            AnyProbe::Tcp($p) => $e,
            AnyProbe::Http($p) => $e,
            AnyProbe::Smtp($p) => $e,
            AnyProbe::Udp($p) => $e,
            AnyProbe::Ping($p) => $e,
            AnyProbe::Dns($p) => $e,
        }
    };
}

impl StreamProbe for AnyProbe {
    fn step(&self) -> Step {
        each!(self, p => p.step())
    }
    fn on_connected(&mut self, now: Instant) {
        each!(self, p => p.on_connected(now))
    }
    fn pending_write(&self) -> &[u8] {
        each!(self, p => p.pending_write())
    }
    fn on_written(&mut self, now: Instant, n: usize) {
        each!(self, p => p.on_written(now, n))
    }
    fn on_read(&mut self, now: Instant, data: &[u8]) {
        each!(self, p => p.on_read(now, data))
    }
    fn on_eof(&mut self, now: Instant) {
        each!(self, p => p.on_eof(now))
    }
    fn on_error(&mut self, now: Instant, reason: FailReason) {
        each!(self, p => p.on_error(now, reason))
    }
    fn on_datagram(&mut self, now: Instant, data: &[u8], len: usize) {
        each!(self, p => p.on_datagram(now, data, len))
    }
    fn transport(&self) -> Transport {
        each!(self, p => p.transport())
    }
    fn handle_timeout(&mut self, now: Instant) {
        each!(self, p => p.handle_timeout(now))
    }
    fn poll_at(&self) -> Option<Instant> {
        each!(self, p => p.poll_at())
    }
    fn reset_on_close(&self) -> bool {
        each!(self, p => p.reset_on_close())
    }
}
