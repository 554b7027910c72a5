//! IPVS reply decoders: services, destinations, sync daemons, timeouts and info, every
//! one bounds-checked and returning a `DecodeError` rather than panicking.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::constants::*;
use super::types::*;
use crate::wire::netlink::attr::{Attr, Attrs};
use crate::wire::netlink::genl::GenlHeader;
use crate::wire::netlink::msg::DecodeError;

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

/// A `/proc/net/ip_vs_stats` text that is not what ip_vs_stats_show writes;
/// `what` is `totals` or `rates`, `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcStatsError {
    /// The file ends before the line.
    Missing {
        /// Which line: `totals` or `rates`.
        what: &'static str,
        /// 1-based line number.
        line: usize,
    },
    /// The line has fewer than five fields.
    TooFew {
        /// Which line: `totals` or `rates`.
        what: &'static str,
        /// 1-based line number.
        line: usize,
        /// How many fields it has.
        fields: usize,
    },
    /// The line has more than five fields.
    TooMany {
        /// Which line: `totals` or `rates`.
        what: &'static str,
        /// 1-based line number.
        line: usize,
    },
    /// A field is not a hex number.
    NotHex {
        /// Which line: `totals` or `rates`.
        what: &'static str,
        /// 1-based line number.
        line: usize,
        /// The field as written.
        field: String,
    },
}

impl std::fmt::Display for ProcStatsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcStatsError::Missing { what, line } => write!(f, "{what}: line {line} missing"),
            ProcStatsError::TooFew { what, line, fields } => {
                write!(f, "{what}: line {line} has {fields} fields, not 5")
            }
            ProcStatsError::TooMany { what, line } => {
                write!(f, "{what}: line {line} has more than 5 fields")
            }
            ProcStatsError::NotHex { what, line, field } => {
                write!(f, "{what}: line {line}: {field:?} is not a hex number")
            }
        }
    }
}

impl std::error::Error for ProcStatsError {}

/// Decodes `/proc/net/ip_vs_stats`: the kernel's totals over every service
/// since IPVS was loaded (what node_exporter's ipvs collector reads). Two
/// header lines, one line of five hex totals, a blank line, one header line,
/// one line of five hex rates (ip_vs_stats_show).
pub fn parse_proc_stats(text: &str) -> Result<TrafficStats, ProcStatsError> {
    let lines: Vec<&str> = text.lines().collect();
    let five = |index: usize, what: &'static str| -> Result<[u64; 5], ProcStatsError> {
        let line = index + 1;
        let text = lines
            .get(index)
            .ok_or(ProcStatsError::Missing { what, line })?;
        let mut out = [0u64; 5];
        let mut fields = text.split_whitespace();
        for (i, slot) in out.iter_mut().enumerate() {
            let f = fields.next().ok_or(ProcStatsError::TooFew {
                what,
                line,
                fields: i,
            })?;
            *slot = u64::from_str_radix(f, 16).map_err(|_| ProcStatsError::NotHex {
                what,
                line,
                field: f.to_string(),
            })?;
        }
        if fields.next().is_some() {
            return Err(ProcStatsError::TooMany { what, line });
        }
        Ok(out)
    };
    let t = five(2, "totals")?;
    let r = five(5, "rates")?;
    Ok(TrafficStats {
        totals: t.into(),
        rates: r.into(),
    })
}

/// Decodes a nested IPVS_CMD_ATTR_SERVICE payload (its statistics are skipped).
pub fn parse_service(payload: &[u8]) -> Result<Service, DecodeError> {
    Ok(parse_service_with_stats(payload)?.0)
}

/// Decodes a nested IPVS_CMD_ATTR_SERVICE payload with its statistics
/// (IPVS_SVC_ATTR_STATS64, or the 32-bit IPVS_SVC_ATTR_STATS of old kernels).
pub fn parse_service_with_stats(payload: &[u8]) -> Result<(Service, TrafficStats), DecodeError> {
    let mut found = ServiceAttrs::default();
    for a in Attrs::new(payload) {
        found.take(a?)?;
    }
    found.finish()
}

