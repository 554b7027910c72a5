//! The running daemon: owns the event loop, routes events between `io` and the
//! pure state machines, and carries out the actions they return. No protocol
//! logic lives here.
//!
//! The daemon reads time only through the loop's clock (the wake-up's `now`)
//! and `io::stopwatch` for measurements; clippy's `disallowed_methods`
//! (clippy.toml) enforces it. The few file calls left here are allowed one
//! by one where they stand.
#![deny(clippy::disallowed_methods)]

pub mod announce;
pub mod checks;
mod commands;
pub mod lateness;
pub mod lvs;
pub mod observe;
pub mod vrrp;

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::io::stopwatch::{wall_now, Stopwatch};

use log::{debug, error, info, warn};
use mio::unix::SourceFd;
use mio::Interest;

use crate::command::{self, Request};
use crate::config::{self, Config, ConfigError};
use crate::io::caps;
use crate::io::control::{Access, ControlListener, ControlServer};
use crate::io::event_loop::{Context, EventLoop, Handler, MonotonicClock, Readiness, Source};
use crate::io::metrics::{HttpRequest, MetricsConn, MetricsListener, MetricsState};
use crate::io::netlink::{NetlinkError, Rtnl, RtnlEvents, RtnlInput, RtnlRequest};
use crate::io::signal::{SignalEvent, Signals};
use crate::io::timers::TimerId;
use crate::limits::{
    IPVS_READ_DESTS_PER_SLICE, MAX_CONTROL_CONNS, MAX_METRICS_CONNS, MAX_TIMERS,
    METRICS_REST_PER_BUSY, METRICS_ROWS_PER_SLICE, RTNL_BUDGET,
};
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

/// A scrape being rendered in slices.
struct MetricsRender {
    slot: usize,
    head_only: bool,
    /// `None` while the kernel table is being read in slices.
    renderer: Option<crate::status::prom::Renderer>,
    /// The answer: head, then the body as it is rendered.
    body: String,
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

fn setup_err(what: &str) -> impl Fn(io::Error) -> DaemonError + '_ {
    move |e| DaemonError::Setup(format!("{what}: {e}"))
}

/// The event loop of the daemon.
type Loop = EventLoop<MonotonicClock, TimerKind>;

