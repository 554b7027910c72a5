//! Health-check wiring: one probe per distinct (address, port, check
//! definition) shared by every real server that uses it, a bounded pool of
//! probes in flight, stream probes (TCP, HTTP, TLS, SMTP) on nonblocking
//! sockets and MISC_CHECK scripts as child processes. Verdicts become
//! per-real-server health updates for the IPVS side.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{error, info, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry};

use crate::check::dns::{DnsProbe, DnsQuery};
use crate::check::file::file_verdict;
use crate::check::http::{HttpCheck, HttpProbe, UrlCheck};
use crate::check::misc::misc_outcome;
use crate::check::ping::PingProbe;
use crate::check::pool::{Admission, InflightPool, LogLimit};
use crate::check::probe::{AnyProbe, FailReason, Outcome};
use crate::check::schedule::{CheckerSchedule, ScheduleAction, ServerHealth};
use crate::check::share::ProbeSharing;
use crate::check::smtp::SmtpProbe;
use crate::check::tcp::TcpProbe;
use crate::check::tls;
use crate::check::udp::{UdpProbe, UdpSpec};
use crate::config::{self, CheckKind, Config};
use crate::io::child::{ChildProcess, ScriptSpec};
use crate::io::event_loop::Source;
use crate::io::probe::{ProbeDriver, ProbeTarget};
use crate::io::timers::{TimerId, Timers};
use crate::limits::{CHECKS_READ_BUDGET, MAX_CHECK_TIMERS, MAX_INFLIGHT_CHECKS, PROBE_READ_BUDGET};
use crate::script::split_command_line;
use crate::wire::http::StatusCodes;
use crate::wire::netlink::ipvs::{DestKey, ServiceKey};

use super::lateness::Lateness;
use super::lvs::{dest_key, service_key};

/// Probe pool full and timer failures log at most one line per this period.
const POOL_FULL_LOG_EVERY: Duration = Duration::from_secs(10);
/// A probe the full pool could not take waits at least this long.
const POOL_FULL_RETRY: Duration = Duration::from_millis(100);

/// How a probe is made.
enum ProbeDef {
    Tcp {
        target: ProbeTarget,
        timeout: Duration,
    },
    Http {
        target: ProbeTarget,
        check: Arc<HttpCheck>,
    },
    Smtp {
        target: ProbeTarget,
        timeout: Duration,
        helo: String,
    },
    Udp {
        target: ProbeTarget,
        timeout: Duration,
        spec: Arc<UdpSpec>,
    },
    Ping {
        target: ProbeTarget,
        timeout: Duration,
    },
    Dns {
        target: ProbeTarget,
        timeout: Duration,
        query: Box<DnsQuery>,
    },
    File {
        path: String,
        weight: i32,
        reverse: bool,
    },
    Misc {
        argv: Vec<OsString>,
        timeout: Duration,
        dynamic: bool,
        user: Option<(u32, u32)>,
    },
}

enum Running {
    Idle,
    /// A stream probe; its driver lives in `Checks::drivers[slot]`.
    Stream {
        slot: usize,
        registered: Option<(RawFd, u64)>,
        /// Its read budget ran out with bytes possibly waiting: it is driven
        /// again next turn, as edge-triggered readiness will not repeat.
        more: bool,
    },
    Child(ChildProcess),
    /// A FILE_CHECK read its file: collected by the next `progress`.
    Done(Outcome),
}

/// Running stream drivers. The capacity is reserved once for the pool's
/// limit, so starting a probe never allocates, and slots never used cost no
/// resident memory.
struct DriverSlab {
    slots: Vec<Option<ProbeDriver<AnyProbe>>>,
    free: Vec<usize>,
}

impl DriverSlab {
    fn with_capacity(n: usize) -> Self {
        DriverSlab {
            slots: Vec::with_capacity(n),
            free: Vec::with_capacity(n),
        }
    }

    fn insert(&mut self, d: ProbeDriver<AnyProbe>) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(d);
                i
            }
            None => {
                self.slots.push(Some(d));
                self.slots.len() - 1
            }
        }
    }

    fn get(&mut self, i: usize) -> Option<&mut ProbeDriver<AnyProbe>> {
        self.slots.get_mut(i).and_then(Option::as_mut)
    }

    fn peek(&self, i: usize) -> Option<&ProbeDriver<AnyProbe>> {
        self.slots.get(i).and_then(Option::as_ref)
    }

    fn remove(&mut self, i: usize) {
        if let Some(slot) = self.slots.get_mut(i) {
            if slot.take().is_some() {
                self.free.push(i);
            }
        }
    }
}

/// One distinct probe and its schedule.
struct Probe {
    label: String,
    def: ProbeDef,
    schedule: CheckerSchedule,
    running: Running,
    /// The timer carrying this probe's next deadline.
    timer: Option<TimerId>,
    /// (server index, checker index inside the server) fed by this probe.
    subscribers: Vec<(usize, usize)>,
    last: Option<Outcome>,
    /// `ha_suspend`: every service it serves lacks its address here; its
    /// turns pass without a probe and its verdict stays.
    suspended: bool,
    /// FILE_CHECK: the weight change its file's value asks for, while up.
    file_delta: i32,
    /// When the running probe started (for the duration histogram).
    started: Option<Instant>,
}

/// One real server's health, as the IPVS side needs it.
struct Server {
    service: ServiceKey,
    dest: DestKey,
    label: String,
    configured_weight: u32,
    health: ServerHealth,
    /// Its virtual server has `ha_suspend`.
    ha_suspend: bool,
}

/// A real server whose aliveness or weight changed.
#[derive(Debug, Clone)]
pub struct HealthUpdate {
    /// The virtual service.
    pub service: ServiceKey,
    /// The real server.
    pub dest: DestKey,
    /// All checkers up.
    pub alive: bool,
    /// A MISC_CHECK dynamic weight, when one was reported.
    pub weight: Option<u32>,
    /// Why (for logs and `lvsd status`).
    pub reason: String,
}

