//! rtnetlink routes and policy rules: RTM_NEWROUTE/DELROUTE with `struct rtmsg`
//! and RTA_* attributes, RTM_NEWRULE/DELRULE with `struct fib_rule_hdr` and FRA_*
//! attributes, per `/usr/include/linux/rtnetlink.h` and `fib_rules.h`.
//!
//! [`RouteRepr`] and [`RuleRepr`] are validated representations with `emit`
//! (a request) and `parse` (a reply, event or dump entry). Nothing here panics
//! on any input: every read is bounds-checked and reported as a [`DecodeError`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attr::{length_u16, next_record, Attrs, RecordShape};
use super::msg::{
    DecodeError, EncodeError, MessageBuilder, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use super::rtnl::{IfName, IFNAME_MAX};
use crate::limits::MAX_ROUTE_NEXTHOPS;

/// `RTM_NEWROUTE`.
pub const RTM_NEWROUTE: u16 = 24;
/// `RTM_DELROUTE`.
pub const RTM_DELROUTE: u16 = 25;
/// `RTM_GETROUTE`.
pub const RTM_GETROUTE: u16 = 26;
/// `RTM_NEWRULE`.
pub const RTM_NEWRULE: u16 = 32;
/// `RTM_DELRULE`.
pub const RTM_DELRULE: u16 = 33;
/// `RTM_GETRULE`.
pub const RTM_GETRULE: u16 = 34;
/// `NLM_F_REPLACE`.
pub const NLM_F_REPLACE: u16 = 0x100;
/// `NLM_F_APPEND`.
pub const NLM_F_APPEND: u16 = 0x800;
/// `RTNLGRP_IPV4_ROUTE` (multicast group number, for `add_membership`).
pub const RTNLGRP_IPV4_ROUTE: u32 = 7;
/// `RTNLGRP_IPV4_RULE`.
pub const RTNLGRP_IPV4_RULE: u32 = 8;
/// `RTNLGRP_IPV6_ROUTE`.
pub const RTNLGRP_IPV6_ROUTE: u32 = 11;
/// `RTNLGRP_IPV6_RULE`.
pub const RTNLGRP_IPV6_RULE: u32 = 19;
/// `RTPROT_KEEPALIVED`: the protocol keepalived (and lvsd) marks its routes with.
pub const RTPROT_KEEPALIVED: u8 = 18;
/// `RTPROT_BOOT`.
pub const RTPROT_BOOT: u8 = 3;
/// `RT_TABLE_UNSPEC`.
pub const RT_TABLE_UNSPEC: u8 = 0;
/// `RT_TABLE_MAIN`.
pub const RT_TABLE_MAIN: u32 = 254;
/// `RT_SCOPE_UNIVERSE`.
pub const RT_SCOPE_UNIVERSE: u8 = 0;
/// `RT_SCOPE_NOWHERE`: "any scope" in a delete request.
pub const RT_SCOPE_NOWHERE: u8 = 255;
/// `RTN_UNICAST`.
pub const RTN_UNICAST: u8 = 1;
/// `RTNH_F_ONLINK` (in `rtm_flags` and `rtnh_flags`).
pub const RTNH_F_ONLINK: u8 = 4;
/// `FIB_RULE_INVERT` (`not`).
pub const FIB_RULE_INVERT: u32 = 2;
/// `FR_ACT_TO_TBL`.
pub const FR_ACT_TO_TBL: u8 = 1;
/// `FR_ACT_GOTO`.
pub const FR_ACT_GOTO: u8 = 2;
/// `FR_ACT_NOP`.
pub const FR_ACT_NOP: u8 = 3;
/// `FR_ACT_BLACKHOLE`.
pub const FR_ACT_BLACKHOLE: u8 = 6;
/// `FR_ACT_UNREACHABLE`.
pub const FR_ACT_UNREACHABLE: u8 = 7;
/// `FR_ACT_PROHIBIT`.
pub const FR_ACT_PROHIBIT: u8 = 8;
/// Length of `struct rtmsg`.
pub const RTMSG_LEN: usize = 12;
/// Length of `struct fib_rule_hdr`.
pub const FIB_RULE_HDR_LEN: usize = 12;
/// Length of `struct rtnexthop`.
pub const RTNEXTHOP_LEN: usize = 8;

const RTA_DST: u16 = 1;
const RTA_SRC: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;

const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_GOTO: u16 = 4;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FRA_PROTOCOL: u16 = 21;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

fn family(v6: bool) -> u8 {
    if v6 {
        AF_INET6
    } else {
        AF_INET
    }
}

/// The address bytes of `a` in a fixed buffer: (bytes, length).
fn addr_bytes(a: &IpAddr) -> ([u8; 16], usize) {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v) => {
            b[..4].copy_from_slice(&v.octets());
            (b, 4)
        }
        IpAddr::V6(v) => {
            b.copy_from_slice(&v.octets());
            (b, 16)
        }
    }
}

