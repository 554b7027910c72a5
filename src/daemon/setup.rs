//! Setting the daemon up: the configuration loaded, privileges dropped,
//! every source opened and registered, every part built; and the errors of it.

use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use mio::unix::SourceFd;
use mio::Interest;

use super::{
    announce, checks, lvs, observe, test_hook, vrrp, Daemon, Loop, Options, Resync, FIRST_COST,
};
use crate::config::{self, Config, ConfigError};
use crate::io::caps;
use crate::io::control::{Access, ControlListener, ControlServer};
use crate::io::event_loop::Source;
use crate::io::metrics::MetricsListener;
use crate::io::netlink::{NetlinkError, Rtnl, RtnlEvents};
use crate::io::signal::Signals;
use crate::io::stopwatch::wall_now;
use crate::limits::{MAX_CONTROL_CONNS, MAX_METRICS_CONNS, RTNL_BUDGET};

/// Why the daemon could not run. Each names what it was setting up; the
/// exit code of each is chosen in one place, `cli::Exit::from`.
#[derive(Debug)]
pub enum DaemonError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// A system call while setting something up failed.
    Io {
        /// What was being set up (a socket, a file, a capability set).
        what: String,
        /// Why.
        source: io::Error,
    },
    /// `control_socket_group` names no group.
    NoSuchGroup {
        /// The control socket.
        socket: std::path::PathBuf,
        /// The group's name.
        group: String,
    },
    /// A netlink request while setting up failed.
    Netlink {
        /// What was asked.
        what: &'static str,
        /// Why (boxed: a netlink error is large, and errors are rare).
        source: Box<NetlinkError>,
    },
    /// The VRRP side (instances, VMACs, scripts, commands) could not be set up.
    Vrrp(vrrp::SetupError),
    /// The IPVS side could not be set up.
    Lvs(lvs::LvsError),
    /// The health checks could not be built.
    Checks(checks::SetupError),
    /// Announce mode could not start.
    Announce(announce::SetupError),
    /// The event loop failed.
    Loop(io::Error),
}

impl std::fmt::Display for DaemonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DaemonError::Config(e) => write!(f, "{e}"),
            DaemonError::Io { what, source } => write!(f, "{what}: {source}"),
            DaemonError::NoSuchGroup { socket, group } => write!(
                f,
                "control socket {}: control_socket_group {group:?}: no such group in /etc/group",
                socket.display()
            ),
            DaemonError::Netlink { what, source } => write!(f, "{what}: {source}"),
            DaemonError::Vrrp(e) => write!(f, "{e}"),
            DaemonError::Lvs(e) => write!(f, "{e}"),
            DaemonError::Checks(e) => write!(f, "{e}"),
            DaemonError::Announce(e) => write!(f, "{e}"),
            DaemonError::Loop(e) => write!(f, "event loop: {e}"),
        }
    }
}

impl std::error::Error for DaemonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DaemonError::Config(e) => Some(e),
            DaemonError::Io { source, .. } | DaemonError::Loop(source) => Some(source),
            DaemonError::Netlink { source, .. } => Some(source.as_ref()),
            DaemonError::Lvs(e) => Some(e),
            DaemonError::Checks(e) => Some(e),
            DaemonError::Announce(e) => Some(e),
            DaemonError::Vrrp(e) => Some(e),
            DaemonError::NoSuchGroup { .. } => None,
        }
    }
}

/// The error of setting up `what` with a failing system call.
pub(super) fn setup_err(what: &str) -> impl Fn(io::Error) -> DaemonError + '_ {
    move |source| DaemonError::Io {
        what: what.to_owned(),
        source,
    }
}

/// Registers `fd` with the loop for reading, as `source`.
pub(super) fn register_fd(
    ev: &Loop,
    fd: i32,
    source: Source,
    what: &str,
) -> Result<(), DaemonError> {
    ev.registry()
        .register(&mut SourceFd(&fd), source.token(), Interest::READABLE)
        .map_err(setup_err(what))
}

