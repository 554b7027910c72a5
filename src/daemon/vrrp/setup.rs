//! Building VRRP from the configuration: instances with their sockets,
//! tracks, notifiers, VIPs, routes and rules; sync groups; scripts. And the
//! errors that stop it.

use std::net::IpAddr;
use std::time::Instant;

use log::warn;
use mio::Registry;

use super::notify::{Notifier, NotifyCommands};
use super::notify_fifo::NotifyFifo;
use super::procs::{self, ProcsError};
use super::routes::{HeldRoute, HeldRule, NoInterface, Statics};
use super::scripts::{self, ScriptError};
use super::track_file::{self, TrackedFile};
use super::track_script::TrackedScript;
use super::vmac::{self, VmacError, VmacLink};
use super::{Group, HeldAddress, InstanceIo, Receiver, Router, VmacSpec, Vrrp};
use crate::config::{Authentication, Config, Notify, VirtualIp, VrrpInstance as InstanceConfig};
use crate::daemon::lateness::Lateness;
use crate::io::iface::{self, InterfaceInfo};
use crate::io::packet::PacketSender;
use crate::io::user;
use crate::io::vrrp_socket::{VrrpReceiver, VrrpSender};
use crate::limits::VRRP_PACKET_BUF;
use crate::vrrp::instance::{GarpParams, Instance, InstanceParams, ParamError};
use crate::vrrp::receive::DropReason;
use crate::vrrp::sync_group::SyncGroup;
use crate::vrrp::track::{TrackKind, TrackSpec, TrackStatus};
use crate::wire::netlink::rtnl::{IfAddr, IfName};
use crate::wire::vrrp::Auth;

/// Why VRRP could not be set up.
#[derive(Debug)]
pub enum SetupError {
    /// The instance's interface (or a VIP's `dev`) does not exist.
    NoInterface {
        /// Instance name.
        instance: String,
        /// Interface name.
        interface: String,
    },
    /// No usable source address on the interface.
    NoSource {
        /// Instance name.
        instance: String,
        /// Interface name.
        interface: String,
    },
    /// The parameters are not valid VRRP.
    Params {
        /// Instance name.
        instance: String,
        /// What is wrong.
        source: ParamError,
    },
    /// More tracked objects than an instance can hold.
    TooManyTracks {
        /// Instance name.
        instance: String,
    },
    /// A sync group with more members than a group can hold.
    GroupTooBig {
        /// Group name.
        group: String,
    },
    /// A `virtual_routes` line names an interface that does not exist.
    VirtualRoute {
        /// Instance name.
        instance: String,
        /// The route and the interface.
        source: NoInterface,
    },
    /// A static address or route names an interface that does not exist.
    Static(NoInterface),
    /// A script or notify command cannot be used.
    Script(ScriptError),
    /// `vrrp_track_process` cannot be watched.
    Procs(ProcsError),
    /// The VMAC of an instance (`use_vmac`) cannot be made.
    Vmac(Box<VmacError>),
    /// A socket could not be opened.
    Socket {
        /// What was opened.
        what: String,
        /// The error.
        err: std::io::Error,
    },
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::NoInterface { instance, interface } => write!(
                f,
                "vrrp_instance {instance}: interface {interface} does not exist"
            ),
            SetupError::NoSource { instance, interface } => write!(
                f,
                "vrrp_instance {instance}: interface {interface} has no address to send adverts from"
            ),
            SetupError::Params { instance, source } => {
                write!(f, "vrrp_instance {instance}: {source}")
            }
            SetupError::TooManyTracks { instance } => {
                write!(f, "vrrp_instance {instance}: too many tracked objects")
            }
            SetupError::GroupTooBig { group } => {
                write!(f, "vrrp_sync_group {group}: too many members")
            }
            SetupError::VirtualRoute { instance, source } => {
                write!(f, "vrrp_instance {instance}: virtual_routes: {source}")
            }
            SetupError::Static(e) => write!(f, "{e}"),
            SetupError::Script(e) => write!(f, "{e}"),
            SetupError::Procs(e) => write!(f, "{e}"),
            SetupError::Vmac(e) => write!(f, "{e}"),
            SetupError::Socket { what, err } => write!(f, "{what}: {err}"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetupError::Params { source, .. } => Some(source),
            SetupError::VirtualRoute { source, .. } | SetupError::Static(source) => Some(source),
            SetupError::Script(e) => Some(e),
            SetupError::Procs(e) => Some(e),
            SetupError::Vmac(e) => Some(e),
            SetupError::Socket { err, .. } => Some(err),
            SetupError::NoInterface { .. }
            | SetupError::NoSource { .. }
            | SetupError::TooManyTracks { .. }
            | SetupError::GroupTooBig { .. } => None,
        }
    }
}

