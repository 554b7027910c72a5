//! Routes and rules lvsd installs: an instance's `virtual_routes` /
//! `virtual_rules` (with its VIPs) and the global `static_routes`,
//! `static_rules` and `static_ipaddress`, in their rtnetlink form, and how a
//! deletion seen on rtnetlink is matched back to them.

use crate::config::{Route, RouteType, Rule, VirtualIp};
use crate::io::netlink::RtnlRequest;
use crate::wire::netlink::route::{
    self as wire, NextHopRepr, RouteRepr, RuleRepr, RTNH_F_ONLINK, RT_SCOPE_NOWHERE,
};
use crate::wire::netlink::rtnl::{IfAddr, IfName};

/// The tag of static route, rule and address requests (instance requests
/// carry the instance's index).
pub const STATIC_TAG: u32 = u32::MAX;

/// A static address or route, or a virtual route, names an interface that
/// does not exist.
#[derive(Debug)]
pub struct NoInterface {
    /// The object, as configured (`route `...``, `static_ipaddress ADDR`).
    pub what: String,
    /// The interface it names.
    pub interface: String,
}

impl std::fmt::Display for NoInterface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: interface {} does not exist",
            self.what, self.interface
        )
    }
}

impl std::error::Error for NoInterface {}

/// A route in its rtnetlink form.
#[derive(Debug, Clone)]
pub struct HeldRoute {
    /// RTM_NEWROUTE's form.
    pub add: RouteRepr,
    /// Create flags (`add` / `prepend` / `append`).
    pub create: wire::RouteCreate,
    /// Whether the type was given (a delete then names it, as keepalived's).
    typed: bool,
    /// Whether the scope was given.
    scoped: bool,
    /// Deleted by hand, it is put back (not `no_track`, and it has a `dev`).
    pub track: bool,
    /// The configured line, for messages.
    pub text: String,
}

impl HeldRoute {
    /// The rtnetlink form of `route`; `ifindex` resolves interface names.
    pub fn build(
        route: &Route,
        ifindex: &dyn Fn(&str) -> Option<u32>,
    ) -> Result<HeldRoute, NoInterface> {
        let index = |name: &str| {
            ifindex(name).ok_or_else(|| NoInterface {
                what: format!("route `{}`", route.text),
                interface: name.to_owned(),
            })
        };
        let mut r = RouteRepr::new(route.dst.address, route.dst.len);
        r.ipv6 = route.ipv6;
        r.src = route.from.map(|p| (p.address, p.len));
        r.prefsrc = route.src;
        r.gateway = route.via;
        r.oif = route.dev.as_deref().map(index).transpose()?;
        r.table = route.table;
        r.metric = route.metric;
        r.protocol = route.protocol;
        r.tos = route.tos;
        r.kind = route.kind as u8;
        // keepalived sends RT_SCOPE_UNIVERSE unless `scope` is given.
        r.scope = route.scope.unwrap_or(0);
        if route.onlink {
            r.flags |= u32::from(RTNH_F_ONLINK);
        }
        for hop in &route.nexthops {
            let nh = NextHopRepr {
                ifindex: hop.dev.as_deref().map(index).transpose()?.unwrap_or(0),
                gateway: hop.via,
                hops: u8::try_from(hop.weight.saturating_sub(1)).unwrap_or(u8::MAX),
                flags: if hop.onlink { RTNH_F_ONLINK } else { 0 },
            };
            // Capacity was checked at load (MAX_ROUTE_NEXTHOPS).
            let _ = r.nexthops.push(nh);
        }
        Ok(HeldRoute {
            add: r,
            create: route.create,
            typed: route.kind != RouteType::Unicast,
            scoped: route.scope.is_some(),
            track: !route.no_track,
            text: route.text.clone(),
        })
    }

    /// The request that adds it.
    pub fn add_request(&self) -> RtnlRequest {
        RtnlRequest::AddRoute(self.add.clone(), self.create)
    }

    /// The request that removes it.
    pub fn del_request(&self) -> RtnlRequest {
        RtnlRequest::DelRoute(self.del())
    }

    /// RTM_DELROUTE's form: any scope and type unless the line gave them (as
    /// keepalived's `netlink_route(.., IPROUTE_DEL)`).
    pub fn del(&self) -> RouteRepr {
        let mut r = self.add.clone();
        if !self.scoped {
            r.scope = RT_SCOPE_NOWHERE;
        }
        if !self.typed {
            r.kind = 0;
        }
        r
    }

    /// Whether a route the kernel reports deleted is this one.
    pub fn matches(&self, gone: &RouteRepr) -> bool {
        let a = &self.add;
        a.ipv6 == gone.ipv6
            && a.table == gone.table
            && a.dst_len == gone.dst_len
            && (a.dst == gone.dst || a.dst_len == 0)
            && a.tos == gone.tos
            && a.protocol == gone.protocol
            && (a.metric.is_none() || a.metric == gone.metric)
            && (a.oif.is_none() || a.oif == gone.oif)
    }
}

/// A rule in its rtnetlink form.
#[derive(Debug, Clone)]
pub struct HeldRule {
    /// RTM_NEWRULE / RTM_DELRULE's form.
    pub repr: RuleRepr,
    /// Deleted by hand, it is put back (not `no_track`).
    pub track: bool,
    /// The configured line, for messages.
    pub text: String,
}

impl HeldRule {
    /// The request that adds it.
    pub fn add_request(&self) -> RtnlRequest {
        RtnlRequest::AddRule(self.repr.clone())
    }

    /// The request that removes it.
    pub fn del_request(&self) -> RtnlRequest {
        RtnlRequest::DelRule(self.repr.clone())
    }

