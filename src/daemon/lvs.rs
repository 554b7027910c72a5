//! IPVS wiring: the desired table from the configuration and health, the
//! reconcile against the kernel (at start, every `reconcile_interval`, and
//! after every health change), the connection-sync daemon that follows its
//! VRRP instance: keeping the kernel's IPVS state true to config and health.
//! The status view of the table (`ipvsadm -Ln` order) is in `lvs/model.rs`.

use std::time::{Duration, Instant};

use log::{error, info, warn};

use crate::config::{self, Config};
use crate::io::netlink::{Ipvs, IpvsError};
use crate::io::stopwatch::Stopwatch;
use crate::limits::IPVS_OPS_PER_TURN;
use crate::lvs::reconcile::{reconcile, Foreign, KernelTable, Plan};
use crate::lvs::table::{Admin, DestSpec, QuorumEvent, ServiceSpec, Table};
use crate::status::{addr_port, key_text};
use crate::vrrp::instance::NotifyState;
use crate::wire::netlink::ipvs::{
    AddrFamily, Dest, DestKey, DestStats, IpvsOp, Service, ServiceKey, ShortName, SyncDaemon,
    SyncState, Timeouts,
};

mod model;

use model::foreign_text;

/// How soon a reconcile checks writes whose ack was not there.
const UNANSWERED_RECHECK: Duration = Duration::from_secs(1);

/// How long a real server removed by reload keeps draining at most.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);
/// How often an operator's drain looks at the connection counters.
const ADMIN_DRAIN_POLL: Duration = Duration::from_secs(1);

/// Why the IPVS side could not start, or a configuration could not be loaded
/// into the desired table.
#[derive(Debug)]
pub enum LvsError {
    /// The kernel has no IPVS (`lvsd run` exits with the kernel code).
    Unavailable(IpvsError),
    /// The IPVS generic-netlink family could not be opened.
    Open(IpvsError),
    /// A virtual server does not fit the table.
    VirtualServer {
        /// Its name (the INI section).
        name: String,
        /// Why.
        source: crate::lvs::table::TableError,
    },
    /// A real server does not fit the table.
    RealServer {
        /// The virtual server's name.
        virtual_server: String,
        /// The real server's address.
        address: std::net::SocketAddr,
        /// Why.
        source: crate::lvs::table::TableError,
    },
}

impl std::fmt::Display for LvsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LvsError::Unavailable(e) | LvsError::Open(e) => write!(f, "{e}"),
            LvsError::VirtualServer { name, source } => {
                write!(f, "virtual_server {name}: {source}")
            }
            LvsError::RealServer {
                virtual_server,
                address,
                source,
            } => write!(
                f,
                "virtual_server {virtual_server} real server {address}: {source}"
            ),
        }
    }
}

impl std::error::Error for LvsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LvsError::Unavailable(e) | LvsError::Open(e) => Some(e),
            LvsError::VirtualServer { source, .. } | LvsError::RealServer { source, .. } => {
                Some(source)
            }
        }
    }
}

/// The desired IPVS service of a configured virtual server: scheduler,
/// persistence, quorum and sorry server.
fn service_spec(vs: &config::VirtualServer, key: ServiceKey) -> ServiceSpec {
    let mut service = Service::new(key, vs.scheduler.clone());
    // Announce mode: every director hashes a flow to the same real
    // server only when the source port is in the hash (docs/scale-out.md).
    if vs.announce.is_some() && vs.scheduler == crate::wire::netlink::ipvs::Scheduler::Mh {
        service.flags |= crate::wire::netlink::ipvs::flags::MH_PORT;
    }
    if let Some(t) = vs.persistence_timeout {
        let prefix = vs.persistence_granularity.unwrap_or(match key.af() {
            AddrFamily::V4 => 32,
            AddrFamily::V6 => 128,
        });
        service = service.persistent(t.as_secs().min(u64::from(u32::MAX)) as u32, prefix);
    }
    let mut spec = ServiceSpec::new(service);
    spec.quorum = vs.quorum;
    spec.hysteresis = vs.hysteresis;
    spec.sorry_server = vs
        .sorry_server
        .map(|sa| Dest::new(sa.ip(), sa.port(), vs.sorry_server_forward, 1));
    spec.sorry_server_inhibit = vs.sorry_server_inhibit;
    spec
}

/// The kernel key of a configured virtual server.
pub fn service_key(vs: &config::VirtualServer) -> ServiceKey {
    match vs.service {
        config::Service::Address(sa) => ServiceKey::Addr {
            protocol: vs.protocol,
            addr: sa.ip(),
            port: sa.port(),
        },
        config::Service::Fwmark { mark, ipv6 } => ServiceKey::Fwmark {
            af: if ipv6 { AddrFamily::V6 } else { AddrFamily::V4 },
            mark,
        },
    }
}

/// The kernel key of real server `rs` of `vs`.
pub fn dest_key(rs: &config::RealServer) -> DestKey {
    DestKey {
        addr: rs.address.ip(),
        port: rs.address.port(),
    }
}

/// A health event that may run a configured command (keepalived's
/// `quorum_up`/`quorum_down` of a virtual server, `notify_up`/`notify_down`
/// of a real server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// The live weight reached quorum + hysteresis.
    QuorumUp(ServiceKey),
    /// The live weight fell below quorum - hysteresis.
    QuorumDown(ServiceKey),
    /// A real server became alive (all its checkers up).
    ServerUp(ServiceKey, DestKey),
    /// A real server stopped being alive.
    ServerDown(ServiceKey, DestKey),
}

/// The log line of a hook: `virtual server TCP 10.0.0.1:80: quorum lost`.
pub fn hook_text(h: &Hook) -> String {
    match h {
        Hook::QuorumUp(k) => format!("virtual server {}: quorum gained", key_text(k)),
        Hook::QuorumDown(k) => format!("virtual server {}: quorum lost", key_text(k)),
        Hook::ServerUp(k, d) => format!(
            "virtual server {}: real server {} up",
            key_text(k),
            addr_port(d.addr, d.port)
        ),
        Hook::ServerDown(k, d) => format!(
            "virtual server {}: real server {} down",
            key_text(k),
            addr_port(d.addr, d.port)
        ),
    }
}

/// A command line split and vetted at load.
pub type Command = Vec<std::ffi::OsString>;

/// The commands of the virtual and real servers, split at load (start and
/// reload) so a bad one refuses the file, and looked up per [`Hook`].
#[derive(Debug, Default)]
pub struct Hooks {
    /// (service, quorum_up, quorum_down, omega).
    services: Vec<(ServiceKey, Option<Command>, Option<Command>, bool)>,
    /// (service, real server, notify_up, notify_down).
    servers: Vec<(ServiceKey, DestKey, Option<Command>, Option<Command>)>,
}

impl Hooks {
    /// Splits every command of `cfg` with `split(line, "what")`; its error
    /// (which names `what`) is passed on.
    pub fn build<E>(
        cfg: &Config,
        split: &dyn Fn(&str, &str) -> Result<Command, E>,
    ) -> Result<Hooks, E> {
        let mut hooks = Hooks::default();
        for vs in &cfg.virtual_servers {
            let key = service_key(vs);
            let one = |line: Option<&str>, what: &str| {
                line.map(|l| split(l, &format!("virtual_server {}: {what}", vs.name)))
                    .transpose()
            };
            let up = one(vs.quorum_up.as_deref(), "quorum_up")?;
            let down = one(vs.quorum_down.as_deref(), "quorum_down")?;
            if up.is_some() || down.is_some() || vs.omega {
                hooks.services.push((key, up, down, vs.omega));
            }
            for rs in &vs.real_servers {
                let what = |k: &str| format!("real_server {}/{}: {k}", vs.name, rs.address);
                let up = rs
                    .notify_up
                    .as_deref()
                    .map(|l| split(l, &what("notify_up")))
                    .transpose()?;
                let down = rs
                    .notify_down
                    .as_deref()
                    .map(|l| split(l, &what("notify_down")))
                    .transpose()?;
                if up.is_some() || down.is_some() {
                    hooks.servers.push((key, dest_key(rs), up, down));
                }
            }
        }
        Ok(hooks)
    }

