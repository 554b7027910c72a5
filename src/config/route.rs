//! `virtual_routes` / `static_routes` and `virtual_rules` / `static_rules` lines,
//! in keepalived 2.2.7's syntax (`alloc_route()` in vrrp_iproute.c and
//! `alloc_rule()` in vrrp_iprule.c), read into [`Route`] and [`Rule`].
//!
//! The same parser serves the INI loader and the keepalived importer, so a line
//! means the same to both. A [`LineError::Invalid`] is a line keepalived also
//! rejects (it skips it with a configuration error); a
//! [`LineError::Unsupported`] is one keepalived accepts and lvsd cannot carry
//! out, which `lvsd check` refuses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::model::Name;
use super::parse::to_interface;
use crate::limits::MAX_ROUTE_NEXTHOPS;

/// The protocol keepalived marks tracked routes and rules with (RTPROT_KEEPALIVED).
pub const PROTOCOL_KEEPALIVED: u8 = 18;
/// keepalived's first automatic rule preference (`RULE_START_PRIORITY`); later
/// rules without one count down from it, per family.
pub const RULE_START_PRIORITY: u32 = 16384;

/// Why a route or rule line cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// keepalived rejects it too (and skips the line).
    Invalid(String),
    /// keepalived accepts it; lvsd cannot do it.
    Unsupported(String),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::Invalid(s) => write!(f, "{s}"),
            LineError::Unsupported(s) => write!(f, "{s} (not supported by lvsd)"),
        }
    }
}

fn invalid<T>(s: impl Into<String>) -> Result<T, LineError> {
    Err(LineError::Invalid(s.into()))
}

fn unsupported<T>(s: impl Into<String>) -> Result<T, LineError> {
    Err(LineError::Unsupported(s.into()))
}

/// An address prefix; `default` / `any` / `all` is the unspecified address /0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// The address.
    pub address: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.len)
    }
}

/// A route's type (RTN_*), the word before the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteType {
    /// `unicast` (the default).
    Unicast = 1,
    /// `local`.
    Local = 2,
    /// `blackhole`.
    Blackhole = 6,
    /// `unreachable`.
    Unreachable = 7,
    /// `prohibit`.
    Prohibit = 8,
    /// `throw`.
    Throw = 9,
}

/// How RTM_NEWROUTE treats an existing route to the same destination
/// (`prepend`, keepalived's default; `add` is `Exclusive`; `append`), and what
/// a rule does: the rtnetlink codec's own types.
pub use crate::wire::netlink::route::{RouteCreate, RuleAction};

/// One hop of a multipath route (`nexthop ...`, or the old `or ADDRESS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    /// `via`.
    pub via: Option<IpAddr>,
    /// `dev`.
    pub dev: Option<Name>,
    /// `weight` 1..=256 (default 1).
    pub weight: u16,
    /// `onlink`.
    pub onlink: bool,
}

/// One `virtual_routes` / `static_routes` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The line as written (for messages).
    pub text: String,
    /// Line it was given on.
    pub line: usize,
    /// IPv6 route.
    pub ipv6: bool,
    /// Type word (`blackhole`, ...).
    pub kind: RouteType,
    /// Destination.
    pub dst: Prefix,
    /// `from` (source prefix, IPv6 only).
    pub from: Option<Prefix>,
    /// `src` (preferred source address, RTA_PREFSRC).
    pub src: Option<IpAddr>,
    /// `via` / `gw`.
    pub via: Option<IpAddr>,
    /// `dev` / `oif`.
    pub dev: Option<Name>,
    /// `scope` (None: the kernel's default for the route).
    pub scope: Option<u8>,
    /// `table` (default main, 254).
    pub table: u32,
    /// `metric` / `priority` / `preference`.
    pub metric: Option<u32>,
    /// `protocol` (RTPROT_KEEPALIVED unless `no_track` with another protocol).
    pub protocol: u8,
    /// `tos` / `dsfield`.
    pub tos: u8,
    /// `onlink`.
    pub onlink: bool,
    /// `nexthop ...` hops (or the two of `via A or B`).
    pub nexthops: Vec<NextHop>,
    /// `add` / `prepend` / `append`.
    pub create: RouteCreate,
    /// `no_track`, or no `dev` (keepalived cannot track a route without
    /// an interface): a deletion by hand is not acted on.
    pub no_track: bool,
}

