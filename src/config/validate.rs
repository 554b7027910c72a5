//! Cross-checks and reference resolution: raw sections -> one consistent [`Config`].

use std::net::SocketAddr;
use std::time::Duration;

use super::conflict::Conflict;
use super::error::{suggest, ConfigError, ConfigErrorKind, ConfigWarning};
use super::ini::Title;
use super::model::*;
use super::parse::TimingOptions;
use super::sections::*;
use crate::limits;

/// Everything read from the file, before cross-checks.
pub(crate) struct RawConfig<'a> {
    pub global: Option<RawGlobal<'a>>,
    pub scripts: Vec<VrrpScript>,
    pub track_processes: Vec<VrrpTrackProcess>,
    pub instances: Vec<RawInstance<'a>>,
    pub groups: Vec<RawSyncGroup<'a>>,
    pub virtual_servers: Vec<RawVirtualServer<'a>>,
    pub real_servers: Vec<RawRealServer<'a>>,
    pub checkers: Vec<RawChecker<'a>>,
    pub warnings: Vec<ConfigWarning>,
    pub vs_groups: Vec<super::vs_group::RawVsGroup<'a>>,
}

/// A capacity of limits.rs with its name: `limit!(MAX_X)` is `("MAX_X", limits::MAX_X)`.
macro_rules! limit {
    ($name:ident) => {
        (stringify!($name), limits::$name)
    };
}

