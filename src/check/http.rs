//! HTTP_GET / SSL_GET: one connection per url, GET, accepted status and optional body MD5; all urls must pass.
//!
//! The probe sees plaintext only: for SSL_GET the driver puts `check::tls` between
//! the socket and this probe. Timing: every step (connect, each read or write) must
//! make progress within `connect_timeout`, as in keepalived; in addition the whole
//! probe ends at `max_duration` (the daemon passes 2 x connect_timeout per url)
//! so a body that trickles or streams forever cannot hold a probe.

use core::net::SocketAddr;
use core::time::Duration;
use std::sync::Arc;
use std::time::Instant;

use super::probe::{FailReason, Outcome, Step, StreamProbe};
use crate::limits::{
    HTTP_REGEX_MAX, HTTP_REQUEST_BUF, HTTP_VHOST_LEN, MAX_PATH_LEN, MAX_URLS_PER_CHECK,
};
use crate::wire::http::{
    build_get_request, GetRequest, HttpError, HttpVersion, Progress, ResponseParser, StatusCodes,
};

/// One `url` block of an HTTP_GET / SSL_GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlCheck {
    /// Request path.
    pub path: heapless::String<MAX_PATH_LEN>,
    /// Expected MD5 of the body, when set.
    pub digest: Option<[u8; 16]>,
    /// Accepted status codes (default 200-299).
    pub status: StatusCodes,
    /// This url's own virtualhost (keepalived: it wins over the checker's).
    pub virtual_host: Option<heapless::String<HTTP_VHOST_LEN>>,
    /// `regex` (a literal text, see `regex_literal`): the body must contain it
    /// (empty: not checked).
    pub regex: heapless::Vec<u8, HTTP_REGEX_MAX>,
    /// `regex_no_match`: the body must not contain `regex`.
    pub regex_no_match: bool,
}

/// Error: a `regex` outside the literal subset lvsd matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsupportedRegex;

impl core::fmt::Display for UnsupportedRegex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "lvsd matches a literal text only: escape `.*+?()[]{{}}|^$\\` with `\\`; no blanks; 1..={HTTP_REGEX_MAX} bytes (limits::HTTP_REGEX_MAX)")
    }
}

/// The literal text a `regex` stands for: its characters, with `\X` meaning
/// X for a punctuation X. Any unescaped metacharacter, an escape that means
/// something else in PCRE2 (`\d`, `\s`, ...) or a blank is refused.
pub fn regex_literal(pattern: &str) -> Result<heapless::Vec<u8, HTTP_REGEX_MAX>, UnsupportedRegex> {
    let mut out = heapless::Vec::new();
    let mut bytes = pattern.bytes();
    while let Some(b) = bytes.next() {
        let literal = match b {
            b'\\' => match bytes.next() {
                Some(e) if e.is_ascii_punctuation() => e,
                _ => return Err(UnsupportedRegex),
            },
            b'.' | b'*' | b'+' | b'?' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'|' | b'^'
            | b'$' => return Err(UnsupportedRegex),
            b if b.is_ascii_whitespace() || b.is_ascii_control() => return Err(UnsupportedRegex),
            b => b,
        };
        out.push(literal).map_err(|_| UnsupportedRegex)?;
    }
    if out.is_empty() {
        return Err(UnsupportedRegex);
    }
    Ok(out)
}

/// An HTTP_GET / SSL_GET definition after inheritance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpCheck {
    /// The urls, all of which must pass.
    pub urls: heapless::Vec<UrlCheck, MAX_URLS_PER_CHECK>,
    /// virtualhost of the checker (else of the real or virtual server), resolved by config.
    pub virtual_host: Option<heapless::String<HTTP_VHOST_LEN>>,
    /// HTTP/1.0 (default) or 1.1.
    pub version: HttpVersion,
    /// Time allowed for each step.
    pub connect_timeout: Duration,
    /// Time allowed for the whole probe.
    pub max_duration: Duration,
}