/// Least privilege, before anything reads outside input: the bounding set
/// and the permitted set shrink now; what only the control socket's group
/// needs (setfsgid, chown) goes right after it is bound.
pub(super) fn bind_control(
    config: &Config,
    opts: &Options,
    ev: &Loop,
) -> Result<ControlServer, DaemonError> {
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
pub(super) fn setup_lvs_checks(
    config: &Config,
    now: Instant,
    dry_run: bool,
) -> Result<(Option<lvs::Lvs>, checks::Checks), DaemonError> {
    let lvs = lvs::Lvs::setup(config, now, dry_run).map_err(DaemonError::Lvs)?;
    let known = |s: &crate::wire::netlink::ipvs::ServiceKey,
                 d: &crate::wire::netlink::ipvs::DestKey| {
        lvs.as_ref().and_then(|l| l.known_health(s, d))
    };
    let checks = checks::Checks::setup(config, now, &known).map_err(DaemonError::Checks)?;
    Ok((lvs, checks))
}

/// The rtnetlink event socket, registered with the loop.
pub(super) fn open_rtnl(ev: &Loop) -> Result<RtnlEvents, DaemonError> {
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
pub(super) fn setup_vrrp(
    config: &Config,
    vmacs: vrrp::vmac::Vmacs,
    ev: &Loop,
) -> Result<vrrp::Vrrp, DaemonError> {
    let mut vrrp = vrrp::Vrrp::setup(config, vmacs, ev.now()).map_err(DaemonError::Vrrp)?;
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
pub(super) fn bind_metrics(
    config: &Config,
    ev: &Loop,
) -> Result<Option<MetricsListener>, DaemonError> {
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

/// The capabilities lvsd keeps for what the configuration asks (docs/operations.md):
/// - CAP_NET_ADMIN: the IPVS table (not with `--dry-run`), VIPs, the sync daemon,
///   and the process events `vrrp_track_process` subscribes to;
/// - CAP_NET_RAW: VRRP's raw sockets and the packet socket for gratuitous ARP/NA,
///   and PING_CHECK's raw ICMP socket;
/// - CAP_KILL, CAP_SETUID, CAP_SETGID: scripts that run as another user
///   (started as that user, and their process group signalled on timeout).
pub(super) fn needed_caps(config: &Config, dry_run: bool) -> caps::CapSet {
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
pub(super) fn drop_caps(bounding: caps::CapSet, keep: caps::CapSet) -> Result<(), DaemonError> {
    let before = caps::current().map_err(setup_err("reading capabilities"))?;
    let had = caps::bounding();
    if had & !bounding != 0 {
        if let Err(e) = caps::limit_bounding(bounding) {
            if before.permitted & !keep != 0 {
                return Err(setup_err("dropping capabilities from the bounding set")(e));
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
pub(super) fn log_settings(config: &Config) -> crate::io::log::Settings {
    use crate::io::log::Settings;
    let g = &config.global;
    Settings {
        target: g.log_target,
        facility: g.log_facility,
        format: g.log_format,
    }
}

/// The control socket with the mode, group and access rules of `[global]`.
pub(super) fn control_server(config: &Config, path: &Path) -> Result<ControlServer, DaemonError> {
    let g = &config.global;
    let what = format!("control socket {}", path.display());
    let mut access = Access::owner_only();
    access.mode = g.control_socket_mode;
    let gid = match &g.control_socket_group {
        None => None,
        Some(name) => {
            let group = crate::io::user::lookup_group(name)
                .map_err(setup_err(&what))?
                .ok_or_else(|| DaemonError::NoSuchGroup {
                    socket: path.to_owned(),
                    group: name.to_string(),
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

/// Warnings logged per load; the rest are counted (`lvsd check` prints them all).
/// A generated 1000 x 10 table would otherwise log 10,000 lines on every reload.
const LOGGED_WARNINGS: usize = 20;

/// The configuration file's bytes and their MD5 (a reload of the same bytes
/// is recognised without parsing them again).
pub(super) fn read_config(path: &Path) -> Result<(Vec<u8>, [u8; 16]), ConfigError> {
    use md5::{Digest, Md5};
    let bytes = crate::io::config_file::read_file(path)?;
    let digest: [u8; 16] = Md5::digest(&bytes).into();
    Ok((bytes, digest))
}

pub(super) fn load(path: &Path) -> Result<(Config, [u8; 16]), ConfigError> {
    let (bytes, digest) = read_config(path)?;
    Ok((parse(path, &bytes)?, digest))
}

/// Parses a configuration and logs its warnings.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
    let mut config = config::load_bytes(bytes, &path.display().to_string())?;
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
    /// Opens every source and builds every part, in the order privileges
    /// and dependencies need.
    pub(super) fn build(
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
        let vmacs = vrrp::vmac::prepare(&config).map_err(DaemonError::Vrrp)?;
        let rtnl = open_rtnl(ev)?;
        let vrrp = setup_vrrp(&config, vmacs, ev)?;
        let now = ev.now();
        let (lvs, checks) = setup_lvs_checks(&config, now, opts.dry_run)?;
        let hooks = lvs::Hooks::build(&config, &|line, what| vrrp.lvs_command(line, what))
            .map_err(DaemonError::Vrrp)?;
        let announce =
            announce::Announce::setup(&config, opts.dry_run).map_err(DaemonError::Announce)?;
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
    pub(super) fn start(&mut self, now: Instant, ev: &mut Loop) -> Result<(), DaemonError> {
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
            .map_err(|source| DaemonError::Netlink {
                what: "listing addresses",
                source: Box::new(source),
            })?;
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
}