/// The error for one entry too many: `limit` is the capacity's name and value.
fn capacity(
    origin: &str,
    line: usize,
    section: impl Into<String>,
    (limit, max): (&'static str, usize),
) -> ConfigError {
    ConfigError::new(origin, line, ConfigErrorKind::OverCapacity { limit, max }).in_section(section)
}

fn reference(
    origin: &str,
    line: usize,
    section: impl Into<String>,
    key: Option<&str>,
    what: &'static str,
    wanted: &str,
    known: &[&str],
) -> ConfigError {
    let suggestion = suggest(wanted, known.iter().copied()).map(str::to_string);
    let error = ConfigError::new(
        origin,
        line,
        ConfigErrorKind::UnknownReference { what, suggestion },
    )
    .in_section(section);
    match key {
        Some(key) => error.at_key(key),
        None => error,
    }
}

/// A route's `dev` and its hops' devices must exist at start (rule `iif` /
/// `oif` go by name: the kernel takes names of interfaces yet to come).
fn route_interfaces(interfaces: &mut Vec<Name>, route: &Route) {
    for dev in route
        .dev
        .iter()
        .chain(route.nexthops.iter().filter_map(|h| h.dev.as_ref()))
    {
        push_interface(interfaces, dev);
    }
}

fn push_interface(interfaces: &mut Vec<Name>, name: &Name) {
    if !interfaces.contains(name) {
        interfaces.push(name.clone());
    }
}

/// The entry of `list` past the capacity `limit` (the first one too many),
/// if any, as an over-capacity error at its line and section (`at` gives both).
fn within<T, S: Into<String>>(
    origin: &str,
    list: &[T],
    limit: (&'static str, usize),
    at: impl Fn(&T) -> (usize, S),
) -> Result<(), ConfigError> {
    match list.get(limit.1) {
        Some(entry) => {
            let (line, section) = at(entry);
            Err(capacity(origin, line, section, limit))
        }
        None => Ok(()),
    }
}

/// Capacities of the top-level tables, reported at the first section too many.
fn check_capacities(origin: &str, raw: &RawConfig<'_>) -> Result<(), ConfigError> {
    within(origin, &raw.scripts, limit!(MAX_VRRP_SCRIPTS), |s| {
        (s.line, format!("vrrp_script {}", s.name))
    })?;
    within(
        origin,
        &raw.track_processes,
        limit!(MAX_TRACK_PROCESSES),
        |p| (p.line, format!("vrrp_track_process {}", p.name)),
    )?;
    within(origin, &raw.instances, limit!(MAX_VRRP_INSTANCES), |i| {
        (i.instance.line, i.title)
    })?;
    within(origin, &raw.groups, limit!(MAX_SYNC_GROUPS), |g| {
        (g.group.line, g.title)
    })?;
    within(
        origin,
        &raw.virtual_servers,
        limit!(MAX_VIRTUAL_SERVERS),
        |v| (v.server.line, v.title),
    )?;
    within(origin, &raw.real_servers, limit!(MAX_REAL_SERVERS), |r| {
        (r.line, r.title)
    })
}

/// VRRP instances: inherit global GARP defaults, resolve track_script and
/// track_process, and collect the interfaces they need.
fn resolve_instances(
    origin: &str,
    global: &Global,
    instances: &[RawInstance<'_>],
    scripts: &[VrrpScript],
    track_processes: &[VrrpTrackProcess],
    interfaces: &mut Vec<Name>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<VrrpInstance>, ConfigError> {
    let mut vrrp_instances = Vec::with_capacity(instances.len());
    for raw in instances {
        let mut instance = raw.instance.clone();
        instance.garp_master_delay = raw
            .garp_master_delay
            .unwrap_or(global.vrrp_garp_master_delay);
        instance.garp_master_repeat = raw
            .garp_master_repeat
            .unwrap_or(global.vrrp_garp_master_repeat);
        instance.garp_master_refresh = raw
            .garp_master_refresh
            .unwrap_or(global.vrrp_garp_master_refresh);
        instance.garp_master_refresh_repeat = raw
            .garp_master_refresh_repeat
            .unwrap_or(global.vrrp_garp_master_refresh_repeat);
        instance.strict_mode = raw.strict_mode.unwrap_or(global.vrrp_strict);
        strict_mode(origin, raw, &instance, warnings)?;
        resolve_tracks(origin, raw, &mut instance, scripts, track_processes)?;
        instance_interfaces(interfaces, &instance);
        vrrp_instances.push(instance);
    }
    Ok(vrrp_instances)
}

/// keepalived's strict mode (vrrp_strict / strict_mode): refuse what it
/// changes or refuses, warn about what lvsd does differently.
fn strict_mode(
    origin: &str,
    raw: &RawInstance<'_>,
    instance: &VrrpInstance,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    if instance.strict_mode {
        if let Some(&(line, why)) = raw.strict_conflicts.first() {
            return Err(ConfigError::new(
                origin,
                line,
                ConfigErrorKind::Conflict(Conflict::Strict(why)),
            )
            .in_section(raw.title)
            .at_key(why.key()));
        }
        if let Some(std::net::IpAddr::V6(first)) =
            instance.virtual_ipaddresses.first().map(|v| v.address)
        {
            if (first.segments()[0] & 0xffc0) != 0xfe80 && instance.unicast_peers.is_empty() {
                warnings.push(ConfigWarning {
                    origin: origin.to_string(),
                    line: instance.virtual_ipaddresses[0].line,
                    section: raw.title.to_string(),
                    key: Some("virtual_ipaddress".into()),
                    message: "strict mode: the first IPv6 VIP must be link-local (RFC 5798 section 5.2.9); keepalived reports this as a configuration error and runs on, so does lvsd".into(),
                });
            }
        }
        if instance.priority != 255 {
            // keepalived's Accept_Mode false (RFC 5798 section 6.4.3):
            // it drops all traffic to the VIPs of a non-owner master with
            // nftables. That breaks every virtual server on the VIPs, and
            // lvsd does not do it: say so.
            warnings.push(ConfigWarning {
                origin: origin.to_string(),
                line: instance.line,
                section: raw.title.to_string(),
                key: Some("strict_mode".into()),
                message: "strict mode: keepalived would also drop all traffic to the VIPs while this non-owner instance is master (nftables, no Accept_Mode); lvsd does not, so services on the VIPs keep answering".into(),
            });
        }
    }
    Ok(())
}

/// An instance's track_script and track_process lines, resolved to their definitions.
fn resolve_tracks(
    origin: &str,
    raw: &RawInstance<'_>,
    instance: &mut VrrpInstance,
    scripts: &[VrrpScript],
    track_processes: &[VrrpTrackProcess],
) -> Result<(), ConfigError> {
    let script_names: Vec<&str> = scripts.iter().map(|s| s.name.as_str()).collect();
    for (name, weight, line) in &raw.track_scripts {
        let Some(index) = scripts.iter().position(|s| s.name == *name) else {
            return Err(reference(
                origin,
                *line,
                raw.title,
                Some("track_script"),
                "vrrp_script",
                name,
                &script_names,
            ));
        };
        let item = TrackScript {
            script: index,
            name: name.clone(),
            weight: weight.unwrap_or(scripts[index].weight),
        };
        // Capacity was checked while reading.
        let _ = instance.track_scripts.push(item);
    }
    for t in &raw.track_processes {
        let item = resolve_track_process(origin, raw.title, t, track_processes)?;
        if instance
            .track_processes
            .iter()
            .any(|p| p.process == item.process)
        {
            return Err(ConfigError::new(
                origin,
                t.line,
                ConfigErrorKind::Conflict(Conflict::TrackProcessTwice {
                    name: t.name.to_string(),
                }),
            )
            .in_section(raw.title)
            .at_key("track_process"));
        }
        // Capacity was checked while reading.
        let _ = instance.track_processes.push(item);
    }
    Ok(())
}

/// The interfaces an instance needs at start.
fn instance_interfaces(interfaces: &mut Vec<Name>, instance: &VrrpInstance) {
    push_interface(interfaces, &instance.interface);
    if let Some(iface) = &instance.lvs_sync_daemon_interface {
        push_interface(interfaces, iface);
    }
    for vip in instance
        .virtual_ipaddresses
        .iter()
        .chain(&instance.virtual_ipaddresses_excluded)
    {
        push_interface(interfaces, &vip.dev);
    }
    for track in &instance.track_interfaces {
        push_interface(interfaces, &track.interface);
    }
    for route in &instance.virtual_routes {
        route_interfaces(interfaces, route);
    }
}

/// The interfaces of [global] static addresses and routes.
fn global_interfaces(interfaces: &mut Vec<Name>, global: &Global) {
    for address in &global.static_ipaddress {
        push_interface(interfaces, &address.dev);
    }
    for route in &global.static_routes {
        route_interfaces(interfaces, route);
    }
}

/// How `a` repeats `b`'s VRID: a VRID is unique per interface and address
/// family (RFC 5798 section 7.3: the virtual MAC 00-00-5E-00-01-{VRID} /
/// 00-00-5E-00-02-{VRID} is per link and family).
fn same_vrid(a: &VrrpInstance, b: &VrrpInstance) -> Option<Conflict> {
    (b.virtual_router_id == a.virtual_router_id
        && b.interface == a.interface
        && b.is_ipv6() == a.is_ipv6())
    .then(|| Conflict::VridInUse {
        vrid: a.virtual_router_id,
        interface: a.interface.to_string(),
        other: b.name.to_string(),
        line: b.line,
    })
}

/// How `a` repeats `b`'s VMAC name: it belongs to one instance (vrrp_parser.c
/// refuses the second).
fn same_vmac(a: &VrrpInstance, b: &VrrpInstance) -> Option<Conflict> {
    match (&a.use_vmac, &b.use_vmac) {
        (Some(Some(name)), Some(Some(n))) if n == name => Some(Conflict::VmacInUse {
            name: name.to_string(),
            other: b.name.to_string(),
            line: b.line,
        }),
        _ => None,
    }
}

/// How instance `a` repeats what must be unique in an earlier `b`, if it does.
type Clash = fn(&VrrpInstance, &VrrpInstance) -> Option<Conflict>;

/// The line of an instance's key.
type LineOf = fn(&RawInstance<'_>) -> usize;

/// The first instance `a` for which `clash(a, b)` says how it repeats an
/// earlier instance `b`: a conflict at `key`, on the line `line` gives.
fn check_unique(
    origin: &str,
    instances: &[RawInstance<'_>],
    vrrp_instances: &[VrrpInstance],
    key: &str,
    line: LineOf,
    clash: Clash,
) -> Result<(), ConfigError> {
    for (i, raw) in instances.iter().enumerate() {
        let a = &vrrp_instances[i];
        if let Some(conflict) = vrrp_instances[..i].iter().find_map(|b| clash(a, b)) {
            return Err(
                ConfigError::new(origin, line(raw), ConfigErrorKind::Conflict(conflict))
                    .in_section(raw.title)
                    .at_key(key),
            );
        }
    }
    Ok(())
}

/// Sync groups: members resolve, and an instance is in at most one group.
fn resolve_sync_groups(
    origin: &str,
    groups: &[RawSyncGroup<'_>],
    vrrp_instances: &mut [VrrpInstance],
    instance_names: &[&str],
    track_processes: &[VrrpTrackProcess],
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<SyncGroup>, ConfigError> {
    let mut sync_groups = Vec::with_capacity(groups.len());
    for (g, raw) in groups.iter().enumerate() {
        let mut group = raw.group.clone();
        group_members(
            origin,
            groups,
            g,
            &mut group,
            vrrp_instances,
            instance_names,
        )?;
        group_track_processes(
            origin,
            raw,
            &mut group,
            vrrp_instances,
            track_processes,
            warnings,
        )?;
        sync_groups.push(group);
    }
    Ok(sync_groups)
}

/// Group `g`'s members, resolved; the group's tracked files go to every member.
fn group_members(
    origin: &str,
    groups: &[RawSyncGroup<'_>],
    g: usize,
    group: &mut SyncGroup,
    vrrp_instances: &mut [VrrpInstance],
    instance_names: &[&str],
) -> Result<(), ConfigError> {
    let raw = &groups[g];
    for (member, line) in raw.group.members.iter().zip(&raw.member_lines) {
        let Some(index) = vrrp_instances.iter().position(|i| i.name == *member) else {
            return Err(reference(
                origin,
                *line,
                raw.title,
                Some("group"),
                "vrrp_instance",
                member,
                instance_names,
            ));
        };
        if let Some(other) = groups[..g]
            .iter()
            .find(|o| o.group.members.contains(member))
        {
            return Err(ConfigError::new(
                origin,
                *line,
                ConfigErrorKind::Conflict(Conflict::SyncGroupMember {
                    member: member.to_string(),
                    group: other.group.name.to_string(),
                }),
            )
            .in_section(raw.title)
            .at_key("group"));
        }
        let _ = group.member_indices.push(index);
        // keepalived adds the group's tracked files to every member.
        for (track, line) in raw.group.track_files.iter().zip(&raw.track_file_lines) {
            if vrrp_instances[index]
                .track_files
                .push(track.clone())
                .is_err()
            {
                return Err(ConfigError::new(
                    origin,
                    *line,
                    ConfigErrorKind::OverCapacity {
                        limit: "MAX_TRACKS_PER_INSTANCE",
                        max: crate::limits::MAX_TRACKS_PER_INSTANCE,
                    },
                )
                .in_section(raw.title)
                .at_key("track_file"));
            }
        }
    }
    Ok(())
}

fn group_track_processes(
    origin: &str,
    raw: &RawSyncGroup<'_>,
    group: &mut SyncGroup,
    vrrp_instances: &mut [VrrpInstance],
    track_processes: &[VrrpTrackProcess],
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    // keepalived adds the group's tracked processes to every member; a
    // member that tracks one itself takes the group's weight unless its
    // own is 0 (vrrp.c, add_vrrp_to_track_process), and a group with an
    // address owner cannot weight it (the weight becomes 0).
    let owner = group
        .member_indices
        .iter()
        .any(|&i| vrrp_instances[i].priority == 255);
    for t in &raw.track_processes {
        let mut item = resolve_track_process(origin, raw.title, t, track_processes)?;
        if owner && item.weight != 0 {
            warnings.push(ConfigWarning {
                origin: origin.to_string(),
                line: t.line,
                section: raw.title.to_string(),
                key: Some("track_process".into()),
                message: format!(
                    "track_process {}: a member has priority 255, whose priority never \
                     changes: weight 0 instead (keepalived does the same)",
                    t.name
                ),
            });
            item.weight = 0;
        }
        for &index in &group.member_indices {
            let member = &mut vrrp_instances[index];
            if let Some(own) = member
                .track_processes
                .iter_mut()
                .find(|p| p.process == item.process)
            {
                warnings.push(ConfigWarning {
                    origin: origin.to_string(),
                    line: t.line,
                    section: raw.title.to_string(),
                    key: Some("track_process".into()),
                    message: format!(
                        "track_process {} is also on vrrp_instance {}: the group's weight \
                         applies (unless the instance's is 0), as in keepalived",
                        t.name, member.name
                    ),
                });
                if own.weight != 0 {
                    own.weight = item.weight;
                }
                continue;
            }
            if member.track_processes.push(item.clone()).is_err() {
                return Err(ConfigError::new(
                    origin,
                    t.line,
                    ConfigErrorKind::OverCapacity {
                        limit: "MAX_TRACKS_PER_INSTANCE",
                        max: crate::limits::MAX_TRACKS_PER_INSTANCE,
                    },
                )
                .in_section(raw.title)
                .at_key("track_process"));
            }
        }
        let _ = group.track_processes.push(item);
    }
    Ok(())
}

fn check_init_files(
    origin: &str,
    instances: &[RawInstance<'_>],
    vrrp_instances: &[VrrpInstance],
) -> Result<(), ConfigError> {
    // `init_file` writes a file once at start: two lines that disagree on
    // what to write would leave it to the order of the sections.
    let mut inits: Vec<(&str, TrackFileInit, &str)> = Vec::new();
    for (raw, instance) in instances.iter().zip(vrrp_instances) {
        for t in &instance.track_files {
            let Some(init) = t.init else { continue };
            match inits.iter().find(|(p, ..)| *p == t.path.as_str()) {
                Some((_, first, owner)) if *first != init => {
                    return Err(ConfigError::new(
                        origin,
                        instance.line,
                        ConfigErrorKind::Conflict(Conflict::InitFileDiffers {
                            path: t.path.to_string(),
                            owner: owner.to_string(),
                        }),
                    )
                    .in_section(raw.title)
                    .at_key("track_file"));
                }
                Some(_) => {}
                None => inits.push((t.path.as_str(), init, instance.name.as_str())),
            }
        }
    }
    Ok(())
}

fn resolve_sync_daemon(
    origin: &str,
    sync_daemon: Option<RawSyncDaemon>,
    global_title: Title<'_>,
    instances: &[RawInstance<'_>],
    vrrp_instances: &[VrrpInstance],
    instance_names: &[&str],
    interfaces: &mut Vec<Name>,
) -> Result<Option<LvsSyncDaemon>, ConfigError> {
    // The IPVS sync daemon: from [global] lvs_sync_daemon or one instance's
    // lvs_sync_daemon_interface, not both, and not two instances.
    let mut daemon: Option<LvsSyncDaemon> = None;
    if let Some(raw) = sync_daemon {
        let vrid = match &raw.instance {
            None => 0,
            Some(instance) => match vrrp_instances.iter().find(|i| i.name == *instance) {
                Some(target) => target.virtual_router_id,
                None => {
                    return Err(reference(
                        origin,
                        raw.line,
                        global_title,
                        Some("lvs_sync_daemon"),
                        "vrrp_instance",
                        instance,
                        instance_names,
                    ))
                }
            },
        };
        push_interface(interfaces, &raw.interface);
        daemon = Some(LvsSyncDaemon {
            interface: raw.interface,
            sync_id: raw.sync_id.unwrap_or(vrid),
            instance: raw.instance,
            max_len: raw.max_len,
            port: raw.port,
            ttl: raw.ttl,
            group: raw.group,
        });
    }
    for (raw, instance) in instances.iter().zip(vrrp_instances) {
        if let Some(iface) = &instance.lvs_sync_daemon_interface {
            if let Some(existing) = &daemon {
                return Err(ConfigError::new(
                    origin,
                    raw.sync_daemon_line,
                    ConfigErrorKind::Conflict(Conflict::SyncDaemonTwice {
                        instance: existing.instance.as_ref().map(|i| i.to_string()),
                    }),
                )
                .in_section(raw.title)
                .at_key("lvs_sync_daemon_interface"));
            }
            daemon = Some(LvsSyncDaemon {
                interface: iface.clone(),
                instance: Some(instance.name.clone()),
                sync_id: instance.virtual_router_id,
                max_len: None,
                port: None,
                ttl: None,
                group: None,
            });
        }
    }
    Ok(daemon)
}

/// Virtual servers in file order; two may not give the same service.
fn unique_virtual_servers(
    origin: &str,
    virtual_servers: &[RawVirtualServer<'_>],
) -> Result<Vec<VirtualServer>, ConfigError> {
    let mut servers: Vec<VirtualServer> = Vec::with_capacity(virtual_servers.len());
    for raw in virtual_servers {
        if let Some(other) = servers
            .iter()
            .find(|o| o.service == raw.server.service && o.protocol == raw.server.protocol)
        {
            return Err(ConfigError::new(
                origin,
                raw.server.line,
                ConfigErrorKind::Conflict(Conflict::SameService {
                    other: other.name.to_string(),
                    line: other.line,
                }),
            )
            .in_section(raw.title));
        }
        servers.push(raw.server.clone());
    }
    Ok(servers)
}

/// The virtual servers while real servers and checkers attach to them.
struct ServerTable<'a> {
    servers: Vec<VirtualServer>,
    names: Vec<&'a str>,
    /// Name -> index, so 20,000 real servers do not each scan every virtual server.
    index: super::NameMap<&'a str, usize>,
    /// Inherited timing of every real server in one table (not one per virtual
    /// server): virtual server v's real servers start at `offset[v]`.
    offset: Vec<usize>,
    timing: Vec<TimingOptions>,
}

impl<'a> ServerTable<'a> {
    fn new(
        servers: Vec<VirtualServer>,
        virtual_servers: &'a [RawVirtualServer<'_>],
        real_servers: &[RawRealServer<'_>],
    ) -> Self {
        let mut servers = servers;
        let names: Vec<&str> = virtual_servers
            .iter()
            .map(|v| v.server.name.as_str())
            .collect();
        let index: super::NameMap<&str, usize> =
            names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        // Size each table once: regrowing vectors of large structs dominated load time.
        let mut per_vs = vec![0usize; servers.len()];
        for raw in real_servers {
            if let Some(&v) = index.get(raw.virtual_server) {
                per_vs[v] += 1;
            }
        }
        let mut offset = Vec::with_capacity(servers.len());
        let mut total = 0;
        for (server, count) in servers.iter_mut().zip(&per_vs) {
            let count = (*count).min(limits::MAX_REAL_SERVERS_PER_VS);
            server.real_servers.reserve_exact(count);
            offset.push(total);
            total += count;
        }
        ServerTable {
            servers,
            names,
            index,
            offset,
            timing: vec![TimingOptions::default(); total],
        }
    }

    /// The index of the virtual server a real server or checker names.
    fn lookup(
        &self,
        origin: &str,
        line: usize,
        title: Title<'_>,
        wanted: &str,
    ) -> Result<usize, ConfigError> {
        match self.index.get(wanted) {
            Some(&v) => Ok(v),
            None => Err(reference(
                origin,
                line,
                title,
                None,
                "virtual_server",
                wanted,
                &self.names,
            )),
        }
    }

    fn timing_slot(&self, v: usize, r: usize) -> usize {
        self.offset.get(v).map_or(usize::MAX, |o| o + r)
    }

    /// Real server r of virtual server v's inherited timing.
    fn rs_timing(&self, v: usize, r: usize) -> TimingOptions {
        self.timing
            .get(self.timing_slot(v, r))
            .copied()
            .unwrap_or_default()
    }
}

/// One real server onto its virtual server: forwarding, timing and
/// inhibit_on_failure inherited, address family and duplicates checked.
fn attach_real_server(
    origin: &str,
    raw: RawRealServer<'_>,
    table: &mut ServerTable<'_>,
    virtual_servers: &[RawVirtualServer<'_>],
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    let v = table.lookup(origin, raw.line, raw.title, raw.virtual_server)?;
    let vs = &table.servers[v];
    let (vs_ipv6, vs_port) = match vs.service {
        Service::Address(a) => (a.is_ipv6(), a.port()),
        Service::Fwmark { ipv6, .. } => (ipv6, 0),
    };
    let port = raw.port.unwrap_or(vs_port);
    let address = SocketAddr::new(raw.ip, port);
    // keepalived's alloc_rs: a real server forwards as its virtual server
    // unless it has its own lvs_method.
    let forward = raw.forward.unwrap_or(vs.forward);
    let tunnel = matches!(forward, ForwardMethod::Tunnel(_));
    if raw.ip.is_ipv6() != vs_ipv6 && !tunnel {
        return Err(ConfigError::new(
            origin,
            raw.line,
            ConfigErrorKind::Conflict(Conflict::RealServerFamily),
        )
        .in_section(raw.title));
    }
    if vs.real_servers.iter().any(|r| r.address == address) {
        return Err(ConfigError::new(
            origin,
            raw.line,
            ConfigErrorKind::Conflict(Conflict::RealServerTwice {
                address,
                server: vs.name.to_string(),
            }),
        )
        .in_section(raw.title));
    }
    if vs.real_servers.len() >= limits::MAX_REAL_SERVERS_PER_VS {
        return Err(capacity(
            origin,
            raw.line,
            raw.title,
            limit!(MAX_REAL_SERVERS_PER_VS),
        ));
    }
    if matches!(forward, ForwardMethod::Route | ForwardMethod::Tunnel(_))
        && vs_port != 0
        && port != vs_port
    {
        warnings.push(ConfigWarning {
            origin: origin.to_string(),
            line: raw.line,
            section: raw.title.to_string(),
            key: None,
            message: format!(
                "DR/TUN cannot map ports: traffic arrives on port {vs_port}, not {port}"
            ),
        });
    }
    let real = RealServer {
        line: raw.line,
        address,
        weight: raw.weight,
        forward,
        inhibit_on_failure: raw.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure),
        uthreshold: raw.uthreshold,
        lthreshold: raw.lthreshold,
        notify_up: raw.notify_up,
        notify_down: raw.notify_down,
        checkers: Vec::new(),
    };
    let slot = table.timing_slot(v, table.servers[v].real_servers.len());
    if let Some(slot) = table.timing.get_mut(slot) {
        *slot = raw.timing.over(virtual_servers[v].timing);
    }
    table.servers[v].real_servers.push(real);
    Ok(())
}

/// One checker onto its real server (and one more per SMTP `host` line),
/// with the timing and settings it inherits.
fn attach_checker(
    origin: &str,
    raw: RawChecker<'_>,
    table: &mut ServerTable<'_>,
    global: &Global,
) -> Result<(), ConfigError> {
    let v = table.lookup(origin, raw.line, raw.title, raw.virtual_server)?;
    let r = checked_real_server(origin, &raw, &table.servers[v])?;
    let rs_timing = table.rs_timing(v, r);
    let vs_virtualhost = table.servers[v].virtualhost.clone();
    let real = &mut table.servers[v].real_servers[r];
    // keepalived's smtp_check_end_handler: with `host` lines, the
    // checker itself probes too only when its own connection is set.
    let own_connection = raw.connect_ip.is_some()
        || raw.connect_port.is_some()
        || raw.bindto.is_some()
        || raw.timing.connect_timeout.get().is_some();
    let main = raw.hosts.is_empty() || own_connection;
    if real.checkers.len() + usize::from(main) + raw.hosts.len() > limits::MAX_CHECKERS_PER_RS {
        return Err(capacity(
            origin,
            raw.line,
            raw.title,
            limit!(MAX_CHECKERS_PER_RS),
        ));
    }
    let timing = checker_timing(&raw.kind, raw.timing.over(rs_timing));
    // ICMP has no port: a PING_CHECK probes the address only.
    let connect_port = match raw.kind {
        CheckKind::Ping | CheckKind::File(_) => 0,
        _ => raw.connect_port.unwrap_or(real.address.port()),
    };
    let mut kind = raw.kind;
    complete_kind(&mut kind, &timing, global, vs_virtualhost);
    if main {
        refuse_port_zero(origin, raw.line, raw.title, &kind, connect_port)?;
        // Grow one at a time: a first push would reserve room for four 200-byte
        // checkers, and nearly every real server has exactly one.
        real.checkers.reserve_exact(1);
        real.checkers.push(Checker {
            line: raw.line,
            kind: kind.clone(),
            connect_ip: raw.connect_ip.unwrap_or(real.address.ip()),
            connect_port,
            bindto: raw.bindto,
            timing,
        });
    }
    // Each `host` is a checker of its own: the same kind and timing, its
    // own address (default the real server's), port (default the real
    // server's) and bindto; its connect_timeout defaults to the real
    // server's or virtual server's, not the checker's (keepalived).
    let rs_connect_timeout = rs_timing.resolve(0, Duration::ZERO).connect_timeout;
    push_host_checkers(
        origin,
        &raw.hosts,
        raw.title,
        real,
        &kind,
        timing,
        rs_connect_timeout,
    )
}

/// A fwmark or all-ports service gives its real servers port 0: keepalived
/// would probe port 0, which never answers. Checks without a port are fine.
fn refuse_port_zero(
    origin: &str,
    line: usize,
    title: Title<'_>,
    kind: &CheckKind,
    connect_port: u16,
) -> Result<(), ConfigError> {
    let portless = matches!(
        kind,
        CheckKind::Misc(_) | CheckKind::Ping | CheckKind::File(_)
    );
    if connect_port != 0 || portless {
        return Ok(());
    }
    Err(ConfigError::new(
        origin,
        line,
        ConfigErrorKind::Conflict(Conflict::PortZeroCheck),
    )
    .in_section(title)
    .at_key("connect_port"))
}

/// An SMTP_CHECK's `host` lines, each one more checker of the real server.
fn push_host_checkers(
    origin: &str,
    hosts: &[SmtpHost],
    title: Title<'_>,
    real: &mut RealServer,
    kind: &CheckKind,
    timing: CheckTiming,
    rs_connect_timeout: Duration,
) -> Result<(), ConfigError> {
    for host in hosts {
        let mut host_timing = timing;
        host_timing.connect_timeout = host.connect_timeout.unwrap_or(rs_connect_timeout);
        let port = host.connect_port.unwrap_or(real.address.port());
        if port == 0 {
            return Err(
                ConfigError::new(origin, host.line, ConfigErrorKind::MissingKey)
                    .in_section(title)
                    .at_key("host connect_port"),
            );
        }
        real.checkers.reserve_exact(1);
        real.checkers.push(Checker {
            line: host.line,
            kind: kind.clone(),
            connect_ip: host.connect_ip.unwrap_or(real.address.ip()),
            connect_port: port,
            bindto: host.bindto,
            timing: host_timing,
        });
    }
    Ok(())
}

/// The real server a checker belongs to, by address and port.
fn checked_real_server(
    origin: &str,
    raw: &RawChecker<'_>,
    vs: &VirtualServer,
) -> Result<usize, ConfigError> {
    let vs_port = match vs.service {
        Service::Address(a) => a.port(),
        Service::Fwmark { .. } => 0,
    };
    let address = SocketAddr::new(raw.ip, raw.port.unwrap_or(vs_port));
    let Some(r) = vs.real_servers.iter().position(|rs| rs.address == address) else {
        let known: Vec<String> = vs
            .real_servers
            .iter()
            .map(|rs| format!("{}/{}", vs.name, rs.address))
            .collect();
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let wanted = format!("{}/{}", vs.name, address);
        return Err(reference(
            origin,
            raw.line,
            raw.title,
            None,
            "real_server",
            &wanted,
            &known,
        ));
    };
    Ok(r)
}

/// A checker's timing: inherited, then each kind's keepalived defaults.
fn checker_timing(kind: &CheckKind, inherited: TimingOptions) -> CheckTiming {
    let (default_retry, default_delay) = match kind {
        CheckKind::Misc(_) => (0, Duration::from_secs(1)),
        CheckKind::Http(_) => (1, Duration::from_secs(3)),
        _ => (1, Duration::from_secs(1)),
    };
    let (default_retry, default_delay) = match kind {
        // keepalived: DNS_CHECK retries 3 times, delay_before_retry = delay_loop.
        CheckKind::Dns(_) => (3, inherited.resolve(0, default_delay).delay_loop),
        _ => (default_retry, default_delay),
    };
    let mut timing = inherited.resolve(default_retry, default_delay);
    if matches!(kind, CheckKind::File(_)) {
        // keepalived reacts to the file at once (inotify) and never
        // retries: lvsd reads it every TRACK_FILE_POLL.
        let poll = limits::FILE_CHECK_POLL;
        timing.delay_loop = poll;
        timing.connect_timeout = poll;
        timing.retry = 0;
        timing.delay_before_retry = poll;
        timing.warmup = Duration::ZERO;
    }
    timing
}

/// Defaults a check kind takes from its timing, [global] or its virtual server.
fn complete_kind(
    kind: &mut CheckKind,
    timing: &CheckTiming,
    global: &Global,
    vs_virtualhost: Option<Name>,
) {
    match kind {
        CheckKind::Misc(misc) => {
            if misc.timeout.is_zero() {
                misc.timeout = timing.delay_loop;
            }
        }
        CheckKind::Smtp { helo_name } => {
            if helo_name.is_empty() {
                *helo_name = global.router_id.clone().unwrap_or_else(|| name("lvsd"));
            }
        }
        CheckKind::Http(http) => {
            if http.virtualhost.is_none() {
                http.virtualhost = vs_virtualhost;
            }
        }
        CheckKind::Tcp
        | CheckKind::Udp(_)
        | CheckKind::Ping
        | CheckKind::File(_)
        | CheckKind::Dns(_) => {}
    }
}

/// Warnings: real servers without a checker, ha_suspend services no instance holds.
fn warn_servers(
    origin: &str,
    servers: &[VirtualServer],
    vrrp_instances: &[VrrpInstance],
    warnings: &mut Vec<ConfigWarning>,
) {
    for vs in servers {
        for real in &vs.real_servers {
            if real.checkers.is_empty() {
                warnings.push(ConfigWarning {
                    origin: origin.to_string(),
                    line: real.line,
                    section: format!("real_server {}/{}", vs.name, real.address),
                    key: None,
                    message: "no checker: the server is always considered alive".into(),
                });
            }
        }
        if vs.ha_suspend {
            if let Service::Address(a) = vs.service {
                let held = vrrp_instances.iter().any(|i| {
                    i.virtual_ipaddresses
                        .iter()
                        .chain(&i.virtual_ipaddresses_excluded)
                        .any(|v| v.address == a.ip())
                });
                if !held {
                    warnings.push(ConfigWarning {
                        origin: origin.to_string(),
                        line: vs.line,
                        section: format!("virtual_server {}", vs.name),
                        key: Some("ha_suspend".into()),
                        message: format!(
                            "{} is no instance's virtual_ipaddress: the service is never installed",
                            a.ip()
                        ),
                    });
                }
            }
        }
    }
}

/// Warnings: scripts and processes that nothing tracks.
fn warn_unused_tracks(
    origin: &str,
    scripts: &[VrrpScript],
    track_processes: &[VrrpTrackProcess],
    vrrp_instances: &[VrrpInstance],
    warnings: &mut Vec<ConfigWarning>,
) {
    let mut unused = |line, section, message: &str| {
        warnings.push(ConfigWarning {
            origin: origin.to_string(),
            line,
            section,
            key: None,
            message: message.into(),
        });
    };
    for (index, script) in scripts.iter().enumerate() {
        let used = vrrp_instances
            .iter()
            .any(|i| i.track_scripts.iter().any(|t| t.script == index));
        if !used {
            unused(
                script.line,
                format!("vrrp_script {}", script.name),
                "no instance tracks this script: it never runs",
            );
        }
    }
    for (index, p) in track_processes.iter().enumerate() {
        let used = vrrp_instances
            .iter()
            .any(|i| i.track_processes.iter().any(|t| t.process == index));
        if !used {
            unused(
                p.line,
                format!("vrrp_track_process {}", p.name),
                "no instance or sync group tracks this process: it is not watched",
            );
        }
    }
}

/// Warning: priority 255 (address owner) with state BACKUP.
fn warn_owner_backup(
    origin: &str,
    instances: &[RawInstance<'_>],
    vrrp_instances: &[VrrpInstance],
    warnings: &mut Vec<ConfigWarning>,
) {
    for (raw, instance) in instances.iter().zip(vrrp_instances) {
        if instance.priority == 255 && instance.state == VrrpState::Backup {
            warnings.push(ConfigWarning {
                origin: origin.to_string(),
                line: instance.line,
                section: raw.title.to_string(),
                key: Some("priority".into()),
                message: "255 means address owner, which never waits as BACKUP; use 1..=254 or state MASTER".into(),
            });
        }
    }
}

/// virtual_server_group expansion, then the capacities and uniqueness of
/// the services it gives.
fn expand_groups(
    origin: &str,
    servers: Vec<VirtualServer>,
    vs_groups: &[super::vs_group::RawVsGroup<'_>],
) -> Result<Vec<VirtualServer>, ConfigError> {
    let servers = super::vs_group::expand(origin, servers, vs_groups)?;
    if servers.len() > limits::MAX_VIRTUAL_SERVERS {
        return Err(capacity(
            origin,
            vs_groups.first().map_or(0, |g| g.line),
            "virtual_server_group",
            limit!(MAX_VIRTUAL_SERVERS),
        ));
    }
    for (i, a) in servers.iter().enumerate().filter(|_| !vs_groups.is_empty()) {
        if let Some(b) = servers[..i]
            .iter()
            .find(|b| b.service == a.service && b.protocol == a.protocol)
        {
            return Err(ConfigError::new(
                origin,
                a.line,
                ConfigErrorKind::Conflict(Conflict::GroupSameService {
                    other: b.name.to_string(),
                    line: b.line,
                }),
            )
            .in_section(format!("virtual_server {}", a.name)));
        }
    }
    check_timer_capacity(origin, &servers)?;
    Ok(servers)
}

/// [global], its lvs_sync_daemon line and its title; the defaults without one.
fn split_global(global: Option<RawGlobal<'_>>) -> (Global, Option<RawSyncDaemon>, Title<'_>) {
    match global {
        Some(g) => (g.global, g.sync_daemon, g.title),
        None => (
            default_global(),
            None,
            Title {
                kind: "global",
                name: None,
            },
        ),
    }
}

/// Resolve references, inherit defaults and run every cross-check: the
/// capacities, the VRRP side, the virtual and real servers with their
/// checkers, the warnings, then the virtual_server_group expansion.
pub(crate) fn build(origin: &str, mut raw: RawConfig<'_>) -> Result<Config, ConfigError> {
    check_capacities(origin, &raw)?;
    let (mut global, sync_daemon, global_title) = split_global(raw.global.take());
    let mut interfaces: Vec<Name> = Vec::new();
    let (vrrp_instances, sync_groups) = build_vrrp(
        origin,
        &mut raw,
        &mut global,
        (sync_daemon, global_title),
        &mut interfaces,
    )?;
    let servers = build_servers(origin, &mut raw, &global)?;
    warn(origin, &mut raw, &servers, &vrrp_instances)?;
    let servers = expand_groups(origin, servers, &raw.vs_groups)?;
    Ok(Config {
        origin: origin.to_string(),
        global,
        vrrp_scripts: raw.scripts,
        vrrp_track_processes: raw.track_processes,
        vrrp_instances,
        sync_groups,
        virtual_servers: servers,
        interfaces,
        warnings: raw.warnings,
    })
}

/// VRRP instances (with the interfaces they need) and sync groups, with
/// their uniqueness and init_file checks, then [global]'s lvs_sync_daemon
/// (`sync_daemon`, as read, and [global]'s title).
fn build_vrrp(
    origin: &str,
    raw: &mut RawConfig<'_>,
    global: &mut Global,
    (sync_daemon, global_title): (Option<RawSyncDaemon>, Title<'_>),
    interfaces: &mut Vec<Name>,
) -> Result<(Vec<VrrpInstance>, Vec<SyncGroup>), ConfigError> {
    let instance_names: Vec<&str> = raw
        .instances
        .iter()
        .map(|i| i.instance.name.as_str())
        .collect();
    let mut vrrp_instances = resolve_instances(
        origin,
        global,
        &raw.instances,
        &raw.scripts,
        &raw.track_processes,
        interfaces,
        &mut raw.warnings,
    )?;
    global_interfaces(interfaces, global);
    let unique: [(&str, LineOf, Clash); 2] = [
        ("virtual_router_id", |raw| raw.vrid_line, same_vrid),
        ("use_vmac", |raw| raw.vmac_line, same_vmac),
    ];
    for (key, line, clash) in unique {
        check_unique(origin, &raw.instances, &vrrp_instances, key, line, clash)?;
    }
    let sync_groups = resolve_sync_groups(
        origin,
        &raw.groups,
        &mut vrrp_instances,
        &instance_names,
        &raw.track_processes,
        &mut raw.warnings,
    )?;
    check_init_files(origin, &raw.instances, &vrrp_instances)?;
    global.lvs_sync_daemon = resolve_sync_daemon(
        origin,
        sync_daemon,
        global_title,
        &raw.instances,
        &vrrp_instances,
        &instance_names,
        interfaces,
    )?;
    Ok((vrrp_instances, sync_groups))
}

/// Virtual servers, then their real servers, then the checkers.
fn build_servers(
    origin: &str,
    raw: &mut RawConfig<'_>,
    global: &Global,
) -> Result<Vec<VirtualServer>, ConfigError> {
    let servers = unique_virtual_servers(origin, &raw.virtual_servers)?;
    let mut table = ServerTable::new(servers, &raw.virtual_servers, &raw.real_servers);
    for real in std::mem::take(&mut raw.real_servers) {
        attach_real_server(
            origin,
            real,
            &mut table,
            &raw.virtual_servers,
            &mut raw.warnings,
        )?;
    }
    for checker in std::mem::take(&mut raw.checkers) {
        attach_checker(origin, checker, &mut table, global)?;
    }
    Ok(table.servers)
}

/// Every warning of the whole configuration (and the announce checks),
/// sorted by line.
fn warn(
    origin: &str,
    raw: &mut RawConfig<'_>,
    servers: &[VirtualServer],
    vrrp_instances: &[VrrpInstance],
) -> Result<(), ConfigError> {
    let warnings = &mut raw.warnings;
    warn_servers(origin, servers, vrrp_instances, warnings);
    warn_unused_tracks(
        origin,
        &raw.scripts,
        &raw.track_processes,
        vrrp_instances,
        warnings,
    );
    warn_owner_backup(origin, &raw.instances, vrrp_instances, warnings);
    super::announce::check(origin, servers, vrrp_instances, warnings)?;
    warnings.sort_by_key(|w| w.line);
    Ok(())
}

/// A `track_process` line resolved to its definition: the line's weight and
/// direction, else the definition's.
fn resolve_track_process(
    origin: &str,
    title: Title<'_>,
    t: &super::sections::RawTrackProcess,
    defined: &[VrrpTrackProcess],
) -> Result<TrackProcess, ConfigError> {
    let Some(index) = defined.iter().position(|p| p.name == t.name) else {
        let names: Vec<&str> = defined.iter().map(|p| p.name.as_str()).collect();
        return Err(reference(
            origin,
            t.line,
            title,
            Some("track_process"),
            "vrrp_track_process",
            &t.name,
            &names,
        ));
    };
    let def = &defined[index];
    Ok(TrackProcess {
        process: index,
        name: t.name.clone(),
        weight: t.weight.unwrap_or(def.weight),
        // keepalived: a line with its own weight keeps the definition's
        // direction unless it says reverse / noreverse.
        reverse: t.reverse.unwrap_or(def.reverse),
    })
}

/// The key under which the daemon runs one probe for every checker that has
/// it: the same kind and settings, address, port, source, timing and
/// starting verdict (`starts_down`: alpha, or known dead on reload).
pub fn probe_key(checker: &Checker, starts_down: bool) -> String {
    format!(
        "{:?}|{}|{}|{:?}|{:?}|{}",
        checker.kind,
        checker.connect_ip,
        checker.connect_port,
        checker.bindto,
        checker.timing,
        starts_down
    )
}

/// Each distinct probe holds one timer for its whole life; VRRP and the
/// daemon's housekeeping have `limits::RESERVED_TIMERS` of their own, sized
/// for the largest VRRP configuration the other limits allow. A file whose
/// probes do not fit the rest of the timer table is refused here, never
/// found out at run time.
fn check_timer_capacity(origin: &str, servers: &[VirtualServer]) -> Result<(), ConfigError> {
    let checkers: usize = servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .map(|r| r.checkers.len())
        .sum();
    if checkers <= limits::MAX_CHECK_TIMERS {
        return Ok(());
    }
    // Shared probes count once: only a large file gets here.
    let mut seen = std::collections::HashSet::new();
    for vs in servers {
        for rs in &vs.real_servers {
            for ch in &rs.checkers {
                if seen.insert(probe_key(ch, vs.alpha)) && seen.len() > limits::MAX_CHECK_TIMERS {
                    return Err(ConfigError::new(
                        origin,
                        ch.line,
                        ConfigErrorKind::Conflict(Conflict::TooManyProbes { number: seen.len() }),
                    )
                    .in_section(format!(
                        "{} {}/{}",
                        ch.kind.keepalived_name().to_ascii_lowercase(),
                        vs.name,
                        rs.address
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, CheckKind};
    use std::time::Duration;

    /// `virtual_servers` x 64 real servers with four checkers each.
    fn four_checks_each(virtual_servers: usize) -> String {
        use std::fmt::Write;
        let mut out = String::from("[global]\nrouter_id = T\n");
        for v in 0..virtual_servers {
            let _ = write!(
                out,
                "[virtual_server v{v}]\naddress = 10.0.0.1\nport = {}\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n",
                1000 + v
            );
            for r in 0..64 {
                let rs = format!("v{v}/10.{}.{}.{}:80", 1 + v / 256, v % 256, r + 1);
                let _ = write!(
                    out,
                    "[real_server {rs}]\n[tcp_check {rs}]\n[http_get {rs}]\nurl = path=/\n[smtp_check {rs}]\n[misc_check {rs}]\nmisc_path = /bin/true\n"
                );
            }
        }
        out
    }

    #[test]
    fn probes_beyond_the_timer_table_are_refused_naming_the_limit() {
        use crate::limits::{MAX_CHECK_TIMERS, MAX_TIMERS, RESERVED_TIMERS};
        assert_eq!(MAX_CHECK_TIMERS + RESERVED_TIMERS, MAX_TIMERS);
        let per_vs = 64 * 4;
        let fits = MAX_CHECK_TIMERS / per_vs;
        load_str(&four_checks_each(fits), "ok.ini").unwrap();
        let err = load_str(&four_checks_each(fits + 1), "big.ini").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("limits::MAX_CHECK_TIMERS"), "{text}");
        assert!(text.contains("limits::MAX_TIMERS"), "{text}");
        assert!(text.starts_with("big.ini:"), "{text}");
        assert!(
            text.contains(&format!("number {}", MAX_CHECK_TIMERS + 1)),
            "{text}"
        );
    }

    const BASE: &str = "[global]\nrouter_id = R1\n[virtual_server v]\naddress = 10.0.0.1\nport = 25\nprotocol = TCP\nlb_algo = rr\nlb_kind = NAT\n[real_server v/10.0.1.1]\n[real_server v/10.0.1.2]\n";

    fn kinds(extra: &str) -> Vec<CheckKind> {
        let c = load_str(&format!("{BASE}{extra}"), "t.ini").unwrap();
        let rs = &c.virtual_servers[0].real_servers;
        rs.iter()
            .flat_map(|r| r.checkers.iter().map(|c| c.kind.clone()))
            .collect()
    }

    #[test]
    fn helo_name_and_misc_timeout_given_or_inherited() {
        let k = kinds("[smtp_check v/10.0.1.1]\nhelo_name = mx.example\n[smtp_check v/10.0.1.2]\n");
        let helo: Vec<String> = k
            .iter()
            .map(|k| match k {
                CheckKind::Smtp { helo_name } => helo_name.to_string(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(helo, ["mx.example", "R1"]);
        let k = kinds("[misc_check v/10.0.1.1]\nmisc_path = /bin/true\nmisc_timeout = 2\ndelay_loop = 9\n[misc_check v/10.0.1.2]\nmisc_path = /bin/true\ndelay_loop = 7\n");
        let timeouts: Vec<Duration> = k
            .iter()
            .map(|k| match k {
                CheckKind::Misc(m) => m.timeout,
                _ => Duration::ZERO,
            })
            .collect();
        assert_eq!(timeouts, [Duration::from_secs(2), Duration::from_secs(7)]);
    }

    #[test]
    fn udp_and_ping_check_keys() {
        use crate::check::udp::UdpSpec;
        let k = kinds("[udp_check v/10.0.1.1]\npayload = de ad 0\nrequire_reply = 6X 0a\nmin_reply_length = 2\nmax_reply_length = 512\n[ping_check v/10.0.1.2]\nconnect_ip = 10.0.9.9\n");
        let CheckKind::Udp(spec) = &k[0] else {
            panic!("{k:?}")
        };
        assert_eq!(
            **spec,
            UdpSpec {
                payload: vec![0xde, 0xad, 0],
                require_reply: true,
                reply: vec![0x60, 0x0a],
                mask: vec![0x0f, 0],
                min_reply_len: 2,
                max_reply_len: 512,
            }
        );
        assert_eq!(k[1], CheckKind::Ping);
        for (bare, want) in [("require_reply", true), ("require_reply = no", false)] {
            let k = kinds(&format!("[udp_check v/10.0.1.1]\n{bare}\n"));
            let CheckKind::Udp(spec) = &k[0] else {
                panic!("{k:?}")
            };
            assert_eq!(spec.require_reply, want);
            assert!(spec.reply.is_empty());
            assert_eq!(spec.payload, UdpSpec::default().payload);
        }
        let k = kinds("[file_check v/10.0.1.1]\nfile = /run/w\nweight = -3 reverse\n[file_check v/10.0.1.2]\nfile = /run/w\n");
        let files: Vec<(i32, bool)> = k
            .iter()
            .map(|k| match k {
                CheckKind::File(f) => (f.weight, f.reverse),
                _ => (99, false),
            })
            .collect();
        assert_eq!(files, [(-3, true), (1, false)]);
        let c = load_str(
            &format!("{BASE}[dns_check v/10.0.1.1]\ntype = mx\nname = example.org\ndelay_loop = 7\n[dns_check v/10.0.1.2]\nretry = 1\ndelay_before_retry = 2\n"),
            "t.ini",
        )
        .unwrap();
        let rs = &c.virtual_servers[0].real_servers;
        let CheckKind::Dns(d) = &rs[0].checkers[0].kind else {
            panic!("{:?}", rs[0].checkers)
        };
        assert_eq!((d.name.as_str(), d.qtype), ("example.org", 15));
        // keepalived's DNS_CHECK defaults: retry 3, delay_before_retry = delay_loop.
        assert_eq!(rs[0].checkers[0].timing.retry, 3);
        assert_eq!(
            rs[0].checkers[0].timing.delay_before_retry,
            Duration::from_secs(7)
        );
        let CheckKind::Dns(d) = &rs[1].checkers[0].kind else {
            panic!("{:?}", rs[1].checkers)
        };
        assert_eq!((d.name.as_str(), d.qtype), ("", 6));
        assert_eq!(rs[1].checkers[0].timing.retry, 1);
        assert_eq!(
            rs[1].checkers[0].timing.delay_before_retry,
            Duration::from_secs(2)
        );
        let c = load_str(&format!("{BASE}[ping_check v/10.0.1.1]\n"), "t.ini").unwrap();
        assert_eq!(
            c.virtual_servers[0].real_servers[0].checkers[0].connect_port,
            0
        );
        for (bad, says) in [
            ("[udp_check v/10.0.1.1]\npayload = 0g\n", "hex octets"),
            ("[udp_check v/10.0.1.1]\npayload = 1X\n", "hex octets"),
            (
                "[udp_check v/10.0.1.1]\nmin_reply_length = 9\nmax_reply_length = 8\n",
                "could never pass",
            ),
            (
                "[udp_check v/10.0.1.1]\nmax_reply_length = 70000\n",
                "max_reply_length",
            ),
            (
                "[ping_check v/10.0.1.1]\nconnect_port = 80\n",
                "connect_port",
            ),
            ("[tcp_check v/10.0.1.1]\npayload = 00\n", "payload"),
            ("[file_check v/10.0.1.1]\nweight = 2\n", "file"),
            ("[dns_check v/10.0.1.1]\ntype = PTR\n", "SOA"),
            (
                "[http_get v/10.0.1.1]\nurl = path=/ regex=a.b\n",
                "literal text",
            ),
            (
                "[http_get v/10.0.1.1]\nurl = path=/ regex_no_match\n",
                "needs regex",
            ),
            ("[dns_check v/10.0.1.1]\nname = a..b\n", "empty labels"),
            (
                "[file_check v/10.0.1.1]\nfile = /x\nweight = 2 sideways\n",
                "reverse",
            ),
            (
                "[file_check v/10.0.1.1]\nfile = /x\nweight = -2147483648\n",
                "reverse",
            ),
            ("[file_check v/10.0.1.1]\nfile = /x\nretry = 2\n", "retry"),
        ] {
            let err = load_str(&format!("{BASE}{bad}"), "t.ini")
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn real_server_timing_reaches_its_checkers_in_every_virtual_server() {
        let text = "[virtual_server a]\naddress = 10.0.0.1\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = NAT\ndelay_loop = 4\n\
            [virtual_server b]\naddress = 10.0.0.1\nport = 81\nprotocol = TCP\nlb_algo = rr\nlb_kind = NAT\n\
            [real_server b/10.0.1.1]\ndelay_loop = 2\n[real_server a/10.0.1.1]\n[real_server b/10.0.1.2]\nretry = 7\n\
            [tcp_check b/10.0.1.2]\n[tcp_check a/10.0.1.1]\n[tcp_check b/10.0.1.1]\nconnect_timeout = 1\n";
        let c = load_str(text, "t.ini").unwrap();
        let timing = |v: usize, r: usize| c.virtual_servers[v].real_servers[r].checkers[0].timing;
        assert_eq!(timing(0, 0).delay_loop, Duration::from_secs(4));
        assert_eq!(timing(1, 0).delay_loop, Duration::from_secs(2));
        assert_eq!(timing(1, 0).connect_timeout, Duration::from_secs(1));
        assert_eq!(timing(1, 1).delay_loop, Duration::from_secs(60));
        assert_eq!(timing(1, 1).retry, 7);
        assert_eq!(timing(0, 0).retry, 1);
    }

    #[test]
    fn strict_mode_refuses_what_keepalived_changes_and_warns_about_the_rest() {
        let base = "[global]\nvrrp_strict = yes\n\n[vrrp_instance VI_1]\ninterface = eth0\nvirtual_router_id = 51\n";
        for (extra, key) in [
            ("auth_type = PASS\nauth_pass = 1\n", "auth_type"),
            ("preempt_delay = 5\n", "preempt_delay"),
            ("down_timer_adverts = 4\n", "down_timer_adverts"),
            ("unicast_peer = 10.0.0.2\n", "unicast_peer"),
            ("state = MASTER\npriority = 100\n", "state"),
            ("state = BACKUP\npriority = 255\n", "state"),
        ] {
            let text = format!("{base}{extra}virtual_ipaddress = 10.0.0.100\n");
            let err = load_str(&text, "s.ini").unwrap_err().to_string();
            assert!(
                err.contains(key) && err.contains("strict mode"),
                "{extra}: {err}"
            );
            // The same lines are fine without strict mode, or with it off here.
            load_str(
                &text.replace("vrrp_strict = yes", "vrrp_strict = no"),
                "s.ini",
            )
            .unwrap();
            load_str(&format!("{text}strict_mode = no\n"), "s.ini").unwrap();
        }
        // A non-owner: the VIP traffic drop is not done, and `lvsd check` says so.
        let ok = load_str(&format!("{base}virtual_ipaddress = 10.0.0.100\n"), "s.ini").unwrap();
        assert!(ok.vrrp_instances[0].strict_mode);
        assert_eq!(ok.warnings.len(), 1, "{:?}", ok.warnings);
        assert!(ok.warnings[0].message.contains("lvsd does not"));
        // The owner has no such drop in keepalived either.
        let owner = load_str(
            &format!("{base}state = MASTER\npriority = 255\nvirtual_ipaddress = 10.0.0.100\n"),
            "s.ini",
        )
        .unwrap();
        assert!(owner.warnings.is_empty(), "{:?}", owner.warnings);
        // IPv6: the first VIP should be link-local.
        let v6 = load_str(
            &format!(
                "{base}state = MASTER\npriority = 255\nversion = 3\nvirtual_ipaddress = fd00::1\n"
            ),
            "s.ini",
        )
        .unwrap();
        assert!(
            v6.warnings.iter().any(|w| w.message.contains("link-local")),
            "{:?}",
            v6.warnings
        );
    }

    #[test]
    fn lvs_keys_refuse_bad_values_naming_the_key() {
        let vs = "[virtual_server v]\naddress = 10.0.0.1\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = NAT\n";
        let vi = "[vrrp_instance VI_1]\ninterface = eth0\nvirtual_router_id = 9\nvirtual_ipaddress = 10.0.0.9\n";
        let cases = [
            ("[global]\nlvs_timeouts = tcp\n", "lvs_timeouts"),
            ("[global]\nlvs_timeouts = tcp 99999999\n", "lvs_timeouts"),
            ("[global]\nlvs_timeouts = sctp 5\n", "unknown timeout"),
            ("[global]\nlvs_flush_on_stop = maybe\n", "no, full or VS"),
            (
                "[global]\nlvs_sync_daemon = eth1 VI_1 group 10.0.0.1\n",
                "not a multicast",
            ),
            ("[global]\nlvs_sync_daemon = eth1 VI_1 ttl 0\n", "1..=255"),
            (
                "[global]\nlvs_sync_daemon = eth1 VI_1 maxlen 70000\n",
                "1..=65507",
            ),
            (
                "[global]\nlvs_sync_daemon = eth1 VI_1 speed 3\n",
                "unknown option `speed`",
            ),
            (
                "[global]\nlvs_sync_daemon = eth1 VI_2\n",
                "no vrrp_instance",
            ),
        ];
        for (global, want) in cases {
            let e = crate::config::load_str(&format!("{global}{vi}{vs}"), "t.ini").unwrap_err();
            assert!(e.to_string().contains(want), "{global}: {e}");
        }
        for (extra, want) in [
            ("sorry_server_inhibit = yes\n", "needs a sorry_server"),
            ("sorry_server_lvs_method = DR\n", "needs a sorry_server"),
            (
                "sorry_server = 10.0.2.1 80\nsorry_server_lvs_method = TUN type gue\n",
                "gue needs the port",
            ),
        ] {
            let e = crate::config::load_str(&format!("{vs}{extra}"), "t.ini").unwrap_err();
            assert!(e.to_string().contains(want), "{extra}: {e}");
        }
        let e = crate::config::load_str(
            &format!("{vs}[real_server v/10.0.1.1:80]\ntun_type = gre\n"),
            "t.ini",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("tun_type needs lb_kind = TUN"),
            "{e}"
        );
        // The old form `IFACE INSTANCE SYNCID` and `inst` are keepalived's too.
        for form in ["eth1 VI_1 12", "eth1 inst VI_1 id 12"] {
            let c = crate::config::load_str(
                &format!("[global]\nlvs_sync_daemon = {form}\n{vi}"),
                "t.ini",
            )
            .unwrap();
            let d = c.global.lvs_sync_daemon.unwrap();
            assert_eq!(
                (d.instance.as_deref(), d.sync_id),
                (Some("VI_1"), 12),
                "{form}"
            );
        }
    }
}