/// One `virtual_rules` / `static_rules` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The line as written (for messages).
    pub text: String,
    /// Line it was given on.
    pub line: usize,
    /// IPv6 rule.
    pub ipv6: bool,
    /// `from`.
    pub from: Option<Prefix>,
    /// `to`.
    pub to: Option<Prefix>,
    /// `not`.
    pub invert: bool,
    /// `preference` / `priority` / `order`; `None` when not given (keepalived
    /// then picks one: see [`RULE_START_PRIORITY`]).
    pub preference: Option<u32>,
    /// `tos` / `dsfield`.
    pub tos: u8,
    /// `fwmark N[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `dev` / `iif`.
    pub iif: Option<Name>,
    /// `oif`.
    pub oif: Option<Name>,
    /// `suppress_prefixlength` / `sup_pl`.
    pub suppress_prefixlength: Option<u32>,
    /// The action.
    pub action: RuleAction,
    /// FRA_PROTOCOL: RTPROT_KEEPALIVED when tracked, else `protocol` if given.
    pub protocol: Option<u8>,
    /// `no_track`: a deletion by hand is not acted on.
    pub no_track: bool,
}

fn number(text: &str) -> Option<u32> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()
    } else {
        text.parse().ok()
    }
}

/// `default`/`any`/`all`, or `ADDRESS[/LEN]` (no length: a host prefix).
/// The family of `default` is fixed later (`None` here).
fn prefix(text: &str) -> Option<(Option<IpAddr>, u8)> {
    match text {
        "default" | "any" | "all" => return Some((None, 0)),
        "default6" => return Some((Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)), 0)),
        _ => {}
    }
    let (a, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let address: IpAddr = a.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => l.parse::<u8>().ok().filter(|&l| l <= max)?,
    };
    Some((Some(address), len))
}

fn address(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

fn table(text: &str) -> Option<u32> {
    match text {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        n => number(n),
    }
}

fn scope(text: &str) -> Option<u8> {
    match text {
        "global" | "universe" => Some(0),
        "site" => Some(200),
        "link" => Some(253),
        "host" => Some(254),
        "nowhere" => Some(255),
        n => n.parse().ok(),
    }
}

fn protocol(text: &str) -> Option<u8> {
    match text {
        "redirect" => Some(1),
        "kernel" => Some(2),
        "boot" => Some(3),
        "static" => Some(4),
        "keepalived" => Some(18),
        n => n.parse().ok(),
    }
}

fn route_type(text: &str) -> Option<Result<RouteType, LineError>> {
    Some(Ok(match text {
        "unicast" => RouteType::Unicast,
        "local" => RouteType::Local,
        "blackhole" => RouteType::Blackhole,
        "unreachable" => RouteType::Unreachable,
        "prohibit" => RouteType::Prohibit,
        "throw" => RouteType::Throw,
        "broadcast" | "anycast" | "multicast" | "nat" | "xresolve" => {
            return Some(unsupported(format!("route type `{text}`")))
        }
        _ => return None,
    }))
}

/// A name that is not a number nor one of the standard names: keepalived
/// looks it up in /etc/iproute2/`file` (so it may know it); lvsd reads no
/// such file. A number that does not fit is invalid to both.
fn named<T>(text: &str, what: &str, file: &str) -> Result<T, LineError> {
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return invalid(format!("{what} {text} is invalid"));
    }
    unsupported(format!(
        "{what} name `{text}` (keepalived looks it up in /etc/iproute2/{file}; lvsd reads no such file: write the number)"
    ))
}

fn interface(text: &str) -> Result<Name, LineError> {
    to_interface(text).map_or_else(|| invalid(format!("bad interface name `{text}`")), Ok)
}

/// Tracks the family the words of one line agree on.
struct Family(Option<bool>);

impl Family {
    fn take(&mut self, v6: bool) -> Result<(), LineError> {
        match self.0 {
            Some(f) if f != v6 => invalid("cannot mix IPv4 and IPv6 addresses"),
            _ => {
                self.0 = Some(v6);
                Ok(())
            }
        }
    }
}