/// All health checks of the daemon.
pub struct Checks {
    probes: Vec<Probe>,
    drivers: DriverSlab,
    servers: Vec<Server>,
    pool: InflightPool<{ MAX_INFLIGHT_CHECKS }>,
    scratch: Box<[u8]>,
    /// Health updates for the IPVS side, drained by the daemon.
    pub updates: Vec<HealthUpdate>,
    /// Probes whose pool slot came free, to start (a queue, not recursion).
    start_queue: Vec<usize>,
    /// Probes touched since the daemon last re-armed their timers.
    pub touched: Vec<usize>,
    /// MISC_CHECK probes waiting for a child slot (`limits::MAX_CHILDREN`),
    /// oldest first; started again after children are reaped.
    child_queue: std::collections::VecDeque<usize>,
    /// Script starts that had to wait for a child slot.
    pub child_waits: u64,
    /// Probes run since start.
    pub probes_run: u64,
    /// How late probes started against their schedule (since start or the
    /// last reload).
    pub start_lateness: Lateness,
    /// How long probes took, start to outcome (on the loop's clock).
    pub duration: Lateness,
    /// Failed probes per [`FAILURE_KINDS`] entry.
    pub failures: [u64; FAILURE_KINDS.len()],
    /// The probe whose timer is being handled, and whether it started.
    timer_probe: Option<(usize, bool)>,
    rng: u64,
    /// The wake-up whose read budget `read_left` is (the loop's `now` is
    /// read once per wake-up, so a new value means a new wake-up).
    read_wake: Option<Instant>,
    /// Bytes all probes may still read in this wake-up.
    read_left: usize,
    /// Times a probe stopped at a read budget with bytes left for the next turn.
    pub budget_yields: u64,
    /// Due probes not run because the pool and its queue were full (each
    /// server kept its last verdict).
    pub pool_full_skips: u64,
    pool_full_log: LogLimit,
    /// Timer inserts refused (the probe is retried every loop turn).
    pub timer_failures: u64,
    timer_log: LogLimit,
    /// Probes whose timer could not be armed, retried at the next `sync_timers`.
    unscheduled: Vec<usize>,
}

fn short<const N: usize>(text: &str) -> heapless::String<N> {
    let mut out = heapless::String::new();
    for c in text.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}

/// One definition (urls, digests, timing: some KiB each) for every checker
/// that has the same, as the real servers of a farm usually do. The recent
/// distinct ones are searched, so setup stays linear.
fn share_http(defs: &mut Vec<Arc<HttpCheck>>, def: HttpCheck) -> Arc<HttpCheck> {
    const RECENT: usize = 32;
    if let Some(same) = defs.iter().rev().take(RECENT).find(|d| ***d == def) {
        return Arc::clone(same);
    }
    let shared = Arc::new(def);
    defs.push(Arc::clone(&shared));
    shared
}

fn http_check(h: &config::HttpCheck, t: &config::CheckTiming, vs_host: Option<&str>) -> HttpCheck {
    let mut check = HttpCheck {
        virtual_host: h.virtualhost.as_deref().or(vs_host).map(short),
        version: h.http_protocol,
        connect_timeout: t.connect_timeout,
        max_duration: t.connect_timeout * (h.urls.len().max(1) as u32) * 2,
        ..Default::default()
    };
    for u in &h.urls {
        let mut status = if u.status_codes.is_empty() {
            StatusCodes::default()
        } else {
            StatusCodes::empty()
        };
        for r in &u.status_codes {
            let _ = status.add(*r.start(), *r.end());
        }
        let _ = check.urls.push(UrlCheck {
            path: short(&u.path),
            digest: u.digest,
            status,
            virtual_host: u.virtualhost.as_deref().map(short),
            regex: u.regex.clone(),
            regex_no_match: u.regex_no_match,
        });
    }
    check
}

/// A checker's name in logs and status: kind, what it probes, the real
/// server and the virtual server (with the checker's index).
fn probe_label(
    vs: &config::VirtualServer,
    rs: &config::RealServer,
    ch: &config::Checker,
    ci: usize,
) -> String {
    let probed = match &ch.kind {
        CheckKind::File(f) => f.path.as_str().to_owned(),
        CheckKind::Ping => ch.connect_ip.to_string(),
        _ => SocketAddr::new(ch.connect_ip, ch.connect_port).to_string(),
    };
    format!(
        "{} {probed} of {} ({}#{ci})",
        ch.kind.keepalived_name(),
        rs.address,
        vs.name
    )
}

/// Why the health checks could not be built (at start or on reload).
/// Each names the checker (`label`) or server it is about.
#[derive(Debug)]
pub enum SetupError {
    /// `script_user` or a MISC_CHECK's `user` is not usable.
    User(crate::io::user::UserError),
    /// A DNS_CHECK's `name` is not a valid DNS name.
    DnsName {
        /// The checker.
        checker: String,
        /// The name.
        name: String,
        /// Why.
        source: crate::check::dns::BadName,
    },
    /// An SSL_GET checker's TLS client could not be made.
    Tls {
        /// The checker.
        checker: String,
        /// Why.
        source: tls::TlsError,
    },
    /// An SSL_GET checker's `ca_file` could not be read.
    CaFile {
        /// The checker.
        checker: String,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A MISC_CHECK's `misc_path` is not a command line.
    MiscPath {
        /// The checker.
        checker: String,
        /// The command line.
        path: String,
        /// Why.
        source: crate::script::BadCommandLine,
    },
    /// `enable_script_security` refuses a MISC_CHECK's program.
    ScriptSecurity {
        /// The checker.
        checker: String,
        /// What is unsafe about the program (it names the path).
        source: super::vrrp::scripts::Insecure,
    },
    /// A real server has more checkers than its health record holds.
    Checkers {
        /// The virtual server's name.
        virtual_server: String,
        /// The real server.
        address: SocketAddr,
        /// Why.
        source: crate::check::schedule::TooManyCheckers,
    },
    /// More distinct probes than there are check timers.
    Probes {
        /// How many the configuration needs.
        needed: usize,
    },
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::User(e) => write!(f, "{e}"),
            SetupError::DnsName {
                checker,
                name,
                source,
            } => write!(f, "{checker}: name {name:?}: {source}"),
            SetupError::Tls { checker, source } => write!(f, "{checker}: {source}"),
            SetupError::CaFile {
                checker,
                path,
                source,
            } => write!(f, "{checker}: ca_file {path}: {source}"),
            SetupError::MiscPath {
                checker,
                path,
                source,
            } => write!(f, "{checker}: misc_path {path:?}: {source}"),
            SetupError::ScriptSecurity { checker, source } => {
                write!(f, "{checker}: misc_path: enable_script_security: {source}")
            }
            SetupError::Checkers {
                virtual_server,
                address,
                source,
            } => write!(f, "virtual_server {virtual_server} real server {address}: {source}"),
            SetupError::Probes { needed } => write!(
                f,
                "health checks need {needed} distinct probes, each with its own timer: more than limits::MAX_CHECK_TIMERS ({MAX_CHECK_TIMERS})"
            ),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetupError::User(e) => Some(e),
            SetupError::DnsName { source, .. } => Some(source),
            SetupError::Tls { source, .. } => Some(source),
            SetupError::CaFile { source, .. } => Some(source),
            SetupError::MiscPath { source, .. } => Some(source),
            SetupError::Checkers { source, .. } => Some(source),
            SetupError::ScriptSecurity { source, .. } => Some(source),
            SetupError::Probes { .. } => None,
        }
    }
}

