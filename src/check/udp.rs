//! UDP_CHECK: send one datagram to the server, then judge what comes back
//! within connect_timeout, with keepalived 2.2's semantics (check_udp.c, layer4.c):
//!
//! - an ICMP destination unreachable (the socket reports ECONNREFUSED or
//!   EHOSTUNREACH) fails the server;
//! - silence until connect_timeout passes the server, unless `require_reply`;
//! - a reply passes, unless `require_reply` gave reply data: then the reply's
//!   length must be within `min_reply_length..=max_reply_length`, and its first
//!   `min(len, reply data len)` bytes must equal the reply data, except where
//!   the data has an `X` (a wildcard nibble).

use core::fmt;
use core::time::Duration;
use std::sync::Arc;
use std::time::Instant;

use super::datagram::{DatagramProbe, Exchange};
use super::probe::{FailReason, Outcome, Transport, Verdict};

/// keepalived's payload when none is configured (`set_buf` in layer4.c, 32 bytes).
pub const DEFAULT_PAYLOAD: &[u8; 32] = b"keepalived check - keepalived ch";

/// What a UDP_CHECK sends and expects; shared by all its probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpSpec {
    /// `payload` (default `DEFAULT_PAYLOAD`).
    pub payload: Vec<u8>,
    /// `require_reply`: silence fails the server.
    pub require_reply: bool,
    /// The reply data given to `require_reply` (empty: any reply passes).
    pub reply: Vec<u8>,
    /// Per byte, the bits of `reply` that are wildcards (`X` nibbles); empty when none.
    pub mask: Vec<u8>,
    /// `min_reply_length` (default 0); checked only with reply data, as keepalived.
    pub min_reply_len: u16,
    /// `max_reply_length` (default 255); checked only with reply data, as keepalived.
    pub max_reply_len: u16,
}

impl Default for UdpSpec {
    fn default() -> Self {
        UdpSpec {
            payload: DEFAULT_PAYLOAD.to_vec(),
            require_reply: false,
            reply: Vec::new(),
            mask: Vec::new(),
            min_reply_len: 0,
            max_reply_len: u16::from(u8::MAX),
        }
    }
}

impl UdpSpec {
    /// Whether a reply of `len` bytes (its first bytes in `data`) passes.
    pub fn reply_matches(&self, data: &[u8], len: usize) -> bool {
        if self.reply.is_empty() {
            return true;
        }
        if len < usize::from(self.min_reply_len) || len > usize::from(self.max_reply_len) {
            return false;
        }
        // A reply cut short by the read buffer cannot be judged: it fails.
        if data.len() < len.min(self.reply.len()) {
            return false;
        }
        self.reply
            .iter()
            .zip(data)
            .enumerate()
            .all(|(i, (want, got))| {
                let wild = self.mask.get(i).copied().unwrap_or(0);
                (want ^ got) & !wild == 0
            })
    }
}

/// Error: a hex string that keepalived's `read_hex_str` refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadHex;

impl fmt::Display for BadHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("must be hex octets such as `0a 1B ff` or `0a1bff` (X is a wildcard nibble in require_reply only)")
    }
}

impl core::error::Error for BadHex {}

/// How many octets a payload read by [`parse_hex`] has.
pub const PAYLOAD_BYTES: std::ops::RangeInclusive<usize> = 1..=u16::MAX as usize;

/// Reads a hex string as keepalived does: blanks separate octets, two digits
/// make an octet, a lone digit before a blank or the end is an octet of its own.
/// With `wildcards`, `X` (upper case) is a nibble that matches anything; the
/// mask returned has those bits set (empty when there are none).
pub fn parse_hex(text: &str, wildcards: bool) -> Result<(Vec<u8>, Vec<u8>), BadHex> {
    fn nibble(c: u8, wildcards: bool) -> Result<(u8, u8), BadHex> {
        match c {
            b'0'..=b'9' => Ok((c - b'0', 0)),
            b'a'..=b'f' => Ok((c - b'a' + 10, 0)),
            b'A'..=b'F' => Ok((c - b'A' + 10, 0)),
            b'X' if wildcards => Ok((0, 0x0f)),
            _ => Err(BadHex),
        }
    }
    let mut data = Vec::new();
    let mut mask = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes.get(i).copied().unwrap_or(b' ');
        if c == b' ' || c == b'\t' {
            i += 1;
            continue;
        }
        let (mut v, mut m) = nibble(c, wildcards)?;
        i += 1;
        if let Some(&c2) = bytes.get(i) {
            if c2 != b' ' && c2 != b'\t' {
                let (v2, m2) = nibble(c2, wildcards)?;
                v = (v << 4) | v2;
                m = (m << 4) | m2;
                i += 1;
            }
        }
        data.push(v);
        mask.push(m);
    }
    if !PAYLOAD_BYTES.contains(&data.len()) {
        return Err(BadHex);
    }
    if mask.iter().all(|&m| m == 0) {
        mask.clear();
    }
    Ok((data, mask))
}

/// One UDP_CHECK probe (sans-IO): the driver opens a connected UDP socket,
/// sends `pending_write()` once and reports the first datagram or error.
#[derive(Debug, Clone)]
pub struct UdpProbe {
    spec: Arc<UdpSpec>,
    exchange: Exchange,
}

impl UdpProbe {
    /// A probe started at `now` that waits `connect_timeout` for an answer.
    pub fn new(spec: Arc<UdpSpec>, now: Instant, connect_timeout: Duration) -> Self {
        UdpProbe {
            spec,
            exchange: Exchange::new(Verdict::new(now, connect_timeout)),
        }
    }
}

