//! What VRRP reports: the status model, the routes line, and the lookups
//! the control commands and the loop ask for.

use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use super::{Router, Vrrp};
use crate::limits::VRRP_PACKETS_PER_WAKEUP;
use crate::vrrp::instance::State;
use crate::vrrp::receive::DropReason;
use crate::vrrp::track::TrackStatus;

impl Vrrp {
    /// The VRRP part of the status model.
    pub fn model(&self, out: &mut crate::status::Status) {
        use crate::status::{Notifier as N, Receiver as R, Script as S, VrrpInstance as V};
        let drops = |counts: &[u64; DropReason::COUNT]| -> Vec<(&'static str, u64)> {
            DropReason::ALL
                .iter()
                .map(|r| (r.as_str(), counts[r.index()]))
                .collect()
        };
        for Router {
            machine: inst, io, ..
        } in &self.routers
        {
            let p = inst.params();
            out.vrrp.push(V {
                name: io.name.clone(),
                vrid: p.vrid,
                interface: io.interface.clone(),
                state: inst.state().as_str(),
                priority: inst.effective_priority(),
                configured_priority: p.priority,
                held: inst.is_held(),
                vips: io.vips.iter().map(|h| h.form.addr.to_string()).collect(),
                adverts_sent: io.sent,
                adverts_received: io.received,
                became_master: 0,
                released_master: 0,
                drops: drops(&io.drops),
                vip_mismatches: io.vip_mismatches,
                answers_limited: inst.answers_limited(),
                notify_coalesced: inst.notify_coalesced(),
                advert_lateness: io.send_lateness.to_histogram(),
            });
        }
        let groups = self.groups.iter().map(|g| &g.notifier);
        let notifiers = self.routers.iter().map(|r| &r.notifier).chain(groups);
        for n in notifiers.chain(std::iter::once(&self.lvs_notifier)) {
            if n.runs + n.dropped > 0 || n.busy() {
                out.notifiers.push(N {
                    label: n.label.clone(),
                    runs: n.runs,
                    failures: n.failures,
                    dropped: n.dropped,
                    busy: n.busy(),
                });
            }
        }
        for sc in &self.scripts {
            out.scripts.push(S {
                name: sc.name.clone(),
                up: sc.status() == TrackStatus::Up,
                runs: sc.runs,
                last: format!("{:?}", sc.last),
            });
        }
        for f in &self.files {
            out.track_files.push((f.path.clone(), i64::from(f.value)));
        }
        if let Some(w) = &self.procs {
            for (d, name) in w.names.iter().enumerate() {
                out.track_processes.push(crate::status::TrackedProcess {
                    name: name.clone(),
                    count: w.tracker.count(d),
                    up: w.tracker.is_up(d),
                    events: w.events_used(),
                });
            }
        }
        out.notify_fifo = self.fifo.as_ref().map(|f| (f.written, f.dropped));
        for r in &self.receivers {
            out.receivers.push(R {
                interface: r.interface.clone(),
                ipv6: r.ipv6,
                drops: drops(&r.drops),
                read_budget: VRRP_PACKETS_PER_WAKEUP as u64,
                budget_reached: r.budget_reached,
            });
        }
    }

    /// The status line on routes and rules (None when none are configured).
    pub fn routes_line(&self) -> Option<String> {
        if !self.has_routes() {
            return None;
        }
        let s = &self.statics;
        let (routes, rules) = self.holding().fold((0, 0), |(a, b), (_, io)| {
            (a + io.routes.len(), b + io.rules.len())
        });
        Some(format!(
            "routes: static {} route(s) {} rule(s) {} address(es) {}; virtual {routes} route(s) {rules} rule(s) held; put back {}; refused by the kernel {}",
            s.routes.len(),
            s.rules.len(),
            s.addresses.len(),
            if s.installed { "installed" } else { "not installed" },
            self.route_repairs,
            self.route_refusals.get()
        ))
    }

    /// Whether any route or rule is configured (then their deletions are watched).
    pub fn has_routes(&self) -> bool {
        !self.statics.is_empty()
            || self
                .routers
                .iter()
                .any(|r| !r.io.routes.is_empty() || !r.io.rules.is_empty())
    }

    /// Finds an instance by name.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.routers.iter().position(|r| r.io.name == name)
    }

    /// How many instances there are.
    pub fn len(&self) -> usize {
        self.routers.len()
    }

    /// Whether there is no instance.
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty()
    }

    /// The name of instance `i`.
    pub fn name(&self, i: usize) -> Option<&str> {
        self.routers.get(i).map(|r| r.io.name.as_str())
    }

    /// The instances' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.routers.iter().map(|r| r.io.name.as_str())
    }

    /// Each instance's name and state, in order.
    pub fn states(&self) -> impl Iterator<Item = (&str, State)> {
        self.routers
            .iter()
            .map(|r| (r.io.name.as_str(), r.machine.state()))
    }

    /// The receive sockets, to register with the poll as `Source::Vrrp(n)`.
    pub fn receiver_fds(&self) -> impl Iterator<Item = (usize, RawFd)> + '_ {
        self.receivers
            .iter()
            .enumerate()
            .map(|(n, r)| (n, r.socket.as_raw_fd()))
    }

    /// The earliest deadline of any instance (adverts, master-down, preempt delay).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.routers
            .iter()
            .filter_map(|r| r.machine.poll_at())
            .min()
    }

    /// The process-events socket, to register with the poll.
    pub fn proc_events_fd(&self) -> Option<RawFd> {
        self.procs
            .as_ref()
            .and_then(|w| w.socket())
            .map(|s| s.as_raw_fd())
    }
}
