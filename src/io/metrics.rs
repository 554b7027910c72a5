//! The metrics listener (`[global] metrics_listen`): a nonblocking TCP
//! socket that answers `GET /metrics` (and nothing else) on the daemon's
//! loop. Each connection reads one request of at most
//! [`METRICS_REQUEST_MAX`] bytes, gets one answer and is closed; idle ones
//! are closed by the daemon after [`METRICS_IDLE_TIMEOUT`]. No policy here:
//! the daemon decides when the body is built.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};

/// Longest request head accepted (request line and headers).
pub const METRICS_REQUEST_MAX: usize = 2048;
/// A connection that has not sent its request, or not taken its answer,
/// within this time is closed.
pub const METRICS_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes written to one connection per wake-up: a 10 MB answer to a slow
/// reader goes out over many wake-ups, never in one long write loop.
pub const METRICS_WRITE_BUDGET: usize = 256 * 1024;

/// The listening socket.
pub struct MetricsListener {
    listener: TcpListener,
}

impl MetricsListener {
    /// Binds `addr` (nonblocking, SO_REUSEADDR as std does).
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        Ok(MetricsListener {
            listener: TcpListener::bind(addr)?,
        })
    }

    /// The bound address (the port when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The mio source.
    pub fn source(&mut self) -> &mut TcpListener {
        &mut self.listener
    }

    /// One pending connection, if any.
    pub fn accept(&self) -> io::Result<Option<TcpStream>> {
        match self.listener.accept() {
            Ok((s, _)) => Ok(Some(s)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What the request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpRequest {
    /// `GET /metrics` (or HEAD): the daemon builds the body.
    Metrics {
        /// HEAD: headers only.
        head_only: bool,
    },
    /// Anything else: answered at once with this status line and text.
    Refused(u16, &'static str),
}

/// Parses a complete request head; `None` while more bytes are needed.
pub fn parse_request(buf: &[u8]) -> Option<HttpRequest> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Partial) => None,
        Err(httparse::Error::TooManyHeaders) => {
            Some(HttpRequest::Refused(431, "Request Header Fields Too Large"))
        }
        Err(_) => Some(HttpRequest::Refused(400, "Bad Request")),
        Ok(httparse::Status::Complete(_)) => {
            let head_only = match req.method {
                Some("GET") => false,
                Some("HEAD") => true,
                _ => return Some(HttpRequest::Refused(405, "Method Not Allowed")),
            };
            let path = req.path.unwrap_or("");
            let path = path.split('?').next().unwrap_or("");
            if path != "/metrics" {
                return Some(HttpRequest::Refused(404, "Not Found"));
            }
            Some(HttpRequest::Metrics { head_only })
        }
    }
}

/// Width of the Content-Length value in [`ok_head`]: room for any length.
const LENGTH_WIDTH: usize = 20;

/// The head of a 200 answer whose body is rendered after it in the same
/// buffer; [`finish_ok`] fills in the length. Saves copying a body of
/// megabytes into a second buffer in one wake-up.
pub fn ok_head(content_type: &str, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity + 200);
    let _ = write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length:{:w$}\r\nConnection: close\r\n\r\n",
        "",
        w = LENGTH_WIDTH
    );
    out
}

/// Writes the body's length into a buffer from [`ok_head`] (right-aligned:
/// the spaces before it are the header's optional whitespace), or cuts the
/// body for HEAD.
pub fn finish_ok(buf: &mut Vec<u8>, head_only: bool) {
    let marker = b"Content-Length:";
    let Some(at) = buf.windows(marker.len()).position(|w| w == marker) else {
        return;
    };
    let start = at + marker.len();
    let Some(end_rel) = buf[start..].windows(4).position(|w| w == b"\r\n\r\n") else {
        return;
    };
    let body_start = start + end_rel + 4;
    let len = buf.len() - body_start;
    let text = format!("{len:>w$}", w = LENGTH_WIDTH);
    if text.len() == LENGTH_WIDTH {
        buf[start..start + LENGTH_WIDTH].copy_from_slice(text.as_bytes());
    }
    if head_only {
        buf.truncate(body_start);
    }
}

/// The bytes of an answer: status line, headers, body.
pub fn response(
    status: u16,
    reason: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 160);
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

/// One connection.
pub struct MetricsConn {
    stream: TcpStream,
    request: Vec<u8>,
    answer: Vec<u8>,
    written: usize,
    /// When it is closed if still open.
    pub deadline: Instant,
    /// A request was read; the daemon owes (or gave) the answer.
    pub requested: bool,
}

/// What a connection wants after an event.
#[derive(Debug, PartialEq, Eq)]
pub enum MetricsState {
    /// Still reading the request.
    Reading,
    /// A request arrived.
    Request(HttpRequest),
    /// Writing the answer; wait for writability.
    Writing,
    /// This wake-up's write budget is used up and the socket takes more:
    /// call [`MetricsConn::flush`] again in a later turn (no event will come).
    MoreToWrite,
    /// Done or broken: deregister and drop.
    Closed,
}

