//! What comes in: adverts (read within a per-wake-up budget, checked by
//! `vrrp::receive`, fed to their instance), timers, link changes, a deleted
//! VMAC, and the tracked scripts, files and processes.

use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

use log::{debug, info, warn};

use super::scripts::TRACK_FILE_POLL;
use super::{all_notifiers, transition, vmac, Router, Vrrp};
use crate::io::iface;
use crate::io::netlink::Rtnl;
use crate::io::packet::PacketSender;
use crate::io::vrrp_socket::{Received, VrrpReceiver, VrrpSender};
use crate::limits::VRRP_PACKETS_PER_WAKEUP;
use crate::vrrp::instance::{Advert, AdvertOutcome, Instance, OWN_INTERFACE};
use crate::vrrp::receive::{receive_check_ipv4, DropReason, ReceiveMeta, ReceiveNotes};
use crate::vrrp::track::TrackStatus;
use crate::wire::vrrp as wire;

/// Why a deleted VMAC could not be made again.
#[derive(Debug)]
pub(super) enum RecreateError {
    /// The interfaces could not be listed.
    Interfaces(std::io::Error),
    /// The VMAC's interface is gone as well.
    BaseGone(String),
    /// No rtnetlink socket.
    Rtnl(std::io::Error),
    /// Making the VMAC failed.
    Vmac(Box<super::SetupError>),
    /// A socket on the new link could not be opened or registered.
    Socket {
        /// Which (`send socket`, `receive socket`, ...).
        what: &'static str,
        /// The new link.
        link: String,
        /// Why.
        err: std::io::Error,
    },
}

impl std::fmt::Display for RecreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecreateError::Interfaces(e) => write!(f, "listing interfaces: {e}"),
            RecreateError::BaseGone(name) => write!(f, "{name} is gone too"),
            RecreateError::Rtnl(e) => write!(f, "rtnetlink socket: {e}"),
            RecreateError::Vmac(e) => write!(f, "{e}"),
            RecreateError::Socket { what, link, err } => write!(f, "{what} on {link}: {err}"),
        }
    }
}

impl std::error::Error for RecreateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecreateError::Interfaces(e) | RecreateError::Rtnl(e) => Some(e),
            RecreateError::Socket { err, .. } => Some(err),
            RecreateError::Vmac(e) => Some(e),
            RecreateError::BaseGone(_) => None,
        }
    }
}

/// The addresses, TTL and AH flag of a received datagram, its IPv4 header
/// (empty for IPv6) and what follows it.
fn split_datagram<'b>(
    buf: &'b [u8],
    got: &Received,
) -> Result<(ReceiveMeta, &'b [u8], &'b [u8]), wire::Malformed> {
    match got {
        Received::Ipv4 { datagram } => {
            let bytes = buf.get(datagram.clone()).unwrap_or(&[]);
            let (header, payload) = wire::split_ipv4(bytes)?;
            let meta = ReceiveMeta {
                src: IpAddr::V4(header.src),
                dst: IpAddr::V4(header.dst),
                ttl: header.ttl,
                ah: header.protocol == wire::PROTOCOL_AH,
            };
            // split_ipv4 proved the header length.
            let header_len = usize::from(bytes.first().copied().unwrap_or(0) & 0x0f) * 4;
            Ok((meta, bytes.get(..header_len).unwrap_or(&[]), payload))
        }
        Received::Ipv6 {
            source,
            destination,
            hop_limit,
            payload,
        } => {
            let meta = ReceiveMeta {
                src: IpAddr::V6(*source),
                dst: IpAddr::V6(*destination),
                ttl: *hop_limit,
                ah: false,
            };
            Ok((meta, &[][..], buf.get(payload.clone()).unwrap_or(&[])))
        }
    }
}

impl Vrrp {
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