impl HttpCheck {
    /// The Host header of url `index`: url virtualhost, else checker virtualhost, else none (ip:port).
    pub fn host_for(&self, index: usize) -> Option<&str> {
        self.urls
            .get(index)
            .and_then(|u| u.virtual_host.as_deref())
            .or(self.virtual_host.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connect,
    Exchange,
    Finished(Outcome),
}

/// One HTTP_GET probe over all its urls (sans-IO).
pub struct HttpProbe {
    check: Arc<HttpCheck>,
    server: SocketAddr,
    url: usize,
    phase: Phase,
    request: [u8; HTTP_REQUEST_BUF],
    request_len: usize,
    sent: usize,
    parser: ResponseParser,
    step_deadline: Instant,
    hard_deadline: Instant,
}

impl core::fmt::Debug for HttpProbe {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpProbe")
            .field("server", &self.server)
            .field("url", &self.url)
            .field("phase", &self.phase)
            .finish()
    }
}

impl HttpProbe {
    /// A probe of `server` started at `now`.
    pub fn new(check: Arc<HttpCheck>, server: SocketAddr, now: Instant) -> Self {
        let mut p = HttpProbe {
            step_deadline: now + check.connect_timeout,
            hard_deadline: now + check.max_duration.max(check.connect_timeout),
            check,
            server,
            url: 0,
            phase: Phase::Connect,
            request: [0; HTTP_REQUEST_BUF],
            request_len: 0,
            sent: 0,
            parser: ResponseParser::new(),
        };
        p.prepare_url();
        p
    }

    /// The url being probed (index into the check's urls).
    pub fn url_index(&self) -> usize {
        self.url
    }

    /// The response parser of the current url (headers, body length).
    pub fn parser(&self) -> &ResponseParser {
        &self.parser
    }

    fn prepare_url(&mut self) {
        self.sent = 0;
        self.request_len = 0;
        self.parser.reset();
        let Some(url) = self.check.urls.get(self.url) else {
            return;
        };
        self.parser.set_pattern(&url.regex);
        let req = GetRequest {
            path: url.path.as_str(),
            virtual_host: self.check.host_for(self.url),
            server: self.server,
            version: self.check.version,
        };
        match build_get_request(&req, &mut self.request) {
            Ok(n) => self.request_len = n,
            Err(e) => self.finish(Outcome::Down(FailReason::Http(e))),
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if !matches!(self.phase, Phase::Finished(_)) {
            self.phase = Phase::Finished(outcome);
        }
    }

    fn url_tag(&self) -> u8 {
        u8::try_from(self.url).unwrap_or(u8::MAX)
    }

    /// The current url's response ended: judge it, then go to the next url or finish.
    fn judge(&mut self, status: u16, digest: Option<[u8; 16]>, now: Instant) {
        let Some(url) = self.check.urls.get(self.url) else {
            return;
        };
        if !url.status.accepts(status) {
            self.finish(Outcome::Down(FailReason::Status(self.url_tag(), status)));
            return;
        }
        if let Some(want) = url.digest {
            if digest != Some(want) {
                self.finish(Outcome::Down(FailReason::Digest(self.url_tag())));
                return;
            }
        }
        if !url.regex.is_empty() && self.parser.pattern_found() == url.regex_no_match {
            self.finish(Outcome::Down(FailReason::Regex(self.url_tag())));
            return;
        }
        self.url += 1;
        if self.url >= self.check.urls.len() {
            self.finish(Outcome::Up { weight: None });
        } else {
            self.phase = Phase::Connect;
            self.step_deadline = now + self.check.connect_timeout;
            self.prepare_url();
        }
    }

    fn progress(&mut self, now: Instant) {
        self.step_deadline = now + self.check.connect_timeout;
    }
}

impl StreamProbe for HttpProbe {
    fn step(&self) -> Step {
        match self.phase {
            Phase::Connect => Step::Connect,
            Phase::Exchange => Step::Exchange,
            Phase::Finished(o) => Step::Finished(o),
        }
    }

    fn on_connected(&mut self, now: Instant) {
        if self.phase == Phase::Connect {
            if self.check.urls.is_empty() {
                self.finish(Outcome::Up { weight: None });
                return;
            }
            self.phase = Phase::Exchange;
            self.progress(now);
        }
    }

    fn pending_write(&self) -> &[u8] {
        match self.phase {
            Phase::Exchange => self.request.get(self.sent..self.request_len).unwrap_or(&[]),
            _ => &[],
        }
    }

    fn on_written(&mut self, now: Instant, n: usize) {
        if self.phase == Phase::Exchange {
            self.sent = (self.sent + n).min(self.request_len);
            self.progress(now);
        }
    }

