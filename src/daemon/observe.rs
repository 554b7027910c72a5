//! Builds the status model (`crate::status`) from the daemon's parts, and
//! counts the VRRP transitions it shows. Rendering is the model's business.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use log::warn;

use super::Daemon;
use crate::status::{Control, Process, Reload, Rtnetlink, Status};
use crate::vrrp::instance::NotifyState;

/// Become-master and release-master counts of one instance.
#[derive(Debug, Clone, Copy, Default)]
pub struct Transitions {
    /// Times it became MASTER.
    pub became_master: u64,
    /// Times it left MASTER.
    pub released_master: u64,
    /// The state of its latest notification.
    last: Option<NotifyState>,
}

impl Transitions {
    /// Counts one state notification.
    pub fn note(&mut self, state: NotifyState) {
        if state == NotifyState::Master && self.last != Some(NotifyState::Master) {
            self.became_master += 1;
        }
        if state != NotifyState::Master && self.last == Some(NotifyState::Master) {
            self.released_master += 1;
        }
        self.last = Some(state);
    }
}

/// Seconds since the Unix epoch of a wall-clock time.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn process() -> Process {
    let or_zero = |r: std::io::Result<u64>, what: &str| {
        r.unwrap_or_else(|e| {
            warn!("status: reading {what}: {e}");
            0
        })
    };
    Process {
        rss_bytes: or_zero(crate::io::procstat::rss_bytes(), "the resident set size"),
        open_fds: or_zero(crate::io::procstat::open_fds(), "the open descriptors"),
        max_fds: or_zero(crate::io::procstat::max_fds(), "RLIMIT_NOFILE"),
    }
}

impl Daemon {
    /// The whole state, now (dumps the kernel table).
    pub(super) fn model(&mut self, now: Instant) -> Status {
        self.model_with(now, true)
    }

    /// The whole state; with `read_now` false the IPVS part comes from the
    /// kernel read done in slices before (`Lvs::read_begin`, `read_step`).
    pub(super) fn model_with(&mut self, now: Instant, read_now: bool) -> Status {
        let mut s = Status {
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_s: now.duration_since(self.started).as_secs(),
            start_time_unix: unix_seconds(self.started_wall),
            config_path: self.config_path.display().to_string(),
            reload: Reload {
                count: self.reloads,
                rejected: self.failed_reloads,
                last_success_unix: unix_seconds(self.last_load_wall),
                last_result: self.last_reload.clone(),
            },
            yields: self.yields,
            ipvs: self.lvs.as_mut().map(|l| {
                if read_now {
                    l.model()
                } else {
                    l.model_from_read()
                }
            }),
            checks: self.checks.model(),
            process: process(),
            rtnetlink: Rtnetlink {
                overflows: self.rtnl_overflows,
                redumps: self.rtnl_resyncs,
                pending_requests: self.rtnl.pending() as u64,
                untracked: self.rtnl.untracked,
                undecodable: self.rtnl_bad,
            },
            control: {
                let c = self.control.counters;
                Control {
                    clients: self.control.clients() as u64,
                    accepted: c.accepted,
                    refused: c.refused,
                    evicted: c.evicted,
                    timed_out: c.timed_out,
                    turned_away: c.full,
                }
            },
            log_lines_lost: crate::io::log::dropped(),
            announce: self.announce.as_ref().map_or_else(Vec::new, |a| a.model()),
            ..Status::default()
        };
        self.vrrp.model(&mut s);
        for (v, t) in s.vrrp.iter_mut().zip(&self.transitions) {
            v.became_master = t.became_master;
            v.released_master = t.released_master;
        }
        s
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn transitions_count_entering_and_leaving_master() {
        let mut t = Transitions::default();
        for s in [
            NotifyState::Backup,
            NotifyState::Master,
            NotifyState::Master,
            NotifyState::Backup,
            NotifyState::Master,
            NotifyState::Fault,
        ] {
            t.note(s);
        }
        assert_eq!((t.became_master, t.released_master), (2, 2));
    }
}
