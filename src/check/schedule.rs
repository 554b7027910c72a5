//! Per-checker scheduling (delay_loop, retry, delay_before_retry, warmup, alpha) and the per-real-server verdict.
//!
//! # What keepalived 2.2.7 does, and so what this does
//!
//! Read from keepalived's `check_tcp.c` (`tcp_epilog`) and `check_api.c`
//! (`register_checkers_thread`); the other kinds follow the same rule. After each
//! probe ends (at time `end`):
//!
//! - success, or a failure with `retry_it >= retry`: the next probe starts at
//!   `end + delay_loop` and `retry_it` returns to 0. A success makes the checker UP
//!   (if it was not); a failure here makes it DOWN (if it was UP, or this was the
//!   very first probe).
//! - otherwise (a failure with `retry_it < retry`): the next probe starts at
//!   `end + delay_before_retry` and `retry_it += 1`. **This holds in DOWN state
//!   too**: a DOWN checker is not polled every `delay_loop` but in bursts of
//!   `retry` probes `delay_before_retry` apart, then one `delay_loop` gap.
//! - the first probe starts at `start + 1 s + warmup * r` with `r` uniform in
//!   `[0, 1]` (keepalived's `BOOTSTRAP_DELAY + warmup * rand() / RAND_MAX`);
//!   `warmup` defaults to `delay_loop`.
//! - without `alpha` a checker starts UP (its server is in the table from the
//!   start); with `alpha` it starts DOWN and joins on its first success.
//!
//! # SEED.md's figures (connect_timeout 3, retry 3, delay_before_retry 3, delay_loop 6)
//!
//! A server is removed after `1 + retry` = 4 failed probes: the first failure,
//! then 3 retries 3 s apart. Let `c` be the start of the first probe after the
//! server stops; `0 < c - stop <= 6` (one delay_loop; a probe period is
//! `delay_loop` + the probe's own duration, about 0 for a live server).
//! - stopped service, host alive (connection refused at once, as with a stopped
//!   nginx): removal at `c + 3 * 3` = **9 s (best) to 15 s (worst) after the stop**.
//!   The article's "about 9 s" is this best case.
//! - silent host (each probe waits the whole connect_timeout): removal at
//!   `c + 4 * 3 + 3 * 3` = **21 s to 27 s after the stop**.
//!
//! Re-adding: once DOWN at time `d` the probes run at `d + 6`, then `+3, +3, +3`,
//! then `+6, +3, +3, +3`, ... (a 15 s cycle of 4 probes, refused case). A server
//! that comes back is re-added at the next probe: **at most 6 s later** (when it
//! returns just after the delay_loop gap opened) and **at most 3 s later when it
//! returns in a retry burst**; averaged over the cycle, 2.1 s. That is the
//! article's "re-added after about 3 s".

use core::time::Duration;
use std::time::Instant;

use heapless::Deque;

use crate::limits::MAX_CHECKERS_PER_RS;

/// keepalived's BOOTSTRAP_DELAY: the first probe never starts before this.
pub const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// The timing of one checker, resolved through virtual server -> real
/// server -> checker by the config layer (one type for both layers).
pub use crate::config::CheckTiming;

/// The first probe's offset from start for a random value `random` (uniform
/// over u32): somewhere in BOOTSTRAP_DELAY ..= BOOTSTRAP_DELAY + warmup.
fn first_probe_offset(timing: &CheckTiming, random: u32) -> Duration {
    let nanos = timing.warmup.as_nanos() * u128::from(random) / u128::from(u32::MAX);
    let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
    BOOTSTRAP_DELAY + Duration::from_nanos(nanos)
}

/// What a checker's schedule asks the daemon to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleAction {
    /// Start one probe now; report its end with `handle_probe_result`.
    StartProbe,
    /// The checker's verdict changed: `true` = UP, `false` = DOWN.
    Verdict(bool),
}

