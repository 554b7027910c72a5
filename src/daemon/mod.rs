//! The running daemon: owns the event loop, routes events between `io` and the
//! pure state machines, and carries out the actions they return. No protocol
//! logic lives here.
//!
//! The daemon reads time only through the loop's clock (the wake-up's `now`)
//! and `io::stopwatch` for measurements; clippy's `disallowed_methods`
//! (clippy.toml) enforces it. Files are read and written through `io`
//! (`io::files`, `io::config_file`); only tests are allowed the clock and files.
#![deny(clippy::disallowed_methods)]

pub mod announce;
pub mod checks;
mod commands;
pub mod lateness;
pub mod lvs;
mod metrics;
pub mod observe;
mod reload;
mod rtnl;
mod setup;
pub mod vrrp;

use metrics::MetricsRender;
use rtnl::Resync;
pub use setup::DaemonError;
use setup::{load, log_settings, setup_err};

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::io::stopwatch::Stopwatch;

use log::{debug, error, info, warn};

use crate::command::{self, Request};
use crate::config::Config;
use crate::io::control::ControlServer;
use crate::io::event_loop::{Context, EventLoop, Handler, MonotonicClock, Readiness, Source};
use crate::io::metrics::{MetricsConn, MetricsListener};
use crate::io::netlink::{RtnlEvents, RtnlInput};
use crate::io::signal::{SignalEvent, Signals};
use crate::io::timers::TimerId;
use crate::limits::MAX_TIMERS;

/// What a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// VRRP instance `n` asked to run (`poll_at`).
    Vrrp(usize),
    /// VRRP receive socket `n` has datagrams its last read budget left.
    VrrpReceive(usize),
    /// The IPVS reconcile is due.
    Lvs,
    /// Health-check probe `n` needs attention.
    Check(usize),
    /// VRRP child slot `n` (a `vrrp_script` or a notifier) needs attention.
    VrrpChild(usize),
    /// The VRRP track files are due to be read.
    VrrpFiles,
    /// The `vrrp_track_process` watcher (leftover events, delays, rescans).
    VrrpProcs,
    /// Work put off until after a VRRP timer (status answers, a reload).
    Deferred,
    /// The earliest idle deadline of the metrics connections.
    MetricsIdle,
    /// A control client may have idled too long (or accepting goes on).
    Control,
    /// rtnetlink: more messages wait beyond the budget, or a request's ack is due.
    Netlink,
}

/// Work a control or metrics connection waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// `status` on control connection n.
    Text(usize),
    /// `status json` on control connection n.
    Json(usize),
    /// `reload` on control connection n (answered with the result).
    Reload(usize),
    /// `GET /metrics` on metrics connection n.
    Metrics(usize, bool),
}

/// Check timers are rounded up to this grain so that the checks due within
/// it share one wake-up (VRRP timers are exact). At 10,000 checks a second
/// each wake-up (epoll, timerfd) costs more than the checks it serves.
const CHECK_TIMER_GRAIN: Duration = Duration::from_millis(2);

/// `t` rounded up to the next multiple of `grain` counted from `epoch`.
fn coalesce(t: Instant, epoch: Instant, grain: Duration) -> Instant {
    let Some(since) = t.checked_duration_since(epoch) else {
        return t;
    };
    let g = grain.as_nanos().max(1);
    let rest = since.as_nanos() % g;
    if rest == 0 {
        return t;
    }
    let add = u64::try_from(g - rest).unwrap_or(0);
    t + Duration::from_nanos(add)
}

/// The cost assumed for heavy work before it was measured once: it runs
/// right after a VRRP timer, where the window is widest. The first scrape of
/// a big table must not start its model 1 ms before an advert (seen under
/// SCHED_FIFO: the first scrapes made the only late adverts).
const FIRST_COST: Duration = Duration::from_millis(50);
/// Slack kept before a VRRP deadline, on top of twice the expected cost.
const YIELD_MARGIN: Duration = Duration::from_millis(2);
/// How long after the VRRP deadline put-off work runs.
const YIELD_AFTER: Duration = Duration::from_micros(300);

