//! IPVS over generic netlink: typed services, destinations, sync daemons and timeouts, the
//! request encoders and the bounds-checked reply decoders. Constants are from
//! `/usr/include/linux/ip_vs.h`; the kernel side is `net/netfilter/ipvs/ip_vs_ctl.c`.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attr::{Attr, Attrs};
use super::genl::{self, GenlHeader};
use super::msg::{DecodeError, EncodeError, MessageBuilder, NLM_F_ACK, NLM_F_DUMP};

/// Generic netlink family name of IPVS.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// IPVS generic netlink interface version.
pub const IPVS_GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*`.
pub mod cmd {
    /// Add a service.
    pub const NEW_SERVICE: u8 = 1;
    /// Edit a service.
    pub const SET_SERVICE: u8 = 2;
    /// Delete a service.
    pub const DEL_SERVICE: u8 = 3;
    /// Get or dump services.
    pub const GET_SERVICE: u8 = 4;
    /// Add a destination.
    pub const NEW_DEST: u8 = 5;
    /// Edit a destination.
    pub const SET_DEST: u8 = 6;
    /// Delete a destination.
    pub const DEL_DEST: u8 = 7;
    /// Dump the destinations of a service.
    pub const GET_DEST: u8 = 8;
    /// Start a sync daemon.
    pub const NEW_DAEMON: u8 = 9;
    /// Stop a sync daemon.
    pub const DEL_DAEMON: u8 = 10;
    /// Dump the sync daemons.
    pub const GET_DAEMON: u8 = 11;
    /// Set the connection timeouts.
    pub const SET_CONFIG: u8 = 12;
    /// Get the connection timeouts.
    pub const GET_CONFIG: u8 = 13;
    /// Reply command to GET_INFO.
    pub const SET_INFO: u8 = 14;
    /// Get the IPVS version and connection table size.
    pub const GET_INFO: u8 = 15;
    /// Zero the counters.
    pub const ZERO: u8 = 16;
    /// Delete every service. lvsd never sends it (BEHAVIOUR.md: nothing is ever flushed).
    pub const FLUSH: u8 = 17;
}

/// `IPVS_CMD_ATTR_*`.
pub mod cmd_attr {
    /// Nested service.
    pub const SERVICE: u16 = 1;
    /// Nested destination.
    pub const DEST: u16 = 2;
    /// Nested sync daemon.
    pub const DAEMON: u16 = 3;
    /// TCP timeout, seconds (u32).
    pub const TIMEOUT_TCP: u16 = 4;
    /// TCP FIN_WAIT timeout, seconds (u32).
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    /// UDP timeout, seconds (u32).
    pub const TIMEOUT_UDP: u16 = 6;
}

/// `IPVS_SVC_ATTR_*`.
pub mod svc_attr {
    /// Address family (u16).
    pub const AF: u16 = 1;
    /// IP protocol (u16).
    pub const PROTOCOL: u16 = 2;
    /// Address (16 bytes, union nf_inet_addr).
    pub const ADDR: u16 = 3;
    /// Port (be16).
    pub const PORT: u16 = 4;
    /// Firewall mark (u32).
    pub const FWMARK: u16 = 5;
    /// Scheduler name (string).
    pub const SCHED_NAME: u16 = 6;
    /// Flags (struct ip_vs_flags: u32 flags, u32 mask).
    pub const FLAGS: u16 = 7;
    /// Persistence timeout, seconds (u32).
    pub const TIMEOUT: u16 = 8;
    /// Persistence netmask (be32 mask for IPv4, prefix length for IPv6).
    pub const NETMASK: u16 = 9;
    /// Nested statistics.
    pub const STATS: u16 = 10;
    /// Persistence engine name (string).
    pub const PE_NAME: u16 = 11;
    /// Nested 64-bit statistics.
    pub const STATS64: u16 = 12;
}

/// `IPVS_DEST_ATTR_*`.
pub mod dest_attr {
    /// Address (16 bytes).
    pub const ADDR: u16 = 1;
    /// Port (be16).
    pub const PORT: u16 = 2;
    /// Forwarding method (u32, IP_VS_CONN_F_FWD_MASK bits).
    pub const FWD_METHOD: u16 = 3;
    /// Weight (u32).
    pub const WEIGHT: u16 = 4;
    /// Upper connection threshold (u32).
    pub const U_THRESH: u16 = 5;
    /// Lower connection threshold (u32).
    pub const L_THRESH: u16 = 6;
    /// Active connections (u32, dump only).
    pub const ACTIVE_CONNS: u16 = 7;
    /// Inactive connections (u32, dump only).
    pub const INACT_CONNS: u16 = 8;
    /// Persistent connection templates (u32, dump only).
    pub const PERSIST_CONNS: u16 = 9;
    /// Nested statistics.
    pub const STATS: u16 = 10;
    /// Address family of the destination (u16).
    pub const ADDR_FAMILY: u16 = 11;
    /// Nested 64-bit statistics.
    pub const STATS64: u16 = 12;
    /// Tunnel type (u8).
    pub const TUN_TYPE: u16 = 13;
    /// Tunnel port (be16).
    pub const TUN_PORT: u16 = 14;
    /// Tunnel flags (u16).
    pub const TUN_FLAGS: u16 = 15;
}

/// `IPVS_DAEMON_ATTR_*`.
pub mod daemon_attr {
    /// State: master or backup (u32).
    pub const STATE: u16 = 1;
    /// Multicast interface name (string).
    pub const MCAST_IFN: u16 = 2;
    /// Sync id (u32).
    pub const SYNC_ID: u16 = 3;
    /// UDP payload size (u16).
    pub const SYNC_MAXLEN: u16 = 4;
    /// IPv4 multicast group (in_addr).
    pub const MCAST_GROUP: u16 = 5;
    /// IPv6 multicast group (in6_addr).
    pub const MCAST_GROUP6: u16 = 6;
    /// Multicast port (u16).
    pub const MCAST_PORT: u16 = 7;
    /// Multicast TTL (u8).
    pub const MCAST_TTL: u16 = 8;
}

/// `IPVS_INFO_ATTR_*`.
pub mod info_attr {
    /// IPVS version code (u32).
    pub const VERSION: u16 = 1;
    /// Connection hash table size (u32).
    pub const CONN_TAB_SIZE: u16 = 2;
}

/// Service flags (`IP_VS_SVC_F_*`).
pub mod flags {
    /// Persistent service.
    pub const PERSISTENT: u32 = 0x0001;
    /// Set by the kernel on hashed services; never compared or sent.
    pub const HASHED: u32 = 0x0002;
    /// One-packet scheduling.
    pub const ONEPACKET: u32 = 0x0004;
    /// Scheduler flag 1 (sh-fallback / mh-fallback).
    pub const SCHED1: u32 = 0x0008;
    /// Scheduler flag 2 (sh-port / mh-port).
    pub const SCHED2: u32 = 0x0010;
    /// Scheduler flag 3.
    pub const SCHED3: u32 = 0x0020;
    /// sh: fall back to another server when the chosen one is unavailable.
    pub const SH_FALLBACK: u32 = SCHED1;
    /// sh: hash the source port too.
    pub const SH_PORT: u32 = SCHED2;
    /// mh: fall back to another server.
    pub const MH_FALLBACK: u32 = SCHED1;
    /// mh: hash the source port too.
    pub const MH_PORT: u32 = SCHED2;
    /// Flags lvsd sets and compares.
    pub const CONFIGURABLE: u32 = PERSISTENT | ONEPACKET | SCHED1 | SCHED2 | SCHED3;
}

/// Longest scheduler or persistence engine name (IP_VS_SCHEDNAME_MAXLEN - 1).
pub const NAME_MAX: usize = 15;
/// A short kernel name (scheduler, pe, interface).
pub type ShortName = heapless::String<NAME_MAX>;

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddrFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl AddrFamily {
    /// The AF_* number.
    pub fn raw(self) -> u16 {
        match self {
            AddrFamily::V4 => AF_INET,
            AddrFamily::V6 => AF_INET6,
        }
    }

    /// From an AF_* number.
    pub fn from_raw(v: u16) -> Option<AddrFamily> {
        match v {
            AF_INET => Some(AddrFamily::V4),
            AF_INET6 => Some(AddrFamily::V6),
            _ => None,
        }
    }

    /// The family of `addr`.
    pub fn of(addr: &IpAddr) -> AddrFamily {
        match addr {
            IpAddr::V4(_) => AddrFamily::V4,
            IpAddr::V6(_) => AddrFamily::V6,
        }
    }
}

/// Transport protocol of an address service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
}

impl Protocol {
    /// IPPROTO_* number.
    pub fn raw(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// From an IPPROTO_* number.
    pub fn from_raw(v: u16) -> Option<Protocol> {
        match v {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// ipvsadm's name: TCP, UDP, SCTP.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    /// protocol + address + port.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address.
        addr: IpAddr,
        /// Virtual port.
        port: u16,
    },
    /// Firewall mark (iptables/nft MARK) with its address family.
    Fwmark {
        /// Address family of the packets.
        af: AddrFamily,
        /// The mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// Address family of the service.
    pub fn af(&self) -> AddrFamily {
        match self {
            ServiceKey::Addr { addr, .. } => AddrFamily::of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

/// Writes `addr:port` with IPv6 in brackets.
struct SockAddr<'a>(&'a IpAddr, u16);

impl fmt::Display for SockAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}

impl fmt::Display for ServiceKey {
    /// `TCP 10.0.0.100:80`, `UDP [2001:db8::1]:53`, `FWM 5`, `FWM 5 IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => write!(f, "{} {}", protocol.name(), SockAddr(addr, *port)),
            ServiceKey::Fwmark { af, mark } => match af {
                AddrFamily::V4 => write!(f, "FWM {mark}"),
                AddrFamily::V6 => write!(f, "FWM {mark} IPv6"),
            },
        }
    }
}

