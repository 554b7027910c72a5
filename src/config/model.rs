//! The validated configuration: fixed-capacity types with every default resolved.
//!
//! Small per-object lists are `heapless`; the large tables (virtual servers, real
//! servers, checkers, URLs) are `Vec`s built once at load, each checked against its
//! `limits.rs` capacity, so nothing grows after start.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use super::error::ConfigWarning;
use crate::limits::{
    MAX_NAME_LEN, MAX_PATH_LEN, MAX_STATUS_RANGES, MAX_SYNC_GROUP_MEMBERS, MAX_TRACKS_PER_INSTANCE,
    MAX_UNICAST_PEERS,
};

/// A name: instance, script, virtual server, interface, user.
pub type Name = heapless::String<MAX_NAME_LEN>;

pub use super::route::{NextHop, Prefix, Route, RouteCreate, RouteType, Rule, RuleAction};
/// A path or command line.
pub type PathText = heapless::String<MAX_PATH_LEN>;

/// The whole validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// File name the configuration came from.
    pub origin: String,
    /// `[global]`.
    pub global: Global,
    /// `[vrrp_script NAME]` sections, in file order.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `[vrrp_track_process NAME]` sections, in file order.
    pub vrrp_track_processes: Vec<VrrpTrackProcess>,
    /// `[vrrp_instance NAME]` sections, in file order.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// `[vrrp_sync_group NAME]` sections, in file order.
    pub sync_groups: Vec<SyncGroup>,
    /// `[virtual_server NAME]` sections with their real servers and checkers.
    pub virtual_servers: Vec<VirtualServer>,
    /// Every interface the configuration names; the daemon checks they exist at start.
    pub interfaces: Vec<Name>,
    /// Legal but suspicious settings, each with file:line.
    pub warnings: Vec<ConfigWarning>,
}

/// Where logs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard error (foreground).
    Stderr,
    /// The local syslog socket.
    Syslog,
}

/// Linux capability names, indexed by number (capabilities(7)).
const CAPABILITY_NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// The name of capability `n` without `cap_` (`net_admin`).
pub fn capability_name(n: u32) -> Option<&'static str> {
    CAPABILITY_NAMES.get(n as usize).copied()
}

/// The number of a capability name, with or without `cap_`, any case.
pub fn capability_number(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    let bare = lower.strip_prefix("cap_").unwrap_or(&lower);
    CAPABILITY_NAMES
        .iter()
        .position(|n| *n == bare)
        .map(|i| i as u32)
}

/// How a log line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `lvsd info: text` (stderr) or `<pri>lvsd[pid]: text` (syslog).
    Text,
    /// logfmt: `level=info msg="text"` plus `key=value` fields.
    Logfmt,
}

/// The kernel's IPVS connection-sync daemon, tied to a VRRP instance's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    /// Multicast interface for the sync traffic.
    pub interface: Name,
    /// The VRRP instance whose state the daemon follows; `None` runs the
    /// master and the backup daemon together for as long as lvsd runs
    /// (keepalived's `lvs_sync_daemon IFACE` without an instance).
    pub instance: Option<Name>,
    /// Sync id (defaults to the instance's virtual_router_id, 0 without one).
    pub sync_id: u8,
    /// `maxlen`: sync message payload size (kernel default when `None`).
    pub max_len: Option<u16>,
    /// `port`: UDP port of the sync traffic (kernel default 8848).
    pub port: Option<u16>,
    /// `ttl`: multicast TTL (kernel default 1).
    pub ttl: Option<u8>,
    /// `group`: multicast group (kernel default 224.0.0.81).
    pub group: Option<IpAddr>,
}

/// IPVS connection timeouts, `lvs_timeouts` (keepalived's `tcp`, `tcpfin`,
/// `udp`), in seconds; 0 = left as the kernel had them when lvsd started.
pub use crate::wire::netlink::ipvs::Timeouts;