/// The CA bundle an SSL_GET checker verifies against by default.
const DEFAULT_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The TLS side of an SSL_GET probe target: client config and server name.
type TlsClient = (
    Arc<rustls::ClientConfig>,
    rustls::pki_types::ServerName<'static>,
);

/// What building the probes shares between checkers: equal probes, equal
/// HTTP definitions, TLS client configs (each `ca_file` is read once), the
/// script user.
struct ProbeBuild<'c> {
    cfg: &'c Config,
    sharing: ProbeSharing<String>,
    http_defs: Vec<Arc<HttpCheck>>,
    insecure: Option<Arc<rustls::ClientConfig>>,
    verifying: Vec<(String, Arc<rustls::ClientConfig>)>,
    script_user: Option<(u32, u32)>,
}

impl<'c> ProbeBuild<'c> {
    fn new(cfg: &'c Config) -> Result<Self, SetupError> {
        let script_user = match &cfg.global.script_user {
            Some(u) => Some(crate::io::user::require(u).map_err(SetupError::User)?),
            None => None,
        };
        Ok(ProbeBuild {
            cfg,
            sharing: ProbeSharing::new(),
            http_defs: Vec::new(),
            insecure: None,
            verifying: Vec::new(),
            script_user,
        })
    }

    /// The probe definition of one checker.
    fn def(
        &mut self,
        vs: &config::VirtualServer,
        ch: &config::Checker,
        label: &str,
    ) -> Result<ProbeDef, SetupError> {
        let address = SocketAddr::new(ch.connect_ip, ch.connect_port);
        let bind = ch.bindto.map(|ip| SocketAddr::new(ip, 0));
        let target = ProbeTarget {
            address,
            bind,
            tls: None,
        };
        let timeout = ch.timing.connect_timeout;
        Ok(match &ch.kind {
            CheckKind::Tcp => ProbeDef::Tcp { target, timeout },
            CheckKind::Udp(spec) => ProbeDef::Udp {
                target,
                timeout,
                spec: Arc::clone(spec),
            },
            CheckKind::Ping => ProbeDef::Ping { target, timeout },
            CheckKind::Dns(d) => ProbeDef::Dns {
                target,
                timeout,
                query: Box::new(DnsQuery::new(&d.name, d.qtype).map_err(|source| {
                    SetupError::DnsName {
                        checker: label.to_owned(),
                        name: d.name.to_string(),
                        source,
                    }
                })?),
            },
            CheckKind::File(f) => ProbeDef::File {
                path: f.path.as_str().to_owned(),
                weight: f.weight,
                reverse: f.reverse,
            },
            CheckKind::Smtp { helo_name } => ProbeDef::Smtp {
                target,
                timeout,
                helo: helo_name.as_str().to_owned(),
            },
            CheckKind::Http(h) => {
                let tls = match &h.tls {
                    None => None,
                    Some(opts) => Some(self.tls(opts, ch, label)?),
                };
                let def = http_check(h, &ch.timing, vs.virtualhost.as_deref());
                ProbeDef::Http {
                    target: ProbeTarget { address, bind, tls },
                    check: share_http(&mut self.http_defs, def),
                }
            }
            CheckKind::Misc(m) => self.misc(m, label)?,
        })
    }

    /// The TLS client config and server name of an SSL_GET checker.
    fn tls(
        &mut self,
        opts: &config::TlsOptions,
        ch: &config::Checker,
        label: &str,
    ) -> Result<TlsClient, SetupError> {
        let config = if opts.verify {
            let ca = opts.ca_file.as_deref().unwrap_or(DEFAULT_CA_FILE);
            self.verifying_config(ca, label)?
        } else {
            match &self.insecure {
                Some(c) => Arc::clone(c),
                None => {
                    let c = tls::insecure_client_config().map_err(tls_error(label))?;
                    self.insecure = Some(Arc::clone(&c));
                    c
                }
            }
        };
        let name =
            tls::server_name(opts.sni.as_deref(), ch.connect_ip).map_err(tls_error(label))?;
        Ok((config, name))
    }

    /// The verifying config for `ca`: the file is read and parsed at its
    /// first checker only; later checkers naming it share the config.
    fn verifying_config(
        &mut self,
        ca: &str,
        label: &str,
    ) -> Result<Arc<rustls::ClientConfig>, SetupError> {
        if let Some((_, c)) = self.verifying.iter().find(|(path, _)| path == ca) {
            return Ok(Arc::clone(c));
        }
        let pem = crate::io::files::read(ca).map_err(|source| SetupError::CaFile {
            checker: label.to_owned(),
            path: ca.to_owned(),
            source,
        })?;
        let c = tls::verifying_client_config(&pem).map_err(tls_error(label))?;
        self.verifying.push((ca.to_owned(), Arc::clone(&c)));
        Ok(c)
    }

    /// A MISC_CHECK: its command line, user and script security.
    fn misc(&self, m: &config::MiscCheck, label: &str) -> Result<ProbeDef, SetupError> {
        let argv: Vec<OsString> = split_command_line(&m.path)
            .map_err(|source| SetupError::MiscPath {
                checker: label.to_owned(),
                path: m.path.as_str().to_owned(),
                source,
            })?
            .into_iter()
            .map(OsString::from)
            .collect();
        let user = match &m.user {
            Some(u) => Some(crate::io::user::require(u).map_err(SetupError::User)?),
            None => self.script_user,
        };
        if self.cfg.global.enable_script_security {
            if let Some(why) = super::vrrp::scripts::insecure_reason(&argv, user.map_or(0, |u| u.0))
            {
                return Err(SetupError::ScriptSecurity {
                    checker: label.to_owned(),
                    source: why,
                });
            }
        }
        Ok(ProbeDef::Misc {
            argv,
            timeout: m.timeout,
            dynamic: m.dynamic,
            user,
        })
    }
}

