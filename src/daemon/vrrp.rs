//! VRRP wiring: builds instances from the configuration, routes received
//! adverts and link events into them, and carries out their actions
//! (adverts, VIPs, gratuitous ARP / NA, notifications), runs the notify
//! commands and `vrrp_script`s, and polls track files.

mod procs;
mod routes;
pub(super) mod scripts;
mod transition;
pub(super) mod vmac;

/// FILE_CHECK reads its file as `track_file` does.
pub(crate) use scripts::read_track_file;

use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::Registry;

use log::{debug, info, warn};

use super::lateness::Lateness;
use crate::config::{
    Authentication, Config, VirtualIp, VrrpInstance as InstanceConfig, VrrpState, VrrpVersion,
};
use crate::io::event_loop::Clock;
use crate::io::iface::{self, InterfaceInfo};
use crate::io::netlink::{NetlinkError, Rtnl, RtnlEvents, RtnlRequest};
use crate::io::packet::PacketSender;
use crate::io::timers::TimerId;
use crate::io::vrrp_socket::{Received, VrrpReceiver, VrrpSender};
use crate::limits::{VRRP_PACKETS_PER_WAKEUP, VRRP_PACKET_BUF};
use crate::vrrp::instance::{
    Action, Advert, AdvertOutcome, GarpParams, InitialState, Instance, InstanceParams, NotifyState,
    State, OWN_INTERFACE,
};
use crate::vrrp::receive::{receive_check_ipv4, DropReason, ReceiveMeta};
use crate::vrrp::sync_group::{GroupAction, SyncGroup};
use crate::vrrp::track::{TrackKind, TrackSpec, TrackStatus};
use crate::wire::netlink::route::RouteRepr;
use crate::wire::netlink::route::RuleRepr;
use crate::wire::netlink::rtnl::{IfAddr, IfName};
use crate::wire::vrrp::{self as wire, Auth, Family, Version};
use crate::wire::{ah, arp, ndisc};
use routes::{HeldRoute, HeldRule, Statics, STATIC_TAG};
use scripts::{Notifier, NotifyCommands, NotifyFifo, TrackedFile, TrackedScript, TRACK_FILE_POLL};

/// Why VRRP could not be set up.
#[derive(Debug)]
pub enum SetupError {
    /// The instance's interface does not exist.
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
        reason: String,
    },
    /// A script or notify command cannot be used (the text names it).
    Script(String),
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
            SetupError::Params { instance, reason } => {
                write!(f, "vrrp_instance {instance}: {reason}")
            }
            SetupError::Script(s) => write!(f, "{s}"),
            SetupError::Socket { what, err } => write!(f, "{what}: {err}"),
        }
    }
}

/// The I/O side of one instance.
pub struct InstanceIo {
    /// Instance name.
    pub name: String,
    /// Interface name.
    pub interface: String,
    /// Where the VIPs live and GARPs leave: the interface, or its VMAC.
    ifindex: u32,
    mac: [u8; 6],
    /// With `use_vmac`: the configured interface's index (`ifindex` is the
    /// VMAC's), and whether each of the two is up; the instance's own
    /// interface counts as up when both are (keepalived tracks both).
    base: Option<(u32, bool, bool)>,
    /// With `use_vmac`: what it takes to make the VMAC again when it is deleted.
    vmac_spec: Option<VmacSpec>,
    sender: VrrpSender,
    packet: Option<PacketSender>,
    /// Packet sockets and MACs of the other interfaces that hold addresses
    /// of this instance (`dev`): their GARPs leave there, as keepalived's.
    other_links: Vec<(u32, [u8; 6], PacketSender)>,
    /// Index of the receiver this instance listens on.
    pub receiver: usize,
    /// The VIPs, then the excluded addresses, in their rtnetlink form.
    vips: Vec<HeldAddress>,
    /// `virtual_routes` and `virtual_rules`, held with the VIPs.
    routes: Vec<HeldRoute>,
    rules: Vec<HeldRule>,
    /// The timer carrying `poll_at()`.
    pub timer: Option<TimerId>,
    /// Adverts dropped, per reason.
    pub drops: [u64; DropReason::COUNT],
    /// Adverts accepted.
    pub received: u64,
    /// Adverts sent.
    pub sent: u64,
    /// Adverts whose VIP list differs from ours.
    pub vip_mismatches: u64,
    /// Send errors.
    pub send_errors: u64,
    /// Whether the VIPs are on the interface now (as far as lvsd did it).
    pub vips_held: bool,
    /// During an address re-dump: which VIPs (same index as `vips`) the
    /// kernel listed.
    vips_seen: Vec<bool>,
    /// Whether the interface was up and running at start.
    link_up: bool,
    /// Whether the own interface's link state feeds the instance (not with
    /// `dont_track_primary`).
    track_primary: bool,
    /// The deadline of the timer that fired in this wake-up, if any.
    fired: Option<Instant>,
    /// The last state notified (None: INIT), and why the state changed since.
    notified: Option<NotifyState>,
    cause: Option<transition::Cause>,
    /// What the last advert said about the master, for the reason of a
    /// takeover by the down timer (it left, or we preempt it).
    heard: Option<transition::Cause>,
    /// How late timer-driven adverts left, measured after the send.
    pub send_lateness: Lateness,
    /// `auth_type AH`: the key; adverts leave as whole IPv4 datagrams.
    ah_key: Option<[u8; wire::AUTH_DATA_LEN]>,
    /// IPv4 identification of the next AH advert (covered by the ICV, so
    /// lvsd writes it; never 0, which the kernel would replace).
    ip_ident: u16,
}

/// What an instance's VMAC was made with, to make it again.
#[derive(Debug, Clone, Copy)]
struct VmacSpec {
    xmit_base: bool,
    keep_ipv6: bool,
    ipv6: bool,
}

/// One receive socket and the instances behind it.
pub struct Receiver {
    /// The socket.
    pub socket: VrrpReceiver,
    /// Interface name.
    pub interface: String,
    /// IPv6 or IPv4.
    pub ipv6: bool,
    /// IPv4 protocol 51: adverts of `auth_type AH` instances.
    pub ah: bool,
    /// Indices of the instances on it.
    pub instances: Vec<usize>,
    /// Adverts for VRIDs nobody here has, and other instance-less drops.
    pub drops: [u64; DropReason::COUNT],
    /// Datagrams left to read in this wake-up, and the wake-up it counts for.
    budget: (Instant, usize),
    /// The budget ran out before the socket was empty: read on next turn
    /// (edge-triggered readiness will not say so again).
    backlog: bool,
    /// The zero-delay timer that brings the next turn's read.
    timer: Option<TimerId>,
    /// Wake-ups that ended with datagrams left for the next turn.
    pub budget_reached: u64,
}

/// All VRRP state of the daemon.
pub struct Vrrp {
    /// The pure state machines, indexed like `io`.
    pub instances: Vec<Instance>,
    /// Their I/O sides.
    pub io: Vec<InstanceIo>,
    /// Receive sockets.
    pub receivers: Vec<Receiver>,
    /// Sync groups with their names.
    pub groups: Vec<(String, SyncGroup)>,
    buf: Box<[u8; VRRP_PACKET_BUF]>,
    frame: [u8; 128],
    /// `[vrrp_script]`s; child slot `k < scripts.len()` is script `k`.
    scripts: Vec<TrackedScript>,
    /// Notifiers: one per instance (same index), then one per sync group;
    /// child slot `scripts.len() + k` is notifier `k`.
    notifiers: Vec<Notifier>,
    /// `track_file`s, polled together.
    files: Vec<TrackedFile>,
    files_next: Option<Instant>,
    files_timer: Option<TimerId>,
    /// `track_interface`s: (ifindex, instance, n of `Instance::track_id(n)`).
    iface_tracks: Vec<(u32, usize, usize)>,
    /// `vrrp_track_process`es, when an instance tracks one.
    procs: Option<procs::ProcessWatch>,
    fifo: Option<NotifyFifo>,
    registry: Option<Registry>,
    script_user: Option<(u32, u32)>,
    notify_timeout: Duration,
    /// `enable_script_security`, for the virtual servers' commands too.
    script_security: bool,
    /// `static_ipaddress`, `static_routes`, `static_rules`.
    statics: Statics,
    /// Routes, rules and static addresses put back after a deletion by hand.
    route_repairs: u64,
    /// Route and rule requests the kernel refused.
    route_refusals: std::cell::Cell<u64>,
    /// The interfaces routes go out of, and whether each was up (the kernel
    /// flushes their IPv4 routes when one goes down, without a notification).
    route_links: Vec<(u32, bool)>,
    /// The VMACs (`use_vmac`), removed at stop.
    pub vmacs: vmac::Vmacs,
}

fn lookup_user(name: &str) -> Result<(u32, u32), SetupError> {
    crate::io::user::require(name).map_err(|e| SetupError::Script(e.to_string()))
}