/// IPVS scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection.
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Maglev hashing.
    Mh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// A scheduler lvsd does not know, as the kernel reported it.
    Other(ShortName),
}

impl Scheduler {
    /// Every scheduler lvsd knows, in ipvsadm's order.
    pub const KNOWN: [Scheduler; 13] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Mh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
    ];

    /// Kernel name (`ip_vs_<name>` module).
    pub fn name(&self) -> &str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Mh => "mh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Other(s) => s.as_str(),
        }
    }

    /// From a kernel name; unknown names of at most 15 bytes become `Other`.
    pub fn from_name(name: &str) -> Option<Scheduler> {
        if let Some(s) = Scheduler::KNOWN.iter().find(|s| s.name() == name) {
            return Some(s.clone());
        }
        let mut s = ShortName::new();
        s.push_str(name).ok()?;
        if name.is_empty() {
            return None;
        }
        Some(Scheduler::Other(s))
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    /// What identifies it.
    pub key: ServiceKey,
    /// Scheduler.
    pub scheduler: Scheduler,
    /// `flags::*` (HASHED is stripped on decode and never sent).
    pub flags: u32,
    /// Persistence timeout in seconds (meaningful with `flags::PERSISTENT`).
    pub timeout: u32,
    /// Persistence granularity as a prefix length (32 / 128 = per client address).
    pub prefix_len: u8,
    /// Persistence engine (e.g. "sip"), if any.
    pub pe_name: Option<ShortName>,
}

impl Service {
    /// A non-persistent service with `scheduler` and no flags.
    pub fn new(key: ServiceKey, scheduler: Scheduler) -> Service {
        let prefix_len = match key.af() {
            AddrFamily::V4 => 32,
            AddrFamily::V6 => 128,
        };
        Service {
            key,
            scheduler,
            flags: 0,
            timeout: 0,
            prefix_len,
            pe_name: None,
        }
    }