/// `lvs_flush_on_stop`: what a clean stop does to the IPVS table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushOnStop {
    /// Delete each real server, then each virtual server lvsd owns (keepalived's default).
    No,
    /// Flush the whole table, entries lvsd does not own included (`lvs_flush_on_stop`).
    Full,
    /// Delete each virtual server lvsd owns; the kernel removes its real servers
    /// with it, foreign ones included (`lvs_flush_on_stop VS`).
    VirtualServers,
}

/// `[global]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Global {
    /// Line of the section header (0 when the section is absent).
    pub line: usize,
    /// `router_id`: this director's name in notifications.
    pub router_id: Option<Name>,
    /// `script_user`: user scripts run as (default root).
    pub script_user: Option<Name>,
    /// `enable_script_security`: refuse scripts writable by non-root.
    pub enable_script_security: bool,
    /// `vrrp_strict`: every instance's default `strict_mode`.
    pub vrrp_strict: bool,
    /// `notify_fifo`: FIFO that receives every notify line.
    pub notify_fifo: Option<PathText>,
    /// `notify_timeout` (lvsd): how long one notify script may run.
    pub notify_timeout: Duration,
    /// `vrrp_garp_master_delay`: default second GARP burst delay.
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat`: default GARPs per burst.
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh`: default periodic GARP (None = off).
    pub vrrp_garp_master_refresh: Option<Duration>,
    /// `vrrp_garp_master_refresh_repeat`: GARPs per refresh.
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `lvs_sync_daemon`, or the one instance with `lvs_sync_daemon_interface`.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `lvs_timeouts`: set at start and on reload, restored at stop (None: untouched).
    pub lvs_timeouts: Option<Timeouts>,
    /// `lvs_flush`: flush the whole IPVS table at start (not on reload).
    pub lvs_flush: bool,
    /// `lvs_flush_on_stop`.
    pub lvs_flush_on_stop: FlushOnStop,
    /// `reconcile_interval` (lvsd): how often the IPVS table is compared with the kernel.
    pub reconcile_interval: Duration,
    /// `control_socket` (lvsd): unix socket path for `lvsd` operator commands.
    pub control_socket: PathText,
    /// `log_target` (lvsd): stderr or syslog.
    pub log_target: LogTarget,
    /// `announce_device` (lvsd): the TUN device announced VIPs sit on (docs/scale-out.md).
    pub announce_device: Name,
    /// `announce_maintenance` (lvsd): withdraw every announced VIP.
    pub announce_maintenance: bool,
    /// `log_facility` (lvsd): the syslog facility code (daemon = 3, local0..7 = 16..23).
    pub log_facility: u8,
    /// `log_format` (lvsd): text or logfmt.
    pub log_format: LogFormat,
    /// `control_socket_mode` (lvsd): permission bits of the control socket.
    pub control_socket_mode: u32,
    /// `control_socket_group` (lvsd): group that owns the control socket.
    pub control_socket_group: Option<Name>,
    /// `script_capabilities` (lvsd): capabilities kept in the bounding set for
    /// scripts that run as root, beyond the daemon's own (bit n = capability n).
    pub script_capabilities: u64,
    /// `metrics_listen` (lvsd): where `GET /metrics` is served (off when absent).
    pub metrics_listen: Option<SocketAddr>,
    /// `static_ipaddress` lines: added at start whatever the VRRP state,
    /// re-added when removed by hand, removed at stop.
    pub static_ipaddress: Vec<VirtualIp>,
    /// `static_routes` lines: installed at start, kept, removed at stop.
    pub static_routes: Vec<Route>,
    /// `static_rules` lines: installed at start, kept, removed at stop.
    pub static_rules: Vec<Rule>,
}

/// `[vrrp_script NAME]`.
#[derive(Debug, Clone, PartialEq)]
pub struct VrrpScript {
    /// Section name.
    pub name: Name,
    /// Line of the section header.
    pub line: usize,
    /// `script`: command line to run.
    pub script: PathText,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default = interval).
    pub timeout: Duration,
    /// `weight` (default 0: FAULT while failing), -254..=254.
    pub weight: i32,
    /// `rise`: successes before up (default 1).
    pub rise: u32,
    /// `fall`: failures before down (default 1).
    pub fall: u32,
    /// `user`: run as this user (default global script_user).
    pub user: Option<Name>,
    /// `init_fail`: the script starts as failing (keepalived's
    /// SCRIPT_INIT_STATE_FAILED): `rise` successes are needed before it counts as up.
    pub init_fail: bool,
}

