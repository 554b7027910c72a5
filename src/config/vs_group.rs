//! `[virtual_server_group NAME]`: keepalived's `virtual_server_group`, a set of
//! addresses (ranges allowed) and fwmarks served by one virtual server. The
//! loader expands a grouped virtual server into one IPVS service per member
//! address or fwmark, each with the same real servers and checks (identical
//! probes are shared, so each real server is still probed once).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::conflict::Conflict;
use super::error::{ConfigError, ConfigErrorKind};
use super::ini::{Section, Title};
use super::model::{Service, VirtualServer};
use super::parse::Reader;
use super::sections::section_name;

/// Most services one group may expand to (a guard against `10.0.0.0-255` typos
/// times many groups; the total is also bounded by MAX_VIRTUAL_SERVERS).
pub const MAX_GROUP_SERVICES: usize = 256;

/// One `member` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// `IP[-LAST] PORT`: addresses `first..=last` (last octet, or last 16-bit
    /// group for IPv6), each on `port`.
    Range {
        /// First address.
        first: IpAddr,
        /// Last address (same as `first` without a range).
        last: IpAddr,
        /// Port.
        port: u16,
    },
    /// `fwmark N`.
    Fwmark(u32),
}

impl Member {
    /// The services this member stands for, in address order.
    pub fn services(&self, ipv6_fwmark: bool) -> Vec<Service> {
        match *self {
            Member::Fwmark(mark) => vec![Service::Fwmark {
                mark,
                ipv6: ipv6_fwmark,
            }],
            Member::Range { first, last, port } => match (first, last) {
                (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a)..=u32::from(b))
                    .map(|n| Service::Address(SocketAddr::new(Ipv4Addr::from(n).into(), port)))
                    .collect(),
                (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a)..=u128::from(b))
                    .map(|n| Service::Address(SocketAddr::new(Ipv6Addr::from(n).into(), port)))
                    .collect(),
                _ => Vec::new(),
            },
        }
    }

    /// Number of services, without building them.
    fn count(&self) -> u128 {
        match *self {
            Member::Fwmark(_) => 1,
            Member::Range { first, last, .. } => match (first, last) {
                (IpAddr::V4(a), IpAddr::V4(b)) => u128::from(u32::from(b) - u32::from(a)) + 1,
                (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(b) - u128::from(a) + 1,
                _ => 0,
            },
        }
    }
}

/// A read `[virtual_server_group]`.
#[derive(Debug, Clone)]
pub(crate) struct RawVsGroup<'a> {
    pub name: &'a str,
    pub title: Title<'a>,
    pub line: usize,
    pub members: Vec<(Member, usize)>,
}

/// Why a `[virtual_server_group]` member does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberError {
    /// Neither `IP[-LAST] PORT` nor `fwmark N`.
    Shape,
    /// `fwmark N` with N not in 1..=u32::MAX.
    Fwmark(String),
    /// A port that is not 0..=65535.
    Port(String),
    /// An address that is neither IPv4 nor IPv6.
    Address(String),
    /// An IPv4 range end that is not an octet.
    V4End(String),
    /// An IPv6 range end that is not a hex group.
    V6End(String),
    /// A range whose end is below its start.
    Backwards(String),
}

impl std::fmt::Display for MemberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemberError::Shape => write!(f, "must be `IP[-LAST] PORT` or `fwmark N`"),
            MemberError::Fwmark(mark) => write!(f, "fwmark {mark}: must be 1..={}", u32::MAX),
            MemberError::Port(port) => write!(f, "port {port}: must be 0..=65535"),
            MemberError::Address(address) => {
                write!(f, "{address}: not an IPv4 or IPv6 address")
            }
            MemberError::V4End(end) => {
                write!(f, "range end {end}: must be the last octet, 0..=255")
            }
            MemberError::V6End(end) => {
                write!(f, "range end {end}: must be the last group, hex 0..=ffff")
            }
            MemberError::Backwards(range) => {
                write!(f, "range {range}: the end is below the start")
            }
        }
    }
}

impl std::error::Error for MemberError {}