    /// Makes the service persistent for `timeout` seconds with granularity `prefix_len`.
    pub fn persistent(mut self, timeout: u32, prefix_len: u8) -> Service {
        self.flags |= flags::PERSISTENT;
        self.timeout = timeout;
        self.prefix_len = prefix_len;
        self
    }

    /// True when the editable fields equal `other`'s (the key is not compared).
    pub fn same_settings(&self, other: &Service) -> bool {
        self.scheduler == other.scheduler
            && self.flags & flags::CONFIGURABLE == other.flags & flags::CONFIGURABLE
            && self.timeout == other.timeout
            && self.prefix_len == other.prefix_len
            && self.pe_name == other.pe_name
    }
}

/// Forwarding method of a destination (`IP_VS_CONN_F_FWD_MASK` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardMethod {
    /// NAT (ipvsadm "Masq").
    Masq,
    /// Local node.
    Local,
    /// IP tunnel (ipvsadm "Tunnel").
    Tunnel,
    /// Direct routing (ipvsadm "Route").
    Route,
    /// Cache bypass.
    Bypass,
}

impl ForwardMethod {
    /// The IP_VS_CONN_F_* value.
    pub fn raw(self) -> u32 {
        match self {
            ForwardMethod::Masq => 0,
            ForwardMethod::Local => 1,
            ForwardMethod::Tunnel => 2,
            ForwardMethod::Route => 3,
            ForwardMethod::Bypass => 4,
        }
    }

    /// From the kernel value (other bits masked off).
    pub fn from_raw(v: u32) -> Option<ForwardMethod> {
        match v & 0x7 {
            0 => Some(ForwardMethod::Masq),
            1 => Some(ForwardMethod::Local),
            2 => Some(ForwardMethod::Tunnel),
            3 => Some(ForwardMethod::Route),
            4 => Some(ForwardMethod::Bypass),
            _ => None,
        }
    }

    /// ipvsadm's name: Masq, Local, Tunnel, Route, Bypass.
    pub fn name(self) -> &'static str {
        match self {
            ForwardMethod::Masq => "Masq",
            ForwardMethod::Local => "Local",
            ForwardMethod::Tunnel => "Tunnel",
            ForwardMethod::Route => "Route",
            ForwardMethod::Bypass => "Bypass",
        }
    }
}

/// Tunnel encapsulation of a TUN destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelType {
    /// IP-in-IP.
    Ipip,
    /// Generic UDP encapsulation.
    Gue,
    /// GRE.
    Gre,
}

impl TunnelType {
    /// The IP_VS_CONN_F_TUNNEL_TYPE_* value.
    pub fn raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
        }
    }

    /// From the kernel value.
    pub fn from_raw(v: u8) -> Option<TunnelType> {
        match v {
            0 => Some(TunnelType::Ipip),
            1 => Some(TunnelType::Gue),
            2 => Some(TunnelType::Gre),
            _ => None,
        }
    }
}

/// Tunnel flag: no checksum.
pub const TUN_FLAG_NOCSUM: u16 = 0;
/// Tunnel flag: checksum.
pub const TUN_FLAG_CSUM: u16 = 1;
/// Tunnel flag: remote checksum offload.
pub const TUN_FLAG_REMCSUM: u16 = 2;

/// What identifies a destination inside its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DestKey {
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SockAddr(&self.addr, self.port).fmt(f)
    }
}

/// A destination (real server) of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dest {
    /// Address and port.
    pub key: DestKey,
    /// Forwarding method.
    pub forward: ForwardMethod,
    /// Weight (0 = quiesced, takes no new connections).
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0 = none).
    pub lower_threshold: u32,
    /// Tunnel encapsulation (TUN only).
    pub tunnel_type: TunnelType,
    /// Tunnel destination port (GUE only).
    pub tunnel_port: u16,
    /// `TUN_FLAG_*` (GUE/GRE only).
    pub tunnel_flags: u16,
}

impl Dest {
    /// A destination with `forward` and `weight`, no thresholds, ipip tunnel defaults.
    pub fn new(addr: IpAddr, port: u16, forward: ForwardMethod, weight: u32) -> Dest {
        Dest {
            key: DestKey { addr, port },
            forward,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel_type: TunnelType::Ipip,
            tunnel_port: 0,
            tunnel_flags: 0,
        }
    }

    /// True when the editable fields equal `other`'s; tunnel fields count only for TUN.
    pub fn same_settings(&self, other: &Dest) -> bool {
        self.forward == other.forward
            && self.weight == other.weight
            && self.upper_threshold == other.upper_threshold
            && self.lower_threshold == other.lower_threshold
            && (self.forward != ForwardMethod::Tunnel
                || (self.tunnel_type == other.tunnel_type
                    && self.tunnel_port == other.tunnel_port
                    && self.tunnel_flags == other.tunnel_flags))
    }
}

/// Connection counters the kernel reports for a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct DestStats {
    /// Established connections.
    pub active_conns: u32,
    /// Other connections.
    pub inactive_conns: u32,
    /// Persistence templates.
    pub persist_conns: u32,
    /// Traffic totals since the destination was added
    /// (IPVS_DEST_ATTR_STATS64, or the 32-bit IPVS_DEST_ATTR_STATS of old kernels).
    pub totals: TrafficTotals,
    /// The kernel's rate estimates, from the same attribute.
    pub rates: TrafficRates,
}

/// The kernel's running totals for a service or destination (`IPVS_STATS_ATTR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TrafficTotals {
    /// Connections scheduled.
    pub connections: u64,
    /// Packets in (client to real server).
    pub packets_in: u64,
    /// Packets out (real server to client; NAT only).
    pub packets_out: u64,
    /// Bytes in.
    pub bytes_in: u64,
    /// Bytes out (NAT only).
    pub bytes_out: u64,
}

/// The kernel's per-second estimates (its 2-second estimator, as
/// `ipvsadm -Ln --rate` shows them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TrafficRates {
    /// Connections per second.
    pub connections: u64,
    /// Packets in per second.
    pub packets_in: u64,
    /// Packets out per second.
    pub packets_out: u64,
    /// Bytes in per second.
    pub bytes_in: u64,
    /// Bytes out per second.
    pub bytes_out: u64,
}

