//! Keeping the kernel in agreement: VIPs, static addresses, routes and
//! rules removed by hand (or lost with a link or an rtnetlink overrun) are
//! put back, and the kernel's answers to these requests are judged.

use std::net::IpAddr;
use std::time::Instant;

use log::{info, warn};

use super::routes::{HeldRoute, HeldRule, STATIC_TAG};
use super::Vrrp;
use crate::io::netlink::{NetlinkError, RtnlEvents, RtnlRequest};
use crate::vrrp::instance::State;
use crate::wire::netlink::route::{RouteRepr, RuleRepr};

/// Sends one route, rule or address request; a failure to send is logged
/// with its owner and line.
pub(super) fn send(
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

/// Sends one static address, route or rule request (`text` names it).
fn send_static(rtnl: &mut RtnlEvents, request: RtnlRequest, now: Instant, text: &str) {
    send(rtnl, request, STATIC_TAG, now, "static", text);
}

/// A route or rule the kernel said was deleted.
#[derive(Clone, Copy)]
enum Deleted<'a> {
    Route(&'a RouteRepr),
    Rule(&'a RuleRepr),
}

impl Deleted<'_> {
    fn is_route(self, r: &HeldRoute) -> bool {
        matches!(self, Deleted::Route(g) if r.matches(g))
    }

    fn is_rule(self, r: &HeldRule) -> bool {
        matches!(self, Deleted::Rule(g) if r.matches(g))
    }
}

/// The tracked routes, then rules, with their lines and the requests that
/// add them again: all of them, or the ones `gone` is.
fn tracked<'a>(
    routes: &'a [HeldRoute],
    rules: &'a [HeldRule],
    gone: Option<Deleted<'a>>,
) -> impl Iterator<Item = (&'a str, RtnlRequest)> + 'a {
    let routes = routes
        .iter()
        .filter(move |r| r.track && gone.map_or(true, |g| g.is_route(r)))
        .map(|r| (r.text.as_str(), r.add_request()));
    let rules = rules
        .iter()
        .filter(move |r| r.track && gone.map_or(true, |g| g.is_rule(r)))
        .map(|r| (r.text.as_str(), r.add_request()));
    routes.chain(rules)
}

impl Vrrp {
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
        self.static_routes_through(rtnl, now, ifindex, false);
        self.held_routes_through(rtnl, now, ifindex, false);
    }

    /// Adds again the static routes out of `ifindex` (only the tracked ones
    /// with `tracked_only`).
    fn static_routes_through(
        &self,
        rtnl: &mut RtnlEvents,
        now: Instant,
        ifindex: u32,
        tracked_only: bool,
    ) {
        if !self.statics.installed {
            return;
        }
        for r in &self.statics.routes {
            if r.add.oif == Some(ifindex) && (r.track || !tracked_only) {
                send_static(rtnl, r.add_request(), now, &r.text);
            }
        }
    }

    /// Adds again the routes out of `ifindex` of the instances holding their
    /// VIPs (only the tracked ones with `tracked_only`).
    fn held_routes_through(
        &self,
        rtnl: &mut RtnlEvents,
        now: Instant,
        ifindex: u32,
        tracked_only: bool,
    ) {
        for (tag, io) in self.holding() {
            for r in &io.routes {
                if r.add.oif == Some(ifindex) && (r.track || !tracked_only) {
                    send(rtnl, r.add_request(), tag, now, &io.name, &r.text);
                }
            }
        }
    }

    /// An address re-dump begins: no VIP seen yet.
    pub fn begin_vip_survey(&mut self) {
        for r in &mut self.routers {
            r.io.vips_seen.fill(false);
        }
    }

    /// The re-dump listed `addr` on `ifindex`.
    pub fn vip_seen(&mut self, ifindex: u32, addr: IpAddr) {
        for r in &mut self.routers {
            let io = &mut r.io;
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
        for (i, r) in self.routers.iter().enumerate() {
            let io = &r.io;
            let hold = io.vips_held && r.machine.state() == State::Master;
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

    /// Installs `static_ipaddress`, `static_routes` and `static_rules`, in
    /// keepalived's order (addresses, routes, rules), whatever the VRRP state.
    pub fn start_statics(&mut self, rtnl: &mut RtnlEvents, now: Instant) {
        if self.statics.is_empty() {
            return;
        }
        self.statics.installed = true;
        let s = &self.statics;
        for (a, _) in &s.addresses {
            send_static(
                rtnl,
                RtnlRequest::AddAddr(a.clone()),
                now,
                &a.addr.to_string(),
            );
        }
        for r in &s.routes {
            send_static(rtnl, r.add_request(), now, &r.text);
        }
        for r in &s.rules {
            send_static(rtnl, r.add_request(), now, &r.text);
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
            send_static(rtnl, r.del_request(), now, &r.text);
        }
        for r in &s.routes {
            send_static(rtnl, r.del_request(), now, &r.text);
        }
        for (a, _) in &s.addresses {
            send_static(
                rtnl,
                RtnlRequest::DelAddr(a.clone()),
                now,
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
                    send_static(
                        rtnl,
                        RtnlRequest::AddAddr(a.clone()),
                        now,
                        &a.addr.to_string(),
                    );
                }
            }
            for (text, request) in tracked(&s.routes, &s.rules, None) {
                sent += 1;
                send_static(rtnl, request, now, text);
            }
        }
        for (tag, io) in self.holding() {
            for (text, request) in tracked(&io.routes, &io.rules, None) {
                sent += 1;
                send(rtnl, request, tag, now, &io.name, text);
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
        self.put_back(rtnl, now, Deleted::Route(gone), "route");
    }

    /// A rule marked as keepalived's was deleted: put back like a route.
    pub fn on_rule_deleted(&mut self, rtnl: &mut RtnlEvents, now: Instant, gone: &RuleRepr) {
        self.put_back(rtnl, now, Deleted::Rule(gone), "rule");
    }

    /// Puts back the tracked static or held virtual `what` that `gone` is.
    fn put_back(&mut self, rtnl: &mut RtnlEvents, now: Instant, gone: Deleted<'_>, what: &str) {
        let mut repaired = 0;
        if self.statics.installed {
            let s = &self.statics;
            for (text, request) in tracked(&s.routes, &s.rules, Some(gone)) {
                repaired += 1;
                warn!("static {what} `{text}` was deleted; adding it back, as keepalived does");
                send_static(rtnl, request, now, text);
            }
        }
        for (tag, io) in self.holding() {
            for (text, request) in tracked(&io.routes, &io.rules, Some(gone)) {
                repaired += 1;
                warn!(
                    "vrrp_instance {}: {what} `{text}` was deleted while master; adding it back",
                    io.name
                );
                send(rtnl, request, tag, now, &io.name, text);
            }
        }
        self.route_repairs += repaired;
    }

    /// The owner of requests tagged `tag` (for messages), and its routes and rules.
    fn owner_of(&self, tag: u32) -> (String, &[HeldRoute], &[HeldRule]) {
        if tag == STATIC_TAG {
            return (
                "static".to_string(),
                &self.statics.routes,
                &self.statics.rules,
            );
        }
        match self.routers.get(tag as usize) {
            Some(r) => (
                format!("vrrp_instance {}", r.io.name),
                &r.io.routes,
                &r.io.rules,
            ),
            None => ("vrrp_instance ?".to_string(), &[], &[]),
        }
    }

    /// A route or rule request ended; a refusal is logged with the line it
    /// came from and its owner. Returns false for other requests.
    fn route_request_done(
        &self,
        tag: u32,
        request: &RtnlRequest,
        result: &Result<(), NetlinkError>,
    ) -> bool {
        let (owner, routes, rules) = self.owner_of(tag);
        let route = |pick: &dyn Fn(&HeldRoute) -> bool| {
            routes.iter().find(|h| pick(h)).map(|h| h.text.as_str())
        };
        let rule = |r: &RuleRepr| rules.iter().find(|h| h.repr == *r).map(|h| h.text.as_str());
        let (verb, what, text, harmless) = match request {
            RtnlRequest::AddRoute(r, _) => {
                ("adding", "route", route(&|h| h.add == *r), libc::EEXIST)
            }
            RtnlRequest::DelRoute(r) => {
                ("removing", "route", route(&|h| h.del() == *r), libc::ESRCH)
            }
            RtnlRequest::AddRule(r) => ("adding", "rule", rule(r), libc::EEXIST),
            RtnlRequest::DelRule(r) => ("removing", "rule", rule(r), libc::ENOENT),
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
        let name = self.name(tag as usize).unwrap_or("?");
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

    /// An address disappeared: a static address, or a VIP deleted by hand
    /// while master, comes back, and so do the routes through its link.
    pub fn on_addr_removed(
        &mut self,
        rtnl: &mut RtnlEvents,
        now: Instant,
        ifindex: u32,
        addr: IpAddr,
    ) {
        if self.statics.installed {
            let mut repaired = 0;
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
        }
        // The kernel flushes the IPv4 routes of an interface that loses its
        // last address, without a notification: add again the tracked routes
        // through it (one still there answers EEXIST).
        self.static_routes_through(rtnl, now, ifindex, true);
        for (tag, io) in self.holding() {
            let Some(vip) = io
                .vips
                .iter()
                .find(|v| v.form.addr == addr && v.form.ifindex == ifindex)
            else {
                continue;
            };
            if vip.no_track {
                // keepalived's `no_track`: a deleted address is not
                // watched (it neither leaves MASTER nor comes back).
                info!(
                    "vrrp_instance {}: VIP {addr} (no_track) was removed by hand; left as it is",
                    io.name
                );
                continue;
            }
            warn!(
                "vrrp_instance {}: VIP {addr} was removed by hand while master; adding it back",
                io.name
            );
            if let Err(e) = rtnl.send(RtnlRequest::AddAddr(vip.form.clone()), tag, now) {
                warn!("vrrp_instance {}: re-adding VIP {addr}: {e}", io.name);
            }
        }
        // After the VIPs: a route may need one (`src`, a gateway on its subnet).
        self.held_routes_through(rtnl, now, ifindex, true);
    }
}
