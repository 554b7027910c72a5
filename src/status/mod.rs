//! The daemon's state as one plain value (no IO, no clock): built once per
//! request by the daemon, then rendered as the `lvsd status` text
//! ([`text`]), the versioned JSON of `lvsd status --json` ([`json`]) and the
//! Prometheus text exposition of `GET /metrics` ([`prom`]). One model keeps
//! the three views in agreement: a number shown by one is shown by all.
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]
#![forbid(unsafe_code)]

pub mod json;
pub mod prom;
pub mod text;

use crate::lvs::table::Admin;
use crate::wire::netlink::ipvs::{Dest, DestKey, DestStats, Service, ServiceKey, TrafficStats};

/// Version of the JSON document (`schema_version`); docs/status.schema.json.
/// Bumped when a field changes meaning or goes away; new fields keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// Upper bounds (µs) of the histogram buckets shown in JSON and metrics.
/// Powers of two: each is an exact bucket edge of the daemon's histograms,
/// so the cumulative counts are exact (a value equal to a bound counts in
/// the next bucket).
pub const HISTOGRAM_BOUNDS_US: [u64; 14] = [
    32, 64, 128, 256, 512, 1_024, 2_048, 4_096, 8_192, 16_384, 32_768, 65_536, 262_144, 1_048_576,
];

/// A histogram of durations, with the percentiles the daemon computed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Observations.
    pub count: u64,
    /// Sum of all observations, µs.
    pub sum_us: u64,
    /// Largest observation, µs.
    pub max_us: u64,
    /// Percentiles (upper bucket edge, ≤ max), µs.
    pub p50_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// 99.9th percentile, µs.
    pub p999_us: u64,
    /// Observations below each of [`HISTOGRAM_BOUNDS_US`] (cumulative).
    pub below: [u64; HISTOGRAM_BOUNDS_US.len()],
}

/// The whole status.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// lvsd's version.
    pub version: String,
    /// Seconds since the daemon started.
    pub uptime_s: u64,
    /// Process start, seconds since the Unix epoch.
    pub start_time_unix: f64,
    /// The configuration file.
    pub config_path: String,
    /// Reload counters.
    pub reload: Reload,
    /// Times heavy work was put off behind a VRRP timer.
    pub yields: u64,
    /// The IPVS side (absent for a VRRP-only configuration).
    pub ipvs: Option<Ipvs>,
    /// VRRP instances, in configuration order.
    pub vrrp: Vec<VrrpInstance>,
    /// Notify command runners that did something.
    pub notifiers: Vec<Notifier>,
    /// `vrrp_script`s.
    pub scripts: Vec<Script>,
    /// Track files and their values.
    pub track_files: Vec<(String, i64)>,
    /// `vrrp_track_process`es.
    pub track_processes: Vec<TrackedProcess>,
    /// The notify FIFO: lines written and dropped.
    pub notify_fifo: Option<(u64, u64)>,
    /// VRRP receive sockets with drops that no instance owns.
    pub receivers: Vec<Receiver>,
    /// Health checks (absent without any).
    pub checks: Option<Checks>,
    /// Process figures.
    pub process: Process,
    /// The rtnetlink socket (links, addresses, VIP requests).
    pub rtnetlink: Rtnetlink,
    /// The control socket.
    pub control: Control,
    /// Log lines dropped because the log buffer was full (or the sink failed).
    pub log_lines_lost: u64,
    /// Announce mode, one entry per announced address (empty without it).
    pub announce: Vec<Announced>,
}

/// rtnetlink counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rtnetlink {
    /// Times the kernel dropped events (ENOBUFS).
    pub overflows: u64,
    /// Re-dumps of links and addresses.
    pub redumps: u64,
    /// Requests sent and not yet answered.
    pub pending_requests: u64,
    /// Answers to requests lvsd no longer tracked.
    pub untracked: u64,
    /// Messages that could not be decoded.
    pub undecodable: u64,
}

/// Control socket counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Control {
    /// Clients connected now.
    pub clients: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Refused by the peer check (SO_PEERCRED against the access rules).
    pub refused: u64,
    /// Idle clients dropped to make room.
    pub evicted: u64,
    /// Clients dropped for not sending or not reading in time.
    pub timed_out: u64,
    /// Connections turned away with every slot busy.
    pub turned_away: u64,
}

