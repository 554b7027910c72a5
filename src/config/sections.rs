//! One reader per section kind: keys -> typed values, references kept by name.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;

use crate::limits::{MAX_ADVERT_VIPS, MAX_VIPS_PER_INSTANCE};
use std::time::Duration;

use super::error::{ConfigError, ConfigErrorKind, ConfigWarning};
use super::ini::{Entry, Section, Title};
use super::model::*;
use super::parse::*;

/// `[global]` before references are resolved.
pub(crate) struct RawGlobal<'a> {
    pub global: Global,
    /// `lvs_sync_daemon = IFACE [INSTANCE] [id N] ...`, with its line.
    pub sync_daemon: Option<RawSyncDaemon>,
    pub title: Title<'a>,
}

/// `lvs_sync_daemon` before its instance is resolved.
pub(crate) struct RawSyncDaemon {
    pub interface: Name,
    pub instance: Option<Name>,
    pub sync_id: Option<u8>,
    pub max_len: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
    pub line: usize,
}

/// keepalived's `lvs_sync_daemon IFACE [[inst] INSTANCE] [id N] [maxlen N]
/// [port N] [ttl N] [group ADDR]` (global_parser.c `lvs_syncd_handler`):
/// options in any order; an unnamed word right after the interface is the
/// instance, an unnamed number after that the sync id (the old form).
fn read_sync_daemon(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<RawSyncDaemon, ConfigError> {
    let text = reader.text(entry)?;
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((iface, rest)) = words.split_first() else {
        return Err(reader.bad(entry, "needs an interface: `IFACE [INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`"));
    };
    let mut d = RawSyncDaemon {
        interface: reader.interface(entry, iface)?,
        instance: None,
        sync_id: None,
        max_len: None,
        port: None,
        ttl: None,
        group: None,
        line: entry.line,
    };
    let mut i = 0;
    while i < rest.len() {
        let word = rest[i];
        let value = rest.get(i + 1).copied();
        let need = |what: &str| {
            value.ok_or_else(|| reader.bad(entry, format!("`{word}` needs a value ({what})")))
        };
        let number = |what: &str, range: RangeInclusive<u32>| -> Result<u32, ConfigError> {
            let v = need(what)?;
            v.parse::<u32>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| reader.bad(entry, format!("{word} {v}: must be {what}")))
        };
        match word {
            "inst" => {
                let v = need("a vrrp_instance name")?;
                d.instance = Some(
                    to_name(v).ok_or_else(|| reader.bad(entry, format!("inst {v}: not a name")))?,
                );
            }
            "id" => d.sync_id = Some(number("0..=255", 0..=255)? as u8),
            // 65535 less the IP and UDP headers, keepalived's bound.
            "maxlen" => d.max_len = Some(number("1..=65507", 1..=65507)? as u16),
            "port" => d.port = Some(number("1..=65535", 1..=65535)? as u16),
            "ttl" => d.ttl = Some(number("1..=255", 1..=255)? as u8),
            "group" => {
                let v = need("a multicast address")?;
                let addr: IpAddr = v
                    .parse()
                    .map_err(|_| reader.bad(entry, format!("group {v}: not an address")))?;
                if !addr.is_multicast() {
                    return Err(reader.bad(entry, format!("group {v}: not a multicast address")));
                }
                d.group = Some(addr);
            }
            _ if i == 0 => {
                d.instance = Some(
                    to_name(word)
                        .ok_or_else(|| reader.bad(entry, format!("{word}: not an instance name")))?,
                );
                i += 1;
                continue;
            }
            _ if i == 1 && d.sync_id.is_none() && word.parse::<u8>().is_ok() => {
                d.sync_id = word.parse::<u8>().ok();
                i += 1;
                continue;
            }
            _ => {
                return Err(reader.bad(
                    entry,
                    format!("unknown option `{word}`: the options are inst, id, maxlen, port, ttl and group"),
                ))
            }
        }
        i += 2;
    }
    Ok(d)
}

/// `lvs_timeouts = [tcp N] [tcpfin N] [udp N]` (at least one), 0..=31 days each.
fn read_lvs_timeouts(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Timeouts, ConfigError> {
    let form =
        "must be `[tcp SECONDS] [tcpfin SECONDS] [udp SECONDS]`, at least one, each 0..=2678400";
    let text = reader.text(entry)?;
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || words.len() % 2 != 0 {
        return Err(reader.bad(entry, form));
    }
    let mut t = Timeouts::default();
    for pair in words.chunks(2) {
        let v = pair[1]
            .parse::<u32>()
            .ok()
            .filter(|v| *v <= LVS_MAX_TIMEOUT)
            .ok_or_else(|| reader.bad(entry, format!("{} {}: {form}", pair[0], pair[1])))?;
        match pair[0] {
            "tcp" => t.tcp = v,
            "tcpfin" => t.tcp_fin = v,
            "udp" => t.udp = v,
            other => return Err(reader.bad(entry, format!("unknown timeout `{other}`: {form}"))),
        }
    }
    Ok(t)
}

/// keepalived's LVS_MAX_TIMEOUT: 31 days.
const LVS_MAX_TIMEOUT: u32 = 86_400 * 31;

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
fn read_tun_type(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<TunnelType, ConfigError> {
    let text = reader.text(entry)?;
    let words: Vec<&str> = text.split_whitespace().collect();
    Ok(match words.as_slice() {
        ["ipip"] => TunnelType::Ipip,
        ["gre"] => TunnelType::Gre,
        ["gue", "port", p] => TunnelType::Gue {
            port: p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| reader.bad(entry, "gue port must be 1..=65535"))?,
        },
        _ => return Err(reader.bad(entry, "must be ipip, gre or `gue port N`")),
    })
}

/// `lb_kind` (with its inline tunnel, if any) and `tun_type` into one method;
/// `kind` None with a tunnel is refused as `tun_type` without TUN.
type ForwardEntry<'e, 'a> = ((ForwardMethod, Option<TunnelType>), &'e Entry<'a>);
fn forward_with_tunnel(
    reader: &Reader<'_, '_>,
    kind: Option<ForwardEntry<'_, '_>>,
    tunnel: Option<(TunnelType, &Entry<'_>)>,
) -> Result<ForwardMethod, ConfigError> {
    match (kind, tunnel) {
        (Some(((ForwardMethod::Tunnel(_), Some(_)), _)), Some((_, entry))) => Err(reader.error(
            entry,
            ConfigErrorKind::Conflict(
                "the tunnel is given twice: in lb_kind and in tun_type".into(),
            ),
        )),
        (Some(((ForwardMethod::Tunnel(_), inline), _)), tunnel) => Ok(ForwardMethod::Tunnel(
            inline
                .or(tunnel.map(|(t, _)| t))
                .unwrap_or(TunnelType::Ipip),
        )),
        (_, Some((_, entry))) => Err(reader.error(
            entry,
            ConfigErrorKind::Conflict("tun_type needs lb_kind = TUN".into()),
        )),
        (Some(((method, _), _)), None) => Ok(method),
        (None, None) => Ok(ForwardMethod::Masq),
    }
}

/// `[vrrp_instance]` before references are resolved.
pub(crate) struct RawInstance<'a> {
    pub instance: VrrpInstance,
    pub title: Title<'a>,
    /// `track_script` names, weights and lines.
    pub track_scripts: Vec<(Name, Option<i32>, usize)>,
    /// `track_process` lines, resolved by name later.
    pub track_processes: Vec<RawTrackProcess>,
    pub garp_master_delay: Option<Duration>,
    pub garp_master_repeat: Option<u32>,
    pub garp_master_refresh: Option<Option<Duration>>,
    pub garp_master_refresh_repeat: Option<u32>,
    /// `strict_mode` when written (else the global `vrrp_strict` decides).
    pub strict_mode: Option<bool>,
    /// What strict mode forbids and this section has: (key, line, why).
    pub strict_conflicts: Vec<(&'static str, usize, &'static str)>,
    pub vrid_line: usize,
    pub sync_daemon_line: usize,
    /// Line of `use_vmac` (0 when absent).
    pub vmac_line: usize,
    /// Warnings raised while reading the section.
    pub warnings: Vec<ConfigWarning>,
}

/// `[vrrp_sync_group]` before references are resolved.
pub(crate) struct RawSyncGroup<'a> {
    pub group: SyncGroup,
    pub title: Title<'a>,
    pub member_lines: Vec<usize>,
    /// Line of each `track_file`.
    pub track_file_lines: Vec<usize>,
    /// `track_process` lines, resolved by name later.
    pub track_processes: Vec<RawTrackProcess>,
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

/// `[virtual_server]` before its real servers are attached.
pub(crate) struct RawVirtualServer<'a> {
    pub server: VirtualServer,
    pub title: Title<'a>,
    pub timing: TimingOptions,
}

/// `[real_server]` before it is attached to its virtual server.
pub(crate) struct RawRealServer<'a> {
    pub virtual_server: &'a str,
    pub ip: IpAddr,
    pub port: Option<u16>,
    pub title: Title<'a>,
    pub line: usize,
    pub weight: u32,
    /// `lb_kind` (`lvs_method`) + `tun_type`: None = the virtual server's.
    pub forward: Option<ForwardMethod>,
    pub inhibit_on_failure: Option<bool>,
    pub uthreshold: u32,
    pub lthreshold: u32,
    pub notify_up: Option<Box<PathText>>,
    pub notify_down: Option<Box<PathText>>,
    pub timing: TimingOptions,
}

/// A checker section before it is attached to its real server.
pub(crate) struct RawChecker<'a> {
    pub virtual_server: &'a str,
    pub ip: IpAddr,
    pub port: Option<u16>,
    pub title: Title<'a>,
    pub line: usize,
    pub kind: CheckKind,
    pub timing: TimingOptions,
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    /// SMTP_CHECK `host` lines: each is one more checker.
    pub hosts: Vec<SmtpHost>,
}

/// One SMTP_CHECK `host` line (keepalived's deprecated `host { }` block):
/// its own connection, the checker's other settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SmtpHost {
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub connect_timeout: Option<Duration>,
    pub line: usize,
}