/// The scheduling state machine of one checker (sans-IO; time comes in as `now`).
#[derive(Debug, Clone)]
pub struct CheckerSchedule {
    timing: CheckTiming,
    up: bool,
    has_run: bool,
    retry_it: u32,
    probe_running: bool,
    next_probe_at: Instant,
    actions: Deque<ScheduleAction, 4>,
}

impl CheckerSchedule {
    /// A checker started at `start`; `random` (uniform over u32) places the
    /// first probe in the warmup window. `starts_down` (keepalived `alpha`, or
    /// a server known dead before a reload) starts it DOWN: it joins on its
    /// first success.
    pub fn new(timing: CheckTiming, starts_down: bool, start: Instant, random: u32) -> Self {
        CheckerSchedule {
            timing,
            up: !starts_down,
            has_run: false,
            retry_it: 0,
            probe_running: false,
            next_probe_at: start + first_probe_offset(&timing, random),
            actions: Deque::new(),
        }
    }

    /// The timing this schedule runs with.
    pub fn timing(&self) -> &CheckTiming {
        &self.timing
    }

    /// Whether the checker's verdict is UP.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Whether a probe is running (started and not yet reported).
    pub fn probe_running(&self) -> bool {
        self.probe_running
    }

    /// Failed probes counted since the last success or verdict change.
    pub fn retries_used(&self) -> u32 {
        self.retry_it
    }

    /// When `handle_timeout` next has something to do; `None` while a probe runs.
    pub fn poll_at(&self) -> Option<Instant> {
        if self.probe_running {
            None
        } else {
            Some(self.next_probe_at)
        }
    }

    /// Starts a probe when one is due. Extra calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.probe_running && now >= self.next_probe_at {
            self.probe_running = true;
            self.push(ScheduleAction::StartProbe);
        }
    }

    /// Puts back a probe that could not start (the in-flight pool was full): it starts again at `at`.
    pub fn defer_probe(&mut self, at: Instant) {
        self.probe_running = false;
        self.next_probe_at = at;
    }

    /// The probe started by the last `StartProbe` ended at `now` with `success`.
    pub fn handle_probe_result(&mut self, now: Instant, success: bool) {
        if !self.probe_running {
            return;
        }
        self.probe_running = false;
        let delay = if success || self.retry_it >= self.timing.retry {
            self.retry_it = 0;
            if success && (!self.up || !self.has_run) {
                self.set_verdict(true);
            } else if !success && (self.up || !self.has_run) {
                self.set_verdict(false);
            }
            self.timing.delay_loop
        } else {
            self.retry_it += 1;
            self.timing.delay_before_retry
        };
        self.has_run = true;
        self.next_probe_at = now + delay;
    }

    /// The next action for the daemon, if any.
    pub fn poll_action(&mut self) -> Option<ScheduleAction> {
        self.actions.pop_front()
    }

    fn set_verdict(&mut self, up: bool) {
        let changed = self.up != up;
        self.up = up;
        if changed {
            self.push(ScheduleAction::Verdict(up));
        }
    }

    fn push(&mut self, action: ScheduleAction) {
        // At most one StartProbe and one Verdict are outstanding between polls;
        // if the daemon never polls, the oldest entry goes (never a panic).
        if self.actions.is_full() {
            let _ = self.actions.pop_front();
        }
        let _ = self.actions.push_back(action);
    }
}

/// One checker's contribution to its real server's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckerHealth {
    /// The checker's verdict.
    pub up: bool,
    /// A MISC_CHECK with misc_dynamic: the weight its last exit code asked for.
    pub dynamic_weight: Option<u32>,
    /// A FILE_CHECK: what its file adds to the weight (0 while down).
    pub weight_delta: i32,
}

/// Error: a real server already has `MAX_CHECKERS_PER_RS` checkers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyCheckers;

impl core::fmt::Display for TooManyCheckers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "real server: more than MAX_CHECKERS_PER_RS ({MAX_CHECKERS_PER_RS}) checkers"
        )
    }
}

impl core::error::Error for TooManyCheckers {}

/// The verdict of one real server: alive only when all its checkers are UP.
#[derive(Debug, Clone, Default)]
pub struct ServerHealth {
    checkers: heapless::Vec<CheckerHealth, MAX_CHECKERS_PER_RS>,
}