/// Heavy work (an IPVS reconcile, a status answer for a big table, a reload)
/// that might not end before the next VRRP timer waits until just after it,
/// so adverts and the master-down timer never queue behind it. `cost` is what
/// the same work took last time. Put off at most once by the callers: when
/// the advert interval is shorter than the work, it runs right after an
/// advert, where the window is widest.
fn yield_to_vrrp(now: Instant, next_vrrp: Option<Instant>, cost: Duration) -> Option<Instant> {
    let next = next_vrrp?;
    if next >= now + cost.saturating_mul(2) + YIELD_MARGIN {
        return None;
    }
    Some(next.max(now) + YIELD_AFTER)
}

/// Options of `lvsd run`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The configuration file.
    pub config_path: PathBuf,
    /// Keep the IPVS table in memory instead of the kernel (testing, rehearsal).
    pub dry_run: bool,
}

struct Daemon {
    config_path: PathBuf,
    config: Config,
    /// MD5 of the running configuration file's bytes.
    config_md5: [u8; 16],
    signals: Signals,
    control: ControlServer,
    control_timer: Option<TimerId>,
    /// The rtnetlink socket: events in, VIP requests out, acks and dumps in.
    rtnl: RtnlEvents,
    /// What the last drain handed over (reused: no allocation per wake-up).
    rtnl_inputs: Vec<RtnlInput>,
    /// The budget ran out with messages left: come back in the next turn.
    rtnl_more: bool,
    rtnl_timer: Option<TimerId>,
    resync: Resync,
    /// Another loss happened while a re-dump ran: run one more after it.
    resync_again: bool,
    /// ENOBUFS seen, re-dumps completed, undecodable messages.
    rtnl_overflows: u64,
    rtnl_resyncs: u64,
    rtnl_bad: u64,
    /// Every address on this host's interfaces, (address, ifindex), kept from
    /// the start's dump, the events and the re-dumps: `ha_suspend` needs it.
    local_addrs: Vec<(std::net::IpAddr, u32)>,
    vrrp: vrrp::Vrrp,
    lvs: Option<lvs::Lvs>,
    lvs_timer: Option<TimerId>,
    /// Announce mode (docs/scale-out.md); `None` when nothing is announced.
    announce: Option<announce::Announce>,
    checks: checks::Checks,
    /// quorum_up/down and notify_up/down commands, split at load.
    hooks: lvs::Hooks,
    notes: Vec<(usize, crate::vrrp::instance::NotifyState, u8)>,
    stopping: bool,
    started: Instant,
    reloads: u64,
    failed_reloads: u64,
    /// Answers that wait for a VRRP timer.
    pending: Vec<Pending>,
    /// A SIGHUP whose reload waits for a VRRP timer.
    pending_reload: bool,
    /// The metrics listener and its connections.
    metrics: Option<MetricsListener>,
    metrics_conns: Vec<Option<MetricsConn>>,
    metrics_timer: Option<TimerId>,
    /// Metrics connections that used their write budget and write on in the next turn.
    metrics_more: Vec<usize>,
    /// Scrapes being rendered in slices, and when the next slice runs.
    metrics_renders: Vec<MetricsRender>,
    metrics_next_slice: Option<Instant>,
    /// What the last slice took, and whether the next one waited already.
    slice_cost: Duration,
    slice_put_off: bool,
    /// What the last scrape took to start (the GET_SERVICE dump).
    metrics_cost: Duration,
    /// The buffer of the last answer, reused by the next scrape.
    metrics_spare: Vec<u8>,
    /// The kernel read of the scrapes waiting for it is complete.
    metrics_read_done: bool,
    /// What the last slice of a kernel read took.
    read_slice_cost: Duration,
    /// What building the last scrape's model took.
    metrics_model_cost: Duration,
    /// Wall-clock start, and the wall-clock time of the last accepted load.
    started_wall: SystemTime,
    last_load_wall: SystemTime,
    /// Become/release-master counts per VRRP instance.
    transitions: Vec<observe::Transitions>,
    /// When the put-off work runs, and its timer.
    deferred_at: Option<Instant>,
    deferred_timer: Option<TimerId>,
    /// What the last status answer and the last load took.
    status_cost: Duration,
    load_cost: Duration,
    /// Times work was put off behind a VRRP timer.
    yields: u64,
    /// What the latest reload did (the status line).
    last_reload: String,
}

/// The event loop of the daemon.
type Loop = EventLoop<MonotonicClock, TimerKind>;

