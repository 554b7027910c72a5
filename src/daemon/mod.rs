//! The running daemon: owns the event loop, routes events between `io` and the
//! pure state machines, and carries out the actions they return. No protocol
//! logic lives here.

pub mod checks;
pub mod lateness;
pub mod lvs;
pub mod vrrp;

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{error, info, warn};
use mio::unix::SourceFd;
use mio::Interest;

use crate::cli::Exit;
use crate::config::{self, Config, ConfigError};
use crate::io::control::{ConnState, ControlConn, ControlListener};
use crate::io::event_loop::{Context, EventLoop, Handler, MonotonicClock, Readiness, Source};
use crate::io::netlink::{Rtnl, RtnlEvents};
use crate::io::signal::{SignalEvent, Signals};
use crate::io::timers::TimerId;
use crate::limits::MAX_TIMERS;
use crate::wire::netlink::rtnl::RtEvent;

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
    /// Work put off until after a VRRP timer (status answers, a reload).
    Deferred,
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

/// Why the daemon could not run.
#[derive(Debug)]
pub enum DaemonError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// Setting something up failed.
    Setup(String),
    /// A kernel feature is missing.
    Kernel(String),
    /// The event loop failed.
    Loop(io::Error),
}

impl DaemonError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> Exit {
        match self {
            DaemonError::Config(_) => Exit::Config,
            DaemonError::Kernel(_) => Exit::Kernel,
            DaemonError::Setup(_) | DaemonError::Loop(_) => Exit::Runtime,
        }
    }
}

impl std::fmt::Display for DaemonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DaemonError::Config(e) => write!(f, "{e}"),
            DaemonError::Setup(s) | DaemonError::Kernel(s) => write!(f, "{s}"),
            DaemonError::Loop(e) => write!(f, "event loop: {e}"),
        }
    }
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
    control: ControlListener,
    conns: Vec<Option<ControlConn>>,
    rtnl: Rtnl,
    rtnl_events: RtnlEvents,
    vrrp: vrrp::Vrrp,
    lvs: Option<lvs::Lvs>,
    lvs_timer: Option<TimerId>,
    checks: checks::Checks,
    notes: Vec<(usize, crate::vrrp::instance::NotifyState, u8)>,
    stopping: bool,
    started: Instant,
    reloads: u64,
    failed_reloads: u64,
    /// Control connections whose status answer waits for a VRRP timer.
    pending_status: Vec<usize>,
    /// A SIGHUP whose reload waits for a VRRP timer.
    pending_reload: bool,
    /// When the put-off work runs, and its timer.
    deferred_at: Option<Instant>,
    deferred_timer: Option<TimerId>,
    /// What the last status answer and the last load took.
    status_cost: Duration,
    load_cost: Duration,
    /// Times work was put off behind a VRRP timer.
    yields: u64,
}

fn setup_err(what: &str) -> impl Fn(io::Error) -> DaemonError + '_ {
    move |e| DaemonError::Setup(format!("{what}: {e}"))
}