/// Loads the configuration and runs until SIGTERM/SIGINT.
pub fn run(opts: &Options) -> Result<(), DaemonError> {
    let load_started = Stopwatch::start();
    let (config, config_md5) = load(&opts.config_path)?;
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

/// Registers `fd` with the loop for reading, as `source`.
fn register_fd(ev: &Loop, fd: i32, source: Source, what: &str) -> Result<(), DaemonError> {
    ev.registry()
        .register(&mut SourceFd(&fd), source.token(), Interest::READABLE)
        .map_err(setup_err(what))
}

/// Least privilege, before anything reads outside input: the bounding set
/// and the permitted set shrink now; what only the control socket's group
/// needs (setfsgid, chown) goes right after it is bound.
fn bind_control(config: &Config, opts: &Options, ev: &Loop) -> Result<ControlServer, DaemonError> {
    let keep = needed_caps(config, opts.dry_run);
    let setup_only = if config.global.control_socket_group.is_some() {
        caps::bit(caps::SETGID) | caps::bit(caps::CHOWN)
    } else {
        0
    };
    drop_caps(keep | config.global.script_capabilities, keep | setup_only)?;
    let control_path = Path::new(config.global.control_socket.as_str()).to_owned();
    let mut control = control_server(config, &control_path)?;
    if setup_only != 0 {
        drop_caps(keep | config.global.script_capabilities, keep)?;
    }
    control
        .register(ev.registry())
        .map_err(setup_err("registering control socket"))?;
    Ok(control)
}

/// The IPVS side, and the health checks starting from the health its
/// table already holds (servers adopted at a restart keep serving).
fn setup_lvs_checks(
    config: &Config,
    now: Instant,
    dry_run: bool,
) -> Result<(Option<lvs::Lvs>, checks::Checks), DaemonError> {
    let lvs = lvs::Lvs::setup(config, now, dry_run).map_err(|e| match e {
        lvs::LvsError::Unavailable(s) => DaemonError::Kernel(s),
        lvs::LvsError::Other(s) => DaemonError::Setup(s),
    })?;
    let known = |s: &crate::wire::netlink::ipvs::ServiceKey,
                 d: &crate::wire::netlink::ipvs::DestKey| {
        lvs.as_ref().and_then(|l| l.known_health(s, d))
    };
    let checks = checks::Checks::setup(config, now, &known).map_err(DaemonError::Setup)?;
    Ok((lvs, checks))
}

/// The rtnetlink event socket, registered with the loop.
fn open_rtnl(ev: &Loop) -> Result<RtnlEvents, DaemonError> {
    let rtnl = RtnlEvents::open().map_err(setup_err("rtnetlink socket"))?;
    if let Some(bytes) = test_hook("rtnl_rcvbuf") {
        // Test hook: a small receive buffer makes ENOBUFS easy to provoke.
        rtnl.set_receive_buffer(bytes as usize)
            .map_err(setup_err("rtnetlink receive buffer"))?;
    }
    register_fd(
        ev,
        rtnl.as_raw_fd(),
        Source::Rtnetlink,
        "registering rtnetlink",
    )?;
    Ok(rtnl)
}

/// The VRRP side, its sockets registered with the loop.
fn setup_vrrp(
    config: &Config,
    vmacs: vrrp::vmac::Vmacs,
    ev: &Loop,
) -> Result<vrrp::Vrrp, DaemonError> {
    let mut vrrp = vrrp::Vrrp::setup(config, vmacs, ev.now())
        .map_err(|e| DaemonError::Setup(e.to_string()))?;
    for (n, fd) in vrrp.receiver_fds() {
        register_fd(ev, fd, Source::Vrrp(n), "registering a VRRP socket")?;
    }
    if let Some(fd) = vrrp.proc_events_fd() {
        register_fd(
            ev,
            fd,
            Source::ProcEvents,
            "registering the process events socket",
        )?;
    }
    vrrp.attach_registry(
        ev.registry()
            .try_clone()
            .map_err(setup_err("cloning the poll registry"))?,
    );
    Ok(vrrp)
}

/// The metrics listener, when `metrics_listen` asks for one.
fn bind_metrics(config: &Config, ev: &Loop) -> Result<Option<MetricsListener>, DaemonError> {
    let Some(addr) = config.global.metrics_listen else {
        return Ok(None);
    };
    let mut l =
        MetricsListener::bind(addr).map_err(setup_err(&format!("metrics_listen {addr}")))?;
    ev.registry()
        .register(
            l.source(),
            Source::MetricsListener.token(),
            Interest::READABLE,
        )
        .map_err(setup_err("registering the metrics listener"))?;
    info!("metrics: serving GET /metrics on {addr}");
    Ok(Some(l))
}

impl Daemon {
    /// Opens every source and builds every part, in the order privileges
    /// and dependencies need.
    fn build(
        opts: &Options,
        config: Config,
        config_md5: [u8; 16],
        load_cost: Duration,
        ev: &mut Loop,
    ) -> Result<Daemon, DaemonError> {
        let signals = Signals::new().map_err(setup_err("signalfd"))?;
        register_fd(
            ev,
            signals.as_raw_fd(),
            Source::Signal,
            "registering signalfd",
        )?;
        let control = bind_control(&config, opts, ev)?;
        // The VMACs first: the events of their making are not for the loop.
        let vmacs = vrrp::vmac::prepare(&config).map_err(|e| DaemonError::Setup(e.to_string()))?;
        let rtnl = open_rtnl(ev)?;
        let vrrp = setup_vrrp(&config, vmacs, ev)?;
        let now = ev.now();
        let (lvs, checks) = setup_lvs_checks(&config, now, opts.dry_run)?;
        let hooks = lvs::Hooks::build(&config, &|line, what| {
            vrrp.lvs_command(line, what).map_err(|e| e.to_string())
        })
        .map_err(DaemonError::Setup)?;
        let announce =
            announce::Announce::setup(&config, opts.dry_run).map_err(DaemonError::Setup)?;
        let metrics = bind_metrics(&config, ev)?;
        let transitions = vec![observe::Transitions::default(); vrrp.len()];
        let daemon = Daemon {
            config_path: opts.config_path.clone(),
            config,
            config_md5,
            signals,
            control,
            control_timer: None,
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
            announce,
            checks,
            hooks,
            notes: Vec::with_capacity(64),
            stopping: false,
            started: now,
            reloads: 0,
            failed_reloads: 0,
            pending: Vec::with_capacity(MAX_CONTROL_CONNS + MAX_METRICS_CONNS),
            pending_reload: false,
            metrics,
            metrics_conns: Vec::new(),
            metrics_timer: None,
            metrics_more: Vec::with_capacity(MAX_METRICS_CONNS),
            metrics_renders: Vec::with_capacity(MAX_METRICS_CONNS),
            metrics_next_slice: None,
            slice_cost: FIRST_COST,
            slice_put_off: false,
            metrics_cost: FIRST_COST,
            metrics_read_done: false,
            metrics_spare: Vec::new(),
            read_slice_cost: FIRST_COST,
            metrics_model_cost: FIRST_COST,
            started_wall: wall_now(),
            last_load_wall: wall_now(),
            transitions,
            deferred_at: None,
            deferred_timer: None,
            status_cost: FIRST_COST,
            load_cost,
            yields: 0,
            last_reload: "none".to_owned(),
        };
        Ok(daemon)
    }

    /// What runs once before the loop: the start's VRRP state, addresses,
    /// static routes, ha_suspend, start hooks and the first check starts.
    fn start(&mut self, now: Instant, ev: &mut Loop) -> Result<(), DaemonError> {
        info!(
            "lvsd {} started: {} VRRP instance(s), {} virtual server(s), control socket {}",
            env!("CARGO_PKG_VERSION"),
            self.vrrp.len(),
            self.config.virtual_servers.len(),
            self.config.global.control_socket
        );
        info!(
            "capabilities kept: {} (bounding set {})",
            caps::current().map_or_else(|e| e.to_string(), |c| caps::names(c.effective)),
            caps::names(caps::bounding())
        );
        // Before the loop runs, so a blocking request socket is fine here.
        let mut setup_rtnl = Rtnl::open().map_err(setup_err("rtnetlink socket"))?;
        let local = &mut self.local_addrs;
        setup_rtnl
            .addrs(None, |a| local.push((a.addr, a.ifindex)))
            .map_err(|e| DaemonError::Setup(format!("listing addresses: {e}")))?;
        self.vrrp.start(now, &mut setup_rtnl);
        drop(setup_rtnl);
        if self.vrrp.has_routes() {
            self.rtnl
                .watch_routes()
                .map_err(setup_err("rtnetlink route and rule groups"))?;
        }
        self.vrrp.start_statics(&mut self.rtnl, now);
        self.apply_ha_suspend();
        if let Some(lvs) = &self.lvs {
            for h in lvs.start_hooks() {
                info!("{} at start", lvs::hook_text(&h));
                if let Some(cmd) = self.hooks.command(&h) {
                    self.vrrp.queue_lvs_command(cmd.clone());
                }
            }
        }
        self.checks.touched.extend(0..self.checks.len());
        self.after_events(ev.now(), ev.timers());
        Ok(())
    }

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

/// The capabilities lvsd keeps for what the configuration asks (docs/operations.md):
/// - CAP_NET_ADMIN: the IPVS table (not with `--dry-run`), VIPs, the sync daemon,
///   and the process events `vrrp_track_process` subscribes to;
/// - CAP_NET_RAW: VRRP's raw sockets and the packet socket for gratuitous ARP/NA,
///   and PING_CHECK's raw ICMP socket;
/// - CAP_KILL, CAP_SETUID, CAP_SETGID: scripts that run as another user
///   (started as that user, and their process group signalled on timeout).
fn needed_caps(config: &Config, dry_run: bool) -> caps::CapSet {
    let vrrp = !config.vrrp_instances.is_empty();
    let mut keep = 0;
    // The proc connector answers PROC_CN_MCAST_LISTEN with EPERM without it.
    let processes = !config.vrrp_track_processes.is_empty();
    if !dry_run || vrrp || processes {
        keep |= caps::bit(caps::NET_ADMIN);
    }
    // PING_CHECK falls back to a raw ICMP socket when net.ipv4.ping_group_range
    // does not cover lvsd's group (the default range covers no group).
    let ping = config.virtual_servers.iter().any(|vs| {
        vs.real_servers.iter().any(|rs| {
            rs.checkers
                .iter()
                .any(|c| matches!(c.kind, config::CheckKind::Ping))
        })
    });
    if vrrp || ping {
        keep |= caps::bit(caps::NET_RAW);
    }
    let script_users = config.global.script_user.is_some()
        || config.vrrp_scripts.iter().any(|s| s.user.is_some())
        || config.virtual_servers.iter().any(|vs| {
            vs.real_servers.iter().any(|rs| {
                rs.checkers
                    .iter()
                    .any(|c| matches!(&c.kind, config::CheckKind::Misc(m) if m.user.is_some()))
            })
        });
    if script_users {
        keep |= caps::bit(caps::KILL) | caps::bit(caps::SETUID) | caps::bit(caps::SETGID);
    }
    keep
}

/// Shrinks the bounding set to `bounding` and the permitted and effective
/// sets to `keep`. Without CAP_SETPCAP (lvsd not run as root) the bounding
/// set stays; it is refused only when lvsd would keep more than it needs.
fn drop_caps(bounding: caps::CapSet, keep: caps::CapSet) -> Result<(), DaemonError> {
    let before = caps::current().map_err(setup_err("reading capabilities"))?;
    let had = caps::bounding();
    if had & !bounding != 0 {
        if let Err(e) = caps::limit_bounding(bounding) {
            if before.permitted & !keep != 0 {
                return Err(DaemonError::Setup(format!(
                    "dropping capabilities from the bounding set: {e}"
                )));
            }
            debug!("bounding set left as it is ({e}): lvsd holds no capability it does not need");
        }
    }
    let after = caps::keep_only(keep).map_err(setup_err("dropping capabilities"))?;
    debug!(
        "capabilities: effective {}, bounding {}",
        caps::names(after.effective),
        caps::names(caps::bounding())
    );
    Ok(())
}

/// `log_target`, `log_facility` and `log_format` of `[global]`.
fn log_settings(config: &Config) -> crate::io::log::Settings {
    use crate::io::log::Settings;
    let g = &config.global;
    Settings {
        target: g.log_target,
        facility: g.log_facility,
        format: g.log_format,
    }
}

/// The control socket with the mode, group and access rules of `[global]`.
fn control_server(config: &Config, path: &Path) -> Result<ControlServer, DaemonError> {
    let g = &config.global;
    let what = format!("control socket {}", path.display());
    let mut access = Access::owner_only();
    access.mode = g.control_socket_mode;
    let gid = match &g.control_socket_group {
        None => None,
        Some(name) => {
            let group = crate::io::user::lookup_group(name)
                .map_err(setup_err(&what))?
                .ok_or_else(|| {
                    DaemonError::Setup(format!(
                        "{what}: control_socket_group {name:?}: no such group in /etc/group"
                    ))
                })?;
            access.gid = group.gid;
            access.group_uids =
                crate::io::user::uids_of(&group.members).map_err(setup_err(&what))?;
            Some(group.gid)
        }
    };
    let listener =
        ControlListener::bind(path, g.control_socket_mode, gid).map_err(setup_err(&what))?;
    Ok(ControlServer::new(listener, access))
}

/// Longest wait at shutdown for the killed scripts to be reaped.
const CHILD_REAP_LIMIT: Duration = Duration::from_secs(2);

/// Longest wait for notify_stop commands at shutdown.
const STOP_NOTIFY_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Warnings logged per load; the rest are counted (`lvsd check` prints them all).
/// A generated 1000 x 10 table would otherwise log 10,000 lines on every reload.
const LOGGED_WARNINGS: usize = 20;

/// The configuration file's bytes and their MD5 (a reload of the same bytes
/// is recognised without parsing them again).
fn read_config(path: &Path) -> Result<(Vec<u8>, [u8; 16]), DaemonError> {
    use md5::{Digest, Md5};
    let bytes = crate::io::config_file::read_file(path).map_err(DaemonError::Config)?;
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
        self.notes.clear();
        if let Some(announce) = &mut self.announce {
            announce.sync(self.lvs.as_ref());
        }
        crate::io::log::flush();
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
                Err(text) => command::error(text),
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

    /// Starts a scrape: the kernel table is read in slices
    /// (`IPVS_READ_DESTS_PER_SLICE` destinations per turn, one read shared by
    /// every scrape waiting for it), then the model is built and rendered in
    /// slices (`METRICS_ROWS_PER_SLICE` lines per turn), VRRP timers running
    /// between the slices (`metrics_slices`).
    fn answer_metrics(&mut self, cx: &mut Context<'_, TimerKind>, slot: usize, head_only: bool) {
        let started = Stopwatch::start();
        let reading = self.metrics_renders.iter().any(|r| r.renderer.is_none());
        if !reading {
            if let Some(lvs) = &mut self.lvs {
                lvs.read_begin();
            }
        }
        self.metrics_cost = started.elapsed();
        let head = crate::io::metrics::ok_head(crate::status::prom::CONTENT_TYPE, 0);
        let mut body = std::mem::take(&mut self.metrics_spare);
        body.clear();
        body.extend_from_slice(&head);
        self.metrics_renders.push(MetricsRender {
            slot,
            head_only,
            renderer: None,
            body: String::from_utf8(body).unwrap_or_default(),
        });
        self.metrics_next_slice = Some(cx.now);
    }

    /// One slice of the kernel read, or of every scrape being rendered,
    /// unless a VRRP timer is so close that the slice could delay it: then
    /// right after that timer.
    fn metrics_slices(&mut self, cx: &mut Context<'_, TimerKind>) {
        if self.metrics_renders.is_empty() {
            self.metrics_next_slice = None;
            return;
        }
        // Three kinds of turn, each with its own cost estimate: a slice of
        // the kernel read, the model (one piece, no kernel work), a slice of
        // text. Put off at most once per turn (as all heavy work): a turn that
        // once took long must not wait behind every advert after it.
        let reading = self.metrics_renders.iter().any(|r| r.renderer.is_none());
        let cost = match (reading, self.metrics_read_done) {
            (true, false) => self.read_slice_cost,
            (true, true) => self.metrics_model_cost,
            (false, _) => self.slice_cost,
        };
        let next = self.vrrp.next_deadline();
        if !std::mem::take(&mut self.slice_put_off) {
            if let Some(at) = yield_to_vrrp(cx.now, next, cost) {
                self.yields += 1;
                self.slice_put_off = true;
                self.metrics_next_slice = Some(at);
                return;
            }
        }
        let started = Stopwatch::start();
        if reading && !self.metrics_read_done {
            self.metrics_read_done = self
                .lvs
                .as_mut()
                .map_or(true, |l| l.read_step(IPVS_READ_DESTS_PER_SLICE));
            self.read_slice_cost = started.elapsed();
        } else if reading {
            self.metrics_read_done = false;
            let mut model = Some(self.model_with(cx.now, false));
            let waiting = self
                .metrics_renders
                .iter()
                .filter(|r| r.renderer.is_none())
                .count();
            for (n, r) in self
                .metrics_renders
                .iter_mut()
                .filter(|r| r.renderer.is_none())
                .enumerate()
            {
                // The last one takes the model itself, the others a copy.
                let m = if n + 1 == waiting {
                    model.take()
                } else {
                    model.clone()
                };
                let renderer = crate::status::prom::Renderer::new(m.unwrap_or_default());
                // One allocation, faulted in page by page as the slices fill it.
                r.body.reserve(renderer.size_hint());
                r.renderer = Some(renderer);
            }
            self.metrics_model_cost = started.elapsed();
        } else {
            let mut done = Vec::new();
            for (k, r) in self.metrics_renders.iter_mut().enumerate() {
                if let Some(renderer) = &mut r.renderer {
                    if renderer.render_some(&mut r.body, METRICS_ROWS_PER_SLICE) {
                        done.push(k);
                    }
                }
            }
            for k in done.into_iter().rev() {
                let r = self.metrics_renders.swap_remove(k);
                let mut bytes = r.body.into_bytes();
                crate::io::metrics::finish_ok(&mut bytes, r.head_only);
                self.metrics_reply(cx, r.slot, bytes);
            }
            self.slice_cost = started.elapsed();
        }
        // Rest as long as the turn took before the next one: a scrape takes at
        // most half the CPU, so between slices the loop sleeps, and a VRRP
        // timer wakes a sleeping process, which the scheduler runs at once,
        // instead of finding a busy one waiting for its turn on a loaded host.
        let took = started.elapsed().saturating_mul(METRICS_REST_PER_BUSY);
        self.metrics_next_slice =
            (!self.metrics_renders.is_empty()).then_some(cx.now + took + started.elapsed());
    }

    fn metrics_reply(&mut self, cx: &mut Context<'_, TimerKind>, slot: usize, bytes: Vec<u8>) {
        let Some(Some(conn)) = self.metrics_conns.get_mut(slot) else {
            return;
        };
        match conn.answer(bytes, cx.now) {
            MetricsState::Closed => self.close_metrics(cx, slot),
            MetricsState::MoreToWrite => self.metrics_more.push(slot),
            _ => {}
        }
    }

    fn close_metrics(&mut self, cx: &mut Context<'_, TimerKind>, slot: usize) {
        if let Some(Some(mut conn)) = self.metrics_conns.get_mut(slot).map(Option::take) {
            let _ = cx.registry.deregister(conn.source());
            // Kept for the next scrape: freeing 17 MB (10,000 real servers)
            // costs its pages' unmapping in this turn, and the next scrape
            // would fault them all in again.
            if self.metrics_spare.capacity() == 0 {
                self.metrics_spare = conn.take_answer();
            }
        }
        self.pending
            .retain(|p| *p != Pending::Metrics(slot, true) && *p != Pending::Metrics(slot, false));
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
                    Err(text) => command::error(text),
                };
                self.answer_control(cx, slot, answer.into_bytes());
            }
        }
    }

    /// Reloads the configuration file; the answer of `lvsd reload`.
    fn reload(&mut self, cx: &mut Context<'_, TimerKind>) -> Result<String, String> {
        // Only for the log line's duration; `now` stays the wake-up's time.
        let started = Stopwatch::start();
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
                Ok(self.reload_unchanged(true, started))
            }
            Ok(Some((new, digest))) => {
                self.reloads += 1;
                if new == self.config {
                    self.config_md5 = digest;
                    return Ok(self.reload_unchanged(false, started));
                }
                self.reload_changed(cx, new, digest, started)
            }
            Err(e) => self.reload_rejected(e),
        }
    }

    /// A reload that found the running configuration: nothing to do.
    /// `same_bytes`: the file's bytes were the same (no parse).
    fn reload_unchanged(&mut self, same_bytes: bool, started: Stopwatch) -> String {
        let (last, note) = if same_bytes {
            ("unchanged (same bytes)", "same bytes, ")
        } else {
            ("unchanged", "")
        };
        self.last_reload = last.to_owned();
        self.last_load_wall = wall_now();
        let text = format!(
            "reload: {} unchanged ({note}{} ms)",
            self.config_path.display(),
            started.elapsed().as_millis()
        );
        info!("{text}");
        text
    }

    /// A reload that fails: the running configuration stays.
    fn reload_rejected(&mut self, e: impl std::fmt::Display) -> Result<String, String> {
        self.failed_reloads += 1;
        let text = format!("reload rejected, the running configuration stays: {e}");
        error!("{text}");
        self.last_reload = format!("rejected: {e}");
        Err(text)
    }

    /// A changed file: refused if it changes what only a restart applies;
    /// else hooks, checks and the IPVS table are built first (any failure
    /// leaves everything running as it was), then swapped in.
    fn reload_changed(
        &mut self,
        cx: &mut Context<'_, TimerKind>,
        new: Config,
        digest: [u8; 16],
        started: Stopwatch,
    ) -> Result<String, String> {
        let now = cx.now;
        // VRRP and most global keys are built once at start: a file
        // that changes them is refused whole, naming each key, rather
        // than half applied and reported as accepted.
        let restart = config::diff::restart_keys(&self.config, &new);
        if !restart.is_empty() {
            self.failed_reloads += 1;
            let keys = restart.join(", ");
            let text = format!(
                "reload refused, the running configuration stays: these keys need a restart (`lvsd` applies VRRP and global changes only at start): {keys}"
            );
            error!("{text}");
            self.last_reload = format!("refused, needs a restart: {keys}");
            return Err(text);
        }
        // Commands next: a bad one rejects the file before anything
        // running is touched.
        let new_hooks = match lvs::Hooks::build(&new, &|line, what| {
            self.vrrp.lvs_command(line, what).map_err(|e| e.to_string())
        }) {
            Ok(h) => h,
            Err(e) => return self.reload_rejected(e),
        };
        // New checks first: a checker that cannot be built rejects
        // the reload before anything running is touched.
        let new_checks = if new.virtual_servers != self.config.virtual_servers {
            match self.reload_checks(&new, now) {
                Ok(c) => Some(c),
                Err(e) => return self.reload_rejected(e),
            }
        } else {
            None
        };
        if let Some(lvs) = &mut self.lvs {
            if let Err(e) = lvs.load(&new, now) {
                let rejected = self.reload_rejected(e);
                // Put the running table back exactly as it was.
                if let Some(lvs) = &mut self.lvs {
                    if let Err(e) = lvs.load(&self.config, now) {
                        error!("restoring the running IPVS table: {e}");
                    }
                }
                return rejected;
            }
        }
        let new_checks_built = new_checks.is_some();
        if let Some(fresh) = new_checks {
            self.swap_checks(cx, fresh);
        }
        self.hooks = new_hooks;
        Ok(self.reload_applied(new, digest, new_checks_built, started))
    }

    /// The checks of a changed file, starting from the health the IPVS
    /// table already holds.
    fn reload_checks(&self, new: &Config, now: Instant) -> Result<checks::Checks, String> {
        let lvs = &self.lvs;
        let known = |s: &crate::wire::netlink::ipvs::ServiceKey,
                     d: &crate::wire::netlink::ipvs::DestKey| {
            lvs.as_ref().and_then(|l| l.known_health(s, d))
        };
        checks::Checks::setup(new, now, &known)
    }

    /// Stops the running checks (and their timers) and starts `fresh`.
    fn swap_checks(&mut self, cx: &mut Context<'_, TimerKind>, mut fresh: checks::Checks) {
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

    /// The last step of an accepted reload: `new` becomes the running
    /// configuration.
    fn reload_applied(
        &mut self,
        new: Config,
        digest: [u8; 16],
        new_checks_built: bool,
        started: Stopwatch,
    ) -> String {
        let applied = if new_checks_built {
            "virtual servers, real servers and checks rebuilt; VRRP unchanged"
        } else {
            "global keys only (virtual servers and VRRP unchanged)"
        };
        let text = format!(
            "reload: {} accepted and applied in {} ms: {applied}",
            self.config_path.display(),
            started.elapsed().as_millis()
        );
        match &mut self.announce {
            Some(announce) => announce.load(&new),
            None if new.virtual_servers.iter().any(|v| v.announce.is_some()) => warn!(
                "reload: announce mode needs a restart to create its device; nothing is announced yet"
            ),
            None => {}
        }
        info!("{text}");
        crate::io::log::configure(log_settings(&new));
        self.last_reload = format!("applied: {applied}");
        self.config = new;
        self.follow_sync_instance();
        self.apply_ha_suspend();
        // Only an accepted file counts as the running one: after a
        // rejection the same bytes must be parsed (and refused) again.
        self.config_md5 = digest;
        self.last_load_wall = wall_now();
        text
    }

    /// After a reload: the sync daemon follows the instance it now names
    /// (by name), in that instance's present state.
    fn follow_sync_instance(&mut self) {
        let Some(lvs) = &mut self.lvs else { return };
        for (name, state) in self.vrrp.states() {
            let state = match state {
                crate::vrrp::instance::State::Master => NotifyState::Master,
                crate::vrrp::instance::State::Backup => NotifyState::Backup,
                crate::vrrp::instance::State::Fault => NotifyState::Fault,
                _ => continue,
            };
            lvs.on_vrrp_state(name, state);
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
                    RtEvent::NewLink(link) => {
                        self.vrrp.on_link(now, link.ifindex, link.is_up());
                        self.vrrp
                            .on_link_routes(&mut self.rtnl, now, link.ifindex, link.is_up());
                    }
                    RtEvent::DelLink(link) => {
                        self.vrrp.on_link(now, link.ifindex, false);
                        self.vrrp
                            .on_link_routes(&mut self.rtnl, now, link.ifindex, false);
                        if !dump && !self.stopping {
                            self.vrrp.on_link_deleted(link.ifindex);
                        }
                    }
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
                    RtEvent::DelRoute(route) if !dump => {
                        self.vrrp.on_route_deleted(&mut self.rtnl, now, &route)
                    }
                    RtEvent::DelRule(rule) if !dump => {
                        self.vrrp.on_rule_deleted(&mut self.rtnl, now, &rule)
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

    fn on_metrics(&mut self, cx: &mut Context<'_, TimerKind>, source: Source) {
        match source {
            Source::MetricsListener => loop {
                let Some(listener) = &self.metrics else {
                    return;
                };
                match listener.accept() {
                    Ok(Some(stream)) => {
                        let slot = match self.metrics_conns.iter().position(Option::is_none) {
                            Some(s) => s,
                            None if self.metrics_conns.len() < MAX_METRICS_CONNS => {
                                self.metrics_conns.push(None);
                                self.metrics_conns.len() - 1
                            }
                            None => {
                                // Dropping the stream closes it: a scraper
                                // retries; the loop is not held.
                                warn!(
                                    "metrics: {MAX_METRICS_CONNS} connections open; refusing one"
                                );
                                continue;
                            }
                        };
                        let mut conn = MetricsConn::new(stream, cx.now);
                        if cx
                            .registry
                            .register(
                                conn.source(),
                                Source::MetricsConn(slot).token(),
                                Interest::READABLE | Interest::WRITABLE,
                            )
                            .is_ok()
                        {
                            self.metrics_conns[slot] = Some(conn);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        warn!("metrics: accept: {e}");
                        break;
                    }
                }
            },
            Source::MetricsConn(slot) => {
                let Some(Some(conn)) = self.metrics_conns.get_mut(slot) else {
                    return;
                };
                match conn.on_readable(cx.now) {
                    MetricsState::Request(HttpRequest::Metrics { head_only }) => {
                        self.now_or_later(cx, Pending::Metrics(slot, head_only))
                    }
                    MetricsState::Request(HttpRequest::Refused(code, reason)) => {
                        let body = format!("{code} {reason}: lvsd serves GET /metrics only\n");
                        let bytes = crate::io::metrics::response(
                            code,
                            reason,
                            "text/plain; charset=utf-8",
                            body.as_bytes(),
                            false,
                        );
                        self.metrics_reply(cx, slot, bytes);
                    }
                    MetricsState::Closed => self.close_metrics(cx, slot),
                    MetricsState::MoreToWrite => {
                        if !self.metrics_more.contains(&slot) {
                            self.metrics_more.push(slot);
                        }
                    }
                    MetricsState::Reading | MetricsState::Writing => {}
                }
            }
            _ => {}
        }
    }

    /// Renders the next slices, writes on where the budget stopped, and
    /// closes metrics connections past their idle deadline.
    fn metrics_idle(&mut self, cx: &mut Context<'_, TimerKind>) {
        if self.metrics_next_slice.is_some_and(|at| at <= cx.now) {
            self.metrics_slices(cx);
        }
        for slot in std::mem::take(&mut self.metrics_more) {
            let Some(Some(conn)) = self.metrics_conns.get_mut(slot) else {
                continue;
            };
            match conn.flush_at(Some(cx.now)) {
                MetricsState::Closed => self.close_metrics(cx, slot),
                MetricsState::MoreToWrite => self.metrics_more.push(slot),
                _ => {}
            }
        }
        for slot in 0..self.metrics_conns.len() {
            let expired = self.metrics_conns[slot]
                .as_ref()
                .is_some_and(|c| c.deadline <= cx.now);
            if expired {
                self.close_metrics(cx, slot);
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