/// `state` (the state an instance starts towards) and `version`: the VRRP
/// state machine's and the advert codec's own types.
pub use crate::vrrp::instance::InitialState as VrrpState;
pub use crate::wire::vrrp::Version as VrrpVersion;

/// VRRPv2 authentication (RFC 3768 section 5.3.6; removed in v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// Simple text password, at most 8 bytes, zero-padded on the wire.
    Pass(heapless::String<8>),
    /// IPsec AH (HMAC-MD5-96, keepalived's form) keyed by this password, at most 8 bytes.
    Ah(heapless::String<8>),
}

/// One `virtual_ipaddress` (or `virtual_ipaddress_excluded`) line:
/// `ADDR[/PREFIX] [dev IFACE] [brd ADDR|+|-] [scope SCOPE] [label NAME]
/// [no_track] [preferred_lft SECONDS|forever]`, keepalived's syntax
/// (`alloc_ipaddress()` in vrrp_ipaddress.c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualIp {
    /// The address.
    pub address: IpAddr,
    /// Prefix length (default 32 / 128).
    pub prefix_len: u8,
    /// Interface (default the instance's interface).
    pub dev: Name,
    /// Address label (`eth0:1`), as `ip addr add ... label`; IPv4 only, at
    /// most 15 bytes (IFNAMSIZ - 1).
    pub label: Option<Name>,
    /// `brd`: IPv4 broadcast address (`+` / `-` resolved at load).
    pub broadcast: Option<Ipv4Addr>,
    /// `scope`: RT_SCOPE_* (0 global, 200 site, 253 link, 254 host); IPv4 only.
    pub scope: u8,
    /// `no_track`: deleting the address by hand while master is left alone,
    /// and a VIP on another interface does not make that interface tracked.
    pub no_track: bool,
    /// `preferred_lft` in seconds, `None` = forever (IPv6 only). keepalived's
    /// default: 0 (deprecated, never chosen as a source) for a /128, forever
    /// for a shorter prefix.
    pub preferred_lft: Option<u32>,
    /// Line it was given on.
    pub line: usize,
}

/// One `track_interface` line: `IFACE [weight N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInterface {
    /// Interface name.
    pub interface: Name,
    /// Weight: 0 = FAULT while down.
    pub weight: i32,
}

/// One `track_script` line: `NAME [weight N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackScript {
    /// Index into `Config::vrrp_scripts`.
    pub script: usize,
    /// The script's name.
    pub name: Name,
    /// Weight (default: the script's own weight).
    pub weight: i32,
}

/// One `track_file` line:
/// `PATH [weight N [reverse]] [init_file [VALUE] [overwrite]]`; the file
/// holds a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFile {
    /// File path.
    pub path: PathText,
    /// Weight multiplied by the file's number (0 = FAULT when non-zero).
    pub weight: i32,
    /// `reverse`: the product is negated; with weight 0, FAULT while 0.
    pub reverse: bool,
    /// `init_file`: what the daemon writes at start.
    pub init: Option<TrackFileInit>,
}

/// `init_file [VALUE] [overwrite]` of a track file (keepalived's): at
/// start, write VALUE (default 0) when the file does not exist, or with
/// `overwrite` also over an existing regular file. `lvsd check` and a
/// reload never write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackFileInit {
    /// The number written.
    pub value: i32,
    /// Write over an existing file too.
    pub overwrite: bool,
}

/// One `track_process` line: `NAME [weight N [reverse|noreverse]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackProcess {
    /// Index into `Config::vrrp_track_processes`.
    pub process: usize,
    /// The definition's name.
    pub name: Name,
    /// Weight (default: the definition's own; 0 = FAULT without quorum).
    pub weight: i32,
    /// `reverse`: the weight applies the other way round (weight 0: FAULT
    /// while the quorum is met).
    pub reverse: bool,
}