/// `host = [connect_ip IP] [connect_port N] [bindto IP] [connect_timeout S]`.
fn read_smtp_host(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<SmtpHost, ConfigError> {
    let form =
        "must be `[connect_ip IP] [connect_port 1..=65535] [bindto IP] [connect_timeout SECONDS]`";
    let mut host = SmtpHost {
        connect_ip: None,
        connect_port: None,
        bindto: None,
        connect_timeout: None,
        line: entry.line,
    };
    let text = entry.value.unwrap_or("");
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() % 2 != 0 {
        return Err(reader.bad(entry, form));
    }
    for pair in words.chunks(2) {
        let bad = || reader.bad(entry, format!("{} {}: {form}", pair[0], pair[1]));
        match pair[0] {
            "connect_ip" => host.connect_ip = Some(pair[1].parse().map_err(|_| bad())?),
            "bindto" => host.bindto = Some(pair[1].parse().map_err(|_| bad())?),
            "connect_port" => {
                host.connect_port = Some(
                    pair[1]
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(bad)?,
                )
            }
            "connect_timeout" => {
                let secs: f64 = pair[1].parse().map_err(|_| bad())?;
                if !(0.001..=3600.0).contains(&secs) {
                    return Err(bad());
                }
                host.connect_timeout = Some(Duration::from_secs_f64(secs));
            }
            _ => return Err(bad()),
        }
    }
    if let (Some(ip), Some(b)) = (host.connect_ip, host.bindto) {
        if ip.is_ipv6() != b.is_ipv6() {
            return Err(reader.bad(entry, "connect_ip and bindto differ in address family"));
        }
    }
    Ok(host)
}

fn notify_key(
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

fn simple_name(origin: &str, section: &Section<'_, '_>) -> Result<Name, ConfigError> {
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

/// `[global]`.
/// keepalived takes any 32-bit number of seconds for the GARP refresh interval.
const GARP_REFRESH_MAX: Duration = Duration::from_secs(u32::MAX as u64);

pub(crate) fn read_global<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
) -> Result<RawGlobal<'a>, ConfigError> {
    if section.name.is_some() {
        return Err(ConfigError::new(
            origin,
            section.line,
            ConfigErrorKind::BadSectionName("[global] takes no name"),
        )
        .in_section(section.title()));
    }
    let reader = Reader::new(origin, section, GLOBAL_KEYS)?;
    let mut global = default_global();
    global.line = section.line;
    let mut sync_daemon = None;
    let hour = Duration::from_secs(3600);
    for (key, entry) in reader.entries() {
        if log_key(&reader, &mut global, key, entry)?
            || static_key(&reader, &mut global, key, entry)?
        {
            continue;
        }
        match key {
            "router_id" => global.router_id = Some(reader.name(entry)?),
            "script_user" => global.script_user = Some(reader.name(entry)?),
            "enable_script_security" => global.enable_script_security = reader.flag(entry)?,
            "vrrp_strict" => global.vrrp_strict = reader.flag(entry)?,
            "notify_fifo" => global.notify_fifo = Some(reader.path(entry)?),
            "notify_timeout" => {
                global.notify_timeout = reader.duration(entry, Duration::from_secs(1)..=hour)?
            }
            "vrrp_garp_master_delay" => {
                global.vrrp_garp_master_delay = reader.duration(entry, Duration::ZERO..=hour)?
            }
            "vrrp_garp_master_repeat" => {
                global.vrrp_garp_master_repeat = reader.int(entry, 1..=100u32)?
            }
            "vrrp_garp_master_refresh" => {
                let d = reader.duration(entry, Duration::ZERO..=GARP_REFRESH_MAX)?;
                global.vrrp_garp_master_refresh = (!d.is_zero()).then_some(d);
            }
            "vrrp_garp_master_refresh_repeat" => {
                global.vrrp_garp_master_refresh_repeat = reader.int(entry, 1..=100u32)?
            }
            "reconcile_interval" => {
                global.reconcile_interval =
                    reader.duration(entry, Duration::from_millis(100)..=hour)?
            }
            "control_socket" => global.control_socket = reader.path(entry)?,
            "announce_device" => {
                let text = reader.text(entry)?;
                global.announce_device = reader.interface(entry, text)?;
            }
            "announce_maintenance" => global.announce_maintenance = reader.flag(entry)?,
            "metrics_listen" => global.metrics_listen = Some(metrics_listen_of(&reader, entry)?),
            "control_socket_mode" => {
                global.control_socket_mode = socket_mode(reader.text(entry)?).ok_or_else(|| {
                    reader.bad(
                        entry,
                        "must be an octal mode with read/write bits only and 0600 set: 0600, 0660 or 0666",
                    )
                })?
            }
            "control_socket_group" => global.control_socket_group = Some(reader.name(entry)?),
            "script_capabilities" => {
                global.script_capabilities = script_capabilities_of(&reader, entry)?
            }
            "lvs_sync_daemon" => sync_daemon = Some(read_sync_daemon(&reader, entry)?),
            "lvs_timeouts" => global.lvs_timeouts = Some(read_lvs_timeouts(&reader, entry)?),
            "lvs_flush" => global.lvs_flush = reader.flag(entry)?,
            "lvs_flush_on_stop" => {
                // A bare key is keepalived's bare `lvs_flush_on_stop`: full.
                global.lvs_flush_on_stop = match entry.value.unwrap_or("full") {
                    "no" | "off" => FlushOnStop::No,
                    "yes" | "full" | "" => FlushOnStop::Full,
                    "VS" | "vs" => FlushOnStop::VirtualServers,
                    _ => return Err(reader.bad(entry, "must be no, full or VS")),
                }
            }
            _ => {}
        }
    }
    Ok(RawGlobal {
        global,
        sync_daemon,
        title: reader.title,
    })
}

/// `metrics_listen = ADDR:PORT`.
fn metrics_listen_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<SocketAddr, ConfigError> {
    let text = reader.text(entry)?;
    let addr: SocketAddr = text
        .trim()
        .parse()
        .map_err(|_| reader.bad(entry, "must be ADDR:PORT (IPv6 as [ADDR]:PORT)"))?;
    if addr.port() == 0 {
        return Err(reader.bad(entry, "port 0 is not a port to scrape"));
    }
    Ok(addr)
}

/// `log_target`, `log_facility`, `log_format`: true when `key` was one of them.
fn log_key(
    reader: &Reader<'_, '_>,
    global: &mut Global,
    key: &str,
    entry: &Entry<'_>,
) -> Result<bool, ConfigError> {
    match key {
        "log_target" => {
            global.log_target = match reader.text(entry)? {
                "stderr" => LogTarget::Stderr,
                "syslog" => LogTarget::Syslog,
                _ => return Err(reader.bad(entry, "must be stderr or syslog")),
            }
        }
        "log_facility" => {
            global.log_facility = syslog_facility(reader.text(entry)?).ok_or_else(|| {
                reader.bad(entry, "must be daemon, user, syslog or local0..local7")
            })?
        }
        "log_format" => {
            global.log_format = match reader.text(entry)? {
                "text" => LogFormat::Text,
                "logfmt" => LogFormat::Logfmt,
                _ => return Err(reader.bad(entry, "must be text or logfmt")),
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `script_capabilities`: capability names, `all` or `none`, as a bit set.
fn script_capabilities_of(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<u64, ConfigError> {
    let text = reader.text(entry)?;
    let mut set = 0u64;
    for word in text.split(|c: char| c == ',' || c.is_whitespace()) {
        if word.is_empty() || word == "none" {
            continue;
        }
        if word == "all" {
            set = u64::MAX;
            continue;
        }
        let n = capability_number(word).ok_or_else(|| {
            reader.bad(
                entry,
                format!("{word:?} is not a capability name (capabilities(7), e.g. sys_admin or cap_dac_override), all or none"),
            )
        })?;
        set |= 1 << n;
    }
    Ok(set)
}

/// `static_ipaddress`, `static_routes`, `static_rules`: true when `key` was one of them.
fn static_key(
    reader: &Reader<'_, '_>,
    global: &mut Global,
    key: &str,
    entry: &Entry<'_>,
) -> Result<bool, ConfigError> {
    match key {
        "static_ipaddress" => {
            let text = reader.text(entry)?;
            if !text.split_whitespace().any(|w| w == "dev") {
                return Err(reader.bad(entry, "a static address needs `dev IFACE` (there is no instance interface to default to)"));
            }
            let address = read_vip(reader, entry, text, &Name::new())?;
            let max = crate::limits::MAX_STATIC_ENTRIES;
            push_limited(
                reader,
                entry,
                &mut global.static_ipaddress,
                address,
                "MAX_STATIC_ENTRIES",
                max,
            )?;
        }
        "static_routes" => {
            let route = read_route(reader, entry)?;
            let max = crate::limits::MAX_STATIC_ENTRIES;
            push_limited(
                reader,
                entry,
                &mut global.static_routes,
                route,
                "MAX_STATIC_ENTRIES",
                max,
            )?;
        }
        "static_rules" => {
            let rule = read_rule(reader, entry)?;
            let max = crate::limits::MAX_STATIC_ENTRIES;
            push_limited(
                reader,
                entry,
                &mut global.static_rules,
                rule,
                "MAX_STATIC_ENTRIES",
                max,
            )?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// A syslog facility name to its code (RFC 5424 section 6.2.1).
fn syslog_facility(text: &str) -> Option<u8> {
    match text {
        "user" => Some(1),
        "daemon" => Some(3),
        "syslog" => Some(5),
        _ => {
            let n: u8 = text.strip_prefix("local")?.parse().ok()?;
            (n <= 7 && text.len() == 6).then_some(16 + n)
        }
    }
}

/// An octal socket mode: only read/write bits (execute means nothing on a
/// socket), and the owner's read/write always there.
fn socket_mode(text: &str) -> Option<u32> {
    let digits = text.strip_prefix('0').unwrap_or(text);
    if digits.is_empty() || digits.len() > 3 {
        return None;
    }
    let mode = u32::from_str_radix(digits, 8).ok()?;
    (mode & !0o666 == 0 && mode & 0o600 == 0o600).then_some(mode)
}

/// The `[global]` values when the section is absent.
pub(crate) fn default_global() -> Global {
    let mut control_socket = PathText::new();
    let _ = control_socket.push_str(crate::paths::DEFAULT_CONTROL_SOCKET);
    Global {
        line: 0,
        router_id: None,
        script_user: None,
        enable_script_security: false,
        vrrp_strict: false,
        notify_fifo: None,
        notify_timeout: Duration::from_secs(30),
        vrrp_garp_master_delay: Duration::from_secs(5),
        vrrp_garp_master_repeat: 5,
        vrrp_garp_master_refresh: Some(Duration::from_secs(60)),
        vrrp_garp_master_refresh_repeat: 1,
        lvs_sync_daemon: None,
        lvs_timeouts: None,
        lvs_flush: false,
        lvs_flush_on_stop: FlushOnStop::No,
        reconcile_interval: Duration::from_secs(5),
        control_socket,
        log_target: LogTarget::Stderr,
        announce_device: name(super::announce::DEFAULT_DEVICE),
        announce_maintenance: false,
        log_facility: 3,
        log_format: LogFormat::Text,
        control_socket_mode: 0o600,
        control_socket_group: None,
        script_capabilities: 0,
        metrics_listen: None,
        static_ipaddress: Vec::new(),
        static_routes: Vec::new(),
        static_rules: Vec::new(),
    }
}

/// `[vrrp_script NAME]`.
pub(crate) fn read_script(
    origin: &str,
    section: &Section<'_, '_>,
) -> Result<VrrpScript, ConfigError> {
    let name = simple_name(origin, section)?;
    let reader = Reader::new(origin, section, SCRIPT_KEYS)?;
    let mut script = None;
    let mut interval = Duration::from_secs(1);
    let mut timeout = None;
    let mut weight = 0;
    let mut rise = 1;
    let mut fall = 1;
    let mut user = None;
    let mut init_fail = false;
    let hour = Duration::from_secs(3600);
    for (key, entry) in reader.entries() {
        match key {
            "script" => script = Some(reader.command(entry)?),
            "init_fail" => init_fail = reader.flag(entry)?,
            "interval" => interval = reader.duration(entry, Duration::from_millis(10)..=hour)?,
            "timeout" => timeout = Some(reader.duration(entry, Duration::from_millis(10)..=hour)?),
            "weight" => weight = reader.int(entry, -254..=254i32)?,
            "rise" => rise = reader.int(entry, 1..=1000u32)?,
            "fall" => fall = reader.int(entry, 1..=1000u32)?,
            "user" => user = Some(reader.name(entry)?),
            _ => {}
        }
    }
    let script = script.ok_or_else(|| reader.missing("script"))?;
    Ok(VrrpScript {
        name,
        line: section.line,
        script,
        interval,
        timeout: timeout.unwrap_or(interval),
        weight,
        rise,
        fall,
        user,
        init_fail,
    })
}

fn push_capped<T, const N: usize>(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    list: &mut heapless::Vec<T, N>,
    item: T,
    limit: &'static str,
) -> Result<(), ConfigError> {
    list.push(item)
        .map_err(|_| reader.error(entry, ConfigErrorKind::OverCapacity { limit, max: N }))
}

/// `[vrrp_instance NAME]`.
pub(crate) fn read_instance<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
) -> Result<RawInstance<'a>, ConfigError> {
    let name = simple_name(origin, section)?;
    let reader = Reader::new(origin, section, INSTANCE_KEYS)?;
    let hour = Duration::from_secs(3600);
    let mut state = VrrpState::Backup;
    let mut interface = None;
    let mut sync_iface = None;
    let mut vrid = None;
    let mut priority = None;
    let mut advert_int = None;
    let mut version = VrrpVersion::V2;
    let mut auth_type: Option<(&str, &Entry<'_>)> = None;
    let mut auth_pass: Option<(&str, &Entry<'_>)> = None;
    let mut vips: Vec<(&str, &Entry<'_>)> = Vec::new();
    let mut nopreempt = None;
    let mut dont_track_primary = false;
    let mut preempt_delay = Duration::ZERO;
    let mut down_timer_adverts = 3;
    let mut mcast_src_ip = None;
    let mut unicast_src_ip = None;
    let mut unicast_peers = heapless::Vec::new();
    let mut track_interfaces = heapless::Vec::new();
    let mut track_scripts = Vec::new();
    let mut track_files = heapless::Vec::new();
    let mut track_processes = Vec::new();
    let mut garp_master_delay = None;
    let mut garp_master_repeat = None;
    let mut garp_master_refresh = None;
    let mut garp_master_refresh_repeat = None;
    let mut strict_mode = None;
    let mut notify = Notify::default();
    let mut native_ipv6 = false;
    let mut virtual_routes = Vec::new();
    let mut virtual_rules = Vec::new();
    let mut use_vmac: Option<(Option<Name>, &Entry<'_>)> = None;
    let mut vmac_xmit_base: Option<&Entry<'_>> = None;
    let mut warnings = Vec::new();
    for (key, entry) in reader.entries() {
        if notify_key(&reader, &mut notify, key, entry)? {
            continue;
        }
        match key {
            "state" => state = state_of(&reader, entry)?,
            "interface" => interface = Some(reader.interface(entry, reader.text(entry)?)?),
            "lvs_sync_daemon_interface" => {
                sync_iface = Some(reader.interface(entry, reader.text(entry)?)?)
            }
            "virtual_router_id" => vrid = Some((reader.int(entry, 1..=255u8)?, entry.line)),
            "priority" => priority = Some(reader.int(entry, 1..=255u8)?),
            "advert_int" => advert_int = Some(entry),
            "version" => version = version_of(&reader, entry)?,
            "auth_type" => auth_type = Some((reader.text(entry)?, entry)),
            "auth_pass" => auth_pass = Some((unquote(reader.text(entry)?), entry)),
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                vips.push((reader.text(entry)?, entry))
            }
            "nopreempt" => nopreempt = Some((reader.flag(entry)?, entry)),
            "dont_track_primary" => dont_track_primary = reader.flag(entry)?,
            "use_vmac" => use_vmac = use_vmac_of(&reader, entry)?,
            "vmac_xmit_base" => {
                vmac_xmit_base = if reader.flag(entry)? {
                    Some(entry)
                } else {
                    None
                }
            }
            "preempt_delay" => {
                preempt_delay =
                    reader.duration(entry, Duration::ZERO..=Duration::from_secs(1000))?
            }
            "down_timer_adverts" => down_timer_adverts = reader.int(entry, 1..=100u8)?,
            "mcast_src_ip" => mcast_src_ip = Some(reader.ip(entry)?),
            "unicast_src_ip" => unicast_src_ip = Some(reader.ip(entry)?),
            "unicast_peer" => push_unicast_peer(&reader, entry, &mut unicast_peers)?,
            "track_interface" => {
                let item = track_interface_of(&reader, entry)?;
                push_capped(
                    &reader,
                    entry,
                    &mut track_interfaces,
                    item,
                    "MAX_TRACKS_PER_INSTANCE",
                )?;
            }
            "track_script" => push_track_script(&reader, entry, &mut track_scripts)?,
            "track_file" => {
                let item = read_track_file(&reader, entry)?;
                push_capped(
                    &reader,
                    entry,
                    &mut track_files,
                    item,
                    "MAX_TRACKS_PER_INSTANCE",
                )?;
            }
            "track_process" => {
                track_processes.push(read_track_process(&reader, entry, track_processes.len())?)
            }
            "garp_master_delay" => {
                garp_master_delay = Some(reader.duration(entry, Duration::ZERO..=hour)?)
            }
            "garp_master_repeat" => garp_master_repeat = Some(reader.int(entry, 1..=100u32)?),
            "garp_master_refresh_repeat" => {
                garp_master_refresh_repeat = Some(reader.int(entry, 1..=100u32)?)
            }
            "garp_master_refresh" => {
                let d = reader.duration(entry, Duration::ZERO..=GARP_REFRESH_MAX)?;
                garp_master_refresh = Some((!d.is_zero()).then_some(d));
            }
            "native_ipv6" => native_ipv6 = reader.flag(entry)?,
            "strict_mode" => strict_mode = Some(reader.flag(entry)?),
            "virtual_routes" => {
                let route = read_route(&reader, entry)?;
                push_limited(
                    &reader,
                    entry,
                    &mut virtual_routes,
                    route,
                    "MAX_ROUTES_PER_INSTANCE",
                    crate::limits::MAX_ROUTES_PER_INSTANCE,
                )?;
            }
            "virtual_rules" => {
                let rule = read_rule(&reader, entry)?;
                push_limited(
                    &reader,
                    entry,
                    &mut virtual_rules,
                    rule,
                    "MAX_RULES_PER_INSTANCE",
                    crate::limits::MAX_RULES_PER_INSTANCE,
                )?;
            }
            _ => {}
        }
    }
    let interface = interface.ok_or_else(|| reader.missing("interface"))?;
    let (virtual_router_id, vrid_line) = vrid.ok_or_else(|| reader.missing("virtual_router_id"))?;
    check_state(&reader, section.line, state, priority, nopreempt)?;
    if native_ipv6 {
        version = VrrpVersion::V3;
    }
    let advert_int = advert_int_of(&reader, advert_int, version)?;
    let authentication = authentication(&reader, auth_type, auth_pass, version, state, priority)?;
    let (mut virtual_ipaddresses, mut virtual_ipaddresses_excluded) =
        vips_of(&reader, vips, &interface)?;
    advert_overflow(
        &reader,
        &mut virtual_ipaddresses,
        &mut virtual_ipaddresses_excluded,
        version,
        authentication.as_ref(),
        &mut warnings,
    );
    if virtual_ipaddresses.is_empty() {
        return Err(reader.missing("virtual_ipaddress"));
    }
    let ipv6 = virtual_ipaddresses
        .first()
        .is_some_and(|v: &VirtualIp| v.address.is_ipv6());
    check_source_families(&reader, section, ipv6, mcast_src_ip, unicast_src_ip)?;
    let strict_conflicts = strict_conflicts_of(
        &reader,
        auth_type.map(|(_, entry)| entry.line),
        preempt_delay,
        down_timer_adverts,
        !unicast_peers.is_empty(),
        state,
        priority,
    );
    let xmit_base = vmac_xmit_base_of(
        &reader,
        vmac_xmit_base,
        &use_vmac,
        &interface,
        !unicast_peers.is_empty(),
        &mut warnings,
    )?;
    Ok(RawInstance {
        instance: VrrpInstance {
            name,
            line: section.line,
            state,
            interface,
            lvs_sync_daemon_interface: sync_iface,
            virtual_router_id,
            priority: priority.unwrap_or(100),
            advert_int,
            version,
            authentication,
            virtual_ipaddresses,
            virtual_ipaddresses_excluded,
            nopreempt: nopreempt.is_some_and(|(n, _)| n),
            dont_track_primary,
            preempt_delay,
            down_timer_adverts,
            mcast_src_ip,
            unicast_src_ip,
            unicast_peers,
            track_interfaces,
            track_scripts: heapless::Vec::new(),
            track_files,
            track_processes: heapless::Vec::new(),
            garp_master_delay: Duration::from_secs(5),
            garp_master_repeat: 5,
            garp_master_refresh: None,
            garp_master_refresh_repeat: 1,
            notify,
            native_ipv6,
            strict_mode: false,
            virtual_routes,
            virtual_rules,
            use_vmac: use_vmac.map(|(n, _)| n),
            vmac_xmit_base: xmit_base,
        },
        title: reader.title,
        track_scripts,
        track_processes,
        garp_master_delay,
        garp_master_repeat,
        garp_master_refresh,
        garp_master_refresh_repeat,
        strict_mode,
        strict_conflicts,
        vrid_line,
        sync_daemon_line: reader.line_of("lvs_sync_daemon_interface"),
        vmac_line: reader.line_of("use_vmac"),
        warnings,
    })
}

// keepalived's strict mode (vrrp_complete_instance) changes or refuses
// these; lvsd refuses them when the instance turns out to be strict
// (which needs the global vrrp_strict, so validate decides).
fn strict_conflicts_of(
    reader: &Reader<'_, '_>,
    auth_line: Option<usize>,
    preempt_delay: Duration,
    down_timer_adverts: u8,
    unicast: bool,
    state: VrrpState,
    priority: Option<u8>,
) -> Vec<(&'static str, usize, &'static str)> {
    let mut strict_conflicts = Vec::new();
    if let Some(line) = auth_line {
        strict_conflicts.push((
            "auth_type",
            line,
            "strict mode has no authentication (keepalived ignores auth_type there): remove auth_type and auth_pass",
        ));
    }
    if !preempt_delay.is_zero() {
        strict_conflicts.push((
            "preempt_delay",
            reader.line_of("preempt_delay"),
            "strict mode has no preempt_delay (keepalived resets it to 0)",
        ));
    }
    if down_timer_adverts != 3 {
        strict_conflicts.push((
            "down_timer_adverts",
            reader.line_of("down_timer_adverts"),
            "strict mode needs down_timer_adverts = 3 (keepalived resets it)",
        ));
    }
    if unicast {
        strict_conflicts.push((
            "unicast_peer",
            reader.line_of("unicast_peer"),
            "strict mode has no unicast peers (keepalived does not run such an instance)",
        ));
    }
    if (state == VrrpState::Master) != (priority == Some(255)) {
        strict_conflicts.push((
            "state",
            reader.line_of("state").max(reader.line_of("priority")),
            "strict mode needs state = MASTER exactly when priority = 255 (keepalived derives the state from the priority)",
        ));
    }
    strict_conflicts
}

/// `state MASTER` needs an explicit priority, and no nopreempt.
fn check_state(
    reader: &Reader<'_, '_>,
    section_line: usize,
    state: VrrpState,
    priority: Option<u8>,
    nopreempt: Option<(bool, &Entry<'_>)>,
) -> Result<(), ConfigError> {
    // keepalived silently uses 255 here; an operator should say it (BEHAVIOUR.md).
    if state == VrrpState::Master && priority.is_none() {
        return Err(reader.error_at(
            section_line,
            Some("priority"),
            ConfigErrorKind::Conflict(
                "state MASTER needs an explicit priority (keepalived would silently use 255): \
                 write `priority = 255` to own the addresses, or 1..=254"
                    .into(),
            ),
        ));
    }
    if let Some((true, entry)) = nopreempt {
        if state == VrrpState::Master {
            return Err(reader.error(
                entry,
                ConfigErrorKind::Conflict(
                    "nopreempt needs state BACKUP (with state MASTER the instance would preempt at start)".into(),
                ),
            ));
        }
    }
    Ok(())
}

/// `advert_int`: whole seconds for VRRPv2, centiseconds for VRRPv3.
fn advert_int_of(
    reader: &Reader<'_, '_>,
    advert_int: Option<&Entry<'_>>,
    version: VrrpVersion,
) -> Result<Duration, ConfigError> {
    Ok(match advert_int {
        None => Duration::from_secs(1),
        Some(entry) => match version {
            // RFC 3768 section 5.3.7: whole seconds in one byte.
            VrrpVersion::V2 => {
                let d =
                    reader.duration(entry, Duration::from_millis(1)..=Duration::from_secs(255))?;
                if d.subsec_nanos() != 0 || d < Duration::from_secs(1) {
                    return Err(reader.bad(
                        entry,
                        "VRRPv2 needs whole seconds 1..=255 (fractions need version = 3)",
                    ));
                }
                d
            }
            // RFC 5798 section 5.2.7: centiseconds in 12 bits.
            VrrpVersion::V3 => {
                let d = reader.duration(
                    entry,
                    Duration::from_millis(10)..=Duration::from_millis(40950),
                )?;
                if d.subsec_nanos() % 10_000_000 != 0 {
                    return Err(
                        reader.bad(entry, "VRRPv3 advert_int is in centiseconds, 0.01..=40.95")
                    );
                }
                d
            }
        },
    })
}

/// `auth_type` + `auth_pass` (VRRPv2 only).
fn authentication(
    reader: &Reader<'_, '_>,
    auth_type: Option<(&str, &Entry<'_>)>,
    auth_pass: Option<(&str, &Entry<'_>)>,
    version: VrrpVersion,
    state: VrrpState,
    priority: Option<u8>,
) -> Result<Option<Authentication>, ConfigError> {
    Ok(match (auth_type, auth_pass) {
        (None, None) => None,
        (None, Some((_, entry))) => {
            return Err(reader.error_at(
                entry.line,
                Some("auth_type"),
                ConfigErrorKind::Conflict("auth_pass needs auth_type = PASS".into()),
            ))
        }
        (Some(_), None) => return Err(reader.missing("auth_pass")),
        (Some((kind, type_entry)), Some((pass, pass_entry))) => {
            if version == VrrpVersion::V3 {
                return Err(reader.error(
                    type_entry,
                    ConfigErrorKind::Conflict("VRRPv3 has no authentication (RFC 5798 section 9); remove auth_type/auth_pass".into()),
                ));
            }
            let mut secret = heapless::String::<8>::new();
            if pass.is_empty() || secret.push_str(pass).is_err() {
                // keepalived truncates silently; we refuse.
                return Err(reader.bad(pass_entry, "must be 1..=8 bytes (RFC 3768 section 5.3.10)"));
            }
            match kind.to_ascii_uppercase().as_str() {
                "PASS" => Some(Authentication::Pass(secret)),
                "AH" => {
                    // keepalived 2.2.7 clears `state MASTER` of a non-owner with
                    // AH: it must hear the current sequence number before it
                    // takes over, or its adverts look like replays. lvsd says so.
                    if state == VrrpState::Master && priority != Some(255) {
                        return Err(reader.error(
                            type_entry,
                            ConfigErrorKind::Conflict(
                                "auth_type = AH needs state = BACKUP unless priority = 255: \
                             a new master must first hear the AH sequence number \
                             (keepalived clears state MASTER the same way)"
                                    .into(),
                            ),
                        ));
                    }
                    Some(Authentication::Ah(secret))
                }
                _ => return Err(reader.bad(type_entry, "must be PASS or AH")),
            }
        }
    })
}

/// `virtual_ipaddress` and `virtual_ipaddress_excluded`: one family, no
/// address twice, at most MAX_VIPS_PER_INSTANCE.
fn vips_of(
    reader: &Reader<'_, '_>,
    vips: Vec<(&str, &Entry<'_>)>,
    interface: &Name,
) -> Result<(Vec<VirtualIp>, Vec<VirtualIp>), ConfigError> {
    let mut virtual_ipaddresses: Vec<VirtualIp> = Vec::new();
    let mut virtual_ipaddresses_excluded: Vec<VirtualIp> = Vec::new();
    for (text, entry) in vips {
        let vip = read_vip(reader, entry, text, interface)?;
        let excluded = entry.key == "virtual_ipaddress_excluded";
        if !excluded {
            if let Some(first) = virtual_ipaddresses.first() {
                if first.address.is_ipv6() != vip.address.is_ipv6() {
                    return Err(reader.bad(
                        entry,
                        format!(
                            "all addresses of one instance must be one family (line {} is {})",
                            first.line,
                            if first.address.is_ipv6() {
                                "IPv6"
                            } else {
                                "IPv4"
                            }
                        ),
                    ));
                }
            }
        }
        if let Some(other) = virtual_ipaddresses
            .iter()
            .chain(&virtual_ipaddresses_excluded)
            .find(|v| v.address == vip.address)
        {
            return Err(reader.bad(entry, format!("address listed twice (line {})", other.line)));
        }
        if virtual_ipaddresses.len() + virtual_ipaddresses_excluded.len() >= MAX_VIPS_PER_INSTANCE {
            return Err(reader.error(
                entry,
                ConfigErrorKind::OverCapacity {
                    limit: "MAX_VIPS_PER_INSTANCE",
                    max: MAX_VIPS_PER_INSTANCE,
                },
            ));
        }
        if excluded {
            virtual_ipaddresses_excluded.push(vip);
        } else {
            virtual_ipaddresses.push(vip);
        }
    }
    Ok((virtual_ipaddresses, virtual_ipaddresses_excluded))
}

fn advert_overflow(
    reader: &Reader<'_, '_>,
    virtual_ipaddresses: &mut Vec<VirtualIp>,
    virtual_ipaddresses_excluded: &mut Vec<VirtualIp>,
    version: VrrpVersion,
    authentication: Option<&Authentication>,
    warnings: &mut Vec<ConfigWarning>,
) {
    // keepalived (vrrp_complete_instance) moves the VIPs that do not fit in
    // one advert to the eVIPs, with a configuration error; lvsd warns.
    if let Some(first) = virtual_ipaddresses.first() {
        let ah = matches!(authentication, Some(Authentication::Ah(_)));
        let max = max_advert_vips(first.address.is_ipv6(), version, ah);
        if virtual_ipaddresses.len() > max {
            let line = virtual_ipaddresses[max].line;
            let moved = virtual_ipaddresses.split_off(max);
            warnings.push(reader.warning(
                line,
                Some("virtual_ipaddress"),
                format!(
                    "{} addresses do not fit in one advert (at most {max} at MTU {ADVERT_MTU}); \
                     the last {} are held like virtual_ipaddress_excluded, not advertised, as keepalived does",
                    max + moved.len(),
                    moved.len()
                ),
            ));
            virtual_ipaddresses_excluded.splice(0..0, moved);
        }
    }
}

/// mcast_src_ip, unicast_src_ip and unicast_peer: the VIPs' address family.
fn check_source_families(
    reader: &Reader<'_, '_>,
    section: &Section<'_, '_>,
    ipv6: bool,
    mcast_src_ip: Option<IpAddr>,
    unicast_src_ip: Option<IpAddr>,
) -> Result<(), ConfigError> {
    for key in ["mcast_src_ip", "unicast_src_ip"] {
        let value = if key == "mcast_src_ip" {
            mcast_src_ip
        } else {
            unicast_src_ip
        };
        if value.is_some_and(|ip| ip.is_ipv6() != ipv6) {
            let line = reader.line_of(key);
            return Err(reader.error_at(
                line,
                Some(key),
                ConfigErrorKind::Conflict(
                    "must be the same address family as virtual_ipaddress".into(),
                ),
            ));
        }
    }
    for entry in section.entries.iter().filter(|e| e.key == "unicast_peer") {
        if entry
            .value
            .and_then(|v| v.parse::<IpAddr>().ok())
            .is_some_and(|ip| ip.is_ipv6() != ipv6)
        {
            return Err(reader.bad(
                entry,
                "must be the same address family as virtual_ipaddress",
            ));
        }
    }
    Ok(())
}

/// `use_vmac` + `vmac_xmit_base`: whether adverts leave from the base interface.
fn vmac_xmit_base_of(
    reader: &Reader<'_, '_>,
    vmac_xmit_base: Option<&Entry<'_>>,
    use_vmac: &Option<(Option<Name>, &Entry<'_>)>,
    interface: &Name,
    unicast: bool,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<bool, ConfigError> {
    if let (Some(entry), None) = (vmac_xmit_base, use_vmac) {
        return Err(reader.bad(entry, "needs use_vmac (keepalived ignores it without one)"));
    }
    let mut xmit_base = vmac_xmit_base.is_some();
    if let Some((name, entry)) = use_vmac {
        if name.as_ref().is_some_and(|n| n == interface) {
            return Err(reader.bad(entry, "the VMAC cannot have the name of `interface`"));
        }
        if unicast && !xmit_base {
            // vrrp_parser.c, vrrp_end_handler: unicast with a VMAC sends from the base.
            warnings.push(reader.warning(
                entry.line,
                Some("use_vmac"),
                "unicast peers with use_vmac need vmac_xmit_base: set, as keepalived does".into(),
            ));
            xmit_base = true;
        }
    }
    Ok(xmit_base)
}

fn state_of(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<VrrpState, ConfigError> {
    Ok(match reader.text(entry)?.to_ascii_uppercase().as_str() {
        "MASTER" => VrrpState::Master,
        "BACKUP" => VrrpState::Backup,
        _ => return Err(reader.bad(entry, "must be MASTER or BACKUP")),
    })
}

fn version_of(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<VrrpVersion, ConfigError> {
    Ok(match reader.text(entry)? {
        "2" => VrrpVersion::V2,
        "3" => VrrpVersion::V3,
        _ => return Err(reader.bad(entry, "must be 2 or 3")),
    })
}

/// `use_vmac [NAME]` (`no` turns it off).
fn use_vmac_of<'e, 'a>(
    reader: &Reader<'_, '_>,
    entry: &'e Entry<'a>,
) -> Result<Option<(Option<Name>, &'e Entry<'a>)>, ConfigError> {
    Ok(match entry.value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("yes" | "true" | "on") => Some((None, entry)),
        Some("no" | "false" | "off") => None,
        Some(_) => Some((Some(vmac_name(reader, entry)?), entry)),
    })
}

/// One `unicast_peer`: not listed twice, at most MAX_UNICAST_PEERS.
fn push_unicast_peer<const N: usize>(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    unicast_peers: &mut heapless::Vec<IpAddr, N>,
) -> Result<(), ConfigError> {
    let ip = reader.ip(entry)?;
    if unicast_peers.contains(&ip) {
        return Err(reader.bad(entry, "peer listed twice"));
    }
    push_capped(reader, entry, unicast_peers, ip, "MAX_UNICAST_PEERS")?;
    Ok(())
}

/// One `track_script = SCRIPT [weight N]`, resolved when the config is built.
fn push_track_script(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    track_scripts: &mut Vec<(Name, Option<i32>, usize)>,
) -> Result<(), ConfigError> {
    let (script, weight) = with_weight(reader, entry, "SCRIPT [weight N]")?;
    let script = to_name(script).ok_or_else(|| reader.bad(entry, "must be `SCRIPT [weight N]`"))?;
    if track_scripts.len() >= crate::limits::MAX_TRACKS_PER_INSTANCE {
        return Err(reader.error(
            entry,
            ConfigErrorKind::OverCapacity {
                limit: "MAX_TRACKS_PER_INSTANCE",
                max: crate::limits::MAX_TRACKS_PER_INSTANCE,
            },
        ));
    }
    track_scripts.push((script, weight, entry.line));
    Ok(())
}

/// One `track_interface = IFACE [weight N]`.
fn track_interface_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<TrackInterface, ConfigError> {
    let (iface, weight) = with_weight(reader, entry, "IFACE [weight N]")?;
    let interface = reader.interface(entry, iface)?;
    Ok(TrackInterface {
        interface,
        weight: weight.unwrap_or(0),
    })
}

/// The MTU keepalived assumes for the advert-size check when the interface
/// is not known (its DEFAULT_MTU); lvsd's loader does not look at the system.
pub(crate) const ADVERT_MTU: usize = 1500;

/// How many addresses one advert carries, by keepalived's rule
/// (vrrp_complete_instance): what fits in the MTU after the Ethernet, IP and
/// VRRP headers (and for VRRPv2 the 8 authentication bytes, plus the AH
/// header), at most 255 (the count field is 8 bits, RFC 3768 section 5.3.5).
/// A VMAC name as keepalived's `dev_name_valid()` takes it: 1..=15 bytes, not `.`
/// or `..`, without `/`, `:` or white space (a `:` makes keepalived read a MAC).
fn vmac_name(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Name, ConfigError> {
    let text = reader.text(entry)?;
    let bad = text.len() > crate::wire::netlink::rtnl::IFNAME_MAX
        || text == "."
        || text == ".."
        || text.contains(['/', ':'])
        || text.chars().any(char::is_whitespace);
    let mut name = Name::new();
    if bad || name.push_str(text).is_err() {
        return Err(reader.bad(
            entry,
            "a VMAC name must be 1..=15 bytes, not `.` or `..`, without `/`, `:` or spaces \
             (a MAC address is not supported: lvsd uses the RFC 5798 virtual MAC)",
        ));
    }
    Ok(name)
}

pub(crate) fn max_advert_vips(ipv6: bool, version: VrrpVersion, ah: bool) -> usize {
    let (header, size) = if ipv6 {
        (14 + 40 + 8, 16)
    } else {
        let v2 = if version == VrrpVersion::V2 {
            8 + if ah { 24 } else { 0 }
        } else {
            0
        };
        (14 + 20 + 8 + v2, 4)
    };
    ((ADVERT_MTU - header) / size).min(MAX_ADVERT_VIPS)
}

/// Appends `item` unless `list` already holds `max`.
fn push_limited<T>(
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
fn read_route(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Route, ConfigError> {
    super::route::parse_route(reader.text(entry)?, entry.line).map_err(|e| {
        reader.bad(
            entry,
            format!("{e} (keepalived's `ip route` syntax: see docs/config.md)"),
        )
    })
}

/// A `virtual_rules` / `static_rules` line, in keepalived's syntax. The
/// preference must be given: keepalived picks one counting down from 16384
/// and warns that it is probably not what you want.
fn read_rule(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Rule, ConfigError> {
    let rule = super::route::parse_rule(reader.text(entry)?, entry.line).map_err(|e| {
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
fn read_scope(text: &str) -> Option<u8> {
    Some(match text {
        "global" | "universe" => 0,
        "site" => 200,
        "link" => 253,
        "host" => 254,
        "nowhere" => 255,
        n => n.parse().ok()?,
    })
}

fn read_vip(
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
                // The kernel's ifa_label is IFNAMSIZ bytes with the NUL.
                if l.len() > 15 {
                    return Err(reader.bad(entry, "label must be at most 15 bytes"));
                }
                label = Some(to_name(l).ok_or_else(|| reader.bad(entry, form))?)
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
                scope = Some(read_scope(sc).ok_or_else(|| {
                    reader.bad(
                        entry,
                        "scope must be global, site, link, host, nowhere or 0..=255",
                    )
                })?);
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

/// A VIP's `ADDRESS[/PREFIX]`: a unicast address, the prefix in range.
fn vip_address(
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
    let max = if ip.is_ipv6() { 128 } else { 32 };
    let prefix_len = match prefix {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(reader.bad(entry, format!("prefix must be 0..={max}"))),
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
fn vip_broadcast(
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
fn vip_preferred_lft(
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
fn read_track_file(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<TrackFile, ConfigError> {
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
            Some(Ok(w)) if (-254..=254).contains(&w) => w,
            _ => return Err(reader.bad(entry, "weight must be -254..=254")),
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
                    Ok(v) if (-254..=254).contains(&v) => value = v,
                    _ => {
                        return Err(reader.bad(
                            entry,
                            "init_file: VALUE must be -254..=254, then optionally `overwrite`",
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
fn read_track_process(
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
                Ok(w) if (-254..=254).contains(&w) => w,
                _ => return Err(reader.bad(entry, "weight must be -254..=254")),
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

/// `[vrrp_track_process NAME]`, with keepalived 2.2.7's defaults and ranges.
pub(crate) fn read_track_process_section(
    origin: &str,
    section: &Section<'_, '_>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<VrrpTrackProcess, ConfigError> {
    let name = simple_name(origin, section)?;
    let reader = Reader::new(origin, section, VRRP_TRACK_PROCESS_KEYS)?;
    let mut process = None;
    let mut params = Vec::new();
    let mut param_match = None;
    let mut full_command = false;
    let mut quorum = None;
    let mut quorum_max = None;
    let mut weight = 0;
    let mut reverse = false;
    let mut fork_delay = None;
    let mut terminate_delay = None;
    let mut delay = None;
    let delays = Duration::from_micros(1)..=Duration::from_secs(3600);
    for (key, entry) in reader.entries() {
        match key {
            "process" => {
                let text = reader.text(entry)?;
                let mut words = text.split_whitespace();
                let mut first = PathText::new();
                first
                    .push_str(words.next().unwrap_or(""))
                    .map_err(|_| reader.bad(entry, "longer than limits::MAX_PATH_LEN"))?;
                if text.len() > crate::limits::MAX_PATH_LEN {
                    return Err(reader.bad(entry, "longer than limits::MAX_PATH_LEN"));
                }
                params = words.map(str::to_owned).collect();
                process = Some((first, entry.line));
            }
            "param_match" => {
                param_match = Some(match reader.text(entry)? {
                    "exact" => ParamMatch::Exact,
                    "partial" => ParamMatch::Partial,
                    "initial" => ParamMatch::Initial,
                    _ => return Err(reader.bad(entry, "must be exact, partial or initial")),
                })
            }
            "full_command" => full_command = reader.flag(entry)?,
            "quorum" => quorum = Some(reader.int(entry, 1..=65535u32)?),
            "quorum_max" => quorum_max = Some(reader.int(entry, 0..=65535u32)?),
            "weight" => {
                let text = reader.text(entry)?;
                let mut words = text.split_whitespace();
                weight = match words.next().map(str::parse::<i32>) {
                    Some(Ok(w)) if (-254..=254).contains(&w) => w,
                    _ => return Err(reader.bad(entry, "must be `N [reverse]`, N in -254..=254")),
                };
                reverse = match (words.next(), words.next()) {
                    (None, _) => false,
                    (Some("reverse"), None) => true,
                    _ => return Err(reader.bad(entry, "must be `N [reverse]`, N in -254..=254")),
                };
            }
            "delay" => delay = Some(reader.duration(entry, delays.clone())?),
            "fork_delay" => fork_delay = Some(reader.duration(entry, delays.clone())?),
            "terminate_delay" => terminate_delay = Some(reader.duration(entry, delays.clone())?),
            _ => {}
        }
    }
    let (process, process_line) = process
        .filter(|(p, _)| !p.is_empty())
        .ok_or_else(|| reader.missing("process"))?;
    // keepalived: `quorum_max 0` alone means "no such process" (quorum 0).
    let (quorum, quorum_max) = match (quorum, quorum_max) {
        (None, Some(0)) => (0, 0),
        (q, m) => (q.unwrap_or(1), m.unwrap_or(u32::MAX)),
    };
    if quorum > quorum_max {
        return Err(reader.error_at(
            reader.line_of("quorum"),
            Some("quorum"),
            ConfigErrorKind::Conflict(format!("quorum {quorum} is above quorum_max {quorum_max}")),
        ));
    }
    // Arguments or param_match compare the command line (keepalived).
    let param_match = match param_match {
        Some(m) => m,
        None if !params.is_empty() => ParamMatch::Exact,
        None => ParamMatch::None,
    };
    let full_command = full_command || param_match != ParamMatch::None;
    if !full_command && process.len() > 15 {
        warnings.push(reader.warning(
            process_line,
            Some("process"),
            format!(
                "`{process}` is longer than the kernel's 15-byte process name, so it never \
                 matches; add `full_command = yes` to compare argv[0]"
            ),
        ));
    }
    Ok(VrrpTrackProcess {
        name,
        line: section.line,
        process,
        params,
        param_match,
        full_command,
        quorum,
        quorum_max,
        weight,
        reverse,
        fork_delay: fork_delay.or(delay).unwrap_or(Duration::ZERO),
        terminate_delay: terminate_delay.or(delay).unwrap_or(Duration::ZERO),
    })
}

/// `[vrrp_sync_group NAME]`.
pub(crate) fn read_sync_group<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
) -> Result<RawSyncGroup<'a>, ConfigError> {
    let name = simple_name(origin, section)?;
    let reader = Reader::new(origin, section, SYNC_GROUP_KEYS)?;
    let mut members = heapless::Vec::new();
    let mut member_lines = Vec::new();
    let mut notify = Notify::default();
    let mut track_files = heapless::Vec::new();
    let mut track_file_lines = Vec::new();
    let mut track_processes = Vec::new();
    for (key, entry) in reader.entries() {
        if key == "track_process" {
            track_processes.push(read_track_process(&reader, entry, track_processes.len())?);
            continue;
        }
        if notify_key(&reader, &mut notify, key, entry)? {
            continue;
        }
        if key == "track_file" {
            let item = read_track_file(&reader, entry)?;
            push_capped(
                &reader,
                entry,
                &mut track_files,
                item,
                "MAX_TRACKS_PER_INSTANCE",
            )?;
            track_file_lines.push(entry.line);
            continue;
        }
        if key == "group" {
            for word in reader.text(entry)?.split_whitespace() {
                let member = to_name(word).ok_or_else(|| {
                    reader.bad(entry, "must be instance names separated by spaces")
                })?;
                if members.contains(&member) {
                    return Err(reader.bad(entry, format!("{word} listed twice")));
                }
                push_capped(
                    &reader,
                    entry,
                    &mut members,
                    member,
                    "MAX_SYNC_GROUP_MEMBERS",
                )?;
                member_lines.push(entry.line);
            }
        }
    }
    if members.is_empty() {
        return Err(reader.missing("group"));
    }
    Ok(RawSyncGroup {
        group: SyncGroup {
            name,
            line: section.line,
            members,
            member_indices: heapless::Vec::new(),
            track_files,
            track_processes: heapless::Vec::new(),
            notify,
        },
        title: reader.title,
        member_lines,
        track_file_lines,
        track_processes,
    })
}

/// `[virtual_server NAME]`.
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
    let reader = Reader::new(origin, section, VIRTUAL_SERVER_KEYS)?;
    let mut timing = TimingOptions::default();
    let mut address = None;
    let mut port = None;
    let mut fwmark = None;
    let mut group: Option<(Name, &Entry<'_>)> = None;
    let mut family_v6 = None;
    let mut protocol = None;
    let mut scheduler = None;
    let mut kind = None;
    let mut tunnel = None;
    let mut persistence_timeout = None;
    let mut persistence_granularity = None;
    let mut alpha = false;
    let mut omega = false;
    let mut quorum = 1;
    let mut hysteresis = 0;
    let mut quorum_up = None;
    let mut quorum_down = None;
    let mut sorry_server = None;
    let mut sorry_inhibit: Option<(bool, &Entry<'_>)> = None;
    let mut sorry_forward = None;
    let mut inhibit_on_failure = false;
    let mut virtualhost = None;
    let mut ha_suspend = false;
    let mut announce = None;
    for (key, entry) in reader.entries() {
        if timing.read(&reader, key, entry)? {
            continue;
        }
        match key {
            "address" => address = Some((reader.ip(entry)?, entry)),
            "port" => port = Some((reader.int(entry, 0..=65535u16)?, entry)),
            "fwmark" => fwmark = Some(reader.int(entry, 1..=u32::MAX)?),
            "group" => group = Some((reader.name(entry)?, entry)),
            "ip_family" => {
                family_v6 = Some(match reader.text(entry)? {
                    "inet" => false,
                    "inet6" => true,
                    _ => return Err(reader.bad(entry, "must be inet or inet6")),
                })
            }
            "protocol" => protocol = Some(protocol_of(&reader, entry)?),
            "lb_algo" => scheduler = Some(scheduler_of(&reader, entry)?),
            "lb_kind" => kind = Some((read_forward(&reader, entry)?, entry)),
            "tun_type" => tunnel = Some((read_tun_type(&reader, entry)?, entry)),
            "persistence_timeout" => {
                persistence_timeout = Some(reader.duration(
                    entry,
                    Duration::from_secs(1)..=Duration::from_secs(2_678_400),
                )?)
            }
            "persistence_granularity" => persistence_granularity = Some(entry),
            "alpha" => alpha = reader.flag(entry)?,
            "omega" => omega = reader.flag(entry)?,
            "quorum" => quorum = reader.int(entry, 1..=u32::MAX)?,
            "hysteresis" => hysteresis = reader.int(entry, 0..=u32::MAX)?,
            "quorum_up" => quorum_up = Some(reader.command(entry)?),
            "quorum_down" => quorum_down = Some(reader.command(entry)?),
            "sorry_server" => sorry_server = Some(sorry_server_of(&reader, entry)?),
            "inhibit_on_failure" => inhibit_on_failure = reader.flag(entry)?,
            "sorry_server_inhibit" => sorry_inhibit = Some((reader.flag(entry)?, entry)),
            "sorry_server_lvs_method" => {
                sorry_forward = Some((read_forward(&reader, entry)?, entry))
            }
            "virtualhost" => virtualhost = Some(reader.name(entry)?),
            "ha_suspend" => ha_suspend = reader.flag(entry)?,
            "announce" => announce = Some(reader.name(entry)?),
            _ => {}
        }
    }
    let service = service_of(
        &reader,
        group.as_ref().map(|(_, entry)| *entry),
        fwmark,
        address,
        port,
        family_v6,
        persistence_timeout.is_some(),
    )?;
    let protocol = protocol_or_default(&reader, protocol, service, group.is_some())?;
    let scheduler = scheduler.unwrap_or_else(|| {
        warnings.push(reader.warning(section.line, Some("lb_algo"), "not set: using wlc".into()));
        Scheduler::Wlc
    });
    let forward = forward_or_nat(&reader, section.line, kind, tunnel, warnings)?;
    let ipv6 = match service {
        Service::Address(a) => a.is_ipv6(),
        Service::Fwmark { ipv6, .. } => ipv6,
    };
    let persistence_granularity = persistence_granularity_of(
        &reader,
        persistence_granularity,
        ipv6,
        persistence_timeout.is_some(),
    )?;
    check_quorum_and_suspend(&reader, quorum, hysteresis, ha_suspend, service)?;
    let sorry_server_forward = sorry_server_forward_of(
        &reader,
        sorry_server,
        sorry_inhibit,
        sorry_forward,
        forward,
        ipv6,
    )?;
    Ok(RawVirtualServer {
        server: VirtualServer {
            name,
            line: section.line,
            service,
            protocol,
            scheduler,
            forward,
            persistence_timeout,
            persistence_granularity,
            timing: timing.resolve(1, Duration::from_secs(1)),
            alpha,
            omega,
            quorum,
            hysteresis,
            quorum_up,
            quorum_down,
            sorry_server,
            sorry_server_inhibit: sorry_inhibit.is_some_and(|(on, _)| on),
            sorry_server_forward,
            inhibit_on_failure,
            virtualhost,
            ha_suspend,
            announce,
            real_servers: Vec::new(),
            group: group.map(|(g, _)| g),
        },
        title: reader.title,
        timing,
    })
}

/// The service: an address and port, a fwmark, or a group's (filled in later).
fn service_of(
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
            ConfigErrorKind::Conflict(
                "a group service takes its addresses and fwmarks from the group: no address, port or fwmark".into(),
            ),
        ));
    }
    Ok(match (fwmark, address, port) {
        // Replaced by each member of the group when the config is built.
        _ if group.is_some() => Service::Fwmark {
            mark: 0,
            ipv6: family_v6.unwrap_or(false),
        },
        (Some(_), Some((_, entry)), _) | (Some(_), None, Some((_, entry))) => {
            return Err(reader.error(
                entry,
                ConfigErrorKind::Conflict("a fwmark service takes no address or port".into()),
            ))
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
                    "must be 1..=65535 (0 = all ports, only with persistence_timeout)",
                ));
            }
            if family_v6.is_some() {
                let line = reader.line_of("ip_family");
                return Err(reader.error_at(
                    line,
                    Some("ip_family"),
                    ConfigErrorKind::Conflict(
                        "ip_family is only for fwmark services; the address gives the family"
                            .into(),
                    ),
                ));
            }
            Service::Address(SocketAddr::new(ip, port))
        }
    })
}

/// `persistence_granularity`: a netmask or prefix length, with persistence only.
fn persistence_granularity_of(
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
                    ConfigErrorKind::Conflict(
                        "persistence_granularity needs persistence_timeout".into(),
                    ),
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
fn check_quorum_and_suspend(
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
            ConfigErrorKind::Conflict(format!("must be less than quorum ({quorum})")),
        ));
    }
    if ha_suspend && matches!(service, Service::Fwmark { .. }) {
        // keepalived would suspend such checks for good: a fwmark service
        // has no address that could appear on an interface.
        let line = reader.line_of("ha_suspend");
        return Err(reader.error_at(
            line,
            Some("ha_suspend"),
            ConfigErrorKind::Conflict(
                "needs an address service: a fwmark service has no address whose presence could suspend its checks"
                    .into(),
            ),
        ));
    }
    Ok(())
}

/// sorry_server_inhibit and sorry_server_lvs_method need a sorry_server, of
/// the service's family unless tunnelled; its forwarding method.
fn sorry_server_forward_of(
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
            ConfigErrorKind::Conflict("sorry_server_inhibit needs a sorry_server".into()),
        ));
    }
    if let Some((_, entry)) = sorry_forward.as_ref().filter(|_| sorry_server.is_none()) {
        return Err(reader.error(
            entry,
            ConfigErrorKind::Conflict("sorry_server_lvs_method needs a sorry_server".into()),
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
                ConfigErrorKind::Conflict("must be the same address family as the service".into()),
            ));
        }
    }
    Ok(sorry_server_forward)
}

fn protocol_of(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Protocol, ConfigError> {
    Ok(match reader.text(entry)?.to_ascii_uppercase().as_str() {
        "TCP" => Protocol::Tcp,
        "UDP" => Protocol::Udp,
        "SCTP" => Protocol::Sctp,
        _ => return Err(reader.bad(entry, "must be TCP, UDP or SCTP")),
    })
}

/// `lb_algo`: one of the IPVS schedulers.
fn scheduler_of(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Scheduler, ConfigError> {
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
fn sorry_server_of(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<SocketAddr, ConfigError> {
    let text = reader.text(entry)?;
    let (ip, port) = parse_host_port(text)
        .ok_or_else(|| reader.bad(entry, "must be `ADDRESS PORT` or `ADDRESS:PORT`"))?;
    let port = port.ok_or_else(|| reader.bad(entry, "needs a port: `ADDRESS PORT`"))?;
    Ok(SocketAddr::new(ip, port))
}

fn protocol_or_default(
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
fn forward_or_nat(
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

fn target<'a>(
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

/// `[real_server VS/ADDR:PORT]`.
pub(crate) fn read_real_server<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
) -> Result<RawRealServer<'a>, ConfigError> {
    let (vs, ip, port) = target(origin, section)?;
    let reader = Reader::new(origin, section, REAL_SERVER_KEYS)?;
    let mut raw = RawRealServer {
        virtual_server: vs,
        ip,
        port,
        title: reader.title,
        line: section.line,
        weight: 1,
        forward: None,
        inhibit_on_failure: None,
        uthreshold: 0,
        lthreshold: 0,
        notify_up: None,
        notify_down: None,
        timing: TimingOptions::default(),
    };
    let (mut kind, mut tunnel) = (None, None);
    for (key, entry) in reader.entries() {
        if raw.timing.read(&reader, key, entry)? {
            continue;
        }
        match key {
            "weight" => raw.weight = reader.int(entry, 0..=65535u32)?,
            "lb_kind" => kind = Some((read_forward(&reader, entry)?, entry)),
            "tun_type" => tunnel = Some((read_tun_type(&reader, entry)?, entry)),
            "inhibit_on_failure" => raw.inhibit_on_failure = Some(reader.flag(entry)?),
            "uthreshold" => raw.uthreshold = reader.int(entry, 0..=u32::MAX)?,
            "lthreshold" => raw.lthreshold = reader.int(entry, 0..=u32::MAX)?,
            "notify_up" => raw.notify_up = Some(Box::new(reader.command(entry)?)),
            "notify_down" => raw.notify_down = Some(Box::new(reader.command(entry)?)),
            _ => {}
        }
    }
    if kind.is_some() || tunnel.is_some() {
        raw.forward = Some(forward_with_tunnel(&reader, kind, tunnel)?);
    }
    if raw.uthreshold > 0 && raw.lthreshold > raw.uthreshold {
        let line = reader.line_of("lthreshold");
        return Err(reader.error_at(
            line,
            Some("lthreshold"),
            ConfigErrorKind::Conflict(format!("must not exceed uthreshold ({})", raw.uthreshold)),
        ));
    }
    Ok(raw)
}

/// Parse one `url` line: `path=/ [digest=HEX] [status_code=200-299,301] [virtualhost=NAME]`
/// (keepalived's `path / digest HEX` word pairs are accepted too).
fn read_url(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Url, ConfigError> {
    let text = reader.text(entry)?;
    let mut words = text.split_whitespace();
    let mut path = None;
    let mut digest = None;
    let mut status_codes = heapless::Vec::new();
    let mut virtualhost = None;
    let mut regex = heapless::Vec::new();
    let mut regex_no_match = false;
    let form = "must be `path=/PATH [digest=MD5HEX] [status_code=200-299,301] [virtualhost=NAME] [regex=TEXT] [regex_no_match]`";
    while let Some(word) = words.next() {
        if word == "regex_no_match" {
            regex_no_match = true;
            continue;
        }
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (k, v),
            None => (word, words.next().ok_or_else(|| reader.bad(entry, form))?),
        };
        match key {
            "path" => {
                let mut p = PathText::new();
                if !value.starts_with('/') || p.push_str(value).is_err() {
                    return Err(reader.bad(
                        entry,
                        "path must start with `/` and fit limits::MAX_PATH_LEN",
                    ));
                }
                path = Some(p);
            }
            "digest" => digest = Some(url_digest(reader, entry, value)?),
            "status_code" => url_status_codes(reader, entry, value, &mut status_codes)?,
            "regex" => {
                regex = crate::check::http::regex_literal(value)
                    .map_err(|e| reader.bad(entry, format!("regex: {e}")))?;
            }
            "regex_no_match" => {
                regex_no_match = match value {
                    "yes" | "true" | "on" | "1" => true,
                    "no" | "false" | "off" | "0" => false,
                    _ => return Err(reader.bad(entry, "regex_no_match must be yes or no")),
                }
            }
            "virtualhost" => {
                virtualhost = Some(
                    to_name(value)
                        .ok_or_else(|| reader.bad(entry, "virtualhost must be a host name"))?,
                )
            }
            _ => return Err(reader.bad(entry, form)),
        }
    }
    let path = path.ok_or_else(|| reader.bad(entry, form))?;
    if status_codes.is_empty() {
        let _ = status_codes.push(200..=299);
    }
    if regex_no_match && regex.is_empty() {
        return Err(reader.bad(entry, "regex_no_match needs regex=TEXT"));
    }
    Ok(Url {
        path,
        digest,
        status_codes,
        virtualhost,
        regex,
        regex_no_match,
    })
}

/// A url's `digest=MD5HEX`.
fn url_digest(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    value: &str,
) -> Result<[u8; 16], ConfigError> {
    if value.len() != 32 {
        return Err(reader.bad(
            entry,
            "digest must be 32 hex digits (MD5, as genhash prints)",
        ));
    }
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        let pair = value
            .get(i * 2..i * 2 + 2)
            .ok_or_else(|| reader.bad(entry, "digest must be 32 hex digits"))?;
        *byte = u8::from_str_radix(pair, 16)
            .map_err(|_| reader.bad(entry, "digest must be 32 hex digits"))?;
    }
    Ok(bytes)
}

/// A url's `status_code=200-299,301`.
fn url_status_codes<const N: usize>(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    value: &str,
    status_codes: &mut heapless::Vec<std::ops::RangeInclusive<u16>, N>,
) -> Result<(), ConfigError> {
    for part in value.split(',') {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        let range = match (low.parse::<u16>(), high.parse::<u16>()) {
            (Ok(l), Ok(h)) if (100..=599).contains(&l) && (l..=599).contains(&h) => l..=h,
            _ => return Err(reader.bad(
                entry,
                "status_code must be codes or ranges in 100..=599, comma separated (200-299,301)",
            )),
        };
        push_capped(reader, entry, status_codes, range, "MAX_STATUS_RANGES")?;
    }
    Ok(())
}

/// The keys a checker section of this kind takes.
fn checker_keys(kind: &str) -> &'static [KeySpec] {
    match kind {
        "tcp_check" => TCP_CHECK_KEYS,
        "http_get" => HTTP_GET_KEYS,
        "ssl_get" => SSL_GET_KEYS,
        "smtp_check" => SMTP_CHECK_KEYS,
        "udp_check" => UDP_CHECK_KEYS,
        "ping_check" => PING_CHECK_KEYS,
        "file_check" => FILE_CHECK_KEYS,
        "dns_check" => DNS_CHECK_KEYS,
        _ => MISC_CHECK_KEYS,
    }
}

fn require_reply(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    udp: &mut crate::check::udp::UdpSpec,
) -> Result<(), ConfigError> {
    match entry.value.map(unquote) {
        None | Some("" | "yes") => udp.require_reply = true,
        Some("no") => udp.require_reply = false,
        Some(text) => {
            let (data, mask) = crate::check::udp::parse_hex(text, true)
                .map_err(|e| reader.bad(entry, e.to_string()))?;
            udp.require_reply = true;
            udp.reply = data;
            udp.mask = mask;
        }
    }
    Ok(())
}

/// FILE_CHECK `weight = N [reverse]`.
fn file_weight_of(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<(i32, bool), ConfigError> {
    let form = "weight = N [reverse], N in -2147483647..=2147483647";
    let text = reader.text(entry)?;
    let mut words = text.split_whitespace();
    let n = words
        .next()
        .and_then(|w| w.parse::<i32>().ok())
        .filter(|&w| w != i32::MIN)
        .ok_or_else(|| reader.bad(entry, form))?;
    let reverse = match (words.next(), words.next()) {
        (None, _) | (Some("noreverse"), None) => false,
        (Some("reverse"), None) => true,
        _ => return Err(reader.bad(entry, form)),
    };
    Ok((n, reverse))
}

fn check_bindto_family(
    reader: &Reader<'_, '_>,
    connect_ip: Option<IpAddr>,
    bindto: Option<IpAddr>,
) -> Result<(), ConfigError> {
    if let (Some(ip), Some(bind)) = (connect_ip, bindto) {
        if ip.is_ipv6() != bind.is_ipv6() {
            let line = reader.line_of("bindto");
            return Err(reader.error_at(
                line,
                Some("bindto"),
                ConfigErrorKind::Conflict("must be the same address family as connect_ip".into()),
            ));
        }
    }
    Ok(())
}

/// HTTP_GET and SSL_GET: at least one url; ca_file only with verify.
fn http_check(
    reader: &Reader<'_, '_>,
    mut urls: Vec<Url>,
    virtualhost: Option<Name>,
    http_protocol: HttpVersion,
    tls: TlsOptions,
    kind: &str,
) -> Result<CheckKind, ConfigError> {
    if urls.is_empty() {
        return Err(reader.missing("url"));
    }
    if tls.ca_file.is_some() && !tls.verify {
        let line = reader.line_of("ca_file");
        return Err(reader.error_at(
            line,
            Some("ca_file"),
            ConfigErrorKind::Conflict("ca_file needs verify = yes".into()),
        ));
    }
    // Exactly as many as there are: 10,000 checkers keep their urls
    // for the daemon's lifetime.
    urls.shrink_to_fit();
    Ok(CheckKind::Http(Box::new(HttpCheck {
        urls,
        virtualhost,
        http_protocol,
        tls: (kind == "ssl_get").then_some(tls),
    })))
}

/// UDP_CHECK: the reply length range must be able to pass.
fn udp_check(
    reader: &Reader<'_, '_>,
    udp: crate::check::udp::UdpSpec,
) -> Result<CheckKind, ConfigError> {
    if udp.min_reply_len > udp.max_reply_len {
        let line = reader.line_of("min_reply_length");
        return Err(reader.error_at(
            line,
            Some("min_reply_length"),
            ConfigErrorKind::Conflict(
                "min_reply_length is above max_reply_length: the check could never pass".into(),
            ),
        ));
    }
    Ok(CheckKind::Udp(std::sync::Arc::new(udp)))
}

/// A checker section's kind-specific keys, while they are read.
struct CheckerKeys {
    urls: Vec<Url>,
    virtualhost: Option<Name>,
    http_protocol: HttpVersion,
    tls: TlsOptions,
    misc_path: Option<PathText>,
    misc_dynamic: bool,
    user: Option<Name>,
    helo_name: Option<Name>,
    misc_timeout: Option<Duration>,
    udp: crate::check::udp::UdpSpec,
    file: Option<PathText>,
    dns: DnsCheck,
    file_weight: (i32, bool),
}

impl CheckerKeys {
    fn new() -> Self {
        let urls = Vec::new();
        let virtualhost = None;
        let http_protocol = HttpVersion::Http10;
        let tls = TlsOptions {
            verify: false,
            ca_file: None,
            sni: None,
        };
        let misc_path = None;
        let misc_dynamic = false;
        let user = None;
        let helo_name = None;
        let misc_timeout = None;
        let udp = crate::check::udp::UdpSpec::default();
        let file = None;
        let dns = DnsCheck {
            name: String::new(),
            qtype: 6,
        };
        let file_weight = (1, false);
        CheckerKeys {
            urls,
            virtualhost,
            http_protocol,
            tls,
            misc_path,
            misc_dynamic,
            user,
            helo_name,
            misc_timeout,
            udp,
            file,
            dns,
            file_weight,
        }
    }

    /// One kind-specific key of a checker section (others are ignored here).
    fn read(
        &mut self,
        reader: &Reader<'_, '_>,
        kind: &str,
        key: &str,
        entry: &Entry<'_>,
    ) -> Result<(), ConfigError> {
        match key {
            "url" => {
                if self.urls.len() >= crate::limits::MAX_URLS_PER_CHECK {
                    return Err(reader.error(
                        entry,
                        ConfigErrorKind::OverCapacity {
                            limit: "MAX_URLS_PER_CHECK",
                            max: crate::limits::MAX_URLS_PER_CHECK,
                        },
                    ));
                }
                self.urls.push(read_url(reader, entry)?);
            }
            "virtualhost" => self.virtualhost = Some(reader.name(entry)?),
            "http_protocol" => {
                self.http_protocol = match reader.text(entry)? {
                    "1.0" => HttpVersion::Http10,
                    "1.1" => HttpVersion::Http11,
                    _ => return Err(reader.bad(entry, "must be 1.0 or 1.1")),
                }
            }
            "verify" => self.tls.verify = reader.flag(entry)?,
            "ca_file" => self.tls.ca_file = Some(reader.path(entry)?),
            "sni" => self.tls.sni = Some(reader.name(entry)?),
            "helo_name" => self.helo_name = Some(reader.name(entry)?),
            "misc_path" => self.misc_path = Some(reader.command(entry)?),
            "misc_timeout" => {
                self.misc_timeout = Some(
                    reader
                        .duration(entry, Duration::from_millis(10)..=Duration::from_secs(3600))?,
                )
            }
            "misc_dynamic" => self.misc_dynamic = reader.flag(entry)?,
            "user" => self.user = Some(reader.name(entry)?),
            "payload" => {
                let text = reader.text(entry)?;
                self.udp.payload = crate::check::udp::parse_hex(text, false)
                    .map_err(|e| reader.bad(entry, e.to_string()))?
                    .0;
            }
            "require_reply" => {
                // Bare or `yes`: any reply; `no`: none needed; else the reply's
                // bytes in hex (`0` and `1` are hex here, as in keepalived).
                require_reply(reader, entry, &mut self.udp)?;
            }
            "file" => self.file = Some(reader.path(entry)?),
            "type" => {
                let names: Vec<&str> = crate::check::dns::DNS_TYPES.iter().map(|t| t.0).collect();
                self.dns.qtype =
                    crate::check::dns::dns_type(reader.text(entry)?).ok_or_else(|| {
                        reader.bad(entry, format!("must be one of {}", names.join(", ")))
                    })?;
            }
            "name" => {
                let text = unquote(reader.text(entry)?);
                crate::check::dns::DnsQuery::new(text, 1)
                    .map_err(|e| reader.bad(entry, e.to_string()))?;
                self.dns.name = text.to_owned();
            }
            "weight" if kind == "file_check" => {
                self.file_weight = file_weight_of(reader, entry)?;
            }
            "min_reply_length" => self.udp.min_reply_len = reader.int(entry, 0..=u16::MAX)?,
            "max_reply_length" => self.udp.max_reply_len = reader.int(entry, 0..=u16::MAX)?,

            _ => {}
        }
        Ok(())
    }

    /// The check kind, with the checks each kind needs.
    fn into_kind(self, reader: &Reader<'_, '_>, kind: &str) -> Result<CheckKind, ConfigError> {
        Ok(match kind {
            "tcp_check" => CheckKind::Tcp,
            "http_get" | "ssl_get" => http_check(
                reader,
                self.urls,
                self.virtualhost,
                self.http_protocol,
                self.tls,
                kind,
            )?,
            "udp_check" => udp_check(reader, self.udp)?,
            "ping_check" => CheckKind::Ping,
            "dns_check" => CheckKind::Dns(Box::new(self.dns)),
            "file_check" => CheckKind::File(Box::new(FileCheck {
                path: self.file.ok_or_else(|| reader.missing("file"))?,
                weight: self.file_weight.0,
                reverse: self.file_weight.1,
            })),
            "smtp_check" => CheckKind::Smtp {
                // Empty = not set (a name is never empty): validate fills in router_id.
                helo_name: self.helo_name.unwrap_or_default(),
            },
            _ => CheckKind::Misc(Box::new(MiscCheck {
                path: self.misc_path.ok_or_else(|| reader.missing("misc_path"))?,
                // Zero = not set (the key's range starts at 10 ms): validate uses delay_loop.
                timeout: self.misc_timeout.unwrap_or(Duration::ZERO),
                dynamic: self.misc_dynamic,
                user: self.user,
            })),
        })
    }
}

/// `[tcp_check|http_get|ssl_get|smtp_check|misc_check VS/ADDR:PORT]`; `kind` is lowercase.
pub(crate) fn read_checker<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
    kind: &str,
) -> Result<RawChecker<'a>, ConfigError> {
    let (vs, ip, port) = target(origin, section)?;
    let keys = checker_keys(kind);
    let reader = Reader::new(origin, section, keys)?;
    let mut raw = RawChecker {
        virtual_server: vs,
        ip,
        port,
        title: reader.title,
        line: section.line,
        kind: CheckKind::Tcp,
        timing: TimingOptions::default(),
        connect_ip: None,
        connect_port: None,
        bindto: None,
        hosts: Vec::new(),
    };
    let mut kind_keys = CheckerKeys::new();
    for (key, entry) in reader.entries() {
        if raw.timing.read(&reader, key, entry)? {
            continue;
        }
        match key {
            "connect_ip" => raw.connect_ip = Some(reader.ip(entry)?),
            "connect_port" => raw.connect_port = Some(reader.int(entry, 1..=65535u16)?),
            "bindto" => raw.bindto = Some(reader.ip(entry)?),
            "host" => raw.hosts.push(read_smtp_host(&reader, entry)?),
            _ => kind_keys.read(&reader, kind, key, entry)?,
        }
    }
    check_bindto_family(&reader, raw.connect_ip, raw.bindto)?;
    raw.kind = kind_keys.into_kind(&reader, kind)?;
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_modes_and_facilities() {
        assert_eq!(socket_mode("0600"), Some(0o600));
        assert_eq!(socket_mode("660"), Some(0o660));
        assert_eq!(socket_mode("0666"), Some(0o666));
        assert_eq!(socket_mode("0700"), None, "execute bits");
        assert_eq!(socket_mode("0460"), None, "owner without write");
        assert_eq!(socket_mode("0680"), None);
        assert_eq!(socket_mode("04600"), None);
        assert_eq!(socket_mode(""), None);
        assert_eq!(syslog_facility("daemon"), Some(3));
        assert_eq!(syslog_facility("local0"), Some(16));
        assert_eq!(syslog_facility("local7"), Some(23));
        assert_eq!(syslog_facility("local8"), None);
        assert_eq!(syslog_facility("local07"), None);
        assert_eq!(syslog_facility("kern"), None);
    }
}
