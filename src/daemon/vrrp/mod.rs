//! VRRP wiring, one job a file: [`setup`] builds instances from the
//! configuration, [`receive`] routes adverts, timers, link and track events
//! into them, [`actions`] carries out what they ask (adverts, VIPs,
//! gratuitous ARP / NA, notifications), [`upkeep`] puts back VIPs, routes
//! and rules removed by hand, and [`status`] reports. Around them: child
//! command lines ([`scripts`]), the notify queue ([`notify`]) and FIFO
//! ([`notify_fifo`]), `vrrp_script` runs ([`track_script`]), track files
//! ([`track_file`]), track processes, VMACs.

mod actions;
mod notify;
mod notify_fifo;
mod procs;
mod receive;
mod routes;
pub(super) mod scripts;
mod setup;
mod status;
mod track_file;
mod track_script;
mod transition;
mod upkeep;
pub(super) mod vmac;

pub use scripts::ScriptError;
pub use setup::SetupError;
/// FILE_CHECK reads its file as `track_file` does.
pub(crate) use track_file::read_track_file;

use std::borrow::{Borrow, BorrowMut};
use std::time::{Duration, Instant};

use mio::Registry;

use super::lateness::Lateness;
use crate::io::packet::PacketSender;
use crate::io::timers::TimerId;
use crate::io::vrrp_socket::{VrrpReceiver, VrrpSender};
use crate::limits::VRRP_PACKET_BUF;
use crate::vrrp::instance::{Instance, NotifyState, State};
use crate::vrrp::receive::DropReason;
use crate::vrrp::sync_group::SyncGroup;
use crate::wire::netlink::rtnl::IfAddr;
use crate::wire::vrrp as wire;
use notify::Notifier;
use notify_fifo::NotifyFifo;
use routes::{HeldRoute, HeldRule, Statics};
use track_file::TrackedFile;
use track_script::TrackedScript;

/// One `vrrp_instance`: its state machine and its I/O side.
struct Router {
    /// The pure state machine.
    machine: Instance,
    /// Sockets, addresses, counters.
    io: InstanceIo,
    /// Its notify commands.
    notifier: Notifier,
}

/// A `vrrp_sync_group`.
struct Group {
    /// Its name.
    name: String,
    /// Its rules over the members.
    sync: SyncGroup,
    /// Its notify commands.
    notifier: Notifier,
}

impl Router {
    /// Runs `f` on the state machine and, when its state changed, remembers
    /// `cause` for the state-change log line.
    fn with_cause(&mut self, cause: transition::Cause, f: impl FnOnce(&mut Instance)) {
        let before = self.machine.state();
        f(&mut self.machine);
        if self.machine.state() != before {
            self.io.cause = Some(cause);
        }
    }
}

impl Borrow<Instance> for Router {
    fn borrow(&self) -> &Instance {
        &self.machine
    }
}

impl BorrowMut<Instance> for Router {
    fn borrow_mut(&mut self) -> &mut Instance {
        &mut self.machine
    }
}

/// The I/O side of one instance.
struct InstanceIo {
    /// Instance name.
    name: String,
    /// Interface name.
    interface: String,
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
    receiver: usize,
    /// The VIPs, then the excluded addresses, in their rtnetlink form.
    vips: Vec<HeldAddress>,
    /// `virtual_routes` and `virtual_rules`, held with the VIPs.
    routes: Vec<HeldRoute>,
    rules: Vec<HeldRule>,
    /// The timer carrying `poll_at()`.
    timer: Option<TimerId>,
    /// Adverts dropped, per reason.
    drops: [u64; DropReason::COUNT],
    /// Adverts accepted.
    received: u64,
    /// Adverts sent.
    sent: u64,
    /// Adverts whose VIP list differs from ours.
    vip_mismatches: u64,
    /// Send errors.
    send_errors: u64,
    /// Whether the VIPs are on the interface now (as far as lvsd did it).
    vips_held: bool,
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
    send_lateness: Lateness,
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
struct Receiver {
    /// The socket.
    socket: VrrpReceiver,
    /// Interface name.
    interface: String,
    /// IPv6 or IPv4.
    ipv6: bool,
    /// IPv4 protocol 51: adverts of `auth_type AH` instances.
    ah: bool,
    /// Indices of the instances on it.
    instances: Vec<usize>,
    /// Adverts for VRIDs nobody here has, and other instance-less drops.
    drops: [u64; DropReason::COUNT],
    /// Datagrams left to read in this wake-up, and the wake-up it counts for.
    budget: (Instant, usize),
    /// The budget ran out before the socket was empty: read on next turn
    /// (edge-triggered readiness will not say so again).
    backlog: bool,
    /// The zero-delay timer that brings the next turn's read.
    timer: Option<TimerId>,
    /// Wake-ups that ended with datagrams left for the next turn.
    budget_reached: u64,
}

/// All VRRP state of the daemon.
pub struct Vrrp {
    /// The instances, in the configuration's order.
    routers: Vec<Router>,
    /// Receive sockets.
    receivers: Vec<Receiver>,
    /// Sync groups.
    groups: Vec<Group>,
    buf: Box<[u8; VRRP_PACKET_BUF]>,
    frame: [u8; 128],
    /// `[vrrp_script]`s; child slot `k < scripts.len()` is script `k`.
    scripts: Vec<TrackedScript>,
    /// The virtual servers' quorum_up/down and notify_up/down, run one at a
    /// time in order, as script_user, like the VRRP notifies. Notifier `k`
    /// (child slot `scripts.len() + k`) is instance `k`'s, then the groups',
    /// then this one: see [`all_notifiers`].
    lvs_notifier: Notifier,
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
    vmacs: vmac::Vmacs,
}

/// An address an instance holds while master: a VIP or an excluded one.
struct HeldAddress {
    /// What is sent to the kernel (prefix, label, broadcast, scope, lifetime).
    form: IfAddr,
    /// `no_track`: left alone when deleted by hand.
    no_track: bool,
}

/// Every notifier, in the order of their child slots: the instances', the
/// groups', the virtual servers'.
fn all_notifiers<'a>(
    routers: &'a mut [Router],
    groups: &'a mut [Group],
    lvs: &'a mut Notifier,
) -> impl Iterator<Item = &'a mut Notifier> {
    routers
        .iter_mut()
        .map(|r| &mut r.notifier)
        .chain(groups.iter_mut().map(|g| &mut g.notifier))
        .chain(std::iter::once(lvs))
}

impl Vrrp {
    /// Runs `f` on instance `i` and, when its state changed, remembers
    /// `cause` for the state-change log line.
    fn with_cause(&mut self, i: usize, cause: transition::Cause, f: impl FnOnce(&mut Instance)) {
        if let Some(r) = self.routers.get_mut(i) {
            r.with_cause(cause, f);
        }
    }

    /// The instances holding their VIPs as master, with their tags (their
    /// index, which rtnetlink requests carry back).
    fn holding(&self) -> impl Iterator<Item = (u32, &InstanceIo)> {
        self.routers
            .iter()
            .enumerate()
            .filter(|(_, r)| r.io.vips_held && r.machine.state() == State::Master)
            .map(|(i, r)| (i as u32, &r.io))
    }
}