/// A FILE_CHECK: reads the file now; its verdict is ready at once.
fn start_file(p: &mut Probe) {
    let ProbeDef::File {
        path,
        weight,
        reverse,
    } = &p.def
    else {
        return;
    };
    let (value, _) = crate::daemon::vrrp::read_track_file(path);
    let outcome = match file_verdict(value, *weight, *reverse) {
        Some(delta) => {
            p.file_delta = delta;
            Outcome::Up { weight: None }
        }
        None => {
            p.file_delta = 0;
            Outcome::Down(FailReason::FileValue(value))
        }
    };
    p.running = Running::Done(outcome);
}

/// The socket driver of a stream-like probe (`None` for FILE and MISC,
/// which have none). `random` gives a PING_CHECK its echo id and sequence
/// and a DNS_CHECK its query id.
fn stream_driver(def: &ProbeDef, random: u32, now: Instant) -> Option<ProbeDriver<AnyProbe>> {
    let (probe, target) = match def {
        ProbeDef::File { .. } | ProbeDef::Misc { .. } => return None,
        ProbeDef::Dns {
            target,
            timeout,
            query,
        } => (
            AnyProbe::Dns(DnsProbe::new(query, random as u16, now, *timeout)),
            target,
        ),
        ProbeDef::Udp {
            target,
            timeout,
            spec,
        } => (
            AnyProbe::Udp(UdpProbe::new(Arc::clone(spec), now, *timeout)),
            target,
        ),
        ProbeDef::Ping { target, timeout } => (
            AnyProbe::Ping(PingProbe::new(
                now,
                *timeout,
                target.address.is_ipv6(),
                (random >> 16) as u16,
                random as u16,
            )),
            target,
        ),
        ProbeDef::Tcp { target, timeout } => (AnyProbe::Tcp(TcpProbe::new(now, *timeout)), target),
        ProbeDef::Smtp {
            target,
            timeout,
            helo,
        } => (AnyProbe::Smtp(SmtpProbe::new(now, *timeout, helo)), target),
        ProbeDef::Http { target, check } => (
            AnyProbe::Http(HttpProbe::new(Arc::clone(check), target.address, now)),
            target,
        ),
    };
    Some(ProbeDriver::start(probe, target.clone(), now))
}

impl Checks {
    /// Builds every probe from the configuration (allocation happens here only).
    /// `known` gives the health the IPVS table already holds for a real
    /// server (on reload, and for servers adopted at restart): its checkers
    /// start from it, so nothing flaps and an adopted server keeps serving
    /// until its first verdict. `None`: a new server, alpha decides.
    pub fn setup(
        cfg: &Config,
        now: Instant,
        known: &dyn Fn(&ServiceKey, &DestKey) -> Option<bool>,
    ) -> Result<Checks, SetupError> {
        let mut checks = Checks::empty();
        let mut build = ProbeBuild::new(cfg)?;
        for vs in &cfg.virtual_servers {
            let service = service_key(vs);
            for rs in &vs.real_servers {
                let starts_down = match known(&service, &dest_key(rs)) {
                    Some(alive) => !alive,
                    None => vs.alpha,
                };
                checks.add_server(&mut build, vs, rs, service, starts_down, now)?;
            }
        }
        checks.check_capacity()?;
        Ok(checks)
    }

    /// The empty set, with the fixed capacities of the steady state.
    fn empty() -> Checks {
        Checks {
            probes: Vec::new(),
            drivers: DriverSlab::with_capacity(MAX_INFLIGHT_CHECKS),
            servers: Vec::new(),
            pool: InflightPool::new(MAX_INFLIGHT_CHECKS),
            scratch: vec![0u8; 16 * 1024].into_boxed_slice(),
            updates: Vec::with_capacity(64),
            start_queue: Vec::with_capacity(64),
            touched: Vec::with_capacity(256),
            child_queue: std::collections::VecDeque::new(),
            child_waits: 0,
            probes_run: 0,
            start_lateness: Lateness::new(),
            duration: Lateness::new(),
            failures: [0; FAILURE_KINDS.len()],
            timer_probe: None,
            rng: 0x2545_f491_4f6c_dd1d ^ u64::from(std::process::id()),
            read_wake: None,
            read_left: CHECKS_READ_BUDGET,
            budget_yields: 0,
            pool_full_skips: 0,
            pool_full_log: LogLimit::new(POOL_FULL_LOG_EVERY),
            timer_failures: 0,
            timer_log: LogLimit::new(POOL_FULL_LOG_EVERY),
            unscheduled: Vec::with_capacity(16),
        }
    }

    /// One real server and its checkers; a checker equal to an existing
    /// probe subscribes to it instead of making another.
    fn add_server(
        &mut self,
        build: &mut ProbeBuild,
        vs: &config::VirtualServer,
        rs: &config::RealServer,
        service: ServiceKey,
        starts_down: bool,
        now: Instant,
    ) -> Result<(), SetupError> {
        let server = self.servers.len();
        let mut health = ServerHealth::new();
        for (ci, ch) in rs.checkers.iter().enumerate() {
            let idx = health
                .add_checker(!starts_down)
                .map_err(|source| SetupError::Checkers {
                    virtual_server: vs.name.to_string(),
                    address: rs.address,
                    source,
                })?;
            let key = config::probe_key(ch, starts_down);
            let slot = self.probes.len() as u32;
            let probe = build.sharing.subscribe(key, slot) as usize;
            if probe < self.probes.len() {
                self.probes[probe].subscribers.push((server, idx));
                continue;
            }
            let label = probe_label(vs, rs, ch, ci);
            let def = build.def(vs, ch, &label)?;
            let random = self.next_random();
            self.probes.push(Probe {
                label,
                def,
                schedule: CheckerSchedule::new(ch.timing, starts_down, now, random),
                running: Running::Idle,
                file_delta: 0,
                timer: None,
                suspended: false,
                subscribers: vec![(server, idx)],
                last: None,
                started: None,
            });
        }
        self.servers.push(Server {
            service,
            dest: dest_key(rs),
            label: format!("{} in {}", rs.address, vs.name),
            configured_weight: rs.weight,
            health,
            ha_suspend: vs.ha_suspend,
        });
        Ok(())
    }