    /// The rtnetlink form of `rule`.
    pub fn build(rule: &Rule) -> HeldRule {
        let mut r = RuleRepr::new(rule.ipv6, rule.action);
        r.src = rule.from.map(|p| (p.address, p.len));
        r.dst = rule.to.map(|p| (p.address, p.len));
        r.tos = rule.tos;
        if rule.invert {
            r.flags |= wire::FIB_RULE_INVERT;
        }
        r.priority = rule.preference;
        r.fwmark = rule.fwmark.map(|f| f.0);
        r.fwmask = rule.fwmark.and_then(|f| f.1);
        let name = |n: &str| IfName::try_from(n).ok();
        r.iifname = rule.iif.as_deref().and_then(name);
        r.oifname = rule.oif.as_deref().and_then(name);
        r.suppress_prefixlen = rule.suppress_prefixlength;
        r.protocol = rule.protocol;
        HeldRule {
            repr: r,
            track: !rule.no_track,
            text: rule.text.clone(),
        }
    }

    /// Whether a rule the kernel reports deleted is this one.
    pub fn matches(&self, gone: &RuleRepr) -> bool {
        let a = &self.repr;
        let prefix = |mine: Option<(std::net::IpAddr, u8)>,
                      theirs: Option<(std::net::IpAddr, u8)>| {
            mine.filter(|p| p.1 > 0) == theirs.filter(|p| p.1 > 0)
        };
        a.ipv6 == gone.ipv6
            && a.priority == gone.priority
            && a.action == gone.action
            && prefix(a.src, gone.src)
            && prefix(a.dst, gone.dst)
            && a.fwmark == gone.fwmark
            && a.iifname == gone.iifname
            && a.oifname == gone.oifname
            && a.flags & wire::FIB_RULE_INVERT == gone.flags & wire::FIB_RULE_INVERT
    }
}

/// The global `static_ipaddress`, `static_routes` and `static_rules`.
#[derive(Debug, Default)]
pub struct Statics {
    /// Addresses, with their `no_track`.
    pub addresses: Vec<(IfAddr, bool)>,
    /// Routes.
    pub routes: Vec<HeldRoute>,
    /// Rules.
    pub rules: Vec<HeldRule>,
    /// Whether they are installed (from start to stop).
    pub installed: bool,
}

impl Statics {
    /// Builds the rtnetlink forms; `ifindex` resolves interface names.
    pub fn build(
        addresses: &[VirtualIp],
        routes: &[Route],
        rules: &[Rule],
        ifindex: &dyn Fn(&str) -> Option<u32>,
        form: impl Fn(u32, &VirtualIp) -> IfAddr,
    ) -> Result<Statics, NoInterface> {
        let mut s = Statics::default();
        for a in addresses {
            let index = ifindex(&a.dev).ok_or_else(|| NoInterface {
                what: format!("static_ipaddress {}", a.address),
                interface: a.dev.to_string(),
            })?;
            s.addresses.push((form(index, a), a.no_track));
        }
        for r in routes {
            let held = HeldRoute::build(r, ifindex).map_err(|e| NoInterface {
                what: format!("static_routes: {}", e.what),
                interface: e.interface,
            })?;
            s.routes.push(held);
        }
        s.rules.extend(rules.iter().map(HeldRule::build));
        Ok(s)
    }

    /// True when there is nothing to hold.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty() && self.rules.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;
    use crate::config::route::{parse_route, parse_rule};

    fn index(name: &str) -> Option<u32> {
        match name {
            "eth0" => Some(2),
            "eth1" => Some(3),
            _ => None,
        }
    }

    #[test]
    fn route_forms_and_matching() {
        let r = parse_route("192.168.110.0/24 via 192.168.200.254 dev eth1 metric 7", 1).unwrap();
        let held = HeldRoute::build(&r, &index).unwrap();
        assert_eq!(held.add.oif, Some(3));
        assert_eq!(held.add.scope, 0);
        assert!(held.track);
        let del = held.del();
        assert_eq!((del.scope, del.kind), (RT_SCOPE_NOWHERE, 0));
        // The kernel's report of the deletion: same key, its own scope.
        let mut gone = held.add.clone();
        gone.scope = 253;
        assert!(held.matches(&gone));
        gone.metric = Some(8);
        assert!(!held.matches(&gone));
        let bad = parse_route("10.0.0.0/8 dev eth9", 1).unwrap();
        let err = HeldRoute::build(&bad, &index).unwrap_err();
        assert_eq!(err.interface, "eth9");
        assert!(err.to_string().contains("interface eth9 does not exist"));
        let b = parse_route("blackhole 10.1.0.0/16 scope host", 1).unwrap();
        let held = HeldRoute::build(&b, &index).unwrap();
        assert!(!held.track, "no dev: not tracked");
        assert_eq!((held.del().kind, held.del().scope), (6, 254));
    }

    #[test]
    fn rule_forms_and_matching() {
        let r = parse_rule("from 192.168.100.0/24 table 1 preference 100", 1).unwrap();
        let held = HeldRule::build(&r);
        assert_eq!(held.repr.protocol, Some(18));
        let mut gone = held.repr.clone();
        assert!(held.matches(&gone));
        gone.priority = Some(101);
        assert!(!held.matches(&gone));
    }

    #[test]
    fn request_sizes_stay_bounded() {
        // The rtnetlink input queue (2 x RTNL_BUDGET) and the pending table
        // (RTNL_PENDING) hold requests by value: a route with its hops must
        // not make them grow without anyone noticing.
        let request = std::mem::size_of::<crate::io::netlink::RtnlRequest>();
        let input = std::mem::size_of::<crate::io::netlink::RtnlInput>();
        println!("RtnlRequest {request} bytes, RtnlInput {input} bytes");
        assert!(request <= 384 && input <= 448, "{request} / {input}");
    }
}