impl ServerHealth {
    /// A server with no checker yet (alive: keepalived keeps an unchecked server).
    pub fn new() -> Self {
        ServerHealth::default()
    }

    /// Adds a checker with its initial verdict; returns its index.
    pub fn add_checker(&mut self, up: bool) -> Result<usize, TooManyCheckers> {
        let index = self.checkers.len();
        self.checkers
            .push(CheckerHealth {
                up,
                dynamic_weight: None,
                weight_delta: 0,
            })
            .map_err(|_| TooManyCheckers)?;
        Ok(index)
    }

    /// Records checker `index`'s verdict; returns whether the server's aliveness changed.
    pub fn set_checker(&mut self, index: usize, up: bool) -> bool {
        let before = self.alive();
        if let Some(c) = self.checkers.get_mut(index) {
            c.up = up;
        }
        before != self.alive()
    }

    /// Records a misc_dynamic weight (exit code - 2) reported by checker `index`.
    pub fn set_dynamic_weight(&mut self, index: usize, weight: Option<u32>) {
        if let Some(c) = self.checkers.get_mut(index) {
            c.dynamic_weight = weight;
        }
    }

    /// Records a FILE_CHECK weight change reported by checker `index`.
    pub fn set_weight_delta(&mut self, index: usize, delta: i32) {
        if let Some(c) = self.checkers.get_mut(index) {
            c.weight_delta = delta;
        }
    }

    /// Alive when every checker is UP.
    pub fn alive(&self) -> bool {
        self.checkers.iter().all(|c| c.up)
    }

