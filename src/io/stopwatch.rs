//! The daemon's time outside the loop's wake-up `now` (issue 11): the
//! daemon never calls `Instant::now` or `SystemTime::now` itself. Its logic
//! runs on the `now` the event loop's [`Clock`](super::event_loop::Clock)
//! reads once per wake-up; what is left here is measurement only (how long a
//! piece of work took, how late a timer really fired) and the wall-clock
//! time shown in status.

use std::time::{Duration, Instant, SystemTime};

/// Measures how long a piece of work takes. Measurement only: no decision
/// of the daemon may depend on it, except the cost figures that decide
/// when heavy work yields to VRRP timers.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts measuring now.
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }

    /// The time since [`Stopwatch::start`].
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// How long after `deadline` this moment is (zero if before): how late a
/// timer's work really happened, the wait behind other work included.
pub fn lateness(deadline: Instant) -> Duration {
    Instant::now().saturating_duration_since(deadline)
}

/// The wall-clock time, for the status ("started at", "last load").
pub fn wall_now() -> SystemTime {
    SystemTime::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwatch_and_lateness_only_grow() {
        let w = Stopwatch::start();
        let a = w.elapsed();
        let b = w.elapsed();
        assert!(b >= a);
        let future = Instant::now() + Duration::from_secs(3600);
        assert_eq!(lateness(future), Duration::ZERO);
        let past = Instant::now() - Duration::from_millis(5);
        assert!(lateness(past) >= Duration::from_millis(5));
    }
}