    /// Every distinct probe has its own timer: refuses more than the table
    /// holds, then logs what was built.
    fn check_capacity(&self) -> Result<(), SetupError> {
        if self.probes.len() > MAX_CHECK_TIMERS {
            // `lvsd check` refuses such a file; a reload can still split a
            // shared probe (servers known dead start DOWN), so check again.
            return Err(SetupError::Probes {
                needed: self.probes.len(),
            });
        }
        info!(
            "health checks: {} checker(s) on {} real server(s) share {} distinct probe(s)",
            self.probes
                .iter()
                .map(|p| p.subscribers.len())
                .sum::<usize>(),
            self.servers.len(),
            self.probes.len()
        );
        Ok(())
    }

    fn next_random(&mut self) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 32) as u32
    }

    /// The checker's part of the status model: size, work, timeliness,
    /// failures (`None` without any check).
    pub fn model(&self) -> Option<crate::status::Checks> {
        if self.probes.is_empty() {
            return None;
        }
        Some(crate::status::Checks {
            probes: self.probes.len(),
            run: self.probes_run,
            in_flight: self.pool.running() as u64,
            pool_capacity: MAX_INFLIGHT_CHECKS as u64,
            pool_waits: self.pool.waits(),
            child_slot_waits: self.child_waits,
            pool_rejected: self.pool.rejections(),
            pool_full_skips: self.pool_full_skips,
            read_budget_yields: self.budget_yields,
            timer_failures: self.timer_failures,
            failures: FAILURE_KINDS
                .iter()
                .zip(self.failures.iter())
                .map(|(k, n)| (*k, *n))
                .collect(),
            start_lateness: self.start_lateness.to_histogram(),
            duration: self.duration.to_histogram(),
        })
    }

    /// How many probes there are (each has one timer).
    pub fn len(&self) -> usize {
        self.probes.len()
    }

    /// True when there is no check at all.
    pub fn is_empty(&self) -> bool {
        self.probes.is_empty()
    }

    /// The timer slot of probe `i`.
    pub fn timer_slot(&mut self, i: usize) -> Option<&mut Option<TimerId>> {
        self.probes.get_mut(i).map(|p| &mut p.timer)
    }

    /// Re-arms the timers of the probes touched since the last call: check
    /// deadlines rounded up to `grain` from `epoch`, a probe with bytes left
    /// over from its read budget at `now` exactly (the next loop turn). Check
    /// timers take at most `MAX_CHECK_TIMERS` slots, so VRRP always finds one;
    /// an insert that still fails is counted, logged and retried every turn,
    /// never forgotten.
    pub fn sync_timers<K: Copy + core::fmt::Debug>(
        &mut self,
        now: Instant,
        timers: &mut Timers<K>,
        kind: impl Fn(usize) -> K,
        round: impl Fn(Instant) -> Instant,
    ) {
        self.touched.append(&mut self.unscheduled);
        while let Some(i) = self.touched.pop() {
            let more = matches!(
                self.probes.get(i).map(|p| &p.running),
                Some(Running::Stream { more: true, .. })
            );
            let want = if more {
                Some(now)
            } else {
                self.poll_at(i, now).map(&round)
            };
            let Some(p) = self.probes.get_mut(i) else {
                continue;
            };
            match (want, p.timer) {
                (None, Some(id)) => {
                    timers.cancel(id);
                    p.timer = None;
                }
                (None, None) => {}
                (Some(at), Some(id)) if timers.reschedule(id, at) => {}
                (Some(at), _) => match timers.insert_within(at, kind(i), MAX_CHECK_TIMERS) {
                    Ok(id) => p.timer = Some(id),
                    Err(e) => {
                        p.timer = None;
                        self.timer_failures += 1;
                        if let Some(suppressed) = self.timer_log.allow(now) {
                            error!(
                                "{}: cannot be scheduled: {e}; retried every loop turn ({suppressed} more refusal(s) since the last line)",
                                p.label
                            );
                        }
                        if !self.unscheduled.contains(&i) {
                            self.unscheduled.push(i);
                        }
                    }
                },
            }
        }
    }

    /// The next deadline of probe `i`: its schedule or its running probe.
    pub fn poll_at(&self, i: usize, now: Instant) -> Option<Instant> {
        let p = self.probes.get(i)?;
        let running = match &p.running {
            Running::Idle => None,
            Running::Stream { slot, more, .. } => {
                if *more {
                    return Some(now);
                }
                self.drivers.peek(*slot).and_then(|d| d.poll_at())
            }
            Running::Child(child) => child.poll_at(now),
            Running::Done(_) => Some(now),
        };
        match (p.schedule.poll_at(), running) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Names of the failure kinds counted in [`Checks::failures`] (metrics labels).
pub const FAILURE_KINDS: [&str; 18] = [
    "connect",
    "timeout",
    "io",
    "closed",
    "tls",
    "http",
    "status",
    "digest",
    "smtp",
    "smtp_code",
    "exit_code",
    "signal",
    "deadline",
    "unreachable",
    "reply",
    "dns_rcode",
    "file_value",
    "regex",
];

/// The index in [`FAILURE_KINDS`] of a probe failure.
fn failure_kind(r: &FailReason) -> usize {
    match r {
        FailReason::Connect => 0,
        FailReason::Timeout => 1,
        FailReason::Io => 2,
        FailReason::Closed => 3,
        FailReason::Tls => 4,
        FailReason::Http(_) => 5,
        FailReason::Status(..) => 6,
        FailReason::Digest(_) => 7,
        FailReason::Smtp(_) => 8,
        FailReason::SmtpCode(_) => 9,
        FailReason::ExitCode(_) => 10,
        FailReason::Signal(_) => 11,
        FailReason::Deadline => 12,
        FailReason::Unreachable => 13,
        FailReason::Reply => 14,
        FailReason::DnsRcode(_) => 15,
        FailReason::FileValue(_) => 16,
        FailReason::Regex(_) => 17,
    }
}

/// A TLS client error of checker `label`.
fn tls_error(label: &str) -> impl Fn(tls::TlsError) -> SetupError + '_ {
    move |source| SetupError::Tls {
        checker: label.to_owned(),
        source,
    }
}

