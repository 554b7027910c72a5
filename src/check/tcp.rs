//! TCP_CHECK: the server passes when a connection completes within connect_timeout.

use core::time::Duration;
use std::time::Instant;

use super::probe::{FailReason, Outcome, Step, StreamProbe, Verdict};

/// One TCP_CHECK probe (sans-IO): the driver connects and reports.
#[derive(Debug, Clone)]
pub struct TcpProbe {
    verdict: Verdict,
}

impl TcpProbe {
    /// A probe started at `now` that must connect within `connect_timeout`.
    pub fn new(now: Instant, connect_timeout: Duration) -> Self {
        TcpProbe {
            verdict: Verdict::new(now, connect_timeout),
        }
    }
}

impl StreamProbe for TcpProbe {
    fn step(&self) -> Step {
        match self.verdict.outcome() {
            Some(o) => Step::Finished(o),
            None => Step::Connect,
        }
    }

    fn on_connected(&mut self, _now: Instant) {
        self.verdict.finish(Outcome::Up { weight: None });
    }

    fn pending_write(&self) -> &[u8] {
        &[]
    }

    fn on_written(&mut self, _now: Instant, _n: usize) {}

    fn on_read(&mut self, _now: Instant, _data: &[u8]) {}

    fn on_eof(&mut self, _now: Instant) {}

    fn on_error(&mut self, _now: Instant, reason: FailReason) {
        self.verdict.finish(Outcome::Down(reason));
    }

    fn reset_on_close(&self) -> bool {
        true
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.verdict.handle_timeout(now);
    }

    fn poll_at(&self) -> Option<Instant> {
        self.verdict.poll_at()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn connect_success_timeout_and_refusal() {
        let t0 = Instant::now();
        let mut p = TcpProbe::new(t0, Duration::from_secs(3));
        assert_eq!(p.step(), Step::Connect);
        assert_eq!(p.poll_at(), Some(t0 + Duration::from_secs(3)));
        p.handle_timeout(t0 + Duration::from_millis(2999));
        assert_eq!(p.step(), Step::Connect);
        p.on_connected(t0 + Duration::from_secs(1));
        assert_eq!(p.step(), Step::Finished(Outcome::Up { weight: None }));
        assert_eq!(p.poll_at(), None);

        let mut p = TcpProbe::new(t0, Duration::from_secs(3));
        p.handle_timeout(t0 + Duration::from_secs(3));
        p.on_connected(t0 + Duration::from_secs(4)); // too late: ignored
        assert_eq!(p.step(), Step::Finished(Outcome::Down(FailReason::Timeout)));

        let mut p = TcpProbe::new(t0, Duration::from_secs(3));
        p.on_error(t0, FailReason::Connect);
        assert_eq!(p.step(), Step::Finished(Outcome::Down(FailReason::Connect)));
    }
}