/// Totals and rates of one service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TrafficStats {
    /// Running totals.
    pub totals: TrafficTotals,
    /// Per-second estimates.
    pub rates: TrafficRates,
}

/// `IPVS_STATS_ATTR_*` inside the nested statistics attributes.
pub mod stats_attr {
    /// Connections scheduled.
    pub const CONNS: u16 = 1;
    /// Incoming packets.
    pub const INPKTS: u16 = 2;
    /// Outgoing packets.
    pub const OUTPKTS: u16 = 3;
    /// Incoming bytes.
    pub const INBYTES: u16 = 4;
    /// Outgoing bytes.
    pub const OUTBYTES: u16 = 5;
    /// Connections per second.
    pub const CPS: u16 = 6;
    /// Incoming packets per second.
    pub const INPPS: u16 = 7;
    /// Outgoing packets per second.
    pub const OUTPPS: u16 = 8;
    /// Incoming bytes per second.
    pub const INBPS: u16 = 9;
    /// Outgoing bytes per second.
    pub const OUTBPS: u16 = 10;
    /// Alignment padding (STATS64 only).
    pub const PAD: u16 = 11;
}

/// Decodes a nested statistics attribute (`what` names it in errors): every
/// value is u64 in STATS64 (`wide`); in the old STATS the byte totals are
/// u64 and the rest u32 (ip_vs_genl_fill_stats). A value of another width is
/// an error, never a guess; unknown attributes are skipped.
pub fn parse_stats(
    payload: &[u8],
    wide: bool,
    what: &'static str,
) -> Result<TrafficStats, DecodeError> {
    let mut s = TrafficStats::default();
    for a in Attrs::new(payload) {
        let a = a?;
        let field = match a.kind {
            stats_attr::CONNS => &mut s.totals.connections,
            stats_attr::INPKTS => &mut s.totals.packets_in,
            stats_attr::OUTPKTS => &mut s.totals.packets_out,
            stats_attr::INBYTES => &mut s.totals.bytes_in,
            stats_attr::OUTBYTES => &mut s.totals.bytes_out,
            stats_attr::CPS => &mut s.rates.connections,
            stats_attr::INPPS => &mut s.rates.packets_in,
            stats_attr::OUTPPS => &mut s.rates.packets_out,
            stats_attr::INBPS => &mut s.rates.bytes_in,
            stats_attr::OUTBPS => &mut s.rates.bytes_out,
            _ => continue,
        };
        let long = wide || matches!(a.kind, stats_attr::INBYTES | stats_attr::OUTBYTES);
        let want = if long { 8 } else { 4 };
        if a.payload.len() != want {
            return Err(DecodeError::BadAttribute {
                what,
                len: a.payload.len(),
            });
        }
        *field = if long { a.u64()? } else { u64::from(a.u32()?) };
    }
    Ok(s)
}

/// As [`parse_stats`], the totals only.
pub fn parse_totals(payload: &[u8], wide: bool) -> Result<TrafficTotals, DecodeError> {
    Ok(parse_stats(payload, wide, "IPVS_STATS_ATTR")?.totals)
}

/// Decodes `/proc/net/ip_vs_stats`: the kernel's totals over every service
/// since IPVS was loaded (what node_exporter's ipvs collector reads). Two
/// header lines, one line of five hex totals, a blank line, one header line,
/// one line of five hex rates (ip_vs_stats_show).
pub fn parse_proc_stats(text: &str) -> Result<TrafficStats, String> {
    let lines: Vec<&str> = text.lines().collect();
    let five = |index: usize, what: &str| -> Result<[u64; 5], String> {
        let line = lines
            .get(index)
            .ok_or_else(|| format!("{what}: line {} missing", index + 1))?;
        let mut out = [0u64; 5];
        let mut fields = line.split_whitespace();
        for (i, slot) in out.iter_mut().enumerate() {
            let f = fields
                .next()
                .ok_or_else(|| format!("{what}: line {} has {i} fields, not 5", index + 1))?;
            *slot = u64::from_str_radix(f, 16)
                .map_err(|_| format!("{what}: line {}: {f:?} is not a hex number", index + 1))?;
        }
        if fields.next().is_some() {
            return Err(format!("{what}: line {} has more than 5 fields", index + 1));
        }
        Ok(out)
    };
    let t = five(2, "totals")?;
    let r = five(5, "rates")?;
    Ok(TrafficStats {
        totals: TrafficTotals {
            connections: t[0],
            packets_in: t[1],
            packets_out: t[2],
            bytes_in: t[3],
            bytes_out: t[4],
        },
        rates: TrafficRates {
            connections: r[0],
            packets_in: r[1],
            packets_out: r[2],
            bytes_in: r[3],
            bytes_out: r[4],
        },
    })
}

/// Sync daemon role (`IP_VS_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// Sends connection updates.
    Master,
    /// Receives connection updates.
    Backup,
}

impl SyncState {
    /// The IP_VS_STATE_* value.
    pub fn raw(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }
}

/// An IPVS connection-sync daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// Multicast interface.
    pub interface: ShortName,
    /// Sync id (keepalived uses the VRID).
    pub sync_id: u32,
    /// UDP payload size, if not the kernel default.
    pub max_len: Option<u16>,
    /// Multicast group, if not 224.0.0.81.
    pub group: Option<IpAddr>,
    /// Multicast port, if not 8848.
    pub port: Option<u16>,
    /// Multicast TTL, if not 1.
    pub ttl: Option<u8>,
}

/// IPVS connection timeouts in seconds (0 = leave unchanged on SET_CONFIG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    /// Established TCP.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// GET_INFO reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Version code, e.g. 0x010201 for 1.2.1.
    pub version: u32,
    /// Connection hash table size.
    pub conn_tab_size: u32,
}

