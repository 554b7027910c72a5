//! `[virtual_server NAME]`: a key loop, then the named checks (service,
//! protocol, scheduler, forwarding, persistence, quorum, sorry server).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::super::conflict::Conflict;
use super::super::error::{ConfigError, ConfigErrorKind, ConfigWarning};
use super::super::ini::{Entry, Section, Title};
use super::super::keys;
use super::super::model::*;
use super::super::parse::*;
use super::super::ranges;
use super::values::*;

/// `[virtual_server]` before its real servers are attached.
pub(crate) struct RawVirtualServer<'a> {
    pub server: VirtualServer,
    pub title: Title<'a>,
    pub timing: TimingOptions,
}

/// `[virtual_server NAME]`: every key, then the checks that combine them.
pub(crate) fn read_virtual_server<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<RawVirtualServer<'a>, ConfigError> {
    let name = simple_name(origin, section)?;
    if name.contains(':') {
        return Err(ConfigError::new(
            origin,
            section.line,
            ConfigErrorKind::BadSectionName("virtual server names may not contain `:`"),
        )
        .in_section(section.title()));
    }
    let reader = Reader::new(origin, section, keys::VIRTUAL_SERVER)?;
    let mut keys = VsKeys::new();
    for (key, entry) in reader.entries() {
        keys.read(&reader, key, entry)?;
    }
    keys.finish(&reader, section, name, warnings)
}

/// A `[virtual_server]`'s keys as read, before the checks that combine them.
struct VsKeys<'e, 'a> {
    timing: TimingOptions,
    address: Option<(IpAddr, &'e Entry<'a>)>,
    port: Option<(u16, &'e Entry<'a>)>,
    fwmark: Option<u32>,
    group: Option<(Name, &'e Entry<'a>)>,
    family_v6: Option<bool>,
    protocol: Option<Protocol>,
    scheduler: Option<Scheduler>,
    kind: Option<ForwardEntry<'e, 'a>>,
    tunnel: Option<(TunnelType, &'e Entry<'a>)>,
    persistence_timeout: Option<Duration>,
    persistence_granularity: Option<&'e Entry<'a>>,
    alpha: bool,
    omega: bool,
    quorum: u32,
    hysteresis: u32,
    quorum_up: Option<PathText>,
    quorum_down: Option<PathText>,
    sorry_server: Option<SocketAddr>,
    sorry_inhibit: Option<(bool, &'e Entry<'a>)>,
    sorry_forward: Option<ForwardEntry<'e, 'a>>,
    inhibit_on_failure: bool,
    virtualhost: Option<Name>,
    ha_suspend: bool,
    announce: Option<Name>,
}

impl<'e, 'a> VsKeys<'e, 'a> {
    /// Nothing read yet: the keys' defaults.
    fn new() -> Self {
        VsKeys {
            timing: TimingOptions::default(),
            address: None,
            port: None,
            fwmark: None,
            group: None,
            family_v6: None,
            protocol: None,
            scheduler: None,
            kind: None,
            tunnel: None,
            persistence_timeout: None,
            persistence_granularity: None,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry_server: None,
            sorry_inhibit: None,
            sorry_forward: None,
            inhibit_on_failure: false,
            virtualhost: None,
            ha_suspend: false,
            announce: None,
        }
    }

    /// One key: every key `keys.rs` declares for `[virtual_server]` has an
    /// arm here or in the timing keys.
    fn read(
        &mut self,
        reader: &Reader<'_, 'a>,
        key: &str,
        entry: &'e Entry<'a>,
    ) -> Result<(), ConfigError> {
        if self.timing.read(reader, key, entry)? || self.read_service(reader, key, entry)? {
            return Ok(());
        }
        match key {
            "protocol" => self.protocol = Some(protocol_of(reader, entry)?),
            "lb_algo" => self.scheduler = Some(scheduler_of(reader, entry)?),
            "lb_kind" => self.kind = Some((read_forward(reader, entry)?, entry)),
            "tun_type" => self.tunnel = Some((read_tun_type(reader, entry)?, entry)),
            "persistence_timeout" => {
                self.persistence_timeout =
                    Some(reader.duration(entry, ranges::PERSISTENCE_TIMEOUT)?)
            }
            "persistence_granularity" => self.persistence_granularity = Some(entry),
            "alpha" => self.alpha = reader.flag(entry)?,
            "omega" => self.omega = reader.flag(entry)?,
            "quorum" => self.quorum = reader.int(entry, 1..=u32::MAX)?,
            "hysteresis" => self.hysteresis = reader.int(entry, 0..=u32::MAX)?,
            "quorum_up" => self.quorum_up = Some(reader.command(entry)?),
            "quorum_down" => self.quorum_down = Some(reader.command(entry)?),
            "sorry_server" => self.sorry_server = Some(sorry_server_of(reader, entry)?),
            "inhibit_on_failure" => self.inhibit_on_failure = reader.flag(entry)?,
            "sorry_server_inhibit" => self.sorry_inhibit = Some((reader.flag(entry)?, entry)),
            "sorry_server_lvs_method" => {
                self.sorry_forward = Some((read_forward(reader, entry)?, entry))
            }
            "virtualhost" => self.virtualhost = Some(reader.name(entry)?),
            "ha_suspend" => self.ha_suspend = reader.flag(entry)?,
            "announce" => self.announce = Some(reader.name(entry)?),
            _ => return Err(reader.unread(entry)),
        }
        Ok(())
    }

