//! `[real_server VS/ADDR:PORT]`.

use std::net::IpAddr;

use super::super::conflict::Conflict;
use super::super::error::{ConfigError, ConfigErrorKind};
use super::super::ini::{Section, Title};
use super::super::keys;
use super::super::model::*;
use super::super::parse::*;
use super::super::ranges;
use super::values::*;

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

/// `[real_server VS/ADDR:PORT]`.
pub(crate) fn read_real_server<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
) -> Result<RawRealServer<'a>, ConfigError> {
    let (vs, ip, port) = target(origin, section)?;
    let reader = Reader::new(origin, section, keys::REAL_SERVER)?;
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
            "weight" => raw.weight = reader.int(entry, ranges::REAL_SERVER_WEIGHT)?,
            "lb_kind" => kind = Some((read_forward(&reader, entry)?, entry)),
            "tun_type" => tunnel = Some((read_tun_type(&reader, entry)?, entry)),
            "inhibit_on_failure" => raw.inhibit_on_failure = Some(reader.flag(entry)?),
            "uthreshold" => raw.uthreshold = reader.int(entry, ranges::THRESHOLD)?,
            "lthreshold" => raw.lthreshold = reader.int(entry, ranges::THRESHOLD)?,
            "notify_up" => raw.notify_up = Some(Box::new(reader.command(entry)?)),
            "notify_down" => raw.notify_down = Some(Box::new(reader.command(entry)?)),
            _ => return Err(reader.unread(entry)),
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
            ConfigErrorKind::Conflict(Conflict::Thresholds {
                uthreshold: raw.uthreshold,
            }),
        ));
    }
    Ok(raw)
}