fn put_addr(b: &mut MessageBuilder<'_>, kind: u16, a: &IpAddr) -> Result<(), EncodeError> {
    let (bytes, n) = addr_bytes(a);
    b.attr(kind, &bytes[..n])
}

fn read_addr(v6: bool, payload: &[u8], what: &'static str) -> Result<IpAddr, DecodeError> {
    let bad = || DecodeError::BadAttribute {
        what,
        len: payload.len(),
    };
    if v6 {
        <[u8; 16]>::try_from(payload)
            .map(|b| IpAddr::V6(Ipv6Addr::from(b)))
            .map_err(|_| bad())
    } else {
        <[u8; 4]>::try_from(payload)
            .map(|b| IpAddr::V4(Ipv4Addr::from(b)))
            .map_err(|_| bad())
    }
}

fn unspecified(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

fn header<const N: usize>(payload: &[u8], what: &'static str) -> Result<[u8; N], DecodeError> {
    payload
        .get(..N)
        .and_then(|s| s.try_into().ok())
        .ok_or(DecodeError::Truncated {
            what,
            need: N,
            have: payload.len(),
        })
}

fn v6_of(family: u8, what: &'static str) -> Result<bool, DecodeError> {
    match family {
        AF_INET => Ok(false),
        AF_INET6 => Ok(true),
        _ => Err(DecodeError::BadValue(what)),
    }
}

/// One hop of a multipath route (`struct rtnexthop` + RTA_GATEWAY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHopRepr {
    /// Interface index (0: the kernel finds it from the gateway).
    pub ifindex: u32,
    /// Gateway.
    pub gateway: Option<IpAddr>,
    /// `weight - 1`, as the kernel stores it in `rtnh_hops`.
    pub hops: u8,
    /// RTNH_F_* flags (RTNH_F_ONLINK).
    pub flags: u8,
}

/// A route: `struct rtmsg` and the attributes lvsd sends or reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRepr {
    /// IPv6 (AF_INET6) or IPv4.
    pub ipv6: bool,
    /// Destination (the unspecified address for a default route).
    pub dst: IpAddr,
    /// Destination prefix length.
    pub dst_len: u8,
    /// Source prefix (`from`, IPv6 only).
    pub src: Option<(IpAddr, u8)>,
    /// TOS.
    pub tos: u8,
    /// Routing table (RTA_TABLE above 255).
    pub table: u32,
    /// RTPROT_*.
    pub protocol: u8,
    /// RT_SCOPE_*.
    pub scope: u8,
    /// RTN_*.
    pub kind: u8,
    /// RTM_F_* / RTNH_F_* flags.
    pub flags: u32,
    /// Output interface.
    pub oif: Option<u32>,
    /// Gateway.
    pub gateway: Option<IpAddr>,
    /// Metric (RTA_PRIORITY).
    pub metric: Option<u32>,
    /// Preferred source (RTA_PREFSRC).
    pub prefsrc: Option<IpAddr>,
    /// Multipath hops (RTA_MULTIPATH).
    pub nexthops: heapless::Vec<NextHopRepr, MAX_ROUTE_NEXTHOPS>,
}