/// Decodes a nested IPVS_CMD_ATTR_DEST payload; `service_af` is used when the kernel
/// leaves out IPVS_DEST_ATTR_ADDR_FAMILY (kernels before 4.x).
pub fn parse_dest(
    payload: &[u8],
    service_af: AddrFamily,
) -> Result<(Dest, DestStats), DecodeError> {
    let mut found = DestAttrs::new(service_af);
    for a in Attrs::new(payload) {
        found.take(a?)?;
    }
    found.finish()
}

/// The counters of a service or destination: IPVS_*_ATTR_STATS64 when the kernel
/// sends it, else the 32-bit IPVS_*_ATTR_STATS of old kernels.
#[derive(Default)]
struct Counters {
    stats: TrafficStats,
    wide: bool,
}

impl Counters {
    /// Takes one statistics attribute; the old one is skipped once STATS64 was seen.
    fn take(&mut self, a: &Attr<'_>, wide: bool, what: &'static str) -> Result<(), DecodeError> {
        if wide || !self.wide {
            self.stats = parse_stats(a.payload, wide, what)?;
            self.wide |= wide;
        }
        Ok(())
    }
}

/// A short kernel name attribute (persistence engine, interface), at most 15 bytes.
fn short_name(a: &Attr<'_>, what: &'static str) -> Result<ShortName, DecodeError> {
    let mut s = ShortName::new();
    s.push_str(a.str()?)
        .map_err(|_| DecodeError::BadValue(what))?;
    Ok(s)
}

/// The attributes of one service as they arrive, checked together by `finish`.
#[derive(Default)]
struct ServiceAttrs<'a> {
    af: Option<AddrFamily>,
    protocol: Option<u16>,
    addr: Option<Attr<'a>>,
    port: Option<u16>,
    fwmark: Option<u32>,
    scheduler: Option<Scheduler>,
    flags: u32,
    timeout: u32,
    netmask: Option<Attr<'a>>,
    pe_name: Option<ShortName>,
    counters: Counters,
}