fn unspecified(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

/// Metrics keywords keepalived accepts on routes, which lvsd does not send.
const ROUTE_METRICS: &[&str] = &[
    "mtu",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "ttl-propagate",
    "fastopen_no_cookie",
    "realms",
    "expires",
    "encap",
    "as",
    "vrf",
    "track_group",
];

/// keepalived 2.2.7 skips the word after `inet` / `inet6`: an error on such a
/// line says so.
fn with_family_hint<T>(text: &str, r: Result<T, LineError>) -> Result<T, LineError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let skipped = words
        .windows(2)
        .find(|w| w[0] == "inet" || w[0] == "inet6")
        .map(|w| (w[0], w[1]));
    match (r, skipped) {
        (Err(LineError::Invalid(e)), Some((family, next))) => Err(LineError::Invalid(format!(
            "{e} (keepalived 2.2.7 skips the word after `{family}`, here `{next}`: \
             leave `{family}` out, the addresses give the family, or put it last)"
        ))),
        (r, _) => r,
    }
}

/// The words of one route or rule line, where the reader stands in them,
/// and the address family they agree on so far.
struct Words<'t> {
    words: Vec<&'t str>,
    i: usize,
    fam: Family,
}

impl<'t> Words<'t> {
    fn new(text: &'t str) -> Self {
        Words {
            words: text.split_whitespace().collect(),
            i: 0,
            fam: Family(None),
        }
    }

    /// The line as written, single-spaced.
    fn text(&self) -> String {
        self.words.join(" ")
    }

    /// The word the reader stands on, unless the line has ended.
    fn current(&self) -> Option<&'t str> {
        self.words.get(self.i).copied()
    }

    /// The word the reader stands on, as the value `what` needs.
    fn here(&self, what: &str) -> Result<&'t str, LineError> {
        self.current()
            .map_or_else(|| invalid(format!("`{what}` needs a value")), Ok)
    }

    /// Steps to the next word: keyword `what`'s value.
    fn value(&mut self, what: &str) -> Result<&'t str, LineError> {
        self.i += 1;
        self.here(what)
    }

    /// `inet` / `inet6` sets the family. keepalived 2.2.7 steps over the next
    /// word as well (its parser advances twice): `inet6 from X` loses the `from`.
    fn family_word(&mut self, word: &str) -> Result<(), LineError> {
        self.fam.take(word == "inet6")?;
        self.i += 1;
        Ok(())
    }

    /// An address of the line: its family must agree with the others'.
    fn address(&mut self, address: IpAddr) -> Result<IpAddr, LineError> {
        self.fam.take(address.is_ipv6())?;
        Ok(address)
    }

    /// The family the line's words gave (IPv4 when none did).
    fn ipv6(&self) -> bool {
        self.fam.0.unwrap_or(false)
    }
}

/// `tos` / `dsfield` value.
fn tos_value(v: &str) -> Result<u8, LineError> {
    number(v)
        .and_then(|n| u8::try_from(n).ok())
        .map_or_else(|| invalid(format!("TOS value {v} is invalid")), Ok)
}

/// `table` value: a number or a standard name.
fn table_value(v: &str) -> Result<u32, LineError> {
    table(v).map_or_else(|| named(v, "routing table", "rt_tables"), Ok)
}

/// `protocol` value: a number or a standard name.
fn protocol_value(v: &str) -> Result<u8, LineError> {
    protocol(v).map_or_else(|| named(v, "protocol", "rt_protos"), Ok)
}

/// A prefix with its family fixed: `default` takes the line's.
fn fixed(p: (Option<IpAddr>, u8), ipv6: bool) -> Prefix {
    Prefix {
        address: p.0.unwrap_or(unspecified(ipv6)),
        len: p.1,
    }
}

/// Reads a route line (the words after the block's indentation).
pub fn parse_route(text: &str, line: usize) -> Result<Route, LineError> {
    with_family_hint(text, route_words(text, line))
}