impl MetricsConn {
    /// Wraps an accepted stream.
    pub fn new(stream: TcpStream, now: Instant) -> Self {
        MetricsConn {
            stream,
            request: Vec::new(),
            answer: Vec::new(),
            written: 0,
            deadline: now + METRICS_IDLE_TIMEOUT,
            requested: false,
        }
    }

    /// The mio source.
    pub fn source(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Reads what is there (bounded); returns the request once complete.
    pub fn on_readable(&mut self, now: Instant) -> MetricsState {
        if self.requested {
            // Ignore anything after the request; keep writing.
            return self.flush_at(Some(now));
        }
        let mut buf = [0u8; 512];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return MetricsState::Closed,
                Ok(n) => {
                    self.request.extend_from_slice(&buf[..n]);
                    if let Some(r) = parse_request(&self.request) {
                        self.requested = true;
                        return MetricsState::Request(r);
                    }
                    if self.request.len() > METRICS_REQUEST_MAX {
                        self.requested = true;
                        return MetricsState::Request(HttpRequest::Refused(
                            431,
                            "Request Header Fields Too Large",
                        ));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return MetricsState::Reading,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return MetricsState::Closed,
            }
        }
    }

    /// Sets the answer and starts writing it; the idle deadline starts again.
    pub fn answer(&mut self, bytes: Vec<u8>, now: Instant) -> MetricsState {
        self.answer = bytes;
        self.written = 0;
        self.request = Vec::new();
        self.deadline = now + METRICS_IDLE_TIMEOUT;
        self.flush()
    }

    /// Writes up to [`METRICS_WRITE_BUDGET`] bytes.
    pub fn flush(&mut self) -> MetricsState {
        self.flush_at(None)
    }

    /// As [`MetricsConn::flush`]; progress moves the idle deadline to
    /// `now + METRICS_IDLE_TIMEOUT` (a slow reader of a big answer is not
    /// idle while it reads).
    pub fn flush_at(&mut self, now: Option<Instant>) -> MetricsState {
        let before = self.written;
        let state = self.write_some();
        if let (Some(now), true) = (now, self.written > before) {
            self.deadline = now + METRICS_IDLE_TIMEOUT;
        }
        state
    }

    fn write_some(&mut self) -> MetricsState {
        if self.answer.is_empty() {
            return MetricsState::Reading;
        }
        let stop = (self.written + METRICS_WRITE_BUDGET).min(self.answer.len());
        while self.written < stop {
            match self.stream.write(&self.answer[self.written..stop]) {
                Ok(0) => return MetricsState::Closed,
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return MetricsState::Writing,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return MetricsState::Closed,
            }
        }
        if self.written < self.answer.len() {
            return MetricsState::MoreToWrite;
        }
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        MetricsState::Closed
    }

    /// Takes the answer's buffer (to be reused by the next one).
    pub fn take_answer(&mut self) -> Vec<u8> {
        self.written = 0;
        std::mem::take(&mut self.answer)
    }

    /// True while answer bytes are left to write.
    pub fn writing(&self) -> bool {
        self.written < self.answer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_recognised_or_refused() {
        assert_eq!(parse_request(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(
            parse_request(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some(HttpRequest::Metrics { head_only: false })
        );
        assert_eq!(
            parse_request(b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Some(HttpRequest::Metrics { head_only: true })
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\n\r\n"),
            Some(HttpRequest::Refused(404, "Not Found"))
        );
        assert_eq!(
            parse_request(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Some(HttpRequest::Refused(405, "Method Not Allowed"))
        );
        assert_eq!(
            parse_request(b"\x00\x01garbage\r\n\r\n"),
            Some(HttpRequest::Refused(400, "Bad Request"))
        );
        let r = response(200, "OK", "text/plain", b"abc", false);
        assert!(r.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(r.ends_with(b"Content-Length: 3\r\nConnection: close\r\n\r\nabc"));
        assert!(response(200, "OK", "t", b"abc", true).ends_with(b"\r\n\r\n"));
        let mut b = ok_head("text/plain", 10);
        b.extend_from_slice(b"0123456789ab");
        finish_ok(&mut b, false);
        let text = String::from_utf8(b.clone()).unwrap();
        assert!(
            text.contains(&format!("\r\nContent-Length:{}12\r\n", " ".repeat(18))),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n0123456789ab"));
        // What httparse (and so Prometheus' Go parser, which trims OWS) reads.
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut resp = httparse::Response::new(&mut headers);
        resp.parse(&b).unwrap();
        let cl = resp
            .headers
            .iter()
            .find(|h| h.name == "Content-Length")
            .unwrap();
        assert_eq!(std::str::from_utf8(cl.value).unwrap().trim(), "12");
        finish_ok(&mut b, true);
        assert!(b.ends_with(b"Connection: close\r\n\r\n"));
    }
}
