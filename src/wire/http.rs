//! HTTP/1.x health-check wire format: GET request building and a streaming response parser with an incremental body MD5.
//!
//! Nothing here allocates or panics on any input: the request is written into a
//! caller's buffer, the response header block is parsed with `httparse` from a fixed
//! buffer of `HTTP_HEADER_BUF` bytes (split across any number of reads), and the body
//! is never stored: it goes through MD5 as it arrives, framed by Content-Length
//! (RFC 9112 §6.3), by chunked transfer coding (RFC 9112 §7.1, decoded before the
//! digest: keepalived digests the raw chunk framing) or by the connection's close.

use core::fmt;
use core::net::SocketAddr;

use md5::{Digest, Md5};

use crate::limits::{
    HTTP_HEADER_BUF, HTTP_MAX_BODY_BYTES, HTTP_MAX_CHUNK_EXTENSION_BYTES, HTTP_MAX_HEADERS,
    HTTP_MAX_TRAILER_BYTES, HTTP_REGEX_MAX, MAX_STATUS_RANGES,
};

/// The User-Agent lvsd sends (keepalived's, so server-side log filters keep working).
pub const USER_AGENT: &str = "KeepAliveClient";

/// Errors of building a request or reading a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// The request does not fit the caller's buffer.
    RequestTooLarge,
    /// The path or virtual host holds a byte that cannot go into a request line.
    InvalidRequestField,
    /// The response header block is longer than `HTTP_HEADER_BUF`.
    HeaderTooLarge,
    /// The response has more than `HTTP_MAX_HEADERS` header fields.
    TooManyHeaders,
    /// The status line or a header field is malformed.
    MalformedHeader,
    /// Content-Length is not a number, or two differ.
    BadContentLength,
    /// The chunked framing is malformed.
    BadChunk,
    /// The body is longer than `HTTP_MAX_BODY_BYTES`.
    BodyTooLarge,
    /// The chunk extensions of one response add up to more than `HTTP_MAX_CHUNK_EXTENSION_BYTES`.
    ChunkExtensionTooLarge,
    /// The trailer section is longer than `HTTP_MAX_TRAILER_BYTES`.
    TrailerTooLarge,
    /// The connection closed before the end of the framed body or of the headers.
    Truncated,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            HttpError::RequestTooLarge => "HTTP request does not fit its buffer",
            HttpError::InvalidRequestField => "HTTP path or virtualhost holds a forbidden byte",
            HttpError::HeaderTooLarge => "HTTP response header block exceeds HTTP_HEADER_BUF",
            HttpError::TooManyHeaders => "HTTP response has more than HTTP_MAX_HEADERS headers",
            HttpError::MalformedHeader => "HTTP response status line or header is malformed",
            HttpError::BadContentLength => "HTTP response Content-Length is invalid",
            HttpError::BadChunk => "HTTP response chunked framing is malformed",
            HttpError::BodyTooLarge => "HTTP response body exceeds HTTP_MAX_BODY_BYTES",
            HttpError::ChunkExtensionTooLarge => {
                "HTTP response chunk extensions exceed HTTP_MAX_CHUNK_EXTENSION_BYTES"
            }
            HttpError::TrailerTooLarge => "HTTP response trailer exceeds HTTP_MAX_TRAILER_BYTES",
            HttpError::Truncated => "HTTP response ended before its end",
        };
        f.write_str(s)
    }
}

/// HTTP protocol version of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/1.0 (keepalived's default).
    #[default]
    Http10,
    /// HTTP/1.1 (needs Host; the server may answer chunked).
    Http11,
}

/// One GET request of a health check.
#[derive(Debug, Clone, Copy)]
pub struct GetRequest<'a> {
    /// Request target, e.g. `/index.html`.
    pub path: &'a str,
    /// Host header: `virtualhost` when set, else the server's `ip:port`.
    pub virtual_host: Option<&'a str>,
    /// The server, for the Host header when no virtual host is set.
    pub server: SocketAddr,
    /// Protocol version.
    pub version: HttpVersion,
}