    /// One datagram from receiver `r`: checked against the instance of its
    /// VRID there, then fed to it, or counted as dropped.
    fn handle_packet(&mut self, now: Instant, r: usize, got: &Received) {
        let (meta, ip_header, payload) = match split_datagram(&self.buf[..], got) {
            Ok(parts) => parts,
            Err(malformed) => {
                self.receivers[r].drops[DropReason::from(malformed).index()] += 1;
                return;
            }
        };
        let receiver = &self.receivers[r];
        let routers = &self.routers;
        let mut target = None;
        // The instance's configuration decides (group and TTL, or peers).
        let checked = receive_check_ipv4(ip_header, payload, &meta, |vrid| {
            let idx = receiver
                .instances
                .iter()
                .copied()
                .find(|&i| routers[i].machine.params().vrid == vrid)?;
            target = Some(idx);
            Some(routers[idx].machine.expectation())
        });
        match (checked, target) {
            (Err(reason), _) => {
                match target {
                    Some(i) => self.routers[i].io.drops[reason.index()] += 1,
                    None => self.receivers[r].drops[reason.index()] += 1,
                }
                debug!(
                    "VRRP advert from {} on {} dropped: {}",
                    meta.src,
                    self.receivers[r].interface,
                    reason.as_str()
                );
            }
            (Ok((repr, notes)), Some(i)) => {
                let advert = Advert {
                    ah_sequence: notes.ah_sequence,
                    ..Advert::from_repr(&repr, meta.src)
                };
                self.routers[i].accept(now, &advert, &notes);
            }
            (Ok(_), None) => {}
        }
    }

    /// VRRP first in a wake-up: the adverts waiting in every receive socket
    /// (a backup must hear the master before its master-down timer is
    /// judged), then every instance whose deadline has come, with its loop
    /// timer cancelled. The check I/O and check timers of the same wake-up
    /// run after. Nothing happens unless an instance is due. True when any
    /// instance ran.
    pub fn on_wake(
        &mut self,
        now: Instant,
        timers: &mut crate::io::timers::Timers<crate::daemon::TimerKind>,
    ) -> bool {
        let due = |r: &Router| r.machine.poll_at().is_some_and(|at| at <= now);
        if !self.routers.iter().any(due) {
            return false;
        }
        for r in 0..self.receivers.len() {
            self.on_readable(now, r);
        }
        let mut fired = false;
        for i in 0..self.routers.len() {
            if !due(&self.routers[i]) {
                continue;
            }
            if let Some(id) = self.routers[i].io.timer.take() {
                timers.cancel(id);
            }
            self.on_timer(now, i);
            fired = true;
        }
        fired
    }

