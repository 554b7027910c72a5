//! `[global]`: daemon-wide settings, the IPVS sync daemon and timeouts,
//! logging, the control socket, static addresses, routes and rules.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use super::super::error::{ConfigError, ConfigErrorKind};
use super::super::ini::{Entry, Section, Title};
use super::super::keys;
use super::super::model::*;
use super::super::parse::*;
use super::super::ranges::{self, RangeText};
use super::values::*;

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
pub(crate) fn read_sync_daemon(
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
        let number = |range: RangeInclusive<u32>| -> Result<u32, ConfigError> {
            let what = range.text();
            let v = need(&what)?;
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
            "id" => d.sync_id = Some(number(ranges::SYNC_ID)? as u8),
            "maxlen" => d.max_len = Some(number(ranges::SYNC_MAX_LEN)? as u16),
            "port" => d.port = Some(number(ranges::SYNC_PORT)? as u16),
            "ttl" => d.ttl = Some(number(ranges::SYNC_TTL)? as u8),
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
pub(crate) fn read_lvs_timeouts(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<Timeouts, ConfigError> {
    let form = ranges::around(
        "must be `[tcp SECONDS] [tcpfin SECONDS] [udp SECONDS]`, at least one, each ",
        &ranges::LVS_TIMEOUT,
        "",
    );
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
            .filter(|v| ranges::LVS_TIMEOUT.contains(v))
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

/// `[global]`.
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
    let reader = Reader::new(origin, section, keys::GLOBAL)?;
    let mut global = default_global();
    global.line = section.line;
    let mut sync_daemon = None;
    for (key, entry) in reader.entries() {
        if log_key(&reader, &mut global, key, entry)?
            || static_key(&reader, &mut global, key, entry)?
            || lvs_key(&reader, &mut global, &mut sync_daemon, key, entry)?
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
                global.notify_timeout = reader.duration(entry, ranges::NOTIFY_TIMEOUT)?
            }
            "vrrp_garp_master_delay" => {
                global.vrrp_garp_master_delay = reader.duration(entry, ranges::GARP_MASTER_DELAY)?
            }
            "vrrp_garp_master_repeat" => {
                global.vrrp_garp_master_repeat = reader.int(entry, ranges::GARP_REPEAT)?
            }
            "vrrp_garp_master_refresh" => {
                let d = reader.duration(entry, ranges::GARP_MASTER_REFRESH)?;
                global.vrrp_garp_master_refresh = (!d.is_zero()).then_some(d);
            }
            "vrrp_garp_master_refresh_repeat" => {
                global.vrrp_garp_master_refresh_repeat = reader.int(entry, ranges::GARP_REPEAT)?
            }
            "reconcile_interval" => {
                global.reconcile_interval = reader.duration(entry, ranges::RECONCILE_INTERVAL)?
            }
            "control_socket" => global.control_socket = reader.path(entry)?,
            "announce_device" => {
                let text = reader.text(entry)?;
                global.announce_device = reader.interface(entry, text)?;
            }
            "announce_maintenance" => global.announce_maintenance = reader.flag(entry)?,
            "metrics_listen" => global.metrics_listen = Some(metrics_listen_of(&reader, entry)?),
            "control_socket_mode" => {
                global.control_socket_mode = control_socket_mode(&reader, entry)?
            }
            "control_socket_group" => global.control_socket_group = Some(reader.name(entry)?),
            "script_capabilities" => {
                global.script_capabilities = script_capabilities_of(&reader, entry)?
            }
            _ => return Err(reader.unread(entry)),
        }
    }
    Ok(RawGlobal {
        global,
        sync_daemon,
        title: reader.title,
    })
}

/// The IPVS keys (`lvs_sync_daemon`, `lvs_timeouts`, `lvs_flush`,
/// `lvs_flush_on_stop`): true when `key` was one of them.
fn lvs_key(
    reader: &Reader<'_, '_>,
    global: &mut Global,
    sync_daemon: &mut Option<RawSyncDaemon>,
    key: &str,
    entry: &Entry<'_>,
) -> Result<bool, ConfigError> {
    match key {
        "lvs_sync_daemon" => *sync_daemon = Some(read_sync_daemon(reader, entry)?),
        "lvs_timeouts" => global.lvs_timeouts = Some(read_lvs_timeouts(reader, entry)?),
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
        _ => return Ok(false),
    }
    Ok(true)
}

/// `control_socket_mode`: see [`socket_mode`].
fn control_socket_mode(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<u32, ConfigError> {
    socket_mode(reader.text(entry)?).ok_or_else(|| {
        reader.bad(
            entry,
            "must be an octal mode with read/write bits only and 0600 set: 0600, 0660 or 0666",
        )
    })
}

/// `metrics_listen = ADDR:PORT`.
pub(crate) fn metrics_listen_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<SocketAddr, ConfigError> {
    let text = reader.text(entry)?;
    let addr: SocketAddr = text
        .trim()
        .parse()
        .map_err(|_| reader.bad(entry, "must be ADDR:PORT (IPv6 as [ADDR]:PORT)"))?;
    if !ranges::PORT.contains(&addr.port()) {
        return Err(reader.bad(entry, "port 0 is not a port to scrape"));
    }
    Ok(addr)
}

/// `log_target`, `log_facility`, `log_format`: true when `key` was one of them.
pub(crate) fn log_key(
    reader: &Reader<'_, '_>,
    global: &mut Global,
    key: &str,
    entry: &Entry<'_>,
) -> Result<bool, ConfigError> {
    match key {
        "log_target" => {
            global.log_target = reader.word(
                entry,
                &[("stderr", LogTarget::Stderr), ("syslog", LogTarget::Syslog)],
            )?
        }
        "log_facility" => {
            global.log_facility = syslog_facility(reader.text(entry)?).ok_or_else(|| {
                reader.bad(entry, "must be daemon, user, syslog or local0..local7")
            })?
        }
        "log_format" => {
            global.log_format = reader.word(
                entry,
                &[("text", LogFormat::Text), ("logfmt", LogFormat::Logfmt)],
            )?
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `script_capabilities`: capability names, `all` or `none`, as a bit set.
pub(crate) fn script_capabilities_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<u64, ConfigError> {
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
pub(crate) fn static_key(
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
pub(crate) fn syslog_facility(text: &str) -> Option<u8> {
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
pub(crate) fn socket_mode(text: &str) -> Option<u32> {
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
        announce_device: name(crate::config::announce::DEFAULT_DEVICE),
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