impl DatagramProbe for UdpProbe {
    fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    fn exchange_mut(&mut self) -> &mut Exchange {
        &mut self.exchange
    }

    fn request(&self) -> &[u8] {
        &self.spec.payload
    }

    fn socket_kind(&self) -> Transport {
        Transport::Udp
    }

    fn judge_reply(&self, data: &[u8], len: usize) -> Option<Outcome> {
        Some(if self.spec.reply_matches(data, len) {
            Outcome::Up { weight: None }
        } else {
            Outcome::Down(FailReason::Reply)
        })
    }

    fn judge_silence(&self, sent: bool) -> Outcome {
        // keepalived: a read timeout is success unless a reply is required.
        if sent && !self.spec.require_reply {
            Outcome::Up { weight: None }
        } else {
            Outcome::Down(FailReason::Timeout)
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;
    use crate::check::probe::{Step, StreamProbe};

    #[test]
    fn hex_strings_read_as_keepalived_reads_them() {
        assert_eq!(
            parse_hex("0a 1B ff", false),
            Ok((vec![0x0a, 0x1b, 0xff], vec![]))
        );
        assert_eq!(
            parse_hex("0a1bff", false),
            Ok((vec![0x0a, 0x1b, 0xff], vec![]))
        );
        // A lone digit before a blank is its own octet.
        assert_eq!(
            parse_hex("a 1b2", false),
            Ok((vec![0x0a, 0x1b, 0x02], vec![]))
        );
        assert_eq!(
            parse_hex("1X X2", true),
            Ok((vec![0x10, 0x02], vec![0x0f, 0xf0]))
        );
        assert_eq!(parse_hex("1X", false), Err(BadHex));
        assert_eq!(parse_hex("1x", true), Err(BadHex));
        assert_eq!(parse_hex("  ", false), Err(BadHex));
        assert_eq!(parse_hex("0g", false), Err(BadHex));
    }

    #[test]
    fn default_payload_is_keepalived_s() {
        assert_eq!(UdpSpec::default().payload.len(), 32);
        assert!(UdpSpec::default()
            .payload
            .starts_with(b"keepalived check - "));
    }

    fn spec(require: bool, reply: &str, min: u16, max: u16) -> Arc<UdpSpec> {
        let (reply, mask) = if reply.is_empty() {
            (vec![], vec![])
        } else {
            parse_hex(reply, true).unwrap()
        };
        Arc::new(UdpSpec {
            require_reply: require,
            reply,
            mask,
            min_reply_len: min,
            max_reply_len: max,
            ..UdpSpec::default()
        })
    }

    fn run(spec: Arc<UdpSpec>, reply: Option<&[u8]>) -> Outcome {
        let t0 = Instant::now();
        let mut p = UdpProbe::new(spec, t0, Duration::from_secs(2));
        assert_eq!(p.transport(), Transport::Udp);
        assert_eq!(p.step(), Step::Connect);
        p.on_connected(t0);
        let n = p.pending_write().len();
        assert!(n > 0);
        p.on_written(t0, n);
        assert!(p.pending_write().is_empty());
        match reply {
            Some(r) => p.on_datagram(t0, r, r.len()),
            None => p.handle_timeout(t0 + Duration::from_secs(2)),
        }
        match p.step() {
            Step::Finished(o) => o,
            s => panic!("not finished: {s:?}"),
        }
    }

    #[test]
    fn verdicts_follow_keepalived() {
        let up = Outcome::Up { weight: None };
        // Silence: up, unless a reply is required.
        assert_eq!(run(spec(false, "", 0, 255), None), up);
        assert_eq!(
            run(spec(true, "", 0, 255), None),
            Outcome::Down(FailReason::Timeout)
        );
        // Any reply passes without reply data, lengths unchecked (as keepalived).
        assert_eq!(run(spec(true, "", 10, 20), Some(b"x")), up);
        // Reply data: prefix compared over min(len, data len), X is a wildcard.
        assert_eq!(run(spec(true, "6f 6b", 0, 255), Some(b"ok!")), up);
        assert_eq!(run(spec(true, "6f 6b", 0, 255), Some(b"o")), up);
        assert_eq!(run(spec(true, "6X 6b", 0, 255), Some(b"ak")), up);
        assert_eq!(
            run(spec(true, "6f 6b", 0, 255), Some(b"no")),
            Outcome::Down(FailReason::Reply)
        );
        assert_eq!(
            run(spec(true, "6f", 3, 255), Some(b"ok")),
            Outcome::Down(FailReason::Reply)
        );
        assert_eq!(
            run(spec(true, "6f", 0, 2), Some(b"okay")),
            Outcome::Down(FailReason::Reply)
        );
        // An unreachable port fails even without require_reply.
        let t0 = Instant::now();
        let mut p = UdpProbe::new(spec(false, "", 0, 255), t0, Duration::from_secs(2));
        p.on_written(t0, 32);
        p.on_error(t0, FailReason::Unreachable);
        assert_eq!(
            p.step(),
            Step::Finished(Outcome::Down(FailReason::Unreachable))
        );
        // Before anything was sent, the deadline is a failure.
        let mut p = UdpProbe::new(spec(false, "", 0, 255), t0, Duration::from_secs(2));
        p.handle_timeout(t0 + Duration::from_secs(3));
        assert_eq!(p.step(), Step::Finished(Outcome::Down(FailReason::Timeout)));
    }
}