/// Loads the configuration and runs until SIGTERM/SIGINT.
pub fn run(opts: &Options) -> Result<(), DaemonError> {
    let load_started = Stopwatch::start();
    let (config, config_md5) = load(&opts.config_path).map_err(DaemonError::Config)?;
    let load_cost = load_started.elapsed();
    crate::io::log::configure(log_settings(&config));
    let mut ev: Loop =
        EventLoop::new(MonotonicClock, MAX_TIMERS, 1024).map_err(setup_err("event loop"))?;
    let mut daemon = Daemon::build(opts, config, config_md5, load_cost, &mut ev)?;
    let now = ev.now();
    daemon.start(now, &mut ev)?;
    let failure = daemon.turn_until_stop(now, &mut ev);
    daemon.shutdown(&mut ev);
    let result = match failure {
        Some(e) => Err(e),
        None => {
            info!("lvsd stopped");
            Ok(())
        }
    };
    crate::io::log::flush_for(Duration::from_secs(1));
    result
}

/// Longest wait for the acks of the last VIP removals at shutdown.
const STOP_ACK_LIMIT: Duration = Duration::from_secs(1);

/// A numeric test hook from `LVSD_TEST_HOOKS` (`name=value,name=value`), read
/// at start only. Tests use it to provoke conditions (a tiny rtnetlink
/// buffer, a loop failure) that are otherwise hard to reach on purpose.
pub(crate) fn test_hook(name: &str) -> Option<u64> {
    let hooks = std::env::var("LVSD_TEST_HOOKS").ok()?;
    hooks.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == name).then(|| v.trim().parse().ok())?
    })
}

impl Daemon {
    /// Turns the loop until a stop; a fatal loop error is returned (the
    /// way out is the same as a stop's).
    fn turn_until_stop(&mut self, now: Instant, ev: &mut Loop) -> Option<DaemonError> {
        let mut failure = None;
        // Test hook: the loop fails this long after start, as a failing
        // epoll_wait or timerfd would, to prove the way out still cleans up.
        let fail_at = test_hook("loop_error_after_ms").map(|ms| now + Duration::from_millis(ms));
        while !self.stopping {
            let turned = match ev.turn(self) {
                Ok(()) if fail_at.is_some_and(|t| ev.now() >= t) => Err(io::Error::other(
                    "test hook loop_error_after_ms: simulated event loop failure",
                )),
                other => other,
            };
            if let Err(e) = turned {
                // A fatal loop error still leaves the way a stop does: priority 0
                // so the backup takes over at once, VIPs removed, nothing held.
                error!("event loop failed: {e}; stopping");
                failure = Some(DaemonError::Loop(e));
                break;
            }
            let now = ev.now();
            self.after_events(now, ev.timers());
        }
        failure
    }

    /// The way out: priority 0 and VIPs removed, VMACs torn down, omega
    /// hooks and the last notifies run, children reaped, IPVS put back.
    fn shutdown(&mut self, ev: &mut Loop) {
        info!("stopping: sending priority 0 and removing VIPs");
        let now = ev.now();
        self.vrrp.stop(now);
        self.after_events(now, ev.timers());
        self.vrrp.stop_statics(&mut self.rtnl, now);
        // The VIP removals were applied inside their sends; wait briefly for
        // their acks so a refusal is logged.
        let Daemon { rtnl, vrrp, .. } = self;
        rtnl.settle(STOP_ACK_LIMIT, |input| {
            if let RtnlInput::Done {
                request,
                tag,
                result,
            } = input
            {
                vrrp.vip_request_done(tag, &request, &result);
            }
        });
        // The VMACs go last, with the VIPs on them gone (keepalived's
        // netlink_link_del_vmac at shutdown), and what they changed is put back.
        vrrp.teardown_vmacs();
        // keepalived's omega: the down commands of every alive real server and
        // of the quorum also run at shutdown, before the notifies are finished.
        if let Some(lvs) = &self.lvs {
            let hooks = lvs.shutdown_hooks(|k| self.hooks.omega(k));
            for h in &hooks {
                if let Some(cmd) = self.hooks.command(h) {
                    info!("stopping (omega): {}", lvs::hook_text(h));
                    self.vrrp.queue_lvs_command(cmd.clone());
                }
            }
        }
        self.vrrp.finish_notifies(
            &mut MonotonicClock,
            self.config.global.notify_timeout.min(STOP_NOTIFY_LIMIT),
        );
        if let Some(announce) = &mut self.announce {
            announce.stop();
        }
        self.checks.stop();
        let left = crate::io::child::kill_all_and_reap(CHILD_REAP_LIMIT);
        if left > 0 {
            warn!("stopping: {left} child process(es) not reaped after {CHILD_REAP_LIMIT:?}");
        }
        if let Some(lvs) = &mut self.lvs {
            lvs.stop();
            lvs.remove_owned(now);
        }
    }
}