impl RouteRepr {
    /// A unicast route to `dst/dst_len` in the main table, marked RTPROT_KEEPALIVED.
    pub fn new(dst: IpAddr, dst_len: u8) -> RouteRepr {
        RouteRepr {
            ipv6: dst.is_ipv6(),
            dst,
            dst_len,
            src: None,
            tos: 0,
            table: RT_TABLE_MAIN,
            protocol: RTPROT_KEEPALIVED,
            scope: RT_SCOPE_UNIVERSE,
            kind: RTN_UNICAST,
            flags: 0,
            oif: None,
            gateway: None,
            metric: None,
            prefsrc: None,
            nexthops: heapless::Vec::new(),
        }
    }

    fn emit(&self, b: &mut MessageBuilder<'_>) -> Result<(), EncodeError> {
        let (table, big) = match u8::try_from(self.table) {
            Ok(t) => (t, false),
            Err(_) => (RT_TABLE_UNSPEC, true),
        };
        let mut h = [0u8; RTMSG_LEN];
        h[0] = family(self.ipv6);
        h[1] = self.dst_len;
        h[2] = self.src.map_or(0, |s| s.1);
        h[3] = self.tos;
        h[4] = table;
        h[5] = self.protocol;
        h[6] = self.scope;
        h[7] = self.kind;
        h[8..12].copy_from_slice(&self.flags.to_ne_bytes());
        b.put_header(&h)?;
        if big {
            b.attr_u32(RTA_TABLE, self.table)?;
        }
        if self.dst_len > 0 || !self.dst.is_unspecified() {
            put_addr(b, RTA_DST, &self.dst)?;
        }
        if let Some((src, _)) = &self.src {
            put_addr(b, RTA_SRC, src)?;
        }
        if let Some(p) = &self.prefsrc {
            put_addr(b, RTA_PREFSRC, p)?;
        }
        if let Some(g) = &self.gateway {
            put_addr(b, RTA_GATEWAY, g)?;
        }
        if let Some(oif) = self.oif {
            b.attr_u32(RTA_OIF, oif)?;
        }
        if let Some(m) = self.metric {
            b.attr_u32(RTA_PRIORITY, m)?;
        }
        if !self.nexthops.is_empty() {
            // RTA_MULTIPATH: a run of rtnexthop, each followed by its own attributes.
            let mut body = [0u8; MAX_ROUTE_NEXTHOPS * (RTNEXTHOP_LEN + 20)];
            let (mut at, have) = (0, body.len());
            for nh in &self.nexthops {
                let (gw, gw_len) = nh.gateway.as_ref().map_or(([0; 16], 0), addr_bytes);
                let attr_len = if gw_len > 0 { 4 + gw_len } else { 0 };
                let len = RTNEXTHOP_LEN + attr_len;
                let out = body.get_mut(at..at + len).ok_or(EncodeError::BufferFull {
                    need: at + len,
                    have,
                })?;
                out[0..2].copy_from_slice(&(len as u16).to_ne_bytes());
                out[2] = nh.flags;
                out[3] = nh.hops;
                out[4..8].copy_from_slice(&nh.ifindex.to_ne_bytes());
                if gw_len > 0 {
                    out[8..10].copy_from_slice(&(attr_len as u16).to_ne_bytes());
                    out[10..12].copy_from_slice(&RTA_GATEWAY.to_ne_bytes());
                    out[12..12 + gw_len].copy_from_slice(&gw[..gw_len]);
                }
                at += len;
            }
            b.attr(RTA_MULTIPATH, &body[..at])?;
        }
        Ok(())
    }