/// Loads the configuration and runs until SIGTERM/SIGINT.
pub fn run(opts: &Options) -> Result<(), DaemonError> {
    let load_started = Instant::now();
    let (config, config_md5) = load(&opts.config_path)?;
    let load_cost = load_started.elapsed();
    let mut ev: EventLoop<MonotonicClock, TimerKind> =
        EventLoop::new(MonotonicClock, MAX_TIMERS, 1024).map_err(setup_err("event loop"))?;
    let signals = Signals::new().map_err(setup_err("signalfd"))?;
    ev.registry()
        .register(
            &mut SourceFd(&signals.as_raw_fd()),
            Source::Signal.token(),
            Interest::READABLE,
        )
        .map_err(setup_err("registering signalfd"))?;
    let control_path = Path::new(config.global.control_socket.as_str()).to_owned();
    let mut control = ControlListener::bind(&control_path).map_err(setup_err(&format!(
        "control socket {}",
        control_path.display()
    )))?;
    ev.registry()
        .register(
            control.source(),
            Source::ControlListener.token(),
            Interest::READABLE,
        )
        .map_err(setup_err("registering control socket"))?;
    let rtnl = Rtnl::open().map_err(setup_err("rtnetlink socket"))?;
    let rtnl_events = RtnlEvents::open().map_err(setup_err("rtnetlink event socket"))?;
    ev.registry()
        .register(
            &mut SourceFd(&rtnl_events.as_raw_fd()),
            Source::Rtnetlink.token(),
            Interest::READABLE,
        )
        .map_err(setup_err("registering rtnetlink"))?;
    let mut vrrp = vrrp::Vrrp::setup(&config).map_err(|e| DaemonError::Setup(e.to_string()))?;
    for (n, r) in vrrp.receivers.iter().enumerate() {
        ev.registry()
            .register(
                &mut SourceFd(&r.socket.as_raw_fd()),
                Source::Vrrp(n).token(),
                Interest::READABLE,
            )
            .map_err(setup_err("registering a VRRP socket"))?;
    }
    vrrp.attach_registry(
        ev.registry()
            .try_clone()
            .map_err(setup_err("cloning the poll registry"))?,
    );
    let now = ev.now();
    let lvs = lvs::Lvs::setup(&config, now, opts.dry_run).map_err(|e| match e {
        lvs::LvsError::Unavailable(s) => DaemonError::Kernel(s),
        lvs::LvsError::Other(s) => DaemonError::Setup(s),
    })?;
    let checks = checks::Checks::setup(&config, now, &|_, _| false).map_err(DaemonError::Setup)?;
    let mut daemon = Daemon {
        config_path: opts.config_path.clone(),
        config,
        config_md5,
        signals,
        control,
        conns: Vec::new(),
        rtnl,
        rtnl_events,
        vrrp,
        lvs,
        lvs_timer: None,
        checks,
        notes: Vec::with_capacity(64),
        stopping: false,
        started: now,
        reloads: 0,
        failed_reloads: 0,
        pending_status: Vec::with_capacity(16),
        pending_reload: false,
        deferred_at: None,
        deferred_timer: None,
        status_cost: Duration::ZERO,
        load_cost,
        yields: 0,
    };
    info!(
        "lvsd {} started: {} VRRP instance(s), {} virtual server(s), control socket {}",
        env!("CARGO_PKG_VERSION"),
        daemon.vrrp.instances.len(),
        daemon.config.virtual_servers.len(),
        control_path.display()
    );
    daemon.vrrp.start(now, &mut daemon.rtnl);
    daemon.checks.touched.extend(0..daemon.checks.len());
    daemon.after_events(ev.now(), ev.timers());
    while !daemon.stopping {
        ev.turn(&mut daemon).map_err(DaemonError::Loop)?;
        let now = ev.now();
        daemon.after_events(now, ev.timers());
    }
    info!("stopping: sending priority 0 and removing VIPs");
    let now = ev.now();
    daemon.vrrp.stop(now);
    daemon.after_events(now, ev.timers());
    daemon
        .vrrp
        .finish_notifies(daemon.config.global.notify_timeout.min(STOP_NOTIFY_LIMIT));
    daemon.checks.stop();
    if let Some(lvs) = &mut daemon.lvs {
        lvs.stop();
        lvs.remove_owned(now);
    }
    info!("lvsd stopped");
    Ok(())
}

/// Longest wait for notify_stop commands at shutdown.
const STOP_NOTIFY_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Warnings logged per load; the rest are counted (`lvsd check` prints them all).
/// A generated 1000 x 10 table would otherwise log 10,000 lines on every reload.
const LOGGED_WARNINGS: usize = 20;

/// The configuration file's bytes and their MD5 (a reload of the same bytes
/// is recognised without parsing them again).
fn read_config(path: &Path) -> Result<(Vec<u8>, [u8; 16]), DaemonError> {
    use md5::{Digest, Md5};
    let bytes = config::read_file(path).map_err(DaemonError::Config)?;
    let digest: [u8; 16] = Md5::digest(&bytes).into();
    Ok((bytes, digest))
}