/// How `vrrp_track_process` compares a process's arguments (`param_match`):
/// the process tracker's own type.
pub use crate::vrrp::process::ParamMatch;

/// `[vrrp_track_process NAME]`: a quorum of running processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpTrackProcess {
    /// Section name.
    pub name: Name,
    /// Line of the section header.
    pub line: usize,
    /// `process`: the name (the kernel's comm, at most 15 bytes) or, with
    /// `full_command`, argv[0].
    pub process: PathText,
    /// The words after the name on the `process` line.
    pub params: Vec<String>,
    /// `param_match` (exact when arguments are given).
    pub param_match: ParamMatch,
    /// `full_command`: compare argv[0] of /proc/PID/cmdline (implied by
    /// arguments or `param_match`).
    pub full_command: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `quorum_max` (default no limit).
    pub quorum_max: u32,
    /// `weight` (default 0: FAULT without quorum), -254..=254.
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `fork_delay` (or `delay`; default 0).
    pub fork_delay: Duration,
    /// `terminate_delay` (or `delay`; default 0).
    pub terminate_delay: Duration,
}

/// Notify commands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    /// `notify_master`.
    pub master: Option<PathText>,
    /// `notify_backup`.
    pub backup: Option<PathText>,
    /// `notify_fault`.
    pub fault: Option<PathText>,
    /// `notify_stop`.
    pub stop: Option<PathText>,
    /// `notify`: generic, gets `INSTANCE|GROUP name STATE priority` appended.
    pub generic: Option<PathText>,
}