/// Longest wait at shutdown for the killed scripts to be reaped.
const CHILD_REAP_LIMIT: Duration = Duration::from_secs(2);

/// Longest wait for notify_stop commands at shutdown.
const STOP_NOTIFY_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Daemon {
    /// Carries out queued actions and re-arms each instance's timer.
    fn after_events(&mut self, now: Instant, timers: &mut crate::io::timers::Timers<TimerKind>) {
        // `notes` also holds what VRRP timers of this wake-up did (run at once
        // in on_timer); it is consumed below and cleared at the end.
        self.vrrp.run_actions(&mut self.rtnl, now, &mut self.notes);
        for &(i, state, _) in &self.notes {
            if let Some(t) = self.transitions.get_mut(i) {
                t.note(state);
            }
        }
        self.vrrp.sync_timers(now, timers);
        let rtnl_at = if self.rtnl_more {
            Some(now)
        } else {
            self.rtnl.next_timeout()
        };
        sync_timer(timers, &mut self.rtnl_timer, rtnl_at, TimerKind::Netlink);
        let epoch = self.started;
        self.checks.sync_timers(now, timers, TimerKind::Check, |t| {
            coalesce(t, epoch, CHECK_TIMER_GRAIN)
        });
        self.sync_lvs(now, timers);
        self.notes.clear();
        if let Some(announce) = &mut self.announce {
            announce.sync(self.lvs.as_ref());
        }
        crate::io::log::flush();
        self.sync_answer_timers(now, timers);
    }

    /// Health verdicts and VRRP states into the IPVS side, its timer, and
    /// the commands of its hooks.
    fn sync_lvs(&mut self, now: Instant, timers: &mut crate::io::timers::Timers<TimerKind>) {
        if let Some(lvs) = &mut self.lvs {
            for u in self.checks.updates.drain(..) {
                lvs.set_health(&u.service, &u.dest, u.alive, u.weight, &u.reason);
            }
            for &(i, state, _) in &self.notes {
                // STOP (shutdown) changes nothing there: `Lvs::stop` ends
                // the sync daemon. By name: the file's order may change on
                // reload, the running instances' does not.
                if let Some(name) = self.vrrp.name(i) {
                    lvs.on_vrrp_state(name, state);
                }
            }
            sync_timer(
                timers,
                &mut self.lvs_timer,
                lvs.poll_at(now),
                TimerKind::Lvs,
            );
            if !lvs.hooks.is_empty() {
                for h in lvs.hooks.drain(..) {
                    info!("{}", lvs::hook_text(&h));
                    if let Some(cmd) = self.hooks.command(&h) {
                        self.vrrp.queue_lvs_command(cmd.clone());
                    }
                }
                // Start the commands now, not at the next wake-up.
                self.vrrp.sync_timers(now, timers);
            }
        }
    }

    /// The timers of the control socket, the put-off work and the metrics
    /// connections.
    fn sync_answer_timers(
        &mut self,
        now: Instant,
        timers: &mut crate::io::timers::Timers<TimerKind>,
    ) {
        sync_timer(
            timers,
            &mut self.control_timer,
            self.control.poll_at(),
            TimerKind::Control,
        );
        sync_timer(
            timers,
            &mut self.deferred_timer,
            self.deferred_at,
            TimerKind::Deferred,
        );
        let idle = self
            .metrics_conns
            .iter()
            .flatten()
            .map(|c| c.deadline)
            .min();
        // A connection with more to write goes on in the next turn, after I/O.
        let more = (!self.metrics_more.is_empty()).then_some(now);
        let want = [idle, more, self.metrics_next_slice]
            .into_iter()
            .flatten()
            .min();
        sync_timer(
            timers,
            &mut self.metrics_timer,
            want,
            TimerKind::MetricsIdle,
        );
    }

    /// Puts work off until `at` (the earliest of what is already waiting).
    fn defer(&mut self, at: Instant) {
        self.yields += 1;
        self.deferred_at = Some(self.deferred_at.map_or(at, |d| d.min(at)));
    }

    /// The put-off work: status answers and scrapes, then a reload.
    fn run_deferred(&mut self, cx: &mut Context<'_, TimerKind>) {
        self.deferred_at = None;
        let pending = std::mem::take(&mut self.pending);
        let mut reload_answers = Vec::new();
        for &p in &pending {
            match p {
                Pending::Text(slot) => self.answer_status(cx, slot, false),
                Pending::Json(slot) => self.answer_status(cx, slot, true),
                Pending::Metrics(slot, head) => self.answer_metrics(cx, slot, head),
                Pending::Reload(slot) => reload_answers.push(slot),
            }
        }
        self.pending = pending;
        self.pending.clear();
        if std::mem::take(&mut self.pending_reload) || !reload_answers.is_empty() {
            let answer = match self.reload(cx) {
                Ok(text) => command::ok(text),
                Err(e) => command::error(e),
            };
            for slot in reload_answers {
                self.answer_control(cx, slot, answer.clone().into_bytes());
            }
        }
    }

    fn answer_control(&mut self, cx: &mut Context<'_, TimerKind>, slot: usize, answer: Vec<u8>) {
        self.control.answer(slot, answer, cx.now, cx.registry);
    }

    fn answer_status(&mut self, cx: &mut Context<'_, TimerKind>, slot: usize, json: bool) {
        let started = Stopwatch::start();
        let model = self.model(cx.now);
        let answer = if json {
            crate::status::json::render(&model)
        } else {
            let mut text = crate::status::text::render(&model);
            // Not in the model yet (merged from main late): text only.
            if let Some(line) = self.vrrp.routes_line() {
                text.push_str(&line);
                text.push('\n');
            }
            text
        };
        self.status_cost = started.elapsed();
        self.answer_control(cx, slot, answer.into_bytes());
    }

    /// Runs `p` now, or after the next VRRP timer when it might delay it.
    fn now_or_later(&mut self, cx: &mut Context<'_, TimerKind>, p: Pending) {
        let cost = match p {
            Pending::Text(_) | Pending::Json(_) => self.status_cost,
            Pending::Metrics(..) => self.metrics_cost,
            Pending::Reload(_) => self.load_cost,
        };
        let next = self.vrrp.next_deadline();
        match yield_to_vrrp(cx.now, next, cost) {
            Some(at) => {
                if let Pending::Text(slot) | Pending::Json(slot) | Pending::Reload(slot) = p {
                    // Its answer is put off: never idle, never evicted.
                    self.control.hold(slot);
                }
                self.pending.push(p);
                self.defer(at);
            }
            None => self.run_one(cx, p),
        }
    }

    fn run_one(&mut self, cx: &mut Context<'_, TimerKind>, p: Pending) {
        match p {
            Pending::Text(slot) => self.answer_status(cx, slot, false),
            Pending::Json(slot) => self.answer_status(cx, slot, true),
            Pending::Metrics(slot, head) => self.answer_metrics(cx, slot, head),
            Pending::Reload(slot) => {
                let answer = match self.reload(cx) {
                    Ok(text) => command::ok(text),
                    Err(e) => command::error(e),
                };
                self.answer_control(cx, slot, answer.into_bytes());
            }
        }
    }

    fn on_control(&mut self, cx: &mut Context<'_, TimerKind>, source: Source) {
        match source {
            Source::ControlListener => self.control.on_listener(cx.now, cx.registry),
            Source::ControlConn(slot) => {
                let waiting = self.pending.iter().any(|p| {
                    matches!(p, Pending::Text(s) | Pending::Json(s) | Pending::Reload(s) if *s == slot)
                });
                if waiting {
                    return; // its answer comes after the next VRRP timer
                }
                // The access layer checked the peer; its uid goes with the line.
                if let Some(request) = self.control.on_conn(slot, cx.registry) {
                    self.on_request(cx, slot, &request.line, request.peer.uid);
                }
            }
            _ => {}
        }
    }

    /// One request line from control connection `slot`.
    fn on_request(&mut self, cx: &mut Context<'_, TimerKind>, slot: usize, line: &str, uid: u32) {
        // Announce mode's own requests (docs/scale-out.md).
        if line.split_whitespace().next() == Some("announce") {
            let words: Vec<&str> = line.split_whitespace().skip(1).collect();
            let answer = match &mut self.announce {
                Some(announce) => announce.request(&words),
                None => "error: no virtual server is announced (announce = GROUP)\n".into(),
            };
            self.answer_control(cx, slot, answer.into_bytes());
            return;
        }
        let req = match Request::parse(line) {
            Ok(r) => r,
            Err(e) => {
                info!("control: unknown request {line:?} from uid {uid}");
                self.answer_control(cx, slot, command::error(e).into_bytes());
                return;
            }
        };
        if req.changes_state() {
            info!("control: request {:?} from uid {uid}", req.line());
        } else {
            debug!("control: request {:?} from uid {uid}", req.line());
        }
        match req {
            Request::Status => self.now_or_later(cx, Pending::Text(slot)),
            Request::StatusJson => self.now_or_later(cx, Pending::Json(slot)),
            Request::Reload => self.now_or_later(cx, Pending::Reload(slot)),
            other => {
                let answer = self.run_command(cx.now, &other);
                self.answer_control(cx, slot, answer.into_bytes());
            }
        }
    }
}

