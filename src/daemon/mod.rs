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
use crate::io::netlink::{NetlinkError, Rtnl, RtnlEvents, RtnlInput, RtnlRequest};
use crate::io::signal::{SignalEvent, Signals};
use crate::io::timers::TimerId;
use crate::limits::{MAX_TIMERS, RTNL_BUDGET};
use crate::vrrp::instance::NotifyState;
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
    /// rtnetlink: more messages wait beyond the budget, or a request's ack is due.
    Netlink,
}

/// Where the rtnetlink re-dump that follows a lost message (ENOBUFS) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resync {
    /// Nothing to do.
    Idle,
    /// The link dump runs; the address dump follows.
    Links,
    /// The address dump runs; the VIPs are re-applied at its end.
    Addrs,
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
    checks: checks::Checks,
    /// quorum_up/down and notify_up/down commands, split at load.
    hooks: lvs::Hooks,
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
    /// What the latest reload did (the status line).
    last_reload: String,
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
    let rtnl = RtnlEvents::open().map_err(setup_err("rtnetlink socket"))?;
    if let Some(bytes) = test_hook("rtnl_rcvbuf") {
        // Test hook: a small receive buffer makes ENOBUFS easy to provoke.
        rtnl.set_receive_buffer(bytes as usize)
            .map_err(setup_err("rtnetlink receive buffer"))?;
    }
    ev.registry()
        .register(
            &mut SourceFd(&rtnl.as_raw_fd()),
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
    let known = |s: &crate::wire::netlink::ipvs::ServiceKey,
                 d: &crate::wire::netlink::ipvs::DestKey| {
        lvs.as_ref().and_then(|l| l.known_health(s, d))
    };
    let checks = checks::Checks::setup(&config, now, &known).map_err(DaemonError::Setup)?;
    let hooks = lvs::Hooks::build(&config, &|line, what| vrrp.lvs_command(line, what))
        .map_err(DaemonError::Setup)?;
    let mut daemon = Daemon {
        config_path: opts.config_path.clone(),
        config,
        config_md5,
        signals,
        control,
        conns: Vec::new(),
        rtnl,
        rtnl_inputs: Vec::with_capacity(RTNL_BUDGET * 2),
        rtnl_more: false,
        rtnl_timer: None,
        resync: Resync::Idle,
        resync_again: false,
        rtnl_overflows: 0,
        rtnl_resyncs: 0,
        rtnl_bad: 0,
        local_addrs: Vec::with_capacity(64),
        vrrp,
        lvs,
        lvs_timer: None,
        checks,
        hooks,
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
        last_reload: "none".to_owned(),
    };
    info!(
        "lvsd {} started: {} VRRP instance(s), {} virtual server(s), control socket {}",
        env!("CARGO_PKG_VERSION"),
        daemon.vrrp.instances.len(),
        daemon.config.virtual_servers.len(),
        control_path.display()
    );
    // Before the loop runs, so a blocking request socket is fine here.
    let mut setup_rtnl = Rtnl::open().map_err(setup_err("rtnetlink socket"))?;
    let local = &mut daemon.local_addrs;
    setup_rtnl
        .addrs(None, |a| local.push((a.addr, a.ifindex)))
        .map_err(|e| DaemonError::Setup(format!("listing addresses: {e}")))?;
    daemon.vrrp.start(now, &mut setup_rtnl);
    drop(setup_rtnl);
    daemon.apply_ha_suspend();
    if let Some(lvs) = &daemon.lvs {
        for h in lvs.start_hooks() {
            info!("{} at start", lvs::hook_text(&h));
            if let Some(cmd) = daemon.hooks.command(&h) {
                daemon.vrrp.queue_lvs_command(cmd.clone());
            }
        }
    }
    daemon.checks.touched.extend(0..daemon.checks.len());
    daemon.after_events(ev.now(), ev.timers());
    let mut failure = None;
    // Test hook: the loop fails this long after start, as a failing
    // epoll_wait or timerfd would, to prove the way out still cleans up.
    let fail_at = test_hook("loop_error_after_ms").map(|ms| now + Duration::from_millis(ms));
    while !daemon.stopping {
        let turned = match ev.turn(&mut daemon) {
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
        daemon.after_events(now, ev.timers());
    }
    info!("stopping: sending priority 0 and removing VIPs");
    let now = ev.now();
    daemon.vrrp.stop(now);
    daemon.after_events(now, ev.timers());
    // The VIP removals were applied inside their sends; wait briefly for
    // their acks so a refusal is logged.
    let Daemon { rtnl, vrrp, .. } = &mut daemon;
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
    // keepalived's omega: the down commands of every alive real server and
    // of the quorum also run at shutdown, before the notifies are finished.
    if let Some(lvs) = &daemon.lvs {
        let hooks = lvs.shutdown_hooks(|k| daemon.hooks.omega(k));
        for h in &hooks {
            if let Some(cmd) = daemon.hooks.command(h) {
                info!("stopping (omega): {}", lvs::hook_text(h));
                daemon.vrrp.queue_lvs_command(cmd.clone());
            }
        }
    }
    daemon
        .vrrp
        .finish_notifies(daemon.config.global.notify_timeout.min(STOP_NOTIFY_LIMIT));
    daemon.checks.stop();
    if let Some(lvs) = &mut daemon.lvs {
        lvs.stop();
        lvs.remove_owned(now);
    }
    match failure {
        Some(e) => Err(e),
        None => {
            info!("lvsd stopped");
            Ok(())
        }
    }
}

/// Longest wait for the acks of the last VIP removals at shutdown.
const STOP_ACK_LIMIT: Duration = Duration::from_secs(1);

/// A numeric test hook from `LVSD_TEST_HOOKS` (`name=value,name=value`), read
/// at start only. Tests use it to provoke conditions (a tiny rtnetlink
/// buffer, a loop failure) that are otherwise hard to reach on purpose.
fn test_hook(name: &str) -> Option<u64> {
    let hooks = std::env::var("LVSD_TEST_HOOKS").ok()?;
    hooks.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == name).then(|| v.trim().parse().ok())?
    })
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
        self.vrrp.run_actions(&mut self.rtnl, now, &mut self.notes);
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
        if let Some(lvs) = &mut self.lvs {
            for u in self.checks.updates.drain(..) {
                lvs.set_health(&u.service, &u.dest, u.alive, u.weight, &u.reason);
            }
            for &(i, state, _) in &self.notes {
                // STOP (shutdown) changes nothing there: `Lvs::stop` ends
                // the sync daemon. By name: the file's order may change on
                // reload, the running instances' does not.
                if let Some(io) = self.vrrp.io.get(i) {
                    lvs.on_vrrp_state(&io.name, state);
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
                self.last_reload = "unchanged (same bytes)".to_owned();
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
                    self.last_reload = "unchanged".to_owned();
                    info!(
                        "reload: {} unchanged ({} ms)",
                        self.config_path.display(),
                        started.elapsed().as_millis()
                    );
                    return;
                }
                // VRRP and most global keys are built once at start: a file
                // that changes them is refused whole, naming each key, rather
                // than half applied and reported as accepted.
                let restart = config::diff::restart_keys(&self.config, &new);
                if !restart.is_empty() {
                    self.failed_reloads += 1;
                    let keys = restart.join(", ");
                    error!(
                        "reload refused, the running configuration stays: these keys need a restart (`lvsd` applies VRRP and global changes only at start): {keys}"
                    );
                    self.last_reload = format!("refused, needs a restart: {keys}");
                    return;
                }
                // Commands next: a bad one rejects the file before anything
                // running is touched.
                let new_hooks = match lvs::Hooks::build(&new, &|line, what| {
                    self.vrrp.lvs_command(line, what)
                }) {
                    Ok(h) => h,
                    Err(e) => {
                        self.failed_reloads += 1;
                        error!("reload rejected, the running configuration stays: {e}");
                        self.last_reload = format!("rejected: {e}");
                        return;
                    }
                };
                // New checks first: a checker that cannot be built rejects
                // the reload before anything running is touched.
                let new_checks = if new.virtual_servers != self.config.virtual_servers {
                    let lvs = &self.lvs;
                    let known =
                        |s: &crate::wire::netlink::ipvs::ServiceKey,
                         d: &crate::wire::netlink::ipvs::DestKey| {
                            lvs.as_ref().and_then(|l| l.known_health(s, d))
                        };
                    match checks::Checks::setup(&new, now, &known) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            self.failed_reloads += 1;
                            error!("reload rejected, the running configuration stays: {e}");
                            self.last_reload = format!("rejected: {e}");
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
                        self.last_reload = format!("rejected: {e}");
                        // Put the running table back exactly as it was.
                        if let Err(e) = lvs.load(&self.config, now) {
                            error!("restoring the running IPVS table: {e}");
                        }
                        return;
                    }
                }
                let new_checks_built = new_checks.is_some();
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
                self.hooks = new_hooks;
                let applied = if new_checks_built {
                    "applied: virtual servers, real servers and checks rebuilt; VRRP unchanged"
                } else {
                    "applied: global keys only (virtual servers and VRRP unchanged)"
                };
                info!("reload: {} {applied}", self.config_path.display());
                self.last_reload = applied.to_owned();
                self.config = new;
                self.follow_sync_instance();
                self.apply_ha_suspend();
                // Only an accepted file counts as the running one: after a
                // rejection the same bytes must be parsed (and refused) again.
                self.config_md5 = digest;
            }
            Err(e) => {
                self.failed_reloads += 1;
                error!("reload rejected, the running configuration stays: {e}");
                self.last_reload = format!("rejected: {e}");
            }
        }
    }

    /// After a reload: the sync daemon follows the instance it now names
    /// (by name), in that instance's present state.
    fn follow_sync_instance(&mut self) {
        let Some(lvs) = &mut self.lvs else { return };
        for (inst, io) in self.vrrp.instances.iter().zip(&self.vrrp.io) {
            let state = match inst.state() {
                crate::vrrp::instance::State::Master => NotifyState::Master,
                crate::vrrp::instance::State::Backup => NotifyState::Backup,
                crate::vrrp::instance::State::Fault => NotifyState::Fault,
                _ => continue,
            };
            lvs.on_vrrp_state(&io.name, state);
        }
    }

    /// Reads at most RTNL_BUDGET rtnetlink messages and acts on them; what is
    /// left waits for the next turn (the Netlink timer), so a flood of address
    /// changes never keeps the loop from a VRRP timer.
    fn pump_rtnl(&mut self, now: Instant) {
        let mut inputs = std::mem::take(&mut self.rtnl_inputs);
        match self.rtnl.drain(RTNL_BUDGET, |i| inputs.push(i)) {
            Ok(more) => self.rtnl_more = more,
            Err(e) => {
                warn!("rtnetlink receive: {e}");
                self.rtnl_more = false;
            }
        }
        self.handle_rtnl(now, &mut inputs);
        self.rtnl_inputs = inputs;
    }

    fn handle_rtnl(&mut self, now: Instant, inputs: &mut Vec<RtnlInput>) {
        let mut addrs_changed = false;
        for input in inputs.drain(..) {
            match input {
                RtnlInput::Event { event, dump } => match event {
                    RtEvent::NewLink(link) => self.vrrp.on_link(now, link.ifindex, link.is_up()),
                    RtEvent::DelLink(link) => self.vrrp.on_link(now, link.ifindex, false),
                    RtEvent::DelAddr(addr) if !dump => {
                        let key = (addr.addr, addr.ifindex);
                        self.local_addrs.retain(|a| *a != key);
                        addrs_changed = true;
                        self.vrrp
                            .on_addr_removed(&mut self.rtnl, now, addr.ifindex, addr.addr)
                    }
                    RtEvent::NewAddr(addr) => {
                        let key = (addr.addr, addr.ifindex);
                        if !self.local_addrs.contains(&key) {
                            self.local_addrs.push(key);
                            addrs_changed = true;
                        }
                        if dump && self.resync == Resync::Addrs {
                            self.vrrp.vip_seen(addr.ifindex, addr.addr)
                        }
                    }
                    _ => {}
                },
                RtnlInput::Overflow => {
                    self.rtnl_overflows += 1;
                    if self.rtnl_overflows.is_power_of_two() {
                        warn!(
                            "rtnetlink: events lost (ENOBUFS, {} time(s) so far); re-reading links and addresses",
                            self.rtnl_overflows
                        );
                    }
                    self.start_resync(now);
                }
                RtnlInput::Done {
                    request,
                    tag,
                    result,
                } => match request {
                    RtnlRequest::DumpLinks | RtnlRequest::DumpAddrs => {
                        self.dump_done(now, &request, result)
                    }
                    _ => {
                        if matches!(result, Err(NetlinkError::Timeout)) {
                            // Its ack was probably lost with other messages:
                            // the re-dump finds out what the kernel holds.
                            self.start_resync(now);
                        }
                        self.vrrp.vip_request_done(tag, &request, &result);
                    }
                },
                RtnlInput::Bad(e) => {
                    self.rtnl_bad += 1;
                    if self.rtnl_bad.is_power_of_two() {
                        warn!(
                            "rtnetlink: undecodable message skipped ({} so far): {e}",
                            self.rtnl_bad
                        );
                    }
                }
            }
        }
        if addrs_changed {
            self.apply_ha_suspend();
        }
    }

    /// keepalived's `ha_suspend`: the checks of a virtual server whose
    /// address is on no interface here pause (verdicts stay) and resume when
    /// it appears (the VRRP master adding its VIP).
    fn apply_ha_suspend(&mut self) {
        // Mid re-dump the list is partial: decide at its end.
        if self.resync == Resync::Addrs || !self.config.virtual_servers.iter().any(|v| v.ha_suspend)
        {
            return;
        }
        let local = &self.local_addrs;
        let absent = |k: &crate::wire::netlink::ipvs::ServiceKey| match k {
            crate::wire::netlink::ipvs::ServiceKey::Addr { addr, .. } => {
                !local.iter().any(|(a, _)| a == addr)
            }
            crate::wire::netlink::ipvs::ServiceKey::Fwmark { .. } => false,
        };
        let (suspended, resumed) = self.checks.suspend_where(&absent);
        if suspended > 0 {
            info!("ha_suspend: {suspended} check(s) suspended: their virtual server's address is not on this host");
        }
        if resumed > 0 {
            info!("ha_suspend: {resumed} check(s) resumed: their virtual server's address is on this host");
        }
    }

    /// Re-dumps links, then addresses, and re-applies link states and VIPs.
    fn start_resync(&mut self, now: Instant) {
        if self.resync != Resync::Idle || self.rtnl.dumping() {
            self.resync_again = true;
            return;
        }
        self.resync_again = false;
        match self.rtnl.send(RtnlRequest::DumpLinks, 0, now) {
            Ok(()) => self.resync = Resync::Links,
            Err(e) => warn!("rtnetlink: link re-dump: {e}"),
        }
    }

    fn dump_done(&mut self, now: Instant, request: &RtnlRequest, result: Result<(), NetlinkError>) {
        if let Err(e) = result {
            warn!("rtnetlink: {request:?} failed ({e}); starting over");
            self.resync = Resync::Idle;
            self.start_resync(now);
            return;
        }
        match (self.resync, request) {
            (Resync::Links, RtnlRequest::DumpLinks) => {
                self.vrrp.begin_vip_survey();
                // The dump lists every address afresh (events were lost).
                self.local_addrs.clear();
                match self.rtnl.send(RtnlRequest::DumpAddrs, 0, now) {
                    Ok(()) => self.resync = Resync::Addrs,
                    Err(e) => {
                        warn!("rtnetlink: address re-dump: {e}");
                        self.resync = Resync::Idle;
                    }
                }
            }
            (Resync::Addrs, RtnlRequest::DumpAddrs) => {
                self.resync = Resync::Idle;
                self.rtnl_resyncs += 1;
                let fixed = self.vrrp.finish_vip_survey(&mut self.rtnl, now);
                self.apply_ha_suspend();
                info!("rtnetlink: links and addresses re-read; {fixed} VIP change(s) re-applied");
                if self.resync_again {
                    self.start_resync(now);
                }
            }
            _ => {}
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
        let _ = writeln!(out, "last reload: {}", self.last_reload);
        let _ = writeln!(
            out,
            "rtnetlink: overflows {} re-dumps {} pending requests {} untracked {} undecodable {}",
            self.rtnl_overflows,
            self.rtnl_resyncs,
            self.rtnl.pending(),
            self.rtnl.untracked,
            self.rtnl_bad
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
            Source::Rtnetlink => self.pump_rtnl(cx.now),
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