impl From<ScriptError> for SetupError {
    fn from(e: ScriptError) -> SetupError {
        SetupError::Script(e)
    }
}

fn params_for(inst: &InstanceConfig, primary: IpAddr, in_group: bool) -> InstanceParams {
    let mut p = InstanceParams::new(inst.virtual_router_id, inst.version, primary);
    p.priority = inst.priority;
    p.advert_interval = inst.advert_int;
    p.initial_state = inst.state;
    p.preempt = !inst.nopreempt;
    p.preempt_delay = inst.preempt_delay;
    p.down_timer_adverts = inst.down_timer_adverts;
    p.garp = GarpParams {
        master_delay: Some(inst.garp_master_delay).filter(|d| !d.is_zero()),
        master_repeat: inst.garp_master_repeat.min(255) as u8,
        master_refresh: inst.garp_master_refresh,
        master_refresh_repeat: inst.garp_master_refresh_repeat.min(255) as u8,
    };
    p.auth = match &inst.authentication {
        Some(Authentication::Pass(pw)) => Auth::pass(pw.as_bytes()),
        Some(Authentication::Ah(pw)) => Auth::ah(pw.as_bytes()),
        None => Auth::None,
    };
    for vip in &inst.virtual_ipaddresses {
        let _ = p.vips.push(vip.address);
    }
    for peer in &inst.unicast_peers {
        let _ = p.unicast_peers.push(*peer);
    }
    p.in_sync_group = in_group;
    p.lower_prio_no_advert = inst.strict_mode;
    p
}

/// The rtnetlink form of a configured VIP on interface `ifindex`.
fn vip_addr(ifindex: u32, vip: &VirtualIp) -> IfAddr {
    let mut a = IfAddr::host(ifindex, vip.address);
    a.prefix_len = vip.prefix_len;
    a.scope = vip.scope;
    a.broadcast = vip.broadcast;
    a.preferred_lft = vip.preferred_lft;
    a.label = vip
        .label
        .as_ref()
        .and_then(|l| IfName::try_from(l.as_str()).ok());
    a
}

/// The VIPs of an instance (on the VMAC or interface, or on their `dev`)
/// and a packet socket for each other link they live on.
#[allow(clippy::type_complexity)]
fn instance_vips(
    name: &str,
    inst: &InstanceConfig,
    info: &InterfaceInfo,
    vip_index: u32,
    interfaces: &[InterfaceInfo],
) -> Result<(Vec<HeldAddress>, Vec<(u32, [u8; 6], PacketSender)>), SetupError> {
    let ipv6 = inst.is_ipv6();
    let ifname = inst.interface.as_str();
    let mut vips = Vec::new();
    let mut other_links: Vec<(u32, [u8; 6], PacketSender)> = Vec::new();
    for vip in inst
        .virtual_ipaddresses
        .iter()
        .chain(&inst.virtual_ipaddresses_excluded)
    {
        let dev = if vip.dev.is_empty() || vip.dev.as_str() == ifname {
            // keepalived: an address of the other family stays on the
            // interface itself, not on the VMAC.
            if vip.address.is_ipv6() == ipv6 {
                vip_index
            } else {
                info.index
            }
        } else {
            interfaces
                .iter()
                .find(|i| i.name == vip.dev.as_str())
                .map(|i| i.index)
                .ok_or_else(|| SetupError::NoInterface {
                    instance: name.to_owned(),
                    interface: vip.dev.as_str().to_owned(),
                })?
        };
        vips.push(HeldAddress {
            form: vip_addr(dev, vip),
            no_track: vip.no_track,
        });
        if dev != vip_index && !other_links.iter().any(|l| l.0 == dev) {
            let mac = interfaces
                .iter()
                .find(|i| i.index == dev)
                .map_or([0; 6], |i| i.mac);
            match PacketSender::open(dev) {
                Ok(p) => other_links.push((dev, mac, p)),
                Err(e) => warn!(
                    "vrrp_instance {name}: no packet socket on {} ({e}); gratuitous ARP there disabled",
                    vip.dev
                ),
            }
        }
    }
    Ok((vips, other_links))
}