    /// The keys that name the service; false for others.
    fn read_service(
        &mut self,
        reader: &Reader<'_, 'a>,
        key: &str,
        entry: &'e Entry<'a>,
    ) -> Result<bool, ConfigError> {
        match key {
            "address" => self.address = Some((reader.ip(entry)?, entry)),
            "port" => self.port = Some((reader.int(entry, 0..=*ranges::PORT.end())?, entry)),
            "fwmark" => self.fwmark = Some(reader.int(entry, ranges::FWMARK)?),
            "group" => self.group = Some((reader.name(entry)?, entry)),
            "ip_family" => {
                self.family_v6 = Some(match reader.text(entry)? {
                    "inet" => false,
                    "inet6" => true,
                    _ => return Err(reader.bad(entry, "must be inet or inet6")),
                })
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The checks that combine keys, in order: service, protocol,
    /// scheduler, forwarding, persistence, quorum and suspend, sorry server.
    fn finish(
        self,
        reader: &Reader<'_, 'a>,
        section: &Section<'_, 'a>,
        name: Name,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<RawVirtualServer<'a>, ConfigError> {
        let service = service_of(
            reader,
            self.group.as_ref().map(|(_, entry)| *entry),
            self.fwmark,
            self.address,
            self.port,
            self.family_v6,
            self.persistence_timeout.is_some(),
        )?;
        let protocol = protocol_or_default(reader, self.protocol, service, self.group.is_some())?;
        let scheduler = self.scheduler.unwrap_or_else(|| {
            warnings.push(reader.warning(
                section.line,
                Some("lb_algo"),
                "not set: using wlc".into(),
            ));
            Scheduler::Wlc
        });
        let forward = forward_or_nat(reader, section.line, self.kind, self.tunnel, warnings)?;
        let ipv6 = service_is_ipv6(service);
        let persistent = self.persistence_timeout.is_some();
        let granularity = self.persistence_granularity;
        let persistence_granularity =
            persistence_granularity_of(reader, granularity, ipv6, persistent)?;
        check_quorum_and_suspend(
            reader,
            self.quorum,
            self.hysteresis,
            self.ha_suspend,
            service,
        )?;
        let sorry_server_forward = sorry_server_forward_of(
            reader,
            self.sorry_server,
            self.sorry_inhibit,
            self.sorry_forward,
            forward,
            ipv6,
        )?;
        let timing = self.timing;
        Ok(RawVirtualServer {
            server: VirtualServer {
                name,
                line: section.line,
                service,
                protocol,
                scheduler,
                forward,
                persistence_timeout: self.persistence_timeout,
                persistence_granularity,
                timing: timing.resolve(1, Duration::from_secs(1)),
                alpha: self.alpha,
                omega: self.omega,
                quorum: self.quorum,
                hysteresis: self.hysteresis,
                quorum_up: self.quorum_up,
                quorum_down: self.quorum_down,
                sorry_server: self.sorry_server,
                sorry_server_inhibit: self.sorry_inhibit.is_some_and(|(on, _)| on),
                sorry_server_forward,
                inhibit_on_failure: self.inhibit_on_failure,
                virtualhost: self.virtualhost,
                ha_suspend: self.ha_suspend,
                announce: self.announce,
                real_servers: Vec::new(),
                group: self.group.map(|(g, _)| g),
            },
            title: reader.title,
            timing,
        })
    }
}

/// Whether the service is IPv6.
fn service_is_ipv6(service: Service) -> bool {
    match service {
        Service::Address(a) => a.is_ipv6(),
        Service::Fwmark { ipv6, .. } => ipv6,
    }
}

/// The service: an address and port, a fwmark, or a group's (filled in later).
pub(crate) fn service_of(
    reader: &Reader<'_, '_>,
    group: Option<&Entry<'_>>,
    fwmark: Option<u32>,
    address: Option<(IpAddr, &Entry<'_>)>,
    port: Option<(u16, &Entry<'_>)>,
    family_v6: Option<bool>,
    persistent: bool,
) -> Result<Service, ConfigError> {
    if let Some(entry) = group.filter(|_| fwmark.is_some() || address.is_some() || port.is_some()) {
        return Err(reader.error(
            entry,
            ConfigErrorKind::Conflict(Conflict::GroupServiceAddress),
        ));
    }
    Ok(match (fwmark, address, port) {
        // Replaced by each member of the group when the config is built.
        _ if group.is_some() => Service::Fwmark {
            mark: 0,
            ipv6: family_v6.unwrap_or(false),
        },
        (Some(_), Some((_, entry)), _) | (Some(_), None, Some((_, entry))) => {
            return Err(reader.error(entry, ConfigErrorKind::Conflict(Conflict::FwmarkAddress)))
        }
        (Some(mark), None, None) => Service::Fwmark {
            mark,
            ipv6: family_v6.unwrap_or(false),
        },
        (None, None, _) => return Err(reader.missing("address")),
        (None, Some(_), None) => return Err(reader.missing("port")),
        (None, Some((ip, _)), Some((port, port_entry))) => {
            if port == 0 && !persistent {
                return Err(reader.bad(
                    port_entry,
                    ranges::around(
                        "must be ",
                        &ranges::PORT,
                        " (0 = all ports, only with persistence_timeout)",
                    ),
                ));
            }
            if family_v6.is_some() {
                let line = reader.line_of("ip_family");
                return Err(reader.error_at(
                    line,
                    Some("ip_family"),
                    ConfigErrorKind::Conflict(Conflict::IpFamilyWithAddress),
                ));
            }
            Service::Address(SocketAddr::new(ip, port))
        }
    })
}

/// `persistence_granularity`: a netmask or prefix length, with persistence only.
pub(crate) fn persistence_granularity_of(
    reader: &Reader<'_, '_>,
    persistence_granularity: Option<&Entry<'_>>,
    ipv6: bool,
    persistent: bool,
) -> Result<Option<u8>, ConfigError> {
    Ok(match persistence_granularity {
        None => None,
        Some(entry) => {
            let text = reader.text(entry)?;
            let max = if ipv6 { 128 } else { 32 };
            let prefix = if let Ok(n) = text.parse::<u8>() {
                Some(n).filter(|n| (1..=max).contains(n))
            } else if let Ok(mask) = text.parse::<std::net::Ipv4Addr>() {
                let bits = u32::from(mask);
                (!ipv6 && bits.leading_ones() + bits.trailing_zeros() == 32 && bits != 0)
                    .then(|| bits.leading_ones() as u8)
            } else {
                None
            };
            if !persistent {
                return Err(reader.error(
                    entry,
                    ConfigErrorKind::Conflict(Conflict::GranularityWithoutPersistence),
                ));
            }
            Some(prefix.ok_or_else(|| {
                reader.bad(
                    entry,
                    format!("must be a netmask like 255.255.255.0 or a prefix length 1..={max}"),
                )
            })?)
        }
    })
}

/// hysteresis below quorum; ha_suspend only on an address service.
pub(crate) fn check_quorum_and_suspend(
    reader: &Reader<'_, '_>,
    quorum: u32,
    hysteresis: u32,
    ha_suspend: bool,
    service: Service,
) -> Result<(), ConfigError> {
    if hysteresis >= quorum && hysteresis > 0 {
        let line = reader.line_of("hysteresis");
        return Err(reader.error_at(
            line,
            Some("hysteresis"),
            ConfigErrorKind::Conflict(Conflict::Hysteresis { quorum }),
        ));
    }
    if ha_suspend && matches!(service, Service::Fwmark { .. }) {
        // keepalived would suspend such checks for good: a fwmark service
        // has no address that could appear on an interface.
        let line = reader.line_of("ha_suspend");
        return Err(reader.error_at(
            line,
            Some("ha_suspend"),
            ConfigErrorKind::Conflict(Conflict::HaSuspendFwmark),
        ));
    }
    Ok(())
}

/// sorry_server_inhibit and sorry_server_lvs_method need a sorry_server, of
/// the service's family unless tunnelled; its forwarding method.
pub(crate) fn sorry_server_forward_of(
    reader: &Reader<'_, '_>,
    sorry_server: Option<SocketAddr>,
    sorry_inhibit: Option<(bool, &Entry<'_>)>,
    sorry_forward: Option<ForwardEntry<'_, '_>>,
    forward: ForwardMethod,
    ipv6: bool,
) -> Result<ForwardMethod, ConfigError> {
    if let Some((_, entry)) = sorry_inhibit.filter(|_| sorry_server.is_none()) {
        return Err(reader.error(
            entry,
            ConfigErrorKind::Conflict(Conflict::SorryInhibitWithoutServer),
        ));
    }
    if let Some((_, entry)) = sorry_forward.as_ref().filter(|_| sorry_server.is_none()) {
        return Err(reader.error(
            entry,
            ConfigErrorKind::Conflict(Conflict::SorryMethodWithoutServer),
        ));
    }
    let sorry_server_forward = sorry_forward.map_or(forward, |((m, _), _)| m);
    if let Some(sorry) = sorry_server {
        // A tunnelled sorry server may be of the other family (keepalived's
        // vs_end_handler), as a tunnelled real server may.
        if sorry.is_ipv6() != ipv6 && !matches!(sorry_server_forward, ForwardMethod::Tunnel(_)) {
            let line = reader.line_of("sorry_server");
            return Err(reader.error_at(
                line,
                Some("sorry_server"),
                ConfigErrorKind::Conflict(Conflict::SorryFamily),
            ));
        }
    }
    Ok(sorry_server_forward)
}

pub(crate) fn protocol_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<Protocol, ConfigError> {
    reader.word_any_case(
        entry,
        &[
            ("TCP", Protocol::Tcp),
            ("UDP", Protocol::Udp),
            ("SCTP", Protocol::Sctp),
        ],
    )
}

/// `lb_algo`: one of the IPVS schedulers.
pub(crate) fn scheduler_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<Scheduler, ConfigError> {
    let text = reader.text(entry)?.to_ascii_lowercase();
    Scheduler::KNOWN
        .iter()
        .find(|s| s.name() == text)
        .cloned()
        .ok_or_else(|| {
            reader.bad(
                entry,
                "must be one of rr wrr lc wlc lblc lblcr dh sh mh sed nq fo ovf",
            )
        })
}

/// `sorry_server = ADDRESS PORT`.
pub(crate) fn sorry_server_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<SocketAddr, ConfigError> {
    let text = reader.text(entry)?;
    let (ip, port) = parse_host_port(text)
        .ok_or_else(|| reader.bad(entry, "must be `ADDRESS PORT` or `ADDRESS:PORT`"))?;
    let port = port.ok_or_else(|| reader.bad(entry, "needs a port: `ADDRESS PORT`"))?;
    Ok(SocketAddr::new(ip, port))
}

pub(crate) fn protocol_or_default(
    reader: &Reader<'_, '_>,
    protocol: Option<Protocol>,
    service: Service,
    grouped: bool,
) -> Result<Protocol, ConfigError> {
    // keepalived silently falls back to UDP; we refuse (issue 2).
    Ok(match (protocol, service) {
        (Some(p), _) => p,
        (None, _) if grouped => return Err(reader.missing("protocol")),
        (None, Service::Fwmark { .. }) => Protocol::Tcp,
        (None, Service::Address(_)) => return Err(reader.missing("protocol")),
    })
}

/// `lb_kind` + `tun_type`; NAT (with a warning) when neither is set.
pub(crate) fn forward_or_nat(
    reader: &Reader<'_, '_>,
    section_line: usize,
    kind: Option<ForwardEntry<'_, '_>>,
    tunnel: Option<(TunnelType, &Entry<'_>)>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<ForwardMethod, ConfigError> {
    Ok(match (kind, tunnel) {
        (None, None) => {
            warnings.push(reader.warning(
                section_line,
                Some("lb_kind"),
                "not set: using NAT".into(),
            ));
            ForwardMethod::Masq
        }
        (kind, tunnel) => forward_with_tunnel(reader, kind, tunnel)?,
    })
}