impl Checks {
    /// Probe `i`'s timer fired.
    pub fn on_timer(&mut self, now: Instant, i: usize, registry: &Registry) {
        if let Some(p) = self.probes.get_mut(i) {
            if p.suspended && !p.schedule.probe_running() {
                // keepalived's disabled checker: this turn passes without a
                // probe, the next comes a delay_loop later.
                if p.schedule.poll_at().is_some_and(|t| t <= now) {
                    let next = now + p.schedule.timing().delay_loop;
                    p.schedule.defer_probe(next);
                }
                self.touched.push(i);
                return;
            }
        }
        // When the schedule wanted the next probe (not the timer, which is
        // rounded up to the daemon's grain): lateness counts against it.
        let Some(due) = self.probes.get(i).map(|p| p.schedule.poll_at()) else {
            return;
        };
        self.timer_probe = Some((i, false));
        self.advance(now, i, registry);
        let started = matches!(self.timer_probe.take(), Some((_, true)));
        if let (true, Some(due)) = (started, due) {
            // Measurement only (the logic runs on `now`): how long after its
            // schedule the probe really went out, the timer grain and the
            // wait behind other work of this wake-up included.
            self.start_lateness
                .record(crate::io::stopwatch::lateness(due));
        }
    }

    /// `ha_suspend`: suspends the probes whose every real server belongs
    /// to an `ha_suspend` service that `absent` says has no address here,
    /// and resumes the others. Returns (suspended, resumed) counts.
    pub fn suspend_where(&mut self, absent: &dyn Fn(&ServiceKey) -> bool) -> (usize, usize) {
        let (mut suspended, mut resumed) = (0, 0);
        for (i, p) in self.probes.iter_mut().enumerate() {
            let want = !p.subscribers.is_empty()
                && p.subscribers.iter().all(|&(s, _)| {
                    self.servers
                        .get(s)
                        .is_some_and(|srv| srv.ha_suspend && absent(&srv.service))
                });
            if want != p.suspended {
                p.suspended = want;
                if want {
                    suspended += 1;
                } else {
                    resumed += 1;
                }
                self.touched.push(i);
            }
        }
        (suspended, resumed)
    }

    /// Probe `i` must be looked at again.
    fn advance(&mut self, now: Instant, i: usize, registry: &Registry) {
        let Some(p) = self.probes.get_mut(i) else {
            return;
        };
        p.schedule.handle_timeout(now);
        match &mut p.running {
            Running::Idle | Running::Done(_) => {}
            Running::Stream { slot, more, .. } => {
                let slot = *slot;
                if std::mem::take(more) {
                    // Bytes left over from an earlier turn's budget.
                    self.drive(now, i, slot);
                }
                if let Some(driver) = self.drivers.get(slot) {
                    driver.handle_timeout(now);
                }
            }
            Running::Child(child) => {
                let _ = child.handle_timeout(now);
                let _ = child.try_reap();
            }
        }
        self.progress(now, i, registry);
        self.run_start_queue(now, registry);
    }

    fn run_start_queue(&mut self, now: Instant, registry: &Registry) {
        while let Some(next) = self.start_queue.pop() {
            self.start(now, next, registry);
        }
    }

    /// Probe `i`'s socket or pidfd is ready.
    pub fn on_ready(&mut self, now: Instant, i: usize, registry: &Registry) {
        let Some(p) = self.probes.get_mut(i) else {
            return;
        };
        match &mut p.running {
            Running::Idle | Running::Done(_) => {}
            Running::Stream { slot, .. } => {
                let slot = *slot;
                self.drive(now, i, slot);
            }
            Running::Child(child) => {
                let _ = child.try_reap();
            }
        }
        self.progress(now, i, registry);
        self.run_start_queue(now, registry);
    }

    /// Runs stream probe `i` (driver `slot`) within its read budget and what
    /// is left of this wake-up's; marks it to be driven again next turn when
    /// a budget stopped it. Timers of this wake-up run before that.
    fn drive(&mut self, now: Instant, i: usize, slot: usize) {
        if self.read_wake != Some(now) {
            self.read_wake = Some(now);
            self.read_left = CHECKS_READ_BUDGET;
        }
        let budget = PROBE_READ_BUDGET.min(self.read_left);
        let Some(driver) = self.drivers.get(slot) else {
            return;
        };
        let ready = driver.on_ready_within(now, &mut self.scratch, budget);
        self.read_left -= ready.bytes.min(self.read_left);
        if ready.more {
            self.budget_yields += 1;
        }
        if let Some(Probe {
            running: Running::Stream { more, .. },
            ..
        }) = self.probes.get_mut(i)
        {
            *more = ready.more;
        }
    }

    /// Carries probe `i` forward: collects an ended probe, starts due ones,
    /// turns verdicts into health updates.
    fn progress(&mut self, now: Instant, i: usize, registry: &Registry) {
        self.touched.push(i);
        let mut finished: Option<Outcome> = None;
        {
            let p = &mut self.probes[i];
            match &mut p.running {
                Running::Idle => {}
                Running::Stream {
                    slot, registered, ..
                } => {
                    let Some(driver) = self.drivers.get(*slot) else {
                        return;
                    };
                    if let Some(o) = driver.outcome() {
                        if let Some((fd, _)) = registered.take() {
                            let _ = registry.deregister(&mut SourceFd(&fd));
                        }
                        self.drivers.remove(*slot);
                        finished = Some(o);
                    } else {
                        // HTTP opens a connection per url: register a new fd.
                        let current = driver.raw_fd().map(|fd| (fd, driver.connection_id()));
                        if current != *registered {
                            if let Some((fd, _)) = registered.take() {
                                let _ = registry.deregister(&mut SourceFd(&fd));
                            }
                            if let Some((fd, id)) = current {
                                match registry.register(
                                    &mut SourceFd(&fd),
                                    Source::Probe(i).token(),
                                    Interest::READABLE | Interest::WRITABLE,
                                ) {
                                    Ok(()) => *registered = Some((fd, id)),
                                    Err(e) => warn!("{}: registering its socket: {e}", p.label),
                                }
                            }
                        }
                    }
                }
                Running::Done(outcome) => finished = Some(*outcome),
                Running::Child(child) => {
                    if let Some(end) = child.ended() {
                        if let Some(fd) = child.raw_fd() {
                            let _ = registry.deregister(&mut SourceFd(&fd));
                        }
                        let dynamic = matches!(p.def, ProbeDef::Misc { dynamic: true, .. });
                        finished = Some(misc_outcome(end, dynamic));
                    }
                }
            }
            if let Some(outcome) = finished {
                p.running = Running::Idle;
                p.last = Some(outcome);
                if let Some(started) = p.started.take() {
                    self.duration.record(now.saturating_duration_since(started));
                }
                if let Outcome::Down(reason) = outcome {
                    self.failures[failure_kind(&reason)] += 1;
                }
                p.schedule.handle_probe_result(now, outcome.is_up());
                self.probes_run += 1;
            }
        }
        let file_check = matches!(self.probes[i].def, ProbeDef::File { .. });
        if matches!(finished, Some(Outcome::Up { weight: Some(_) }))
            || (file_check && finished.is_some())
        {
            // misc_dynamic: every run may change the weight, not only a
            // verdict change; `verdict` reports only real changes.
            let up = self.probes[i].schedule.is_up();
            self.verdict(i, up);
        }
        if finished.is_some() {
            // A pool slot freed: the next waiting probe starts.
            if let Some(next) = self.pool.finish() {
                self.start_queue.push(next as usize);
            }
        }
        self.drain_actions(now, i, registry);
    }