/// One write to the kernel table, as produced by `lvs::reconcile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsOp {
    /// Add a service.
    NewService(Service),
    /// Edit a service's settings.
    SetService(Service),
    /// Delete a service (and with it its destinations).
    DelService(ServiceKey),
    /// Add a destination to a service.
    NewDest(ServiceKey, Dest),
    /// Edit a destination.
    SetDest(ServiceKey, Dest),
    /// Delete a destination.
    DelDest(ServiceKey, DestKey),
}

impl fmt::Display for IpvsOp {
    /// `NewDest 10.0.0.2:80 in TCP 10.0.0.100:80`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsOp::NewService(s) => write!(f, "NewService {} {}", s.key, s.scheduler),
            IpvsOp::SetService(s) => write!(f, "SetService {} {}", s.key, s.scheduler),
            IpvsOp::DelService(k) => write!(f, "DelService {k}"),
            IpvsOp::NewDest(k, d) => write!(f, "NewDest {} in {k}", d.key),
            IpvsOp::SetDest(k, d) => write!(f, "SetDest {} in {k}", d.key),
            IpvsOp::DelDest(k, d) => write!(f, "DelDest {d} in {k}"),
        }
    }
}

fn addr_bytes(addr: &IpAddr) -> [u8; 16] {
    // union nf_inet_addr: IPv4 in the first 4 bytes, the rest zero.
    let mut out = [0u8; 16];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out = a.octets(),
    }
    out
}

fn parse_addr(a: &Attr<'_>, af: AddrFamily, what: &'static str) -> Result<IpAddr, DecodeError> {
    let bad = DecodeError::BadAttribute {
        what,
        len: a.payload.len(),
    };
    match af {
        AddrFamily::V4 => {
            let b: [u8; 4] = a
                .payload
                .get(..4)
                .and_then(|s| s.try_into().ok())
                .ok_or(bad)?;
            Ok(IpAddr::V4(Ipv4Addr::from(b)))
        }
        AddrFamily::V6 => {
            let b: [u8; 16] = a
                .payload
                .get(..16)
                .and_then(|s| s.try_into().ok())
                .ok_or(bad)?;
            Ok(IpAddr::V6(Ipv6Addr::from(b)))
        }
    }
}

fn begin(
    buf: &mut [u8],
    family: u16,
    command: u8,
    flags: u16,
    seq: u32,
) -> Result<MessageBuilder<'_>, EncodeError> {
    genl::begin(buf, family, command, IPVS_GENL_VERSION, flags, seq)
}

fn put_service_key(b: &mut MessageBuilder<'_>, key: &ServiceKey) -> Result<(), EncodeError> {
    b.attr_u16(svc_attr::AF, key.af().raw())?;
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            b.attr_u16(svc_attr::PROTOCOL, protocol.raw())?;
            b.attr(svc_attr::ADDR, &addr_bytes(addr))?;
            b.attr_be16(svc_attr::PORT, *port)
        }
        ServiceKey::Fwmark { mark, .. } => b.attr_u32(svc_attr::FWMARK, *mark),
    }
}

