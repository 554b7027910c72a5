//! rtnetlink events and acks: links, addresses, routes and rules to VRRP,
//! the re-dump after lost messages, and `ha_suspend`.

use std::time::Instant;

use log::{info, warn};

use super::Daemon;
use crate::io::netlink::{NetlinkError, RtnlInput, RtnlRequest};
use crate::limits::RTNL_BUDGET;
use crate::wire::netlink::rtnl::RtEvent;

/// Where the rtnetlink re-dump that follows a lost message (ENOBUFS) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resync {
    /// Nothing to do.
    Idle,
    /// The link dump runs; the address dump follows.
    Links,
    /// The address dump runs; the VIPs are re-applied at its end.
    Addrs,
}

impl Daemon {
    /// Reads at most RTNL_BUDGET rtnetlink messages and acts on them; what is
    /// left waits for the next turn (the Netlink timer), so a flood of address
    /// changes never keeps the loop from a VRRP timer.
    pub(super) fn pump_rtnl(&mut self, now: Instant) {
        let mut inputs = std::mem::take(&mut self.rtnl_inputs);
        match self.rtnl.drain(RTNL_BUDGET, |i| inputs.push(i)) {
            Ok(more) => self.rtnl_more = more,
            Err(e) => {
                warn!("rtnetlink receive: {e}");
                self.rtnl_more = false;
            }
        }
        self.handle_rtnl(now, &mut inputs);
        self.rtnl_inputs = inputs;
    }

    pub(super) fn handle_rtnl(&mut self, now: Instant, inputs: &mut Vec<RtnlInput>) {
        let mut addrs_changed = false;
        for input in inputs.drain(..) {
            match input {
                RtnlInput::Event { event, dump } => {
                    addrs_changed |= self.on_rt_event(now, event, dump);
                }
                RtnlInput::Overflow => {
                    self.rtnl_overflows += 1;
                    if self.rtnl_overflows.is_power_of_two() {
                        warn!(
                            "rtnetlink: events lost (ENOBUFS, {} time(s) so far); re-reading links and addresses",
                            self.rtnl_overflows
                        );
                    }
                    self.start_resync(now);
                }
                RtnlInput::Done {
                    request,
                    tag,
                    result,
                } => match request {
                    RtnlRequest::DumpLinks | RtnlRequest::DumpAddrs => {
                        self.dump_done(now, &request, result)
                    }
                    _ => {
                        if matches!(result, Err(NetlinkError::Timeout)) {
                            // Its ack was probably lost with other messages:
                            // the re-dump finds out what the kernel holds.
                            self.start_resync(now);
                        }
                        self.vrrp.vip_request_done(tag, &request, &result);
                    }
                },
                RtnlInput::Bad(e) => {
                    self.rtnl_bad += 1;
                    if self.rtnl_bad.is_power_of_two() {
                        warn!(
                            "rtnetlink: undecodable message skipped ({} so far): {e}",
                            self.rtnl_bad
                        );
                    }
                }
            }
        }
        if addrs_changed {
            self.apply_ha_suspend();
        }
    }