/// Parses `IP[-LAST] PORT` or `fwmark N`.
pub fn parse_member(text: &str) -> Result<Member, MemberError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["fwmark", mark] => match mark.parse::<u32>() {
            Ok(m) if m >= 1 => Ok(Member::Fwmark(m)),
            _ => Err(MemberError::Fwmark(mark.to_string())),
        },
        [range, port] => {
            let port: u16 = port
                .parse()
                .map_err(|_| MemberError::Port(port.to_string()))?;
            let (first, last) = parse_range(range)?;
            Ok(Member::Range { first, last, port })
        }
        _ => Err(MemberError::Shape),
    }
}

/// `10.0.0.1-10` (last octet) or `2001:db8::1-ff` (last 16-bit group, hex).
fn parse_range(text: &str) -> Result<(IpAddr, IpAddr), MemberError> {
    let (address, end) = match text.rsplit_once('-') {
        Some((a, e)) => (a, Some(e)),
        None => (text, None),
    };
    let first: IpAddr = address
        .parse()
        .map_err(|_| MemberError::Address(address.to_string()))?;
    let Some(end) = end else {
        return Ok((first, first));
    };
    let last = match first {
        IpAddr::V4(a) => {
            let n: u8 = end
                .parse()
                .map_err(|_| MemberError::V4End(end.to_string()))?;
            let mut o = a.octets();
            o[3] = n;
            IpAddr::V4(Ipv4Addr::from(o))
        }
        IpAddr::V6(a) => {
            let n =
                u16::from_str_radix(end, 16).map_err(|_| MemberError::V6End(end.to_string()))?;
            let mut s = a.segments();
            s[7] = n;
            IpAddr::V6(Ipv6Addr::from(s))
        }
    };
    if last < first {
        return Err(MemberError::Backwards(text.to_string()));
    }
    Ok((first, last))
}

/// `[virtual_server_group NAME]`.
pub(crate) fn read_vs_group<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
) -> Result<RawVsGroup<'a>, ConfigError> {
    let name = section_name(origin, section)?;
    let reader = Reader::new(origin, section, super::keys::VS_GROUP)?;
    let mut members = Vec::new();
    let mut services: u128 = 0;
    for (_, entry) in reader.entries() {
        let member =
            parse_member(reader.text(entry)?).map_err(|source| reader.invalid(entry, source))?;
        services += member.count();
        if services > MAX_GROUP_SERVICES as u128 {
            return Err(reader.error(
                entry,
                ConfigErrorKind::OverCapacity {
                    limit: "MAX_GROUP_SERVICES",
                    max: MAX_GROUP_SERVICES,
                },
            ));
        }
        members.push((member, entry.line));
    }
    if members.is_empty() {
        return Err(reader.missing("member"));
    }
    let families: Vec<bool> = members
        .iter()
        .filter_map(|(m, _)| match m {
            Member::Range { first, .. } => Some(first.is_ipv6()),
            Member::Fwmark(_) => None,
        })
        .collect();
    if families.windows(2).any(|w| w[0] != w[1]) {
        let line = members.last().map_or(section.line, |(_, l)| *l);
        return Err(reader.error_at(
            line,
            Some("member"),
            ConfigErrorKind::Conflict(Conflict::GroupFamilies),
        ));
    }
    Ok(RawVsGroup {
        name,
        title: reader.title,
        line: section.line,
        members,
    })
}