impl Vrrp {
    /// Builds every instance, its sockets and the sync groups, on the VMACs
    /// made by [`vmac::prepare`].
    pub fn setup(cfg: &Config, vmacs: vmac::Vmacs, now: Instant) -> Result<Vrrp, SetupError> {
        let mut vrrp = Vrrp::empty(cfg, vmacs, now)?;
        let interfaces = iface::all().map_err(|err| SetupError::Socket {
            what: "listing interfaces".into(),
            err,
        })?;
        let ifindex = |name: &str| interfaces.iter().find(|i| i.name == name).map(|i| i.index);
        vrrp.statics = Statics::build(
            &cfg.global.static_ipaddress,
            &cfg.global.static_routes,
            &cfg.global.static_rules,
            &ifindex,
            vip_addr,
        )
        .map_err(SetupError::Static)?;
        if let Some(u) = &cfg.global.script_user {
            vrrp.script_user = Some(user::require(u).map_err(ScriptError::User)?);
        }
        vrrp.add_scripts(cfg)?;
        for (index, inst) in cfg.vrrp_instances.iter().enumerate() {
            vrrp.add_instance(cfg, index, inst, &interfaces, now)?;
        }
        vrrp.add_groups(cfg)?;
        vrrp.watch_route_links(&interfaces);
        Ok(vrrp)
    }

    /// No instance yet: the capacities, the global settings, the VMACs.
    fn empty(cfg: &Config, vmacs: vmac::Vmacs, now: Instant) -> Result<Vrrp, SetupError> {
        Ok(Vrrp {
            routers: Vec::with_capacity(cfg.vrrp_instances.len()),
            receivers: Vec::new(),
            groups: Vec::new(),
            buf: Box::new([0u8; VRRP_PACKET_BUF]),
            frame: [0u8; 128],
            scripts: Vec::with_capacity(cfg.vrrp_scripts.len()),
            lvs_notifier: Notifier::new("virtual_server notify".into(), NotifyCommands::default()),
            files: Vec::new(),
            files_next: None,
            files_timer: None,
            iface_tracks: Vec::new(),
            procs: procs::ProcessWatch::setup(cfg, now).map_err(SetupError::Procs)?,
            fifo: cfg
                .global
                .notify_fifo
                .as_ref()
                .map(|p| NotifyFifo::new(p.as_str().into())),
            registry: None,
            script_user: None,
            notify_timeout: cfg.global.notify_timeout,
            script_security: cfg.global.enable_script_security,
            statics: Statics::default(),
            route_links: Vec::new(),
            route_repairs: 0,
            route_refusals: std::cell::Cell::new(0),
            vmacs,
        })
    }

    /// The `vrrp_script`s, their command lines checked.
    fn add_scripts(&mut self, cfg: &Config) -> Result<(), SetupError> {
        for s in &cfg.vrrp_scripts {
            let what = format!("vrrp_script {}", s.name);
            let argv = scripts::split(s.script.as_str(), &format!("{what}: script"))?;
            let user = match &s.user {
                Some(u) => Some(user::require(u).map_err(ScriptError::User)?),
                None => self.script_user,
            };
            if cfg.global.enable_script_security {
                if let Some(why) = scripts::insecure_reason(&argv, user.map_or(0, |u| u.0)) {
                    let key = None;
                    return Err(ScriptError::Insecure { what, key, why }.into());
                }
            }
            self.scripts.push(TrackedScript::new(
                s.name.as_str().to_owned(),
                argv,
                user,
                s.interval,
                s.timeout,
                s.rise,
                s.fall,
                s.init_fail,
            ));
        }
        Ok(())
    }

    /// The sync groups and their notifiers.
    fn add_groups(&mut self, cfg: &Config) -> Result<(), SetupError> {
        for g in &cfg.sync_groups {
            let sync = SyncGroup::new(&g.member_indices).map_err(|_| SetupError::GroupTooBig {
                group: g.name.as_str().to_owned(),
            })?;
            let notifier = self.notifier(cfg, format!("vrrp_sync_group {}", g.name), &g.notify)?;
            self.groups.push(Group {
                name: g.name.as_str().to_owned(),
                sync,
                notifier,
            });
        }
        Ok(())
    }

    /// The notifier of an instance or a group (`label` names it), its
    /// commands split and, with `enable_script_security`, vetted (they run
    /// as `script_user`).
    fn notifier(
        &self,
        cfg: &Config,
        label: String,
        notify: &Notify,
    ) -> Result<Notifier, SetupError> {
        let commands = NotifyCommands::new(notify, &label)?;
        if cfg.global.enable_script_security {
            if let Some((key, why)) = commands.insecure(self.script_user.map_or(0, |u| u.0)) {
                let (what, key) = (label, Some(key));
                return Err(ScriptError::Insecure { what, key, why }.into());
            }
        }
        Ok(Notifier::new(label, commands))
    }