    /// Decodes the payload of an RTM_NEWROUTE / RTM_DELROUTE message.
    pub fn parse(payload: &[u8]) -> Result<RouteRepr, DecodeError> {
        let h: [u8; RTMSG_LEN] = header(payload, "rtmsg")?;
        let v6 = v6_of(h[0], "rtm_family")?;
        let mut r = RouteRepr::new(unspecified(v6), h[1]);
        r.tos = h[3];
        r.table = u32::from(h[4]);
        r.protocol = h[5];
        r.scope = h[6];
        r.kind = h[7];
        r.flags = u32::from_ne_bytes([h[8], h[9], h[10], h[11]]);
        let src_len = h[2];
        for a in Attrs::new(payload.get(RTMSG_LEN..).unwrap_or(&[])) {
            let a = a?;
            match a.kind {
                RTA_DST => r.dst = read_addr(v6, a.payload, "RTA_DST")?,
                RTA_SRC => r.src = Some((read_addr(v6, a.payload, "RTA_SRC")?, src_len)),
                RTA_PREFSRC => r.prefsrc = Some(read_addr(v6, a.payload, "RTA_PREFSRC")?),
                RTA_GATEWAY => r.gateway = Some(read_addr(v6, a.payload, "RTA_GATEWAY")?),
                RTA_OIF => r.oif = Some(a.u32()?),
                RTA_PRIORITY => r.metric = Some(a.u32()?),
                RTA_TABLE => r.table = a.u32()?,
                RTA_MULTIPATH => r.nexthops = parse_nexthops(v6, a.payload)?,
                _ => {}
            }
        }
        Ok(r)
    }
}

/// `struct rtnexthop`: a u16 length, flags, hops and ifindex, then its attributes.
const RTNEXTHOP: RecordShape = RecordShape {
    header_len: RTNEXTHOP_LEN,
    length: length_u16,
    header: "rtnexthop",
    record: "rtnexthop",
};

fn parse_nexthops(
    v6: bool,
    mut rest: &[u8],
) -> Result<heapless::Vec<NextHopRepr, MAX_ROUTE_NEXTHOPS>, DecodeError> {
    let mut out = heapless::Vec::new();
    while let Some(record) = next_record(&mut rest, &RTNEXTHOP) {
        let record = record?;
        let h: [u8; RTNEXTHOP_LEN] = header(record.head, "rtnexthop")?;
        let mut nh = NextHopRepr {
            ifindex: u32::from_ne_bytes([h[4], h[5], h[6], h[7]]),
            gateway: None,
            hops: h[3],
            flags: h[2],
        };
        for a in Attrs::new(record.payload) {
            let a = a?;
            if a.kind == RTA_GATEWAY {
                nh.gateway = Some(read_addr(v6, a.payload, "RTA_GATEWAY")?);
            }
        }
        out.push(nh)
            .map_err(|_| DecodeError::BadValue("RTA_MULTIPATH: too many hops"))?;
    }
    Ok(out)
}

/// How an RTM_NEWROUTE treats a route to the same destination (keepalived's
/// `add` / `prepend` / `append`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteCreate {
    /// NLM_F_CREATE: the kernel's default, keepalived's traditional behaviour.
    Prepend,
    /// NLM_F_CREATE | NLM_F_EXCL: fail when it exists (`ip route add`).
    Exclusive,
    /// NLM_F_CREATE | NLM_F_APPEND.
    Append,
}

/// Encodes RTM_NEWROUTE for `r`; returns the length.
pub fn encode_new_route(
    buf: &mut [u8],
    seq: u32,
    r: &RouteRepr,
    create: RouteCreate,
) -> Result<usize, EncodeError> {
    let extra = match create {
        RouteCreate::Prepend => 0,
        RouteCreate::Exclusive => NLM_F_EXCL,
        RouteCreate::Append => NLM_F_APPEND,
    };
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | extra;
    let mut b = MessageBuilder::new(buf, RTM_NEWROUTE, flags, seq)?;
    r.emit(&mut b)?;
    Ok(b.finish())
}

/// Encodes RTM_DELROUTE for `r`. As keepalived's delete: scope NOWHERE (any)
/// unless the route has its own scope, which the caller leaves in `r`.
pub fn encode_del_route(buf: &mut [u8], seq: u32, r: &RouteRepr) -> Result<usize, EncodeError> {
    let mut b = MessageBuilder::new(buf, RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq)?;
    r.emit(&mut b)?;
    Ok(b.finish())
}

