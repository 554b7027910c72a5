//! IPVS generic netlink numbers: commands, attribute types, service flags and tunnel
//! flags, as `/usr/include/linux/ip_vs.h` defines them.

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

/// `AF_INET`.
pub(super) const AF_INET: u16 = 2;
/// `AF_INET6`.
pub(super) const AF_INET6: u16 = 10;

/// Tunnel flag: no checksum.
pub const TUN_FLAG_NOCSUM: u16 = 0;
/// Tunnel flag: checksum.
pub const TUN_FLAG_CSUM: u16 = 1;
/// Tunnel flag: remote checksum offload.
pub const TUN_FLAG_REMCSUM: u16 = 2;

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