/// Keeps one timer per state machine in step with its `poll_at()`.
fn sync_timer(
    timers: &mut crate::io::timers::Timers<TimerKind>,
    slot: &mut Option<TimerId>,
    want: Option<Instant>,
    kind: TimerKind,
) {
    match (want, *slot) {
        (None, Some(id)) => {
            timers.cancel(id);
            *slot = None;
        }
        (None, None) => {}
        (Some(at), Some(id)) if timers.reschedule(id, at) => {}
        (Some(at), _) => match timers.insert(at, kind) {
            Ok(id) => *slot = Some(id),
            Err(e) => {
                error!("{e}: {kind:?} cannot be scheduled");
                *slot = None;
            }
        },
    }
}

impl Handler<TimerKind> for Daemon {
    fn on_wake(&mut self, cx: &mut Context<'_, TimerKind>) {
        // Adverts leave before this wake-up's check I/O and check timers.
        if self.vrrp.on_wake(cx.now, cx.timers) {
            self.vrrp
                .run_actions(&mut self.rtnl, cx.now, &mut self.notes);
        }
    }

    fn on_ready(&mut self, cx: &mut Context<'_, TimerKind>, source: Source, _r: Readiness) {
        match source {
            Source::Signal => loop {
                match self.signals.read() {
                    Ok(Some(SignalEvent::Stop)) => self.stopping = true,
                    Ok(Some(SignalEvent::Reload)) => {
                        let next = self.vrrp.next_deadline();
                        match yield_to_vrrp(cx.now, next, self.load_cost) {
                            Some(at) => {
                                self.pending_reload = true;
                                self.defer(at);
                            }
                            None => {
                                let _ = self.reload(cx);
                            }
                        }
                    }
                    Ok(Some(SignalEvent::Child)) => {
                        // Every ended child, also those killed on reload.
                        crate::io::child::reap();
                        self.checks.on_children_reaped(cx.now, cx.registry);
                    }
                    Ok(Some(SignalEvent::Other(n))) => warn!("unexpected signal {n}"),
                    Ok(None) => break,
                    Err(e) => {
                        warn!("signalfd: {e}");
                        break;
                    }
                }
            },
            Source::Vrrp(r) => self.vrrp.on_readable(cx.now, r),
            Source::Rtnetlink => self.pump_rtnl(cx.now),
            Source::ControlListener | Source::ControlConn(_) => self.on_control(cx, source),
            Source::MetricsListener | Source::MetricsConn(_) => self.on_metrics(cx, source),
            Source::Probe(i) => self.checks.on_ready(cx.now, i, cx.registry),
            Source::Child(k) => self.vrrp.on_child(cx.now, k),
            Source::ProcEvents => self.vrrp.on_proc_events(cx.now),
            _ => {}
        }
    }