/// Encodes an RTM_GETROUTE dump of one family.
pub fn encode_get_routes(buf: &mut [u8], seq: u32, v6: bool) -> Result<usize, EncodeError> {
    let mut b = MessageBuilder::new(buf, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq)?;
    let mut h = [0u8; RTMSG_LEN];
    h[0] = family(v6);
    b.put_header(&h)?;
    Ok(b.finish())
}

/// What a rule does when it matches (`fib_rule_hdr.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// `table N` / `lookup N`.
    Table(u32),
    /// `goto N`: jump to the rule with preference N.
    Goto(u32),
    /// `nop`.
    Nop,
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
}

/// A policy rule: `struct fib_rule_hdr` and FRA_* attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRepr {
    /// IPv6 or IPv4.
    pub ipv6: bool,
    /// `from` prefix.
    pub src: Option<(IpAddr, u8)>,
    /// `to` prefix.
    pub dst: Option<(IpAddr, u8)>,
    /// TOS.
    pub tos: u8,
    /// The action.
    pub action: RuleAction,
    /// FIB_RULE_* flags (FIB_RULE_INVERT).
    pub flags: u32,
    /// Preference.
    pub priority: Option<u32>,
    /// fwmark.
    pub fwmark: Option<u32>,
    /// fwmark mask.
    pub fwmask: Option<u32>,
    /// Incoming interface name.
    pub iifname: Option<IfName>,
    /// Outgoing interface name.
    pub oifname: Option<IfName>,
    /// `suppress_prefixlength`.
    pub suppress_prefixlen: Option<u32>,
    /// FRA_PROTOCOL (RTPROT_KEEPALIVED for tracked rules).
    pub protocol: Option<u8>,
}

impl RuleRepr {
    /// A rule with only an action.
    pub fn new(ipv6: bool, action: RuleAction) -> RuleRepr {
        RuleRepr {
            ipv6,
            src: None,
            dst: None,
            tos: 0,
            action,
            flags: 0,
            priority: None,
            fwmark: None,
            fwmask: None,
            iifname: None,
            oifname: None,
            suppress_prefixlen: None,
            protocol: None,
        }
    }

    fn emit(&self, b: &mut MessageBuilder<'_>) -> Result<(), EncodeError> {
        let mut h = [0u8; FIB_RULE_HDR_LEN];
        h[0] = family(self.ipv6);
        h[1] = self.dst.map_or(0, |d| d.1);
        h[2] = self.src.map_or(0, |s| s.1);
        h[3] = self.tos;
        let (action, table) = match self.action {
            RuleAction::Table(t) => (FR_ACT_TO_TBL, Some(t)),
            RuleAction::Goto(_) => (FR_ACT_GOTO, None),
            RuleAction::Nop => (FR_ACT_NOP, None),
            RuleAction::Blackhole => (FR_ACT_BLACKHOLE, None),
            RuleAction::Unreachable => (FR_ACT_UNREACHABLE, None),
            RuleAction::Prohibit => (FR_ACT_PROHIBIT, None),
        };
        let big = table.filter(|&t| t > 255);
        h[4] = match (table, big) {
            (Some(t), None) => t as u8,
            _ => RT_TABLE_UNSPEC,
        };
        h[7] = action;
        h[8..12].copy_from_slice(&self.flags.to_ne_bytes());
        b.put_header(&h)?;
        if let Some(t) = big {
            b.attr_u32(FRA_TABLE, t)?;
        }
        if let Some((a, _)) = &self.src {
            put_addr(b, FRA_SRC, a)?;
        }
        if let Some((a, _)) = &self.dst {
            put_addr(b, FRA_DST, a)?;
        }
        if let Some(p) = self.priority {
            b.attr_u32(FRA_PRIORITY, p)?;
        }
        if let Some(m) = self.fwmark {
            b.attr_u32(FRA_FWMARK, m)?;
        }
        if let Some(m) = self.fwmask {
            b.attr_u32(FRA_FWMASK, m)?;
        }
        if let Some(n) = self.suppress_prefixlen {
            b.attr_u32(FRA_SUPPRESS_PREFIXLEN, n)?;
        }
        if let Some(i) = &self.iifname {
            b.attr_str(FRA_IIFNAME, i)?;
        }
        if let Some(o) = &self.oifname {
            b.attr_str(FRA_OIFNAME, o)?;
        }
        if let Some(p) = self.protocol {
            b.attr_u8(FRA_PROTOCOL, p)?;
        }
        if let RuleAction::Goto(target) = self.action {
            b.attr_u32(FRA_GOTO, target)?;
        }
        Ok(())
    }