/// `[vrrp_instance NAME]`.
#[derive(Debug, Clone, PartialEq)]
pub struct VrrpInstance {
    /// Section name.
    pub name: Name,
    /// Line of the section header.
    pub line: usize,
    /// `state` (default BACKUP).
    pub state: VrrpState,
    /// `interface`: where adverts go and VIPs live.
    pub interface: Name,
    /// `lvs_sync_daemon_interface`: IPVS sync daemon interface following this instance.
    pub lvs_sync_daemon_interface: Option<Name>,
    /// `virtual_router_id`, 1..=255.
    pub virtual_router_id: u8,
    /// `priority`, 1..=255 (default 100; 255 = address owner).
    pub priority: u8,
    /// `advert_int` (default 1 s).
    pub advert_int: Duration,
    /// `version` / `vrrp_version` (default 2).
    pub version: VrrpVersion,
    /// `auth_type` + `auth_pass` (v2 only).
    pub authentication: Option<Authentication>,
    /// `virtual_ipaddress` lines: held while master and listed in adverts.
    /// Built once at load; with the excluded ones at most
    /// `MAX_VIPS_PER_INSTANCE`, and at most `max_advert_vips()` of them.
    pub virtual_ipaddresses: Vec<VirtualIp>,
    /// `virtual_ipaddress_excluded` lines, plus the `virtual_ipaddress` lines
    /// that do not fit in an advert: held while master like the VIPs, never
    /// listed in adverts (keepalived's eVIPs). Any family.
    pub virtual_ipaddresses_excluded: Vec<VirtualIp>,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `dont_track_primary`: the instance's own interface going down does not
    /// make it FAULT (keepalived's keyword of the same name).
    pub dont_track_primary: bool,
    /// `preempt_delay` (default 0).
    pub preempt_delay: Duration,
    /// `down_timer_adverts`, 1..=100 (default 3).
    pub down_timer_adverts: u8,
    /// `mcast_src_ip`.
    pub mcast_src_ip: Option<IpAddr>,
    /// `unicast_src_ip`.
    pub unicast_src_ip: Option<IpAddr>,
    /// `unicast_peer` lines.
    pub unicast_peers: heapless::Vec<IpAddr, MAX_UNICAST_PEERS>,
    /// `track_interface` lines.
    pub track_interfaces: heapless::Vec<TrackInterface, MAX_TRACKS_PER_INSTANCE>,
    /// `track_script` lines.
    pub track_scripts: heapless::Vec<TrackScript, MAX_TRACKS_PER_INSTANCE>,
    /// `track_file` lines.
    pub track_files: heapless::Vec<TrackFile, MAX_TRACKS_PER_INSTANCE>,
    /// `track_process` lines (with the sync group's, copied in at load).
    pub track_processes: heapless::Vec<TrackProcess, MAX_TRACKS_PER_INSTANCE>,
    /// `garp_master_delay` (default global vrrp_garp_master_delay, 5 s).
    pub garp_master_delay: Duration,
    /// `garp_master_repeat` (default global, 5).
    pub garp_master_repeat: u32,
    /// `garp_master_refresh` (default global; None = off).
    pub garp_master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`: GARPs per VIP in each refresh (default global, 1).
    pub garp_master_refresh_repeat: u32,
    /// Notify commands.
    pub notify: Notify,
    /// `native_ipv6`: force IPv6 / VRRPv3 for this instance.
    pub native_ipv6: bool,
    /// `strict_mode` (default global `vrrp_strict`): keepalived's strict RFC
    /// compliance. The loader refuses what strict mode forbids; a master does
    /// not answer lower-priority adverts (no advert, no GARP burst).
    pub strict_mode: bool,
    /// `virtual_routes` lines: installed with the VIPs on becoming master,
    /// removed when leaving master.
    pub virtual_routes: Vec<Route>,
    /// `virtual_rules` lines: installed and removed like `virtual_routes`.
    pub virtual_rules: Vec<Rule>,
    /// `use_vmac [NAME]`: adverts and VIPs on a private-mode macvlan with the
    /// VRRP virtual MAC (keepalived's VMAC); `Some(None)` for keepalived's
    /// default name (`vrrp.VRID`).
    pub use_vmac: Option<Option<Name>>,
    /// `vmac_xmit_base`: adverts go out of (and are heard on) `interface`, not
    /// the VMAC; the VIPs stay on the VMAC.
    pub vmac_xmit_base: bool,
}

impl VrrpInstance {
    /// True when the instance's VIPs are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.native_ipv6
            || self
                .virtual_ipaddresses
                .first()
                .is_some_and(|vip| vip.address.is_ipv6())
    }
}

/// `[vrrp_sync_group NAME]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncGroup {
    /// Section name.
    pub name: Name,
    /// Line of the section header.
    pub line: usize,
    /// `group` lines: member instance names.
    pub members: heapless::Vec<Name, MAX_SYNC_GROUP_MEMBERS>,
    /// Indices into `Config::vrrp_instances`, same order as `members`.
    pub member_indices: heapless::Vec<usize, MAX_SYNC_GROUP_MEMBERS>,
    /// `track_file` lines: every member tracks each file with this weight,
    /// as keepalived adds a sync group's tracked files to each member
    /// (already copied into the members' `track_files` at load).
    pub track_files: heapless::Vec<TrackFile, MAX_TRACKS_PER_INSTANCE>,
    /// `track_process` lines, copied into every member at load as keepalived
    /// adds a sync group's tracked processes to each member.
    pub track_processes: heapless::Vec<TrackProcess, MAX_TRACKS_PER_INSTANCE>,
    /// Notify commands.
    pub notify: Notify,
}

/// Transport protocol of a virtual server, IPVS forwarding method (`lb_kind`: NAT is
/// `Masq`, DR is `Route`, TUN is `Tunnel`) with its tunnel encapsulation, and scheduler
/// (`lb_algo`): the kernel's own types, shared with the IPVS codec.
pub use crate::wire::netlink::ipvs::{ForwardMethod, Protocol, Scheduler, TunnelType};

/// What a virtual server listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `address` + `port`.
    Address(SocketAddr),
    /// `fwmark` (with the family of `address` if given, else IPv4 unless `ipv6 = yes`).
    Fwmark {
        /// Firewall mark.
        mark: u32,
        /// True for an IPv6 fwmark service.
        ipv6: bool,
    },
}

