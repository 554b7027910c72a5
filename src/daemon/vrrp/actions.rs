//! Carrying out what the instances ask: adverts (AH or not), VIPs with
//! their routes and rules, gratuitous ARP / NA, notifications; start, stop,
//! the sync groups, and the timers that keep all of it in step.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use super::notify::Notifier;
use super::track_file::TRACK_FILE_POLL;
use super::upkeep::send;
use super::{all_notifiers, notify_fifo, scripts, transition, Group, InstanceIo, Router, Vrrp};
use crate::io::event_loop::Clock;
use crate::io::netlink::{Rtnl, RtnlEvents, RtnlRequest};
use crate::vrrp::instance::{Action, NotifyState, State, OWN_INTERFACE};
use crate::vrrp::sync_group::GroupAction;
use crate::vrrp::track::TrackStatus;
use crate::wire::netlink::rtnl::IfAddr;
use crate::wire::vrrp::{self as wire, Family};
use crate::wire::{ah, arp, ndisc};
use notify_fifo::NotifyFifo;

impl Vrrp {
    /// Removes VIPs a crashed earlier run left behind, then starts every instance.
    pub fn start(&mut self, now: Instant, rtnl: &mut Rtnl) {
        for Router { io, .. } in &self.routers {
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
        for i in 0..self.routers.len() {
            let Router { machine, io, .. } = &mut self.routers[i];
            if !io.link_up && io.track_primary {
                warn!(
                    "vrrp_instance {}: {} is down at start",
                    io.name, io.interface
                );
                machine.handle_track(now, OWN_INTERFACE, TrackStatus::Down);
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
        for i in 0..self.routers.len() {
            self.with_cause(i, transition::Cause::Stop, |inst| inst.handle_stop(now));
        }
        for s in &mut self.scripts {
            s.stop();
        }
        self.files_next = None;
        for g in &mut self.groups {
            notify_group(&mut self.fifo, g, NotifyState::Stop);
        }
    }

    /// Applies the sync-group rules after any event.
    pub fn reconcile_groups(&mut self, now: Instant) {
        for g in &mut self.groups {
            // On the stack: this runs after every event.
            let mut before = [State::Init; crate::limits::MAX_VRRP_INSTANCES];
            for (b, r) in before.iter_mut().zip(&self.routers) {
                *b = r.machine.state();
            }
            g.sync.reconcile(now, &mut self.routers);
            for (r, was) in self.routers.iter_mut().zip(before) {
                if r.machine.state() != was {
                    r.io.cause = Some(transition::Cause::Group);
                }
            }
            while let Some(GroupAction::Notify { state }) = g.sync.poll_action() {
                info!(
                    "VRRP_Group({}) Syncing instances to {}",
                    g.name,
                    state.as_str()
                );
                notify_group(&mut self.fifo, g, state);
            }
        }
    }

    /// Starts queued notify commands, then keeps every VRRP timer (instances,
    /// scripts, notifiers, track files) in step with its deadline.
    pub fn sync_timers(
        &mut self,
        now: Instant,
        timers: &mut crate::io::timers::Timers<crate::daemon::TimerKind>,
    ) {
        use crate::daemon::{sync_timer, TimerKind};
        let base = self.scripts.len();
        let notifiers = all_notifiers(&mut self.routers, &mut self.groups, &mut self.lvs_notifier);
        for (k, n) in notifiers.enumerate() {
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
        for (i, Router { machine, io, .. }) in self.routers.iter_mut().enumerate() {
            sync_timer(timers, &mut io.timer, machine.poll_at(), TimerKind::Vrrp(i));
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
            let notifiers =
                all_notifiers(&mut self.routers, &mut self.groups, &mut self.lvs_notifier);
            for (k, n) in notifiers.enumerate() {
                n.on_event(now, None);
                n.pump(now, None, base + k, self.script_user, self.notify_timeout);
                busy |= n.busy();
            }
            if !busy {
                return;
            }
            if now >= end {
                warn!("stopping: notify commands still running after {limit:?}; killing them");
                let notifiers =
                    all_notifiers(&mut self.routers, &mut self.groups, &mut self.lvs_notifier);
                notifiers.for_each(Notifier::abandon);
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// At the very end of a stop: removes the VMACs and puts back what they
    /// changed.
    pub fn teardown_vmacs(&mut self) {
        self.vmacs.teardown();
    }

    /// Queues a virtual server's or real server's command.
    pub fn queue_lvs_command(&mut self, argv: scripts::Argv) {
        self.lvs_notifier.command(argv);
    }

    /// Carries out every queued action of every instance. Returns the notify
    /// lines produced (instance, state, priority) for the notifier.
    pub fn run_actions(
        &mut self,
        rtnl: &mut RtnlEvents,
        now: Instant,
        notes: &mut Vec<(usize, NotifyState, u8)>,
    ) {
        for i in 0..self.routers.len() {
            while let Some(action) = self.routers[i].machine.poll_action() {
                let advert = matches!(action, Action::SendAdvert { .. });
                self.run_action(i, action, rtnl, now, notes);
                if advert {
                    let io = &mut self.routers[i].io;
                    if let Some(deadline) = io.fired.take() {
                        // Measurement only (the state machine runs on the
                        // wake-up's `now`): when the advert really left,
                        // against the timer that asked for it, so waiting
                        // behind check work in the same wake-up shows.
                        io.send_lateness
                            .record(crate::io::stopwatch::lateness(deadline));
                    }
                }
            }
            self.routers[i].io.fired = None;
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
        let tag = i as u32;
        match action {
            Action::SendAdvert {
                priority,
                advert_interval_cs,
            } => self.send_advert(i, priority, advert_interval_cs),
            Action::AddVips => self.routers[i].io.add_vips(rtnl, tag, now),
            Action::RemoveVips => self.routers[i].io.remove_vips(rtnl, tag, now),
            Action::SendGarp { count } => {
                for _ in 0..count {
                    self.routers[i].io.send_garps(&mut self.frame);
                }
            }
            Action::Notify { state, priority } => {
                let Router { io, notifier, .. } = &mut self.routers[i];
                let reason = transition::Reason {
                    cause: io.cause.take(),
                    from: io.notified.replace(state),
                    to: state,
                };
                transition::log(&io.name, reason, priority);
                if let Some(fifo) = &mut self.fifo {
                    fifo.write_line(&notify_fifo::fifo_line(
                        "INSTANCE", &io.name, state, priority,
                    ));
                }
                notifier.transition("INSTANCE", &io.name, state, priority);
                notes.push((i, state, priority));
            }
        }
    }

    /// One advert of instance `i`: to the group, or to each unicast peer.
    fn send_advert(&mut self, i: usize, priority: u8, advert_interval_cs: u16) {
        let Router { machine, io, .. } = &mut self.routers[i];
        let sequence = match io.ah_key {
            Some(_) => machine.next_ah_sequence(),
            None => 0,
        };
        let repr = machine.advert_repr(priority, advert_interval_cs);
        let group = match Family::of(io.sender.source()) {
            Family::Ipv4 => IpAddr::V4(wire::MULTICAST_V4),
            Family::Ipv6 => IpAddr::V6(wire::MULTICAST_V6),
        };
        let peers = &machine.params().unicast_peers;
        let targets: &[IpAddr] = if peers.is_empty() {
            std::slice::from_ref(&group)
        } else {
            peers
        };
        if io.ah_key.is_some() {
            // keepalived: one identification per advert, never 0.
            io.ip_ident = io.ip_ident.wrapping_add(1).max(1);
        }
        let unicast = !peers.is_empty();
        for &dst in targets {
            match io.send_advert_to(&mut self.buf[..], &repr, dst, sequence, unicast) {
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

    /// `lvsd vrrp stepdown`: instance `i` hands over (priority-0 advert) and
    /// stays BACKUP until [`Vrrp::resume`]. Returns the state it left.
    pub fn step_down(&mut self, now: Instant, i: usize) -> Option<State> {
        let was = self.routers.get_mut(i)?.machine.step_down(now);
        self.reconcile_groups(now);
        Some(was)
    }

    /// `lvsd vrrp resume`: ends a hold; false when it was not held.
    pub fn resume(&mut self, now: Instant, i: usize) -> Option<bool> {
        let inst = &mut self.routers.get_mut(i)?.machine;
        let held = inst.is_held();
        inst.resume(now);
        self.reconcile_groups(now);
        Some(held)
    }
}

impl InstanceIo {
    /// Writes the advert for `dst` into `buf` (as an AH datagram with
    /// `auth_type AH`) and sends it.
    fn send_advert_to(
        &self,
        buf: &mut [u8],
        repr: &wire::Repr<'_>,
        dst: IpAddr,
        sequence: u32,
        unicast: bool,
    ) -> Result<(), AdvertError> {
        let src = self.sender.source();
        let len = match self.ah_key {
            Some(key) => {
                let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else {
                    return Err(AdvertError::AhNotIpv4);
                };
                let message = buf.get_mut(ah::VRRP_OFFSET..).unwrap_or(&mut []);
                let vrrp_len = repr.emit(message, src, dst).map_err(AdvertError::Emit)?;
                let fields = ah::Ipv4Fields {
                    src: s,
                    dst: d,
                    ttl: wire::TTL,
                    tos: wire::TOS,
                    ident: self.ip_ident,
                };
                ah::emit_ipv4_datagram(buf, &fields, sequence, &key, unicast, vrrp_len)
                    .map_err(AdvertError::EmitAh)?
            }
            None => repr.emit(buf, src, dst).map_err(AdvertError::Emit)?,
        };
        self.sender
            .send(dst, buf.get(..len).unwrap_or_default())
            .map_err(AdvertError::Send)
    }

    /// Adds the VIPs, then the routes, then the rules (a route's `src` or
    /// gateway may need a VIP), as keepalived does. Sent without waiting:
    /// the kernel applies an rtnetlink request inside the send, so the GARPs
    /// that follow find the address in place; the ack is read with the events.
    fn add_vips(&mut self, rtnl: &mut RtnlEvents, tag: u32, now: Instant) {
        self.send_vips(rtnl, tag, now, "adding", RtnlRequest::AddAddr);
        self.vips_held = true;
        info!(
            "vrrp_instance {}: VIPs added on {}",
            self.name, self.interface
        );
        for r in &self.routes {
            send(rtnl, r.add_request(), tag, now, &self.name, &r.text);
        }
        for r in &self.rules {
            send(rtnl, r.add_request(), tag, now, &self.name, &r.text);
        }
    }

    /// Removes the rules, then the routes, then the addresses: the reverse
    /// of adding.
    fn remove_vips(&mut self, rtnl: &mut RtnlEvents, tag: u32, now: Instant) {
        for r in &self.rules {
            send(rtnl, r.del_request(), tag, now, &self.name, &r.text);
        }
        for r in &self.routes {
            send(rtnl, r.del_request(), tag, now, &self.name, &r.text);
        }
        self.send_vips(rtnl, tag, now, "removing", RtnlRequest::DelAddr);
        if self.vips_held {
            info!(
                "vrrp_instance {}: VIPs removed from {}",
                self.name, self.interface
            );
        }
        self.vips_held = false;
    }

    /// One address request per VIP; a failure to send is logged.
    fn send_vips(
        &self,
        rtnl: &mut RtnlEvents,
        tag: u32,
        now: Instant,
        verb: &str,
        request: fn(IfAddr) -> RtnlRequest,
    ) {
        for vip in &self.vips {
            if let Err(e) = rtnl.send(request(vip.form.clone()), tag, now) {
                let (addr, prefix) = (vip.form.addr, vip.form.prefix_len);
                warn!(
                    "vrrp_instance {}: {verb} VIP {addr}/{prefix}: {e}",
                    self.name
                );
            }
        }
    }

    /// One gratuitous ARP or unsolicited NA per address, on the link it lives on.
    fn send_garps(&self, frame: &mut [u8; 128]) {
        for vip in &self.vips {
            let addr = &vip.form.addr;
            let (mac, packet) = if vip.form.ifindex == self.ifindex {
                (self.mac, self.packet.as_ref())
            } else {
                match self.other_links.iter().find(|l| l.0 == vip.form.ifindex) {
                    Some((_, mac, p)) => (*mac, Some(p)),
                    None => continue,
                }
            };
            let Some(packet) = packet else { continue };
            let len = match addr {
                IpAddr::V4(a) => arp::emit_gratuitous(frame, mac, *a).ok(),
                IpAddr::V6(a) => ndisc::emit_unsolicited_na_frame(frame, mac, *a, false).ok(),
            };
            if let Some(len) = len {
                if let Err(e) = packet.send(&frame[..len]) {
                    debug!(
                        "vrrp_instance {}: gratuitous ARP/NA for {addr}: {e}",
                        self.name
                    );
                }
            }
        }
    }
}

/// A sync group's state change: a FIFO line and its notify command.
fn notify_group(fifo: &mut Option<NotifyFifo>, g: &mut Group, state: NotifyState) {
    if let Some(fifo) = fifo {
        fifo.write_line(&notify_fifo::fifo_line("GROUP", &g.name, state, 0));
    }
    g.notifier.transition("GROUP", &g.name, state, 0);
}

/// Why an advert did not leave.
#[derive(Debug)]
enum AdvertError {
    /// `auth_type AH` with an IPv6 source or destination.
    AhNotIpv4,
    /// The VRRP message could not be written.
    Emit(wire::EmitError),
    /// The AH datagram could not be written.
    EmitAh(ah::EmitError),
    /// The socket refused it.
    Send(std::io::Error),
}

impl std::fmt::Display for AdvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdvertError::AhNotIpv4 => f.write_str("AH adverts are IPv4 only"),
            AdvertError::Emit(e) => write!(f, "{e}"),
            AdvertError::EmitAh(e) => write!(f, "{e}"),
            AdvertError::Send(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AdvertError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AdvertError::AhNotIpv4 => None,
            AdvertError::Emit(e) => Some(e),
            AdvertError::EmitAh(e) => Some(e),
            AdvertError::Send(e) => Some(e),
        }
    }
}