struct Cursor<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), HttpError> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(HttpError::RequestTooLarge)?;
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(HttpError::RequestTooLarge)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

impl fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

fn field_ok(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b > b' ' && b != 0x7f)
}

/// Writes `req` into `buf`; returns the request's length.
pub fn build_get_request(req: &GetRequest<'_>, buf: &mut [u8]) -> Result<usize, HttpError> {
    use fmt::Write as _;
    if !field_ok(req.path) || req.virtual_host.is_some_and(|h| !field_ok(h)) {
        return Err(HttpError::InvalidRequestField);
    }
    let mut c = Cursor { buf, len: 0 };
    let version = match req.version {
        HttpVersion::Http10 => "HTTP/1.0",
        HttpVersion::Http11 => "HTTP/1.1",
    };
    c.put(b"GET ")?;
    c.put(req.path.as_bytes())?;
    c.put(b" ")?;
    c.put(version.as_bytes())?;
    c.put(b"\r\nUser-Agent: ")?;
    c.put(USER_AGENT.as_bytes())?;
    c.put(b"\r\nHost: ")?;
    match req.virtual_host {
        Some(h) => c.put(h.as_bytes())?,
        // SocketAddr's Display writes [v6]:port, as RFC 9110 §7.2 wants.
        None => write!(c, "{}", req.server).map_err(|_| HttpError::RequestTooLarge)?,
    }
    c.put(b"\r\nConnection: close\r\n\r\n")?;
    Ok(c.len)
}

/// Accepted status codes: a list of inclusive ranges (default 200-299).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCodes {
    ranges: heapless::Vec<(u16, u16), MAX_STATUS_RANGES>,
}

impl Default for StatusCodes {
    fn default() -> Self {
        let mut ranges = heapless::Vec::new();
        let _ = ranges.push((200, 299));
        StatusCodes { ranges }
    }
}

impl StatusCodes {
    /// An empty list (accepts nothing until ranges are added).
    pub fn empty() -> Self {
        StatusCodes {
            ranges: heapless::Vec::new(),
        }
    }

    /// Adds an inclusive range; `Err` when `MAX_STATUS_RANGES` are already held or `low > high`.
    pub fn add(&mut self, low: u16, high: u16) -> Result<(), StatusCodesFull> {
        if low > high {
            return Err(StatusCodesFull);
        }
        self.ranges.push((low, high)).map_err(|_| StatusCodesFull)
    }

    /// Whether `code` is accepted.
    pub fn accepts(&self, code: u16) -> bool {
        self.ranges.iter().any(|&(l, h)| (l..=h).contains(&code))
    }
}

/// Error: more than `MAX_STATUS_RANGES` status ranges, or a reversed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCodesFull;

impl fmt::Display for StatusCodesFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "status_code: reversed range or more than MAX_STATUS_RANGES ({MAX_STATUS_RANGES}) ranges"
        )
    }
}

/// Parses a 32-digit hex MD5 digest (either case).
pub fn parse_digest(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let hi = (pair.first()?.to_ascii_lowercase() as char).to_digit(16)?;
        let lo = (pair.get(1)?.to_ascii_lowercase() as char).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Formats a digest as 32 lowercase hex digits.
pub fn digest_hex(digest: &[u8; 16]) -> [u8; 32] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (pair, b) in out.chunks_exact_mut(2).zip(digest) {
        pair.copy_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }
    out
}

/// The parsed status line and framing of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code.
    pub status: u16,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Content-Length, when given and not overridden by chunked coding.
    pub content_length: Option<u64>,
    /// Transfer-Encoding ends in chunked.
    pub chunked: bool,
    /// Length of the header block in bytes.
    pub header_len: usize,
}

