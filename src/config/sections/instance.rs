//! `[vrrp_instance NAME]`: a key loop, then the named checks (state,
//! advert_int, authentication, vips, source families, strict mode, VMAC).

use std::net::IpAddr;
use std::time::Duration;

use crate::limits::{MAX_ADVERT_VIPS, MAX_VIPS_PER_INSTANCE};

use super::super::conflict::{Conflict, StrictConflict};
use super::super::error::{ConfigError, ConfigErrorKind, ConfigWarning};
use super::super::ini::{Entry, Section, Title};
use super::super::keys;
use super::super::model::*;
use super::super::parse::*;
use super::super::ranges;
use super::values::*;

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
    /// What strict mode forbids and this section has, with its line.
    pub strict_conflicts: Vec<(usize, StrictConflict)>,
    pub vrid_line: usize,
    pub sync_daemon_line: usize,
    /// Line of `use_vmac` (0 when absent).
    pub vmac_line: usize,
    /// Warnings raised while reading the section.
    pub warnings: Vec<ConfigWarning>,
}

/// `[vrrp_instance NAME]`: every key, then the checks that combine them.
pub(crate) fn read_instance<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
) -> Result<RawInstance<'a>, ConfigError> {
    let name = simple_name(origin, section)?;
    let reader = Reader::new(origin, section, keys::INSTANCE)?;
    let mut keys = InstanceKeys::new();
    for (key, entry) in reader.entries() {
        keys.read(&reader, key, entry)?;
    }
    keys.finish(&reader, section, name)
}