fn params_for(inst: &InstanceConfig, primary: IpAddr, in_group: bool) -> InstanceParams {
    let version = match inst.version {
        VrrpVersion::V2 => Version::V2,
        VrrpVersion::V3 => Version::V3,
    };
    let mut p = InstanceParams::new(inst.virtual_router_id, version, primary);
    p.priority = inst.priority;
    p.advert_interval = inst.advert_int;
    p.initial_state = match inst.state {
        VrrpState::Master => InitialState::Master,
        VrrpState::Backup => InitialState::Backup,
    };
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

/// Writes an AH advert (IPv4 header, AH header, VRRPv2 message) into `buf`.
#[allow(clippy::too_many_arguments)]
fn emit_ah(
    buf: &mut [u8],
    repr: &wire::Repr<'_>,
    src: IpAddr,
    dst: IpAddr,
    ident: u16,
    sequence: u32,
    key: &[u8; wire::AUTH_DATA_LEN],
    unicast: bool,
) -> std::io::Result<usize> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else {
        return Err(std::io::Error::other("AH adverts are IPv4 only"));
    };
    let message = buf.get_mut(ah::VRRP_OFFSET..).unwrap_or(&mut []);
    let vrrp_len = repr
        .emit(message, src, dst)
        .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let fields = ah::Ipv4Fields {
        src: s,
        dst: d,
        ttl: wire::TTL,
        tos: wire::TOS,
        ident,
    };
    ah::emit_ipv4_datagram(buf, &fields, sequence, key, unicast, vrrp_len)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// An address an instance holds while master: a VIP or an excluded one.
struct HeldAddress {
    /// What is sent to the kernel (prefix, label, broadcast, scope, lifetime).
    form: IfAddr,
    /// `no_track`: left alone when deleted by hand.
    no_track: bool,
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

/// Sends one route, rule or address request; a failure to send is logged
/// with its owner and line.
fn send(
    rtnl: &mut RtnlEvents,
    request: RtnlRequest,
    tag: u32,
    now: Instant,
    owner: &str,
    text: &str,
) {
    if let Err(e) = rtnl.send(request, tag, now) {
        if tag == STATIC_TAG {
            warn!("{owner}: `{text}`: {e}");
        } else {
            warn!("vrrp_instance {owner}: `{text}`: {e}");
        }
    }
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
        .map_err(SetupError::Script)?;
        if let Some(u) = &cfg.global.script_user {
            vrrp.script_user = Some(lookup_user(u)?);
        }
        vrrp.add_scripts(cfg)?;
        for (index, inst) in cfg.vrrp_instances.iter().enumerate() {
            vrrp.add_instance(cfg, index, inst, &interfaces, now)?;
        }
        vrrp.add_groups(cfg)?;
        // Last: the virtual servers' quorum_up/down and notify_up/down, run
        // one at a time in order, as script_user, like the VRRP notifies.
        vrrp.notifiers.push(Notifier::new(
            "virtual_server notify".into(),
            NotifyCommands::default(),
        ));
        vrrp.watch_route_links(&interfaces);
        Ok(vrrp)
    }

    /// No instance yet: the capacities, the global settings, the VMACs.
    fn empty(cfg: &Config, vmacs: vmac::Vmacs, now: Instant) -> Result<Vrrp, SetupError> {
        Ok(Vrrp {
            instances: Vec::with_capacity(cfg.vrrp_instances.len()),
            io: Vec::with_capacity(cfg.vrrp_instances.len()),
            receivers: Vec::new(),
            groups: Vec::new(),
            buf: Box::new([0u8; VRRP_PACKET_BUF]),
            frame: [0u8; 128],
            scripts: Vec::with_capacity(cfg.vrrp_scripts.len()),
            notifiers: Vec::with_capacity(cfg.vrrp_instances.len() + cfg.sync_groups.len()),
            files: Vec::new(),
            files_next: None,
            files_timer: None,
            iface_tracks: Vec::new(),
            procs: procs::ProcessWatch::setup(cfg, now).map_err(SetupError::Script)?,
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
            let argv = scripts::split(s.script.as_str(), &format!("{what}: script"))
                .map_err(SetupError::Script)?;
            let user = match &s.user {
                Some(u) => Some(lookup_user(u)?),
                None => self.script_user,
            };
            if cfg.global.enable_script_security {
                if let Some(why) = scripts::insecure_reason(&argv, user.map_or(0, |u| u.0)) {
                    return Err(SetupError::Script(format!(
                        "{what}: enable_script_security: {why}"
                    )));
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
            let group = SyncGroup::new(&g.member_indices).map_err(|_| SetupError::Params {
                instance: g.name.as_str().to_owned(),
                reason: "sync group has too many members".into(),
            })?;
            self.groups.push((g.name.as_str().to_owned(), group));
            let label = format!("vrrp_sync_group {}", g.name);
            let commands = NotifyCommands::new(&g.notify, &label).map_err(SetupError::Script)?;
            self.check_security(cfg, &commands, &label)?;
            self.notifiers.push(Notifier::new(label, commands));
        }
        Ok(())
    }

    /// The links routes go out of, and whether each is up now.
    fn watch_route_links(&mut self, interfaces: &[InterfaceInfo]) {
        let oifs = self
            .statics
            .routes
            .iter()
            .chain(self.io.iter().flat_map(|io| io.routes.iter()))
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
        let ifindex = |name: &str| interfaces.iter().find(|i| i.name == name).map(|i| i.index);
        let name = inst.name.as_str().to_owned();
        let ifname = inst.interface.as_str();
        let info: &InterfaceInfo =
            interfaces
                .iter()
                .find(|i| i.name == ifname)
                .ok_or_else(|| SetupError::NoInterface {
                    instance: name.clone(),
                    interface: ifname.to_owned(),
                })?;
        let ipv6 = inst.is_ipv6();
        let vmac = self.vmacs.of_instance(index).cloned();
        let source = inst
            .unicast_src_ip
            .or(inst.mcast_src_ip)
            .or_else(|| vmac.as_ref()?.link_local.map(IpAddr::V6))
            .or_else(|| info.primary(ipv6))
            .ok_or_else(|| SetupError::NoSource {
                instance: name.clone(),
                interface: ifname.to_owned(),
            })?;
        // Adverts leave from (and are heard on) the VMAC, unless vmac_xmit_base.
        let (adv_name, adv_index) = match &vmac {
            Some(v) if !inst.vmac_xmit_base => (v.name.as_str(), v.ifindex),
            _ => (ifname, info.index),
        };
        let in_group = cfg
            .sync_groups
            .iter()
            .any(|g| g.member_indices.contains(&index));
        let mut params = params_for(inst, source, in_group);
        self.add_tracks(index, inst, interfaces, &mut params)?;
        let label = format!("vrrp_instance {name}");
        let commands = NotifyCommands::new(&inst.notify, &label).map_err(SetupError::Script)?;
        self.check_security(cfg, &commands, &label)?;
        self.notifiers.push(Notifier::new(label, commands));
        let instance = Instance::new(params).map_err(|e| SetupError::Params {
            instance: name.clone(),
            reason: e.to_string(),
        })?;
        let ah_key = match instance.params().auth {
            Auth::Ah(key) => Some(key),
            _ => None,
        };
        let ah = ah_key.is_some();
        let receiver = self.receiver(adv_name, adv_index, ipv6, ah, now)?;
        self.receivers[receiver].instances.push(index);
        let sender = VrrpSender::open(adv_name, adv_index, source, ah).map_err(|err| {
            SetupError::Socket {
                what: format!("vrrp_instance {name}: send socket from {source} on {adv_name}"),
                err,
            }
        })?;
        // The VIPs (of the instance's family, on its interface) live on the VMAC.
        let (vip_index, vip_mac, vip_name) = match &vmac {
            Some(v) => (v.ifindex, v.mac, v.name.as_str()),
            None => (info.index, info.mac, ifname),
        };
        let packet = match PacketSender::open(vip_index) {
            Ok(p) => Some(p),
            Err(e) => {
                warn!("vrrp_instance {name}: no packet socket on {vip_name} ({e}); gratuitous ARP disabled");
                None
            }
        };
        let (vips, other_links) = instance_vips(&name, inst, info, vip_index, interfaces)?;
        let vips_seen = vec![false; vips.len()];
        let routes = inst
            .virtual_routes
            .iter()
            .map(|r| HeldRoute::build(r, &ifindex))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| SetupError::Params {
                instance: name.clone(),
                reason: format!("virtual_routes: {reason}"),
            })?;
        let rules = inst.virtual_rules.iter().map(HeldRule::build).collect();
        // Just set up: a macvlan runs when its lower device does; the
        // link events say otherwise if it does not.
        let base = vmac
            .as_ref()
            .map(|_| (info.index, info.up && info.running, info.up && info.running));
        let vmac_spec = vmac.as_ref().map(|_| VmacSpec {
            xmit_base: inst.vmac_xmit_base,
            keep_ipv6: ipv6
                || inst
                    .virtual_ipaddresses_excluded
                    .iter()
                    .any(|v| v.address.is_ipv6() != ipv6),
            ipv6,
        });
        self.io.push(InstanceIo {
            name,
            interface: ifname.to_owned(),
            ifindex: vip_index,
            mac: vip_mac,
            base,
            vmac_spec,
            sender,
            packet,
            other_links,
            receiver,
            vips,
            routes,
            rules,
            timer: None,
            drops: [0; DropReason::COUNT],
            received: 0,
            sent: 0,
            vip_mismatches: 0,
            send_errors: 0,
            vips_held: false,
            vips_seen,
            link_up: info.up && info.running,
            track_primary: !inst.dont_track_primary,
            fired: None,
            notified: None,
            cause: None,
            heard: None,
            send_lateness: Lateness::new(),
            ah_key,
            ip_ident: 0,
        });
        self.instances.push(instance);
        Ok(())
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

    /// A link changed: when an interface that routes go out of comes up
    /// again, its routes are added again (the kernel flushed the IPv4 ones
    /// when it went down; one still there answers EEXIST).
    pub fn on_link_routes(&mut self, rtnl: &mut RtnlEvents, now: Instant, ifindex: u32, up: bool) {
        let Some(link) = self.route_links.iter_mut().find(|l| l.0 == ifindex) else {
            return;
        };
        let came_up = up && !link.1;
        link.1 = up;
        if !came_up {
            return;
        }
        if self.statics.installed {
            for r in self
                .statics
                .routes
                .iter()
                .filter(|r| r.add.oif == Some(ifindex))
            {
                send(
                    rtnl,
                    RtnlRequest::AddRoute(r.add.clone(), r.create),
                    STATIC_TAG,
                    now,
                    "static",
                    &r.text,
                );
            }
        }
        for (i, io) in self.io.iter().enumerate() {
            if !io.vips_held || self.instances[i].state() != State::Master {
                continue;
            }
            for r in io.routes.iter().filter(|r| r.add.oif == Some(ifindex)) {
                send(
                    rtnl,
                    RtnlRequest::AddRoute(r.add.clone(), r.create),
                    i as u32,
                    now,
                    &io.name,
                    &r.text,
                );
            }
        }
    }

    /// Splits and vets a virtual server's or real server's command
    /// (`quorum_up`, `notify_down`, ...): same user and
    /// `enable_script_security` rules as the VRRP notify commands.
    pub fn lvs_command(&self, line: &str, what: &str) -> Result<scripts::Argv, SetupError> {
        let argv = scripts::split(line, what).map_err(SetupError::Script)?;
        if self.script_security {
            if let Some(why) = scripts::insecure_reason(&argv, self.script_user.map_or(0, |u| u.0))
            {
                return Err(SetupError::Script(format!(
                    "{what}: enable_script_security: {why}"
                )));
            }
        }
        Ok(argv)
    }

    /// Queues a virtual server's or real server's command.
    pub fn queue_lvs_command(&mut self, argv: scripts::Argv) {
        if let Some(n) = self.notifiers.last_mut() {
            n.command(argv);
        }
    }

    /// Fills `params.tracks` in the order interfaces, scripts, files, and
    /// records who feeds `Instance::track_id(n)` for each.
    fn add_tracks(
        &mut self,
        index: usize,
        inst: &InstanceConfig,
        interfaces: &[InterfaceInfo],
        params: &mut InstanceParams,
    ) -> Result<(), SetupError> {
        let full = || SetupError::Params {
            instance: inst.name.as_str().to_owned(),
            reason: "too many tracked objects".into(),
        };
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
            let n = params.tracks.len();
            params
                .tracks
                .push(TrackSpec {
                    kind: TrackKind::Interface,
                    weight: t.weight,
                    initial: if up {
                        TrackStatus::Up
                    } else {
                        TrackStatus::Down
                    },
                    reverse: false,
                })
                .map_err(|_| full())?;
            self.iface_tracks.push((ifindex, index, n));
        }
        // keepalived tracks the interface of every VIP or excluded address
        // on another interface than the instance's (weight 0: FAULT while it
        // is down), unless the address says `no_track` (vrrp.c,
        // vrrp_complete_instance).
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
                continue; // refused below, where the VIPs are resolved
            };
            let n = params.tracks.len();
            params
                .tracks
                .push(TrackSpec {
                    kind: TrackKind::Interface,
                    weight: 0,
                    initial: if i.up && i.running {
                        TrackStatus::Up
                    } else {
                        TrackStatus::Down
                    },
                    reverse: false,
                })
                .map_err(|_| full())?;
            self.iface_tracks.push((i.index, index, n));
        }
        for t in &inst.track_scripts {
            let Some(script) = self.scripts.get_mut(t.script) else {
                continue;
            };
            let n = params.tracks.len();
            params
                .tracks
                .push(TrackSpec {
                    kind: TrackKind::Script,
                    weight: t.weight,
                    initial: script.status(),
                    reverse: false,
                })
                .map_err(|_| full())?;
            script.subscribers.push((index, n));
        }
        for t in &inst.track_files {
            let f = match self.files.iter().position(|f| f.path == t.path.as_str()) {
                Some(f) => f,
                None => {
                    if let Some(init) = t.init {
                        scripts::init_track_file(t.path.as_str(), init.value, init.overwrite);
                    }
                    self.files
                        .push(TrackedFile::new(t.path.as_str().to_owned()));
                    self.files.len() - 1
                }
            };
            let n = params.tracks.len();
            params
                .tracks
                .push(TrackSpec {
                    kind: TrackKind::File,
                    weight: t.weight,
                    initial: TrackStatus::Value(self.files[f].value),
                    reverse: t.reverse,
                })
                .map_err(|_| full())?;
            self.files[f].subscribers.push((index, n));
        }
        for t in &inst.track_processes {
            let Some(watch) = self.procs.as_mut() else {
                continue;
            };
            let n = params.tracks.len();
            params
                .tracks
                .push(TrackSpec {
                    kind: TrackKind::Process,
                    weight: t.weight,
                    initial: if watch.tracker.is_up(t.process) {
                        TrackStatus::Up
                    } else {
                        TrackStatus::Down
                    },
                    reverse: t.reverse,
                })
                .map_err(|_| full())?;
            if let Some(subs) = watch.subscribers.get_mut(t.process) {
                subs.push((index, n));
            }
        }
        Ok(())
    }

    /// `enable_script_security` for notify commands (they run as `script_user`).
    fn check_security(
        &self,
        cfg: &Config,
        commands: &NotifyCommands,
        owner: &str,
    ) -> Result<(), SetupError> {
        if !cfg.global.enable_script_security {
            return Ok(());
        }
        match commands.insecure(self.script_user.map_or(0, |u| u.0)) {
            Some(why) => Err(SetupError::Script(format!(
                "{owner}: enable_script_security: {why}"
            ))),
            None => Ok(()),
        }
    }

    /// Runs `f` on instance `i` and, when its state changed, remembers
    /// `cause` for the state-change log line.
    fn with_cause(&mut self, i: usize, cause: transition::Cause, f: impl FnOnce(&mut Instance)) {
        let Some(inst) = self.instances.get_mut(i) else {
            return;
        };
        let before = inst.state();
        f(inst);
        if inst.state() != before {
            self.io[i].cause = Some(cause);
        }
    }

    /// Gives VRRP its own handle on the poll registry, to register script pidfds.
    pub fn attach_registry(&mut self, registry: Registry) {
        self.registry = Some(registry);
    }

    /// Removes VIPs a crashed earlier run left behind, then starts every instance.
    pub fn start(&mut self, now: Instant, rtnl: &mut Rtnl) {
        for io in &self.io {
            for vip in &io.vips {
                let addr = vip.form.addr;
                match rtnl.del_addr(&vip.form) {
                    Ok(true) => info!(
                        "vrrp_instance {}: removed stale VIP {addr} left by an earlier run",
                        io.name
                    ),
                    Ok(false) => {}
                    Err(e) => warn!("vrrp_instance {}: checking stale VIP {addr}: {e}", io.name),
                }
            }
        }
        for i in 0..self.instances.len() {
            if !self.io[i].link_up && self.io[i].track_primary {
                warn!(
                    "vrrp_instance {}: {} is down at start",
                    self.io[i].name, self.io[i].interface
                );
                self.instances[i].handle_track(now, OWN_INTERFACE, TrackStatus::Down);
            }
            self.with_cause(i, transition::Cause::Start, |inst| inst.handle_start(now));
        }
        for s in &mut self.scripts {
            s.start(now);
        }
        if !self.files.is_empty() {
            self.files_next = Some(now + TRACK_FILE_POLL);
        }
        self.reconcile_groups(now);
    }

    /// Starts the orderly stop: each instance sends priority 0 and drops its
    /// VIPs; scripts stop; groups report STOP (as keepalived does at shutdown).
    pub fn stop(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            self.with_cause(i, transition::Cause::Stop, |inst| inst.handle_stop(now));
        }
        for s in &mut self.scripts {
            s.stop();
        }
        self.files_next = None;
        let base = self.instances.len();
        for (g, (name, _)) in self.groups.iter().enumerate() {
            if let Some(fifo) = &mut self.fifo {
                fifo.write_line(&scripts::fifo_line("GROUP", name, NotifyState::Stop, 0));
            }
            if let Some(n) = self.notifiers.get_mut(base + g) {
                n.transition("GROUP", name, NotifyState::Stop, 0);
            }
        }
    }

    /// Applies the sync-group rules after any event.
    pub fn reconcile_groups(&mut self, now: Instant) {
        let base = self.instances.len();
        for (g, (name, group)) in self.groups.iter_mut().enumerate() {
            // On the stack: this runs after every event.
            let mut before = [State::Init; crate::limits::MAX_VRRP_INSTANCES];
            for (b, inst) in before.iter_mut().zip(&self.instances) {
                *b = inst.state();
            }
            group.reconcile(now, &mut self.instances);
            for (i, was) in before.iter().enumerate().take(self.instances.len()) {
                if self.instances[i].state() != *was {
                    self.io[i].cause = Some(transition::Cause::Group);
                }
            }
            while let Some(GroupAction::Notify { state }) = group.poll_action() {
                info!("VRRP_Group({name}) Syncing instances to {}", state.as_str());
                if let Some(fifo) = &mut self.fifo {
                    fifo.write_line(&scripts::fifo_line("GROUP", name, state, 0));
                }
                if let Some(n) = self.notifiers.get_mut(base + g) {
                    n.transition("GROUP", name, state, 0);
                }
            }
        }
    }

    /// Child slot `k` (a `vrrp_script` or a notifier) is ready or due.
    pub fn on_child(&mut self, now: Instant, k: usize) {
        if k < self.scripts.len() {
            let status = self.scripts[k].on_event(now, self.registry.as_ref(), k);
            if let Some(status) = status {
                for idx in 0..self.scripts[k].subscribers.len() {
                    let (i, n) = self.scripts[k].subscribers[idx];
                    self.with_cause(i, transition::Cause::Track, |inst| {
                        inst.handle_track(now, Instance::track_id(n), status)
                    });
                }
                self.reconcile_groups(now);
            }
        } else if let Some(n) = self.notifiers.get_mut(k - self.scripts.len()) {
            n.on_event(now, self.registry.as_ref());
        }
    }

    /// Child slot `k`'s timer fired.
    pub fn on_child_timer(&mut self, now: Instant, k: usize) {
        let base = self.scripts.len();
        if let Some(s) = self.scripts.get_mut(k) {
            s.timer = None;
        } else if let Some(n) = self.notifiers.get_mut(k - base) {
            n.timer = None;
        }
        self.on_child(now, k);
    }

    /// The track-file poll is due: read every file, feed changed values.
    pub fn on_files(&mut self, now: Instant) {
        self.files_timer = None;
        if self.files_next.is_none() {
            return;
        }
        self.files_next = Some(now + TRACK_FILE_POLL);
        let mut changed = false;
        for f in &mut self.files {
            if let Some(v) = f.poll() {
                changed = true;
                for &(i, n) in &f.subscribers {
                    if let Some(inst) = self.instances.get_mut(i) {
                        let before = inst.state();
                        inst.handle_track(now, Instance::track_id(n), TrackStatus::Value(v));
                        if inst.state() != before {
                            self.io[i].cause = Some(transition::Cause::Track);
                        }
                    }
                }
            }
        }
        if changed {
            self.reconcile_groups(now);
        }
    }

    /// The process-events socket, to register with the poll.
    pub fn proc_events_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.procs
            .as_ref()
            .and_then(|w| w.socket())
            .map(|s| s.as_raw_fd())
    }

    /// Process events are readable.
    pub fn on_proc_events(&mut self, now: Instant) {
        if let Some(w) = self.procs.as_mut() {
            w.on_readable(now);
        }
        self.apply_process_changes(now);
    }

    /// The process watcher's timer fired.
    pub fn on_procs_timer(&mut self, now: Instant) {
        if let Some(w) = self.procs.as_mut() {
            w.timer = None;
            w.on_timer(now);
        }
        self.apply_process_changes(now);
    }

    fn apply_process_changes(&mut self, now: Instant) {
        let Some(w) = self.procs.as_mut() else {
            return;
        };
        let mut changed = false;
        while let Some((d, up)) = w.poll_change() {
            changed = true;
            let status = if up {
                TrackStatus::Up
            } else {
                TrackStatus::Down
            };
            for &(i, n) in w.subscribers.get(d).map_or(&[][..], Vec::as_slice) {
                if let Some(inst) = self.instances.get_mut(i) {
                    let before = inst.state();
                    inst.handle_track(now, Instance::track_id(n), status);
                    if inst.state() != before {
                        self.io[i].cause = Some(transition::Cause::Track);
                    }
                }
            }
        }
        if changed {
            self.reconcile_groups(now);
        }
    }

    /// Starts queued notify commands, then keeps every VRRP timer (instances,
    /// scripts, notifiers, track files) in step with its deadline.
    pub fn sync_timers(
        &mut self,
        now: Instant,
        timers: &mut crate::io::timers::Timers<super::TimerKind>,
    ) {
        use super::{sync_timer, TimerKind};
        let base = self.scripts.len();
        for (k, n) in self.notifiers.iter_mut().enumerate() {
            n.pump(
                now,
                self.registry.as_ref(),
                base + k,
                self.script_user,
                self.notify_timeout,
            );
            let want = n.poll_at(now);
            sync_timer(timers, &mut n.timer, want, TimerKind::VrrpChild(base + k));
        }
        for (k, s) in self.scripts.iter_mut().enumerate() {
            let want = s.poll_at(now);
            sync_timer(timers, &mut s.timer, want, TimerKind::VrrpChild(k));
        }
        for (i, inst) in self.instances.iter().enumerate() {
            let io = &mut self.io[i];
            sync_timer(timers, &mut io.timer, inst.poll_at(), TimerKind::Vrrp(i));
        }
        sync_timer(
            timers,
            &mut self.files_timer,
            self.files_next,
            TimerKind::VrrpFiles,
        );
        if let Some(w) = self.procs.as_mut() {
            let want = w.poll_at(now);
            sync_timer(timers, &mut w.timer, want, TimerKind::VrrpProcs);
        }
        for (r, receiver) in self.receivers.iter_mut().enumerate() {
            // Due at once: the loop polls without sleeping, serves the I/O and
            // the timers due, then this read.
            let want = receiver.backlog.then_some(now);
            sync_timer(timers, &mut receiver.timer, want, TimerKind::VrrpReceive(r));
        }
    }

    /// At shutdown: runs what is left of the notify queues (notify_stop and the
    /// STOP lines) to the end, for at most `limit`.
    pub fn finish_notifies(&mut self, clock: &mut impl Clock, limit: Duration) {
        let end = clock.now() + limit;
        let base = self.scripts.len();
        loop {
            let now = clock.now();
            let mut busy = false;
            for (k, n) in self.notifiers.iter_mut().enumerate() {
                n.on_event(now, None);
                n.pump(now, None, base + k, self.script_user, self.notify_timeout);
                busy |= n.busy();
            }
            if !busy {
                return;
            }
            if now >= end {
                warn!("stopping: notify commands still running after {limit:?}; killing them");
                self.notifiers.clear();
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Reads pending adverts on receiver `r` and feeds the instances, at most
    /// [`VRRP_PACKETS_PER_WAKEUP`] per wake-up (`now` names the wake-up): what
    /// is left is read on the next turn, after the timers of this one.
    pub fn on_readable(&mut self, now: Instant, r: usize) {
        let Some(receiver) = self.receivers.get_mut(r) else {
            return;
        };
        if receiver.budget.0 != now {
            receiver.budget = (now, VRRP_PACKETS_PER_WAKEUP);
        }
        receiver.backlog = false;
        loop {
            let receiver = &mut self.receivers[r];
            if receiver.budget.1 == 0 {
                // Edge-triggered: no new event will come for what is queued.
                receiver.backlog = true;
                receiver.budget_reached += 1;
                break;
            }
            receiver.budget.1 -= 1;
            let got = match receiver.socket.recv(&mut self.buf[..]) {
                Ok(Some(got)) => got,
                Ok(None) => break,
                Err(e) => {
                    warn!("VRRP receive on {}: {e}", receiver.interface);
                    break;
                }
            };
            self.handle_packet(now, r, &got);
        }
        self.reconcile_groups(now);
    }

    /// The next-turn timer of receiver `r` fired: read what the budget left.
    pub fn on_backlog(&mut self, now: Instant, r: usize) {
        if let Some(receiver) = self.receivers.get_mut(r) {
            receiver.timer = None;
            if receiver.backlog {
                self.on_readable(now, r);
            }
        }
    }

    fn handle_packet(&mut self, now: Instant, r: usize, got: &Received) {
        let receiver = &self.receivers[r];
        let (meta, ip_header, payload) = match got {
            Received::Ipv4 { datagram } => {
                let bytes = self.buf.get(datagram.clone()).unwrap_or(&[]);
                match wire::split_ipv4(bytes) {
                    Ok((header, payload)) => (
                        ReceiveMeta {
                            src: IpAddr::V4(header.src),
                            dst: IpAddr::V4(header.dst),
                            ttl: header.ttl,
                            ah: header.protocol == wire::PROTOCOL_AH,
                        },
                        // split_ipv4 proved the header length.
                        bytes
                            .get(..usize::from(bytes.first().copied().unwrap_or(0) & 0x0f) * 4)
                            .unwrap_or(&[]),
                        payload,
                    ),
                    Err(malformed) => {
                        self.receivers[r].drops[DropReason::from(malformed).index()] += 1;
                        return;
                    }
                }
            }
            Received::Ipv6 {
                source,
                destination,
                hop_limit,
                payload,
            } => (
                ReceiveMeta {
                    src: IpAddr::V6(*source),
                    dst: IpAddr::V6(*destination),
                    ttl: *hop_limit,
                    ah: false,
                },
                &[][..],
                self.buf.get(payload.clone()).unwrap_or(&[]),
            ),
        };
        let instances = &self.instances;
        let mut target = None;
        // The instance's configuration decides (group and TTL, or peers).
        let checked = receive_check_ipv4(ip_header, payload, &meta, |vrid| {
            let idx = receiver
                .instances
                .iter()
                .copied()
                .find(|&i| instances[i].params().vrid == vrid)?;
            target = Some(idx);
            Some(instances[idx].expectation())
        });
        match checked {
            Err(reason) => {
                match target {
                    Some(i) => self.io[i].drops[reason.index()] += 1,
                    None => self.receivers[r].drops[reason.index()] += 1,
                }
                debug!(
                    "VRRP advert from {} on {} dropped: {}",
                    meta.src,
                    self.receivers[r].interface,
                    reason.as_str()
                );
            }
            Ok((repr, notes)) => {
                let Some(i) = target else { return };
                let io = &mut self.io[i];
                if notes.vip_mismatch {
                    io.vip_mismatches += 1;
                    if io.vip_mismatches == 1 {
                        warn!(
                            "vrrp_instance {}: advert from {} lists other VIPs than ours",
                            io.name, meta.src
                        );
                    }
                }
                io.received += 1;
                let advert = Advert {
                    ah_sequence: notes.ah_sequence,
                    ..Advert::from_repr(&repr, meta.src)
                };
                let before = self.instances[i].state();
                let outcome = self.instances[i].handle_advert(now, &advert);
                self.io[i].heard = match outcome {
                    AdvertOutcome::MasterStopped => {
                        Some(transition::Cause::MasterLeft { from: advert.src })
                    }
                    AdvertOutcome::Preempting => Some(transition::Cause::Preempt {
                        from: advert.src,
                        priority: advert.priority,
                    }),
                    AdvertOutcome::Accepted => None,
                    _ => self.io[i].heard,
                };
                if self.instances[i].state() != before {
                    self.io[i].cause = Some(transition::Cause::Advert {
                        from: advert.src,
                        priority: advert.priority,
                    });
                }
                debug!(
                    "vrrp_instance {}: advert from {}: {outcome:?}",
                    self.io[i].name, meta.src
                );
            }
        }
    }

    /// The earliest deadline of any instance (adverts, master-down, preempt delay).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.instances.iter().filter_map(Instance::poll_at).min()
    }

    /// Runs expired timers of instance `i`.
    pub fn on_timer(&mut self, now: Instant, i: usize) {
        if let Some(inst) = self.instances.get_mut(i) {
            // The instance's earliest deadline is the one its timer carried.
            self.io[i].fired = inst.poll_at();
            let before = inst.state();
            inst.handle_timeout(now);
            if inst.state() != before {
                let heard = self.io[i].heard.take();
                self.io[i].cause = Some(heard.unwrap_or(transition::Cause::Timer));
            }
        }
        self.reconcile_groups(now);
    }

    /// A link changed: feeds the implicit own-interface track of the instances there.
    pub fn on_link(&mut self, now: Instant, ifindex: u32, up: bool) {
        let status = if up {
            TrackStatus::Up
        } else {
            TrackStatus::Down
        };
        let cause = transition::Cause::Link { up };
        for i in 0..self.instances.len() {
            let io = &mut self.io[i];
            if !io.track_primary {
                continue;
            }
            // With a VMAC, the own interface is up when it and the VMAC are.
            let status = match &mut io.base {
                Some((base, base_up, vmac_up)) if *base == ifindex || io.ifindex == ifindex => {
                    if *base == ifindex {
                        *base_up = up;
                    } else {
                        *vmac_up = up;
                    }
                    if *base_up && *vmac_up {
                        TrackStatus::Up
                    } else {
                        TrackStatus::Down
                    }
                }
                None if io.ifindex == ifindex => status,
                _ => continue,
            };
            self.with_cause(i, cause, |inst| {
                inst.handle_track(now, OWN_INTERFACE, status)
            });
        }
        for t in 0..self.iface_tracks.len() {
            let (idx, i, n) = self.iface_tracks[t];
            if idx == ifindex && idx != 0 {
                self.with_cause(i, cause, |inst| {
                    inst.handle_track(now, Instance::track_id(n), status)
                });
            }
        }
        self.reconcile_groups(now);
    }

    /// A link was deleted: a VMAC of an instance is made again at once, as
    /// keepalived does (recreate_vmac_thread), and the instance's sockets,
    /// packet socket and addresses move to the new link. Until it is up the
    /// instance is FAULT (its own interface is down). A rare event (someone
    /// deleted the link): the requests are answered inside their sends.
    pub fn on_link_deleted(&mut self, ifindex: u32) {
        for i in 0..self.io.len() {
            if self.io[i].vmac_spec.is_none() || self.io[i].ifindex != ifindex {
                continue;
            }
            if let Err(e) = self.recreate_vmac(i) {
                warn!(
                    "vrrp_instance {}: its VMAC was deleted and cannot be made again ({e}); FAULT until it exists",
                    self.io[i].name
                );
            }
        }
    }

    fn recreate_vmac(&mut self, i: usize) -> Result<(), String> {
        let Some(spec) = self.io[i].vmac_spec else {
            return Ok(());
        };
        let old_index = self.io[i].ifindex;
        let Some(old) = self.vmacs.forget(old_index) else {
            return Ok(());
        };
        let io = &self.io[i];
        let base = iface::lookup(&io.interface)
            .map_err(|e| format!("listing interfaces: {e}"))?
            .ok_or_else(|| format!("{} is gone too", io.interface))?;
        let mut rtnl = Rtnl::open().map_err(|e| format!("rtnetlink socket: {e}"))?;
        let want = vmac::VmacRequest {
            instance: &io.name,
            base: &base,
            vrid: self.instances[i].params().vrid,
            ipv6: spec.ipv6,
            name: Some(&old.name),
            reserved: &[],
            keep_ipv6: spec.keep_ipv6,
            link_local: old.link_local,
        };
        let link = self
            .vmacs
            .ensure(&mut rtnl, &want)
            .map_err(|e| e.to_string())?;
        info!(
            "vrrp_instance {}: VMAC {} was deleted; made it again (index {} -> {})",
            io.name, old.name, old_index, link.ifindex
        );
        let io = &mut self.io[i];
        io.ifindex = link.ifindex;
        for vip in &mut io.vips {
            if vip.form.ifindex == old_index {
                vip.form.ifindex = link.ifindex;
            }
        }
        io.packet = PacketSender::open(link.ifindex)
            .map_err(|e| {
                warn!(
                    "vrrp_instance {}: packet socket on {}: {e}",
                    io.name, link.name
                )
            })
            .ok();
        if spec.xmit_base {
            return Ok(());
        }
        let source = io.sender.source();
        io.sender = VrrpSender::open(&link.name, link.ifindex, source, io.ah_key.is_some())
            .map_err(|e| format!("send socket on {}: {e}", link.name))?;
        let r = io.receiver;
        let receiver = &mut self.receivers[r];
        let socket = VrrpReceiver::open(&link.name, link.ifindex, receiver.ipv6, true, receiver.ah)
            .map_err(|e| format!("receive socket on {}: {e}", link.name))?;
        if let Some(registry) = &self.registry {
            let token = crate::io::event_loop::Source::Vrrp(r).token();
            let _ = registry.deregister(&mut mio::unix::SourceFd(&receiver.socket.as_raw_fd()));
            registry
                .register(
                    &mut mio::unix::SourceFd(&socket.as_raw_fd()),
                    token,
                    mio::Interest::READABLE,
                )
                .map_err(|e| format!("registering the receive socket on {}: {e}", link.name))?;
        }
        receiver.socket = socket;
        Ok(())
    }

    /// An address re-dump begins: no VIP seen yet.
    pub fn begin_vip_survey(&mut self) {
        for io in &mut self.io {
            io.vips_seen.fill(false);
        }
    }

    /// The re-dump listed `addr` on `ifindex`.
    pub fn vip_seen(&mut self, ifindex: u32, addr: IpAddr) {
        for io in &mut self.io {
            for (k, v) in io.vips.iter().enumerate() {
                if v.form.addr == addr && v.form.ifindex == ifindex {
                    if let Some(seen) = io.vips_seen.get_mut(k) {
                        *seen = true;
                    }
                }
            }
        }
    }

    /// The re-dump ended: every instance's VIPs are made to agree with its
    /// state again (missing ones added while it holds them, left-over ones
    /// removed while it does not). Returns how many changes were sent.
    pub fn finish_vip_survey(&mut self, rtnl: &mut RtnlEvents, now: Instant) -> usize {
        let mut sent = 0;
        for (i, io) in self.io.iter().enumerate() {
            let hold = io.vips_held && self.instances[i].state() == State::Master;
            for (k, vip) in io.vips.iter().enumerate() {
                let a = vip.form.addr;
                let seen = io.vips_seen.get(k).copied().unwrap_or(false);
                let request = match (hold, seen) {
                    // `no_track`: a missing address is not watched.
                    (true, false) if vip.no_track => continue,
                    (true, false) => {
                        warn!(
                            "vrrp_instance {}: VIP {a} is missing after an rtnetlink re-dump; adding it back",
                            io.name
                        );
                        RtnlRequest::AddAddr(vip.form.clone())
                    }
                    (false, true) => {
                        warn!(
                            "vrrp_instance {}: VIP {a} is present while not master (rtnetlink re-dump); removing it",
                            io.name
                        );
                        RtnlRequest::DelAddr(vip.form.clone())
                    }
                    _ => continue,
                };
                sent += 1;
                if let Err(e) = rtnl.send(request, i as u32, now) {
                    warn!("vrrp_instance {}: VIP {a}: {e}", io.name);
                }
            }
        }
        // Route and rule events may have been lost with the rest: add again
        // what must be there (an existing one answers EEXIST, which is fine).
        sent + self.reinstall(rtnl, now)
    }

    /// The status line on routes and rules (None when none are configured).
    pub fn routes_line(&self) -> Option<String> {
        if !self.has_routes() {
            return None;
        }
        let s = &self.statics;
        let held = self
            .io
            .iter()
            .enumerate()
            .filter(|(i, io)| io.vips_held && self.instances[*i].state() == State::Master);
        let (routes, rules) = held.fold((0, 0), |(a, b), (_, io)| {
            (a + io.routes.len(), b + io.rules.len())
        });
        Some(format!(
            "routes: static {} route(s) {} rule(s) {} address(es) {}; virtual {routes} route(s) {rules} rule(s) held; put back {}; refused by the kernel {}",
            s.routes.len(),
            s.rules.len(),
            s.addresses.len(),
            if s.installed { "installed" } else { "not installed" },
            self.route_repairs,
            self.route_refusals.get()
        ))
    }

    /// Whether any route or rule is configured (then their deletions are watched).
    pub fn has_routes(&self) -> bool {
        !self.statics.is_empty()
            || self
                .io
                .iter()
                .any(|io| !io.routes.is_empty() || !io.rules.is_empty())
    }

    /// Installs `static_ipaddress`, `static_routes` and `static_rules`, in
    /// keepalived's order (addresses, routes, rules), whatever the VRRP state.
    pub fn start_statics(&mut self, rtnl: &mut RtnlEvents, now: Instant) {
        if self.statics.is_empty() {
            return;
        }
        self.statics.installed = true;
        let s = &self.statics;
        for (a, _) in &s.addresses {
            send(
                rtnl,
                RtnlRequest::AddAddr(a.clone()),
                STATIC_TAG,
                now,
                "static",
                &a.addr.to_string(),
            );
        }
        for r in &s.routes {
            send(
                rtnl,
                RtnlRequest::AddRoute(r.add.clone(), r.create),
                STATIC_TAG,
                now,
                "static",
                &r.text,
            );
        }
        for r in &s.rules {
            send(
                rtnl,
                RtnlRequest::AddRule(r.repr.clone()),
                STATIC_TAG,
                now,
                "static",
                &r.text,
            );
        }
        info!(
            "static: {} address(es), {} route(s), {} rule(s) installed",
            s.addresses.len(),
            s.routes.len(),
            s.rules.len()
        );
    }

    /// Removes the static rules, routes and addresses at stop, as keepalived does.
    pub fn stop_statics(&mut self, rtnl: &mut RtnlEvents, now: Instant) {
        if !self.statics.installed {
            return;
        }
        self.statics.installed = false;
        let s = &self.statics;
        for r in &s.rules {
            send(
                rtnl,
                RtnlRequest::DelRule(r.repr.clone()),
                STATIC_TAG,
                now,
                "static",
                &r.text,
            );
        }
        for r in &s.routes {
            send(
                rtnl,
                RtnlRequest::DelRoute(r.del()),
                STATIC_TAG,
                now,
                "static",
                &r.text,
            );
        }
        for (a, _) in &s.addresses {
            send(
                rtnl,
                RtnlRequest::DelAddr(a.clone()),
                STATIC_TAG,
                now,
                "static",
                &a.addr.to_string(),
            );
        }
    }

    /// Sends again every static route, rule and address, and those of every
    /// instance holding its VIPs. Returns how many requests went out.
    fn reinstall(&mut self, rtnl: &mut RtnlEvents, now: Instant) -> usize {
        let mut sent = 0;
        if self.statics.installed {
            let s = &self.statics;
            for (a, no_track) in &s.addresses {
                if !no_track {
                    sent += 1;
                    send(
                        rtnl,
                        RtnlRequest::AddAddr(a.clone()),
                        STATIC_TAG,
                        now,
                        "static",
                        &a.addr.to_string(),
                    );
                }
            }
            for r in s.routes.iter().filter(|r| r.track) {
                sent += 1;
                send(
                    rtnl,
                    RtnlRequest::AddRoute(r.add.clone(), r.create),
                    STATIC_TAG,
                    now,
                    "static",
                    &r.text,
                );
            }
            for r in s.rules.iter().filter(|r| r.track) {
                sent += 1;
                send(
                    rtnl,
                    RtnlRequest::AddRule(r.repr.clone()),
                    STATIC_TAG,
                    now,
                    "static",
                    &r.text,
                );
            }
        }
        for (i, io) in self.io.iter().enumerate() {
            if !io.vips_held || self.instances[i].state() != State::Master {
                continue;
            }
            for r in io.routes.iter().filter(|r| r.track) {
                sent += 1;
                send(
                    rtnl,
                    RtnlRequest::AddRoute(r.add.clone(), r.create),
                    i as u32,
                    now,
                    &io.name,
                    &r.text,
                );
            }
            for r in io.rules.iter().filter(|r| r.track) {
                sent += 1;
                send(
                    rtnl,
                    RtnlRequest::AddRule(r.repr.clone()),
                    i as u32,
                    now,
                    &io.name,
                    &r.text,
                );
            }
        }
        sent
    }

    /// A route marked as keepalived's was deleted: a tracked static route, or
    /// a tracked virtual route of an instance holding its VIPs, goes back.
    /// (keepalived puts a static route back too; for a virtual route it makes
    /// the instance BACKUP, which then takes over again: lvsd keeps the route,
    /// as it keeps a VIP deleted by hand.)
    pub fn on_route_deleted(&mut self, rtnl: &mut RtnlEvents, now: Instant, gone: &RouteRepr) {
        let mut repaired = 0;
        if self.statics.installed {
            for r in self
                .statics
                .routes
                .iter()
                .filter(|r| r.track && r.matches(gone))
            {
                repaired += 1;
                warn!(
                    "static route `{}` was deleted; adding it back, as keepalived does",
                    r.text
                );
                send(
                    rtnl,
                    RtnlRequest::AddRoute(r.add.clone(), r.create),
                    STATIC_TAG,
                    now,
                    "static",
                    &r.text,
                );
            }
        }
        for (i, io) in self.io.iter().enumerate() {
            if !io.vips_held || self.instances[i].state() != State::Master {
                continue;
            }
            for r in io.routes.iter().filter(|r| r.track && r.matches(gone)) {
                repaired += 1;
                warn!(
                    "vrrp_instance {}: route `{}` was deleted while master; adding it back",
                    io.name, r.text
                );
                send(
                    rtnl,
                    RtnlRequest::AddRoute(r.add.clone(), r.create),
                    i as u32,
                    now,
                    &io.name,
                    &r.text,
                );
            }
        }
        self.route_repairs += repaired;
    }

    /// A rule marked as keepalived's was deleted: put back like a route.
    pub fn on_rule_deleted(&mut self, rtnl: &mut RtnlEvents, now: Instant, gone: &RuleRepr) {
        let mut repaired = 0;
        if self.statics.installed {
            for r in self
                .statics
                .rules
                .iter()
                .filter(|r| r.track && r.matches(gone))
            {
                repaired += 1;
                warn!(
                    "static rule `{}` was deleted; adding it back, as keepalived does",
                    r.text
                );
                send(
                    rtnl,
                    RtnlRequest::AddRule(r.repr.clone()),
                    STATIC_TAG,
                    now,
                    "static",
                    &r.text,
                );
            }
        }
        for (i, io) in self.io.iter().enumerate() {
            if !io.vips_held || self.instances[i].state() != State::Master {
                continue;
            }
            for r in io.rules.iter().filter(|r| r.track && r.matches(gone)) {
                repaired += 1;
                warn!(
                    "vrrp_instance {}: rule `{}` was deleted while master; adding it back",
                    io.name, r.text
                );
                send(
                    rtnl,
                    RtnlRequest::AddRule(r.repr.clone()),
                    i as u32,
                    now,
                    &io.name,
                    &r.text,
                );
            }
        }
        self.route_repairs += repaired;
    }

    /// A route or rule request ended; a refusal is logged with the line it
    /// came from and its owner. Returns false for other requests.
    fn route_request_done(
        &self,
        tag: u32,
        request: &RtnlRequest,
        result: &Result<(), NetlinkError>,
    ) -> bool {
        let owner = if tag == STATIC_TAG {
            "static".to_string()
        } else {
            format!(
                "vrrp_instance {}",
                self.io.get(tag as usize).map_or("?", |io| io.name.as_str())
            )
        };
        let routes: &[HeldRoute] = if tag == STATIC_TAG {
            &self.statics.routes
        } else {
            self.io.get(tag as usize).map_or(&[], |io| &io.routes)
        };
        let rules: &[HeldRule] = if tag == STATIC_TAG {
            &self.statics.rules
        } else {
            self.io.get(tag as usize).map_or(&[], |io| &io.rules)
        };
        let (verb, what, text, harmless) = match request {
            RtnlRequest::AddRoute(r, _) => (
                "adding",
                "route",
                routes.iter().find(|h| h.add == *r).map(|h| h.text.as_str()),
                libc::EEXIST,
            ),
            RtnlRequest::DelRoute(r) => (
                "removing",
                "route",
                routes
                    .iter()
                    .find(|h| h.del() == *r)
                    .map(|h| h.text.as_str()),
                libc::ESRCH,
            ),
            RtnlRequest::AddRule(r) => (
                "adding",
                "rule",
                rules.iter().find(|h| h.repr == *r).map(|h| h.text.as_str()),
                libc::EEXIST,
            ),
            RtnlRequest::DelRule(r) => (
                "removing",
                "rule",
                rules.iter().find(|h| h.repr == *r).map(|h| h.text.as_str()),
                libc::ENOENT,
            ),
            _ => return false,
        };
        match result {
            Ok(()) => {}
            Err(NetlinkError::Kernel { errno, .. }) if *errno == harmless => {}
            Err(e) => {
                self.route_refusals.set(self.route_refusals.get() + 1);
                warn!("{owner}: {verb} {what} `{}`: {e}", text.unwrap_or("?"))
            }
        }
        true
    }

    /// A VIP request of instance `tag` ended. Adding a VIP that is there, or
    /// removing one that is gone, is success.
    pub fn vip_request_done(
        &mut self,
        tag: u32,
        request: &RtnlRequest,
        result: &Result<(), NetlinkError>,
    ) {
        if self.route_request_done(tag, request, result) {
            return;
        }
        let (verb, a) = match request {
            RtnlRequest::AddAddr(a) => ("adding", a),
            RtnlRequest::DelAddr(a) => ("removing", a),
            _ => return,
        };
        if tag == STATIC_TAG {
            match result {
                Err(NetlinkError::Kernel { errno, .. })
                    if (*errno == libc::EEXIST && verb == "adding")
                        || (*errno == libc::EADDRNOTAVAIL && verb == "removing") => {}
                Err(e) => warn!("static_ipaddress {}/{}: {verb}: {e}", a.addr, a.prefix_len),
                Ok(()) => {}
            }
            return;
        }
        let name = self.io.get(tag as usize).map_or("?", |io| io.name.as_str());
        match result {
            Ok(()) => {}
            // ENODEV: the link went away with its addresses (a deleted VMAC).
            Err(NetlinkError::Kernel { errno, .. })
                if (*errno == libc::EEXIST && verb == "adding")
                    || ((*errno == libc::EADDRNOTAVAIL || *errno == libc::ENODEV)
                        && verb == "removing") => {}
            Err(e) => warn!(
                "vrrp_instance {name}: {verb} VIP {}/{}: {e}",
                a.addr, a.prefix_len
            ),
        }
    }

    /// An address disappeared: a VIP deleted by hand while master comes back.
    pub fn on_addr_removed(
        &mut self,
        rtnl: &mut RtnlEvents,
        now: Instant,
        ifindex: u32,
        addr: IpAddr,
    ) {
        let mut repaired = 0;
        if self.statics.installed {
            for (a, no_track) in &self.statics.addresses {
                if a.addr == addr && a.ifindex == ifindex && !no_track {
                    warn!("static_ipaddress {addr} was removed by hand; adding it back, as keepalived does");
                    repaired += 1;
                    if let Err(e) = rtnl.send(RtnlRequest::AddAddr(a.clone()), STATIC_TAG, now) {
                        warn!("static_ipaddress {addr}: {e}");
                    }
                }
            }
            self.route_repairs += repaired;
            // The kernel flushes the IPv4 routes of an interface that loses its
            // last address, without a notification: add again the static
            // routes through it (one that is still there answers EEXIST).
            for r in &self.statics.routes {
                if r.track && r.add.oif == Some(ifindex) {
                    send(
                        rtnl,
                        RtnlRequest::AddRoute(r.add.clone(), r.create),
                        STATIC_TAG,
                        now,
                        "static",
                        &r.text,
                    );
                }
            }
        }
        for i in 0..self.instances.len() {
            let io = &self.io[i];
            if self.instances[i].state() != State::Master || !io.vips_held {
                continue;
            }
            if let Some(vip) = io
                .vips
                .iter()
                .find(|v| v.form.addr == addr && v.form.ifindex == ifindex)
            {
                let a = addr;
                if vip.no_track {
                    // keepalived's `no_track`: a deleted address is not
                    // watched (it neither leaves MASTER nor comes back).
                    info!(
                        "vrrp_instance {}: VIP {a} (no_track) was removed by hand; left as it is",
                        io.name
                    );
                    continue;
                }
                warn!(
                    "vrrp_instance {}: VIP {a} was removed by hand while master; adding it back",
                    io.name
                );
                if let Err(e) = rtnl.send(RtnlRequest::AddAddr(vip.form.clone()), i as u32, now) {
                    warn!("vrrp_instance {}: re-adding VIP {a}: {e}", io.name);
                }
            }
        }
        // After the VIPs: a route may need one (`src`, a gateway on its subnet).
        for (i, io) in self.io.iter().enumerate() {
            if !io.vips_held || self.instances[i].state() != State::Master {
                continue;
            }
            for r in &io.routes {
                if r.track && r.add.oif == Some(ifindex) {
                    send(
                        rtnl,
                        RtnlRequest::AddRoute(r.add.clone(), r.create),
                        i as u32,
                        now,
                        &io.name,
                        &r.text,
                    );
                }
            }
        }
    }

    /// Carries out every queued action of every instance. Returns the notify
    /// lines produced (instance, state, priority) for the notifier.
    pub fn run_actions(
        &mut self,
        rtnl: &mut RtnlEvents,
        now: Instant,
        notes: &mut Vec<(usize, NotifyState, u8)>,
    ) {
        for i in 0..self.instances.len() {
            while let Some(action) = self.instances[i].poll_action() {
                let advert = matches!(action, Action::SendAdvert { .. });
                self.run_action(i, action, rtnl, now, notes);
                if advert {
                    if let Some(deadline) = self.io[i].fired.take() {
                        // Measurement only (the state machine runs on the
                        // wake-up's `now`): when the advert really left,
                        // against the timer that asked for it, so waiting
                        // behind check work in the same wake-up shows.
                        self.io[i]
                            .send_lateness
                            .record(crate::io::stopwatch::lateness(deadline));
                    }
                }
            }
            self.io[i].fired = None;
        }
    }

    fn run_action(
        &mut self,
        i: usize,
        action: Action,
        rtnl: &mut RtnlEvents,
        now: Instant,
        notes: &mut Vec<(usize, NotifyState, u8)>,
    ) {
        let io = &mut self.io[i];
        match action {
            Action::SendAdvert {
                priority,
                advert_interval_cs,
            } => {
                let sequence = match io.ah_key {
                    Some(_) => self.instances[i].next_ah_sequence(),
                    None => 0,
                };
                let inst = &self.instances[i];
                let repr = inst.advert_repr(priority, advert_interval_cs);
                let src = io.sender.source();
                let group = match Family::of(src) {
                    Family::Ipv4 => IpAddr::V4(wire::MULTICAST_V4),
                    Family::Ipv6 => IpAddr::V6(wire::MULTICAST_V6),
                };
                let peers = &inst.params().unicast_peers;
                let targets: &[IpAddr] = if peers.is_empty() {
                    std::slice::from_ref(&group)
                } else {
                    peers
                };
                if io.ah_key.is_some() {
                    // keepalived: one identification per advert, never 0.
                    io.ip_ident = io.ip_ident.wrapping_add(1).max(1);
                }
                for &dst in targets {
                    let sent = match io.ah_key {
                        Some(key) => emit_ah(
                            &mut self.buf[..],
                            &repr,
                            src,
                            dst,
                            io.ip_ident,
                            sequence,
                            &key,
                            !peers.is_empty(),
                        )
                        .and_then(|len| io.sender.send(dst, &self.buf[..len])),
                        None => match repr.emit(&mut self.buf[..], src, dst) {
                            Ok(len) => io.sender.send(dst, &self.buf[..len]),
                            Err(e) => Err(std::io::Error::other(format!("{e:?}"))),
                        },
                    };
                    match sent {
                        Ok(()) => io.sent += 1,
                        Err(e) => {
                            io.send_errors += 1;
                            if io.send_errors.is_power_of_two() {
                                warn!(
                                    "vrrp_instance {}: advert to {dst}: {e} ({} errors so far)",
                                    io.name, io.send_errors
                                );
                            }
                        }
                    }
                }
            }
            Action::AddVips => {
                // Sent without waiting: the kernel applies an rtnetlink
                // request inside the send, so the GARPs that follow find the
                // address in place; the ack is read with the events.
                for vip in &io.vips {
                    let request = RtnlRequest::AddAddr(vip.form.clone());
                    if let Err(e) = rtnl.send(request, i as u32, now) {
                        let (addr, prefix) = (vip.form.addr, vip.form.prefix_len);
                        warn!("vrrp_instance {}: adding VIP {addr}/{prefix}: {e}", io.name);
                    }
                }
                io.vips_held = true;
                info!("vrrp_instance {}: VIPs added on {}", io.name, io.interface);
                // keepalived adds the routes, then the rules, after the addresses
                // (a route's `src` or gateway may need a VIP).
                for r in &io.routes {
                    send(
                        rtnl,
                        RtnlRequest::AddRoute(r.add.clone(), r.create),
                        i as u32,
                        now,
                        &io.name,
                        &r.text,
                    );
                }
                for r in &io.rules {
                    send(
                        rtnl,
                        RtnlRequest::AddRule(r.repr.clone()),
                        i as u32,
                        now,
                        &io.name,
                        &r.text,
                    );
                }
            }
            Action::RemoveVips => {
                // Rules, then routes, then addresses: the reverse of adding.
                for r in &io.rules {
                    send(
                        rtnl,
                        RtnlRequest::DelRule(r.repr.clone()),
                        i as u32,
                        now,
                        &io.name,
                        &r.text,
                    );
                }
                for r in &io.routes {
                    send(
                        rtnl,
                        RtnlRequest::DelRoute(r.del()),
                        i as u32,
                        now,
                        &io.name,
                        &r.text,
                    );
                }
                for vip in &io.vips {
                    let request = RtnlRequest::DelAddr(vip.form.clone());
                    if let Err(e) = rtnl.send(request, i as u32, now) {
                        let (addr, prefix) = (vip.form.addr, vip.form.prefix_len);
                        warn!(
                            "vrrp_instance {}: removing VIP {addr}/{prefix}: {e}",
                            io.name
                        );
                    }
                }
                if io.vips_held {
                    info!(
                        "vrrp_instance {}: VIPs removed from {}",
                        io.name, io.interface
                    );
                }
                io.vips_held = false;
            }
            Action::SendGarp { count } => {
                for _ in 0..count {
                    for vip in &io.vips {
                        let addr = &vip.form.addr;
                        let (mac, packet) = if vip.form.ifindex == io.ifindex {
                            (io.mac, io.packet.as_ref())
                        } else {
                            match io.other_links.iter().find(|l| l.0 == vip.form.ifindex) {
                                Some((_, mac, p)) => (*mac, Some(p)),
                                None => continue,
                            }
                        };
                        let Some(packet) = packet else { continue };
                        let len = match addr {
                            IpAddr::V4(a) => arp::emit_gratuitous(&mut self.frame, mac, *a).ok(),
                            IpAddr::V6(a) => {
                                ndisc::emit_unsolicited_na_frame(&mut self.frame, mac, *a, false)
                                    .ok()
                            }
                        };
                        if let Some(len) = len {
                            if let Err(e) = packet.send(&self.frame[..len]) {
                                debug!(
                                    "vrrp_instance {}: gratuitous ARP/NA for {addr}: {e}",
                                    io.name
                                );
                            }
                        }
                    }
                }
            }
            Action::Notify { state, priority } => {
                let reason = transition::Reason {
                    cause: io.cause.take(),
                    from: io.notified.replace(state),
                    to: state,
                };
                transition::log(&io.name, reason, priority);
                if let Some(fifo) = &mut self.fifo {
                    fifo.write_line(&scripts::fifo_line("INSTANCE", &io.name, state, priority));
                }
                if let Some(n) = self.notifiers.get_mut(i) {
                    n.transition("INSTANCE", &io.name, state, priority);
                }
                notes.push((i, state, priority));
            }
        }
    }
    /// The VRRP part of the status model.
    pub fn model(&self, out: &mut crate::status::Status) {
        use crate::status::{Notifier as N, Receiver as R, Script as S, VrrpInstance as V};
        let drops = |counts: &[u64; DropReason::COUNT]| -> Vec<(&'static str, u64)> {
            DropReason::ALL
                .iter()
                .map(|r| (r.as_str(), counts[r.index()]))
                .collect()
        };
        for (inst, io) in self.instances.iter().zip(&self.io) {
            let p = inst.params();
            out.vrrp.push(V {
                name: io.name.clone(),
                vrid: p.vrid,
                interface: io.interface.clone(),
                state: inst.state().as_str(),
                priority: inst.effective_priority(),
                configured_priority: p.priority,
                held: inst.is_held(),
                vips: io.vips.iter().map(|h| h.form.addr.to_string()).collect(),
                adverts_sent: io.sent,
                adverts_received: io.received,
                became_master: 0,
                released_master: 0,
                drops: drops(&io.drops),
                vip_mismatches: io.vip_mismatches,
                answers_limited: inst.answers_limited(),
                notify_coalesced: inst.notify_coalesced(),
                advert_lateness: io.send_lateness.to_histogram(),
            });
        }
        for n in &self.notifiers {
            if n.runs + n.dropped > 0 || n.busy() {
                out.notifiers.push(N {
                    label: n.label.clone(),
                    runs: n.runs,
                    failures: n.failures,
                    dropped: n.dropped,
                    busy: n.busy(),
                });
            }
        }
        for sc in &self.scripts {
            out.scripts.push(S {
                name: sc.name.clone(),
                up: sc.status() == TrackStatus::Up,
                runs: sc.runs,
                last: format!("{:?}", sc.last),
            });
        }
        for f in &self.files {
            out.track_files.push((f.path.clone(), i64::from(f.value)));
        }
        if let Some(w) = &self.procs {
            for (d, name) in w.names.iter().enumerate() {
                out.track_processes.push(crate::status::TrackedProcess {
                    name: name.clone(),
                    count: w.tracker.count(d),
                    up: w.tracker.is_up(d),
                    events: w.events_used(),
                });
            }
        }
        out.notify_fifo = self.fifo.as_ref().map(|f| (f.written, f.dropped));
        for r in &self.receivers {
            out.receivers.push(R {
                interface: r.interface.clone(),
                ipv6: r.ipv6,
                drops: drops(&r.drops),
                read_budget: VRRP_PACKETS_PER_WAKEUP as u64,
                budget_reached: r.budget_reached,
            });
        }
    }

    /// Finds an instance by name.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.io.iter().position(|io| io.name == name)
    }

    /// `lvsd vrrp stepdown`: instance `i` hands over (priority-0 advert) and
    /// stays BACKUP until [`Vrrp::resume`]. Returns the state it left.
    pub fn step_down(&mut self, now: Instant, i: usize) -> Option<State> {
        let was = self.instances.get_mut(i)?.step_down(now);
        self.reconcile_groups(now);
        Some(was)
    }

    /// `lvsd vrrp resume`: ends a hold; false when it was not held.
    pub fn resume(&mut self, now: Instant, i: usize) -> Option<bool> {
        let inst = self.instances.get_mut(i)?;
        let held = inst.is_held();
        inst.resume(now);
        self.reconcile_groups(now);
        Some(held)
    }
}
