//! Checker sections (`[tcp_check|http_get|ssl_get|smtp_check|udp_check|
//! ping_check|dns_check|file_check|misc_check VS/ADDR:PORT]`).

use std::net::IpAddr;
use std::time::Duration;

use super::super::conflict::Conflict;
use super::super::error::{ConfigError, ConfigErrorKind};
use super::super::ini::{Entry, Section, Title};
use super::super::keys;
use super::super::model::*;
use super::super::parse::*;
use super::super::ranges;
use super::values::*;

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
pub(crate) fn read_smtp_host(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<SmtpHost, ConfigError> {
    let form = ranges::around(
        "must be `[connect_ip IP] [connect_port ",
        &ranges::PORT,
        "] [bindto IP] [connect_timeout SECONDS]`",
    );
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
                        .filter(|p| ranges::PORT.contains(p))
                        .ok_or_else(bad)?,
                )
            }
            "connect_timeout" => {
                let secs: f64 = pair[1].parse().map_err(|_| bad())?;
                let (low, high) = (ranges::CHECK_TIME.start(), ranges::CHECK_TIME.end());
                if !(low.as_secs_f64()..=high.as_secs_f64()).contains(&secs) {
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

/// Parse one `url` line: `path=/ [digest=HEX] [status_code=200-299,301] [virtualhost=NAME]`
/// (keepalived's `path / digest HEX` word pairs are accepted too).
pub(crate) fn read_url(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Url, ConfigError> {
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
pub(crate) fn url_digest(
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
pub(crate) fn url_status_codes<const N: usize>(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    value: &str,
    status_codes: &mut heapless::Vec<std::ops::RangeInclusive<u16>, N>,
) -> Result<(), ConfigError> {
    for part in value.split(',') {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        let range = match (low.parse::<u16>(), high.parse::<u16>()) {
            (Ok(l), Ok(h))
                if ranges::HTTP_STATUS.contains(&l)
                    && ranges::HTTP_STATUS.contains(&h)
                    && l <= h =>
            {
                l..=h
            }
            _ => {
                return Err(reader.bad(
                    entry,
                    ranges::around(
                        "status_code must be codes or ranges in ",
                        &ranges::HTTP_STATUS,
                        ", comma separated (200-299,301)",
                    ),
                ))
            }
        };
        push_capped(reader, entry, status_codes, range, "MAX_STATUS_RANGES")?;
    }
    Ok(())
}

/// The section bit of a checker kind (lowercase; anything else is misc_check).
pub(crate) fn checker_keys(kind: &str) -> u32 {
    keys::section_of_kind(kind)
        .filter(|bit| bit & keys::CHECKERS != 0)
        .unwrap_or(keys::MISC_CHECK)
}

pub(crate) fn require_reply(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    udp: &mut crate::check::udp::UdpSpec,
) -> Result<(), ConfigError> {
    match entry.value.map(unquote) {
        None | Some("" | "yes") => udp.require_reply = true,
        Some("no") => udp.require_reply = false,
        Some(text) => {
            let (data, mask) =
                crate::check::udp::parse_hex(text, true).map_err(|e| reader.invalid(entry, e))?;
            udp.require_reply = true;
            udp.reply = data;
            udp.mask = mask;
        }
    }
    Ok(())
}

/// FILE_CHECK `weight = N [reverse]`.
pub(crate) fn file_weight_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<(i32, bool), ConfigError> {
    let form = ranges::around("weight = N [reverse], N in ", &ranges::FILE_WEIGHT, "");
    let text = reader.text(entry)?;
    let mut words = text.split_whitespace();
    let n = words
        .next()
        .and_then(|w| w.parse::<i32>().ok())
        .filter(|w| ranges::FILE_WEIGHT.contains(w))
        .ok_or_else(|| reader.bad(entry, &form))?;
    let reverse = match (words.next(), words.next()) {
        (None, _) | (Some("noreverse"), None) => false,
        (Some("reverse"), None) => true,
        _ => return Err(reader.bad(entry, form)),
    };
    Ok((n, reverse))
}

pub(crate) fn check_bindto_family(
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
                ConfigErrorKind::Conflict(Conflict::BindtoFamily),
            ));
        }
    }
    Ok(())
}

/// HTTP_GET and SSL_GET: at least one url; ca_file only with verify.
pub(crate) fn http_check(
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
            ConfigErrorKind::Conflict(Conflict::CaFileWithoutVerify),
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
pub(crate) fn udp_check(
    reader: &Reader<'_, '_>,
    udp: crate::check::udp::UdpSpec,
) -> Result<CheckKind, ConfigError> {
    if udp.min_reply_len > udp.max_reply_len {
        let line = reader.line_of("min_reply_length");
        return Err(reader.error_at(
            line,
            Some("min_reply_length"),
            ConfigErrorKind::Conflict(Conflict::ReplyLengths),
        ));
    }
    Ok(CheckKind::Udp(std::sync::Arc::new(udp)))
}

/// A checker section's kind-specific keys, while they are read.
pub(crate) struct CheckerKeys {
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
                self.misc_timeout = Some(reader.duration(entry, ranges::SCRIPT_TIME)?)
            }
            "misc_dynamic" => self.misc_dynamic = reader.flag(entry)?,
            "user" => self.user = Some(reader.name(entry)?),
            "payload" => {
                let text = reader.text(entry)?;
                self.udp.payload = crate::check::udp::parse_hex(text, false)
                    .map_err(|e| reader.invalid(entry, e))?
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
                crate::check::dns::DnsQuery::new(text, 1).map_err(|e| reader.invalid(entry, e))?;
                self.dns.name = text.to_owned();
            }
            "weight" if kind == "file_check" => {
                self.file_weight = file_weight_of(reader, entry)?;
            }
            "min_reply_length" => {
                self.udp.min_reply_len = reader.int(entry, ranges::REPLY_LENGTH)?
            }
            "max_reply_length" => {
                self.udp.max_reply_len = reader.int(entry, ranges::REPLY_LENGTH)?
            }

            _ => return Err(reader.unread(entry)),
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
            "connect_port" => raw.connect_port = Some(reader.int(entry, ranges::PORT)?),
            "bindto" => raw.bindto = Some(reader.ip(entry)?),
            "host" => raw.hosts.push(read_smtp_host(&reader, entry)?),
            _ => kind_keys.read(&reader, kind, key, entry)?,
        }
    }
    check_bindto_family(&reader, raw.connect_ip, raw.bindto)?;
    raw.kind = kind_keys.into_kind(&reader, kind)?;
    Ok(raw)
}
