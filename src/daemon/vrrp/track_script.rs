//! `vrrp_script` tracking: each script run every `interval` as a child, its results
//! filtered by rise/fall into the status the tracking instances see.

use std::time::{Duration, Instant};

use log::{debug, info, warn};
use mio::Registry;

use super::scripts::{spawn, Argv, Running, CHILD_SLOT_RETRY};
use crate::script::ChildEnd;
use crate::vrrp::track::{ScriptFilter, TrackStatus};

/// One `[vrrp_script]`: run every `interval`, result filtered by rise/fall,
/// fed to every instance that tracks it.
pub struct TrackedScript {
    /// Section name.
    pub name: String,
    argv: Argv,
    user: Option<(u32, u32)>,
    interval: Duration,
    timeout: Duration,
    filter: ScriptFilter,
    next_run: Option<Instant>,
    running: Option<Running>,
    /// (instance index, n of `Instance::track_id(n)`) of every tracker.
    pub subscribers: Vec<(usize, usize)>,
    /// The timer carrying `poll_at`.
    pub timer: Option<crate::io::timers::TimerId>,
    /// Runs finished.
    pub runs: u64,
    /// The last run's end.
    pub last: Option<ChildEnd>,
    /// Runs that had to wait for a child slot (`limits::MAX_CHILDREN`).
    pub waits: u64,
}

impl TrackedScript {
    /// A script with its rise/fall, starting up (keepalived's default), or
    /// down with `init_fail` (then `rise` successes bring it up).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        argv: Argv,
        user: Option<(u32, u32)>,
        interval: Duration,
        timeout: Duration,
        rise: u32,
        fall: u32,
        init_fail: bool,
    ) -> TrackedScript {
        let clamp = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
        TrackedScript {
            name,
            argv,
            user,
            interval,
            timeout,
            filter: ScriptFilter::new(clamp(rise), clamp(fall), !init_fail),
            next_run: None,
            running: None,
            subscribers: Vec::new(),
            timer: None,
            runs: 0,
            last: None,
            waits: 0,
        }
    }

    /// The filtered status.
    pub fn status(&self) -> TrackStatus {
        self.filter.status()
    }

    /// First run at `now` (only scripts that someone tracks run at all).
    pub fn start(&mut self, now: Instant) {
        if !self.subscribers.is_empty() {
            self.next_run = Some(now);
        }
    }

    /// Stops scheduling (a running child is killed when dropped).
    pub fn stop(&mut self) {
        self.next_run = None;
        self.running = None;
    }

    /// When to call `on_event` next.
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        match &self.running {
            Some(r) => r.child.poll_at(now),
            None => self.next_run,
        }
    }

    /// Collects an ended run and starts a due one. Returns the new filtered
    /// status when it changed.
    pub fn on_event(
        &mut self,
        now: Instant,
        registry: Option<&Registry>,
        slot: usize,
    ) -> Option<TrackStatus> {
        let mut changed = None;
        if let Some(r) = &mut self.running {
            if let Some(end) = r.step(now, registry) {
                self.running = None;
                self.runs += 1;
                self.last = Some(end);
                if end != ChildEnd::Exited(0) {
                    debug!("vrrp_script {}: {end:?}", self.name);
                }
                changed = self.filter.record(end == ChildEnd::Exited(0));
            }
        }
        if self.running.is_none() && self.next_run.is_some_and(|t| t <= now) {
            // The interval counts from the start of a run, like keepalived.
            self.next_run = Some(now + self.interval);
            match spawn(&self.argv, self.user, self.timeout, now, registry, slot) {
                Ok(r) => self.running = Some(r),
                Err(e) if crate::io::child::is_full(&e) => {
                    // Not a failure of the script: run it as soon as a slot frees.
                    self.waits += 1;
                    if self.waits.is_power_of_two() {
                        warn!("vrrp_script {}: {e}; the run waits", self.name);
                    }
                    self.next_run = Some(now + CHILD_SLOT_RETRY);
                }
                Err(e) => {
                    warn!("vrrp_script {}: cannot run: {e}", self.name);
                    self.runs += 1;
                    self.last = Some(ChildEnd::SpawnFailed);
                    changed = self.filter.record(false).or(changed);
                }
            }
        }
        if let Some(status) = changed {
            info!(
                "VRRP_Script({}) {}",
                self.name,
                if status == TrackStatus::Up {
                    "succeeded"
                } else {
                    "failed"
                }
            );
        }
        changed
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;
    use crate::daemon::vrrp::scripts::argv_of as os;

    /// A `vrrp_script` run every 10 ms, 5 s timeout.
    fn fast_script(argv: Argv, rise: u32, fall: u32, init_fail: bool) -> TrackedScript {
        TrackedScript::new(
            "chk".into(),
            argv,
            None,
            Duration::from_millis(10),
            Duration::from_secs(5),
            rise,
            fall,
            init_fail,
        )
    }

    /// Runs `s` three times (10 s at most); the status changes, with the run
    /// count at each.
    fn three_runs(s: &mut TrackedScript) -> Vec<(u64, TrackStatus)> {
        let mut changes = Vec::new();
        let limit = Instant::now() + Duration::from_secs(10);
        while s.runs < 3 && Instant::now() < limit {
            if let Some(c) = s.on_event(Instant::now(), None, 0) {
                changes.push((s.runs, c));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        changes
    }

    #[test]
    fn script_runs_and_filters_with_fall() {
        let argv = os(&["/bin/sh", "-c", "exit 1"]);
        let mut s = fast_script(argv, 1, 2, false);
        s.subscribers.push((0, 0));
        let t0 = Instant::now();
        s.start(t0);
        let changes = three_runs(&mut s);
        // Down only after the second failure (fall 2).
        assert_eq!(changes, vec![(2, TrackStatus::Down)]);
        assert_eq!(s.last, Some(ChildEnd::Exited(1)));
    }

    #[test]
    fn init_fail_starts_down_and_needs_rise_successes() {
        let argv = os(&["/bin/sh", "-c", "exit 0"]);
        let mut s = fast_script(argv, 2, 1, true);
        assert_eq!(s.status(), TrackStatus::Down);
        s.subscribers.push((0, 0));
        s.start(Instant::now());
        let changes = three_runs(&mut s);
        // Up only after the second success (rise 2), as keepalived's result 0.
        assert_eq!(changes, vec![(2, TrackStatus::Up)]);
    }
}