fn route_words(text: &str, line: usize) -> Result<Route, LineError> {
    let mut reader = RouteReader {
        words: Words::new(text),
        route: Route::new(line),
        dst: None,
        given_protocol: None,
    };
    reader.route.text = reader.words.text();
    while let Some(w) = reader.words.current() {
        if w == "nexthop" {
            if !reader.route.nexthops.is_empty() {
                return invalid("cannot specify nexthops with an \"or\" route");
            }
            let words = &mut reader.words;
            words.i = parse_nexthops(&words.words, words.i, &mut reader.route, &mut words.fam)?;
            continue;
        }
        reader.word(w)?;
        reader.words.i += 1;
    }
    reader.finish()
}

impl Route {
    /// A unicast route in the main table with nothing set yet.
    fn new(line: usize) -> Self {
        Route {
            text: String::new(),
            line,
            ipv6: false,
            kind: RouteType::Unicast,
            dst: Prefix {
                address: unspecified(false),
                len: 0,
            },
            from: None,
            src: None,
            via: None,
            dev: None,
            scope: None,
            table: 254,
            metric: None,
            protocol: PROTOCOL_KEEPALIVED,
            tos: 0,
            onlink: false,
            nexthops: Vec::new(),
            create: RouteCreate::Prepend,
            no_track: false,
        }
    }
}

/// A route line while its words are read.
struct RouteReader<'t> {
    words: Words<'t>,
    route: Route,
    dst: Option<(Option<IpAddr>, u8)>,
    given_protocol: Option<u8>,
}

impl RouteReader<'_> {
    /// One keyword (with its value) of the line, `nexthop` aside.
    fn word(&mut self, w: &str) -> Result<(), LineError> {
        let r = &mut self.route;
        match w {
            "inet" | "inet6" => self.words.family_word(w)?,
            "src" => {
                let v = self.words.value(w)?;
                let a = address(v)
                    .map_or_else(|| invalid(format!("invalid route src address {v}")), Ok)?;
                r.src = Some(self.words.address(a)?);
            }
            "via" | "gw" => self.via(w)?,
            "from" => self.from(w)?,
            "tos" | "dsfield" => r.tos = tos_value(self.words.value(w)?)?,
            "table" => r.table = table_value(self.words.value(w)?)?,
            "protocol" => self.given_protocol = Some(protocol_value(self.words.value(w)?)?),
            "scope" => {
                let v = self.words.value(w)?;
                r.scope = Some(scope(v).map_or_else(|| named(v, "scope", "rt_scopes"), Ok)?);
            }
            "metric" | "priority" | "preference" => {
                let v = self.words.value(w)?;
                r.metric =
                    Some(number(v).map_or_else(|| invalid(format!("invalid metric {v}")), Ok)?);
            }
            "dev" | "oif" => r.dev = Some(interface(self.words.value(w)?)?),
            "onlink" => r.onlink = true,
            "add" => r.create = RouteCreate::Exclusive,
            "prepend" => r.create = RouteCreate::Prepend,
            "append" => r.create = RouteCreate::Append,
            "or" => self.or(w)?,
            "no_track" => r.no_track = true,
            _ if ROUTE_METRICS.contains(&w) => {
                return unsupported(format!("route option `{w}`"));
            }
            _ => self.destination(w)?,
        }
        Ok(())
    }

    /// `via [inet|inet6] ADDRESS` (or `gw`).
    fn via(&mut self, w: &str) -> Result<(), LineError> {
        let mut v = self.words.value(w)?;
        if v == "inet" || v == "inet6" {
            v = self.words.value(w)?;
        }
        let a = address(v).map_or_else(|| invalid(format!("invalid route via address {v}")), Ok)?;
        self.route.via = Some(self.words.address(a)?);
        Ok(())
    }

    /// `from PREFIX`: a source prefix, IPv6 only.
    fn from(&mut self, w: &str) -> Result<(), LineError> {
        let v = self.words.value(w)?;
        let (a, len) =
            prefix(v).map_or_else(|| invalid(format!("invalid route from address {v}")), Ok)?;
        let a = a.unwrap_or(unspecified(true));
        if a.is_ipv4() {
            return invalid(format!("route from address only supported with IPv6 ({v})"));
        }
        self.words.fam.take(true)?;
        self.route.from = Some(Prefix { address: a, len });
        Ok(())
    }

    /// `via A or B`: two hops; keepalived ignores a second `or` ("already specified").
    fn or(&mut self, w: &str) -> Result<(), LineError> {
        let v = self.words.value(w)?;
        if !self.route.nexthops.is_empty() {
            return Ok(());
        }
        let a = address(v).map_or_else(|| invalid(format!("invalid \"or\" address {v}")), Ok)?;
        let a = self.words.address(a)?;
        // The `via` moves to the first hop, as keepalived does.
        let hop = |via| NextHop {
            via,
            dev: None,
            weight: 1,
            onlink: false,
        };
        let first = hop(self.route.via.take());
        self.route.nexthops.push(first);
        self.route.nexthops.push(hop(Some(a)));
        Ok(())
    }

    /// `[to] [TYPE] PREFIX`: the destination, with the route type before it.
    fn destination(&mut self, w: &str) -> Result<(), LineError> {
        if w == "to" {
            self.words.i += 1;
        }
        let mut v = self.words.here("to")?;
        if let Some(kind) = route_type(v) {
            self.route.kind = kind?;
            v = self.words.value("route type")?;
        }
        let p = prefix(v).map_or_else(|| invalid(format!("unknown route keyword {v}")), Ok)?;
        if let Some(a) = p.0 {
            self.words.address(a)?;
        }
        self.dst = Some(p);
        Ok(())
    }

    /// The route once every word is read.
    fn finish(self) -> Result<Route, LineError> {
        let mut r = self.route;
        let Some(dst) = self.dst else {
            return invalid("route must have a destination");
        };
        r.ipv6 = self.words.ipv6();
        r.dst = fixed(dst, r.ipv6);
        if r.nexthops.len() > MAX_ROUTE_NEXTHOPS {
            return unsupported(format!(
                "more than MAX_ROUTE_NEXTHOPS ({MAX_ROUTE_NEXTHOPS}) nexthops"
            ));
        }
        // keepalived: a tracked route is always RTPROT_KEEPALIVED (a route with no
        // interface cannot be tracked, but keeps the protocol).
        match (r.no_track, self.given_protocol) {
            (true, Some(p)) => r.protocol = p,
            _ => r.protocol = PROTOCOL_KEEPALIVED,
        }
        if r.dev.is_none() {
            r.no_track = true;
        }
        Ok(r)
    }
}