    /// Runs expired timers of instance `i`.
    pub fn on_timer(&mut self, now: Instant, i: usize) {
        if let Some(Router { machine, io, .. }) = self.routers.get_mut(i) {
            io.timer = None;
            // The instance's earliest deadline is the one its timer carried.
            io.fired = machine.poll_at();
            let before = machine.state();
            machine.handle_timeout(now);
            if machine.state() != before {
                let heard = io.heard.take();
                io.cause = Some(heard.unwrap_or(transition::Cause::Timer));
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
        for i in 0..self.routers.len() {
            let io = &mut self.routers[i].io;
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
        for i in 0..self.routers.len() {
            let io = &self.routers[i].io;
            if io.vmac_spec.is_none() || io.ifindex != ifindex {
                continue;
            }
            if let Err(e) = self.recreate_vmac(i) {
                warn!(
                    "vrrp_instance {}: its VMAC was deleted and cannot be made again ({e}); FAULT until it exists",
                    self.routers[i].io.name
                );
            }
        }
    }

    fn recreate_vmac(&mut self, i: usize) -> Result<(), RecreateError> {
        let Some(spec) = self.routers[i].io.vmac_spec else {
            return Ok(());
        };
        let old_index = self.routers[i].io.ifindex;
        let Some(old) = self.vmacs.forget(old_index) else {
            return Ok(());
        };
        let Router { machine, io, .. } = &mut self.routers[i];
        let base = iface::lookup(&io.interface)
            .map_err(RecreateError::Interfaces)?
            .ok_or_else(|| RecreateError::BaseGone(io.interface.clone()))?;
        let mut rtnl = Rtnl::open().map_err(RecreateError::Rtnl)?;
        let want = vmac::VmacRequest {
            instance: &io.name,
            base: &base,
            vrid: machine.params().vrid,
            ipv6: spec.ipv6,
            name: Some(&old.name),
            reserved: &[],
            keep_ipv6: spec.keep_ipv6,
            link_local: old.link_local,
        };
        let link = self
            .vmacs
            .ensure(&mut rtnl, &want)
            .map_err(|e| RecreateError::Vmac(Box::new(e)))?;
        info!(
            "vrrp_instance {}: VMAC {} was deleted; made it again (index {} -> {})",
            io.name, old.name, old_index, link.ifindex
        );
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
        let socket_error = |what, err| RecreateError::Socket {
            what,
            link: link.name.clone(),
            err,
        };
        let source = io.sender.source();
        io.sender = VrrpSender::open(&link.name, link.ifindex, source, io.ah_key.is_some())
            .map_err(|e| socket_error("send socket", e))?;
        let r = io.receiver;
        let receiver = &mut self.receivers[r];
        let socket = VrrpReceiver::open(&link.name, link.ifindex, receiver.ipv6, true, receiver.ah)
            .map_err(|e| socket_error("receive socket", e))?;
        if let Some(registry) = &self.registry {
            let token = crate::io::event_loop::Source::Vrrp(r).token();
            let _ = registry.deregister(&mut mio::unix::SourceFd(&receiver.socket.as_raw_fd()));
            registry
                .register(
                    &mut mio::unix::SourceFd(&socket.as_raw_fd()),
                    token,
                    mio::Interest::READABLE,
                )
                .map_err(|e| socket_error("registering the receive socket", e))?;
        }
        receiver.socket = socket;
        Ok(())
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
        } else {
            let mut notifiers =
                all_notifiers(&mut self.routers, &mut self.groups, &mut self.lvs_notifier);
            if let Some(n) = notifiers.nth(k - self.scripts.len()) {
                n.on_event(now, self.registry.as_ref());
            }
        }
    }

    /// Child slot `k`'s timer fired.
    pub fn on_child_timer(&mut self, now: Instant, k: usize) {
        let base = self.scripts.len();
        if let Some(s) = self.scripts.get_mut(k) {
            s.timer = None;
        } else if let Some(n) =
            all_notifiers(&mut self.routers, &mut self.groups, &mut self.lvs_notifier).nth(k - base)
        {
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
                    if let Some(r) = self.routers.get_mut(i) {
                        r.feed_track(now, n, TrackStatus::Value(v));
                    }
                }
            }
        }
        if changed {
            self.reconcile_groups(now);
        }
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
                if let Some(r) = self.routers.get_mut(i) {
                    r.feed_track(now, n, status);
                }
            }
        }
        if changed {
            self.reconcile_groups(now);
        }
    }
}

impl Router {
    /// Track `n` reports `status`.
    fn feed_track(&mut self, now: Instant, n: usize, status: TrackStatus) {
        self.with_cause(transition::Cause::Track, |inst| {
            inst.handle_track(now, Instance::track_id(n), status)
        });
    }

    /// A checked advert for this instance: counted, noted, fed to the state
    /// machine; the outcome names the cause of a state change.
    fn accept(&mut self, now: Instant, advert: &Advert, notes: &ReceiveNotes) {
        let io = &mut self.io;
        if notes.vip_mismatch {
            io.vip_mismatches += 1;
            if io.vip_mismatches == 1 {
                warn!(
                    "vrrp_instance {}: advert from {} lists other VIPs than ours",
                    io.name, advert.src
                );
            }
        }
        io.received += 1;
        let before = self.machine.state();
        let outcome = self.machine.handle_advert(now, advert);
        io.heard = match outcome {
            AdvertOutcome::MasterStopped => {
                Some(transition::Cause::MasterLeft { from: advert.src })
            }
            AdvertOutcome::Preempting => Some(transition::Cause::Preempt {
                from: advert.src,
                priority: advert.priority,
            }),
            AdvertOutcome::Accepted => None,
            _ => io.heard,
        };
        if self.machine.state() != before {
            io.cause = Some(transition::Cause::Advert {
                from: advert.src,
                priority: advert.priority,
            });
        }
        debug!(
            "vrrp_instance {}: advert from {}: {outcome:?}",
            io.name, advert.src
        );
    }
}
