//! IPVS domain types: services, destinations, counters, sync daemons, timeouts, and the
//! table writes and replies that carry them.

use core::fmt;
use std::net::IpAddr;

use super::constants::{flags, AF_INET, AF_INET6, NAME_MAX};

/// A short kernel name (scheduler, pe, interface).
pub type ShortName = heapless::String<NAME_MAX>;

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

/// Forwarding method of a destination (`IP_VS_CONN_F_FWD_MASK` values), with the
/// encapsulation of a tunnel. The configuration's `lb_kind` is this type too: NAT is
/// `Masq`, DR is `Route`, TUN is `Tunnel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardMethod {
    /// NAT (ipvsadm "Masq").
    Masq,
    /// Local node.
    Local,
    /// IP tunnel (ipvsadm "Tunnel") with its encapsulation.
    Tunnel(TunnelType),
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
            ForwardMethod::Tunnel(_) => 2,
            ForwardMethod::Route => 3,
            ForwardMethod::Bypass => 4,
        }
    }

    /// From the kernel value (other bits masked off); a tunnel gets `tunnel`.
    pub fn from_raw(v: u32, tunnel: TunnelType) -> Option<ForwardMethod> {
        match v & 0x7 {
            0 => Some(ForwardMethod::Masq),
            1 => Some(ForwardMethod::Local),
            2 => Some(ForwardMethod::Tunnel(tunnel)),
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
            ForwardMethod::Tunnel(_) => "Tunnel",
            ForwardMethod::Route => "Route",
            ForwardMethod::Bypass => "Bypass",
        }
    }
}

/// Tunnel encapsulation of a TUN destination (`tun_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelType {
    /// IP-in-IP (the default).
    Ipip,
    /// Generic UDP encapsulation to a UDP port.
    Gue {
        /// Destination UDP port.
        port: u16,
    },
    /// GRE.
    Gre,
}

impl TunnelType {
    /// The IP_VS_CONN_F_TUNNEL_TYPE_* value.
    pub fn raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue { .. } => 1,
            TunnelType::Gre => 2,
        }
    }

    /// From the kernel's type value and port (the port counts for GUE only).
    pub fn from_raw(v: u8, port: u16) -> Option<TunnelType> {
        match v {
            0 => Some(TunnelType::Ipip),
            1 => Some(TunnelType::Gue { port }),
            2 => Some(TunnelType::Gre),
            _ => None,
        }
    }

    /// The UDP port of GUE, 0 for the others (IPVS_DEST_ATTR_TUN_PORT).
    pub fn port(self) -> u16 {
        match self {
            TunnelType::Gue { port } => port,
            TunnelType::Ipip | TunnelType::Gre => 0,
        }
    }
}

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
    /// `TUN_FLAG_*` (GUE/GRE only).
    pub tunnel_flags: u16,
}

impl Dest {
    /// A destination with `forward` and `weight`, no thresholds, no tunnel flags.
    pub fn new(addr: IpAddr, port: u16, forward: ForwardMethod, weight: u32) -> Dest {
        Dest {
            key: DestKey { addr, port },
            forward,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel_flags: 0,
        }
    }

    /// True when the editable fields equal `other`'s; tunnel flags count only for TUN.
    pub fn same_settings(&self, other: &Dest) -> bool {
        self.forward == other.forward
            && self.weight == other.weight
            && self.upper_threshold == other.upper_threshold
            && self.lower_threshold == other.lower_threshold
            && (!matches!(self.forward, ForwardMethod::Tunnel(_))
                || self.tunnel_flags == other.tunnel_flags)
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

/// The kernel's five traffic counters of a service or destination
/// (`IPVS_STATS_ATTR_*`): as [`TrafficTotals`] since it was created, or as
/// [`TrafficRates`] per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Traffic {
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

impl From<[u64; 5]> for Traffic {
    /// The counters in the kernel's order (connections, packets in and out,
    /// bytes in and out).
    fn from([connections, packets_in, packets_out, bytes_in, bytes_out]: [u64; 5]) -> Traffic {
        Traffic {
            connections,
            packets_in,
            packets_out,
            bytes_in,
            bytes_out,
        }
    }
}

/// The kernel's running totals.
pub type TrafficTotals = Traffic;

/// The kernel's per-second estimates (its 2-second estimator, as
/// `ipvsadm -Ln --rate` shows them).
pub type TrafficRates = Traffic;

/// Totals and rates of one service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TrafficStats {
    /// Running totals.
    pub totals: TrafficTotals,
    /// Per-second estimates.
    pub rates: TrafficRates,
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