    /// The links routes go out of, and whether each is up now.
    fn watch_route_links(&mut self, interfaces: &[InterfaceInfo]) {
        let oifs = self
            .statics
            .routes
            .iter()
            .chain(self.routers.iter().flat_map(|r| r.io.routes.iter()))
            .filter_map(|r| r.add.oif)
            .collect::<Vec<_>>();
        for oif in oifs {
            if !self.route_links.iter().any(|l| l.0 == oif) {
                let up = interfaces
                    .iter()
                    .find(|i| i.index == oif)
                    .is_some_and(|i| i.up && i.running);
                self.route_links.push((oif, up));
            }
        }
    }

    /// One `vrrp_instance`: its interface and source address, tracks,
    /// notifier, sockets, VIPs, routes and rules.
    fn add_instance(
        &mut self,
        cfg: &Config,
        index: usize,
        inst: &InstanceConfig,
        interfaces: &[InterfaceInfo],
        now: Instant,
    ) -> Result<(), SetupError> {
        let name = inst.name.as_str();
        let ifname = inst.interface.as_str();
        let info = interfaces
            .iter()
            .find(|i| i.name == ifname)
            .ok_or_else(|| SetupError::NoInterface {
                instance: name.to_owned(),
                interface: ifname.to_owned(),
            })?;
        let vmac = self.vmacs.of_instance(index).cloned();
        let source = inst
            .unicast_src_ip
            .or(inst.mcast_src_ip)
            .or_else(|| vmac.as_ref()?.link_local.map(IpAddr::V6))
            .or_else(|| info.primary(inst.is_ipv6()))
            .ok_or_else(|| SetupError::NoSource {
                instance: name.to_owned(),
                interface: ifname.to_owned(),
            })?;
        let in_group = cfg
            .sync_groups
            .iter()
            .any(|g| g.member_indices.contains(&index));
        let mut params = params_for(inst, source, in_group);
        self.add_tracks(index, inst, interfaces, &mut params)?;
        let notifier = self.notifier(cfg, format!("vrrp_instance {name}"), &inst.notify)?;
        let machine = Instance::new(params).map_err(|source| SetupError::Params {
            instance: name.to_owned(),
            source,
        })?;
        let ah_key = match machine.params().auth {
            Auth::Ah(key) => Some(key),
            _ => None,
        };
        let (receiver, sender) = self.advert_sockets(
            index,
            inst,
            info,
            vmac.as_ref(),
            source,
            ah_key.is_some(),
            now,
        )?;
        let mut io = instance_io(inst, info, vmac.as_ref(), interfaces, sender)?;
        io.receiver = receiver;
        io.ah_key = ah_key;
        self.routers.push(Router {
            machine,
            io,
            notifier,
        });
        Ok(())
    }

    /// The receive socket (shared) and the send socket of an instance.
    /// Adverts leave from (and are heard on) the VMAC, unless vmac_xmit_base.
    #[allow(clippy::too_many_arguments)]
    fn advert_sockets(
        &mut self,
        index: usize,
        inst: &InstanceConfig,
        info: &InterfaceInfo,
        vmac: Option<&VmacLink>,
        source: IpAddr,
        ah: bool,
        now: Instant,
    ) -> Result<(usize, VrrpSender), SetupError> {
        let (adv_name, adv_index) = match vmac {
            Some(v) if !inst.vmac_xmit_base => (v.name.as_str(), v.ifindex),
            _ => (inst.interface.as_str(), info.index),
        };
        let receiver = self.receiver(adv_name, adv_index, inst.is_ipv6(), ah, now)?;
        self.receivers[receiver].instances.push(index);
        let sender = VrrpSender::open(adv_name, adv_index, source, ah).map_err(|err| {
            SetupError::Socket {
                what: format!(
                    "vrrp_instance {}: send socket from {source} on {adv_name}",
                    inst.name
                ),
                err,
            }
        })?;
        Ok((receiver, sender))
    }