fn parse_nexthops(
    words: &[&str],
    mut i: usize,
    r: &mut Route,
    fam: &mut Family,
) -> Result<usize, LineError> {
    while words.get(i) == Some(&"nexthop") {
        i += 1;
        let mut hop = NextHop {
            via: None,
            dev: None,
            weight: 1,
            onlink: false,
        };
        while let Some(&w) = words.get(i) {
            if w == "nexthop" {
                break;
            }
            let value = words.get(i + 1).copied();
            match (w, value) {
                ("via", Some(mut v)) => {
                    if v == "inet" || v == "inet6" {
                        i += 1;
                        v = words.get(i + 1).copied().unwrap_or("");
                    }
                    let a = address(v)
                        .map_or_else(|| invalid(format!("invalid nexthop address {v}")), Ok)?;
                    fam.take(a.is_ipv6())?;
                    hop.via = Some(a);
                    i += 2;
                }
                ("dev", Some(v)) => {
                    hop.dev = Some(interface(v)?);
                    i += 2;
                }
                ("weight", Some(v)) => {
                    hop.weight = v
                        .parse::<u16>()
                        .ok()
                        .filter(|w| (1..=256).contains(w))
                        .map_or_else(|| invalid(format!("invalid weight {v} for route")), Ok)?;
                    i += 2;
                }
                ("onlink", _) => {
                    hop.onlink = true;
                    i += 1;
                }
                ("encap" | "realms" | "as", _) => {
                    return unsupported(format!("nexthop option `{w}`"));
                }
                _ => return invalid(format!("route has trailing nonsense after nexthops - {w}")),
            }
        }
        r.nexthops.push(hop);
    }
    if let Some(w) = words.get(i) {
        return invalid(format!("route has trailing nonsense after nexthops - {w}"));
    }
    Ok(i)
}