    fn drain_actions(&mut self, now: Instant, i: usize, registry: &Registry) {
        while let Some(action) = self.probes[i].schedule.poll_action() {
            match action {
                ScheduleAction::StartProbe => match self.pool.admit(i as u32) {
                    Admission::Start => self.start(now, i, registry),
                    Admission::Queued => {}
                    Admission::Rejected => {
                        // Running out of slots says nothing about the server:
                        // it keeps its verdict and is probed again later.
                        self.pool_full_skips += 1;
                        let p = &mut self.probes[i];
                        let later = p.schedule.timing().delay_before_retry.max(POOL_FULL_RETRY);
                        p.schedule.defer_probe(now + later);
                        if let Some(suppressed) = self.pool_full_log.allow(now) {
                            warn!(
                                "{}: probe pool and its queue are full (limits::MAX_INFLIGHT_CHECKS {MAX_INFLIGHT_CHECKS}); probe put off {} ms, verdict kept ({suppressed} more since the last line)",
                                p.label,
                                later.as_millis()
                            );
                        }
                    }
                },
                ScheduleAction::Verdict(up) => self.verdict(i, up),
            }
        }
    }

    fn start(&mut self, now: Instant, i: usize, registry: &Registry) {
        if let Some((t, started)) = &mut self.timer_probe {
            *started |= *t == i;
        }
        // Echo id and sequence of a PING_CHECK: a raw ICMP socket sees every
        // reply, so each probe's pair is its own.
        let random = self.next_random();
        let Some(p) = self.probes.get_mut(i) else {
            return;
        };
        p.started = Some(now);
        if matches!(p.def, ProbeDef::File { .. }) {
            start_file(p);
        } else if matches!(p.def, ProbeDef::Misc { .. }) {
            self.start_misc(now, i, registry);
        } else if let Some(driver) = stream_driver(&p.def, random, now) {
            let slot = self.drivers.insert(driver);
            p.running = Running::Stream {
                slot,
                registered: None,
                more: false,
            };
        }
        self.progress(now, i, registry);
    }

    /// A MISC_CHECK: spawns the script; with the child table full it waits
    /// for a reap (keeping its pool slot); a failed spawn is a failed probe.
    fn start_misc(&mut self, now: Instant, i: usize, registry: &Registry) {
        let p = &mut self.probes[i];
        let ProbeDef::Misc {
            argv,
            timeout,
            user,
            ..
        } = &p.def
        else {
            return;
        };
        let args: Vec<&std::ffi::OsStr> = argv.iter().map(OsString::as_os_str).collect();
        let spec = ScriptSpec {
            argv: &args,
            user: *user,
            timeout: *timeout,
        };
        match ChildProcess::spawn(&spec, now) {
            Err(e) if crate::io::child::is_full(&e) => {
                // It keeps its pool slot and starts after a reap.
                self.child_waits += 1;
                if self.child_waits.is_power_of_two() {
                    warn!(
                        "{}: {e}; the script waits ({} waits so far)",
                        p.label, self.child_waits
                    );
                }
                self.child_queue.push_back(i);
            }
            Ok(child) => {
                if let Some(fd) = child.raw_fd() {
                    if let Err(e) = registry.register(
                        &mut SourceFd(&fd),
                        Source::Probe(i).token(),
                        Interest::READABLE,
                    ) {
                        warn!("{}: registering the script's pidfd: {e}", p.label);
                    }
                }
                p.running = Running::Child(child);
            }
            Err(e) => {
                warn!("{}: cannot run the script: {e}", p.label);
                let outcome = Outcome::Down(FailReason::Io);
                p.last = Some(outcome);
                p.started = None;
                self.failures[failure_kind(&FailReason::Io)] += 1;
                p.schedule.handle_probe_result(now, false);
                if let Some(next) = self.pool.finish() {
                    self.start_queue.push(next as usize);
                }
            }
        }
    }

    fn verdict(&mut self, i: usize, up: bool) {
        let p = &self.probes[i];
        let reason = match (up, p.last) {
            (true, _) => format!("{} succeeded", p.label),
            (false, Some(Outcome::Down(r))) => format!("{} failed: {r}", p.label),
            (false, _) => format!("{} failed", p.label),
        };
        let weight = match p.last {
            Some(Outcome::Up { weight }) => weight,
            _ => None,
        };
        let subscribers = p.subscribers.clone();
        for (s, idx) in subscribers {
            let server = &mut self.servers[s];
            let before_alive = server.health.alive();
            let before_weight = server.health.weight(server.configured_weight);
            server.health.set_checker(idx, up);
            if matches!(p.def, ProbeDef::Misc { dynamic: true, .. }) {
                server.health.set_dynamic_weight(idx, weight);
            }
            if matches!(p.def, ProbeDef::File { .. }) {
                server
                    .health
                    .set_weight_delta(idx, if up { p.file_delta } else { 0 });
            }
            let alive = server.health.alive();
            let new_weight = server.health.weight(server.configured_weight);
            if alive != before_alive || new_weight != before_weight {
                info!(
                    "real server {} is {} (weight {new_weight}): {reason}",
                    server.label,
                    if alive { "UP" } else { "DOWN" }
                );
                self.updates.push(HealthUpdate {
                    service: server.service,
                    dest: server.dest,
                    alive,
                    weight: (new_weight != server.configured_weight).then_some(new_weight),
                    reason: reason.clone(),
                });
            }
        }
    }

