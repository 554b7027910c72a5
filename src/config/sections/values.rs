//! Value readers more than one section kind shares: forwarding methods,
//! notify commands, VIPs, routes and rules, track lines, section names.

use std::net::{IpAddr, Ipv4Addr};

use super::super::conflict::Conflict;
use super::super::error::{ConfigError, ConfigErrorKind};
use super::super::ini::{Entry, Section};
use super::super::model::*;
use super::super::parse::*;
use super::super::ranges;

/// A forwarding method in keepalived's syntax: `NAT`, `DR`, `TUN [type
/// ipip|gre|gue] [port N]` (check_parser.c `svr_forwarding_handler`); the
/// tunnel is `None` unless `type` or `port` is given.
pub(crate) fn read_forward(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<(ForwardMethod, Option<TunnelType>), ConfigError> {
    let form =
        "must be NAT, DR or TUN (TUN may add `type ipip|gre|gue` and `port N`; gue needs the port)";
    let text = reader.text(entry)?;
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((kind, rest)) = words.split_first() else {
        return Err(reader.bad(entry, form));
    };
    let method = match kind.to_ascii_uppercase().as_str() {
        "NAT" => ForwardMethod::Masq,
        "DR" => ForwardMethod::Route,
        "TUN" => ForwardMethod::Tunnel(TunnelType::Ipip),
        _ => return Err(reader.bad(entry, form)),
    };
    if rest.is_empty() {
        return Ok((method, None));
    }
    if method != ForwardMethod::Tunnel(TunnelType::Ipip) || rest.len() % 2 != 0 {
        return Err(reader.bad(entry, form));
    }
    let (mut kind, mut port) = ("ipip", None);
    for pair in rest.chunks(2) {
        match pair[0] {
            "type" => kind = pair[1],
            "port" => {
                port = Some(
                    pair[1]
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| reader.bad(entry, form))?,
                )
            }
            _ => return Err(reader.bad(entry, form)),
        }
    }
    let tunnel = match (kind, port) {
        ("ipip", None) => TunnelType::Ipip,
        ("gre", None) => TunnelType::Gre,
        ("gue", Some(port)) => TunnelType::Gue { port },
        _ => return Err(reader.bad(entry, form)),
    };
    Ok((ForwardMethod::Tunnel(tunnel), Some(tunnel)))
}

/// `tun_type = ipip | gre | gue port N` (lvsd's key; keepalived writes the
/// same words after `lb_kind TUN type`).
pub(crate) fn read_tun_type(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<TunnelType, ConfigError> {
    let text = reader.text(entry)?;
    let words: Vec<&str> = text.split_whitespace().collect();
    Ok(match words.as_slice() {
        ["ipip"] => TunnelType::Ipip,
        ["gre"] => TunnelType::Gre,
        ["gue", "port", p] => TunnelType::Gue {
            port: p
                .parse::<u16>()
                .ok()
                .filter(|p| ranges::PORT.contains(p))
                .ok_or_else(|| {
                    reader.bad(
                        entry,
                        ranges::around("gue port must be ", &ranges::PORT, ""),
                    )
                })?,
        },
        _ => return Err(reader.bad(entry, "must be ipip, gre or `gue port N`")),
    })
}

/// `lb_kind` (with its inline tunnel, if any) and `tun_type` into one method;
/// `kind` None with a tunnel is refused as `tun_type` without TUN.
pub(crate) type ForwardEntry<'e, 'a> = ((ForwardMethod, Option<TunnelType>), &'e Entry<'a>);

pub(crate) fn forward_with_tunnel(
    reader: &Reader<'_, '_>,
    kind: Option<ForwardEntry<'_, '_>>,
    tunnel: Option<(TunnelType, &Entry<'_>)>,
) -> Result<ForwardMethod, ConfigError> {
    match (kind, tunnel) {
        (Some(((ForwardMethod::Tunnel(_), Some(_)), _)), Some((_, entry))) => {
            Err(reader.error(entry, ConfigErrorKind::Conflict(Conflict::TunnelTwice)))
        }
        (Some(((ForwardMethod::Tunnel(_), inline), _)), tunnel) => Ok(ForwardMethod::Tunnel(
            inline
                .or(tunnel.map(|(t, _)| t))
                .unwrap_or(TunnelType::Ipip),
        )),
        (_, Some((_, entry))) => Err(reader.error(
            entry,
            ConfigErrorKind::Conflict(Conflict::TunTypeWithoutTun),
        )),
        (Some(((method, _), _)), None) => Ok(method),
        (None, None) => Ok(ForwardMethod::Masq),
    }
}

/// One `track_process = NAME [weight N [reverse|noreverse]]` line before
/// the name is resolved: the weight and direction default to the
/// definition's.
pub(crate) struct RawTrackProcess {
    pub name: Name,
    pub weight: Option<i32>,
    pub reverse: Option<bool>,
    pub line: usize,
}

pub(crate) fn notify_key(
    reader: &Reader<'_, '_>,
    notify: &mut Notify,
    key: &str,
    entry: &Entry<'_>,
) -> Result<bool, ConfigError> {
    let slot = match key {
        "notify_master" => &mut notify.master,
        "notify_backup" => &mut notify.backup,
        "notify_fault" => &mut notify.fault,
        "notify_stop" => &mut notify.stop,
        "notify" => &mut notify.generic,
        _ => return Ok(false),
    };
    *slot = Some(reader.command(entry)?);
    Ok(true)
}

/// Reject a name on `[global]`, require one elsewhere.
pub(crate) fn section_name<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
) -> Result<&'a str, ConfigError> {
    section.name.filter(|n| !n.is_empty()).ok_or_else(|| {
        ConfigError::new(
            origin,
            section.line,
            ConfigErrorKind::BadSectionName("this section needs a name: [kind NAME]"),
        )
        .in_section(section.kind)
    })
}