    /// The command `hook` runs, if one is configured.
    pub fn command(&self, hook: &Hook) -> Option<&Command> {
        match hook {
            Hook::QuorumUp(k) | Hook::QuorumDown(k) => {
                let (_, up, down, _) = self.services.iter().find(|s| s.0 == *k)?;
                if matches!(hook, Hook::QuorumUp(_)) {
                    up
                } else {
                    down
                }
                .as_ref()
            }
            Hook::ServerUp(k, d) | Hook::ServerDown(k, d) => {
                let (_, _, up, down) = self.servers.iter().find(|s| s.0 == *k && s.1 == *d)?;
                if matches!(hook, Hook::ServerUp(..)) {
                    up
                } else {
                    down
                }
                .as_ref()
            }
        }
    }

    /// Whether `service` has `omega`: its down commands also run at shutdown.
    pub fn omega(&self, service: &ServiceKey) -> bool {
        self.services.iter().any(|s| s.0 == *service && s.3)
    }
}

/// Where the table lives: the kernel, or memory for `lvsd run --dry-run`.
enum Backend {
    Kernel(Ipvs),
    Simulated(KernelTable, SimulatedKernel),
}

/// The rest of a simulated kernel: sync daemons and connection timeouts.
#[derive(Debug, Default)]
struct SimulatedKernel {
    daemons: Vec<SyncDaemon>,
    timeouts: Timeouts,
}

impl Backend {
    fn dump(&mut self, table: &mut KernelTable) -> Result<(), IpvsError> {
        match self {
            Backend::Kernel(ipvs) => {
                let KernelTable {
                    services,
                    dests,
                    service_stats,
                } = table;
                ipvs.dump(services, dests, service_stats)
            }
            Backend::Simulated(k, _) => {
                table.services.clone_from(&k.services);
                table.dests.clone_from(&k.dests);
                table.service_stats.clear();
                table
                    .service_stats
                    .extend(k.services.iter().map(|s| (s.key, Default::default())));
                Ok(())
            }
        }
    }

    /// The services (and their counters) only: the first step of a read in
    /// slices ([`Lvs::read_begin`]).
    fn dump_services(&mut self, table: &mut KernelTable) -> Result<(), IpvsError> {
        table.dests.clear();
        match self {
            Backend::Kernel(ipvs) => {
                ipvs.dump_services(&mut table.services, &mut table.service_stats)
            }
            Backend::Simulated(k, _) => {
                table.services.clone_from(&k.services);
                table.service_stats.clear();
                table
                    .service_stats
                    .extend(k.services.iter().map(|s| (s.key, Default::default())));
                Ok(())
            }
        }
    }

    /// Appends the destinations of `key` to `table.dests`.
    fn dump_dests(&mut self, key: &ServiceKey, table: &mut KernelTable) -> Result<(), IpvsError> {
        match self {
            Backend::Kernel(ipvs) => ipvs.dump_dests(key, &mut table.dests),
            Backend::Simulated(k, _) => {
                table
                    .dests
                    .extend(k.dests.iter().filter(|(s, _, _)| s == key).copied());
                Ok(())
            }
        }
    }