fn load(path: &Path) -> Result<(Config, [u8; 16]), DaemonError> {
    let (bytes, digest) = read_config(path)?;
    Ok((parse(path, &bytes)?, digest))
}

/// Parses a configuration and logs its warnings.
fn parse(path: &Path, bytes: &[u8]) -> Result<Config, DaemonError> {
    let mut config =
        config::load_bytes(bytes, &path.display().to_string()).map_err(DaemonError::Config)?;
    for w in config.warnings.iter().take(LOGGED_WARNINGS) {
        warn!("{w}");
    }
    if config.warnings.len() > LOGGED_WARNINGS {
        warn!(
            "... and {} more warning(s); `lvsd check -c {}` lists them all",
            config.warnings.len() - LOGGED_WARNINGS,
            path.display()
        );
    }
    // Logged: the running daemon does not keep them (10,000 real servers
    // with one warning each would hold megabytes for nothing).
    config.warnings = Vec::new();
    Ok(config)
}

impl Daemon {
    /// Carries out queued actions and re-arms each instance's timer.
    fn after_events(&mut self, now: Instant, timers: &mut crate::io::timers::Timers<TimerKind>) {
        // `notes` also holds what VRRP timers of this wake-up did (run at once
        // in on_timer); it is consumed below and cleared at the end.
        self.vrrp.run_actions(&mut self.rtnl, &mut self.notes);
        self.vrrp.sync_timers(now, timers);
        let epoch = self.started;
        self.checks.sync_timers(now, timers, TimerKind::Check, |t| {
            coalesce(t, epoch, CHECK_TIMER_GRAIN)
        });
        if let Some(lvs) = &mut self.lvs {
            for u in self.checks.updates.drain(..) {
                lvs.set_health(&u.service, &u.dest, u.alive, u.weight, &u.reason);
            }
            for &(i, state, _) in &self.notes {
                // STOP (shutdown) changes nothing there: `Lvs::stop` ends
                // the sync daemon.
                lvs.on_vrrp_state(i, state);
            }
            sync_timer(
                timers,
                &mut self.lvs_timer,
                lvs.poll_at(now),
                TimerKind::Lvs,
            );
        }
        self.notes.clear();
        sync_timer(
            timers,
            &mut self.deferred_timer,
            self.deferred_at,
            TimerKind::Deferred,
        );
    }

    /// Puts work off until `at` (the earliest of what is already waiting).
    fn defer(&mut self, at: Instant) {
        self.yields += 1;
        self.deferred_at = Some(self.deferred_at.map_or(at, |d| d.min(at)));
    }

    /// The put-off work: status answers, then a reload.
    fn run_deferred(&mut self, cx: &mut Context<'_, TimerKind>) {
        self.deferred_at = None;
        let pending = std::mem::take(&mut self.pending_status);
        for &slot in &pending {
            self.answer_status(cx, slot);
        }
        self.pending_status = pending;
        self.pending_status.clear();
        if std::mem::take(&mut self.pending_reload) {
            self.reload(cx);
        }
    }

    fn answer_status(&mut self, cx: &mut Context<'_, TimerKind>, slot: usize) {
        let started = Instant::now();
        let answer = self.status(cx.now);
        self.status_cost = started.elapsed();
        let Some(Some(conn)) = self.conns.get_mut(slot) else {
            return;
        };
        if conn.answer(answer.into_bytes()) == ConnState::Closed {
            if let Some(Some(mut conn)) = self.conns.get_mut(slot).map(Option::take) {
                let _ = cx.registry.deregister(conn.source());
            }
        }
    }