/// Progress of a response after some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More bytes are needed.
    NeedMore,
    /// The header block is complete; body bytes may follow.
    Head,
    /// The framed body is complete (or there is none).
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size { value: u64, digits: u8 },
    Extension { value: u64 },
    SizeLf { value: u64 },
    Data { remaining: u64 },
    DataCr,
    DataLf,
    TrailerLineStart,
    TrailerLine,
    TrailerEndLf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Length { remaining: u64 },
    Chunked(Chunk),
    UntilClose,
    Done,
}

/// Finds a literal byte string in a body that arrives in pieces
/// (Knuth-Morris-Pratt: one step per byte, no buffering, fixed size).
#[derive(Debug, Clone, Default)]
pub struct LiteralMatcher {
    pattern: heapless::Vec<u8, HTTP_REGEX_MAX>,
    /// For each prefix length n, the longest proper border of pattern[..n].
    border: heapless::Vec<u8, HTTP_REGEX_MAX>,
    matched: usize,
    found: bool,
}

impl LiteralMatcher {
    /// Looks for `pattern` (empty: nothing to look for) from now on.
    pub fn set(&mut self, pattern: &[u8]) {
        self.pattern.clear();
        self.border.clear();
        self.matched = 0;
        self.found = false;
        let Some(pattern) = pattern.get(..pattern.len().min(HTTP_REGEX_MAX)) else {
            return;
        };
        let _ = self.pattern.extend_from_slice(pattern);
        let mut k = 0usize;
        let _ = self.border.push(0);
        for i in 1..self.pattern.len() {
            let b = self.pattern[i];
            while k > 0 && self.pattern[k] != b {
                k = usize::from(self.border[k - 1]);
            }
            if self.pattern[k] == b {
                k += 1;
            }
            let _ = self.border.push(k as u8);
        }
    }

    /// Scans the next body bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.found || self.pattern.is_empty() {
            return;
        }
        for &b in bytes {
            while self.matched > 0 && self.pattern[self.matched] != b {
                self.matched = usize::from(self.border[self.matched - 1]);
            }
            if self.pattern[self.matched] == b {
                self.matched += 1;
                if self.matched == self.pattern.len() {
                    self.found = true;
                    return;
                }
            }
        }
    }

    /// Whether the pattern was seen.
    pub fn found(&self) -> bool {
        self.found
    }
}

/// A streaming HTTP response reader: fixed header buffer, MD5 over the body as it arrives.
pub struct ResponseParser {
    /// The body is searched for this (HTTP_GET `regex`), when set.
    matcher: LiteralMatcher,
    head: [u8; HTTP_HEADER_BUF],
    head_len: usize,
    parsed: Option<ResponseHead>,
    state: State,
    md5: Md5,
    body_len: u64,
    /// Chunk-extension bytes of this response (capped: they are skipped, not digested).
    extension_len: usize,
    /// Trailer-section bytes of this response (capped likewise).
    trailer_len: usize,
}