    fn apply(
        &mut self,
        ops: &[IpvsOp],
        on_failure: impl FnMut(crate::io::netlink::OpFailure<'_>),
    ) -> Result<crate::io::netlink::ApplyReport, IpvsError> {
        match self {
            Backend::Kernel(ipvs) => ipvs.apply(ops, on_failure),
            Backend::Simulated(k, _) => {
                let failed = crate::lvs::reconcile::apply_to(k, ops);
                Ok(crate::io::netlink::ApplyReport {
                    sent: ops.len(),
                    failed,
                    unanswered: 0,
                })
            }
        }
    }

    fn start_daemon(&mut self, d: &SyncDaemon) -> Result<(), IpvsError> {
        match self {
            Backend::Kernel(ipvs) => ipvs.start_daemon(d),
            Backend::Simulated(_, sim) => {
                sim.daemons.retain(|x| x.state != d.state);
                sim.daemons.push(d.clone());
                Ok(())
            }
        }
    }

    fn stop_daemon(&mut self, state: SyncState) -> Result<(), IpvsError> {
        match self {
            Backend::Kernel(ipvs) => ipvs.stop_daemon(state),
            Backend::Simulated(_, sim) => {
                sim.daemons.retain(|x| x.state != state);
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> Result<(), IpvsError> {
        match self {
            Backend::Kernel(ipvs) => ipvs.flush(),
            Backend::Simulated(k, _) => {
                k.services.clear();
                k.dests.clear();
                Ok(())
            }
        }
    }

    fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        match self {
            Backend::Kernel(ipvs) => ipvs.set_timeouts(t),
            Backend::Simulated(_, sim) => {
                // SET_CONFIG leaves a zero field unchanged.
                for (have, want) in [
                    (&mut sim.timeouts.tcp, t.tcp),
                    (&mut sim.timeouts.tcp_fin, t.tcp_fin),
                    (&mut sim.timeouts.udp, t.udp),
                ] {
                    if want != 0 {
                        *have = want;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The IPVS side of the daemon.
pub struct Lvs {
    ipvs: Backend,
    table: Table,
    kernel: KernelTable,
    plan: Plan,
    foreign: Vec<Foreign>,
    /// Dump the kernel and converge at the latest then.
    next_reconcile: Instant,
    interval: Duration,
    /// A health change or reload wants a reconcile as soon as possible.
    dirty: bool,
    /// Writes sent, and refused, since start.
    pub writes: u64,
    /// Writes the kernel refused since start.
    pub failures: u64,
    /// Reconciles run.
    pub reconciles: u64,
    /// Writes whose ack was not there when read.
    pub unanswered: u64,
    /// The configured sync daemon.
    sync: Option<SyncSetup>,
    /// The state of the daemon that follows an instance.
    sync_state: Option<SyncState>,
    /// Master and backup run together (no instance to follow).
    sync_both: bool,
    /// The kernel's connection timeouts when lvsd started (restored at stop
    /// and when `lvs_timeouts` leaves the file), as keepalived keeps them.
    original_timeouts: Option<Timeouts>,
    /// The `lvs_timeouts` last written (None: lvsd has not touched them).
    timeouts_set: Option<Timeouts>,
    /// `lvs_flush_on_stop`.
    flush_on_stop: config::FlushOnStop,
    /// The reason of the latest change per real server: (service, dest) -> text.
    /// Shared with the status model (no copy per real server per scrape).
    reasons: Vec<(ServiceKey, DestKey, std::rc::Rc<str>)>,
    /// The configured name of each virtual server, for error lines.
    names: Vec<(ServiceKey, String)>,
    /// Refused writes of the previous reconcile: repeats are counted, not logged again.
    refused: Vec<String>,
    /// IPVS version and connection-table size, for the status header.
    info: (u32, u32),
    /// Wall time of the latest reconcile (dump, plan and writes).
    last_took: Duration,
    /// A due reconcile put off behind a VRRP timer, until then.
    deferred: Option<Instant>,
    /// Reconcile durations.
    durations: super::lateness::Lateness,
    /// When the last reconcile ran (loop time).
    last_reconcile_at: Instant,
    /// Health events since the daemon last took them (for the commands).
    pub hooks: Vec<Hook>,
    /// A plan being applied over several turns.
    progress: Option<Progress>,
    /// /proc/net/ip_vs_stats could not be read (logged once).
    totals_warned: bool,
    /// The kernel table read for the status model, apart from the
    /// reconcile's buffers: a read in slices never mixes with a reconcile.
    read: KernelTable,
    /// The read in progress: the next service whose destinations to read.
    read_next: Option<usize>,
    /// The read failed with this message.
    read_error: Option<String>,
}

/// The sync daemon as configured: its kernel settings (the state field is
/// set when it starts) and the VRRP instance it follows, by name (a reload
/// may reorder the file); no instance runs master and backup together.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SyncSetup {
    daemon: SyncDaemon,
    instance: Option<String>,
}

impl SyncSetup {
    fn of(s: &config::LvsSyncDaemon) -> SyncSetup {
        let mut interface = ShortName::new();
        for c in s.interface.chars() {
            let _ = interface.push(c);
        }
        SyncSetup {
            daemon: SyncDaemon {
                state: SyncState::Backup,
                interface,
                sync_id: u32::from(s.sync_id),
                max_len: s.max_len,
                group: s.group,
                port: s.port,
                ttl: s.ttl,
            },
            instance: s.instance.as_deref().map(str::to_owned),
        }
    }
}

/// `lvs_timeouts` over the kernel's original values: a field left at 0 in
/// the file is written back as it was (keepalived's ipvs_set_timeout).
fn timeouts_over(want: &Timeouts, original: Option<&Timeouts>) -> Timeouts {
    let pick = |w: u32, o: Option<u32>| if w != 0 { w } else { o.unwrap_or(0) };
    Timeouts {
        tcp: pick(want.tcp, original.map(|o| o.tcp)),
        tcp_fin: pick(want.tcp_fin, original.map(|o| o.tcp_fin)),
        udp: pick(want.udp, original.map(|o| o.udp)),
    }
}

/// Where the application of a plan stands (see `Lvs::apply_turn`).
struct Progress {
    /// The next op of `plan.ops` to send.
    next: usize,
    /// The start's reconcile (logged as one line, then verified).
    first: bool,
    started: Stopwatch,
    sent: usize,
    failed: usize,
    refused: Vec<String>,
}

impl Lvs {
    /// Opens IPVS when the configuration needs it (virtual servers, a sync
    /// daemon, `lvs_timeouts`, `lvs_flush` or a flushing `lvs_flush_on_stop`:
    /// keepalived ignores those without a virtual server, lvsd applies them);
    /// `Ok(None)` for a VRRP-only configuration.
    /// With `dry_run` the table is kept in memory and nothing touches the kernel.
    pub fn setup(cfg: &Config, now: Instant, dry_run: bool) -> Result<Option<Lvs>, LvsError> {
        let g = &cfg.global;
        if cfg.virtual_servers.is_empty()
            && g.lvs_sync_daemon.is_none()
            && g.lvs_timeouts.is_none()
            && !g.lvs_flush
            && g.lvs_flush_on_stop == config::FlushOnStop::No
        {
            return Ok(None);
        }
        let (ipvs, info) = if dry_run {
            info!("dry run: the IPVS table is simulated in memory; the kernel is not touched");
            return Lvs::start(
                Backend::Simulated(KernelTable::default(), SimulatedKernel::default()),
                (0x01_02_01, 4096),
                cfg,
                now,
            )
            .map(Some);
        } else {
            let mut ipvs = Ipvs::open().map_err(|e| match e {
                IpvsError::Unavailable => LvsError::Unavailable(e),
                other => LvsError::Open(other),
            })?;
            let info = match ipvs.info() {
                Ok(i) => (i.version, i.conn_tab_size),
                Err(e) => {
                    warn!("IPVS GET_INFO: {e}");
                    (0, 0)
                }
            };
            (Backend::Kernel(ipvs), info)
        };
        let mut lvs = Lvs::start(ipvs, info, cfg, now)?;
        // From here on the loop runs: never wait for a reply (see
        // `NetlinkSocket::set_reply_wait`); a missing ack is settled by the
        // next dump.
        if let Backend::Kernel(ipvs) = &mut lvs.ipvs {
            ipvs.set_reply_wait(Duration::ZERO);
        }
        Ok(Some(lvs))
    }

    fn start(ipvs: Backend, info: (u32, u32), cfg: &Config, now: Instant) -> Result<Lvs, LvsError> {
        let mut lvs = Lvs {
            ipvs,
            table: Table::new(),
            kernel: KernelTable::with_capacity(64, 256),
            plan: Plan::with_capacity(256),
            foreign: Vec::new(),
            next_reconcile: now,
            interval: cfg.global.reconcile_interval,
            dirty: true,
            writes: 0,
            failures: 0,
            reconciles: 0,
            unanswered: 0,
            sync: None,
            sync_state: None,
            sync_both: false,
            original_timeouts: None,
            timeouts_set: None,
            flush_on_stop: cfg.global.lvs_flush_on_stop,
            reasons: Vec::new(),
            names: Vec::new(),
            refused: Vec::new(),
            info,
            last_took: Duration::ZERO,
            deferred: None,
            durations: super::lateness::Lateness::new(),
            last_reconcile_at: now,
            hooks: Vec::with_capacity(64),
            progress: None,
            totals_warned: false,
            read: KernelTable::default(),
            read_next: None,
            read_error: None,
        };
        lvs.stop_stale_daemons();
        match &mut lvs.ipvs {
            Backend::Kernel(ipvs) => match ipvs.timeouts() {
                Ok(t) => lvs.original_timeouts = Some(t),
                Err(e) => warn!("IPVS GET_CONFIG (connection timeouts): {e}"),
            },
            Backend::Simulated(_, sim) => lvs.original_timeouts = Some(sim.timeouts),
        }
        if cfg.global.lvs_flush {
            // keepalived's lvs_flush: at start only, never on reload.
            match lvs.ipvs.flush() {
                Ok(()) => info!("IPVS: table flushed at start (lvs_flush)"),
                Err(e) => error!("IPVS flush at start (lvs_flush): {e}"),
            }
        }
        // What the kernel holds before the first load: an earlier run's
        // working real servers are adopted as alive (see `load`).
        if let Err(e) = lvs.ipvs.dump(&mut lvs.kernel) {
            warn!("IPVS dump at start: {e}; nothing adopted");
        }
        lvs.load(cfg, now)?;
        Ok(lvs)
    }

    /// Whether the last kernel dump holds `dest` in `service` with a weight,
    /// that is, serving (a weight-0 entry is an inhibited, dead server).
    fn serving_in_kernel(&self, service: &ServiceKey, dest: &DestKey) -> bool {
        self.kernel
            .dests
            .iter()
            .any(|(s, d, _)| s == service && d.key == *dest && d.weight > 0)
    }

    /// Loads (or reloads) the desired table from `cfg`. Health of real
    /// servers that stay is kept by the table.
    pub fn load(&mut self, cfg: &Config, now: Instant) -> Result<(), LvsError> {
        self.table.begin_load();
        self.names = cfg
            .virtual_servers
            .iter()
            .map(|vs| (service_key(vs), vs.name.to_string()))
            .collect();
        for vs in &cfg.virtual_servers {
            let key = service_key(vs);
            let spec = service_spec(vs, key);
            self.table
                .put_service(spec)
                .map_err(|source| LvsError::VirtualServer {
                    name: vs.name.to_string(),
                    source,
                })?;
            for rs in &vs.real_servers {
                let mut d = Dest::new(rs.address.ip(), rs.address.port(), rs.forward, rs.weight);
                d.upper_threshold = rs.uthreshold;
                d.lower_threshold = rs.lthreshold;
                // Without alpha a server is in the table from the start and
                // its first failure removes it (BEHAVIOUR.md, health checks).
                // With alpha it joins on its first success, except one the
                // kernel already serves (lvsd restarted): it keeps serving
                // until its first verdict, so a restart is no outage.
                let alive = !vs.alpha || self.serving_in_kernel(&key, &dest_key(rs));
                self.table
                    .put_dest(
                        &key,
                        DestSpec {
                            dest: d,
                            inhibit_on_failure: rs.inhibit_on_failure,
                        },
                        alive,
                    )
                    .map_err(|source| LvsError::RealServer {
                        virtual_server: vs.name.to_string(),
                        address: rs.address,
                        source,
                    })?;
            }
        }
        self.table.end_load(now, DRAIN_TIMEOUT);
        // A plan still being applied was made for the old table: the next
        // reconcile dumps afresh.
        self.progress = None;
        self.interval = cfg.global.reconcile_interval;
        self.flush_on_stop = cfg.global.lvs_flush_on_stop;
        self.apply_timeouts(cfg.global.lvs_timeouts);
        let sync = cfg.global.lvs_sync_daemon.as_ref().map(SyncSetup::of);
        if sync != self.sync {
            // Another interface, sync id, setting or instance: the running
            // daemon stops; the daemon's next state report starts the new
            // one (at once when it follows no instance).
            self.stop_sync_daemons();
            self.sync = sync;
            if self.sync.as_ref().is_some_and(|s| s.instance.is_none()) {
                self.start_both_sync_daemons();
            }
        }
        self.dirty = true;
        Ok(())
    }

    /// When the daemon must call [`Lvs::on_timer`] next.
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        if let Some(at) = self.deferred {
            return Some(at);
        }
        if self.progress.is_some() {
            return Some(now);
        }
        let mut at = self.next_reconcile;
        if self.dirty {
            at = at.min(now);
        }
        if let Some(d) = self.table.poll_at() {
            at = at.min(d);
        }
        if self.table.admin_draining() {
            // An operator's drain ends with its last active connection:
            // look at the counters every second, not every reconcile_interval.
            at = at.min(self.last_reconcile_at + ADMIN_DRAIN_POLL);
        }
        Some(at)
    }

    /// Whether a reconcile is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        self.progress.is_some()
            || self.dirty
            || now >= self.next_reconcile
            || self.table.poll_at().is_some_and(|d| d <= now)
            || (self.table.admin_draining() && now >= self.last_reconcile_at + ADMIN_DRAIN_POLL)
    }

    /// Puts the due reconcile off until `at` (the daemon lets a VRRP timer go first).
    pub fn defer(&mut self, at: Instant) {
        self.deferred = Some(at);
    }

    /// Whether the due reconcile was put off already (it is, at most once).
    pub fn is_deferred(&self) -> bool {
        self.deferred.is_some()
    }

    /// What the last reconcile took.
    pub fn last_took(&self) -> Duration {
        self.last_took
    }

    /// Runs a reconcile when one is due.
    pub fn on_timer(&mut self, now: Instant) {
        if self.is_due(now) {
            self.reconcile(now);
        }
    }

    /// Dumps the kernel table, computes the minimal writes, applies them
    /// (IPVS_OPS_PER_TURN per call: a bigger plan goes on at the next call,
    /// without a new dump).
    pub fn reconcile(&mut self, now: Instant) {
        self.deferred = None;
        let started = Stopwatch::start();
        if self.progress.is_some() {
            self.apply_turn(now);
        } else {
            self.reconcile_inner(now, started);
        }
        if self.progress.is_none() {
            self.plan.shrink(256);
        }
        self.last_took = started.elapsed();
        self.durations.record(self.last_took);
    }

    fn reconcile_inner(&mut self, now: Instant, started: Stopwatch) {
        self.dirty = false;
        self.last_reconcile_at = now;
        self.next_reconcile = now + self.interval;
        self.reconciles += 1;
        if let Err(e) = self.ipvs.dump(&mut self.kernel) {
            error!("IPVS dump failed, reconcile skipped: {e}");
            return;
        }
        reconcile(&mut self.table, &mut self.kernel, now, &mut self.plan);
        if self.plan.foreign != self.foreign {
            for f in &self.plan.foreign {
                if !self.foreign.contains(f) {
                    info!(
                        "IPVS entry not owned by lvsd, left alone: {}",
                        foreign_text(f)
                    );
                }
            }
            self.foreign = self.plan.foreign.clone();
        }
        if self.plan.ops.is_empty() {
            self.refused.clear();
            return;
        }
        self.progress = Some(Progress {
            next: 0,
            first: self.reconciles == 1,
            started,
            sent: 0,
            failed: 0,
            refused: Vec::new(),
        });
        self.apply_turn(now);
    }

    /// Applies the next IPVS_OPS_PER_TURN writes of the plan; the rest waits
    /// for the next turn (`poll_at` asks for it at once), so a big plan never
    /// keeps the loop from a VRRP timer for long.
    fn apply_turn(&mut self, now: Instant) {
        let Some(mut p) = self.progress.take() else {
            return;
        };
        let end = (p.next + IPVS_OPS_PER_TURN).min(self.plan.ops.len());
        let chunk = self.plan.ops.get(p.next..end).unwrap_or(&[]);
        let mut failures = 0u64;
        let (names, last) = (&self.names, &self.refused);
        let mut refused_ops = Vec::new();
        let report = self.ipvs.apply(chunk, |f| {
            failures += 1;
            refused_ops.push(f.op.clone());
            let key = match f.op {
                IpvsOp::NewService(s) | IpvsOp::SetService(s) => s.key,
                IpvsOp::DelService(k)
                | IpvsOp::NewDest(k, _)
                | IpvsOp::SetDest(k, _)
                | IpvsOp::DelDest(k, _) => *k,
            };
            let line = match names.iter().find(|(k, _)| *k == key) {
                Some((_, name)) => format!("virtual_server {name}: IPVS {f}"),
                None => format!("IPVS {f}"),
            };
            if !last.contains(&line) {
                error!("{line}");
            }
            p.refused.push(line);
        });
        p.next = end;
        match report {
            Ok(r) => {
                self.writes += r.sent as u64;
                self.failures += failures;
                p.sent += r.sent;
                p.failed += r.failed;
                if r.unanswered > 0 {
                    self.unanswered += r.unanswered as u64;
                    warn!(
                        "IPVS: {} write(s) not acknowledged yet (not waited for); the next dump, in {UNANSWERED_RECHECK:?}, checks them",
                        r.unanswered
                    );
                    self.next_reconcile = self.next_reconcile.min(now + UNANSWERED_RECHECK);
                }
                if !p.first {
                    for op in chunk.iter().filter(|o| !refused_ops.contains(o)) {
                        info!("IPVS {op}");
                    }
                }
            }
            Err(e) => {
                error!("IPVS apply: {e}");
                self.refused = p.refused;
                return;
            }
        }
        if p.next < self.plan.ops.len() {
            self.progress = Some(p);
            return;
        }
        self.refused = p.refused;
        if p.first {
            info!(
                "IPVS table converged: {} write(s), {} refused, {} entr(ies) adopted as they were, in {} ms",
                p.sent,
                p.failed,
                self.plan.adopted,
                p.started.elapsed().as_millis()
            );
            if p.failed == 0 {
                self.verify(now);
            }
        }
    }

    /// After the start's writes: dumps the kernel a second time and says
    /// whether it now equals the desired table. Nothing is written here; a
    /// difference is left to the next reconcile.
    fn verify(&mut self, now: Instant) {
        let started = Stopwatch::start();
        if let Err(e) = self.ipvs.dump(&mut self.kernel) {
            warn!("IPVS verify: second dump failed: {e}");
            return;
        }
        reconcile(&mut self.table, &mut self.kernel, now, &mut self.plan);
        let ms = started.elapsed().as_millis();
        match self.plan.ops.first() {
            None => info!("IPVS table verified by a second dump ({ms} ms)"),
            Some(op) => warn!(
                "IPVS verify: {} difference(s) remain after the writes, first: {op}; the next reconcile retries",
                self.plan.ops.len()
            ),
        }
    }

    /// A real server's health changed (all checkers up = alive) or its
    /// dynamic weight did. `reason` is what `lvsd status` shows.
    pub fn set_health(
        &mut self,
        service: &ServiceKey,
        dest: &DestKey,
        alive: bool,
        weight: Option<u32>,
        reason: &str,
    ) {
        let mut changed = false;
        let was = self.known_health(service, dest);
        let mut quorum = None;
        match self.table.set_alive(service, dest, alive) {
            Ok(c) => {
                changed |= c.table_changed;
                quorum = quorum.or(c.quorum);
            }
            Err(e) => warn!("{e}"),
        }
        match self.table.set_weight(service, dest, weight) {
            Ok(c) => {
                changed |= c.table_changed;
                quorum = c.quorum.or(quorum);
            }
            Err(e) => warn!("{e}"),
        }
        // keepalived's order: the server's own notify, then the quorum's.
        if was.is_some_and(|w| w != alive) {
            self.hooks.push(if alive {
                Hook::ServerUp(*service, *dest)
            } else {
                Hook::ServerDown(*service, *dest)
            });
        }
        match quorum {
            Some(QuorumEvent::Gained(k)) => self.hooks.push(Hook::QuorumUp(k)),
            Some(QuorumEvent::Lost(k)) => self.hooks.push(Hook::QuorumDown(k)),
            None => {}
        }
        match self
            .reasons
            .iter_mut()
            .find(|(s, d, _)| s == service && d == dest)
        {
            Some(r) => {
                if *r.2 != *reason {
                    r.2 = reason.into();
                }
            }
            None => self.reasons.push((*service, *dest, reason.into())),
        }
        if changed {
            self.dirty = true;
        }
    }

    /// Forgets every misc_dynamic weight: the checks were rebuilt (reload)
    /// and report weights afresh; a server whose MISC_CHECK is gone returns
    /// to its configured weight.
    pub fn clear_dynamic_weights(&mut self) {
        let keys: Vec<(ServiceKey, DestKey)> = self
            .table
            .services()
            .flat_map(|(s, _)| {
                let key = s.service.key;
                self.table.dests(&key).map(move |d| (key, d.dest.key))
            })
            .collect();
        for (s, d) in keys {
            if let Ok(c) = self.table.set_weight(&s, &d, None) {
                self.dirty |= c.table_changed;
            }
        }
    }

    /// Whether `service` holds quorum (`None`: not configured).
    pub fn quorum_up(&self, service: &ServiceKey) -> Option<bool> {
        self.table.quorum_up(service)
    }

    /// True once a reconcile has written the table.
    pub fn reconciled(&self) -> bool {
        self.reconciles > 0
    }

    /// keepalived's "Starting with quorum down": a service whose quorum is
    /// not met at start (alpha servers start dead) runs its quorum_down.
    pub fn start_hooks(&self) -> Vec<Hook> {
        self.table
            .services()
            .filter(|(_, up)| !up)
            .map(|(spec, _)| Hook::QuorumDown(spec.service.key))
            .collect()
    }

    /// keepalived's `omega` at shutdown: for each service `omega` selects, a
    /// down event for every alive real server, then quorum down if it was up.
    pub fn shutdown_hooks(&self, omega: impl Fn(&ServiceKey) -> bool) -> Vec<Hook> {
        let mut out = Vec::new();
        for (spec, quorum_up) in self.table.services() {
            let key = spec.service.key;
            if !omega(&key) {
                continue;
            }
            for d in self.table.dests(&key) {
                if d.alive && !d.sorry {
                    out.push(Hook::ServerDown(key, d.dest.key));
                }
            }
            if quorum_up {
                out.push(Hook::QuorumDown(key));
            }
        }
        out
    }

    /// The health the table holds for this real server (`None` when it has
    /// none: a new server). Checks start from it, so a reload does not flap
    /// and a server adopted at restart keeps serving until its first verdict.
    pub fn known_health(&self, service: &ServiceKey, dest: &DestKey) -> Option<bool> {
        self.table
            .dests(service)
            .find(|d| d.dest.key == *dest && !d.sorry)
            .map(|d| d.alive)
    }

    /// The VRRP instance the sync daemon follows changed state: MASTER runs
    /// the master sync daemon, BACKUP and FAULT the backup one. STOP changes
    /// nothing here; [`Lvs::stop`] ends the daemon.
    pub fn on_vrrp_state(&mut self, instance: &str, state: NotifyState) {
        let Some(setup) = &self.sync else {
            return;
        };
        if setup.instance.as_deref() != Some(instance) {
            return;
        }
        let want = match state {
            NotifyState::Master => SyncState::Master,
            NotifyState::Backup | NotifyState::Fault => SyncState::Backup,
            NotifyState::Stop => return,
        };
        if self.sync_state == Some(want) {
            return;
        }
        let mut daemon = setup.daemon.clone();
        daemon.state = want;
        if let Some(old) = self.sync_state.take() {
            if let Err(e) = self.ipvs.stop_daemon(old) {
                warn!("IPVS sync daemon: stopping {old:?}: {e}");
            }
        }
        if self.start_sync_daemon(&daemon) {
            self.sync_state = Some(want);
        }
    }

    /// Starts one sync daemon; logs and says whether it runs.
    fn start_sync_daemon(&mut self, daemon: &SyncDaemon) -> bool {
        let (want, iface, id) = (daemon.state, &daemon.interface, daemon.sync_id);
        match self.ipvs.start_daemon(daemon) {
            Ok(()) => {
                info!("IPVS sync daemon: {want:?} on {iface} syncid {id}");
                true
            }
            Err(e) => {
                error!("IPVS sync daemon: starting {want:?} on {iface}: {e}");
                false
            }
        }
    }

    /// keepalived's `lvs_sync_daemon IFACE` without an instance: the master
    /// and the backup daemon run together for as long as lvsd runs.
    fn start_both_sync_daemons(&mut self) {
        let Some(setup) = &self.sync else {
            return;
        };
        let mut master = setup.daemon.clone();
        master.state = SyncState::Master;
        let mut backup = setup.daemon.clone();
        backup.state = SyncState::Backup;
        let a = self.start_sync_daemon(&master);
        let b = self.start_sync_daemon(&backup);
        self.sync_both = a || b;
    }

    /// Stops whatever sync daemon lvsd started.
    fn stop_sync_daemons(&mut self) {
        let mut running: Vec<SyncState> = self.sync_state.take().into_iter().collect();
        if std::mem::take(&mut self.sync_both) {
            running = vec![SyncState::Master, SyncState::Backup];
        }
        for old in running {
            if let Err(e) = self.ipvs.stop_daemon(old) {
                warn!("IPVS sync daemon: stopping {old:?}: {e}");
            }
        }
    }

    /// Writes `lvs_timeouts` (fields left at 0 keep the kernel's original),
    /// or puts the originals back when the key has left the file.
    fn apply_timeouts(&mut self, want: Option<Timeouts>) {
        let target = match (want, self.timeouts_set) {
            (Some(w), _) => timeouts_over(&w, self.original_timeouts.as_ref()),
            (None, Some(_)) => match self.original_timeouts {
                Some(o) => o,
                None => {
                    self.timeouts_set = None;
                    return;
                }
            },
            (None, None) => return,
        };
        if want.is_some() && self.timeouts_set == Some(target) {
            return;
        }
        match self.ipvs.set_timeouts(&target) {
            Ok(()) => info!(
                "IPVS connection timeouts: tcp {} tcpfin {} udp {}{}",
                target.tcp,
                target.tcp_fin,
                target.udp,
                if want.is_some() { "" } else { " (restored)" }
            ),
            Err(e) => error!("IPVS SET_CONFIG (lvs_timeouts): {e}"),
        }
        self.timeouts_set = want.map(|_| target);
    }

    /// Sync daemons running before lvsd started were left by an earlier run
    /// that died (a killed lvsd cannot stop them): stop them so the tied
    /// instance's state decides afresh.
    fn stop_stale_daemons(&mut self) {
        let Backend::Kernel(ipvs) = &mut self.ipvs else {
            return;
        };
        let mut stale = Vec::new();
        if let Err(e) = ipvs.daemons(|d| stale.push(d)) {
            warn!("IPVS GET_DAEMON: {e}");
            return;
        }
        for d in stale {
            match ipvs.stop_daemon(d.state) {
                Ok(()) => info!(
                    "IPVS sync daemon {:?} on {} left by an earlier run: stopped",
                    d.state, d.interface
                ),
                Err(e) => warn!("IPVS sync daemon {:?} left by an earlier run: {e}", d.state),
            }
        }
    }

    /// Stops the sync daemon and puts the kernel's original connection
    /// timeouts back (clean shutdown), as keepalived does.
    pub fn stop(&mut self) {
        // The loop has ended: waiting for replies is allowed again.
        if let Backend::Kernel(ipvs) = &mut self.ipvs {
            ipvs.set_reply_wait(crate::io::netlink::REQUEST_TIMEOUT);
        }
        self.stop_sync_daemons();
        self.apply_timeouts(None);
    }

    /// Clean shutdown's table work, by `lvs_flush_on_stop`: by default
    /// removes every entry lvsd owns, real servers first (keepalived's
    /// default); `VS` deletes lvsd's services whole; `full` flushes all.
    pub fn remove_owned(&mut self, now: Instant) {
        match self.flush_on_stop {
            config::FlushOnStop::No => {}
            config::FlushOnStop::Full => {
                match self.ipvs.flush() {
                    Ok(()) => info!("IPVS: table flushed at stop (lvs_flush_on_stop)"),
                    Err(e) => error!("IPVS flush at stop (lvs_flush_on_stop): {e}"),
                }
                return;
            }
            config::FlushOnStop::VirtualServers => {
                let ops: Vec<IpvsOp> = self
                    .table
                    .services()
                    .map(|(s, _)| IpvsOp::DelService(s.service.key))
                    .collect();
                if !ops.is_empty() {
                    match self.ipvs.apply(&ops, |f| error!("IPVS {f}")) {
                        Ok(r) => info!(
                            "IPVS: removed {} virtual server(s) lvsd owned, with their real servers (lvs_flush_on_stop VS)",
                            r.sent - r.failed
                        ),
                        Err(e) => error!("IPVS removal at stop: {e}"),
                    }
                }
                return;
            }
        }
        let mut empty = Table::new();
        empty.begin_load();
        empty.end_load(now, Duration::ZERO);
        if let Err(e) = self.ipvs.dump(&mut self.kernel) {
            error!("IPVS dump at stop: {e}");
            return;
        }
        // Delete exactly what lvsd owns, dests first. A service that still
        // holds destinations added by hand stays (as in the reconcile), so
        // nothing foreign is removed with it.
        let mut ops = Vec::new();
        let owned: Vec<ServiceKey> = self.table.services().map(|(s, _)| s.service.key).collect();
        let mut keep: Vec<ServiceKey> = Vec::new();
        for (svc, d, _) in &self.kernel.dests {
            if !owned.contains(svc) {
                continue;
            }
            if self.table.dests(svc).any(|x| x.dest.key == d.key) {
                ops.push(IpvsOp::DelDest(*svc, d.key));
            } else if !keep.contains(svc) {
                keep.push(*svc);
            }
        }
        for s in &self.kernel.services {
            if owned.contains(&s.key) && !keep.contains(&s.key) {
                ops.push(IpvsOp::DelService(s.key));
            }
        }
        if ops.is_empty() {
            return;
        }
        match self.ipvs.apply(&ops, |f| error!("IPVS {f}")) {
            Ok(r) => info!("IPVS: removed {} entr(ies) lvsd owned", r.sent - r.failed),
            Err(e) => error!("IPVS removal at stop: {e}"),
        }
    }

    /// Sets an operator's override (`lvsd rs ...`) on a configured real
    /// server; a change is written by the next reconcile, at once.
    pub fn set_admin(
        &mut self,
        service: &ServiceKey,
        dest: &DestKey,
        admin: Admin,
    ) -> Result<(), crate::lvs::table::TableError> {
        let change = self.table.set_admin(service, dest, admin)?;
        if change.table_changed {
            self.dirty = true;
        }
        Ok(())
    }

    /// The override of a real server, if it is configured.
    pub fn admin(&self, service: &ServiceKey, dest: &DestKey) -> Option<Admin> {
        self.table
            .dests(service)
            .find(|d| d.dest.key == *dest && !d.sorry)
            .map(|d| d.admin)
    }

    /// The key of the configured virtual server named `name` (its INI
    /// section) or written as `ADDR:PORT` / `fwmark:N`.
    pub fn find_service(&self, name: &str) -> Option<ServiceKey> {
        if let Some((k, _)) = self.names.iter().find(|(_, n)| n == name) {
            return Some(*k);
        }
        self.table
            .services()
            .map(|(s, _)| s.service.key)
            .find(|k| match k {
                ServiceKey::Addr { addr, port, .. } => {
                    addr_port(*addr, *port) == name || format!("{addr}:{port}") == name
                }
                ServiceKey::Fwmark { mark, .. } => format!("fwmark:{mark}") == name,
            })
    }

    /// The kernel's current counters of one destination (from the last dump).
    pub fn kernel_stats(&self, service: &ServiceKey, dest: &DestKey) -> Option<DestStats> {
        self.kernel
            .dests
            .iter()
            .find(|(s, d, _)| s == service && d.key == *dest)
            .map(|(_, _, st)| *st)
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;
    use crate::wire::netlink::ipvs::{ForwardMethod, Protocol, Scheduler, TunnelType};
    use std::net::IpAddr;

    /// A TCP service key (shared with the model's tests).
    pub(super) fn tcp(addr: &str, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: addr.parse().unwrap(),
            port,
        }
    }

    #[test]
    fn a_restart_with_alpha_keeps_adopted_working_servers_until_their_first_verdict() {
        let cfg = crate::config::load_str(
            "[virtual_server web]\naddress = 10.0.0.100\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\nalpha\n\
             [real_server web/10.0.1.1:80]\n[real_server web/10.0.1.2:80]\n[real_server web/10.0.1.3:80]\n",
            "t.ini",
        )
        .unwrap();
        let key = tcp("10.0.0.100", 80);
        let dest_at = |last: u8, weight: u32| {
            let addr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 1, last));
            (
                key,
                Dest::new(addr, 80, ForwardMethod::Route, weight),
                DestStats::default(),
            )
        };
        // What the previous run left: .1 serving, .2 inhibited (weight 0), .3 absent.
        let mut kernel = KernelTable::default();
        kernel.services.push(Service::new(key, Scheduler::Rr));
        kernel.dests.push(dest_at(1, 1));
        kernel.dests.push(dest_at(2, 0));
        let now = Instant::now();
        let mut lvs = Lvs::start(
            Backend::Simulated(kernel, SimulatedKernel::default()),
            (0, 0),
            &cfg,
            now,
        )
        .unwrap();
        let d = |last: u8| DestKey {
            addr: IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 1, last)),
            port: 80,
        };
        assert_eq!(
            lvs.known_health(&key, &d(1)),
            Some(true),
            "adopted, serving"
        );
        assert_eq!(
            lvs.known_health(&key, &d(2)),
            Some(false),
            "alpha: joins on success"
        );
        assert_eq!(lvs.known_health(&key, &d(3)), Some(false));
        lvs.reconcile(now);
        let Backend::Simulated(k, _) = &lvs.ipvs else {
            unreachable!()
        };
        let serving: Vec<(IpAddr, u32)> = k
            .dests
            .iter()
            .map(|(_, d, _)| (d.key.addr, d.weight))
            .collect();
        assert_eq!(serving, [(d(1).addr, 1)], "only the adopted server serves");
        // Its first verdict decides.
        lvs.set_health(&key, &d(1), false, None, "TCP_CHECK failed");
        lvs.reconcile(now);
        let Backend::Simulated(k, _) = &lvs.ipvs else {
            unreachable!()
        };
        assert!(k.dests.is_empty(), "{:?}", k.dests);
    }

    /// A read in slices (a scrape) sees the same table as one in a piece
    /// (`lvsd status`), step by step within its budget, and a read in a
    /// piece during it completes it.
    #[test]
    fn a_read_in_slices_sees_the_table_of_a_read_in_one_piece() {
        let mut text = String::new();
        for v in 1..=20u32 {
            text.push_str(&format!(
                "[virtual_server w{v}]\naddress = 10.0.0.100\nport = {v}\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n"
            ));
            for n in 1..=50u32 {
                text.push_str(&format!("[real_server w{v}/10.1.{v}.{n}:80]\n"));
            }
        }
        let cfg = crate::config::load_str(&text, "t.ini").unwrap();
        let now = Instant::now();
        let mut lvs = Lvs::start(
            Backend::Simulated(KernelTable::default(), SimulatedKernel::default()),
            (0, 0),
            &cfg,
            now,
        )
        .unwrap();
        while lvs.poll_at(now).is_some_and(|at| at <= now) {
            lvs.reconcile(now);
        }
        let whole = lvs.model();
        let total: usize = whole.kernel.iter().map(|k| k.dests.len()).sum();
        assert_eq!((whole.kernel.len(), total), (20, 1000));
        lvs.read_begin();
        let mut steps = 0;
        loop {
            let before = lvs.read.dests.len();
            let done = lvs.read_step(120);
            // The budget, overshot by less than one service's destinations.
            assert!(lvs.read.dests.len() - before < 120 + 50);
            steps += 1;
            if done {
                break;
            }
        }
        assert_eq!(steps, 7, "1000 destinations, 150 per step (3 services)");
        let sliced = lvs.model_from_read();
        assert_eq!(sliced.kernel.len(), whole.kernel.len());
        for (a, b) in sliced.kernel.iter().zip(&whole.kernel) {
            assert_eq!(a.service, b.service);
            assert_eq!(a.dests, b.dests);
        }
        // A read in one piece in the middle of a read in slices completes it.
        lvs.read_begin();
        assert!(!lvs.read_step(10));
        let _ = lvs.model();
        assert!(lvs.read_step(10));
        assert_eq!(lvs.model_from_read().kernel.len(), 20);
    }

    #[test]
    fn a_big_plan_is_applied_over_several_turns_without_a_new_dump() {
        // 30 services of 50 real servers: 1530 writes.
        let mut text = String::new();
        for v in 1..=30u32 {
            text.push_str(&format!(
                "[virtual_server w{v}]\naddress = 10.0.0.100\nport = {v}\nprotocol = TCP\nlb_algo = rr\nlb_kind = NAT\n"
            ));
            for n in 1..=50u32 {
                text.push_str(&format!("[real_server w{v}/10.1.{v}.{n}:80]\n"));
            }
        }
        let cfg = crate::config::load_str(&text, "t.ini").unwrap();
        let now = Instant::now();
        let mut lvs = Lvs::setup(&cfg, now, true).unwrap().unwrap();
        lvs.reconcile(now);
        assert_eq!(lvs.writes, IPVS_OPS_PER_TURN as u64, "one turn's worth");
        assert_eq!(lvs.poll_at(now), Some(now), "the rest is due at once");
        assert!(lvs.is_due(now));
        lvs.on_timer(now);
        assert_eq!(lvs.writes, 1530, "30 services and their 1500 servers");
        assert_eq!(lvs.reconciles, 1, "continued, not dumped again");
        let Backend::Simulated(k, _) = &lvs.ipvs else {
            unreachable!()
        };
        assert_eq!(k.dests.len(), 1500);
        assert!(lvs.poll_at(now) > Some(now), "nothing more due");
    }

    #[test]
    fn the_sync_daemon_follows_its_instance_by_name_across_a_reorder() {
        let inst = |n: &str, id: u8| {
            format!("[vrrp_instance {n}]\ninterface = eth0\nvirtual_router_id = {id}\nvirtual_ipaddress = 10.0.0.{id}\n")
        };
        let a = inst("VI_A", 1);
        let b = format!("{}lvs_sync_daemon_interface = eth1\n", inst("VI_B", 2));
        let cfg = crate::config::load_str(&format!("{a}{b}"), "t.ini").unwrap();
        let now = Instant::now();
        let mut lvs = Lvs::setup(&cfg, now, true).unwrap().unwrap();
        lvs.on_vrrp_state("VI_A", NotifyState::Master);
        assert_eq!(lvs.sync_state, None, "VI_A is not the sync instance");
        lvs.on_vrrp_state("VI_B", NotifyState::Backup);
        assert_eq!(lvs.sync_state, Some(SyncState::Backup));
        // The file now lists VI_B first: the daemon still follows VI_B.
        let swapped = crate::config::load_str(&format!("{b}{a}"), "t.ini").unwrap();
        lvs.load(&swapped, now).unwrap();
        lvs.on_vrrp_state("VI_A", NotifyState::Master);
        assert_eq!(lvs.sync_state, Some(SyncState::Backup));
        lvs.on_vrrp_state("VI_B", NotifyState::Master);
        assert_eq!(lvs.sync_state, Some(SyncState::Master));
    }

    fn simulated(lvs: &Lvs) -> (&KernelTable, &SimulatedKernel) {
        let Backend::Simulated(k, sim) = &lvs.ipvs else {
            unreachable!()
        };
        (k, sim)
    }

    #[test]
    fn the_sync_daemon_carries_its_settings_and_runs_both_without_an_instance() {
        let vi = "[vrrp_instance VI_1]\ninterface = eth0\nvirtual_router_id = 9\nvirtual_ipaddress = 10.0.0.9\n";
        let cfg = crate::config::load_str(
            &format!("[global]\nlvs_sync_daemon = eth1 VI_1 maxlen 1400 port 8849 ttl 3 group 224.0.0.90\n{vi}"),
            "t.ini",
        )
        .unwrap();
        let now = Instant::now();
        let mut lvs = Lvs::setup(&cfg, now, true).unwrap().unwrap();
        assert!(
            simulated(&lvs).1.daemons.is_empty(),
            "waits for the instance"
        );
        lvs.on_vrrp_state("VI_1", NotifyState::Master);
        let d = &simulated(&lvs).1.daemons;
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].state, SyncState::Master);
        assert_eq!(d[0].sync_id, 9, "the VRID");
        assert_eq!(
            (d[0].max_len, d[0].port, d[0].ttl, d[0].group),
            (
                Some(1400),
                Some(8849),
                Some(3),
                Some("224.0.0.90".parse().unwrap())
            )
        );
        // Without an instance: master and backup at once, sync id 0; a
        // reload to that form stops the instance's daemon first.
        let both =
            crate::config::load_str(&format!("[global]\nlvs_sync_daemon = eth1\n{vi}"), "t.ini")
                .unwrap();
        lvs.load(&both, now).unwrap();
        let mut states: Vec<(u32, u32)> = simulated(&lvs)
            .1
            .daemons
            .iter()
            .map(|d| (d.state.raw(), d.sync_id))
            .collect();
        states.sort();
        assert_eq!(states, [(1, 0), (2, 0)]);
        assert_eq!(lvs.model().sync_daemon, "master+backup");
        lvs.on_vrrp_state("VI_1", NotifyState::Backup);
        assert_eq!(simulated(&lvs).1.daemons.len(), 2, "follows no instance");
        lvs.stop();
        assert!(simulated(&lvs).1.daemons.is_empty());
    }

