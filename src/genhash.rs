//! `lvsd genhash`: fetch one URL and print the MD5 of its body, for HTTP_GET/SSL_GET `digest` lines.
//!
//! Output: `MD5SUM = <32 hex digits>` (the form the article and keepalived 1.x
//! print; keepalived 2.2.7's genhash prints the bare hex). Unlike keepalived, a
//! connection failure, a timeout, a malformed or truncated response, or a status
//! outside 200-299 is an error (non-zero exit), not a digest of whatever came back.
//! `-v` adds the header block, the body length and the response time.

use core::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::check::probe::{FailReason, Outcome, Step, StreamProbe};
use crate::check::tls;
use crate::io::probe::{run_blocking, ProbeTarget};
use crate::limits::{HTTP_HEADER_BUF, HTTP_REQUEST_BUF};
use crate::wire::http::{
    build_get_request, digest_hex, GetRequest, HttpVersion, Progress, ResponseParser,
};

/// The genhash command line, as parsed by main.rs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenhashArgs {
    /// `-s`: server address or name.
    pub server: String,
    /// `-p`: port.
    pub port: u16,
    /// `-u`: URL path.
    pub url: String,
    /// `-S`: use TLS.
    pub ssl: bool,
    /// `-V`: virtual host for the Host header (and SNI).
    pub virtual_host: Option<String>,
    /// `-t`: timeout for each step.
    pub timeout: Duration,
    /// `-v`: show headers and timing.
    pub verbose: bool,
}

impl GenhashArgs {
    /// Defaults for the optional flags: no TLS, no virtual host, 5 s timeout, quiet.
    pub fn new(server: String, port: u16, url: String) -> Self {
        GenhashArgs {
            server,
            port,
            url,
            ssl: false,
            virtual_host: None,
            timeout: Duration::from_secs(5),
            verbose: false,
        }
    }
}

/// Why genhash failed (exit non-zero with this message).
#[derive(Debug)]
pub enum GenhashError {
    /// `-s` is neither an address nor a resolvable name.
    Resolve(String),
    /// The TLS client could not be set up.
    Tls(tls::TlsError),
    /// Output could not be written, or the poller failed.
    Io(io::Error),
    /// The fetch failed.
    Fetch(FailReason),
    /// The server answered with a status outside 200-299.
    Status(u16),
}

impl fmt::Display for GenhashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenhashError::Resolve(s) => write!(f, "genhash: cannot resolve server {s}"),
            GenhashError::Tls(e) => write!(f, "genhash: {e}"),
            GenhashError::Io(e) => write!(f, "genhash: {e}"),
            GenhashError::Fetch(r) => write!(f, "genhash: {r}"),
            GenhashError::Status(s) => {
                write!(f, "genhash: server answered status {s}, not 2xx: no digest")
            }
        }
    }
}

impl From<io::Error> for GenhashError {
    fn from(e: io::Error) -> Self {
        GenhashError::Io(e)
    }
}

/// A one-url fetch that keeps the header block and the body digest.
struct Fetch {
    request: [u8; HTTP_REQUEST_BUF],
    request_len: usize,
    sent: usize,
    parser: ResponseParser,
    connected: bool,
    outcome: Option<Outcome>,
    timeout: Duration,
    deadline: Instant,
    head: [u8; HTTP_HEADER_BUF],
    head_len: usize,
    status: u16,
    body_len: u64,
    digest: [u8; 16],
}

impl Fetch {
    fn complete(&mut self) {
        match self.parser.finish() {
            Ok((head, len, digest)) => {
                let raw = self.parser.head_bytes();
                self.head_len = raw.len().min(HTTP_HEADER_BUF);
                if let (Some(dst), Some(src)) =
                    (self.head.get_mut(..self.head_len), raw.get(..self.head_len))
                {
                    dst.copy_from_slice(src);
                }
                self.status = head.status;
                self.body_len = len;
                self.digest = digest;
                self.outcome = Some(Outcome::Up { weight: None });
            }
            Err(e) => self.fail(FailReason::Http(e)),
        }
    }

    fn fail(&mut self, reason: FailReason) {
        if self.outcome.is_none() {
            self.outcome = Some(Outcome::Down(reason));
        }
    }
}