impl fmt::Debug for ResponseParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseParser")
            .field("head_len", &self.head_len)
            .field("parsed", &self.parsed)
            .field("state", &self.state)
            .field("body_len", &self.body_len)
            .finish()
    }
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseParser {
    /// A parser waiting for the status line.
    pub fn new() -> Self {
        ResponseParser {
            matcher: LiteralMatcher::default(),
            head: [0; HTTP_HEADER_BUF],
            head_len: 0,
            parsed: None,
            state: State::Head,
            md5: Md5::new(),
            body_len: 0,
            extension_len: 0,
            trailer_len: 0,
        }
    }

    /// Makes the parser ready for a new response, without reallocating.
    pub fn reset(&mut self) {
        self.head_len = 0;
        self.parsed = None;
        self.state = State::Head;
        self.md5 = Md5::new();
        self.body_len = 0;
        self.extension_len = 0;
        self.trailer_len = 0;
    }

    /// Searches the body of the next responses for `pattern` (empty: no search).
    pub fn set_pattern(&mut self, pattern: &[u8]) {
        self.matcher.set(pattern);
    }

    /// Whether the body so far held the pattern given to `set_pattern`.
    pub fn pattern_found(&self) -> bool {
        self.matcher.found()
    }

    /// The parsed head, once the header block is complete.
    pub fn head(&self) -> Option<&ResponseHead> {
        self.parsed.as_ref()
    }

    /// The raw header block (status line and fields), once complete.
    pub fn head_bytes(&self) -> &[u8] {
        match self.parsed {
            Some(h) => self.head.get(..h.header_len).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Body bytes seen so far (after chunk decoding).
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// Whether the framed body is complete.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds bytes read from the connection. Bytes after a complete response are ignored.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<Progress, HttpError> {
        let mut saw_head = false;
        if self.state == State::Head {
            let room = HTTP_HEADER_BUF - self.head_len;
            let take = data.len().min(room);
            let (now, rest) = data.split_at(take);
            if let Some(dst) = self.head.get_mut(self.head_len..self.head_len + take) {
                dst.copy_from_slice(now);
            }
            self.head_len += take;
            match self.parse_head()? {
                None => {
                    return if self.head_len >= HTTP_HEADER_BUF {
                        Err(HttpError::HeaderTooLarge)
                    } else {
                        Ok(Progress::NeedMore)
                    };
                }
                Some(head) => {
                    saw_head = true;
                    // Body bytes that arrived with the header block sit in the
                    // buffer after it; copy them out, as `body` borrows self.
                    let start = head.header_len;
                    let n = self.head_len.saturating_sub(start);
                    let mut tmp = [0u8; HTTP_HEADER_BUF];
                    if let (Some(dst), Some(src)) =
                        (tmp.get_mut(..n), self.head.get(start..self.head_len))
                    {
                        dst.copy_from_slice(src);
                    }
                    self.body(tmp.get(..n).unwrap_or(&[]))?;
                    data = rest;
                }
            }
        }
        self.body(data)?;
        Ok(if self.state == State::Done {
            Progress::Done
        } else if saw_head {
            Progress::Head
        } else {
            Progress::NeedMore
        })
    }

    /// The connection closed: returns the head, body length and body MD5, or why the response is incomplete.
    pub fn finish(&mut self) -> Result<(ResponseHead, u64, [u8; 16]), HttpError> {
        let head = self.parsed.ok_or(HttpError::Truncated)?;
        match self.state {
            State::Done | State::UntilClose => {
                self.state = State::Done;
                let digest = self.md5.finalize_reset();
                Ok((head, self.body_len, digest.into()))
            }
            _ => Err(HttpError::Truncated),
        }
    }

    fn parse_head(&mut self) -> Result<Option<ResponseHead>, HttpError> {
        let mut headers = [httparse::EMPTY_HEADER; HTTP_MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let buf = self.head.get(..self.head_len).unwrap_or(&[]);
        let header_len = match response.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooManyHeaders),
            Err(_) => return Err(HttpError::MalformedHeader),
        };
        let status = response.code.ok_or(HttpError::MalformedHeader)?;
        let minor_version = response.version.ok_or(HttpError::MalformedHeader)?;
        let mut content_length: Option<u64> = None;
        let mut chunked = false;
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = parse_decimal(h.value).ok_or(HttpError::BadContentLength)?;
                if content_length.is_some_and(|c| c != v) {
                    return Err(HttpError::BadContentLength);
                }
                content_length = Some(v);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                // RFC 9112 §6.3: chunked must be the final coding.
                let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(&[]);
                chunked = trim(last).eq_ignore_ascii_case(b"chunked");
            }
        }
        if chunked {
            content_length = None;
        }
        let head = ResponseHead {
            status,
            minor_version,
            content_length,
            chunked,
            header_len,
        };
        // RFC 9110 §15.2: 1xx responses are interim; drop and read the next head.
        if (100..200).contains(&status) && status != 101 {
            let rest = self.head_len - header_len;
            self.head.copy_within(header_len..self.head_len, 0);
            self.head_len = rest;
            return self.parse_head();
        }
        self.parsed = Some(head);
        self.state = if status == 204 || status == 304 {
            State::Done
        } else if chunked {
            State::Chunked(Chunk::Size {
                value: 0,
                digits: 0,
            })
        } else if let Some(n) = content_length {
            if n == 0 {
                State::Done
            } else {
                State::Length { remaining: n }
            }
        } else {
            State::UntilClose
        };
        Ok(Some(head))
    }

    fn digest(&mut self, bytes: &[u8]) -> Result<(), HttpError> {
        self.body_len = self.body_len.saturating_add(bytes.len() as u64);
        if self.body_len > HTTP_MAX_BODY_BYTES {
            return Err(HttpError::BodyTooLarge);
        }
        self.md5.update(bytes);
        self.matcher.feed(bytes);
        Ok(())
    }

    fn body(&mut self, mut data: &[u8]) -> Result<(), HttpError> {
        while !data.is_empty() {
            match self.state {
                State::Head | State::Done => return Ok(()),
                State::UntilClose => {
                    self.digest(data)?;
                    return Ok(());
                }
                State::Length { remaining } => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    let (now, rest) = data.split_at(n);
                    self.digest(now)?;
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 {
                        State::Done
                    } else {
                        State::Length { remaining }
                    };
                    data = rest;
                }
                State::Chunked(Chunk::Data { remaining }) => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    let (now, rest) = data.split_at(n);
                    self.digest(now)?;
                    let remaining = remaining - n as u64;
                    self.state = State::Chunked(if remaining == 0 {
                        Chunk::DataCr
                    } else {
                        Chunk::Data { remaining }
                    });
                    data = rest;
                }
                State::Chunked(chunk) => {
                    let Some((&b, rest)) = data.split_first() else {
                        return Ok(());
                    };
                    data = rest;
                    // Framing that carries no body is capped, so an endless
                    // stream of it ends the check instead of the digest cap
                    // never being reached.
                    // (Line ends are not counted.)
                    match chunk {
                        _ if b == b'\n' => {}
                        Chunk::Extension { .. } => {
                            self.extension_len += 1;
                            if self.extension_len > HTTP_MAX_CHUNK_EXTENSION_BYTES {
                                return Err(HttpError::ChunkExtensionTooLarge);
                            }
                        }
                        Chunk::TrailerLineStart | Chunk::TrailerLine | Chunk::TrailerEndLf => {
                            self.trailer_len += 1;
                            if self.trailer_len > HTTP_MAX_TRAILER_BYTES {
                                return Err(HttpError::TrailerTooLarge);
                            }
                        }
                        _ => {}
                    }
                    self.state = chunk_step(chunk, b)?;
                }
            }
        }
        Ok(())
    }
}

