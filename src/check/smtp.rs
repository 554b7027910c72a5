//! SMTP_CHECK: expect 220, send `HELO <helo_name>`, expect 250, send QUIT, read its reply (RFC 5321 §3.1, §4.1.1.1).

use core::time::Duration;
use std::time::Instant;

use super::probe::{FailReason, Outcome, Step, StreamProbe};
use crate::limits::SMTP_MAX_LINE;
use crate::wire::smtp::ReplyParser;

/// The whole dialogue (connect, greeting, HELO, QUIT) must end within this
/// many connect_timeouts: room for three slow replies, while each step still
/// has connect_timeout. keepalived re-arms connect_timeout on every read and
/// has no such bound, so a server that trickles lines holds its check forever.
pub const SMTP_DIALOGUE_STEPS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connect,
    Greeting,
    Helo,
    Quit,
    Finished(Outcome),
}

/// One SMTP_CHECK probe (sans-IO).
#[derive(Debug, Clone)]
pub struct SmtpProbe {
    phase: Phase,
    parser: ReplyParser,
    out: [u8; SMTP_MAX_LINE],
    out_len: usize,
    sent: usize,
    timeout: Duration,
    /// The current step's deadline (restarted by progress).
    deadline: Instant,
    /// The whole dialogue's deadline (never restarted).
    dialogue_deadline: Instant,
}

impl SmtpProbe {
    /// A probe started at `now`; every step must progress within `timeout`,
    /// and the whole dialogue end within `SMTP_DIALOGUE_STEPS` x `timeout`.
    /// A `helo_name` that is empty or holds control bytes makes the probe fail at once.
    pub fn new(now: Instant, timeout: Duration, helo_name: &str) -> Self {
        let mut p = SmtpProbe {
            phase: Phase::Connect,
            parser: ReplyParser::new(),
            out: [0; SMTP_MAX_LINE],
            out_len: 0,
            sent: 0,
            timeout,
            deadline: now + timeout,
            dialogue_deadline: now + timeout.saturating_mul(SMTP_DIALOGUE_STEPS),
        };
        let ok = !helo_name.is_empty()
            && helo_name.bytes().all(|b| b > b' ' && b != 0x7f)
            && helo_name.len() + 7 <= SMTP_MAX_LINE;
        if ok {
            p.queue(&[b"HELO ", helo_name.as_bytes(), b"\r\n"]);
        } else {
            p.phase = Phase::Finished(Outcome::Down(FailReason::Io));
        }
        p
    }

    fn queue(&mut self, parts: &[&[u8]]) {
        self.out_len = 0;
        self.sent = 0;
        for part in parts {
            let end = self.out_len + part.len();
            if let Some(dst) = self.out.get_mut(self.out_len..end) {
                dst.copy_from_slice(part);
                self.out_len = end;
            }
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if !matches!(self.phase, Phase::Finished(_)) {
            self.phase = Phase::Finished(outcome);
        }
    }
}

impl StreamProbe for SmtpProbe {
    fn step(&self) -> Step {
        match self.phase {
            Phase::Connect => Step::Connect,
            Phase::Finished(o) => Step::Finished(o),
            _ => Step::Exchange,
        }
    }

    fn on_connected(&mut self, now: Instant) {
        if self.phase == Phase::Connect {
            self.phase = Phase::Greeting;
            self.deadline = now + self.timeout;
        }
    }

    fn pending_write(&self) -> &[u8] {
        match self.phase {
            Phase::Helo | Phase::Quit => self.out.get(self.sent..self.out_len).unwrap_or(&[]),
            _ => &[],
        }
    }

    fn on_written(&mut self, now: Instant, n: usize) {
        self.sent = (self.sent + n).min(self.out_len);
        self.deadline = now + self.timeout;
    }

    fn on_read(&mut self, now: Instant, mut data: &[u8]) {
        self.deadline = now + self.timeout;
        while !data.is_empty() && !matches!(self.phase, Phase::Finished(_) | Phase::Connect) {
            let (used, code) = match self.parser.feed(data) {
                Ok(r) => r,
                Err(e) => return self.finish(Outcome::Down(FailReason::Smtp(e))),
            };
            data = data.get(used..).unwrap_or(&[]);
            let Some(code) = code else { continue };
            match (self.phase, code) {
                (Phase::Greeting, 220) => self.phase = Phase::Helo,
                (Phase::Helo, 250) if self.sent == self.out_len => {
                    self.queue(&[b"QUIT\r\n"]);
                    self.phase = Phase::Quit;
                }
                // keepalived waits for the QUIT reply line, whatever its code.
                (Phase::Quit, _) if self.sent == self.out_len => {
                    return self.finish(Outcome::Up { weight: None })
                }
                (_, c) => return self.finish(Outcome::Down(FailReason::SmtpCode(c))),
            }
        }
    }

    fn on_eof(&mut self, _now: Instant) {
        self.finish(Outcome::Down(FailReason::Closed));
    }

    fn on_error(&mut self, _now: Instant, reason: FailReason) {
        self.finish(Outcome::Down(reason));
    }

    fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Finished(_)) {
            return;
        }
        if now >= self.dialogue_deadline {
            self.finish(Outcome::Down(FailReason::Deadline));
        } else if now >= self.deadline {
            self.finish(Outcome::Down(FailReason::Timeout));
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        (!matches!(self.phase, Phase::Finished(_)))
            .then_some(self.deadline.min(self.dialogue_deadline))
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn dialogue_passes() {
        let t = Instant::now();
        let mut p = SmtpProbe::new(t, Duration::from_secs(3), "lvsd.example");
        assert_eq!(p.step(), Step::Connect);
        p.on_connected(t);
        assert!(p.pending_write().is_empty());
        p.on_read(t, b"220-mx.example ESMTP\r\n220 ready\r\n");
        assert_eq!(p.pending_write(), b"HELO lvsd.example\r\n");
        p.on_written(t, 4);
        p.on_written(t, 15);
        p.on_read(t, b"250 mx.example\r\n");
        assert_eq!(p.pending_write(), b"QUIT\r\n");
        p.on_written(t, 6);
        assert_eq!(p.step(), Step::Exchange);
        p.on_read(t, b"221 bye\r\n");
        assert_eq!(p.step(), Step::Finished(Outcome::Up { weight: None }));
    }

    #[test]
    fn failures() {
        let t = Instant::now();
        let d = Duration::from_secs(3);
        let mut p = SmtpProbe::new(t, d, "x");
        p.on_connected(t);
        p.on_read(t, b"554 go away\r\n");
        assert_eq!(
            p.step(),
            Step::Finished(Outcome::Down(FailReason::SmtpCode(554)))
        );
        let mut p = SmtpProbe::new(t, d, "x");
        p.on_connected(t);
        p.on_read(t, b"HTTP/1.1 400 Bad\r\n");
        assert!(matches!(
            p.step(),
            Step::Finished(Outcome::Down(FailReason::Smtp(_)))
        ));
        let mut p = SmtpProbe::new(t, d, "x");
        p.on_connected(t);
        p.on_read(t, b"220 hi\r\n");
        p.on_eof(t);
        assert_eq!(p.step(), Step::Finished(Outcome::Down(FailReason::Closed)));
        let mut p = SmtpProbe::new(t, d, "x");
        p.on_connected(t);
        p.handle_timeout(t + d);
        assert_eq!(p.step(), Step::Finished(Outcome::Down(FailReason::Timeout)));
        let p = SmtpProbe::new(t, d, "bad name\r\n");
        assert!(matches!(p.step(), Step::Finished(Outcome::Down(_))));
    }

    #[test]
    fn trickled_continuations_end_at_the_dialogue_deadline() {
        let t = Instant::now();
        let d = Duration::from_secs(3);
        let ms = Duration::from_millis;
        let mut p = SmtpProbe::new(t, d, "x");
        p.on_connected(t);
        // A `220-` line every 0.5 s: each restarts the step timeout, as in
        // keepalived, but the dialogue's own deadline does not move.
        let mut now = t;
        while now < t + d * SMTP_DIALOGUE_STEPS - ms(500) {
            now += ms(500);
            p.on_read(now, b"220-still greeting\r\n");
            p.handle_timeout(now);
            assert_eq!(p.step(), Step::Exchange, "alive at {:?}", now - t);
            assert_eq!(p.poll_at(), Some(now + d).map(|s| s.min(t + d * 3)));
        }
        p.handle_timeout(t + d * SMTP_DIALOGUE_STEPS);
        assert_eq!(
            p.step(),
            Step::Finished(Outcome::Down(FailReason::Deadline))
        );
        assert!(FailReason::Deadline.to_string().contains("deadline"));
    }

    #[test]
    fn slow_but_steady_dialogue_passes_within_the_deadline() {
        // Three replies just under connect_timeout each: the longest a
        // well-behaved server can take, and still inside the deadline.
        let t = Instant::now();
        let d = Duration::from_secs(3);
        let step = d - Duration::from_millis(10);
        let mut p = SmtpProbe::new(t, d, "x");
        p.on_connected(t);
        let mut now = t + step;
        p.handle_timeout(now);
        p.on_read(now, b"220 hi\r\n");
        p.on_written(now, p.pending_write().len());
        now += step;
        p.handle_timeout(now);
        p.on_read(now, b"250 ok\r\n");
        p.on_written(now, p.pending_write().len());
        now += step;
        p.handle_timeout(now);
        p.on_read(now, b"221 bye\r\n");
        assert_eq!(p.step(), Step::Finished(Outcome::Up { weight: None }));
    }

    #[test]
    fn endless_continuation_lines_fail_on_the_line_cap() {
        let t = Instant::now();
        let mut p = SmtpProbe::new(t, Duration::from_secs(3), "x");
        p.on_connected(t);
        for _ in 0..crate::limits::SMTP_MAX_REPLY_LINES {
            p.on_read(t, b"220-more\r\n");
        }
        assert_eq!(
            p.step(),
            Step::Finished(Outcome::Down(FailReason::Smtp(
                crate::wire::smtp::SmtpError::TooManyLines
            )))
        );
    }
}