fn put_service(
    b: &mut MessageBuilder<'_>,
    key: &ServiceKey,
    full: Option<&Service>,
) -> Result<(), EncodeError> {
    let nest = b.begin_nested(cmd_attr::SERVICE)?;
    put_service_key(b, key)?;
    if let Some(s) = full {
        b.attr_str(svc_attr::SCHED_NAME, s.scheduler.name())?;
        let fl = s.flags & flags::CONFIGURABLE;
        let mut pair = [0u8; 8];
        pair[..4].copy_from_slice(&fl.to_ne_bytes());
        pair[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
        b.attr(svc_attr::FLAGS, &pair)?;
        b.attr_u32(svc_attr::TIMEOUT, s.timeout)?;
        match key.af() {
            AddrFamily::V4 => {
                let p = u32::from(s.prefix_len.min(32));
                let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                b.attr(svc_attr::NETMASK, &mask.to_be_bytes())?;
            }
            AddrFamily::V6 => b.attr_u32(svc_attr::NETMASK, u32::from(s.prefix_len.min(128)))?,
        }
        if let Some(pe) = &s.pe_name {
            b.attr_str(svc_attr::PE_NAME, pe)?;
        }
    }
    b.end_nested(nest)
}

fn put_dest(
    b: &mut MessageBuilder<'_>,
    key: &DestKey,
    full: Option<&Dest>,
) -> Result<(), EncodeError> {
    let nest = b.begin_nested(cmd_attr::DEST)?;
    b.attr(dest_attr::ADDR, &addr_bytes(&key.addr))?;
    b.attr_be16(dest_attr::PORT, key.port)?;
    b.attr_u16(dest_attr::ADDR_FAMILY, AddrFamily::of(&key.addr).raw())?;
    if let Some(d) = full {
        b.attr_u32(dest_attr::FWD_METHOD, d.forward.raw())?;
        b.attr_u32(dest_attr::WEIGHT, d.weight)?;
        b.attr_u32(dest_attr::U_THRESH, d.upper_threshold)?;
        b.attr_u32(dest_attr::L_THRESH, d.lower_threshold)?;
        if d.forward == ForwardMethod::Tunnel {
            b.attr_u8(dest_attr::TUN_TYPE, d.tunnel_type.raw())?;
            b.attr_be16(dest_attr::TUN_PORT, d.tunnel_port)?;
            b.attr_u16(dest_attr::TUN_FLAGS, d.tunnel_flags)?;
        }
    }
    b.end_nested(nest)
}

/// Encodes one table write with NLM_F_ACK into `buf`; returns the message length.
pub fn encode_op(buf: &mut [u8], family: u16, seq: u32, op: &IpvsOp) -> Result<usize, EncodeError> {
    let command = match op {
        IpvsOp::NewService(_) => cmd::NEW_SERVICE,
        IpvsOp::SetService(_) => cmd::SET_SERVICE,
        IpvsOp::DelService(_) => cmd::DEL_SERVICE,
        IpvsOp::NewDest(..) => cmd::NEW_DEST,
        IpvsOp::SetDest(..) => cmd::SET_DEST,
        IpvsOp::DelDest(..) => cmd::DEL_DEST,
    };
    let mut b = begin(buf, family, command, NLM_F_ACK, seq)?;
    match op {
        IpvsOp::NewService(s) | IpvsOp::SetService(s) => put_service(&mut b, &s.key, Some(s))?,
        IpvsOp::DelService(k) => put_service(&mut b, k, None)?,
        IpvsOp::NewDest(k, d) | IpvsOp::SetDest(k, d) => {
            put_service(&mut b, k, None)?;
            put_dest(&mut b, &d.key, Some(d))?;
        }
        IpvsOp::DelDest(k, d) => {
            put_service(&mut b, k, None)?;
            put_dest(&mut b, d, None)?;
        }
    }
    Ok(b.finish())
}

/// Encodes a GET_INFO request.
pub fn encode_get_info(buf: &mut [u8], family: u16, seq: u32) -> Result<usize, EncodeError> {
    Ok(begin(buf, family, cmd::GET_INFO, NLM_F_ACK, seq)?.finish())
}

/// Encodes a GET_SERVICE dump request (every service).
pub fn encode_dump_services(buf: &mut [u8], family: u16, seq: u32) -> Result<usize, EncodeError> {
    Ok(begin(buf, family, cmd::GET_SERVICE, NLM_F_DUMP, seq)?.finish())
}

/// Encodes a GET_DEST dump request for the destinations of `service`.
pub fn encode_dump_dests(
    buf: &mut [u8],
    family: u16,
    seq: u32,
    service: &ServiceKey,
) -> Result<usize, EncodeError> {
    let mut b = begin(buf, family, cmd::GET_DEST, NLM_F_DUMP, seq)?;
    put_service(&mut b, service, None)?;
    Ok(b.finish())
}

/// Encodes a GET_CONFIG request (connection timeouts).
pub fn encode_get_config(buf: &mut [u8], family: u16, seq: u32) -> Result<usize, EncodeError> {
    Ok(begin(buf, family, cmd::GET_CONFIG, NLM_F_ACK, seq)?.finish())
}

/// Encodes a SET_CONFIG request; zero timeouts are left out (unchanged).
pub fn encode_set_config(
    buf: &mut [u8],
    family: u16,
    seq: u32,
    t: &Timeouts,
) -> Result<usize, EncodeError> {
    let mut b = begin(buf, family, cmd::SET_CONFIG, NLM_F_ACK, seq)?;
    for (kind, v) in [
        (cmd_attr::TIMEOUT_TCP, t.tcp),
        (cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin),
        (cmd_attr::TIMEOUT_UDP, t.udp),
    ] {
        if v != 0 {
            b.attr_u32(kind, v)?;
        }
    }
    Ok(b.finish())
}

/// Encodes a NEW_DAEMON request starting `d`.
pub fn encode_new_daemon(
    buf: &mut [u8],
    family: u16,
    seq: u32,
    d: &SyncDaemon,
) -> Result<usize, EncodeError> {
    let mut b = begin(buf, family, cmd::NEW_DAEMON, NLM_F_ACK, seq)?;
    let nest = b.begin_nested(cmd_attr::DAEMON)?;
    b.attr_u32(daemon_attr::STATE, d.state.raw())?;
    b.attr_str(daemon_attr::MCAST_IFN, &d.interface)?;
    b.attr_u32(daemon_attr::SYNC_ID, d.sync_id)?;
    if let Some(m) = d.max_len {
        b.attr_u16(daemon_attr::SYNC_MAXLEN, m)?;
    }
    match d.group {
        Some(IpAddr::V4(g)) => b.attr(daemon_attr::MCAST_GROUP, &g.octets())?,
        Some(IpAddr::V6(g)) => b.attr(daemon_attr::MCAST_GROUP6, &g.octets())?,
        None => {}
    }
    if let Some(p) = d.port {
        b.attr_u16(daemon_attr::MCAST_PORT, p)?;
    }
    if let Some(t) = d.ttl {
        b.attr_u8(daemon_attr::MCAST_TTL, t)?;
    }
    b.end_nested(nest)?;
    Ok(b.finish())
}

/// Encodes a DEL_DAEMON request stopping the daemon in `state`.
pub fn encode_del_daemon(
    buf: &mut [u8],
    family: u16,
    seq: u32,
    state: SyncState,
) -> Result<usize, EncodeError> {
    let mut b = begin(buf, family, cmd::DEL_DAEMON, NLM_F_ACK, seq)?;
    let nest = b.begin_nested(cmd_attr::DAEMON)?;
    b.attr_u32(daemon_attr::STATE, state.raw())?;
    b.end_nested(nest)?;
    Ok(b.finish())
}

/// Encodes a GET_DAEMON dump request.
pub fn encode_get_daemon(buf: &mut [u8], family: u16, seq: u32) -> Result<usize, EncodeError> {
    Ok(begin(buf, family, cmd::GET_DAEMON, NLM_F_DUMP, seq)?.finish())
}

/// Encodes FLUSH. The daemon flushes only when asked (`lvs_flush`, `lvs_flush_on_stop`).
pub fn encode_flush(buf: &mut [u8], family: u16, seq: u32) -> Result<usize, EncodeError> {
    Ok(begin(buf, family, cmd::FLUSH, NLM_F_ACK, seq)?.finish())
}

/// A decoded IPVS message (a dump entry or a GET reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsReply {
    /// One service of a GET_SERVICE dump, with its counters.
    Service(Service, TrafficStats),
    /// One destination of a GET_DEST dump, with its counters.
    Dest(Dest, DestStats),
    /// One sync daemon of a GET_DAEMON dump.
    Daemon(SyncDaemon),
    /// GET_CONFIG reply.
    Timeouts(Timeouts),
    /// GET_INFO reply.
    Info(Info),
    /// A command lvsd does not decode.
    Other(u8),
}

/// Decodes a nested IPVS_CMD_ATTR_SERVICE payload (its statistics are skipped).
pub fn parse_service(payload: &[u8]) -> Result<Service, DecodeError> {
    Ok(parse_service_with_stats(payload)?.0)
}