    /// Every probe's timer, for cancelling them all when the checks are replaced.
    pub fn timers(&self) -> impl Iterator<Item = TimerId> + '_ {
        self.probes.iter().filter_map(|p| p.timer)
    }

    /// Children were reaped: starts the scripts waiting for a child slot,
    /// oldest first, while there is room.
    pub fn on_children_reaped(&mut self, now: Instant, registry: &Registry) {
        while crate::io::child::live_children() < crate::limits::MAX_CHILDREN {
            let Some(i) = self.child_queue.pop_front() else {
                return;
            };
            let before = self.child_queue.len();
            self.start(now, i, registry);
            if self.child_queue.len() > before {
                return; // full again: it went back to the queue
            }
        }
    }

    /// Kills running scripts (clean stop, or the checks are replaced); the
    /// SIGCHLD reaper collects them.
    pub fn stop(&mut self) {
        self.child_queue.clear();
        for p in &mut self.probes {
            if let Running::Stream { slot, .. } = p.running {
                self.drivers.remove(slot);
            }
            p.running = Running::Idle;
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn identical_http_definitions_are_stored_once() {
        let mut defs = Vec::new();
        let a = HttpCheck::default();
        let b = HttpCheck {
            connect_timeout: Duration::from_secs(7),
            ..Default::default()
        };
        let first = share_http(&mut defs, a.clone());
        let again = share_http(&mut defs, a);
        let other = share_http(&mut defs, b);
        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(defs.len(), 2);
    }

    #[test]
    fn script_security_covers_misc_check() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("lvsd-miscsec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = dir.join("check.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
        let text = |security: bool| {
            format!(
                "[global]\nenable_script_security = {}\n\n[virtual_server w]\naddress = 127.0.0.1\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n\n[real_server w/127.0.0.2:80]\n\n[misc_check w/127.0.0.2:80]\nmisc_path = {}\n",
                if security { "yes" } else { "no" },
                script.display()
            )
        };
        let now = Instant::now();
        let cfg = config::load_bytes(text(false).as_bytes(), "t.ini").unwrap();
        assert!(Checks::setup(&cfg, now, &|_, _| None).is_ok());
        let cfg = config::load_bytes(text(true).as_bytes(), "t.ini").unwrap();
        let err = match Checks::setup(&cfg, now, &|_, _| None) {
            Ok(_) => panic!("a world-writable MISC_CHECK script was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("misc_path: enable_script_security:") && err.contains("writable"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// One TCP_CHECK on a port nothing listens on (the probe is never run
    /// in these tests: they stop before a socket would open).
    fn one_check(now: Instant) -> Checks {
        let cfg = crate::config::load_str(
            "[global]\nrouter_id = T\n[virtual_server v]\naddress = 127.0.0.1\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\ndelay_loop = 6\n[real_server v/127.0.0.1:9]\n[tcp_check v/127.0.0.1:9]\nwarmup = 0\ndelay_before_retry = 2\n",
            "t.ini",
        )
        .unwrap();
        Checks::setup(&cfg, now, &|_, _| None).unwrap()
    }

    #[test]
    fn a_full_pool_keeps_the_verdict_and_is_counted() {
        let t = Instant::now();
        let poll = mio::Poll::new().unwrap();
        let mut c = one_check(t);
        assert!(c.probes[0].schedule.is_up());
        // Fill the pool: one slot, and its wait queue, taken by others.
        c.pool = InflightPool::new(1);
        while c.pool.admit(999) != Admission::Rejected {}
        let skips_before = c.pool.rejections();
        let due = c.poll_at(0, t).unwrap();
        c.on_timer(due, 0, poll.registry());
        assert_eq!(c.pool_full_skips, 1);
        assert_eq!(c.pool.rejections(), skips_before + 1);
        // No failure was counted against the server: still UP, no update,
        // no retry used, and the probe comes back after delay_before_retry.
        let p = &c.probes[0];
        assert!(p.schedule.is_up());
        assert_eq!(p.schedule.retries_used(), 0);
        assert!(p.last.is_none());
        assert!(c.updates.is_empty());
        assert!(matches!(p.running, Running::Idle));
        assert_eq!(c.poll_at(0, due), Some(due + Duration::from_secs(2)));
        let model = c.model().unwrap();
        assert_eq!(model.pool_full_skips, 1);
        let status = crate::status::Status {
            checks: Some(model),
            ..Default::default()
        };
        let out = crate::status::text::render(&status);
        assert!(out.contains("pool full (verdict kept) 1,"), "{out}");
        // Many in a row: each counted, none changes the verdict.
        for k in 1..=5u32 {
            let at = due + Duration::from_secs(2) * k;
            c.on_timer(at, 0, poll.registry());
        }
        assert_eq!(c.pool_full_skips, 6);
        assert!(c.probes[0].schedule.is_up() && c.updates.is_empty());
    }

    #[test]
    fn a_refused_timer_is_counted_and_retried_never_lost() {
        #[derive(Debug, Clone, Copy, PartialEq)]
        struct K(usize);
        let t = Instant::now();
        let mut c = one_check(t);
        c.touched.push(0);
        // A table with no room: the insert fails loudly and is remembered.
        let mut full: Timers<K> = Timers::with_capacity(0);
        c.sync_timers(t, &mut full, K, |x| x);
        assert_eq!(c.timer_failures, 1);
        assert!(c.probes[0].timer.is_none());
        assert_eq!(c.unscheduled, vec![0]);
        // Next turn, nothing touched it, yet it is tried again.
        c.sync_timers(t, &mut full, K, |x| x);
        assert_eq!(c.timer_failures, 2);
        assert_eq!(c.unscheduled, vec![0]);
        // Room again: it gets its timer.
        let mut timers: Timers<K> = Timers::with_capacity(4);
        c.sync_timers(t, &mut timers, K, |x| x);
        assert!(c.probes[0].timer.is_some());
        assert!(c.unscheduled.is_empty());
        assert_eq!(timers.capped_len(), 1);
        assert_eq!(
            timers.pop_expired(t + Duration::from_secs(2)).map(|x| x.1),
            Some(K(0))
        );
    }
}
