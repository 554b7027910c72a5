//! Settings that cannot hold together: one variant per kind of conflict,
//! carrying the names and values the message shows ([`ConfigErrorKind::Conflict`]).
//!
//! [`ConfigErrorKind::Conflict`]: super::ConfigErrorKind::Conflict

use std::fmt;
use std::net::SocketAddr;

/// Two settings that cannot hold together; the location is the [`ConfigError`]'s.
///
/// [`ConfigError`]: super::ConfigError
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// A key `keys.rs` declares that the section's reader has no arm for.
    Unread,
    /// A `[virtual_server_group]` mixes IPv4 and IPv6 members.
    GroupFamilies,
    /// A group member of the other family than its fwmark virtual server.
    GroupMemberFamily {
        /// The virtual server using the group.
        server: String,
        /// Whether that server is IPv6.
        ipv6: bool,
    },
    /// `lb_kind = TUN ...` with a tunnel type and `tun_type` too.
    TunnelTwice,
    /// `tun_type` without `lb_kind = TUN`.
    TunTypeWithoutTun,
    /// `lthreshold` above `uthreshold`.
    Thresholds {
        /// The upper threshold.
        uthreshold: u32,
    },
    /// A checker's `bindto` of the other family than its `connect_ip`.
    BindtoFamily,
    /// `ca_file` without `verify = yes`.
    CaFileWithoutVerify,
    /// UDP_CHECK `min_reply_length` above `max_reply_length`.
    ReplyLengths,
    /// A group service with its own address, port or fwmark.
    GroupServiceAddress,
    /// A fwmark service with an address or port.
    FwmarkAddress,
    /// `ip_family` on an address service.
    IpFamilyWithAddress,
    /// `persistence_granularity` without `persistence_timeout`.
    GranularityWithoutPersistence,
    /// `hysteresis` not below `quorum`.
    Hysteresis {
        /// The quorum.
        quorum: u32,
    },
    /// `ha_suspend` on a fwmark service.
    HaSuspendFwmark,
    /// `sorry_server_inhibit` without a sorry server.
    SorryInhibitWithoutServer,
    /// `sorry_server_lvs_method` without a sorry server.
    SorryMethodWithoutServer,
    /// A sorry server of the other family than its (untunnelled) service.
    SorryFamily,
    /// A sync group's `quorum` above its `quorum_max`.
    QuorumAboveMax {
        /// The quorum.
        quorum: u32,
        /// The most.
        quorum_max: u32,
    },
    /// `state MASTER` without `priority`.
    MasterWithoutPriority,
    /// `nopreempt` with `state MASTER`.
    NopreemptMaster,
    /// `auth_pass` without `auth_type`.
    PassWithoutType,
    /// Authentication on a VRRPv3 instance.
    V3Authentication,
    /// `auth_type = AH` on a non-owner with `state MASTER`.
    AhMaster,
    /// An address key of the other family than `virtual_ipaddress`.
    VipFamily,
    /// What strict mode forbids.
    Strict(StrictConflict),
    /// The same tracked process twice in one instance.
    TrackProcessTwice {
        /// The `track_process` name.
        name: String,
    },
    /// A virtual router id already used on the interface.
    VridInUse {
        /// The id.
        vrid: u8,
        /// The interface.
        interface: String,
        /// The instance using it first.
        other: String,
        /// That instance's line.
        line: usize,
    },
    /// A VMAC interface name already used.
    VmacInUse {
        /// The interface name.
        name: String,
        /// The instance using it first.
        other: String,
        /// That instance's line.
        line: usize,
    },
    /// An instance in two sync groups.
    SyncGroupMember {
        /// The instance.
        member: String,
        /// The group it is in first.
        group: String,
    },
    /// One tracked file with two different `init_file` values.
    InitFileDiffers {
        /// The tracked file.
        path: String,
        /// The instance giving the first value.
        owner: String,
    },
    /// A second IPVS sync daemon.
    SyncDaemonTwice {
        /// The instance the first follows; none when `[global]` runs it.
        instance: Option<String>,
    },
    /// Two virtual servers of the same service.
    SameService {
        /// The first virtual server.
        other: String,
        /// Its line.
        line: usize,
    },
    /// Two virtual servers of the same service, one of them from a group.
    GroupSameService {
        /// The first virtual server.
        other: String,
        /// Its line.
        line: usize,
    },
    /// A real server listed twice in one virtual server.
    RealServerTwice {
        /// Its address.
        address: SocketAddr,
        /// The virtual server.
        server: String,
    },
    /// A real server of the other family than its (untunnelled) virtual server.
    RealServerFamily,
    /// A check of port 0 (no `connect_port` on a port-0 real server).
    PortZeroCheck,
    /// More distinct probes than there are check timers.
    TooManyProbes {
        /// This checker's probe number.
        number: usize,
    },
}