/// Checker timing, resolved through virtual_server -> real_server -> checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckTiming {
    /// `delay_loop` (default 60 s).
    pub delay_loop: Duration,
    /// `connect_timeout` (default 5 s).
    pub connect_timeout: Duration,
    /// `retry` (default 1, MISC_CHECK 0).
    pub retry: u32,
    /// `delay_before_retry` (default 1 s, HTTP_GET/SSL_GET 3 s).
    pub delay_before_retry: Duration,
    /// `warmup` (default = delay_loop).
    pub warmup: Duration,
}

/// HTTP version for HTTP_GET / SSL_GET: the request codec's own type.
pub use crate::wire::http::HttpVersion;

/// One `url` line of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `path=`.
    pub path: PathText,
    /// `digest=`: MD5 of the body.
    pub digest: Option<[u8; 16]>,
    /// `status_code=`: accepted ranges (default 200-299).
    pub status_codes: heapless::Vec<RangeInclusive<u16>, MAX_STATUS_RANGES>,
    /// `virtualhost=`: Host header for this URL.
    pub virtualhost: Option<Name>,
    /// `regex=`: literal text the body must contain (empty: none).
    pub regex: heapless::Vec<u8, { crate::limits::HTTP_REGEX_MAX }>,
    /// `regex_no_match`: the body must not contain `regex`.
    pub regex_no_match: bool,
}

/// TLS options of SSL_GET (lvsd: verification and SNI are optional extras).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// `verify`: check the certificate chain (default no, as keepalived).
    pub verify: bool,
    /// `ca_file`: PEM bundle for verification (default system roots).
    pub ca_file: Option<PathText>,
    /// `sni`: server name to send (default the virtualhost, if any).
    pub sni: Option<Name>,
}

/// HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    /// `url` lines.
    pub urls: Vec<Url>,
    /// `virtualhost`: Host header (default: inherited from the virtual server).
    pub virtualhost: Option<Name>,
    /// `http_protocol` (default 1.0).
    pub http_protocol: HttpVersion,
    /// TLS options; `Some` for SSL_GET.
    pub tls: Option<TlsOptions>,
}

/// MISC_CHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiscCheck {
    /// `misc_path`: command line.
    pub path: PathText,
    /// `misc_timeout` (default delay_loop).
    pub timeout: Duration,
    /// `misc_dynamic`: exit 2..=255 sets weight = code - 2.
    pub dynamic: bool,
    /// `user` (default global script_user).
    pub user: Option<Name>,
}

/// FILE_CHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// `file`: holds the number.
    pub path: PathText,
    /// `weight` (default 1): the number's multiplier.
    pub weight: i32,
    /// `weight W reverse`: the multiplier is negated.
    pub reverse: bool,
}

/// DNS_CHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCheck {
    /// `name` (default the root).
    pub name: String,
    /// `type` (default SOA).
    pub qtype: u16,
}

/// What a checker does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// TCP_CHECK.
    Tcp,
    /// HTTP_GET (tls None) or SSL_GET (tls Some); boxed to keep `Checker` small.
    Http(Box<HttpCheck>),
    /// SMTP_CHECK.
    Smtp {
        /// `helo_name` (default router_id or `lvsd`).
        helo_name: Name,
    },
    /// MISC_CHECK; boxed to keep `Checker` small.
    Misc(Box<MiscCheck>),
    /// UDP_CHECK: what to send and expect, shared by its probes.
    Udp(std::sync::Arc<crate::check::udp::UdpSpec>),
    /// PING_CHECK (ICMP or ICMPv6 echo, by the address family).
    Ping,
    /// FILE_CHECK; boxed to keep `Checker` small.
    File(Box<FileCheck>),
    /// DNS_CHECK; boxed to keep `Checker` small.
    Dns(Box<DnsCheck>),
}

impl CheckKind {
    /// The keepalived block name.
    pub fn keepalived_name(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::Http(h) if h.tls.is_some() => "SSL_GET",
            CheckKind::Http(_) => "HTTP_GET",
            CheckKind::Smtp { .. } => "SMTP_CHECK",
            CheckKind::Misc(_) => "MISC_CHECK",
            CheckKind::Udp(_) => "UDP_CHECK",
            CheckKind::Ping => "PING_CHECK",
            CheckKind::File(_) => "FILE_CHECK",
            CheckKind::Dns(_) => "DNS_CHECK",
        }
    }
}