    fn on_read(&mut self, now: Instant, data: &[u8]) {
        if self.phase != Phase::Exchange {
            return;
        }
        self.progress(now);
        match self.parser.feed(data) {
            Err(e) => self.finish(Outcome::Down(FailReason::Http(e))),
            Ok(Progress::Done) => match self.parser.finish() {
                Ok((head, _, digest)) => self.judge(head.status, Some(digest), now),
                Err(e) => self.finish(Outcome::Down(FailReason::Http(e))),
            },
            Ok(_) => {}
        }
    }

    fn on_eof(&mut self, now: Instant) {
        if self.phase != Phase::Exchange {
            return;
        }
        match self.parser.finish() {
            Ok((head, _, digest)) => self.judge(head.status, Some(digest), now),
            Err(HttpError::Truncated) if self.parser.head().is_none() => {
                self.finish(Outcome::Down(FailReason::Closed))
            }
            Err(e) => self.finish(Outcome::Down(FailReason::Http(e))),
        }
    }

    fn on_error(&mut self, _now: Instant, reason: FailReason) {
        self.finish(Outcome::Down(reason));
    }

    fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Finished(_)) {
            return;
        }
        if now >= self.hard_deadline {
            self.finish(Outcome::Down(FailReason::Deadline));
        } else if now >= self.step_deadline {
            self.finish(Outcome::Down(FailReason::Timeout));
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        match self.phase {
            Phase::Finished(_) => None,
            _ => Some(self.step_deadline.min(self.hard_deadline)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;
    use crate::wire::http::parse_digest;

    fn check(urls: &[(&str, Option<&str>)]) -> Arc<HttpCheck> {
        let mut c = HttpCheck {
            connect_timeout: Duration::from_secs(3),
            max_duration: Duration::from_secs(6),
            ..Default::default()
        };
        for (path, digest) in urls {
            let mut u = UrlCheck::default();
            u.path.push_str(path).unwrap();
            u.digest = digest.and_then(parse_digest);
            c.urls.push(u).unwrap();
        }
        Arc::new(c)
    }

    const HELLO_MD5: &str = "5d41402abc4b2a76b9719d911017c592"; // md5("hello")

    fn server() -> SocketAddr {
        "127.0.0.1:80".parse().unwrap()
    }

    fn exchange(p: &mut HttpProbe, now: Instant, response: &[u8], eof: bool) {
        assert_eq!(p.step(), Step::Connect);
        p.on_connected(now);
        let req = p.pending_write().to_vec();
        assert!(req.starts_with(b"GET "));
        p.on_written(now, req.len());
        assert!(p.pending_write().is_empty());
        p.on_read(now, response);
        if eof {
            p.on_eof(now);
        }
    }

    #[test]
    fn regex_literal_subset() {
        assert_eq!(regex_literal("OK").unwrap().as_slice(), b"OK");
        assert_eq!(
            regex_literal(r"v1\.2\(beta\)").unwrap().as_slice(),
            b"v1.2(beta)"
        );
        for bad in ["a.b", "^OK", "OK$", "a|b", "a*", r"\d", "a b", "", r"x\"] {
            assert_eq!(regex_literal(bad), Err(UnsupportedRegex), "{bad}");
        }
        assert!(regex_literal(&"x".repeat(HTTP_REGEX_MAX + 1)).is_err());
    }

    #[test]
    fn regex_judges_the_body_across_reads() {
        let t0 = Instant::now();
        for (pattern, no_match, body, up) in [
            ("WELL", false, "all is WELL", true),
            ("WELL", false, "all is ill", false),
            ("WELL", true, "all is WELL", false),
            ("WELL", true, "all is ill", true),
            ("HTTP", false, "body only", false), // the head is not searched
        ] {
            let mut c = (*check(&[("/", None)])).clone();
            c.urls[0].regex = regex_literal(pattern).unwrap();
            c.urls[0].regex_no_match = no_match;
            let mut p = HttpProbe::new(Arc::new(c), server(), t0);
            let response = format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let (a, b) = response.as_bytes().split_at(response.len() - 3);
            exchange(&mut p, t0, a, false);
            p.on_read(t0, b);
            let want = if up {
                Outcome::Up { weight: None }
            } else {
                Outcome::Down(FailReason::Regex(0))
            };
            assert_eq!(
                p.step(),
                Step::Finished(want),
                "{pattern} {no_match} {body}"
            );
        }
    }

    #[test]
    fn two_urls_pass_with_digest() {
        let t = Instant::now();
        let mut p = HttpProbe::new(check(&[("/", Some(HELLO_MD5)), ("/b", None)]), server(), t);
        exchange(
            &mut p,
            t,
            b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            false,
        );
        assert_eq!(p.url_index(), 1);
        exchange(&mut p, t, b"HTTP/1.0 200 OK\r\n\r\nanything", true);
        assert_eq!(p.step(), Step::Finished(Outcome::Up { weight: None }));
    }

    #[test]
    fn status_404_and_redirect_and_digest_fail() {
        let t = Instant::now();
        for (resp, want) in [
            (
                &b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"[..],
                FailReason::Status(0, 404),
            ),
            (
                b"HTTP/1.0 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
                FailReason::Status(0, 301),
            ),
            (
                b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nHELLO",
                FailReason::Digest(0),
            ),
        ] {
            let mut p = HttpProbe::new(check(&[("/", Some(HELLO_MD5))]), server(), t);
            exchange(&mut p, t, resp, false);
            assert_eq!(p.step(), Step::Finished(Outcome::Down(want)));
        }
    }

    #[test]
    fn close_mid_response_and_garbage() {
        let t = Instant::now();
        let mut p = HttpProbe::new(check(&[("/", None)]), server(), t);
        exchange(
            &mut p,
            t,
            b"HTTP/1.0 200 OK\r\nContent-Length: 50\r\n\r\nhel",
            true,
        );
        assert_eq!(
            p.step(),
            Step::Finished(Outcome::Down(FailReason::Http(HttpError::Truncated)))
        );
        let mut p = HttpProbe::new(check(&[("/", None)]), server(), t);
        exchange(&mut p, t, b"", true);
        assert_eq!(p.step(), Step::Finished(Outcome::Down(FailReason::Closed)));
        let mut p = HttpProbe::new(check(&[("/", None)]), server(), t);
        exchange(&mut p, t, b"\x00\x01garbage\r\n\r\n", false);
        assert_eq!(
            p.step(),
            Step::Finished(Outcome::Down(FailReason::Http(HttpError::MalformedHeader)))
        );
    }

    #[test]
    fn slow_body_times_out_by_step_and_by_total() {
        let t = Instant::now();
        let s = Duration::from_secs;
        let mut p = HttpProbe::new(check(&[("/", None)]), server(), t);
        exchange(&mut p, t, b"HTTP/1.0 200 OK\r\n\r\nh", false);
        assert_eq!(p.poll_at(), Some(t + s(3)));
        p.handle_timeout(t + s(2));
        assert_eq!(p.step(), Step::Exchange);
        p.handle_timeout(t + s(3));
        assert_eq!(p.step(), Step::Finished(Outcome::Down(FailReason::Timeout)));

        // A trickle: one byte every 2 s keeps each step alive, the total ends it at 6 s.
        let mut p = HttpProbe::new(check(&[("/", None)]), server(), t);
        exchange(&mut p, t, b"HTTP/1.0 200 OK\r\n\r\n", false);
        let mut now = t;
        for _ in 0..2 {
            now += s(2);
            p.on_read(now, b"x");
            p.handle_timeout(now);
        }
        assert_eq!(p.step(), Step::Exchange);
        assert_eq!(p.poll_at(), Some(t + s(6)));
        p.handle_timeout(t + s(6));
        assert_eq!(
            p.step(),
            Step::Finished(Outcome::Down(FailReason::Deadline))
        );
    }

    #[test]
    fn vhost_precedence() {
        let mut c = (*check(&[("/", None), ("/b", None)])).clone();
        c.virtual_host = Some(heapless::String::try_from("checker.example").unwrap());
        c.urls[1].virtual_host = Some(heapless::String::try_from("url.example").unwrap());
        assert_eq!(c.host_for(0), Some("checker.example"));
        assert_eq!(c.host_for(1), Some("url.example"));
        let t = Instant::now();
        let mut p = HttpProbe::new(Arc::new(c), server(), t);
        p.on_connected(t);
        let req = core::str::from_utf8(p.pending_write()).unwrap();
        assert!(req.contains("Host: checker.example\r\n"), "{req}");
    }
}