/// What keepalived's strict mode (`vrrp_strict`, `strict_mode`) changes or
/// refuses and lvsd refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrictConflict {
    /// `auth_type`.
    Authentication,
    /// `preempt_delay`.
    PreemptDelay,
    /// `down_timer_adverts` other than 3.
    DownTimerAdverts,
    /// `unicast_peer`.
    UnicastPeers,
    /// `state MASTER` without `priority = 255`, or the reverse.
    StateAndPriority,
}

impl StrictConflict {
    /// The key the error names.
    pub fn key(self) -> &'static str {
        match self {
            StrictConflict::Authentication => "auth_type",
            StrictConflict::PreemptDelay => "preempt_delay",
            StrictConflict::DownTimerAdverts => "down_timer_adverts",
            StrictConflict::UnicastPeers => "unicast_peer",
            StrictConflict::StateAndPriority => "state",
        }
    }
}

impl fmt::Display for StrictConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StrictConflict::Authentication => "strict mode has no authentication (keepalived ignores auth_type there): remove auth_type and auth_pass",
            StrictConflict::PreemptDelay => "strict mode has no preempt_delay (keepalived resets it to 0)",
            StrictConflict::DownTimerAdverts => "strict mode needs down_timer_adverts = 3 (keepalived resets it)",
            StrictConflict::UnicastPeers => "strict mode has no unicast peers (keepalived does not run such an instance)",
            StrictConflict::StateAndPriority => "strict mode needs state = MASTER exactly when priority = 255 (keepalived derives the state from the priority)",
        })
    }
}

impl std::error::Error for StrictConflict {}