/// One health checker of a real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checker {
    /// Line of the section header.
    pub line: usize,
    /// Kind and kind-specific settings.
    pub kind: CheckKind,
    /// Address probed (`connect_ip`, default the real server's).
    pub connect_ip: IpAddr,
    /// Port probed (`connect_port`, default the real server's).
    pub connect_port: u16,
    /// `bindto`: source address.
    pub bindto: Option<IpAddr>,
    /// Resolved timing.
    pub timing: CheckTiming,
}

/// `[real_server VS/ADDR:PORT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// Line of the section header.
    pub line: usize,
    /// Address and port (port 0 for fwmark services without a port).
    pub address: SocketAddr,
    /// `weight`, 0..=65535 (default 1).
    pub weight: u32,
    /// `lb_kind` / `lvs_method` (+ `tun_type`): default the virtual server's.
    pub forward: ForwardMethod,
    /// `inhibit_on_failure` (default: the virtual server's).
    pub inhibit_on_failure: bool,
    /// `uthreshold`: upper connection threshold (0 = none).
    pub uthreshold: u32,
    /// `lthreshold`: lower connection threshold (0 = none).
    pub lthreshold: u32,
    /// `notify_up`.
    pub notify_up: Option<Box<PathText>>,
    /// `notify_down`.
    pub notify_down: Option<Box<PathText>>,
    /// Checkers; all must be up for the server to be alive.
    pub checkers: Vec<Checker>,
}

/// `[virtual_server NAME]`.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualServer {
    /// Section name.
    pub name: Name,
    /// Line of the section header.
    pub line: usize,
    /// Address+port or fwmark.
    pub service: Service,
    /// `protocol` (required for address services; TCP for fwmark when absent).
    pub protocol: Protocol,
    /// `lb_algo`.
    pub scheduler: Scheduler,
    /// `lb_kind` (+ `tun_type`).
    pub forward: ForwardMethod,
    /// `persistence_timeout`.
    pub persistence_timeout: Option<Duration>,
    /// `persistence_granularity` as a prefix length.
    pub persistence_granularity: Option<u8>,
    /// Timing defaults for checkers (delay_loop etc., already resolved).
    pub timing: CheckTiming,
    /// `alpha`: servers start down and join after a first success.
    pub alpha: bool,
    /// `omega`: at shutdown, also run notify_down of every alive real server and quorum_down.
    pub omega: bool,
    /// `quorum`: minimum live weight (default 1).
    pub quorum: u32,
    /// `hysteresis` around the quorum (default 0).
    pub hysteresis: u32,
    /// `quorum_up` command.
    pub quorum_up: Option<PathText>,
    /// `quorum_down` command.
    pub quorum_down: Option<PathText>,
    /// `sorry_server`: replaces the pool when quorum is lost.
    pub sorry_server: Option<SocketAddr>,
    /// `sorry_server_inhibit`: the sorry server stays in the table with weight 0
    /// while the quorum holds, instead of being removed.
    pub sorry_server_inhibit: bool,
    /// `sorry_server_lvs_method`: the sorry server's forwarding (default `lb_kind`'s).
    pub sorry_server_forward: ForwardMethod,
    /// `inhibit_on_failure` default for the real servers.
    pub inhibit_on_failure: bool,
    /// `virtualhost` default for HTTP checkers.
    pub virtualhost: Option<Name>,
    /// `ha_suspend`: checks pause while the service address is on no local interface.
    pub ha_suspend: bool,
    /// `announce` (lvsd): the announce group; the address is announced by route
    /// (docs/scale-out.md) instead of held by VRRP.
    pub announce: Option<Name>,
    /// Real servers, in file order.
    pub real_servers: Vec<RealServer>,
    /// `group`: the `[virtual_server_group]` this service was expanded from.
    pub group: Option<Name>,
}

/// Convenience for building fixed-capacity names in tests and tools.
pub fn name(text: &str) -> Name {
    let mut out = Name::new();
    for c in text.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}