    /// The receive socket for adverts on `adv_name` of the family (and AH
    /// or not): shared
    /// by the instances there, opened by the first.
    fn receiver(
        &mut self,
        adv_name: &str,
        adv_index: u32,
        ipv6: bool,
        ah: bool,
        now: Instant,
    ) -> Result<usize, SetupError> {
        let shared = self
            .receivers
            .iter()
            .position(|r| r.interface == adv_name && r.ipv6 == ipv6 && r.ah == ah);
        if let Some(r) = shared {
            return Ok(r);
        }
        let socket = VrrpReceiver::open(adv_name, adv_index, ipv6, true, ah).map_err(|err| {
            SetupError::Socket {
                what: format!(
                    "VRRP receive socket on {adv_name}{}",
                    if ah { " (AH)" } else { "" }
                ),
                err,
            }
        })?;
        self.receivers.push(Receiver {
            socket,
            interface: adv_name.to_owned(),
            ipv6,
            ah,
            instances: Vec::new(),
            drops: [0; DropReason::COUNT],
            budget: (now, 0),
            backlog: false,
            timer: None,
            budget_reached: 0,
        });
        Ok(self.receivers.len() - 1)
    }

    /// Splits and vets a virtual server's or real server's command
    /// (`quorum_up`, `notify_down`, ...): same user and
    /// `enable_script_security` rules as the VRRP notify commands.
    pub fn lvs_command(&self, line: &str, what: &str) -> Result<scripts::Argv, SetupError> {
        let argv = scripts::split(line, what)?;
        if self.script_security {
            if let Some(why) = scripts::insecure_reason(&argv, self.script_user.map_or(0, |u| u.0))
            {
                return Err(ScriptError::Insecure {
                    what: what.to_owned(),
                    key: None,
                    why,
                }
                .into());
            }
        }
        Ok(argv)
    }

    /// Fills `params.tracks` in the order interfaces, scripts, files,
    /// processes, and records who feeds `Instance::track_id(n)` for each.
    fn add_tracks(
        &mut self,
        index: usize,
        inst: &InstanceConfig,
        interfaces: &[InterfaceInfo],
        params: &mut InstanceParams,
    ) -> Result<(), SetupError> {
        self.add_interface_tracks(index, inst, interfaces, params)?;
        for t in &inst.track_scripts {
            let Some(script) = self.scripts.get_mut(t.script) else {
                continue;
            };
            let initial = script.status();
            let n = push_track(params, inst, TrackKind::Script, t.weight, initial, false)?;
            script.subscribers.push((index, n));
        }
        for t in &inst.track_files {
            let f = match self.files.iter().position(|f| f.path == t.path.as_str()) {
                Some(f) => f,
                None => {
                    if let Some(init) = t.init {
                        track_file::init_track_file(t.path.as_str(), init.value, init.overwrite);
                    }
                    self.files
                        .push(TrackedFile::new(t.path.as_str().to_owned()));
                    self.files.len() - 1
                }
            };
            let initial = TrackStatus::Value(self.files[f].value);
            let n = push_track(params, inst, TrackKind::File, t.weight, initial, t.reverse)?;
            self.files[f].subscribers.push((index, n));
        }
        for t in &inst.track_processes {
            let Some(watch) = self.procs.as_mut() else {
                continue;
            };
            let initial = up_or_down(watch.tracker.is_up(t.process));
            let n = push_track(
                params,
                inst,
                TrackKind::Process,
                t.weight,
                initial,
                t.reverse,
            )?;
            if let Some(subs) = watch.subscribers.get_mut(t.process) {
                subs.push((index, n));
            }
        }
        Ok(())
    }

    /// The `track_interface`s, then (keepalived, vrrp.c
    /// vrrp_complete_instance) the interface of every VIP or excluded
    /// address on another interface than the instance's, with weight 0
    /// (FAULT while it is down), unless the address says `no_track`.
    fn add_interface_tracks(
        &mut self,
        index: usize,
        inst: &InstanceConfig,
        interfaces: &[InterfaceInfo],
        params: &mut InstanceParams,
    ) -> Result<(), SetupError> {
        for t in &inst.track_interfaces {
            let (ifindex, up) = match interfaces.iter().find(|i| i.name == t.interface.as_str()) {
                Some(i) => (i.index, i.up && i.running),
                None => {
                    warn!(
                        "vrrp_instance {}: track_interface {} does not exist; tracked as down",
                        inst.name, t.interface
                    );
                    (0, false)
                }
            };
            let n = push_track(
                params,
                inst,
                TrackKind::Interface,
                t.weight,
                up_or_down(up),
                false,
            )?;
            self.iface_tracks.push((ifindex, index, n));
        }
        let mut vip_devs: Vec<&str> = Vec::new();
        for vip in inst
            .virtual_ipaddresses
            .iter()
            .chain(&inst.virtual_ipaddresses_excluded)
        {
            let dev = vip.dev.as_str();
            if vip.no_track || dev.is_empty() || dev == inst.interface.as_str() {
                continue;
            }
            if vip_devs.contains(&dev) {
                continue;
            }
            vip_devs.push(dev);
            let Some(i) = interfaces.iter().find(|i| i.name == dev) else {
                continue; // refused later, where the VIPs are resolved
            };
            let up = up_or_down(i.up && i.running);
            let n = push_track(params, inst, TrackKind::Interface, 0, up, false)?;
            self.iface_tracks.push((i.index, index, n));
        }
        Ok(())
    }