/// Replaces every grouped virtual server by one per service of its group.
pub(crate) fn expand(
    origin: &str,
    servers: Vec<VirtualServer>,
    groups: &[RawVsGroup<'_>],
) -> Result<Vec<VirtualServer>, ConfigError> {
    let mut out: Vec<VirtualServer> = Vec::with_capacity(servers.len());
    for server in servers {
        let Some(group_name) = server.group.clone() else {
            out.push(server);
            continue;
        };
        let Some(group) = groups.iter().find(|g| g.name == group_name.as_str()) else {
            let known: Vec<&str> = groups.iter().map(|g| g.name).collect();
            let suggestion = super::error::suggest(group_name.as_str(), known.iter().copied())
                .map(str::to_string);
            return Err(ConfigError::new(
                origin,
                server.line,
                ConfigErrorKind::UnknownReference {
                    what: "virtual_server_group",
                    suggestion,
                },
            )
            .in_section(format!("virtual_server {}", server.name))
            .at_key("group"));
        };
        let ipv6 = matches!(server.service, Service::Fwmark { ipv6: true, .. });
        for (member, line) in &group.members {
            if let Member::Range { first, .. } = member {
                if first.is_ipv6() != ipv6 {
                    return Err(ConfigError::new(
                        origin,
                        *line,
                        ConfigErrorKind::Conflict(Conflict::GroupMemberFamily {
                            server: server.name.to_string(),
                            ipv6,
                        }),
                    )
                    .in_section(group.title)
                    .at_key("member"));
                }
            }
            for service in member.services(ipv6) {
                let mut copy = server.clone();
                copy.service = service;
                // A fwmark service forwards to each destination's address with
                // the packet's own port: keepalived ignores a real server's port
                // there (with a warning), and so does the expansion. Checks keep
                // the port they resolved.
                if matches!(service, Service::Fwmark { .. }) {
                    for real in &mut copy.real_servers {
                        real.address.set_port(0);
                    }
                }
                out.push(copy);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members() {
        let m = parse_member("192.168.201.1-3 80").unwrap();
        let s = m.services(false);
        assert_eq!(s.len(), 3);
        assert_eq!(s[2], Service::Address("192.168.201.3:80".parse().unwrap()));
        assert_eq!(parse_member("fwmark 7").unwrap(), Member::Fwmark(7));
        let m = parse_member("2001:db8::1-a 443").unwrap();
        assert_eq!(m.services(true).len(), 10);
        assert!(parse_member("10.0.0.5-2 80").is_err());
        assert!(parse_member("10.0.0.5-300 80").is_err());
        assert!(parse_member("10.0.0.5").is_err());
        assert!(parse_member("fwmark 0").is_err());
    }
}

#[cfg(test)]
mod load_tests {
    use crate::config::load_str;
    use crate::config::model::Service;

    const BASE: &str = "[virtual_server_group WEB]\nmember = 10.0.0.1-3 80\nmember = fwmark 7\n\
[virtual_server web]\ngroup = WEB\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n\
[real_server web/10.0.1.1:80]\n[real_server web/10.0.1.2:80]\n[tcp_check web/10.0.1.1:80]\n";

    #[test]
    fn a_group_expands_to_one_service_per_member_with_the_same_real_servers() {
        let cfg = load_str(BASE, "g.ini").unwrap();
        let services: Vec<Service> = cfg.virtual_servers.iter().map(|v| v.service).collect();
        assert_eq!(services.len(), 4);
        assert_eq!(
            services[0],
            Service::Address("10.0.0.1:80".parse().unwrap())
        );
        assert_eq!(
            services[3],
            Service::Fwmark {
                mark: 7,
                ipv6: false
            }
        );
        assert_eq!(cfg.virtual_servers[3].real_servers[0].address.port(), 0);
        assert_eq!(
            cfg.virtual_servers[3].real_servers[0].checkers[0].connect_port,
            80
        );
        assert_eq!(cfg.virtual_servers[0].real_servers[0].address.port(), 80);
        for vs in &cfg.virtual_servers {
            assert_eq!(vs.real_servers.len(), 2);
            assert_eq!(vs.real_servers[0].checkers.len(), 1);
            assert_eq!(vs.group.as_ref().map(|g| g.as_str()), Some("WEB"));
        }
    }

    #[test]
    fn group_errors_name_the_object() {
        let err = load_str(&BASE.replace("group = WEB", "group = WBE"), "g.ini").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("virtual_server web") && text.contains("WEB"),
            "{text}"
        );
        let err = load_str(
            &BASE.replace("group = WEB", "group = WEB\naddress = 10.0.0.9\nport = 80"),
            "g.ini",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("no address, port or fwmark"),
            "{err}"
        );
        let err = load_str(
            &BASE.replace("member = fwmark 7", "member = 2001:db8::1 80"),
            "g.ini",
        )
        .unwrap_err();
        assert!(err.to_string().contains("one family"), "{err}");
        let twice = format!(
            "{BASE}[virtual_server other]\naddress = 10.0.0.2\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n"
        );
        let err = load_str(&twice, "g.ini").unwrap_err();
        assert!(err.to_string().contains("same service"), "{err}");
        let err = load_str(
            &BASE.replace("member = 10.0.0.1-3 80", "member = 10.0.0.1-3"),
            "g.ini",
        )
        .unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }
}