/// Rule options keepalived accepts that lvsd does not send.
const RULE_UNSUPPORTED: &[&str] = &[
    "realms",
    "suppress_ifgroup",
    "sup_group",
    "tunnel-id",
    "uidrange",
    "l3mdev",
    "ipproto",
    "sport",
    "dport",
    "track_group",
];

/// Reads a rule line.
pub fn parse_rule(text: &str, line: usize) -> Result<Rule, LineError> {
    with_family_hint(text, rule_words(text, line))
}

fn rule_words(text: &str, line: usize) -> Result<Rule, LineError> {
    let mut reader = RuleReader {
        words: Words::new(text),
        rule: Rule::new(line),
        action: None,
        given_protocol: None,
        from: None,
        to: None,
    };
    reader.rule.text = reader.words.text();
    while let Some(w) = reader.words.current() {
        reader.word(w)?;
        reader.words.i += 1;
    }
    reader.finish()
}

impl Rule {
    /// A rule with nothing set yet.
    fn new(line: usize) -> Self {
        Rule {
            text: String::new(),
            line,
            ipv6: false,
            from: None,
            to: None,
            invert: false,
            preference: None,
            tos: 0,
            fwmark: None,
            iif: None,
            oif: None,
            suppress_prefixlength: None,
            action: RuleAction::Nop,
            protocol: None,
            no_track: false,
        }
    }
}

/// A rule line while its words are read.
struct RuleReader<'t> {
    words: Words<'t>,
    rule: Rule,
    action: Option<RuleAction>,
    given_protocol: Option<u8>,
    from: Option<(Option<IpAddr>, u8)>,
    to: Option<(Option<IpAddr>, u8)>,
}