impl Conflict {
    /// The message of a conflict that carries no values.
    fn fixed_text(&self) -> Option<&'static str> {
        Some(match self {
            Conflict::Unread => "declared in src/config/keys.rs but not read by this section's reader (an lvsd bug)",
            Conflict::GroupFamilies => "all addresses of a group must be of one family",
            Conflict::TunnelTwice => "the tunnel is given twice: in lb_kind and in tun_type",
            Conflict::TunTypeWithoutTun => "tun_type needs lb_kind = TUN",
            Conflict::BindtoFamily => "must be the same address family as connect_ip",
            Conflict::CaFileWithoutVerify => "ca_file needs verify = yes",
            Conflict::ReplyLengths => {
                "min_reply_length is above max_reply_length: the check could never pass"
            }
            Conflict::GroupServiceAddress => "a group service takes its addresses and fwmarks from the group: no address, port or fwmark",
            Conflict::FwmarkAddress => "a fwmark service takes no address or port",
            Conflict::IpFamilyWithAddress => {
                "ip_family is only for fwmark services; the address gives the family"
            }
            Conflict::GranularityWithoutPersistence => {
                "persistence_granularity needs persistence_timeout"
            }
            Conflict::HaSuspendFwmark => "needs an address service: a fwmark service has no address whose presence could suspend its checks",
            Conflict::SorryInhibitWithoutServer => "sorry_server_inhibit needs a sorry_server",
            Conflict::SorryMethodWithoutServer => "sorry_server_lvs_method needs a sorry_server",
            Conflict::SorryFamily => "must be the same address family as the service",
            Conflict::MasterWithoutPriority => "state MASTER needs an explicit priority (keepalived would silently use 255): \
                 write `priority = 255` to own the addresses, or 1..=254",
            Conflict::NopreemptMaster => "nopreempt needs state BACKUP (with state MASTER the instance would preempt at start)",
            Conflict::PassWithoutType => "auth_pass needs auth_type = PASS",
            Conflict::V3Authentication => "VRRPv3 has no authentication (RFC 5798 section 9); remove auth_type/auth_pass",
            Conflict::AhMaster => "auth_type = AH needs state = BACKUP unless priority = 255: \
                             a new master must first hear the AH sequence number \
                             (keepalived clears state MASTER the same way)",
            Conflict::VipFamily => "must be the same address family as virtual_ipaddress",
            Conflict::SyncDaemonTwice { instance: None } => {
                "[global] lvs_sync_daemon already runs the IPVS sync daemon; only one is allowed"
            }
            Conflict::RealServerFamily => "real server address family differs from the virtual server's (only TUN may mix families)",
            Conflict::PortZeroCheck => "required: the real server has port 0 (a fwmark or all-ports service), and a check of port 0 could never succeed",
            Conflict::GroupMemberFamily { .. }
            | Conflict::Thresholds { .. }
            | Conflict::Hysteresis { .. }
            | Conflict::QuorumAboveMax { .. }
            | Conflict::Strict(_)
            | Conflict::TrackProcessTwice { .. }
            | Conflict::VridInUse { .. }
            | Conflict::VmacInUse { .. }
            | Conflict::SyncGroupMember { .. }
            | Conflict::InitFileDiffers { .. }
            | Conflict::SyncDaemonTwice { instance: Some(_) }
            | Conflict::SameService { .. }
            | Conflict::GroupSameService { .. }
            | Conflict::RealServerTwice { .. }
            | Conflict::TooManyProbes { .. } => return None,
        })
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.fixed_text() {
            return f.write_str(text);
        }
        if let Some(done) = self.fmt_vrrp(f) {
            return done;
        }
        match self {
            Conflict::GroupMemberFamily { server, ipv6 } => {
                let family = if *ipv6 { "inet6" } else { "inet" };
                write!(
                    f,
                    "[virtual_server {server}] is {family}: set its ip_family to the group's"
                )
            }
            Conflict::Thresholds { uthreshold } => {
                write!(f, "must not exceed uthreshold ({uthreshold})")
            }
            Conflict::Hysteresis { quorum } => {
                write!(f, "must be less than quorum ({quorum})")
            }
            Conflict::QuorumAboveMax { quorum, quorum_max } => {
                write!(f, "quorum {quorum} is above quorum_max {quorum_max}")
            }
            Conflict::SameService { other, line } => {
                write!(f, "same service as [virtual_server {other}] (line {line})")
            }
            Conflict::GroupSameService { other, line } => {
                write!(
                    f,
                    "a group gives the same service as [virtual_server {other}] (line {line})"
                )
            }
            Conflict::RealServerTwice { address, server } => {
                write!(
                    f,
                    "{address} is already a real server of [virtual_server {server}]"
                )
            }
            Conflict::TooManyProbes { number } => {
                write!(
                    f,
                    "this checker is distinct probe number {number} (each needs a timer): more than limits::MAX_CHECK_TIMERS ({} = limits::MAX_TIMERS {} less limits::RESERVED_TIMERS {} kept for VRRP); share checks between real servers or split the farm",
                    crate::limits::MAX_CHECK_TIMERS,
                    crate::limits::MAX_TIMERS,
                    crate::limits::RESERVED_TIMERS
                )
            }
            // fixed_text and fmt_vrrp wrote the others.
            _ => Ok(()),
        }
    }
}

impl Conflict {
    /// The VRRP side's conflicts that carry values; None for the others.
    fn fmt_vrrp(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        Some(match self {
            Conflict::Strict(strict) => fmt::Display::fmt(strict, f),
            Conflict::TrackProcessTwice { name } => {
                write!(
                    f,
                    "track_process {name} is listed twice (keepalived ignores the second)"
                )
            }
            Conflict::VridInUse {
                vrid,
                interface,
                other,
                line,
            } => {
                write!(
                    f,
                    "virtual_router_id {vrid} is already used on {interface} by [vrrp_instance {other}] (line {line})"
                )
            }
            Conflict::VmacInUse { name, other, line } => {
                write!(
                    f,
                    "use_vmac {name} is already used by [vrrp_instance {other}] (line {line})"
                )
            }
            Conflict::SyncGroupMember { member, group } => {
                write!(f, "{member} is already in [vrrp_sync_group {group}]")
            }
            Conflict::InitFileDiffers { path, owner } => {
                write!(
                    f,
                    "track_file {path}: init_file differs from the one in [vrrp_instance {owner}]"
                )
            }
            Conflict::SyncDaemonTwice {
                instance: Some(instance),
            } => {
                write!(
                    f,
                    "the IPVS sync daemon already follows [vrrp_instance {instance}]; only one is allowed"
                )
            }
            _ => return None,
        })
    }
}

impl std::error::Error for Conflict {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Conflict::Strict(strict) => Some(strict),
            _ => None,
        }
    }
}