/// A `[vrrp_instance]`'s keys as read, before the checks that combine them.
struct InstanceKeys<'e, 'a> {
    state: VrrpState,
    interface: Option<Name>,
    sync_iface: Option<Name>,
    vrid: Option<(u8, usize)>,
    priority: Option<u8>,
    advert_int: Option<&'e Entry<'a>>,
    version: VrrpVersion,
    auth_type: Option<(&'a str, &'e Entry<'a>)>,
    auth_pass: Option<(&'a str, &'e Entry<'a>)>,
    vips: Vec<(&'a str, &'e Entry<'a>)>,
    nopreempt: Option<(bool, &'e Entry<'a>)>,
    dont_track_primary: bool,
    preempt_delay: Duration,
    down_timer_adverts: Option<u8>,
    mcast_src_ip: Option<IpAddr>,
    unicast_src_ip: Option<IpAddr>,
    unicast_peers: heapless::Vec<IpAddr, { crate::limits::MAX_UNICAST_PEERS }>,
    track_interfaces: heapless::Vec<TrackInterface, { crate::limits::MAX_TRACKS_PER_INSTANCE }>,
    track_scripts: Vec<(Name, Option<i32>, usize)>,
    track_files: heapless::Vec<TrackFile, { crate::limits::MAX_TRACKS_PER_INSTANCE }>,
    track_processes: Vec<RawTrackProcess>,
    garp_master_delay: Option<Duration>,
    garp_master_repeat: Option<u32>,
    garp_master_refresh: Option<Option<Duration>>,
    garp_master_refresh_repeat: Option<u32>,
    strict_mode: Option<bool>,
    notify: Notify,
    native_ipv6: bool,
    virtual_routes: Vec<Route>,
    virtual_rules: Vec<Rule>,
    use_vmac: Option<(Option<Name>, &'e Entry<'a>)>,
    vmac_xmit_base: Option<&'e Entry<'a>>,
}

impl<'e, 'a> InstanceKeys<'e, 'a> {
    /// Nothing read yet: the keys' defaults.
    fn new() -> Self {
        InstanceKeys {
            state: VrrpState::Backup,
            interface: None,
            sync_iface: None,
            vrid: None,
            priority: None,
            advert_int: None,
            version: VrrpVersion::V2,
            auth_type: None,
            auth_pass: None,
            vips: Vec::new(),
            nopreempt: None,
            dont_track_primary: false,
            preempt_delay: Duration::ZERO,
            down_timer_adverts: None,
            mcast_src_ip: None,
            unicast_src_ip: None,
            unicast_peers: heapless::Vec::new(),
            track_interfaces: heapless::Vec::new(),
            track_scripts: Vec::new(),
            track_files: heapless::Vec::new(),
            track_processes: Vec::new(),
            garp_master_delay: None,
            garp_master_repeat: None,
            garp_master_refresh: None,
            garp_master_refresh_repeat: None,
            strict_mode: None,
            notify: Notify::default(),
            native_ipv6: false,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            use_vmac: None,
            vmac_xmit_base: None,
        }
    }

    /// One key: every key `keys.rs` declares for `[vrrp_instance]` has an arm
    /// here or in the helpers it calls.
    fn read(
        &mut self,
        reader: &Reader<'_, 'a>,
        key: &str,
        entry: &'e Entry<'a>,
    ) -> Result<(), ConfigError> {
        if notify_key(reader, &mut self.notify, key, entry)?
            || self.read_list(reader, key, entry)?
            || self.read_garp(reader, key, entry)?
        {
            return Ok(());
        }
        match key {
            "state" => self.state = state_of(reader, entry)?,
            "interface" => self.interface = Some(reader.interface(entry, reader.text(entry)?)?),
            "lvs_sync_daemon_interface" => {
                self.sync_iface = Some(reader.interface(entry, reader.text(entry)?)?)
            }
            "virtual_router_id" => self.vrid = Some((reader.int(entry, ranges::VRID)?, entry.line)),
            "priority" => self.priority = Some(reader.int(entry, ranges::PRIORITY)?),
            "advert_int" => self.advert_int = Some(entry),
            "version" => self.version = version_of(reader, entry)?,
            "auth_type" => self.auth_type = Some((reader.text(entry)?, entry)),
            "auth_pass" => self.auth_pass = Some((unquote(reader.text(entry)?), entry)),
            "nopreempt" => self.nopreempt = Some((reader.flag(entry)?, entry)),
            "dont_track_primary" => self.dont_track_primary = reader.flag(entry)?,
            "use_vmac" => self.use_vmac = use_vmac_of(reader, entry)?,
            "vmac_xmit_base" => self.vmac_xmit_base = reader.flag(entry)?.then_some(entry),
            "preempt_delay" => {
                self.preempt_delay = reader.duration(entry, ranges::PREEMPT_DELAY)?
            }
            "down_timer_adverts" => {
                self.down_timer_adverts = Some(reader.int(entry, ranges::DOWN_TIMER_ADVERTS)?)
            }
            "mcast_src_ip" => self.mcast_src_ip = Some(reader.ip(entry)?),
            "unicast_src_ip" => self.unicast_src_ip = Some(reader.ip(entry)?),
            "native_ipv6" => self.native_ipv6 = reader.flag(entry)?,
            "strict_mode" => self.strict_mode = Some(reader.flag(entry)?),
            _ => return Err(reader.unread(entry)),
        }
        Ok(())
    }

    /// The list keys (addresses, peers, tracks, routes); false for others.
    fn read_list(
        &mut self,
        reader: &Reader<'_, 'a>,
        key: &str,
        entry: &'e Entry<'a>,
    ) -> Result<bool, ConfigError> {
        const TRACKS: &str = "MAX_TRACKS_PER_INSTANCE";
        match key {
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                self.vips.push((reader.text(entry)?, entry))
            }
            "unicast_peer" => push_unicast_peer(reader, entry, &mut self.unicast_peers)?,
            "track_interface" => {
                let item = track_interface_of(reader, entry)?;
                push_capped(reader, entry, &mut self.track_interfaces, item, TRACKS)?;
            }
            "track_script" => push_track_script(reader, entry, &mut self.track_scripts)?,
            "track_file" => {
                let item = read_track_file(reader, entry)?;
                push_capped(reader, entry, &mut self.track_files, item, TRACKS)?;
            }
            "track_process" => {
                let item = read_track_process(reader, entry, self.track_processes.len())?;
                self.track_processes.push(item)
            }
            "virtual_routes" => {
                let route = read_route(reader, entry)?;
                let max = crate::limits::MAX_ROUTES_PER_INSTANCE;
                let routes = &mut self.virtual_routes;
                push_limited(reader, entry, routes, route, "MAX_ROUTES_PER_INSTANCE", max)?;
            }
            "virtual_rules" => {
                let rule = read_rule(reader, entry)?;
                let max = crate::limits::MAX_RULES_PER_INSTANCE;
                let rules = &mut self.virtual_rules;
                push_limited(reader, entry, rules, rule, "MAX_RULES_PER_INSTANCE", max)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The instance's GARP overrides of the global defaults; false for other keys.
    fn read_garp(
        &mut self,
        reader: &Reader<'_, 'a>,
        key: &str,
        entry: &'e Entry<'a>,
    ) -> Result<bool, ConfigError> {
        match key {
            "garp_master_delay" => {
                self.garp_master_delay = Some(reader.duration(entry, ranges::GARP_MASTER_DELAY)?)
            }
            "garp_master_repeat" => {
                self.garp_master_repeat = Some(reader.int(entry, ranges::GARP_REPEAT)?)
            }
            "garp_master_refresh_repeat" => {
                self.garp_master_refresh_repeat = Some(reader.int(entry, ranges::GARP_REPEAT)?)
            }
            "garp_master_refresh" => {
                let d = reader.duration(entry, ranges::GARP_MASTER_REFRESH)?;
                self.garp_master_refresh = Some((!d.is_zero()).then_some(d));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The checks that combine keys, in order: required keys, state,
    /// advert_int, authentication, vips, source families, then
    /// [`Self::finish_strict_and_vmac`].
    fn finish(
        mut self,
        reader: &Reader<'_, 'a>,
        section: &Section<'_, 'a>,
        name: Name,
    ) -> Result<RawInstance<'a>, ConfigError> {
        let interface = self
            .interface
            .take()
            .ok_or_else(|| reader.missing("interface"))?;
        let (virtual_router_id, vrid_line) = self
            .vrid
            .ok_or_else(|| reader.missing("virtual_router_id"))?;
        check_state(
            reader,
            section.line,
            self.state,
            self.priority,
            self.nopreempt,
        )?;
        if self.native_ipv6 {
            self.version = VrrpVersion::V3;
        }
        let advert_int = advert_int_of(reader, self.advert_int, self.version)?;
        let authentication = authentication(
            reader,
            self.auth_type,
            self.auth_pass,
            self.version,
            self.state,
            self.priority,
        )?;
        let mut warnings = Vec::new();
        let vips = std::mem::take(&mut self.vips);
        let (mut vips, mut excluded) = vips_of(reader, vips, &interface)?;
        let version = self.version;
        let auth = authentication.as_ref();
        advert_overflow(
            reader,
            &mut vips,
            &mut excluded,
            version,
            auth,
            &mut warnings,
        );
        if vips.is_empty() {
            return Err(reader.missing("virtual_ipaddress"));
        }
        let ipv6 = vips
            .first()
            .is_some_and(|v: &VirtualIp| v.address.is_ipv6());
        let (mcast, unicast) = (self.mcast_src_ip, self.unicast_src_ip);
        check_source_families(reader, section, ipv6, mcast, unicast)?;
        let checked = Checked {
            name,
            line: section.line,
            interface,
            virtual_router_id,
            advert_int,
            authentication,
            vips,
            excluded,
            xmit_base: false,
        };
        self.finish_strict_and_vmac(reader, checked, vrid_line, warnings)
    }

    /// The last checks (strict mode's conflicts, the VMAC's transmit
    /// interface) and the instance with what validate resolves later.
    fn finish_strict_and_vmac(
        mut self,
        reader: &Reader<'_, 'a>,
        mut checked: Checked,
        vrid_line: usize,
        mut warnings: Vec<ConfigWarning>,
    ) -> Result<RawInstance<'a>, ConfigError> {
        let strict_conflicts = strict_conflicts_of(
            reader,
            self.auth_type.map(|(_, entry)| entry.line),
            self.preempt_delay,
            self.down_timer_adverts.unwrap_or(3),
            !self.unicast_peers.is_empty(),
            self.state,
            self.priority,
        );
        checked.xmit_base = vmac_xmit_base_of(
            reader,
            self.vmac_xmit_base,
            &self.use_vmac,
            &checked.interface,
            !self.unicast_peers.is_empty(),
            &mut warnings,
        )?;
        Ok(RawInstance {
            title: reader.title,
            track_scripts: std::mem::take(&mut self.track_scripts),
            track_processes: std::mem::take(&mut self.track_processes),
            garp_master_delay: self.garp_master_delay,
            garp_master_repeat: self.garp_master_repeat,
            garp_master_refresh: self.garp_master_refresh,
            garp_master_refresh_repeat: self.garp_master_refresh_repeat,
            strict_mode: self.strict_mode,
            strict_conflicts,
            vrid_line,
            sync_daemon_line: reader.line_of("lvs_sync_daemon_interface"),
            vmac_line: reader.line_of("use_vmac"),
            warnings,
            instance: self.into_instance(checked),
        })
    }

    /// The instance from its keys and the values the checks derived.
    fn into_instance(self, checked: Checked) -> VrrpInstance {
        VrrpInstance {
            name: checked.name,
            line: checked.line,
            state: self.state,
            interface: checked.interface,
            lvs_sync_daemon_interface: self.sync_iface,
            virtual_router_id: checked.virtual_router_id,
            priority: self.priority.unwrap_or(100),
            advert_int: checked.advert_int,
            version: self.version,
            authentication: checked.authentication,
            virtual_ipaddresses: checked.vips,
            virtual_ipaddresses_excluded: checked.excluded,
            nopreempt: self.nopreempt.is_some_and(|(n, _)| n),
            dont_track_primary: self.dont_track_primary,
            preempt_delay: self.preempt_delay,
            down_timer_adverts: self.down_timer_adverts.unwrap_or(3),
            mcast_src_ip: self.mcast_src_ip,
            unicast_src_ip: self.unicast_src_ip,
            unicast_peers: self.unicast_peers,
            track_interfaces: self.track_interfaces,
            track_scripts: heapless::Vec::new(),
            track_files: self.track_files,
            track_processes: heapless::Vec::new(),
            // Filled in from the global defaults and the overrides by validate.
            garp_master_delay: Duration::from_secs(5),
            garp_master_repeat: 5,
            garp_master_refresh: None,
            garp_master_refresh_repeat: 1,
            notify: self.notify,
            native_ipv6: self.native_ipv6,
            strict_mode: false,
            virtual_routes: self.virtual_routes,
            virtual_rules: self.virtual_rules,
            use_vmac: self.use_vmac.map(|(n, _)| n),
            vmac_xmit_base: checked.xmit_base,
        }
    }
}

/// What [`InstanceKeys::finish`]'s checks derived from the keys.
struct Checked {
    name: Name,
    line: usize,
    interface: Name,
    virtual_router_id: u8,
    advert_int: Duration,
    authentication: Option<Authentication>,
    vips: Vec<VirtualIp>,
    excluded: Vec<VirtualIp>,
    xmit_base: bool,
}

// keepalived's strict mode (vrrp_complete_instance) changes or refuses
// these; lvsd refuses them when the instance turns out to be strict
// (which needs the global vrrp_strict, so validate decides).
pub(crate) fn strict_conflicts_of(
    reader: &Reader<'_, '_>,
    auth_line: Option<usize>,
    preempt_delay: Duration,
    down_timer_adverts: u8,
    unicast: bool,
    state: VrrpState,
    priority: Option<u8>,
) -> Vec<(usize, StrictConflict)> {
    let mut strict_conflicts = Vec::new();
    if let Some(line) = auth_line {
        strict_conflicts.push((line, StrictConflict::Authentication));
    }
    if !preempt_delay.is_zero() {
        strict_conflicts.push((
            reader.line_of("preempt_delay"),
            StrictConflict::PreemptDelay,
        ));
    }
    if down_timer_adverts != 3 {
        strict_conflicts.push((
            reader.line_of("down_timer_adverts"),
            StrictConflict::DownTimerAdverts,
        ));
    }
    if unicast {
        strict_conflicts.push((reader.line_of("unicast_peer"), StrictConflict::UnicastPeers));
    }
    if (state == VrrpState::Master) != (priority == Some(255)) {
        strict_conflicts.push((
            reader.line_of("state").max(reader.line_of("priority")),
            StrictConflict::StateAndPriority,
        ));
    }
    strict_conflicts
}

/// `state MASTER` needs an explicit priority, and no nopreempt.
pub(crate) fn check_state(
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
            ConfigErrorKind::Conflict(Conflict::MasterWithoutPriority),
        ));
    }
    if let Some((true, entry)) = nopreempt {
        if state == VrrpState::Master {
            return Err(reader.error(entry, ConfigErrorKind::Conflict(Conflict::NopreemptMaster)));
        }
    }
    Ok(())
}

/// `advert_int`: whole seconds for VRRPv2, centiseconds for VRRPv3.
pub(crate) fn advert_int_of(
    reader: &Reader<'_, '_>,
    advert_int: Option<&Entry<'_>>,
    version: VrrpVersion,
) -> Result<Duration, ConfigError> {
    Ok(match advert_int {
        None => Duration::from_secs(1),
        Some(entry) => match version {
            // RFC 3768 section 5.3.7: whole seconds in one byte.
            VrrpVersion::V2 => {
                let range = ranges::ADVERT_INT_V2;
                let d = reader.duration(entry, Duration::from_millis(1)..=*range.end())?;
                if d.subsec_nanos() != 0 || !range.contains(&d) {
                    return Err(reader.bad(
                        entry,
                        ranges::around(
                            "VRRPv2 needs whole seconds ",
                            &range,
                            " (fractions need version = 3)",
                        ),
                    ));
                }
                d
            }
            // RFC 5798 section 5.2.7: centiseconds in 12 bits.
            VrrpVersion::V3 => {
                let range = ranges::ADVERT_INT_V3;
                let d = reader.duration(entry, range.clone())?;
                if d.subsec_nanos() % 10_000_000 != 0 {
                    return Err(reader.bad(
                        entry,
                        ranges::around("VRRPv3 advert_int is in centiseconds, ", &range, ""),
                    ));
                }
                d
            }
        },
    })
}

/// `auth_type` + `auth_pass` (VRRPv2 only).
pub(crate) fn authentication(
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
                ConfigErrorKind::Conflict(Conflict::PassWithoutType),
            ))
        }
        (Some(_), None) => return Err(reader.missing("auth_pass")),
        (Some((kind, type_entry)), Some((pass, pass_entry))) => {
            if version == VrrpVersion::V3 {
                return Err(reader.error(
                    type_entry,
                    ConfigErrorKind::Conflict(Conflict::V3Authentication),
                ));
            }
            let mut secret = heapless::String::<8>::new();
            if !ranges::AUTH_PASS_BYTES.contains(&pass.len()) || secret.push_str(pass).is_err() {
                // keepalived truncates silently; we refuse.
                return Err(reader.bad(
                    pass_entry,
                    ranges::around(
                        "must be ",
                        &ranges::AUTH_PASS_BYTES,
                        " bytes (RFC 3768 section 5.3.10)",
                    ),
                ));
            }
            match kind.to_ascii_uppercase().as_str() {
                "PASS" => Some(Authentication::Pass(secret)),
                "AH" => {
                    // keepalived 2.2.7 clears `state MASTER` of a non-owner with
                    // AH: it must hear the current sequence number before it
                    // takes over, or its adverts look like replays. lvsd says so.
                    if state == VrrpState::Master && priority != Some(255) {
                        return Err(
                            reader.error(type_entry, ConfigErrorKind::Conflict(Conflict::AhMaster))
                        );
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
pub(crate) fn vips_of(
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

pub(crate) fn advert_overflow(
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
pub(crate) fn check_source_families(
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
                ConfigErrorKind::Conflict(Conflict::VipFamily),
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
pub(crate) fn vmac_xmit_base_of(
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

pub(crate) fn state_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<VrrpState, ConfigError> {
    reader.word_any_case(
        entry,
        &[("MASTER", VrrpState::Master), ("BACKUP", VrrpState::Backup)],
    )
}

pub(crate) fn version_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<VrrpVersion, ConfigError> {
    reader.word(entry, &[("2", VrrpVersion::V2), ("3", VrrpVersion::V3)])
}

/// `use_vmac [NAME]` (`no` turns it off).
pub(crate) fn use_vmac_of<'e, 'a>(
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
pub(crate) fn push_unicast_peer<const N: usize>(
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
pub(crate) fn push_track_script(
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
pub(crate) fn track_interface_of(
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

/// A VMAC name as keepalived's `dev_name_valid()` takes it: 1..=15 bytes, not `.`
/// or `..`, without `/`, `:` or white space (a `:` makes keepalived read a MAC).
pub(crate) fn vmac_name(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<Name, ConfigError> {
    let text = reader.text(entry)?;
    let bad = !ranges::VMAC_NAME_BYTES.contains(&text.len())
        || text == "."
        || text == ".."
        || text.contains(['/', ':'])
        || text.chars().any(char::is_whitespace);
    let mut name = Name::new();
    if bad || name.push_str(text).is_err() {
        return Err(reader.bad(
            entry,
            ranges::around(
                "a VMAC name must be ",
                &ranges::VMAC_NAME_BYTES,
                " bytes, not `.` or `..`, without `/`, `:` or spaces \
                 (a MAC address is not supported: lvsd uses the RFC 5798 virtual MAC)",
            ),
        ));
    }
    Ok(name)
}

/// How many addresses one advert carries, by keepalived's rule
/// (vrrp_complete_instance): what fits in the MTU after the Ethernet, IP and
/// VRRP headers (and for VRRPv2 the 8 authentication bytes, plus the AH
/// header), at most 255 (the count field is 8 bits, RFC 3768 section 5.3.5).
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