pub(crate) fn simple_name(origin: &str, section: &Section<'_, '_>) -> Result<Name, ConfigError> {
    let text = section_name(origin, section)?;
    to_name(text).ok_or_else(|| {
        ConfigError::new(
            origin,
            section.line,
            ConfigErrorKind::BadSectionName(
                "name must be one word of letters, digits, `_.-:@`, at most MAX_NAME_LEN bytes",
            ),
        )
        .in_section(section.title())
    })
}

pub(crate) fn push_capped<T, const N: usize>(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    list: &mut heapless::Vec<T, N>,
    item: T,
    limit: &'static str,
) -> Result<(), ConfigError> {
    list.push(item)
        .map_err(|_| reader.error(entry, ConfigErrorKind::OverCapacity { limit, max: N }))
}

/// Appends `item` unless `list` already holds `max`.
pub(crate) fn push_limited<T>(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    list: &mut Vec<T>,
    item: T,
    limit: &'static str,
    max: usize,
) -> Result<(), ConfigError> {
    if list.len() >= max {
        return Err(reader.error(entry, ConfigErrorKind::OverCapacity { limit, max }));
    }
    list.push(item);
    Ok(())
}

/// A `virtual_routes` / `static_routes` line, in keepalived's syntax.
pub(crate) fn read_route(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Route, ConfigError> {
    crate::config::route::parse_route(reader.text(entry)?, entry.line).map_err(|e| {
        reader.bad(
            entry,
            format!("{e} (keepalived's `ip route` syntax: see docs/config.md)"),
        )
    })
}

/// A `virtual_rules` / `static_rules` line, in keepalived's syntax. The
/// preference must be given: keepalived picks one counting down from 16384
/// and warns that it is probably not what you want.
pub(crate) fn read_rule(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Rule, ConfigError> {
    let rule = crate::config::route::parse_rule(reader.text(entry)?, entry.line).map_err(|e| {
        reader.bad(
            entry,
            format!("{e} (keepalived's `ip rule` syntax: see docs/config.md)"),
        )
    })?;
    if rule.preference.is_none() {
        return Err(reader.bad(
            entry,
            "a rule needs `preference N`: keepalived would pick 16384 counting down, which \
             depends on the order of the file (`lvsd import-keepalived` writes the number it picks)",
        ));
    }
    Ok(rule)
}

/// keepalived's scope names (`/etc/iproute2/rt_scopes`) or a number.
pub(crate) fn read_scope(text: &str) -> Option<u8> {
    Some(match text {
        "global" | "universe" => 0,
        "site" => 200,
        "link" => 253,
        "host" => 254,
        "nowhere" => 255,
        n => n.parse().ok()?,
    })
}

pub(crate) fn read_vip(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    text: &str,
    interface: &Name,
) -> Result<VirtualIp, ConfigError> {
    let form = "must be `ADDRESS[/PREFIX] [dev IFACE] [brd ADDRESS|+|-] [scope SCOPE] \
                [label NAME] [no_track] [preferred_lft SECONDS|forever]`";
    let mut words = text.split_whitespace();
    let (ip, prefix_len) = vip_address(reader, entry, words.next().unwrap_or(""), form)?;
    let v4_only = |option: &str| {
        // keepalived ignores these on IPv6 with a configuration error.
        reader.bad(entry, format!("`{option}` applies to IPv4 addresses only"))
    };
    let mut dev = None;
    let mut label = None;
    let mut broadcast = None;
    let mut scope = None;
    let mut no_track = false;
    let mut preferred_lft = None;
    while let Some(word) = words.next() {
        if word == "no_track" && !no_track {
            no_track = true;
            continue;
        }
        match (word, words.next()) {
            ("dev", Some(d)) if dev.is_none() => dev = Some(reader.interface(entry, d)?),
            ("label", Some(l)) if label.is_none() => {
                if ip.is_ipv6() {
                    return Err(v4_only("label"));
                }
                label = Some(vip_label(reader, entry, l, form)?)
            }
            ("brd" | "broadcast", Some(b)) if broadcast.is_none() => {
                let IpAddr::V4(v4) = ip else {
                    return Err(v4_only("brd"));
                };
                broadcast = Some(vip_broadcast(reader, entry, v4, prefix_len, b)?);
            }
            ("scope", Some(sc)) if scope.is_none() => {
                if ip.is_ipv6() {
                    return Err(v4_only("scope"));
                }
                scope = Some(vip_scope(reader, entry, sc)?);
            }
            ("preferred_lft", Some(p)) if preferred_lft.is_none() => {
                if !ip.is_ipv6() {
                    // keepalived accepts it on IPv4 and never applies it.
                    return Err(reader.bad(entry, "`preferred_lft` applies to IPv6 addresses only"));
                }
                preferred_lft = Some(vip_preferred_lft(reader, entry, p)?);
            }
            _ => return Err(reader.bad(entry, form)),
        }
    }
    let dev = dev.unwrap_or_else(|| interface.clone());
    // keepalived's default for IPv6 (alloc_ipaddress): a /128 is deprecated
    // (preferred_lft 0) so it is never picked as a source address; a shorter
    // prefix stays preferred forever.
    let preferred_lft = match preferred_lft {
        Some(p) => p,
        None if ip.is_ipv6() && prefix_len == 128 => Some(0),
        None => None,
    };
    Ok(VirtualIp {
        address: ip,
        prefix_len,
        dev,
        label,
        broadcast,
        scope: scope.unwrap_or(0),
        no_track,
        preferred_lft,
        line: entry.line,
    })
}

/// A VIP's `label NAME`: the kernel's ifa_label is IFNAMSIZ bytes with the NUL.
fn vip_label(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    label: &str,
    form: &str,
) -> Result<Name, ConfigError> {
    if label.len() > 15 {
        return Err(reader.bad(entry, "label must be at most 15 bytes"));
    }
    to_name(label).ok_or_else(|| reader.bad(entry, form))
}

/// A VIP's `scope SCOPE`.
fn vip_scope(reader: &Reader<'_, '_>, entry: &Entry<'_>, scope: &str) -> Result<u8, ConfigError> {
    read_scope(scope).ok_or_else(|| {
        reader.bad(
            entry,
            "scope must be global, site, link, host, nowhere or 0..=255",
        )
    })
}

/// A VIP's `ADDRESS[/PREFIX]`: a unicast address, the prefix in range.
pub(crate) fn vip_address(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    address: &str,
    form: &str,
) -> Result<(IpAddr, u8), ConfigError> {
    let (ip_text, prefix) = match address.split_once('/') {
        Some((ip, prefix)) => (ip, Some(prefix)),
        None => (address, None),
    };
    let ip: IpAddr = ip_text.parse().map_err(|_| reader.bad(entry, form))?;
    let range = if ip.is_ipv6() {
        ranges::PREFIX_V6
    } else {
        ranges::PREFIX_V4
    };
    let prefix_len = match prefix {
        None => *range.end(),
        Some(p) => match p.parse::<u8>() {
            Ok(n) if range.contains(&n) => n,
            _ => return Err(reader.bad(entry, ranges::around("prefix must be ", &range, ""))),
        },
    };
    if ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() {
        return Err(reader.bad(
            entry,
            "must be a unicast address (not unspecified, multicast or loopback)",
        ));
    }
    Ok((ip, prefix_len))
}

/// A VIP's `brd ADDRESS|+|-`.
pub(crate) fn vip_broadcast(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    v4: Ipv4Addr,
    prefix_len: u8,
    b: &str,
) -> Result<Ipv4Addr, ConfigError> {
    // `+` / `-`: all host bits set / cleared, for prefixes up to /30.
    let mask = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
    let bits = u32::from(v4);
    Ok(match b {
        "+" | "-" if prefix_len > 30 => {
            return Err(reader.bad(
                entry,
                format!("brd {b} needs a prefix of at most /30 (this one is /{prefix_len})"),
            ))
        }
        "+" => Ipv4Addr::from(bits | mask),
        "-" => Ipv4Addr::from(bits & !mask),
        a => a
            .parse::<Ipv4Addr>()
            .map_err(|_| reader.bad(entry, "brd must be an IPv4 address, `+` or `-`"))?,
    })
}

/// A VIP's `preferred_lft SECONDS|forever` (None = forever).
pub(crate) fn vip_preferred_lft(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    p: &str,
) -> Result<Option<u32>, ConfigError> {
    Ok(match p {
        "forever" => None,
        n => {
            Some(n.parse::<u32>().map_err(|_| {
                reader.bad(entry, "preferred_lft must be 0..=4294967295 or forever")
            })?)
        }
    })
}

/// One `track_file = PATH [weight N [reverse|noreverse]] [init_file [VALUE] [overwrite]]`
/// line (weight 1 by default, keepalived's).
pub(crate) fn read_track_file(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<TrackFile, ConfigError> {
    const FORM: &str =
        "must be `PATH [weight N [reverse|noreverse]] [init_file [VALUE] [overwrite]]`";
    let text = reader.text(entry)?;
    let mut words = text.split_whitespace().peekable();
    let path = words.next().unwrap_or("");
    let mut weight = 1;
    let mut reverse = false;
    let mut init = None;
    if words.peek() == Some(&"weight") {
        words.next();
        weight = match words.next().map(str::parse::<i32>) {
            Some(Ok(w)) if ranges::TRACK_WEIGHT.contains(&w) => w,
            _ => {
                return Err(reader.bad(
                    entry,
                    ranges::around("weight must be ", &ranges::TRACK_WEIGHT, ""),
                ))
            }
        };
        if let Some(&direction @ ("reverse" | "noreverse")) = words.peek() {
            reverse = direction == "reverse";
            words.next();
        }
    }
    if words.peek() == Some(&"init_file") {
        words.next();
        let mut value = 0;
        let mut overwrite = false;
        for word in words.by_ref() {
            match word {
                "overwrite" if !overwrite => overwrite = true,
                n => match n.parse::<i32>() {
                    Ok(v) if ranges::TRACK_WEIGHT.contains(&v) => value = v,
                    _ => {
                        return Err(reader.bad(
                            entry,
                            ranges::around(
                                "init_file: VALUE must be ",
                                &ranges::TRACK_WEIGHT,
                                ", then optionally `overwrite`",
                            ),
                        ))
                    }
                },
            }
        }
        init = Some(TrackFileInit { value, overwrite });
    }
    if path.is_empty() || words.next().is_some() {
        return Err(reader.bad(entry, FORM));
    }
    let mut text = PathText::new();
    text.push_str(path)
        .map_err(|_| reader.bad(entry, "path longer than limits::MAX_PATH_LEN"))?;
    Ok(TrackFile {
        path: text,
        weight,
        reverse,
        init,
    })
}

/// One `track_process = NAME [weight N [reverse|noreverse]]` line.
pub(crate) fn read_track_process(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    already: usize,
) -> Result<RawTrackProcess, ConfigError> {
    const FORM: &str = "must be `NAME [weight N [reverse|noreverse]]`";
    if already >= crate::limits::MAX_TRACKS_PER_INSTANCE {
        return Err(reader.error(
            entry,
            ConfigErrorKind::OverCapacity {
                limit: "MAX_TRACKS_PER_INSTANCE",
                max: crate::limits::MAX_TRACKS_PER_INSTANCE,
            },
        ));
    }
    let text = reader.text(entry)?;
    let mut words = text.split_whitespace();
    let name = words
        .next()
        .and_then(to_name)
        .ok_or_else(|| reader.bad(entry, FORM))?;
    let (weight, reverse) = match (words.next(), words.next(), words.next(), words.next()) {
        (None, ..) => (None, None),
        (Some("weight"), Some(n), direction, None) => {
            let w = match n.parse::<i32>() {
                Ok(w) if ranges::TRACK_WEIGHT.contains(&w) => w,
                _ => {
                    return Err(reader.bad(
                        entry,
                        ranges::around("weight must be ", &ranges::TRACK_WEIGHT, ""),
                    ))
                }
            };
            let reverse = match direction {
                None => None,
                Some("reverse") => Some(true),
                Some("noreverse") => Some(false),
                Some(_) => return Err(reader.bad(entry, FORM)),
            };
            (Some(w), reverse)
        }
        _ => return Err(reader.bad(entry, FORM)),
    };
    Ok(RawTrackProcess {
        name,
        weight,
        reverse,
        line: entry.line,
    })
}

pub(crate) fn target<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
) -> Result<(&'a str, IpAddr, Option<u16>), ConfigError> {
    let name = section_name(origin, section)?;
    split_target(name).ok_or_else(|| {
        ConfigError::new(
            origin,
            section.line,
            ConfigErrorKind::BadSectionName(
                "name must be VIRTUAL_SERVER/ADDRESS:PORT (e.g. web/10.0.0.2:80, web/[2001:db8::2]:80)",
            ),
        )
        .in_section(section.title())
    })
}
