//! The bounded pool of checks in flight: probes due while it is full wait in order (FIFO), and the waits are counted.

use core::time::Duration;
use std::time::Instant;

use heapless::Deque;

/// Rate limit for one log call site: at most one line per `every`, and the
/// lines held back are counted and named in the next one.
#[derive(Debug, Clone)]
pub struct LogLimit {
    every: Duration,
    last: Option<Instant>,
    held: u64,
}

impl LogLimit {
    /// A limit of one line per `every`.
    pub fn new(every: Duration) -> Self {
        LogLimit {
            every,
            last: None,
            held: 0,
        }
    }

    /// `Some(lines held back since the last one)` when a line may be logged at `now`.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        if self.last.is_some_and(|l| now < l + self.every) {
            self.held += 1;
            return None;
        }
        self.last = Some(now);
        Some(core::mem::take(&mut self.held))
    }
}

/// Identifies a checker to the pool (the daemon's index into its checker table).
pub type CheckerId = u32;

/// Whether a due probe may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Start it now.
    Start,
    /// The pool is full: it waits and will come back from `finish`.
    Queued,
    /// The pool and its wait queue are full (more checkers than `WAIT`): try again later.
    Rejected,
}

/// At most `limit` probes in flight; up to `WAIT` waiting in arrival order.
#[derive(Debug)]
pub struct InflightPool<const WAIT: usize> {
    limit: usize,
    running: usize,
    waiting: Deque<CheckerId, WAIT>,
    waits: u64,
    rejections: u64,
}

impl<const WAIT: usize> InflightPool<WAIT> {
    /// A pool of `limit` slots (at least one).
    pub fn new(limit: usize) -> Self {
        InflightPool {
            limit: limit.max(1),
            running: 0,
            waiting: Deque::new(),
            waits: 0,
            rejections: 0,
        }
    }

    /// Asks to start `checker`'s probe.
    pub fn admit(&mut self, checker: CheckerId) -> Admission {
        if self.running < self.limit && self.waiting.is_empty() {
            self.running += 1;
            return Admission::Start;
        }
        match self.waiting.push_back(checker) {
            Ok(()) => {
                self.waits += 1;
                Admission::Queued
            }
            Err(_) => {
                self.rejections += 1;
                Admission::Rejected
            }
        }
    }

    /// A probe ended: frees its slot and returns the next waiting checker to start, if any.
    pub fn finish(&mut self) -> Option<CheckerId> {
        self.running = self.running.saturating_sub(1);
        let next = self.waiting.pop_front()?;
        self.running += 1;
        Some(next)
    }

    /// Removes a waiting checker (deleted by a reload); returns whether it was waiting.
    pub fn forget(&mut self, checker: CheckerId) -> bool {
        let mut found = false;
        for _ in 0..self.waiting.len() {
            if let Some(id) = self.waiting.pop_front() {
                if id == checker && !found {
                    found = true;
                } else {
                    let _ = self.waiting.push_back(id);
                }
            }
        }
        found
    }

    /// Probes in flight.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Checkers waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Probes that had to wait, since start.
    pub fn waits(&self) -> u64 {
        self.waits
    }

    /// Probes refused because the wait queue was full, since start.
    pub fn rejections(&self) -> u64 {
        self.rejections
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn full_pool_queues_in_order_and_counts() {
        let mut p = InflightPool::<3>::new(2);
        assert_eq!(p.admit(1), Admission::Start);
        assert_eq!(p.admit(2), Admission::Start);
        assert_eq!(p.admit(3), Admission::Queued);
        assert_eq!(p.admit(4), Admission::Queued);
        assert_eq!(p.admit(5), Admission::Queued);
        assert_eq!(p.admit(6), Admission::Rejected);
        assert_eq!(
            (p.running(), p.waiting(), p.waits(), p.rejections()),
            (2, 3, 3, 1)
        );
        assert!(p.forget(4));
        assert!(!p.forget(4));
        assert_eq!(p.finish(), Some(3));
        assert_eq!(p.finish(), Some(5));
        assert_eq!(p.running(), 2);
        assert_eq!(p.finish(), None);
        assert_eq!(p.finish(), None);
        assert_eq!(p.running(), 0);
        assert_eq!(p.finish(), None);
        assert_eq!(p.running(), 0);
    }

    #[test]
    fn log_limit_lets_one_line_through_per_period_and_counts_the_rest() {
        let t = Instant::now();
        let s = Duration::from_secs;
        let mut l = LogLimit::new(s(10));
        assert_eq!(l.allow(t), Some(0));
        assert_eq!(l.allow(t + s(1)), None);
        assert_eq!(l.allow(t + s(9)), None);
        assert_eq!(l.allow(t + s(10)), Some(2));
        assert_eq!(l.allow(t + s(25)), Some(0));
    }

    #[test]
    fn newcomer_does_not_overtake_waiters() {
        let mut p = InflightPool::<4>::new(1);
        assert_eq!(p.admit(1), Admission::Start);
        assert_eq!(p.admit(2), Admission::Queued);
        assert_eq!(p.finish(), Some(2));
        assert_eq!(p.admit(3), Admission::Queued);
        assert_eq!(p.finish(), Some(3));
    }
}