impl StreamProbe for Fetch {
    fn step(&self) -> Step {
        match (self.outcome, self.connected) {
            (Some(o), _) => Step::Finished(o),
            (None, false) => Step::Connect,
            (None, true) => Step::Exchange,
        }
    }
    fn on_connected(&mut self, now: Instant) {
        self.connected = true;
        self.deadline = now + self.timeout;
    }
    fn pending_write(&self) -> &[u8] {
        if self.connected {
            self.request.get(self.sent..self.request_len).unwrap_or(&[])
        } else {
            &[]
        }
    }
    fn on_written(&mut self, now: Instant, n: usize) {
        self.sent = (self.sent + n).min(self.request_len);
        self.deadline = now + self.timeout;
    }
    fn on_read(&mut self, now: Instant, data: &[u8]) {
        self.deadline = now + self.timeout;
        match self.parser.feed(data) {
            Ok(Progress::Done) => self.complete(),
            Ok(_) => {}
            Err(e) => self.fail(FailReason::Http(e)),
        }
    }
    fn on_eof(&mut self, _now: Instant) {
        if self.parser.head().is_none() {
            self.fail(FailReason::Closed);
        } else {
            self.complete();
        }
    }
    fn on_error(&mut self, _now: Instant, reason: FailReason) {
        self.fail(reason);
    }
    fn handle_timeout(&mut self, now: Instant) {
        if now >= self.deadline {
            self.fail(FailReason::Timeout);
        }
    }
    fn poll_at(&self) -> Option<Instant> {
        self.outcome.is_none().then_some(self.deadline)
    }
}

fn resolve(server: &str, port: u16) -> Result<SocketAddr, GenhashError> {
    if let Ok(ip) = server.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (server, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| GenhashError::Resolve(server.to_string()))
}

/// Fetches `args.url` and writes `MD5SUM = <hex>` (and with `-v` the details) to `out`.
pub fn run(args: GenhashArgs, out: &mut dyn Write) -> Result<(), GenhashError> {
    let address = resolve(&args.server, args.port)?;
    let start = Instant::now();
    let mut fetch = Fetch {
        request: [0; HTTP_REQUEST_BUF],
        request_len: 0,
        sent: 0,
        parser: ResponseParser::new(),
        connected: false,
        outcome: None,
        timeout: args.timeout,
        deadline: start + args.timeout,
        head: [0; HTTP_HEADER_BUF],
        head_len: 0,
        status: 0,
        body_len: 0,
        digest: [0; 16],
    };
    let req = GetRequest {
        path: &args.url,
        virtual_host: args.virtual_host.as_deref(),
        server: address,
        version: HttpVersion::Http10,
    };
    fetch.request_len = build_get_request(&req, &mut fetch.request)
        .map_err(|e| GenhashError::Fetch(FailReason::Http(e)))?;
    let tls = if args.ssl {
        let config = tls::insecure_client_config().map_err(GenhashError::Tls)?;
        let name = tls::server_name(args.virtual_host.as_deref(), address.ip())
            .or_else(|_| tls::server_name(None, address.ip()))
            .map_err(GenhashError::Tls)?;
        Some((config, name))
    } else {
        None
    };
    let target = ProbeTarget {
        address,
        bind: None,
        tls,
    };
    let (outcome, fetch) = run_blocking(fetch, target)?;
    let elapsed = start.elapsed();
    if let Outcome::Down(reason) = outcome {
        return Err(GenhashError::Fetch(reason));
    }
    if args.verbose {
        writeln!(out, "----------------[ HTTP header ]----------------")?;
        out.write_all(fetch.head.get(..fetch.head_len).unwrap_or(&[]))?;
        writeln!(out, "----------------[ HTTP body ]------------------")?;
        writeln!(
            out,
            "status {}, {} body bytes",
            fetch.status, fetch.body_len
        )?;
        writeln!(
            out,
            "Global response time for [{}] = {} usecs",
            args.url,
            elapsed.as_micros()
        )?;
    }
    if !(200..300).contains(&fetch.status) {
        return Err(GenhashError::Status(fetch.status));
    }
    out.write_all(b"MD5SUM = ")?;
    out.write_all(&digest_hex(&fetch.digest))?;
    out.write_all(b"\n")?;
    Ok(())
}