    /// Decodes the payload of an RTM_NEWRULE / RTM_DELRULE message.
    pub fn parse(payload: &[u8]) -> Result<RuleRepr, DecodeError> {
        let h: [u8; FIB_RULE_HDR_LEN] = header(payload, "fib_rule_hdr")?;
        let v6 = v6_of(h[0], "fib_rule_hdr family")?;
        let (dst_len, src_len) = (h[1], h[2]);
        let mut table = u32::from(h[4]);
        let mut goto = None;
        let mut r = RuleRepr::new(v6, RuleAction::Nop);
        r.tos = h[3];
        r.flags = u32::from_ne_bytes([h[8], h[9], h[10], h[11]]);
        let name = |s: &str, what: &'static str| -> Result<IfName, DecodeError> {
            let mut n = IfName::new();
            if s.len() > IFNAME_MAX {
                return Err(DecodeError::BadValue(what));
            }
            n.push_str(s).map_err(|_| DecodeError::BadValue(what))?;
            Ok(n)
        };
        for a in Attrs::new(payload.get(FIB_RULE_HDR_LEN..).unwrap_or(&[])) {
            let a = a?;
            match a.kind {
                FRA_SRC => r.src = Some((read_addr(v6, a.payload, "FRA_SRC")?, src_len)),
                FRA_DST => r.dst = Some((read_addr(v6, a.payload, "FRA_DST")?, dst_len)),
                FRA_PRIORITY => r.priority = Some(a.u32()?),
                FRA_FWMARK => r.fwmark = Some(a.u32()?),
                FRA_FWMASK => r.fwmask = Some(a.u32()?),
                FRA_TABLE => table = a.u32()?,
                FRA_GOTO => goto = Some(a.u32()?),
                FRA_SUPPRESS_PREFIXLEN => r.suppress_prefixlen = Some(a.u32()?),
                FRA_IIFNAME => r.iifname = Some(name(a.str()?, "FRA_IIFNAME")?),
                FRA_OIFNAME => r.oifname = Some(name(a.str()?, "FRA_OIFNAME")?),
                FRA_PROTOCOL => r.protocol = Some(a.u8()?),
                _ => {}
            }
        }
        r.action = match h[7] {
            FR_ACT_TO_TBL => RuleAction::Table(table),
            FR_ACT_GOTO => RuleAction::Goto(goto.ok_or(DecodeError::Missing("FRA_GOTO"))?),
            FR_ACT_NOP => RuleAction::Nop,
            FR_ACT_BLACKHOLE => RuleAction::Blackhole,
            FR_ACT_UNREACHABLE => RuleAction::Unreachable,
            FR_ACT_PROHIBIT => RuleAction::Prohibit,
            _ => return Err(DecodeError::BadValue("fib_rule_hdr action")),
        };
        Ok(r)
    }
}

/// Encodes RTM_NEWRULE (create, fail if it exists) for `r`.
pub fn encode_new_rule(buf: &mut [u8], seq: u32, r: &RuleRepr) -> Result<usize, EncodeError> {
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    let mut b = MessageBuilder::new(buf, RTM_NEWRULE, flags, seq)?;
    r.emit(&mut b)?;
    Ok(b.finish())
}

/// Encodes RTM_DELRULE for `r`.
pub fn encode_del_rule(buf: &mut [u8], seq: u32, r: &RuleRepr) -> Result<usize, EncodeError> {
    let mut b = MessageBuilder::new(buf, RTM_DELRULE, NLM_F_REQUEST | NLM_F_ACK, seq)?;
    r.emit(&mut b)?;
    Ok(b.finish())
}