impl RuleReader<'_> {
    /// One keyword (with its value) of the line.
    fn word(&mut self, w: &str) -> Result<(), LineError> {
        let r = &mut self.rule;
        match w {
            "inet" | "inet6" => self.words.family_word(w)?,
            "from" | "to" => self.address(w)?,
            "table" | "lookup" => {
                let t = table_value(self.words.value(w)?)?;
                if t == 0 {
                    return invalid("table 0 is not valid");
                }
                self.set_action(RuleAction::Table(t))?;
            }
            "not" => r.invert = true,
            "preference" | "order" | "priority" => {
                let v = self.words.value(w)?;
                r.preference = Some(
                    number(v)
                        .map_or_else(|| invalid(format!("invalid rule preference {v}")), Ok)?,
                );
            }
            "tos" | "dsfield" => r.tos = tos_value(self.words.value(w)?)?,
            "fwmark" => self.fwmark(w)?,
            "suppress_prefixlength" | "sup_pl" => {
                let v = self.words.value(w)?;
                r.suppress_prefixlength =
                    Some(number(v).map_or_else(
                        || invalid(format!("invalid suppress_prefixlength {v}")),
                        Ok,
                    )?);
            }
            "dev" | "iif" => r.iif = Some(interface(self.words.value(w)?)?),
            "oif" => r.oif = Some(interface(self.words.value(w)?)?),
            "protocol" => self.given_protocol = Some(protocol_value(self.words.value(w)?)?),
            "no_track" => r.no_track = true,
            _ if RULE_UNSUPPORTED.contains(&w) => {
                return unsupported(format!("rule option `{w}`"));
            }
            _ => self.action_word(w)?,
        }
        Ok(())
    }

    /// `from PREFIX` / `to PREFIX`.
    fn address(&mut self, w: &str) -> Result<(), LineError> {
        let v = self.words.value(w)?;
        let p = prefix(v).map_or_else(|| invalid(format!("invalid rule {w} address {v}")), Ok)?;
        if let Some(a) = p.0 {
            self.words.address(a)?;
        }
        if w == "from" {
            self.from = Some(p);
        } else {
            self.to = Some(p);
        }
        Ok(())
    }

    /// `fwmark MARK[/MASK]`.
    fn fwmark(&mut self, w: &str) -> Result<(), LineError> {
        let v = self.words.value(w)?;
        let bad = || LineError::Invalid(format!("invalid rule fwmark {v}"));
        let (mark, mask) = match v.split_once('/') {
            Some((m, k)) => (m, Some(k)),
            None => (v, None),
        };
        let mark = number(mark).ok_or_else(bad)?;
        let mask = match mask {
            Some(k) => Some(number(k).ok_or_else(bad)?),
            None => None,
        };
        self.rule.fwmark = Some((mark, mask));
        Ok(())
    }

    /// `[type] ACTION`: `goto N`, `nop`, `blackhole`, `unreachable`, `prohibit`.
    fn action_word(&mut self, w: &str) -> Result<(), LineError> {
        let mut v = w;
        if v == "type" {
            v = self.words.value("type")?;
        }
        let a = match v {
            "goto" => {
                let t = self.words.value("goto")?;
                RuleAction::Goto(
                    number(t).map_or_else(|| invalid(format!("invalid target {t}")), Ok)?,
                )
            }
            "nop" => RuleAction::Nop,
            "blackhole" => RuleAction::Blackhole,
            "unreachable" => RuleAction::Unreachable,
            "prohibit" => RuleAction::Prohibit,
            "unicast" | "local" | "broadcast" | "anycast" | "multicast" | "throw" | "nat"
            | "xresolve" => return invalid(format!("invalid rule action {v}")),
            _ => return invalid(format!("unknown rule option {v}")),
        };
        self.set_action(a)
    }

    fn set_action(&mut self, a: RuleAction) -> Result<(), LineError> {
        if self.action.replace(a).is_some() {
            return invalid(
                "cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule",
            );
        }
        Ok(())
    }

    /// The rule once every word is read.
    fn finish(self) -> Result<Rule, LineError> {
        let mut r = self.rule;
        let Some(action) = self.action else {
            return invalid("no action specified for rule");
        };
        if let RuleAction::Goto(target) = action {
            match r.preference {
                Some(p) if p >= target => {
                    return invalid(format!(
                        "invalid rule - preference {p} >= goto target {target}"
                    ))
                }
                None => {
                    return invalid(format!(
                        "invalid rule - goto target {target} specified without preference"
                    ))
                }
                _ => {}
            }
        }
        if r.suppress_prefixlength.is_some() && !matches!(action, RuleAction::Table(_)) {
            return invalid("suppressor specified for non table action");
        }
        r.action = action;
        r.ipv6 = self.words.ipv6();
        r.from = self.from.map(|p| fixed(p, r.ipv6));
        r.to = self.to.map(|p| fixed(p, r.ipv6));
        r.protocol = if r.no_track {
            self.given_protocol
        } else {
            Some(PROTOCOL_KEEPALIVED)
        };
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_routes() {
        let r = parse_route(
            "src 192.168.100.1 192.168.109.0/24 via 192.168.200.254 dev eth1",
            1,
        )
        .unwrap();
        assert_eq!(r.src, Some("192.168.100.1".parse().unwrap()));
        assert_eq!(r.dst.to_string(), "192.168.109.0/24");
        assert_eq!(r.via, Some("192.168.200.254".parse().unwrap()));
        assert_eq!(r.dev.as_deref(), Some("eth1"));
        assert!(!r.no_track);
        assert_eq!((r.table, r.protocol), (254, 18));

        let r = parse_route("192.168.113.0/24 via 192.168.100.252 or 192.168.100.253", 1).unwrap();
        assert_eq!(r.via, None);
        assert_eq!(r.nexthops.len(), 2);
        assert!(r.no_track, "no dev: keepalived cannot track it");

        let r = parse_route("blackhole 192.168.113.1/32", 1).unwrap();
        assert_eq!(r.kind, RouteType::Blackhole);
        let r = parse_route("0.0.0.0/0 gw 192.168.0.1 table 100", 1).unwrap();
        assert_eq!((r.dst.len, r.table), (0, 100));
        let r = parse_route("192.168.212.0/24 dev eth3 scope site", 1).unwrap();
        assert_eq!(r.scope, Some(200));
        let r = parse_route("default via 2001:db8::1 dev eth0 metric 5 onlink inet6", 1).unwrap();
        assert!(r.ipv6 && r.onlink);
        assert_eq!(r.dst.address, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(r.metric, Some(5));
        let r = parse_route(
            "10.1.0.0/16 nexthop via 10.0.0.1 dev eth0 weight 2 nexthop via 10.0.0.2 dev eth1",
            1,
        )
        .unwrap();
        assert_eq!(r.nexthops[0].weight, 2);
        assert_eq!(r.nexthops[1].dev.as_deref(), Some("eth1"));
    }

    #[test]
    fn bad_routes() {
        for (text, unsupported) in [
            ("via 10.0.0.1", false),
            ("10.0.0.0/33", false),
            ("10.0.0.0/8 via 2001:db8::1", false),
            ("10.0.0.0/8 mtu 1400", true),
            ("10.0.0.0/8 table", false),
            ("from 10.0.0.0/8 10.1.0.0/16", false),
            ("multicast 224.0.0.0/4", true),
            ("10.0.0.0/8 nexthop via 10.0.0.1 bogus", false),
        ] {
            let e = parse_route(text, 1).unwrap_err();
            assert_eq!(
                matches!(e, LineError::Unsupported(_)),
                unsupported,
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn rules() {
        let r = parse_rule("from 192.168.100.0/24 table 1", 1).unwrap();
        assert_eq!(r.action, RuleAction::Table(1));
        assert_eq!(r.preference, None);
        assert_eq!(r.protocol, Some(18));
        assert!(matches!(
            parse_rule("to 192.168.100./24 table 1", 1),
            Err(LineError::Invalid(_))
        ));
        let r = parse_rule(
            "not from all fwmark 0x10/0xff iif eth0 oif eth1 preference 100 goto 200",
            1,
        )
        .unwrap();
        assert!(r.invert);
        assert_eq!(r.fwmark, Some((16, Some(255))));
        assert_eq!(r.action, RuleAction::Goto(200));
        let r = parse_rule("to 2001:db8::/32 prohibit priority 5 no_track inet6", 1).unwrap();
        // keepalived 2.2.7 steps over the word after `inet6`.
        let e = parse_rule("inet6 from 2001:db8:300::/48 table 100", 1).unwrap_err();
        assert!(
            e.to_string().contains("skips the word after `inet6`"),
            "{e}"
        );
        assert!(parse_route("inet6 2001:db8::/48 dev eth0", 1).is_err());
        let route = parse_route("inet6 to 2001:db8::/48 dev eth0", 1).unwrap();
        assert!(route.ipv6 && route.dst.len == 48);
        assert!(r.ipv6 && r.no_track);
        assert_eq!(r.protocol, None);
        assert!(parse_rule("from 10.0.0.0/8", 1).is_err());
        assert!(parse_rule("table 1 nop", 1).is_err());
        assert!(parse_rule("goto 5 preference 9", 1).is_err());
        assert!(matches!(
            parse_rule("uidrange 1-2 table 3", 1),
            Err(LineError::Unsupported(_))
        ));
    }

    #[test]
    fn any_word_soup_is_an_answer_not_a_panic() {
        let vocabulary = [
            "inet",
            "inet6",
            "src",
            "via",
            "gw",
            "from",
            "to",
            "dev",
            "oif",
            "iif",
            "table",
            "lookup",
            "scope",
            "metric",
            "preference",
            "priority",
            "protocol",
            "onlink",
            "or",
            "nexthop",
            "weight",
            "no_track",
            "blackhole",
            "goto",
            "nop",
            "not",
            "fwmark",
            "tos",
            "type",
            "default",
            "all",
            "10.0.0.0/8",
            "10.0.0.1",
            "2001:db8::/32",
            "fe80::1",
            "0",
            "256",
            "0x10/0xff",
            "eth0",
            "mtu",
            "sup_pl",
            "add",
            "append",
            "x/y",
            "",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = (state % 9) as usize;
            let mut words = Vec::new();
            let mut k = state;
            for _ in 0..n {
                words.push(vocabulary[(k % vocabulary.len() as u64) as usize]);
                k /= vocabulary.len() as u64;
                if k == 0 {
                    k = state.rotate_left(17) | 1;
                }
            }
            let text = words.join(" ");
            let _ = parse_route(&text, 1);
            let _ = parse_rule(&text, 1);
        }
    }
}