    #[test]
    fn the_lvs_keys_alone_open_ipvs() {
        let vi = "[vrrp_instance VI_1]\ninterface = eth0\nvirtual_router_id = 9\nvirtual_ipaddress = 10.0.0.9\n";
        let now = Instant::now();
        for (global, opens) in [
            ("", false),
            ("lvs_timeouts = udp 60\n", true),
            ("lvs_flush = yes\n", true),
            ("lvs_flush_on_stop = full\n", true),
        ] {
            let cfg = crate::config::load_str(&format!("[global]\n{global}{vi}"), "t.ini").unwrap();
            assert_eq!(
                Lvs::setup(&cfg, now, true).unwrap().is_some(),
                opens,
                "{global}"
            );
        }
    }

    #[test]
    fn lvs_timeouts_are_set_over_the_originals_and_restored() {
        let text = |t: &str| {
            format!("[global]\n{t}\n[virtual_server w]\naddress = 10.0.0.1\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = NAT\n")
        };
        let cfg =
            crate::config::load_str(&text("lvs_timeouts = tcp 7200 udp 60"), "t.ini").unwrap();
        let now = Instant::now();
        let original = Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        };
        let mut lvs = Lvs::start(
            Backend::Simulated(
                KernelTable::default(),
                SimulatedKernel {
                    daemons: Vec::new(),
                    timeouts: original,
                },
            ),
            (0, 0),
            &cfg,
            now,
        )
        .unwrap();
        let want = Timeouts {
            tcp: 7200,
            tcp_fin: 120,
            udp: 60,
        };
        assert_eq!(simulated(&lvs).1.timeouts, want);
        // A reload that drops tcp puts the original back.
        let cfg = crate::config::load_str(&text("lvs_timeouts = udp 60"), "t.ini").unwrap();
        lvs.load(&cfg, now).unwrap();
        assert_eq!(simulated(&lvs).1.timeouts.tcp, 900);
        assert_eq!(simulated(&lvs).1.timeouts.udp, 60);
        lvs.stop();
        assert_eq!(simulated(&lvs).1.timeouts, original, "restored at stop");
    }

    #[test]
    fn flush_at_start_and_the_three_stop_modes() {
        let foreign = tcp("10.0.0.200", 53);
        let mine = tcp("10.0.0.1", 80);
        let hand = Dest::new("10.0.1.9".parse().unwrap(), 80, ForwardMethod::Masq, 1);
        let kernel = || {
            let mut k = KernelTable::default();
            k.services.push(Service::new(foreign, Scheduler::Rr));
            k
        };
        let run = |global: &str| {
            let cfg = crate::config::load_str(
                &format!("[global]\n{global}\n[virtual_server w]\naddress = 10.0.0.1\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = NAT\n[real_server w/10.0.1.1:80]\n"),
                "t.ini",
            )
            .unwrap();
            let now = Instant::now();
            let mut lvs = Lvs::start(
                Backend::Simulated(kernel(), SimulatedKernel::default()),
                (0, 0),
                &cfg,
                now,
            )
            .unwrap();
            lvs.reconcile(now);
            // A real server added by hand to lvsd's service.
            if let Backend::Simulated(k, _) = &mut lvs.ipvs {
                k.dests.push((mine, hand, DestStats::default()));
            }
            lvs.stop();
            lvs.remove_owned(now);
            let (k, _) = simulated(&lvs);
            let services: Vec<ServiceKey> = k.services.iter().map(|s| s.key).collect();
            (services, k.dests.len())
        };
        // Default: lvsd's server goes, its service stays for the hand-added
        // one, the foreign service stays.
        assert_eq!(run(""), (vec![foreign, mine], 1));
        assert_eq!(run("lvs_flush_on_stop = VS"), (vec![foreign], 0));
        assert_eq!(run("lvs_flush_on_stop"), (vec![], 0));
        // lvs_flush: the foreign service is gone at start already.
        assert_eq!(run("lvs_flush = yes"), (vec![mine], 1));
    }

    #[test]
    fn sorry_server_inhibit_and_forwarding_methods_reach_the_table() {
        let cfg = crate::config::load_str(
            "[virtual_server w]\naddress = 10.0.0.1\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n\
             sorry_server = 10.0.2.1 80\nsorry_server_inhibit = yes\nsorry_server_lvs_method = NAT\n\
             [real_server w/10.0.1.1:80]\n[real_server w/10.0.1.2:80]\nlvs_method = TUN type gue port 6080\n",
            "t.ini",
        )
        .unwrap();
        let now = Instant::now();
        let mut lvs = Lvs::setup(&cfg, now, true).unwrap().unwrap();
        lvs.reconcile(now);
        let table = |lvs: &Lvs| -> Vec<(String, ForwardMethod, u32)> {
            let mut v: Vec<_> = simulated(lvs)
                .0
                .dests
                .iter()
                .map(|(_, d, _)| (d.key.addr.to_string(), d.forward, d.weight))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        assert_eq!(
            table(&lvs),
            [
                ("10.0.1.1".into(), ForwardMethod::Route, 1),
                (
                    "10.0.1.2".into(),
                    ForwardMethod::Tunnel(TunnelType::Gue { port: 6080 }),
                    1,
                ),
                ("10.0.2.1".into(), ForwardMethod::Masq, 0),
            ],
            "the inhibited sorry server waits with weight 0"
        );
        let key = tcp("10.0.0.1", 80);
        for last in [1, 2] {
            let d = DestKey {
                addr: IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 1, last)),
                port: 80,
            };
            lvs.set_health(&key, &d, false, None, "down");
        }
        lvs.reconcile(now);
        assert_eq!(
            table(&lvs),
            [("10.0.2.1".into(), ForwardMethod::Masq, 1)],
            "quorum lost: the sorry server takes the traffic"
        );
    }
}