    /// Gives VRRP its own handle on the poll registry, to register script pidfds.
    pub fn attach_registry(&mut self, registry: Registry) {
        self.registry = Some(registry);
    }
}

/// Appends a track to `params`; returns its n (`Instance::track_id(n)`).
fn push_track(
    params: &mut InstanceParams,
    inst: &InstanceConfig,
    kind: TrackKind,
    weight: i32,
    initial: TrackStatus,
    reverse: bool,
) -> Result<usize, SetupError> {
    let n = params.tracks.len();
    params
        .tracks
        .push(TrackSpec {
            kind,
            weight,
            initial,
            reverse,
        })
        .map_err(|_| SetupError::TooManyTracks {
            instance: inst.name.as_str().to_owned(),
        })?;
    Ok(n)
}

fn up_or_down(up: bool) -> TrackStatus {
    if up {
        TrackStatus::Up
    } else {
        TrackStatus::Down
    }
}

/// The I/O side of an instance, but for its receiver and AH key: where its
/// VIPs live (the VMAC or the interface, or their `dev`), the packet
/// sockets for gratuitous ARP / NA, its routes and rules.
fn instance_io(
    inst: &InstanceConfig,
    info: &InterfaceInfo,
    vmac: Option<&VmacLink>,
    interfaces: &[InterfaceInfo],
    sender: VrrpSender,
) -> Result<InstanceIo, SetupError> {
    let name = inst.name.as_str();
    let ipv6 = inst.is_ipv6();
    // The VIPs (of the instance's family, on its interface) live on the VMAC.
    let (vip_index, vip_mac, vip_name) = match vmac {
        Some(v) => (v.ifindex, v.mac, v.name.as_str()),
        None => (info.index, info.mac, inst.interface.as_str()),
    };
    let packet = PacketSender::open(vip_index)
        .map_err(|e| warn!("vrrp_instance {name}: no packet socket on {vip_name} ({e}); gratuitous ARP disabled"))
        .ok();
    let (vips, other_links) = instance_vips(name, inst, info, vip_index, interfaces)?;
    let ifindex = |name: &str| interfaces.iter().find(|i| i.name == name).map(|i| i.index);
    let routes = inst
        .virtual_routes
        .iter()
        .map(|r| HeldRoute::build(r, &ifindex))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| SetupError::VirtualRoute {
            instance: name.to_owned(),
            source,
        })?;
    let link_up = info.up && info.running;
    Ok(InstanceIo {
        name: name.to_owned(),
        interface: inst.interface.as_str().to_owned(),
        ifindex: vip_index,
        mac: vip_mac,
        // Just set up: a macvlan runs when its lower device does; the
        // link events say otherwise if it does not.
        base: vmac.map(|_| (info.index, link_up, link_up)),
        vmac_spec: vmac.map(|_| VmacSpec {
            xmit_base: inst.vmac_xmit_base,
            keep_ipv6: ipv6
                || inst
                    .virtual_ipaddresses_excluded
                    .iter()
                    .any(|v| v.address.is_ipv6() != ipv6),
            ipv6,
        }),
        sender,
        packet,
        other_links,
        receiver: 0,
        vips_seen: vec![false; vips.len()],
        vips,
        routes,
        rules: inst.virtual_rules.iter().map(HeldRule::build).collect(),
        timer: None,
        drops: [0; DropReason::COUNT],
        received: 0,
        sent: 0,
        vip_mismatches: 0,
        send_errors: 0,
        vips_held: false,
        link_up,
        track_primary: !inst.dont_track_primary,
        fired: None,
        notified: None,
        cause: None,
        heard: None,
        send_lateness: Lateness::new(),
        ah_key: None,
        ip_ident: 0,
    })
}
