//! DNS_CHECK: one DNS query over UDP; the server passes when an answer with
//! the query's id and RCODE 0 (NOERROR) arrives within connect_timeout, with
//! keepalived 2.2's semantics (check_dns.c): recursion desired, class IN,
//! type SOA and the root name by default. Datagrams shorter than a DNS
//! header, with another id, or that are not answers (QR clear) are ignored;
//! an answer with any other RCODE fails the server, as do an ICMP
//! unreachable and silence.

use core::fmt;
use core::time::Duration;
use std::time::Instant;

use super::datagram::{DatagramProbe, Exchange};
use super::probe::{FailReason, Outcome, Transport, Verdict};

/// DNS header bytes.
const HEADER: usize = 12;
/// Longest query: header, a name of at most 255 bytes on the wire, type and class.
pub const DNS_QUERY_MAX: usize = HEADER + 255 + 4;

/// The query types keepalived 2.2 knows, by name.
pub const DNS_TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("RRSIG", 46),
    ("DNSKEY", 48),
];

/// The query type for `name` (any case), as keepalived reads it.
pub fn dns_type(name: &str) -> Option<u16> {
    DNS_TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, t)| t)
}

/// Error: a DNS_CHECK `name` that cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadName;

impl fmt::Display for BadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("must be a domain name without empty labels (`.` is the root), labels of at most 63 bytes, 255 in all")
    }
}

impl core::error::Error for BadName {}

/// A DNS_CHECK query, built once at load: its bytes with a zero id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    bytes: [u8; DNS_QUERY_MAX],
    len: usize,
}

impl DnsQuery {
    /// The query for `name` (empty or `.`: the root) of type `qtype`.
    pub fn new(name: &str, qtype: u16) -> Result<DnsQuery, BadName> {
        let mut bytes = [0u8; DNS_QUERY_MAX];
        // Recursion desired; one question.
        bytes[2] = 0x01;
        bytes[5] = 1;
        let mut at = HEADER;
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        if !trimmed.is_empty() {
            for label in trimmed.split('.') {
                let n = label.len();
                if n == 0 || n > 63 || at + 1 + n + 1 > HEADER + 255 {
                    return Err(BadName);
                }
                bytes[at] = n as u8;
                bytes[at + 1..at + 1 + n].copy_from_slice(label.as_bytes());
                at += 1 + n;
            }
        } else if name.len() > 1 {
            return Err(BadName);
        }
        bytes[at] = 0;
        at += 1;
        bytes[at..at + 2].copy_from_slice(&qtype.to_be_bytes());
        bytes[at + 2..at + 4].copy_from_slice(&1u16.to_be_bytes());
        Ok(DnsQuery { bytes, len: at + 4 })
    }

    /// The query's bytes (id zero).
    pub fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// One DNS_CHECK probe (sans-IO), over a connected UDP socket.
#[derive(Debug, Clone)]
pub struct DnsProbe {
    query: DnsQuery,
    id: u16,
    exchange: Exchange,
}

impl DnsProbe {
    /// A probe started at `now` sending `query` with `id`.
    pub fn new(query: &DnsQuery, id: u16, now: Instant, connect_timeout: Duration) -> Self {
        let mut query = query.clone();
        query.bytes[0..2].copy_from_slice(&id.to_be_bytes());
        DnsProbe {
            query,
            id,
            exchange: Exchange::new(Verdict::new(now, connect_timeout)),
        }
    }
}

impl DatagramProbe for DnsProbe {
    fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    fn exchange_mut(&mut self) -> &mut Exchange {
        &mut self.exchange
    }

    fn request(&self) -> &[u8] {
        self.query.bytes()
    }

    fn socket_kind(&self) -> Transport {
        Transport::Udp
    }

    fn judge_reply(&self, data: &[u8], _len: usize) -> Option<Outcome> {
        let head = data.get(..HEADER)?;
        if head[0..2] != self.id.to_be_bytes() || head[2] & 0x80 == 0 {
            return None;
        }
        Some(match head[3] & 0x0f {
            0 => Outcome::Up { weight: None },
            rcode => Outcome::Down(FailReason::DnsRcode(rcode)),
        })
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;
    use crate::check::probe::{Step, StreamProbe};

    #[test]
    fn queries_are_encoded_as_keepalived_encodes_them() {
        let q = DnsQuery::new("", 6).unwrap();
        assert_eq!(
            q.bytes(),
            [0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1]
        );
        assert_eq!(DnsQuery::new(".", 6).unwrap(), q);
        let q = DnsQuery::new("example.com", 1).unwrap();
        assert_eq!(&q.bytes()[12..], b"\x07example\x03com\x00\x00\x01\x00\x01");
        assert_eq!(DnsQuery::new("example.com.", 1).unwrap(), q);
        for bad in ["a..b", ".a", "..", &"x".repeat(64)] {
            assert_eq!(DnsQuery::new(bad, 1), Err(BadName), "{bad}");
        }
        let long = [
            "x".repeat(63),
            "y".repeat(63),
            "z".repeat(63),
            "w".repeat(61),
        ]
        .join(".");
        assert!(DnsQuery::new(&long, 1).is_ok());
        assert_eq!(DnsQuery::new(&format!("{long}w"), 1), Err(BadName));
        assert_eq!(dns_type("aaaa"), Some(28));
        assert_eq!(dns_type("PTR"), None);
    }

    fn answer(id: u16, flags: u16) -> Vec<u8> {
        let mut a = vec![0u8; 12];
        a[0..2].copy_from_slice(&id.to_be_bytes());
        a[2..4].copy_from_slice(&flags.to_be_bytes());
        a
    }

    #[test]
    fn only_our_answer_decides() {
        let t0 = Instant::now();
        let q = DnsQuery::new("example.org", 1).unwrap();
        let mut p = DnsProbe::new(&q, 0xbeef, t0, Duration::from_secs(2));
        assert_eq!(p.transport(), Transport::Udp);
        p.on_connected(t0);
        assert_eq!(&p.pending_write()[..4], &[0xbe, 0xef, 1, 0]);
        p.on_written(t0, q.bytes().len());
        p.on_read(t0, &answer(0xbeef, 0x8180)[..11]); // short
        p.on_read(t0, &answer(0xbeee, 0x8180)); // other id
        p.on_read(t0, &answer(0xbeef, 0x0100)); // a query, not an answer
        assert_eq!(p.step(), Step::Exchange);
        p.on_read(t0, &answer(0xbeef, 0x8183)); // NXDOMAIN
        assert_eq!(
            p.step(),
            Step::Finished(Outcome::Down(FailReason::DnsRcode(3)))
        );
        let mut p = DnsProbe::new(&q, 7, t0, Duration::from_secs(2));
        p.on_connected(t0);
        p.on_written(t0, q.bytes().len());
        p.on_read(t0, &answer(7, 0x8580));
        assert_eq!(p.step(), Step::Finished(Outcome::Up { weight: None }));
        let mut p = DnsProbe::new(&q, 7, t0, Duration::from_secs(2));
        p.on_connected(t0);
        p.on_written(t0, q.bytes().len());
        p.handle_timeout(t0 + Duration::from_secs(2));
        assert_eq!(p.step(), Step::Finished(Outcome::Down(FailReason::Timeout)));
    }
}