/// One byte of chunk framing (RFC 9112 §7.1): size line, data CRLF, trailer section.
fn chunk_step(chunk: Chunk, b: u8) -> Result<State, HttpError> {
    let end_of_size = |value: u64| {
        if value == 0 {
            Chunk::TrailerLineStart
        } else {
            Chunk::Data { remaining: value }
        }
    };
    let next = match chunk {
        Chunk::Size { value, digits } => match (b as char).to_digit(16) {
            Some(d) => {
                if digits >= 15 {
                    return Err(HttpError::BadChunk);
                }
                Chunk::Size {
                    value: value * 16 + u64::from(d),
                    digits: digits + 1,
                }
            }
            None if digits == 0 => return Err(HttpError::BadChunk),
            None => match b {
                b';' | b' ' | b'\t' => Chunk::Extension { value },
                b'\r' => Chunk::SizeLf { value },
                b'\n' => end_of_size(value),
                _ => return Err(HttpError::BadChunk),
            },
        },
        Chunk::Extension { value } => match b {
            b'\n' => end_of_size(value),
            _ => Chunk::Extension { value },
        },
        Chunk::SizeLf { value } => match b {
            b'\n' => end_of_size(value),
            _ => return Err(HttpError::BadChunk),
        },
        Chunk::DataCr => match b {
            b'\r' => Chunk::DataLf,
            b'\n' => Chunk::Size {
                value: 0,
                digits: 0,
            },
            _ => return Err(HttpError::BadChunk),
        },
        Chunk::DataLf => match b {
            b'\n' => Chunk::Size {
                value: 0,
                digits: 0,
            },
            _ => return Err(HttpError::BadChunk),
        },
        Chunk::TrailerLineStart => match b {
            b'\r' => Chunk::TrailerEndLf,
            b'\n' => return Ok(State::Done),
            _ => Chunk::TrailerLine,
        },
        Chunk::TrailerLine => match b {
            b'\n' => Chunk::TrailerLineStart,
            _ => Chunk::TrailerLine,
        },
        Chunk::TrailerEndLf => match b {
            b'\n' => return Ok(State::Done),
            _ => return Err(HttpError::BadChunk),
        },
        Chunk::Data { remaining } => Chunk::Data { remaining },
    };
    Ok(State::Chunked(next))
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn parse_decimal(value: &[u8]) -> Option<u64> {
    let v = trim(value);
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &b| {
        let d = (b as char).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_matcher_finds_text_split_anywhere() {
        let body = b"<html>status: all is WELL, really</html>";
        for pat in [&b"WELL"[..], b"<html>", b"</html>", b"aab", b"is WELL, r"] {
            let want = body.windows(pat.len()).any(|w| w == pat);
            for split in 0..body.len() {
                let mut m = LiteralMatcher::default();
                m.set(pat);
                m.feed(&body[..split]);
                m.feed(&body[split..]);
                assert_eq!(m.found(), want, "{:?} split {split}", pat);
            }
        }
        // Self-overlapping patterns need the borders.
        let mut m = LiteralMatcher::default();
        m.set(b"abab");
        for b in b"abaabababx" {
            m.feed(&[*b]);
        }
        assert!(m.found());
        let mut m = LiteralMatcher::default();
        m.set(b"");
        m.feed(b"anything");
        assert!(!m.found());
    }

    fn md5_of(b: &[u8]) -> [u8; 16] {
        Md5::digest(b).into()
    }

    fn run(chunks: &[&[u8]]) -> Result<(ResponseHead, u64, [u8; 16]), HttpError> {
        let mut p = ResponseParser::new();
        for c in chunks {
            p.feed(c)?;
        }
        p.finish()
    }

    #[test]
    fn builds_http10_request_with_ip_port_host() {
        let mut buf = [0u8; 256];
        let req = GetRequest {
            path: "/",
            virtual_host: None,
            server: "192.168.118.129:80".parse().unwrap(),
            version: HttpVersion::Http10,
        };
        let n = build_get_request(&req, &mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 192.168.118.129:80\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn builds_http11_request_with_vhost_and_v6() {
        let mut buf = [0u8; 256];
        let mut req = GetRequest {
            path: "/a?b=c",
            virtual_host: Some("www.example.org"),
            server: "[::1]:8080".parse().unwrap(),
            version: HttpVersion::Http11,
        };
        let n = build_get_request(&req, &mut buf).unwrap();
        let s = core::str::from_utf8(&buf[..n]).unwrap();
        assert!(s.starts_with("GET /a?b=c HTTP/1.1\r\n"));
        assert!(s.contains("\r\nHost: www.example.org\r\n"));
        req.virtual_host = None;
        let n = build_get_request(&req, &mut buf).unwrap();
        assert!(core::str::from_utf8(&buf[..n])
            .unwrap()
            .contains("Host: [::1]:8080\r\n"));
        assert_eq!(
            build_get_request(&req, &mut buf[..20]),
            Err(HttpError::RequestTooLarge)
        );
        req.path = "/a b";
        assert_eq!(
            build_get_request(&req, &mut buf),
            Err(HttpError::InvalidRequestField)
        );
        req.path = "/a\r\nX: y";
        assert_eq!(
            build_get_request(&req, &mut buf),
            Err(HttpError::InvalidRequestField)
        );
    }

    #[test]
    fn content_length_limits_the_digest() {
        let r = run(&[b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA"]).unwrap();
        assert_eq!(r.0.status, 200);
        assert_eq!(r.1, 5);
        assert_eq!(r.2, md5_of(b"hello"));
    }

    #[test]
    fn status_line_split_byte_by_byte() {
        let msg = b"HTTP/1.1 404 Not Found\r\nServer: x\r\nContent-Length: 3\r\n\r\nabc";
        let mut p = ResponseParser::new();
        let mut last = Progress::NeedMore;
        for b in msg.iter() {
            last = p.feed(core::slice::from_ref(b)).unwrap();
        }
        assert_eq!(last, Progress::Done);
        let (h, n, d) = p.finish().unwrap();
        assert_eq!((h.status, h.minor_version, n), (404, 1, 3));
        assert_eq!(d, md5_of(b"abc"));
        assert!(p.head_bytes().starts_with(b"HTTP/1.1 404"));
    }

    #[test]
    fn body_until_close() {
        let r = run(&[b"HTTP/1.0 200 OK\r\n\r\npart1", b"part2"]).unwrap();
        assert_eq!(r.2, md5_of(b"part1part2"));
    }

    #[test]
    fn chunked_is_decoded_before_digest() {
        let body = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nJUNK";
        for split in 0..body.len() {
            let (a, b) = body.split_at(split);
            let r = run(&[a, b]).unwrap();
            assert_eq!(r.2, md5_of(b"hello world"), "split {split}");
            assert_eq!(r.0.content_length, None);
        }
    }

    #[test]
    fn bad_chunks_fail_cleanly() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
        ] {
            assert_eq!(run(&[bad]), Err(HttpError::BadChunk));
        }
        assert_eq!(
            run(&[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab"]),
            Err(HttpError::Truncated)
        );
    }

    #[test]
    fn chunk_extensions_and_trailers_are_capped() {
        const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        // Just under the caps passes, split anywhere.
        let mut ok = heapless::Vec::<u8, 16384>::new();
        ok.extend_from_slice(HEAD).unwrap();
        ok.extend_from_slice(b"2;").unwrap();
        ok.extend_from_slice(&[b'e'; HTTP_MAX_CHUNK_EXTENSION_BYTES - 1])
            .unwrap();
        ok.extend_from_slice(b"\r\nok\r\n0\r\nX: ").unwrap();
        ok.extend_from_slice(&[b't'; HTTP_MAX_TRAILER_BYTES - 8])
            .unwrap();
        ok.extend_from_slice(b"\r\n\r\n").unwrap();
        for split in [0, 60, 3000, ok.len() - 3] {
            let (a, b) = ok.split_at(split);
            assert_eq!(run(&[a, b]).unwrap().2, md5_of(b"ok"), "split {split}");
        }

        // An endless body of empty-looking chunks with big extensions ends at the cap.
        let mut p = ResponseParser::new();
        p.feed(HEAD).unwrap();
        let mut line = [b'x'; 1000];
        line[..2].copy_from_slice(b"1;");
        line[997..].copy_from_slice(b"\r\na");
        let mut err = None;
        for _ in 0..100 {
            if let Err(e) = p.feed(&line).and_then(|_| p.feed(b"\r\n")) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(HttpError::ChunkExtensionTooLarge));
        assert!(
            p.body_len() < 10,
            "stopped within the cap: {}",
            p.body_len()
        );
        // The count is per response: reset starts again.
        p.reset();
        assert_eq!(p.feed(HEAD).unwrap(), Progress::Head);

        // An endless trailer section ends at its cap.
        let mut p = ResponseParser::new();
        p.feed(HEAD).unwrap();
        p.feed(b"0\r\n").unwrap();
        let mut err = None;
        for _ in 0..100 {
            if let Err(e) = p.feed(b"X-Trailer: 0123456789abcdef0123456789abcdef\r\n") {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(HttpError::TrailerTooLarge));
        assert!(HttpError::ChunkExtensionTooLarge
            .to_string()
            .contains("HTTP_MAX_CHUNK_EXTENSION_BYTES"));
    }

    #[test]
    fn truncated_content_length_and_head() {
        assert_eq!(
            run(&[b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc"]),
            Err(HttpError::Truncated)
        );
        assert_eq!(
            run(&[b"HTTP/1.0 200 OK\r\nServ"]),
            Err(HttpError::Truncated)
        );
        assert_eq!(run(&[b""]), Err(HttpError::Truncated));
    }

    #[test]
    fn garbage_and_oversized_headers_fail() {
        assert_eq!(
            run(&[b"SSH-2.0-OpenSSH_9.2\r\n\r\n"]),
            Err(HttpError::MalformedHeader)
        );
        let mut p = ResponseParser::new();
        p.feed(b"HTTP/1.0 200 OK\r\n").unwrap();
        let line = [b'a'; 100];
        let mut err = None;
        for _ in 0..100 {
            if let Err(e) = p.feed(&line) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(HttpError::HeaderTooLarge));
        let mut many = heapless::Vec::<u8, 4096>::new();
        many.extend_from_slice(b"HTTP/1.0 200 OK\r\n").unwrap();
        for _ in 0..=HTTP_MAX_HEADERS {
            many.extend_from_slice(b"X: y\r\n").unwrap();
        }
        many.extend_from_slice(b"\r\n").unwrap();
        assert_eq!(run(&[&many]), Err(HttpError::TooManyHeaders));
        assert_eq!(
            run(&[b"HTTP/1.0 200 OK\r\nContent-Length: 1x\r\n\r\n"]),
            Err(HttpError::BadContentLength)
        );
        assert_eq!(
            run(&[b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"]),
            Err(HttpError::BadContentLength)
        );
    }

    #[test]
    fn interim_100_is_skipped_and_204_has_no_body() {
        let r =
            run(&[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
                .unwrap();
        assert_eq!((r.0.status, r.2), (200, md5_of(b"ok")));
        let mut p = ResponseParser::new();
        assert_eq!(
            p.feed(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap(),
            Progress::Done
        );
    }

    #[test]
    fn head_progress_reported() {
        let mut p = ResponseParser::new();
        assert_eq!(
            p.feed(b"HTTP/1.0 302 Found\r\nLocation: /x\r\n").unwrap(),
            Progress::NeedMore
        );
        assert_eq!(p.feed(b"\r\nbody").unwrap(), Progress::Head);
        assert_eq!(p.head().unwrap().status, 302);
        assert_eq!(p.body_len(), 4);
        p.reset();
        assert!(p.head().is_none());
    }

    #[test]
    fn status_codes_and_digests() {
        let d = StatusCodes::default();
        assert!(d.accepts(200) && d.accepts(299) && !d.accepts(300) && !d.accepts(404));
        let mut s = StatusCodes::empty();
        s.add(200, 200).unwrap();
        s.add(301, 302).unwrap();
        assert!(s.accepts(301) && !s.accepts(303));
        assert_eq!(s.add(5, 4), Err(StatusCodesFull));
        let hex = "3740e2380a02b0ee94b02ba7016606e6";
        let d = parse_digest(hex).unwrap();
        assert_eq!(&digest_hex(&d), hex.as_bytes());
        assert_eq!(parse_digest("3740E2380A02B0EE94B02BA7016606E6"), Some(d));
        assert_eq!(parse_digest("xyz"), None);
        assert_eq!(parse_digest("3740e2380a02b0ee94b02ba7016606eg"), None);
        assert_eq!(parse_digest("é740e2380a02b0ee94b02ba7016606e"), None);
    }
}