    fn reload(&mut self, cx: &mut Context<'_, TimerKind>) {
        let now = cx.now;
        // Only for the log line's duration; `now` stays the wake-up's time.
        let started = Instant::now();
        // Read once; the same bytes as the running configuration need no parse.
        let loaded = read_config(&self.config_path).and_then(|(bytes, digest)| {
            if digest == self.config_md5 {
                return Ok(None);
            }
            Ok(Some((parse(&self.config_path, &bytes)?, digest)))
        });
        if !matches!(loaded, Ok(None)) {
            // What a parse costs (the next SIGHUP's yield estimate).
            self.load_cost = started.elapsed();
        }
        match loaded {
            Ok(None) => {
                self.reloads += 1;
                info!(
                    "reload: {} unchanged (same bytes, {} ms)",
                    self.config_path.display(),
                    started.elapsed().as_millis()
                );
            }
            Ok(Some((new, digest))) => {
                self.reloads += 1;
                if new == self.config {
                    self.config_md5 = digest;
                    info!(
                        "reload: {} unchanged ({} ms)",
                        self.config_path.display(),
                        started.elapsed().as_millis()
                    );
                    return;
                }
                // New checks first: a checker that cannot be built rejects
                // the reload before anything running is touched.
                let new_checks = if new.virtual_servers != self.config.virtual_servers {
                    let lvs = &self.lvs;
                    let dead =
                        |s: &crate::wire::netlink::ipvs::ServiceKey,
                         d: &crate::wire::netlink::ipvs::DestKey| {
                            lvs.as_ref().is_some_and(|l| l.is_dead(s, d))
                        };
                    match checks::Checks::setup(&new, now, &dead) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            self.failed_reloads += 1;
                            error!("reload rejected, the running configuration stays: {e}");
                            return;
                        }
                    }
                } else {
                    None
                };
                if let Some(lvs) = &mut self.lvs {
                    if let Err(e) = lvs.load(&new, now) {
                        self.failed_reloads += 1;
                        error!("reload rejected, the running configuration stays: {e}");
                        // Put the running table back exactly as it was.
                        if let Err(e) = lvs.load(&self.config, now) {
                            error!("restoring the running IPVS table: {e}");
                        }
                        return;
                    }
                }
                if let Some(mut fresh) = new_checks {
                    for id in self.checks.timers() {
                        cx.timers.cancel(id);
                    }
                    self.checks.stop();
                    fresh.touched.extend(0..fresh.len());
                    self.checks = fresh;
                    if let Some(lvs) = &mut self.lvs {
                        lvs.clear_dynamic_weights();
                    }
                }
                info!(
                    "reload: {} accepted; VRRP instances keep running (instance changes need a restart in this version)",
                    self.config_path.display()
                );
                self.config = new;
                // Only an accepted file counts as the running one: after a
                // rejection the same bytes must be parsed (and refused) again.
                self.config_md5 = digest;
            }
            Err(e) => {
                self.failed_reloads += 1;
                error!("reload rejected, the running configuration stays: {e}");
            }
        }
    }

    /// `lvsd status`: first the kernel table exactly in `ipvsadm -Ln`'s
    /// layout (so eyes and scripts carry over), then lvsd's own lines.
    fn status(&mut self, now: Instant) -> String {
        let mut out = String::new();
        use std::fmt::Write;
        if let Some(lvs) = &mut self.lvs {
            lvs.status(&mut out);
        }
        let _ = writeln!(
            out,
            "lvsd {} up {}s, config {} (reloads {}, rejected {}), work put off behind VRRP timers {}",
            env!("CARGO_PKG_VERSION"),
            now.duration_since(self.started).as_secs(),
            self.config_path.display(),
            self.reloads,
            self.failed_reloads,
            self.yields
        );
        self.vrrp.status(&mut out);
        self.checks.status(&mut out);
        out
    }

    fn on_control(&mut self, cx: &mut Context<'_, TimerKind>, source: Source) {
        match source {
            Source::ControlListener => loop {
                match self.control.accept() {
                    Ok(Some(stream)) => {
                        let slot = match self.conns.iter().position(Option::is_none) {
                            Some(s) => s,
                            None => {
                                if self.conns.len() >= 16 {
                                    warn!("control: too many connections; refusing one");
                                    continue;
                                }
                                self.conns.push(None);
                                self.conns.len() - 1
                            }
                        };
                        let mut conn = ControlConn::new(stream);
                        if cx
                            .registry
                            .register(
                                conn.source(),
                                Source::ControlConn(slot).token(),
                                Interest::READABLE | Interest::WRITABLE,
                            )
                            .is_ok()
                        {
                            self.conns[slot] = Some(conn);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        warn!("control: accept: {e}");
                        break;
                    }
                }
            },
            Source::ControlConn(slot) => {
                if self.pending_status.contains(&slot) {
                    return; // its answer comes after the next VRRP timer
                }
                let Some(Some(conn)) = self.conns.get_mut(slot) else {
                    return;
                };
                let mut state = conn.on_readable();
                if let ConnState::Request(req) = state {
                    if req.as_str() == "status" {
                        let next = self.vrrp.next_deadline();
                        match yield_to_vrrp(cx.now, next, self.status_cost) {
                            Some(at) => {
                                self.pending_status.push(slot);
                                self.defer(at);
                            }
                            None => self.answer_status(cx, slot),
                        }
                        return;
                    }
                    let answer =
                        format!("error: unknown request {:?}; try 'status'\n", req.as_str());
                    let Some(Some(conn)) = self.conns.get_mut(slot) else {
                        return;
                    };
                    state = conn.answer(answer.into_bytes());
                }
                if state == ConnState::Closed {
                    if let Some(Some(mut conn)) = self.conns.get_mut(slot).map(Option::take) {
                        let _ = cx.registry.deregister(conn.source());
                    }
                }
            }
            _ => {}
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
                            None => self.reload(cx),
                        }
                    }
                    Ok(Some(SignalEvent::Child)) => {}
                    Ok(Some(SignalEvent::Other(n))) => warn!("unexpected signal {n}"),
                    Ok(None) => break,
                    Err(e) => {
                        warn!("signalfd: {e}");
                        break;
                    }
                }
            },
            Source::Vrrp(r) => self.vrrp.on_readable(cx.now, r),
            Source::Rtnetlink => {
                let now = cx.now;
                let mut events: Vec<RtEvent> = Vec::new();
                if let Err(e) = self.rtnl_events.drain(|ev| events.push(ev)) {
                    warn!("rtnetlink events: {e}");
                }
                for ev in events {
                    match ev {
                        RtEvent::NewLink(link) => {
                            self.vrrp.on_link(now, link.ifindex, link.is_up())
                        }
                        RtEvent::DelLink(link) => self.vrrp.on_link(now, link.ifindex, false),
                        RtEvent::DelAddr(addr) => {
                            self.vrrp
                                .on_addr_removed(&mut self.rtnl, addr.ifindex, addr.addr)
                        }
                        RtEvent::NewAddr(_) => {}
                    }
                }
            }
            Source::ControlListener | Source::ControlConn(_) => self.on_control(cx, source),
            Source::Probe(i) => self.checks.on_ready(cx.now, i, cx.registry),
            Source::Child(k) => self.vrrp.on_child(cx.now, k),
            _ => {}
        }
    }

    fn on_timer(&mut self, cx: &mut Context<'_, TimerKind>, _id: TimerId, payload: TimerKind) {
        match payload {
            TimerKind::Vrrp(i) => {
                if let Some(io) = self.vrrp.io.get_mut(i) {
                    io.timer = None;
                }
                self.vrrp.on_timer(cx.now, i);
                // Adverts leave now, not after the check timers that expired
                // in the same wake-up.
                self.vrrp.run_actions(&mut self.rtnl, &mut self.notes);
            }
            TimerKind::Check(i) => {
                if let Some(slot) = self.checks.timer_slot(i) {
                    *slot = None;
                }
                self.checks.on_timer(cx.now, i, cx.registry);
            }
            TimerKind::VrrpReceive(r) => {
                self.vrrp.on_backlog(cx.now, r);
                self.vrrp.run_actions(&mut self.rtnl, &mut self.notes);
            }
            TimerKind::VrrpChild(k) => self.vrrp.on_child_timer(cx.now, k),
            TimerKind::VrrpFiles => self.vrrp.on_files(cx.now),
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
        }
    }
}

#[cfg(test)]
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