/// Decodes a nested IPVS_CMD_ATTR_SERVICE payload with its statistics
/// (IPVS_SVC_ATTR_STATS64, or the 32-bit IPVS_SVC_ATTR_STATS of old kernels).
pub fn parse_service_with_stats(payload: &[u8]) -> Result<(Service, TrafficStats), DecodeError> {
    let mut stats = TrafficStats::default();
    let mut have64 = false;
    let mut af = None;
    let mut protocol = None;
    let mut addr_attr = None;
    let mut port = None;
    let mut fwmark = None;
    let mut scheduler = None;
    let mut fl = 0u32;
    let mut timeout = 0u32;
    let mut netmask = None;
    let mut pe_name = None;
    for a in Attrs::new(payload) {
        let a = a?;
        match a.kind {
            svc_attr::AF => {
                af = Some(
                    AddrFamily::from_raw(a.u16()?)
                        .ok_or(DecodeError::BadValue("IPVS_SVC_ATTR_AF"))?,
                )
            }
            svc_attr::PROTOCOL => protocol = Some(a.u16()?),
            svc_attr::ADDR => addr_attr = Some(a),
            svc_attr::PORT => port = Some(a.be16()?),
            svc_attr::FWMARK => fwmark = Some(a.u32()?),
            svc_attr::SCHED_NAME => {
                scheduler = Some(
                    Scheduler::from_name(a.str()?)
                        .ok_or(DecodeError::BadValue("IPVS_SVC_ATTR_SCHED_NAME"))?,
                )
            }
            svc_attr::FLAGS => {
                let b: [u8; 4] = a.payload.get(..4).and_then(|s| s.try_into().ok()).ok_or(
                    DecodeError::BadAttribute {
                        what: "IPVS_SVC_ATTR_FLAGS",
                        len: a.payload.len(),
                    },
                )?;
                fl = u32::from_ne_bytes(b) & !flags::HASHED;
            }
            svc_attr::TIMEOUT => timeout = a.u32()?,
            svc_attr::NETMASK => netmask = Some(a),
            svc_attr::STATS64 => {
                stats = parse_stats(a.payload, true, "IPVS_SVC_ATTR_STATS64")?;
                have64 = true;
            }
            svc_attr::STATS if !have64 => {
                stats = parse_stats(a.payload, false, "IPVS_SVC_ATTR_STATS")?
            }
            svc_attr::PE_NAME => {
                let mut s = ShortName::new();
                s.push_str(a.str()?)
                    .map_err(|_| DecodeError::BadValue("IPVS_SVC_ATTR_PE_NAME"))?;
                if !s.is_empty() {
                    pe_name = Some(s);
                }
            }
            _ => {}
        }
    }
    let af = af.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_AF"))?;
    let key = match (fwmark, protocol, addr_attr, port) {
        (Some(mark), ..) if mark != 0 => ServiceKey::Fwmark { af, mark },
        (_, Some(p), Some(a), Some(port)) => ServiceKey::Addr {
            protocol: Protocol::from_raw(p)
                .ok_or(DecodeError::BadValue("IPVS_SVC_ATTR_PROTOCOL"))?,
            addr: parse_addr(&a, af, "IPVS_SVC_ATTR_ADDR")?,
            port,
        },
        _ => {
            return Err(DecodeError::Missing(
                "IPVS_SVC_ATTR_FWMARK or PROTOCOL/ADDR/PORT",
            ))
        }
    };
    let prefix_len = match (netmask, af) {
        (None, AddrFamily::V4) => 32,
        (None, AddrFamily::V6) => 128,
        (Some(n), AddrFamily::V4) => {
            let b: [u8; 4] = n
                .payload
                .try_into()
                .map_err(|_| DecodeError::BadAttribute {
                    what: "IPVS_SVC_ATTR_NETMASK",
                    len: n.payload.len(),
                })?;
            u32::from_be_bytes(b).leading_ones() as u8
        }
        (Some(n), AddrFamily::V6) => n.u32()?.min(128) as u8,
    };
    let service = Service {
        key,
        scheduler: scheduler.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_SCHED_NAME"))?,
        flags: fl,
        timeout,
        prefix_len,
        pe_name,
    };
    Ok((service, stats))
}

/// Decodes a nested IPVS_CMD_ATTR_DEST payload; `service_af` is used when the kernel
/// leaves out IPVS_DEST_ATTR_ADDR_FAMILY (kernels before 4.x).
pub fn parse_dest(
    payload: &[u8],
    service_af: AddrFamily,
) -> Result<(Dest, DestStats), DecodeError> {
    let mut af = service_af;
    let mut addr_attr = None;
    let mut port = None;
    let mut forward = None;
    let mut dest = Dest::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, ForwardMethod::Masq, 0);
    let mut stats = DestStats::default();
    let mut have64 = false;
    for a in Attrs::new(payload) {
        let a = a?;
        match a.kind {
            dest_attr::ADDR => addr_attr = Some(a),
            dest_attr::PORT => port = Some(a.be16()?),
            dest_attr::ADDR_FAMILY => {
                af = AddrFamily::from_raw(a.u16()?)
                    .ok_or(DecodeError::BadValue("IPVS_DEST_ATTR_ADDR_FAMILY"))?
            }
            dest_attr::FWD_METHOD => {
                forward = Some(
                    ForwardMethod::from_raw(a.u32()?)
                        .ok_or(DecodeError::BadValue("IPVS_DEST_ATTR_FWD_METHOD"))?,
                )
            }
            dest_attr::WEIGHT => dest.weight = a.u32()?,
            dest_attr::U_THRESH => dest.upper_threshold = a.u32()?,
            dest_attr::L_THRESH => dest.lower_threshold = a.u32()?,
            dest_attr::ACTIVE_CONNS => stats.active_conns = a.u32()?,
            dest_attr::INACT_CONNS => stats.inactive_conns = a.u32()?,
            dest_attr::PERSIST_CONNS => stats.persist_conns = a.u32()?,
            dest_attr::STATS64 => {
                let t = parse_stats(a.payload, true, "IPVS_DEST_ATTR_STATS64")?;
                (stats.totals, stats.rates) = (t.totals, t.rates);
                have64 = true;
            }
            dest_attr::STATS if !have64 => {
                let t = parse_stats(a.payload, false, "IPVS_DEST_ATTR_STATS")?;
                (stats.totals, stats.rates) = (t.totals, t.rates);
            }
            dest_attr::TUN_TYPE => {
                dest.tunnel_type = TunnelType::from_raw(a.u8()?)
                    .ok_or(DecodeError::BadValue("IPVS_DEST_ATTR_TUN_TYPE"))?
            }
            dest_attr::TUN_PORT => dest.tunnel_port = a.be16()?,
            dest_attr::TUN_FLAGS => dest.tunnel_flags = a.u16()?,
            _ => {}
        }
    }
    let addr_attr = addr_attr.ok_or(DecodeError::Missing("IPVS_DEST_ATTR_ADDR"))?;
    dest.key = DestKey {
        addr: parse_addr(&addr_attr, af, "IPVS_DEST_ATTR_ADDR")?,
        port: port.ok_or(DecodeError::Missing("IPVS_DEST_ATTR_PORT"))?,
    };
    dest.forward = forward.ok_or(DecodeError::Missing("IPVS_DEST_ATTR_FWD_METHOD"))?;
    Ok((dest, stats))
}