/// One announced address (announce mode).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Announced {
    /// The address.
    pub address: String,
    /// Its announce group.
    pub group: String,
    /// Announced now.
    pub announced: bool,
    /// Why not, when withdrawn.
    pub reason: Option<String>,
}

/// Reload counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reload {
    /// Reloads accepted (including unchanged files).
    pub count: u64,
    /// Reloads refused.
    pub rejected: u64,
    /// When the last accepted reload (or the start) happened, Unix seconds.
    pub last_success_unix: f64,
    /// What the latest reload did ("none yet" before the first).
    pub last_result: String,
}

/// The IPVS side.
#[derive(Debug, Clone, Default)]
pub struct Ipvs {
    /// IPVS version code (0x010201 = 1.2.1) and connection table size.
    pub version: u32,
    /// Connection table size.
    pub conn_tab_size: u32,
    /// The kernel dump failed with this message (the kernel lists are empty).
    pub dump_error: Option<String>,
    /// The kernel's services in `ipvsadm -Ln` order, each with its destinations.
    pub kernel: Vec<KernelService>,
    /// lvsd's view: configured services with health, in key order.
    pub services: Vec<HealthService>,
    /// Kernel entries lvsd does not own (text).
    pub foreign: Vec<String>,
    /// Reconciles run.
    pub reconciles: u64,
    /// Writes sent to the kernel.
    pub writes: u64,
    /// Writes the kernel refused.
    pub refused: u64,
    /// The connection-sync daemon: "master", "backup", "master+backup"
    /// (`lvs_sync_daemon` without an instance) or "off".
    pub sync_daemon: &'static str,
    /// What the last reconcile took, µs.
    pub last_reconcile_us: u64,
    /// Reconcile durations.
    pub reconcile_duration: Histogram,
    /// Writes whose ack was not there when read (checked by the next dump).
    pub unacknowledged_writes: u64,
    /// The kernel's totals over every service since IPVS was loaded
    /// (/proc/net/ip_vs_stats); `None` when it could not be read.
    pub totals: Option<TrafficStats>,
}

impl Ipvs {
    /// The IPVS version as `1.2.1`.
    pub fn version_text(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}

/// One kernel service with its destinations and their counters.
#[derive(Debug, Clone)]
pub struct KernelService {
    /// The service.
    pub service: Service,
    /// Its traffic counters (IPVS_SVC_ATTR_STATS64).
    pub stats: TrafficStats,
    /// Its destinations in `ipvsadm` order.
    pub dests: Vec<(Dest, DestStats)>,
}

/// A configured virtual server.
#[derive(Debug, Clone)]
pub struct HealthService {
    /// Its key.
    pub key: ServiceKey,
    /// Configured name (the INI section), for labels.
    pub name: String,
    /// Quorum held.
    pub quorum_up: bool,
    /// Its real servers (and sorry server).
    pub real_servers: Vec<RealServer>,
}

/// What lvsd knows of one real server.
#[derive(Debug, Clone)]
pub struct RealServer {
    /// Address and port.
    pub key: DestKey,
    /// `alive`, `DEAD`, `draining` (removed by reload), `sorry-server`.
    pub state: &'static str,
    /// All checkers up.
    pub alive: bool,
    /// The weight lvsd wants in the kernel (`None`: not in the table).
    pub weight: Option<u32>,
    /// The configured weight.
    pub configured_weight: u32,
    /// The operator's override.
    pub admin: Admin,
    /// The last change's reason (shared with the daemon's table).
    pub reason: std::rc::Rc<str>,
}

/// One VRRP instance.
#[derive(Debug, Clone, Default)]
pub struct VrrpInstance {
    /// Name.
    pub name: String,
    /// Virtual router id.
    pub vrid: u8,
    /// Interface.
    pub interface: String,
    /// INIT, BACKUP, MASTER, FAULT.
    pub state: &'static str,
    /// Effective priority.
    pub priority: u8,
    /// Configured priority.
    pub configured_priority: u8,
    /// Held in BACKUP by `lvsd vrrp stepdown`.
    pub held: bool,
    /// The VIPs (text, without prefix).
    pub vips: Vec<String>,
    /// Adverts sent.
    pub adverts_sent: u64,
    /// Adverts accepted.
    pub adverts_received: u64,
    /// Times it became master.
    pub became_master: u64,
    /// Times it left master.
    pub released_master: u64,
    /// Drops per reason (every reason, in `DropReason` order).
    pub drops: Vec<(&'static str, u64)>,
    /// Adverts with a VIP list unlike ours.
    pub vip_mismatches: u64,
    /// Answers to lower or priority-0 adverts left out by the rate limit.
    pub answers_limited: u64,
    /// Notifications merged away in a burst of state changes.
    pub notify_coalesced: u64,
    /// How late timer-driven adverts left.
    pub advert_lateness: Histogram,
}

/// A notify runner (instance or group).
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    /// `vrrp_instance X` / `vrrp_sync_group Y`.
    pub label: String,
    /// Commands run.
    pub runs: u64,
    /// Commands failed.
    pub failures: u64,
    /// Commands dropped (queue full).
    pub dropped: u64,
    /// One is running now.
    pub busy: bool,
}

/// A `vrrp_track_process`.
#[derive(Debug, Clone, Default)]
pub struct TrackedProcess {
    /// Name.
    pub name: String,
    /// Matching processes counted.
    pub count: u32,
    /// Whether the quorum is met.
    pub up: bool,
    /// Whether the kernel's process events are used (else /proc rescans).
    pub events: bool,
}

/// A `vrrp_script`.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Name.
    pub name: String,
    /// Up.
    pub up: bool,
    /// Runs.
    pub runs: u64,
    /// The last result (text).
    pub last: String,
}