    fn on_timer(&mut self, cx: &mut Context<'_, TimerKind>, _id: TimerId, payload: TimerKind) {
        match payload {
            TimerKind::Vrrp(i) => {
                self.vrrp.on_timer(cx.now, i);
                // Adverts leave now, not after the check timers that expired
                // in the same wake-up.
                self.vrrp
                    .run_actions(&mut self.rtnl, cx.now, &mut self.notes);
            }
            TimerKind::Check(i) => {
                if let Some(slot) = self.checks.timer_slot(i) {
                    *slot = None;
                }
                self.checks.on_timer(cx.now, i, cx.registry);
            }
            TimerKind::VrrpReceive(r) => {
                self.vrrp.on_backlog(cx.now, r);
                self.vrrp
                    .run_actions(&mut self.rtnl, cx.now, &mut self.notes);
            }
            TimerKind::VrrpChild(k) => self.vrrp.on_child_timer(cx.now, k),
            TimerKind::VrrpFiles => self.vrrp.on_files(cx.now),
            TimerKind::VrrpProcs => self.vrrp.on_procs_timer(cx.now),
            TimerKind::Lvs => {
                self.lvs_timer = None;
                let next = self.vrrp.next_deadline();
                if let Some(lvs) = &mut self.lvs {
                    if lvs.is_due(cx.now) && !lvs.is_deferred() {
                        if let Some(at) = yield_to_vrrp(cx.now, next, lvs.last_took()) {
                            lvs.defer(at);
                            self.yields += 1;
                            return;
                        }
                    }
                    lvs.on_timer(cx.now);
                }
            }
            TimerKind::Deferred => {
                self.deferred_timer = None;
                self.run_deferred(cx);
            }
            TimerKind::Netlink => {
                self.rtnl_timer = None;
                let mut inputs = std::mem::take(&mut self.rtnl_inputs);
                self.rtnl.expire(cx.now, |i| inputs.push(i));
                self.handle_rtnl(cx.now, &mut inputs);
                self.rtnl_inputs = inputs;
                if self.rtnl_more {
                    self.pump_rtnl(cx.now);
                }
            }
            TimerKind::MetricsIdle => {
                self.metrics_timer = None;
                self.metrics_idle(cx);
            }
            TimerKind::Control => {
                self.control_timer = None;
                self.control.on_timer(cx.now, cx.registry);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn check_timers_round_up_to_the_grain() {
        let epoch = Instant::now();
        let g = Duration::from_millis(2);
        let us = Duration::from_micros;
        assert_eq!(coalesce(epoch, epoch, g), epoch);
        assert_eq!(coalesce(epoch + us(1), epoch, g), epoch + g);
        assert_eq!(coalesce(epoch + us(1999), epoch, g), epoch + g);
        assert_eq!(coalesce(epoch + g, epoch, g), epoch + g);
        assert_eq!(coalesce(epoch + us(2001), epoch, g), epoch + g * 2);
        // Before the epoch (cannot happen in the daemon): left as it is.
        let early = epoch.checked_sub(us(5)).unwrap_or(epoch);
        assert_eq!(coalesce(early, epoch, g), early);
    }

    #[test]
    fn heavy_work_waits_for_a_close_vrrp_timer_only() {
        let now = Instant::now();
        let ms = Duration::from_millis;
        // No VRRP at all: never put off.
        assert_eq!(yield_to_vrrp(now, None, ms(500)), None);
        // Work of 10 ms, advert in 100 ms: room enough (2 x 10 + 2 ms).
        assert_eq!(yield_to_vrrp(now, Some(now + ms(100)), ms(10)), None);
        // Advert in 15 ms: the work goes just after it.
        assert_eq!(
            yield_to_vrrp(now, Some(now + ms(15)), ms(10)),
            Some(now + ms(15) + YIELD_AFTER)
        );
        // Cheap work still keeps the margin clear.
        assert_eq!(
            yield_to_vrrp(now, Some(now + ms(1)), Duration::ZERO),
            Some(now + ms(1) + YIELD_AFTER)
        );
        // A VRRP timer already due (not yet dispatched): after it, not before now.
        assert_eq!(
            yield_to_vrrp(now + ms(5), Some(now), ms(1)),
            Some(now + ms(5) + YIELD_AFTER)
        );
    }
}
