//! PING_CHECK: one ICMP (or ICMPv6) echo request; the server passes when the
//! matching echo reply arrives within connect_timeout (keepalived 2.2's
//! check_ping.c: 128 bytes of payload, the port is not used).
//!
//! The driver sends `pending_write()` on an ICMP socket connected to the server
//! and feeds every ICMP message that arrives (without IP header). A message
//! that is not our echo reply (another type, id or sequence: a raw socket sees
//! all of them) is ignored; an error on the socket (an ICMP unreachable on a
//! datagram ICMP socket) fails the server, as silence until the deadline does.

use core::time::Duration;
use std::time::Instant;

use super::datagram::{DatagramProbe, Exchange};
use super::probe::{Outcome, Transport, Verdict};
use crate::wire::checksum::checksum;

/// Bytes of echo payload, as keepalived (`ICMP_BUFSIZE`).
pub const PING_PAYLOAD: usize = 128;
/// ICMP echo header bytes.
const HEADER: usize = 8;

/// One PING_CHECK probe (sans-IO).
#[derive(Debug, Clone)]
pub struct PingProbe {
    request: [u8; HEADER + PING_PAYLOAD],
    ipv6: bool,
    ident: u16,
    seq: u16,
    exchange: Exchange,
}

impl PingProbe {
    /// A probe started at `now` with echo `ident` and `seq`; `ipv6` picks ICMPv6.
    pub fn new(now: Instant, connect_timeout: Duration, ipv6: bool, ident: u16, seq: u16) -> Self {
        let mut request = [0u8; HEADER + PING_PAYLOAD];
        let pattern = b"keepalived check - ";
        for (i, b) in request.iter_mut().skip(HEADER).enumerate() {
            *b = pattern.get(i % pattern.len()).copied().unwrap_or(0);
        }
        request[0] = if ipv6 { 128 } else { 8 };
        request[4..6].copy_from_slice(&ident.to_be_bytes());
        request[6..8].copy_from_slice(&seq.to_be_bytes());
        if !ipv6 {
            // ICMPv6 checksums cover a pseudo-header: the kernel fills them in.
            let sum = checksum(0, &request);
            request[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        PingProbe {
            request,
            ipv6,
            ident,
            seq,
            exchange: Exchange::new(Verdict::new(now, connect_timeout)),
        }
    }
}

impl DatagramProbe for PingProbe {
    fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    fn exchange_mut(&mut self) -> &mut Exchange {
        &mut self.exchange
    }

    fn request(&self) -> &[u8] {
        &self.request
    }

    fn socket_kind(&self) -> Transport {
        Transport::Icmp { ident: self.ident }
    }

    fn judge_reply(&self, data: &[u8], _len: usize) -> Option<Outcome> {
        let reply_type = if self.ipv6 { 129 } else { 0 };
        let head = data.get(..HEADER)?;
        if head[0] != reply_type || head[1] != 0 {
            return None;
        }
        // A datagram ICMP socket rewrites the id to its own (which the driver
        // bound to `ident`); a raw socket sees everyone's replies.
        (head[4..6] == self.ident.to_be_bytes() && head[6..8] == self.seq.to_be_bytes())
            .then_some(Outcome::Up { weight: None })
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;
    use crate::check::probe::{FailReason, Step, StreamProbe};

    fn reply_to(request: &[u8], reply_type: u8) -> Vec<u8> {
        let mut r = request.to_vec();
        r[0] = reply_type;
        r
    }

    #[test]
    fn echo_request_is_well_formed() {
        let t0 = Instant::now();
        let p = PingProbe::new(t0, Duration::from_secs(1), false, 0x1234, 7);
        let req = p.pending_write();
        assert_eq!(req.len(), 136);
        assert_eq!(&req[..2], &[8, 0]);
        assert_eq!(&req[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(&req[8..27], b"keepalived check - ");
        // A correct checksum sums to zero over the message.
        assert_eq!(checksum(0, req), 0);
        let p6 = PingProbe::new(t0, Duration::from_secs(1), true, 1, 1);
        assert_eq!(p6.pending_write()[0], 128);
        assert_eq!(p6.transport(), Transport::Icmp { ident: 1 });
    }

    #[test]
    fn only_our_echo_reply_passes() {
        let t0 = Instant::now();
        for ipv6 in [false, true] {
            let reply_type = if ipv6 { 129 } else { 0 };
            let mut p = PingProbe::new(t0, Duration::from_secs(1), ipv6, 99, 3);
            p.on_connected(t0);
            let req = p.pending_write().to_vec();
            p.on_written(t0, req.len());
            // Our own request (seen on a raw socket), another id, another seq,
            // a short message: ignored.
            p.on_read(t0, &req);
            let mut other = reply_to(&req, reply_type);
            other[5] ^= 1;
            p.on_read(t0, &other);
            let mut other = reply_to(&req, reply_type);
            other[7] ^= 1;
            p.on_read(t0, &other);
            p.on_read(t0, &[reply_type, 0, 0]);
            assert_eq!(p.step(), Step::Exchange);
            p.on_read(t0, &reply_to(&req, reply_type));
            assert_eq!(p.step(), Step::Finished(Outcome::Up { weight: None }));
        }
        let mut p = PingProbe::new(t0, Duration::from_secs(1), false, 1, 1);
        p.on_connected(t0);
        p.on_written(t0, 136);
        p.handle_timeout(t0 + Duration::from_millis(999));
        assert_eq!(p.step(), Step::Exchange);
        p.handle_timeout(t0 + Duration::from_secs(1));
        assert_eq!(p.step(), Step::Finished(Outcome::Down(FailReason::Timeout)));
        let mut p = PingProbe::new(t0, Duration::from_secs(1), false, 1, 1);
        p.on_connected(t0);
        p.on_written(t0, 136);
        p.on_error(t0, FailReason::Unreachable);
        assert_eq!(
            p.step(),
            Step::Finished(Outcome::Down(FailReason::Unreachable))
        );
    }
}