/// Encodes an RTM_GETRULE dump of one family.
pub fn encode_get_rules(buf: &mut [u8], seq: u32, v6: bool) -> Result<usize, EncodeError> {
    let mut b = MessageBuilder::new(buf, RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, seq)?;
    let mut h = [0u8; FIB_RULE_HDR_LEN];
    h[0] = family(v6);
    b.put_header(&h)?;
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::netlink::msg::{Header, NLMSG_HDRLEN};

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn new_route_golden_bytes() {
        // `ip route add 192.168.110.0/24 via 192.168.200.254 dev <3> proto 18`,
        // laid out from rtnetlink.h: rtmsg, then RTA_DST, RTA_GATEWAY, RTA_OIF.
        let mut buf = [0u8; 256];
        let mut r = RouteRepr::new(v4(192, 168, 110, 0), 24);
        r.gateway = Some(v4(192, 168, 200, 254));
        r.oif = Some(3);
        let n = encode_new_route(&mut buf, 7, &r, RouteCreate::Prepend).unwrap();
        let h = Header::parse(&buf).unwrap();
        assert_eq!(
            (h.len as usize, h.kind, h.flags, h.seq),
            (n, RTM_NEWROUTE, 0x405, 7)
        );
        #[rustfmt::skip]
        let want = [
            2, 24, 0, 0, 254, 18, 0, 1, 0, 0, 0, 0, // rtmsg: inet /24 main keepalived universe unicast
            8, 0, 1, 0, 192, 168, 110, 0,           // RTA_DST
            8, 0, 5, 0, 192, 168, 200, 254,         // RTA_GATEWAY
            8, 0, 4, 0, 3, 0, 0, 0,                 // RTA_OIF
        ];
        assert_eq!(&buf[NLMSG_HDRLEN..n], &want);
        assert_eq!(RouteRepr::parse(&buf[NLMSG_HDRLEN..n]).unwrap(), r);
        let n = encode_new_route(&mut buf, 7, &r, RouteCreate::Exclusive).unwrap();
        assert_eq!(Header::parse(&buf[..n]).unwrap().flags, 0x605);
    }

    #[test]
    fn big_table_multipath_and_v6_round_trip() {
        let mut buf = [0u8; 512];
        let mut r = RouteRepr::new(v4(0, 0, 0, 0), 0);
        r.table = 1000;
        r.kind = 6; // blackhole
        r.metric = Some(5);
        r.prefsrc = Some(v4(192, 168, 100, 1));
        r.nexthops
            .push(NextHopRepr {
                ifindex: 2,
                gateway: Some(v4(10, 0, 0, 1)),
                hops: 0,
                flags: 0,
            })
            .unwrap();
        r.nexthops
            .push(NextHopRepr {
                ifindex: 0,
                gateway: Some(v4(10, 0, 0, 2)),
                hops: 2,
                flags: RTNH_F_ONLINK,
            })
            .unwrap();
        let n = encode_new_route(&mut buf, 1, &r, RouteCreate::Append).unwrap();
        assert_eq!(buf[NLMSG_HDRLEN + 4], RT_TABLE_UNSPEC);
        assert_eq!(RouteRepr::parse(&buf[NLMSG_HDRLEN..n]).unwrap(), r);
        for cut in NLMSG_HDRLEN..n {
            let _ = RouteRepr::parse(&buf[NLMSG_HDRLEN..cut]);
        }
        let x: IpAddr = "2001:db8::".parse().unwrap();
        let mut r6 = RouteRepr::new(x, 64);
        r6.src = Some(("2001:db8:1::".parse().unwrap(), 48));
        r6.oif = Some(4);
        let n = encode_del_route(&mut buf, 2, &r6).unwrap();
        assert_eq!(RouteRepr::parse(&buf[NLMSG_HDRLEN..n]).unwrap(), r6);
        assert_eq!(buf[NLMSG_HDRLEN], AF_INET6);
    }

    #[test]
    fn rule_golden_bytes() {
        // `ip rule add from 192.168.100.0/24 table 1 pref 16384 protocol 18`.
        let mut buf = [0u8; 256];
        let mut r = RuleRepr::new(false, RuleAction::Table(1));
        r.src = Some((v4(192, 168, 100, 0), 24));
        r.priority = Some(16384);
        r.protocol = Some(RTPROT_KEEPALIVED);
        let n = encode_new_rule(&mut buf, 3, &r).unwrap();
        let h = Header::parse(&buf).unwrap();
        assert_eq!((h.kind, h.flags), (RTM_NEWRULE, 0x605));
        #[rustfmt::skip]
        let want = [
            2, 0, 24, 0, 1, 0, 0, 1, 0, 0, 0, 0,   // fib_rule_hdr: inet src/24 table 1 FR_ACT_TO_TBL
            8, 0, 2, 0, 192, 168, 100, 0,          // FRA_SRC
            8, 0, 6, 0, 0, 64, 0, 0,               // FRA_PRIORITY 16384
            5, 0, 21, 0, 18, 0, 0, 0,              // FRA_PROTOCOL
        ];
        assert_eq!(&buf[NLMSG_HDRLEN..n], &want);
        assert_eq!(RuleRepr::parse(&buf[NLMSG_HDRLEN..n]).unwrap(), r);
    }

    #[test]
    fn rule_options_round_trip() {
        let mut buf = [0u8; 256];
        let mut r = RuleRepr::new(true, RuleAction::Goto(200));
        r.dst = Some(("2001:db8::".parse().unwrap(), 32));
        r.flags = FIB_RULE_INVERT;
        r.priority = Some(100);
        r.fwmark = Some(0x10);
        r.fwmask = Some(0xff);
        r.iifname = Some(IfName::try_from("eth0").unwrap());
        r.oifname = Some(IfName::try_from("veth-x").unwrap());
        let n = encode_del_rule(&mut buf, 4, &r).unwrap();
        assert_eq!(RuleRepr::parse(&buf[NLMSG_HDRLEN..n]).unwrap(), r);
        for cut in NLMSG_HDRLEN..n {
            let _ = RuleRepr::parse(&buf[NLMSG_HDRLEN..cut]);
        }
        let mut t = RuleRepr::new(false, RuleAction::Table(5000));
        t.priority = Some(1);
        let n = encode_new_rule(&mut buf, 4, &t).unwrap();
        assert_eq!(buf[NLMSG_HDRLEN + 4], 0);
        assert_eq!(RuleRepr::parse(&buf[NLMSG_HDRLEN..n]).unwrap(), t);
    }

    #[test]
    fn malformed_replies_are_errors() {
        // Too short for the fixed header.
        assert!(RouteRepr::parse(&[2, 24, 0]).is_err());
        assert!(RuleRepr::parse(&[2; 5]).is_err());
        // Unknown family.
        assert!(matches!(
            RouteRepr::parse(&[7, 0, 0, 0, 254, 18, 0, 1, 0, 0, 0, 0]),
            Err(DecodeError::BadValue(_))
        ));
        // A 3-byte IPv4 RTA_DST.
        let bad = [
            2, 24, 0, 0, 254, 18, 0, 1, 0, 0, 0, 0, 7, 0, 1, 0, 192, 168, 1, 0,
        ];
        assert!(matches!(
            RouteRepr::parse(&bad),
            Err(DecodeError::BadAttribute { .. })
        ));
        // An attribute longer than the message.
        let bad = [2, 24, 0, 0, 254, 18, 0, 1, 0, 0, 0, 0, 40, 0, 1, 0, 1, 2];
        assert!(RouteRepr::parse(&bad).is_err());
        // A multipath hop whose length is below its header.
        let bad = [
            2, 0, 0, 0, 254, 18, 0, 1, 0, 0, 0, 0, 12, 0, 9, 0, 4, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(RouteRepr::parse(&bad).is_err());
        // A goto rule without FRA_GOTO, and an unknown action.
        assert!(RuleRepr::parse(&[2, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]).is_err());
        assert!(RuleRepr::parse(&[2, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0, 0]).is_err());
    }
}
