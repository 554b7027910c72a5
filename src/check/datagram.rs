//! What the one-datagram probes share (UDP_CHECK, DNS_CHECK, PING_CHECK): the
//! driver opens a connected socket, the probe sends its request once, and the
//! first datagram that the probe recognises, an error on the socket or the
//! deadline gives the verdict. Each probe says only what its request is and
//! how it judges a reply (and silence); [`DatagramProbe`] makes it a
//! [`StreamProbe`].

use std::time::Instant;

use super::probe::{FailReason, Outcome, Step, StreamProbe, Transport, Verdict};

/// The progress of one request/reply exchange.
#[derive(Debug, Clone, Copy)]
pub struct Exchange {
    verdict: Verdict,
    connected: bool,
    sent: bool,
}

impl Exchange {
    /// Not connected, nothing sent, open until `verdict`'s deadline.
    pub fn new(verdict: Verdict) -> Self {
        Exchange {
            verdict,
            connected: false,
            sent: false,
        }
    }
}

/// A probe that is one request datagram and a judged reply.
pub trait DatagramProbe {
    /// The exchange's state.
    fn exchange(&self) -> &Exchange;
    /// The exchange's state, to update.
    fn exchange_mut(&mut self) -> &mut Exchange;
    /// The request datagram, sent once.
    fn request(&self) -> &[u8];
    /// The socket the driver opens.
    fn socket_kind(&self) -> Transport;
    /// The verdict on a datagram that arrived after the request went out
    /// (`len` is its length before truncation to `data`); `None` ignores it.
    fn judge_reply(&self, data: &[u8], len: usize) -> Option<Outcome>;
    /// The verdict when the deadline passes; `sent` says whether the
    /// request went out. Silence fails the server unless a probe says so.
    fn judge_silence(&self, _sent: bool) -> Outcome {
        Outcome::Down(FailReason::Timeout)
    }
}

impl<T: DatagramProbe> StreamProbe for T {
    fn step(&self) -> Step {
        let x = self.exchange();
        match x.verdict.outcome() {
            Some(o) => Step::Finished(o),
            None if x.connected => Step::Exchange,
            None => Step::Connect,
        }
    }

    fn transport(&self) -> Transport {
        self.socket_kind()
    }

    fn on_connected(&mut self, _now: Instant) {
        self.exchange_mut().connected = true;
    }

    fn pending_write(&self) -> &[u8] {
        let x = self.exchange();
        if x.sent || x.verdict.outcome().is_some() {
            &[]
        } else {
            self.request()
        }
    }

    fn on_written(&mut self, _now: Instant, n: usize) {
        let whole = n == self.request().len();
        let x = self.exchange_mut();
        if !whole {
            // A datagram goes whole or not at all (keepalived: connect_error).
            x.verdict.finish(Outcome::Down(FailReason::Io));
        }
        x.sent = true;
    }

    fn on_read(&mut self, now: Instant, data: &[u8]) {
        self.on_datagram(now, data, data.len());
    }

    fn on_datagram(&mut self, _now: Instant, data: &[u8], len: usize) {
        if !self.exchange().sent {
            return;
        }
        if let Some(outcome) = self.judge_reply(data, len) {
            self.exchange_mut().verdict.finish(outcome);
        }
    }

    fn on_eof(&mut self, _now: Instant) {}

    fn on_error(&mut self, _now: Instant, reason: FailReason) {
        self.exchange_mut().verdict.finish(Outcome::Down(reason));
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.exchange().verdict.due(now) {
            let outcome = self.judge_silence(self.exchange().sent);
            self.exchange_mut().verdict.finish(outcome);
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        self.exchange().verdict.poll_at()
    }
}