/// Drops no instance owns, per receive socket.
#[derive(Debug, Clone, Default)]
pub struct Receiver {
    /// Interface.
    pub interface: String,
    /// IPv6 socket.
    pub ipv6: bool,
    /// Drops per reason.
    pub drops: Vec<(&'static str, u64)>,
    /// Packets read per wake-up at most.
    pub read_budget: u64,
    /// Wake-ups that stopped at that budget.
    pub budget_reached: u64,
}

/// Health checks.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// Distinct probes.
    pub probes: usize,
    /// Probes run.
    pub run: u64,
    /// Running now.
    pub in_flight: u64,
    /// Pool capacity.
    pub pool_capacity: u64,
    /// Probes that waited for a pool slot.
    pub pool_waits: u64,
    /// Check scripts that waited for a child slot (limits::MAX_CHILDREN).
    pub child_slot_waits: u64,
    /// Probes refused by a full pool.
    pub pool_rejected: u64,
    /// Probes skipped because the pool was full (the verdict stays).
    pub pool_full_skips: u64,
    /// Times the checks' read budget ended a wake-up's reading.
    pub read_budget_yields: u64,
    /// Probe timers that could not be scheduled.
    pub timer_failures: u64,
    /// Failures per reason (every reason, in a fixed order).
    pub failures: Vec<(&'static str, u64)>,
    /// How late probes started.
    pub start_lateness: Histogram,
    /// How long probes took.
    pub duration: Histogram,
}

/// Process figures (Linux /proc).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Process {
    /// Resident set, bytes.
    pub rss_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// Largest number of open descriptors allowed.
    pub max_fds: u64,
}

/// `ip:port`, with brackets for IPv6 (as ipvsadm prints them).
pub fn addr_port(addr: std::net::IpAddr, port: u16) -> String {
    match addr {
        std::net::IpAddr::V4(a) => format!("{a}:{port}"),
        std::net::IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// `TCP 10.0.0.100:80` / `FWM 9`: a service as lvsd's lines name it.
pub fn key_text(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => format!("{} {}", protocol.name(), addr_port(*addr, *port)),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
pub(crate) mod sample;
#[cfg(test)]
#[test]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
fn zz_generate_goldens() {
    if std::env::var_os("LVSD_WRITE_GOLDEN").is_none() {
        return;
    }
    let s = sample::status();
    std::fs::write("src/status/golden/status.txt", text::render(&s)).unwrap();
    std::fs::write("src/status/golden/metrics.txt", prom::render(&s)).unwrap();
    std::fs::write("src/status/golden/status.json", json::render(&s)).unwrap();
}