    /// One link, address, route or rule event (`dump`: part of a dump's
    /// answer). Whether this host's address list changed.
    fn on_rt_event(&mut self, now: Instant, event: RtEvent, dump: bool) -> bool {
        let mut changed = false;
        match event {
            RtEvent::NewLink(link) => {
                self.vrrp.on_link(now, link.ifindex, link.is_up());
                self.vrrp
                    .on_link_routes(&mut self.rtnl, now, link.ifindex, link.is_up());
            }
            RtEvent::DelLink(link) => {
                self.vrrp.on_link(now, link.ifindex, false);
                self.vrrp
                    .on_link_routes(&mut self.rtnl, now, link.ifindex, false);
                if !dump && !self.stopping {
                    self.vrrp.on_link_deleted(link.ifindex);
                }
            }
            RtEvent::DelAddr(addr) if !dump => {
                let key = (addr.addr, addr.ifindex);
                self.local_addrs.retain(|a| *a != key);
                changed = true;
                self.vrrp
                    .on_addr_removed(&mut self.rtnl, now, addr.ifindex, addr.addr)
            }
            RtEvent::NewAddr(addr) => {
                let key = (addr.addr, addr.ifindex);
                if !self.local_addrs.contains(&key) {
                    self.local_addrs.push(key);
                    changed = true;
                }
                if dump && self.resync == Resync::Addrs {
                    self.vrrp.vip_seen(addr.ifindex, addr.addr)
                }
            }
            RtEvent::DelRoute(route) if !dump => {
                self.vrrp.on_route_deleted(&mut self.rtnl, now, &route)
            }
            RtEvent::DelRule(rule) if !dump => {
                self.vrrp.on_rule_deleted(&mut self.rtnl, now, &rule)
            }
            _ => {}
        }
        changed
    }

    /// keepalived's `ha_suspend`: the checks of a virtual server whose
    /// address is on no interface here pause (verdicts stay) and resume when
    /// it appears (the VRRP master adding its VIP).
    pub(super) fn apply_ha_suspend(&mut self) {
        // Mid re-dump the list is partial: decide at its end.
        if self.resync == Resync::Addrs || !self.config.virtual_servers.iter().any(|v| v.ha_suspend)
        {
            return;
        }
        let local = &self.local_addrs;
        let absent = |k: &crate::wire::netlink::ipvs::ServiceKey| match k {
            crate::wire::netlink::ipvs::ServiceKey::Addr { addr, .. } => {
                !local.iter().any(|(a, _)| a == addr)
            }
            crate::wire::netlink::ipvs::ServiceKey::Fwmark { .. } => false,
        };
        let (suspended, resumed) = self.checks.suspend_where(&absent);
        if suspended > 0 {
            info!("ha_suspend: {suspended} check(s) suspended: their virtual server's address is not on this host");
        }
        if resumed > 0 {
            info!("ha_suspend: {resumed} check(s) resumed: their virtual server's address is on this host");
        }
    }

    /// Re-dumps links, then addresses, and re-applies link states and VIPs.
    pub(super) fn start_resync(&mut self, now: Instant) {
        if self.resync != Resync::Idle || self.rtnl.dumping() {
            self.resync_again = true;
            return;
        }
        self.resync_again = false;
        match self.rtnl.send(RtnlRequest::DumpLinks, 0, now) {
            Ok(()) => self.resync = Resync::Links,
            Err(e) => warn!("rtnetlink: link re-dump: {e}"),
        }
    }

    pub(super) fn dump_done(
        &mut self,
        now: Instant,
        request: &RtnlRequest,
        result: Result<(), NetlinkError>,
    ) {
        if let Err(e) = result {
            warn!("rtnetlink: {request:?} failed ({e}); starting over");
            self.resync = Resync::Idle;
            self.start_resync(now);
            return;
        }
        match (self.resync, request) {
            (Resync::Links, RtnlRequest::DumpLinks) => {
                self.vrrp.begin_vip_survey();
                // The dump lists every address afresh (events were lost).
                self.local_addrs.clear();
                match self.rtnl.send(RtnlRequest::DumpAddrs, 0, now) {
                    Ok(()) => self.resync = Resync::Addrs,
                    Err(e) => {
                        warn!("rtnetlink: address re-dump: {e}");
                        self.resync = Resync::Idle;
                    }
                }
            }
            (Resync::Addrs, RtnlRequest::DumpAddrs) => {
                self.resync = Resync::Idle;
                self.rtnl_resyncs += 1;
                let fixed = self.vrrp.finish_vip_survey(&mut self.rtnl, now);
                self.apply_ha_suspend();
                info!("rtnetlink: links and addresses re-read; {fixed} VIP change(s) re-applied");
                if self.resync_again {
                    self.start_resync(now);
                }
            }
            _ => {}
        }
    }
}