impl<'a> ServiceAttrs<'a> {
    /// Takes one IPVS_SVC_ATTR_*; unknown ones are skipped.
    fn take(&mut self, a: Attr<'a>) -> Result<(), DecodeError> {
        match a.kind {
            svc_attr::AF => {
                self.af = Some(
                    AddrFamily::from_raw(a.u16()?)
                        .ok_or(DecodeError::BadValue("IPVS_SVC_ATTR_AF"))?,
                )
            }
            svc_attr::PROTOCOL => self.protocol = Some(a.u16()?),
            svc_attr::ADDR => self.addr = Some(a),
            svc_attr::PORT => self.port = Some(a.be16()?),
            svc_attr::FWMARK => self.fwmark = Some(a.u32()?),
            svc_attr::SCHED_NAME => {
                self.scheduler = Some(
                    Scheduler::from_name(a.str()?)
                        .ok_or(DecodeError::BadValue("IPVS_SVC_ATTR_SCHED_NAME"))?,
                )
            }
            svc_attr::FLAGS => self.flags = service_flags(&a)?,
            svc_attr::TIMEOUT => self.timeout = a.u32()?,
            svc_attr::NETMASK => self.netmask = Some(a),
            svc_attr::STATS64 => self.counters.take(&a, true, "IPVS_SVC_ATTR_STATS64")?,
            svc_attr::STATS => self.counters.take(&a, false, "IPVS_SVC_ATTR_STATS")?,
            svc_attr::PE_NAME => {
                let name = short_name(&a, "IPVS_SVC_ATTR_PE_NAME")?;
                if !name.is_empty() {
                    self.pe_name = Some(name);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The service and its counters, once every attribute was taken.
    fn finish(self) -> Result<(Service, TrafficStats), DecodeError> {
        let af = self.af.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_AF"))?;
        let key = self.key(af)?;
        let prefix_len = prefix_len(self.netmask, af)?;
        let service = Service {
            key,
            scheduler: self
                .scheduler
                .ok_or(DecodeError::Missing("IPVS_SVC_ATTR_SCHED_NAME"))?,
            flags: self.flags,
            timeout: self.timeout,
            prefix_len,
            pe_name: self.pe_name,
        };
        Ok((service, self.counters.stats))
    }

    /// A firewall mark (when not 0), else protocol + address + port.
    fn key(&self, af: AddrFamily) -> Result<ServiceKey, DecodeError> {
        match (self.fwmark, self.protocol, &self.addr, self.port) {
            (Some(mark), ..) if mark != 0 => Ok(ServiceKey::Fwmark { af, mark }),
            (_, Some(p), Some(a), Some(port)) => Ok(ServiceKey::Addr {
                protocol: Protocol::from_raw(p)
                    .ok_or(DecodeError::BadValue("IPVS_SVC_ATTR_PROTOCOL"))?,
                addr: parse_addr(a, af, "IPVS_SVC_ATTR_ADDR")?,
                port,
            }),
            _ => Err(DecodeError::Missing(
                "IPVS_SVC_ATTR_FWMARK or PROTOCOL/ADDR/PORT",
            )),
        }
    }
}

/// IPVS_SVC_ATTR_FLAGS (struct ip_vs_flags: flags, then mask): the flags without HASHED.
fn service_flags(a: &Attr<'_>) -> Result<u32, DecodeError> {
    let b: [u8; 4] =
        a.payload
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .ok_or(DecodeError::BadAttribute {
                what: "IPVS_SVC_ATTR_FLAGS",
                len: a.payload.len(),
            })?;
    Ok(u32::from_ne_bytes(b) & !flags::HASHED)
}

/// The persistence granularity: IPv4 sends a be32 mask, IPv6 a prefix length; a
/// missing IPVS_SVC_ATTR_NETMASK means per client address.
fn prefix_len(netmask: Option<Attr<'_>>, af: AddrFamily) -> Result<u8, DecodeError> {
    Ok(match (netmask, af) {
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
    })
}

/// The attributes of one destination as they arrive, checked together by `finish`.
struct DestAttrs<'a> {
    af: AddrFamily,
    addr: Option<Attr<'a>>,
    port: Option<u16>,
    forward: Option<ForwardMethod>,
    tunnel: TunnelType,
    tunnel_port: u16,
    dest: Dest,
    stats: DestStats,
    counters: Counters,
}

impl<'a> DestAttrs<'a> {
    fn new(service_af: AddrFamily) -> DestAttrs<'a> {
        DestAttrs {
            af: service_af,
            addr: None,
            port: None,
            forward: None,
            tunnel: TunnelType::Ipip,
            tunnel_port: 0,
            dest: Dest::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, ForwardMethod::Masq, 0),
            stats: DestStats::default(),
            counters: Counters::default(),
        }
    }

    /// Takes one IPVS_DEST_ATTR_*; unknown ones are skipped.
    fn take(&mut self, a: Attr<'a>) -> Result<(), DecodeError> {
        match a.kind {
            dest_attr::ADDR => self.addr = Some(a),
            dest_attr::PORT => self.port = Some(a.be16()?),
            dest_attr::ADDR_FAMILY => {
                self.af = AddrFamily::from_raw(a.u16()?)
                    .ok_or(DecodeError::BadValue("IPVS_DEST_ATTR_ADDR_FAMILY"))?
            }
            dest_attr::FWD_METHOD => {
                self.forward = Some(
                    ForwardMethod::from_raw(a.u32()?, TunnelType::Ipip)
                        .ok_or(DecodeError::BadValue("IPVS_DEST_ATTR_FWD_METHOD"))?,
                )
            }
            dest_attr::WEIGHT => self.dest.weight = a.u32()?,
            dest_attr::U_THRESH => self.dest.upper_threshold = a.u32()?,
            dest_attr::L_THRESH => self.dest.lower_threshold = a.u32()?,
            dest_attr::ACTIVE_CONNS => self.stats.active_conns = a.u32()?,
            dest_attr::INACT_CONNS => self.stats.inactive_conns = a.u32()?,
            dest_attr::PERSIST_CONNS => self.stats.persist_conns = a.u32()?,
            dest_attr::STATS64 => self.counters.take(&a, true, "IPVS_DEST_ATTR_STATS64")?,
            dest_attr::STATS => self.counters.take(&a, false, "IPVS_DEST_ATTR_STATS")?,
            dest_attr::TUN_TYPE => {
                self.tunnel = TunnelType::from_raw(a.u8()?, 0)
                    .ok_or(DecodeError::BadValue("IPVS_DEST_ATTR_TUN_TYPE"))?
            }
            dest_attr::TUN_PORT => self.tunnel_port = a.be16()?,
            dest_attr::TUN_FLAGS => self.dest.tunnel_flags = a.u16()?,
            _ => {}
        }
        Ok(())
    }

    /// The destination and its counters, once every attribute was taken.
    fn finish(mut self) -> Result<(Dest, DestStats), DecodeError> {
        let addr = self
            .addr
            .ok_or(DecodeError::Missing("IPVS_DEST_ATTR_ADDR"))?;
        self.dest.key = DestKey {
            addr: parse_addr(&addr, self.af, "IPVS_DEST_ATTR_ADDR")?,
            port: self
                .port
                .ok_or(DecodeError::Missing("IPVS_DEST_ATTR_PORT"))?,
        };
        self.dest.forward = match self.forward {
            Some(ForwardMethod::Tunnel(_)) => ForwardMethod::Tunnel(match self.tunnel {
                TunnelType::Gue { .. } => TunnelType::Gue {
                    port: self.tunnel_port,
                },
                other => other,
            }),
            Some(other) => other,
            None => return Err(DecodeError::Missing("IPVS_DEST_ATTR_FWD_METHOD")),
        };
        self.stats.totals = self.counters.stats.totals;
        self.stats.rates = self.counters.stats.rates;
        Ok((self.dest, self.stats))
    }
}

/// Decodes a nested IPVS_CMD_ATTR_DAEMON payload.
pub(super) fn parse_daemon(payload: &[u8]) -> Result<SyncDaemon, DecodeError> {
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
                d.interface = short_name(&a, "IPVS_DAEMON_ATTR_MCAST_IFN")?;
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
    match hdr.cmd {
        cmd::NEW_SERVICE => {
            let nest = nested(attrs, cmd_attr::SERVICE, "IPVS_CMD_ATTR_SERVICE")?;
            let (s, st) = parse_service_with_stats(nest)?;
            Ok(IpvsReply::Service(s, st))
        }
        cmd::NEW_DEST => {
            let nest = nested(attrs, cmd_attr::DEST, "IPVS_CMD_ATTR_DEST")?;
            let (d, s) = parse_dest(nest, service_af)?;
            Ok(IpvsReply::Dest(d, s))
        }
        cmd::NEW_DAEMON => {
            let nest = nested(attrs, cmd_attr::DAEMON, "IPVS_CMD_ATTR_DAEMON")?;
            Ok(IpvsReply::Daemon(parse_daemon(nest)?))
        }
        cmd::SET_CONFIG => Ok(IpvsReply::Timeouts(parse_timeouts(attrs)?)),
        cmd::SET_INFO => Ok(IpvsReply::Info(parse_info(attrs)?)),
        other => Ok(IpvsReply::Other(other)),
    }
}

/// The payload of the first attribute of type `kind` in `attrs`.
fn nested<'a>(attrs: &'a [u8], kind: u16, what: &'static str) -> Result<&'a [u8], DecodeError> {
    for a in Attrs::new(attrs) {
        let a = a?;
        if a.kind == kind {
            return Ok(a.payload);
        }
    }
    Err(DecodeError::Missing(what))
}

/// The attributes of a GET_CONFIG reply: the connection timeouts.
fn parse_timeouts(attrs: &[u8]) -> Result<Timeouts, DecodeError> {
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
    Ok(t)
}

/// The attributes of a GET_INFO reply: version and connection table size.
fn parse_info(attrs: &[u8]) -> Result<Info, DecodeError> {
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
    Ok(Info {
        version: version.ok_or(DecodeError::Missing("IPVS_INFO_ATTR_VERSION"))?,
        conn_tab_size,
    })
}