fn parse_daemon(payload: &[u8]) -> Result<SyncDaemon, DecodeError> {
    let mut state = None;
    let mut d = SyncDaemon {
        state: SyncState::Master,
        interface: ShortName::new(),
        sync_id: 0,
        max_len: None,
        group: None,
        port: None,
        ttl: None,
    };
    for a in Attrs::new(payload) {
        let a = a?;
        match a.kind {
            daemon_attr::STATE => {
                state = Some(match a.u32()? {
                    1 => SyncState::Master,
                    2 => SyncState::Backup,
                    _ => return Err(DecodeError::BadValue("IPVS_DAEMON_ATTR_STATE")),
                })
            }
            daemon_attr::MCAST_IFN => {
                d.interface = ShortName::new();
                d.interface
                    .push_str(a.str()?)
                    .map_err(|_| DecodeError::BadValue("IPVS_DAEMON_ATTR_MCAST_IFN"))?;
            }
            daemon_attr::SYNC_ID => d.sync_id = a.u32()?,
            daemon_attr::SYNC_MAXLEN => d.max_len = Some(a.u16()?),
            daemon_attr::MCAST_GROUP => {
                d.group = Some(parse_addr(
                    &a,
                    AddrFamily::V4,
                    "IPVS_DAEMON_ATTR_MCAST_GROUP",
                )?)
            }
            daemon_attr::MCAST_GROUP6 => {
                d.group = Some(parse_addr(
                    &a,
                    AddrFamily::V6,
                    "IPVS_DAEMON_ATTR_MCAST_GROUP6",
                )?)
            }
            daemon_attr::MCAST_PORT => d.port = Some(a.u16()?),
            daemon_attr::MCAST_TTL => d.ttl = Some(a.u8()?),
            _ => {}
        }
    }
    d.state = state.ok_or(DecodeError::Missing("IPVS_DAEMON_ATTR_STATE"))?;
    Ok(d)
}

/// Decodes one IPVS generic netlink message payload (after nlmsghdr). `service_af` is the
/// family of the service whose destinations are being dumped (used for old kernels).
pub fn parse_reply(payload: &[u8], service_af: AddrFamily) -> Result<IpvsReply, DecodeError> {
    let (hdr, attrs) = GenlHeader::parse(payload)?;
    let nested = |kind: u16, what: &'static str| -> Result<&[u8], DecodeError> {
        for a in Attrs::new(attrs) {
            let a = a?;
            if a.kind == kind {
                return Ok(a.payload);
            }
        }
        Err(DecodeError::Missing(what))
    };
    match hdr.cmd {
        cmd::NEW_SERVICE => {
            let (s, st) =
                parse_service_with_stats(nested(cmd_attr::SERVICE, "IPVS_CMD_ATTR_SERVICE")?)?;
            Ok(IpvsReply::Service(s, st))
        }
        cmd::NEW_DEST => {
            let (d, s) = parse_dest(nested(cmd_attr::DEST, "IPVS_CMD_ATTR_DEST")?, service_af)?;
            Ok(IpvsReply::Dest(d, s))
        }
        cmd::NEW_DAEMON => Ok(IpvsReply::Daemon(parse_daemon(nested(
            cmd_attr::DAEMON,
            "IPVS_CMD_ATTR_DAEMON",
        )?)?)),
        cmd::SET_CONFIG => {
            let mut t = Timeouts::default();
            for a in Attrs::new(attrs) {
                let a = a?;
                match a.kind {
                    cmd_attr::TIMEOUT_TCP => t.tcp = a.u32()?,
                    cmd_attr::TIMEOUT_TCP_FIN => t.tcp_fin = a.u32()?,
                    cmd_attr::TIMEOUT_UDP => t.udp = a.u32()?,
                    _ => {}
                }
            }
            Ok(IpvsReply::Timeouts(t))
        }
        cmd::SET_INFO => {
            let mut version = None;
            let mut conn_tab_size = 0;
            for a in Attrs::new(attrs) {
                let a = a?;
                match a.kind {
                    info_attr::VERSION => version = Some(a.u32()?),
                    info_attr::CONN_TAB_SIZE => conn_tab_size = a.u32()?,
                    _ => {}
                }
            }
            Ok(IpvsReply::Info(Info {
                version: version.ok_or(DecodeError::Missing("IPVS_INFO_ATTR_VERSION"))?,
                conn_tab_size,
            }))
        }
        other => Ok(IpvsReply::Other(other)),
    }
}

#[cfg(test)]
mod tests;