    /// The weight to program: the last dynamic weight reported, else
    /// `configured`, plus the FILE_CHECK changes, within `0..=i32::MAX`
    /// (keepalived's `real_weight`).
    pub fn weight(&self, configured: u32) -> u32 {
        let base = self
            .checkers
            .iter()
            .rev()
            .find_map(|c| c.dynamic_weight)
            .unwrap_or(configured);
        let delta: i64 = self
            .checkers
            .iter()
            .map(|c| i64::from(c.weight_delta))
            .sum();
        (i64::from(base) + delta).clamp(0, i64::from(i32::MAX)) as u32
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn seed_timing() -> CheckTiming {
        CheckTiming {
            delay_loop: secs(6.0),
            connect_timeout: secs(3.0),
            retry: 3,
            delay_before_retry: secs(3.0),
            warmup: secs(6.0),
        }
    }

    /// How the simulated server answers a probe.
    #[derive(Clone, Copy)]
    enum Down {
        /// RST at once (service stopped, host alive).
        Refused,
        /// No answer: the probe lasts the whole connect_timeout.
        Silent,
    }

    /// Runs one checker in virtual time until `end`; `server_up(t)` says whether the
    /// server answers at offset `t`. Returns the verdict changes as (offset, up).
    fn simulate(
        (timing, starts_down): (CheckTiming, bool),
        random: u32,
        down: Down,
        server_up: impl Fn(Duration) -> bool,
        end: Duration,
    ) -> Vec<(Duration, bool)> {
        let base = Instant::now();
        let mut s = CheckerSchedule::new(timing, starts_down, base, random);
        let mut changes = Vec::new();
        let mut now = base;
        while now - base < end {
            let Some(at) = s.poll_at() else {
                panic!("no deadline while idle")
            };
            now = at;
            s.handle_timeout(now);
            assert_eq!(s.poll_action(), Some(ScheduleAction::StartProbe));
            let start = now - base;
            let (ok, took) = if server_up(start) {
                (true, Duration::ZERO)
            } else {
                match down {
                    Down::Refused => (false, Duration::ZERO),
                    Down::Silent => (false, timing.connect_timeout),
                }
            };
            now += took;
            s.handle_probe_result(now, ok);
            while let Some(a) = s.poll_action() {
                if let ScheduleAction::Verdict(up) = a {
                    changes.push((now - base, up));
                }
            }
        }
        changes
    }

    fn close(a: Duration, b: f64) -> bool {
        (a.as_secs_f64() - b).abs() < 1e-6
    }

    #[test]
    fn first_probe_is_spread_over_warmup() {
        let t = seed_timing();
        assert_eq!(first_probe_offset(&t, 0), secs(1.0));
        assert_eq!(first_probe_offset(&t, u32::MAX), secs(7.0));
        let base = Instant::now();
        let s = CheckerSchedule::new(t, false, base, u32::MAX / 2);
        let at = s.poll_at().unwrap() - base;
        assert!(at > secs(3.99) && at < secs(4.01), "{at:?}");
    }

    #[test]
    fn seed_refused_removal_best_case_is_9s() {
        // First probe at 1 s (random 0), then every 6 s: 1, 7, 13, 19 ...
        // Stop just before the probe at 19 s: failures at 19, 22, 25, 28 -> DOWN at 28.
        let stop = 18.999;
        let ch = simulate(
            (seed_timing(), false),
            0,
            Down::Refused,
            |t| t.as_secs_f64() < stop,
            secs(40.0),
        );
        assert_eq!(ch.len(), 1);
        assert!(!ch[0].1);
        assert!(close(ch[0].0, 28.0), "{:?}", ch);
        assert!((ch[0].0.as_secs_f64() - stop - 9.0).abs() < 0.01);
    }

    #[test]
    fn seed_refused_removal_worst_case_is_15s() {
        // Stop just after the probe at 13 s: next probe at 19 -> DOWN at 28, 15 s later.
        let stop = 13.001;
        let ch = simulate(
            (seed_timing(), false),
            0,
            Down::Refused,
            |t| t.as_secs_f64() < stop,
            secs(40.0),
        );
        assert!(close(ch[0].0, 28.0), "{:?}", ch);
        assert!((ch[0].0.as_secs_f64() - stop - 15.0).abs() < 0.01);
    }

    #[test]
    fn seed_silent_removal_is_21_to_27s() {
        // Probes of 3 s each: 19-22 fail, 25-28, 31-34, 37-40 -> DOWN at 40.
        let ch = simulate(
            (seed_timing(), false),
            0,
            Down::Silent,
            |t| t.as_secs_f64() < 18.999,
            secs(50.0),
        );
        assert!(close(ch[0].0, 40.0), "{:?}", ch);
        let ch = simulate(
            (seed_timing(), false),
            0,
            Down::Silent,
            |t| t.as_secs_f64() < 13.001,
            secs(50.0),
        );
        assert!((ch[0].0.as_secs_f64() - 13.001 - 27.0).abs() < 0.01);
    }

    #[test]
    fn seed_readd_cycle_is_6_3_3_3() {
        // DOWN at 28 (refused). Probes while DOWN: 34, 37, 40, 43, then 49, 52, 55, 58, 64 ...
        for (back, readd) in [
            (28.5, 34.0),
            (33.9, 34.0),
            (34.1, 37.0),
            (40.5, 43.0),
            (43.1, 49.0),
            (48.0, 49.0),
            (50.0, 52.0),
        ] {
            let ch = simulate(
                (seed_timing(), false),
                0,
                Down::Refused,
                |t| {
                    let t = t.as_secs_f64();
                    !(18.999..back).contains(&t)
                },
                secs(70.0),
            );
            assert_eq!(ch.len(), 2, "{ch:?}");
            assert!(close(ch[0].0, 28.0));
            assert!(ch[1].1);
            assert!(close(ch[1].0, readd), "back {back}: {ch:?}");
        }
    }

    #[test]
    fn seed_readd_wait_worst_6s_mean_2_1s() {
        // Sweep the return time over one whole 15 s cycle in 10 ms steps.
        let mut worst: f64 = 0.0;
        let mut total = 0.0;
        let mut n = 0.0;
        let mut back = 28.005;
        while back < 43.0 {
            let ch = simulate(
                (seed_timing(), false),
                0,
                Down::Refused,
                |t| !(18.999..back).contains(&t.as_secs_f64()),
                secs(70.0),
            );
            let wait = ch[1].0.as_secs_f64() - back;
            worst = worst.max(wait);
            total += wait;
            n += 1.0;
            back += 0.01;
        }
        assert!(worst > 5.98 && worst <= 6.0, "{worst}");
        let mean = total / n;
        assert!((mean - 2.1).abs() < 0.02, "{mean}");
    }

    #[test]
    fn alpha_starts_down_and_joins_on_first_success() {
        let t = (seed_timing(), true);
        let ch = simulate(t, 0, Down::Refused, |_| true, secs(10.0));
        assert_eq!(ch, vec![(secs(1.0), true)]);
    }

    #[test]
    fn alpha_first_failure_goes_through_retries_then_stays_down() {
        let t = (seed_timing(), true);
        let ch = simulate(t, 0, Down::Refused, |_| false, secs(60.0));
        assert!(ch.is_empty(), "already DOWN: no change to report");
    }

    #[test]
    fn without_alpha_starts_up() {
        let base = Instant::now();
        let s = CheckerSchedule::new(seed_timing(), false, base, 0);
        assert!(s.is_up());
    }

    #[test]
    fn retry_zero_removes_on_first_failure() {
        let t = CheckTiming {
            retry: 0,
            ..seed_timing()
        };
        let ch = simulate(
            (t, false),
            0,
            Down::Refused,
            |t| t.as_secs_f64() < 6.5,
            secs(20.0),
        );
        assert_eq!(ch, vec![(secs(7.0), false)]);
    }

    #[test]
    fn no_probe_while_running_and_extra_timeouts_harmless() {
        let base = Instant::now();
        let mut s = CheckerSchedule::new(seed_timing(), false, base, 0);
        s.handle_timeout(base);
        assert_eq!(s.poll_action(), None);
        s.handle_timeout(base + secs(1.0));
        s.handle_timeout(base + secs(1.5));
        assert_eq!(s.poll_action(), Some(ScheduleAction::StartProbe));
        assert_eq!(s.poll_action(), None);
        assert_eq!(s.poll_at(), None);
        s.handle_probe_result(base + secs(2.0), true);
        s.handle_probe_result(base + secs(2.0), false); // stray: ignored
        assert!(s.is_up());
        assert_eq!(s.poll_at(), Some(base + secs(8.0)));
    }

    #[test]
    fn server_alive_only_when_all_checkers_up() {
        let mut h = ServerHealth::new();
        assert!(h.alive());
        let a = h.add_checker(true).unwrap();
        let b = h.add_checker(true).unwrap();
        assert!(h.alive());
        assert!(h.set_checker(b, false));
        assert!(!h.alive());
        assert!(!h.set_checker(a, false));
        assert!(!h.set_checker(b, true));
        assert!(h.set_checker(a, true));
        for _ in 2..MAX_CHECKERS_PER_RS {
            h.add_checker(true).unwrap();
        }
        assert_eq!(h.add_checker(true), Err(TooManyCheckers));
    }

    #[test]
    fn file_check_deltas_add_to_the_weight_within_ipvs_range() {
        let mut h = ServerHealth::new();
        let a = h.add_checker(true).unwrap();
        let b = h.add_checker(true).unwrap();
        h.set_weight_delta(a, -3);
        assert_eq!(h.weight(10), 7);
        h.set_weight_delta(b, -30);
        assert_eq!(h.weight(10), 0);
        h.set_weight_delta(b, i32::MAX);
        assert_eq!(h.weight(10), i32::MAX as u32);
        h.set_dynamic_weight(a, Some(100));
        h.set_weight_delta(b, 0);
        assert_eq!(h.weight(10), 97);
    }

    #[test]
    fn misc_dynamic_weight_overrides_configured() {
        let mut h = ServerHealth::new();
        let a = h.add_checker(true).unwrap();
        assert_eq!(h.weight(1), 1);
        h.set_dynamic_weight(a, Some(198));
        assert_eq!(h.weight(1), 198);
        h.set_dynamic_weight(a, None);
        assert_eq!(h.weight(1), 1);
    }
}
