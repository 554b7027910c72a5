//! rtnetlink: RTM_NEWADDR/DELADDR/GETADDR requests with `struct ifaddrmsg`, and
//! RTM_NEWLINK/DELLINK and RTM_NEWADDR/DELADDR decoding for link and address events,
//! and the link requests of `use_vmac` (a private-mode macvlan with the VRRP virtual
//! MAC, its IPv4 devconf and IPv6 address generation mode), per
//! `/usr/include/linux/rtnetlink.h`, `if_addr.h`, `if_link.h` and `ip.h`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attr::Attrs;
use super::msg::{
    DecodeError, EncodeError, MessageBuilder, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use super::route::{RouteRepr, RuleRepr, RTM_DELROUTE, RTM_DELRULE, RTPROT_KEEPALIVED};

/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`.
pub const RTM_DELLINK: u16 = 17;
/// `RTM_GETLINK`.
pub const RTM_GETLINK: u16 = 18;
/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`.
pub const RTM_DELADDR: u16 = 21;
/// `RTM_GETADDR`.
pub const RTM_GETADDR: u16 = 22;
/// `RTMGRP_LINK` multicast group bit (legacy bind mask).
pub const RTMGRP_LINK: u32 = 0x1;
/// `RTMGRP_IPV4_IFADDR` multicast group bit.
pub const RTMGRP_IPV4_IFADDR: u32 = 0x10;
/// `RTMGRP_IPV6_IFADDR` multicast group bit.
pub const RTMGRP_IPV6_IFADDR: u32 = 0x100;
/// `IFA_ADDRESS`.
pub const IFA_ADDRESS: u16 = 1;
/// `IFA_LOCAL`.
pub const IFA_LOCAL: u16 = 2;
/// `IFA_LABEL`.
pub const IFA_LABEL: u16 = 3;
/// `IFA_BROADCAST`.
pub const IFA_BROADCAST: u16 = 4;
/// `IFA_CACHEINFO` (`struct ifa_cacheinfo`: preferred, valid, cstamp, tstamp).
pub const IFA_CACHEINFO: u16 = 6;
/// Length of `struct ifa_cacheinfo`.
pub const IFA_CACHEINFO_LEN: usize = 16;
/// A lifetime of "forever" in `struct ifa_cacheinfo` (INFINITY_LIFE_TIME).
pub const INFINITY_LIFE_TIME: u32 = u32::MAX;
/// `IFA_FLAGS` (u32, supersedes ifa_flags).
pub const IFA_FLAGS: u16 = 8;
/// `IFLA_ADDRESS` (the link-layer address).
pub const IFLA_ADDRESS: u16 = 1;
/// `IFLA_IFNAME`.
pub const IFLA_IFNAME: u16 = 3;
/// `IFLA_LINK` (the lower device of a macvlan, vlan, ...).
pub const IFLA_LINK: u16 = 5;
/// `IFLA_LINKINFO` (nested: IFLA_INFO_KIND, IFLA_INFO_DATA).
pub const IFLA_LINKINFO: u16 = 18;
/// `IFLA_AF_SPEC` (nested per address family).
pub const IFLA_AF_SPEC: u16 = 26;
/// `IFLA_INFO_KIND` (a string: "macvlan", "veth", ...).
pub const IFLA_INFO_KIND: u16 = 1;
/// `IFLA_INFO_DATA` (nested, kind-specific).
pub const IFLA_INFO_DATA: u16 = 2;
/// `IFLA_MACVLAN_MODE` (u32) inside IFLA_INFO_DATA of a macvlan.
pub const IFLA_MACVLAN_MODE: u16 = 1;
/// `MACVLAN_MODE_PRIVATE`: no traffic between macvlans of the same lower device.
pub const MACVLAN_MODE_PRIVATE: u32 = 1;
/// `IFLA_INET_CONF` inside IFLA_AF_SPEC/AF_INET: the IPv4 devconf values.
pub const IFLA_INET_CONF: u16 = 1;
/// `IFLA_INET6_ADDR_GEN_MODE` inside IFLA_AF_SPEC/AF_INET6 (u8).
pub const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
/// `IN6_ADDR_GEN_MODE_NONE`: no automatic link-local address (RFC 5798 7.4 wants
/// none derived from the virtual MAC).
pub const IN6_ADDR_GEN_MODE_NONE: u8 = 1;
/// `IPV4_DEVCONF_RP_FILTER` (net.ipv4.conf.IF.rp_filter).
pub const DEVCONF_RP_FILTER: u16 = 8;
/// `IPV4_DEVCONF_ARPFILTER` (arp_filter).
pub const DEVCONF_ARP_FILTER: u16 = 13;
/// `IPV4_DEVCONF_ARP_IGNORE` (arp_ignore).
pub const DEVCONF_ARP_IGNORE: u16 = 19;
/// `IPV4_DEVCONF_PROMOTE_SECONDARIES` (promote_secondaries).
pub const DEVCONF_PROMOTE_SECONDARIES: u16 = 20;
/// `IPV4_DEVCONF_ACCEPT_LOCAL` (accept_local).
pub const DEVCONF_ACCEPT_LOCAL: u16 = 23;
/// Most devconf values one request sets.
pub const DEVCONF_MAX_SET: usize = crate::limits::DEVCONF_PER_REQUEST;
/// `IFLA_MTU`.
pub const IFLA_MTU: u16 = 4;
/// `IFLA_OPERSTATE`.
pub const IFLA_OPERSTATE: u16 = 16;
/// `IFF_UP`.
pub const IFF_UP: u32 = 0x1;
/// `IFF_RUNNING`.
pub const IFF_RUNNING: u32 = 0x40;
/// `IFF_LOWER_UP`.
pub const IFF_LOWER_UP: u32 = 0x10000;
/// `IFA_F_NODAD`: skip duplicate address detection (IPv6).
pub const IFA_F_NODAD: u8 = 0x02;
/// `RT_SCOPE_UNIVERSE`.
pub const RT_SCOPE_UNIVERSE: u8 = 0;
/// `RT_SCOPE_HOST`.
pub const RT_SCOPE_HOST: u8 = 254;
/// Length of `struct ifaddrmsg`.
pub const IFADDRMSG_LEN: usize = 8;
/// Length of `struct ifinfomsg`.
pub const IFINFOMSG_LEN: usize = 16;
/// Longest interface name (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// An interface name.
pub type IfName = heapless::String<IFNAME_MAX>;

/// An address on an interface (`struct ifaddrmsg` + IFA_* attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface index.
    pub ifindex: u32,
    /// The address (IFA_LOCAL for IPv4 when present, else IFA_ADDRESS).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Scope (RT_SCOPE_*).
    pub scope: u8,
    /// IFA_F_* flags.
    pub flags: u32,
    /// IPv4 label (e.g. "lo:10").
    pub label: Option<IfName>,
    /// IPv4 broadcast address (IFA_BROADCAST).
    pub broadcast: Option<Ipv4Addr>,
    /// Preferred lifetime in seconds (IFA_CACHEINFO), `None` = forever. Sent
    /// only when adding an IPv6 address, with a valid lifetime of forever, as
    /// keepalived's `netlink_ipaddress()` does; decoded from what the kernel reports.
    pub preferred_lft: Option<u32>,
}

impl IfAddr {
    /// A host address (/32 or /128) with universe scope, as VIPs are added.
    pub fn host(ifindex: u32, addr: IpAddr) -> IfAddr {
        IfAddr {
            ifindex,
            addr,
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            scope: RT_SCOPE_UNIVERSE,
            flags: 0,
            label: None,
            broadcast: None,
            preferred_lft: None,
        }
    }
}

fn family_of(addr: &IpAddr) -> u8 {
    if addr.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

fn ifaddrmsg(
    family: u8,
    prefix_len: u8,
    flags: u8,
    scope: u8,
    ifindex: u32,
) -> [u8; IFADDRMSG_LEN] {
    let i = ifindex.to_ne_bytes();
    [family, prefix_len, flags, scope, i[0], i[1], i[2], i[3]]
}

fn encode_addr_change(
    buf: &mut [u8],
    kind: u16,
    flags: u16,
    seq: u32,
    a: &IfAddr,
) -> Result<usize, EncodeError> {
    let mut b = MessageBuilder::new(buf, kind, flags | NLM_F_REQUEST | NLM_F_ACK, seq)?;
    let nodad = if a.addr.is_ipv6() { IFA_F_NODAD } else { 0 };
    b.put_header(&ifaddrmsg(
        family_of(&a.addr),
        a.prefix_len,
        nodad,
        a.scope,
        a.ifindex,
    ))?;
    let bytes: &[u8] = match &a.addr {
        IpAddr::V4(v) => &v.octets()[..],
        IpAddr::V6(v) => &v.octets()[..],
    };
    b.attr(IFA_LOCAL, bytes)?;
    b.attr(IFA_ADDRESS, bytes)?;
    if let Some(label) = &a.label {
        if a.addr.is_ipv4() {
            b.attr_str(IFA_LABEL, label)?;
        }
    }
    if kind == RTM_NEWADDR {
        if let (Some(brd), IpAddr::V4(_)) = (a.broadcast, a.addr) {
            b.attr(IFA_BROADCAST, &brd.octets())?;
        }
        if let (Some(preferred), IpAddr::V6(_)) = (a.preferred_lft, a.addr) {
            let mut info = [0u8; IFA_CACHEINFO_LEN];
            info[0..4].copy_from_slice(&preferred.to_ne_bytes());
            info[4..8].copy_from_slice(&INFINITY_LIFE_TIME.to_ne_bytes());
            b.attr(IFA_CACHEINFO, &info)?;
        }
    }
    Ok(b.finish())
}

/// Encodes RTM_NEWADDR (create, fail if it exists) for `a`; returns the length.
pub fn encode_new_addr(buf: &mut [u8], seq: u32, a: &IfAddr) -> Result<usize, EncodeError> {
    encode_addr_change(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, seq, a)
}

/// Encodes RTM_DELADDR for `a`; returns the length.
pub fn encode_del_addr(buf: &mut [u8], seq: u32, a: &IfAddr) -> Result<usize, EncodeError> {
    encode_addr_change(buf, RTM_DELADDR, 0, seq, a)
}

/// Encodes an RTM_GETADDR dump of every address (`None`) or one family.
pub fn encode_get_addrs(buf: &mut [u8], seq: u32, v6: Option<bool>) -> Result<usize, EncodeError> {
    let family = match v6 {
        None => AF_UNSPEC,
        Some(false) => AF_INET,
        Some(true) => AF_INET6,
    };
    let mut b = MessageBuilder::new(buf, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq)?;
    b.put_header(&ifaddrmsg(family, 0, 0, 0, 0))?;
    Ok(b.finish())
}

/// Encodes an RTM_GETLINK dump of every interface.
pub fn encode_get_links(buf: &mut [u8], seq: u32) -> Result<usize, EncodeError> {
    let mut b = MessageBuilder::new(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq)?;
    b.put_header(&[0u8; IFINFOMSG_LEN])?;
    Ok(b.finish())
}

/// Encodes RTM_NEWLINK that sets or clears IFF_UP on `ifindex` (used by tests and lab tools).
pub fn encode_set_link_up(
    buf: &mut [u8],
    seq: u32,
    ifindex: u32,
    up: bool,
) -> Result<usize, EncodeError> {
    let mut b = MessageBuilder::new(buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq)?;
    let mut info = [0u8; IFINFOMSG_LEN];
    info[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    info[8..12].copy_from_slice(&(if up { IFF_UP } else { 0 }).to_ne_bytes());
    info[12..16].copy_from_slice(&IFF_UP.to_ne_bytes());
    b.put_header(&info)?;
    Ok(b.finish())
}

/// Decodes the payload of an RTM_NEWADDR / RTM_DELADDR message.
pub fn parse_addr(payload: &[u8]) -> Result<IfAddr, DecodeError> {
    let h: [u8; IFADDRMSG_LEN] = payload
        .get(..IFADDRMSG_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(DecodeError::Truncated {
            what: "ifaddrmsg",
            need: IFADDRMSG_LEN,
            have: payload.len(),
        })?;
    let family = h[0];
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut broadcast = None;
    let mut preferred_lft = None;
    let mut flags = u32::from(h[2]);
    for a in Attrs::new(payload.get(IFADDRMSG_LEN..).unwrap_or(&[])) {
        let a = a?;
        let ip = |p: &[u8]| -> Result<IpAddr, DecodeError> {
            match family {
                AF_INET => <[u8; 4]>::try_from(p).map(|b| IpAddr::V4(Ipv4Addr::from(b))),
                AF_INET6 => <[u8; 16]>::try_from(p).map(|b| IpAddr::V6(Ipv6Addr::from(b))),
                _ => return Err(DecodeError::BadValue("ifa_family")),
            }
            .map_err(|_| DecodeError::BadAttribute {
                what: "IFA_ADDRESS",
                len: p.len(),
            })
        };
        match a.kind {
            IFA_LOCAL => local = Some(ip(a.payload)?),
            IFA_ADDRESS => address = Some(ip(a.payload)?),
            IFA_LABEL => {
                let mut s = IfName::new();
                s.push_str(a.str()?)
                    .map_err(|_| DecodeError::BadValue("IFA_LABEL"))?;
                label = Some(s);
            }
            IFA_FLAGS => flags = a.u32()?,
            IFA_BROADCAST => match ip(a.payload)? {
                IpAddr::V4(v4) => broadcast = Some(v4),
                IpAddr::V6(_) => return Err(DecodeError::BadValue("IFA_BROADCAST")),
            },
            IFA_CACHEINFO => {
                let p = a
                    .payload
                    .get(..4)
                    .and_then(|p| <[u8; 4]>::try_from(p).ok())
                    .filter(|_| a.payload.len() >= IFA_CACHEINFO_LEN)
                    .ok_or(DecodeError::BadAttribute {
                        what: "IFA_CACHEINFO",
                        len: a.payload.len(),
                    })?;
                preferred_lft = Some(u32::from_ne_bytes(p)).filter(|&p| p != INFINITY_LIFE_TIME);
            }
            _ => {}
        }
    }
    Ok(IfAddr {
        ifindex: u32::from_ne_bytes([h[4], h[5], h[6], h[7]]),
        addr: local
            .or(address)
            .ok_or(DecodeError::Missing("IFA_ADDRESS"))?,
        prefix_len: h[1],
        scope: h[3],
        flags,
        label,
        broadcast,
        preferred_lft,
    })
}

/// RFC 2863 operational state (IFLA_OPERSTATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    /// IF_OPER_UNKNOWN (loopback and many virtual devices).
    Unknown,
    /// IF_OPER_NOTPRESENT.
    NotPresent,
    /// IF_OPER_DOWN.
    Down,
    /// IF_OPER_LOWERLAYERDOWN.
    LowerLayerDown,
    /// IF_OPER_TESTING.
    Testing,
    /// IF_OPER_DORMANT.
    Dormant,
    /// IF_OPER_UP.
    Up,
}

impl OperState {
    fn from_raw(v: u8) -> OperState {
        match v {
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            _ => OperState::Unknown,
        }
    }
}

/// The IPv4 devconf values a VMAC and its lower device care about, as the
/// kernel reports them in IFLA_AF_SPEC/AF_INET/IFLA_INET_CONF (an array of u32,
/// entry `n - 1` holding devconf `n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ipv4Conf {
    /// rp_filter.
    pub rp_filter: u32,
    /// arp_filter.
    pub arp_filter: u32,
    /// arp_ignore.
    pub arp_ignore: u32,
    /// promote_secondaries.
    pub promote_secondaries: u32,
    /// accept_local.
    pub accept_local: u32,
}

/// A decoded RTM_NEWLINK / RTM_DELLINK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: IfName,
    /// IFF_* flags.
    pub flags: u32,
    /// Operational state, when reported.
    pub operstate: Option<OperState>,
    /// MTU, when reported.
    pub mtu: Option<u32>,
    /// Ethernet address (IFLA_ADDRESS of 6 bytes), when reported.
    pub mac: Option<[u8; 6]>,
    /// The lower device (IFLA_LINK), when reported.
    pub lower: Option<u32>,
    /// The macvlan mode when the link is a macvlan (IFLA_INFO_KIND "macvlan");
    /// `Some(0)` for a macvlan whose mode was not reported.
    pub macvlan_mode: Option<u32>,
    /// IPv4 devconf values, when reported.
    pub ipv4_conf: Option<Ipv4Conf>,
}

impl Link {
    /// True when administratively up and running (carrier), the VRRP notion of "up".
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0 && self.flags & IFF_RUNNING != 0
    }
}

/// Decodes the payload of an RTM_NEWLINK / RTM_DELLINK message.
pub fn parse_link(payload: &[u8]) -> Result<Link, DecodeError> {
    let h: [u8; IFINFOMSG_LEN] = payload
        .get(..IFINFOMSG_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(DecodeError::Truncated {
            what: "ifinfomsg",
            need: IFINFOMSG_LEN,
            have: payload.len(),
        })?;
    let mut link = Link {
        ifindex: u32::from_ne_bytes([h[4], h[5], h[6], h[7]]),
        name: IfName::new(),
        flags: u32::from_ne_bytes([h[8], h[9], h[10], h[11]]),
        operstate: None,
        mtu: None,
        mac: None,
        lower: None,
        macvlan_mode: None,
        ipv4_conf: None,
    };
    for a in Attrs::new(payload.get(IFINFOMSG_LEN..).unwrap_or(&[])) {
        let a = a?;
        match a.kind {
            IFLA_IFNAME => {
                link.name
                    .push_str(a.str()?)
                    .map_err(|_| DecodeError::BadValue("IFLA_IFNAME"))?;
            }
            IFLA_OPERSTATE => link.operstate = Some(OperState::from_raw(a.u8()?)),
            IFLA_MTU => link.mtu = Some(a.u32()?),
            // Other link types (InfiniBand, tunnels) have other lengths: no MAC.
            IFLA_ADDRESS => link.mac = <[u8; 6]>::try_from(a.payload).ok(),
            IFLA_LINK => link.lower = Some(a.u32()?),
            IFLA_LINKINFO => link.macvlan_mode = parse_macvlan_info(a.payload)?,
            IFLA_AF_SPEC => {
                for family in a.nested() {
                    let family = family?;
                    if family.kind != u16::from(AF_INET) {
                        continue;
                    }
                    for c in family.nested() {
                        let c = c?;
                        if c.kind == IFLA_INET_CONF {
                            link.ipv4_conf = Some(parse_inet_conf(c.payload)?);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(link)
}

/// IFLA_LINKINFO: `Some(mode)` for a macvlan (0 when the mode is missing), `None`
/// for any other kind.
fn parse_macvlan_info(payload: &[u8]) -> Result<Option<u32>, DecodeError> {
    let mut macvlan = false;
    let mut mode = 0;
    for a in Attrs::new(payload) {
        let a = a?;
        match a.kind {
            IFLA_INFO_KIND => macvlan = a.str()? == "macvlan",
            IFLA_INFO_DATA => {
                for d in a.nested() {
                    let d = d?;
                    if d.kind == IFLA_MACVLAN_MODE {
                        mode = d.u32()?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(macvlan.then_some(mode))
}

/// IFLA_INET_CONF: an array of u32, entry `n - 1` holding devconf `n`.
fn parse_inet_conf(payload: &[u8]) -> Result<Ipv4Conf, DecodeError> {
    let get = |id: u16| -> Result<u32, DecodeError> {
        let at = (usize::from(id) - 1) * 4;
        payload
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_ne_bytes)
            .ok_or(DecodeError::BadAttribute {
                what: "IFLA_INET_CONF",
                len: payload.len(),
            })
    };
    Ok(Ipv4Conf {
        rp_filter: get(DEVCONF_RP_FILTER)?,
        arp_filter: get(DEVCONF_ARP_FILTER)?,
        arp_ignore: get(DEVCONF_ARP_IGNORE)?,
        promote_secondaries: get(DEVCONF_PROMOTE_SECONDARIES)?,
        accept_local: get(DEVCONF_ACCEPT_LOCAL)?,
    })
}

fn ifinfomsg(ifindex: u32) -> [u8; IFINFOMSG_LEN] {
    let mut info = [0u8; IFINFOMSG_LEN];
    info[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    info
}

fn macvlan_linkinfo(b: &mut MessageBuilder<'_>) -> Result<(), EncodeError> {
    let info = b.begin_nested(IFLA_LINKINFO)?;
    b.attr(IFLA_INFO_KIND, b"macvlan")?;
    let data = b.begin_nested(IFLA_INFO_DATA)?;
    b.attr_u32(IFLA_MACVLAN_MODE, MACVLAN_MODE_PRIVATE)?;
    b.end_nested(data)?;
    b.end_nested(info)
}

/// Encodes RTM_NEWLINK creating a private-mode macvlan `name` on `lower` with
/// address `mac` (create, fail if it exists): keepalived's VMAC
/// (`netlink_link_add_vmac`).
pub fn encode_new_macvlan(
    buf: &mut [u8],
    seq: u32,
    name: &str,
    lower: u32,
    mac: [u8; 6],
) -> Result<usize, EncodeError> {
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    let mut b = MessageBuilder::new(buf, RTM_NEWLINK, flags, seq)?;
    b.put_header(&ifinfomsg(0))?;
    macvlan_linkinfo(&mut b)?;
    b.attr_u32(IFLA_LINK, lower)?;
    b.attr_str(IFLA_IFNAME, name)?;
    b.attr(IFLA_ADDRESS, &mac)?;
    Ok(b.finish())
}

/// Encodes RTM_NEWLINK that turns the existing macvlan `ifindex` into private
/// mode with address `mac` (keepalived updates a VMAC of the wrong MAC or mode).
pub fn encode_update_macvlan(
    buf: &mut [u8],
    seq: u32,
    ifindex: u32,
    mac: [u8; 6],
) -> Result<usize, EncodeError> {
    let mut b = MessageBuilder::new(buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq)?;
    b.put_header(&ifinfomsg(ifindex))?;
    macvlan_linkinfo(&mut b)?;
    b.attr(IFLA_ADDRESS, &mac)?;
    Ok(b.finish())
}

/// Encodes RTM_DELLINK of `ifindex`.
pub fn encode_del_link(buf: &mut [u8], seq: u32, ifindex: u32) -> Result<usize, EncodeError> {
    let mut b = MessageBuilder::new(buf, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq)?;
    b.put_header(&ifinfomsg(ifindex))?;
    Ok(b.finish())
}

/// Encodes RTM_NEWLINK setting IPv4 devconf values (`(IPV4_DEVCONF_*, value)`) on
/// `ifindex`: IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { id: u32, ... } } }, as
/// keepalived's `netlink_set_interface_flags`.
pub fn encode_set_ipv4_conf(
    buf: &mut [u8],
    seq: u32,
    ifindex: u32,
    values: &[(u16, u32)],
) -> Result<usize, EncodeError> {
    if values.len() > DEVCONF_MAX_SET {
        return Err(EncodeError::TooLong("IPv4 devconf list"));
    }
    let mut b = MessageBuilder::new(buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq)?;
    b.put_header(&ifinfomsg(ifindex))?;
    let spec = b.begin_nested(IFLA_AF_SPEC)?;
    let inet = b.begin_nested(u16::from(AF_INET))?;
    let conf = b.begin_nested(IFLA_INET_CONF)?;
    for &(id, value) in values {
        b.attr_u32(id, value)?;
    }
    b.end_nested(conf)?;
    b.end_nested(inet)?;
    b.end_nested(spec)?;
    Ok(b.finish())
}

/// Encodes RTM_NEWLINK setting IN6_ADDR_GEN_MODE_NONE on `ifindex` (no link-local
/// address derived from the virtual MAC; keepalived does this before the link goes up).
pub fn encode_addr_gen_mode_none(
    buf: &mut [u8],
    seq: u32,
    ifindex: u32,
) -> Result<usize, EncodeError> {
    let mut b = MessageBuilder::new(buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq)?;
    b.put_header(&ifinfomsg(ifindex))?;
    let spec = b.begin_nested(IFLA_AF_SPEC)?;
    let inet6 = b.begin_nested(u16::from(AF_INET6))?;
    b.attr_u8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE)?;
    b.end_nested(inet6)?;
    b.end_nested(spec)?;
    Ok(b.finish())
}

/// The VRRP virtual MAC of `vrid` (RFC 5798 7.3): 00-00-5E-00-01-{VRID} for IPv4,
/// 00-00-5E-00-02-{VRID} for IPv6.
pub fn vrrp_virtual_mac(vrid: u8, ipv6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

/// A decoded rtnetlink event or dump entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtEvent {
    /// RTM_NEWLINK.
    NewLink(Link),
    /// RTM_DELLINK.
    DelLink(Link),
    /// RTM_NEWADDR.
    NewAddr(IfAddr),
    /// RTM_DELADDR.
    DelAddr(IfAddr),
    /// RTM_DELROUTE (routes lvsd installs are watched for deletion only, as
    /// keepalived's `netlink_route_filter()`).
    DelRoute(Box<RouteRepr>),
    /// RTM_DELRULE.
    DelRule(Box<RuleRepr>),
}

/// Decodes one rtnetlink message by type; `Ok(None)` for types lvsd ignores.
pub fn parse_event(kind: u16, payload: &[u8]) -> Result<Option<RtEvent>, DecodeError> {
    Ok(Some(match kind {
        RTM_NEWLINK => RtEvent::NewLink(parse_link(payload)?),
        RTM_DELLINK => RtEvent::DelLink(parse_link(payload)?),
        RTM_NEWADDR => RtEvent::NewAddr(parse_addr(payload)?),
        RTM_DELADDR => RtEvent::DelAddr(parse_addr(payload)?),
        // Only routes and rules lvsd (or keepalived) marked as its own are
        // decoded: a router's other routes are not lvsd's business.
        RTM_DELROUTE if payload.get(5) == Some(&RTPROT_KEEPALIVED) => {
            RtEvent::DelRoute(Box::new(RouteRepr::parse(payload)?))
        }
        RTM_DELRULE => {
            let rule = RuleRepr::parse(payload)?;
            if rule.protocol != Some(RTPROT_KEEPALIVED) {
                return Ok(None);
            }
            RtEvent::DelRule(Box::new(rule))
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::netlink::msg::{Header, NLMSG_HDRLEN};

    #[test]
    fn new_addr_golden_bytes() {
        // Constructed from if_addr.h: `ip addr add 192.168.118.110/32 dev <3>` equivalent.
        let mut buf = [0u8; 128];
        let a = IfAddr::host(3, IpAddr::V4(Ipv4Addr::new(192, 168, 118, 110)));
        let n = encode_new_addr(&mut buf, 11, &a).unwrap();
        let h = Header::parse(&buf).unwrap();
        assert_eq!(
            (h.len as usize, h.kind, h.flags, h.seq),
            (n, RTM_NEWADDR, 0x605, 11)
        );
        #[rustfmt::skip]
        let want = [
            2, 32, 0, 0, 3, 0, 0, 0,              // ifaddrmsg: AF_INET /32 scope 0 index 3
            8, 0, 2, 0, 192, 168, 118, 110,       // IFA_LOCAL
            8, 0, 1, 0, 192, 168, 118, 110,       // IFA_ADDRESS
        ];
        assert_eq!(&buf[NLMSG_HDRLEN..n], &want);
        assert_eq!(parse_addr(&buf[NLMSG_HDRLEN..n]).unwrap(), a);
    }

    #[test]
    fn v6_addr_and_label_round_trip() {
        let mut buf = [0u8; 128];
        let mut a = IfAddr::host(
            1,
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x110)),
        );
        let n = encode_del_addr(&mut buf, 1, &a).unwrap();
        assert_eq!(buf[NLMSG_HDRLEN + 2], IFA_F_NODAD);
        a.flags = u32::from(IFA_F_NODAD);
        assert_eq!(parse_addr(&buf[NLMSG_HDRLEN..n]).unwrap(), a);
        let mut v4 = IfAddr::host(1, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        v4.label = Some(IfName::try_from("lo:10").unwrap());
        let n = encode_new_addr(&mut buf, 1, &v4).unwrap();
        assert_eq!(parse_addr(&buf[NLMSG_HDRLEN..n]).unwrap(), v4);
        for cut in NLMSG_HDRLEN..n {
            let _ = parse_addr(&buf[NLMSG_HDRLEN..cut]);
        }
    }

    #[test]
    fn vip_options_golden_bytes() {
        // `ip addr add 10.0.0.1/24 brd 10.0.0.255 scope link label eth0:1 dev <2>`,
        // bytes laid out from if_addr.h (ifaddrmsg, then IFA_* TLVs).
        let mut buf = [0u8; 128];
        let mut a = IfAddr::host(2, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        a.prefix_len = 24;
        a.scope = 253;
        a.broadcast = Some(Ipv4Addr::new(10, 0, 0, 255));
        a.label = Some(IfName::try_from("eth0:1").unwrap());
        let n = encode_new_addr(&mut buf, 1, &a).unwrap();
        #[rustfmt::skip]
        let want = [
            2, 24, 0, 253, 2, 0, 0, 0,            // AF_INET /24 scope link index 2
            8, 0, 2, 0, 10, 0, 0, 1,              // IFA_LOCAL
            8, 0, 1, 0, 10, 0, 0, 1,              // IFA_ADDRESS
            11, 0, 3, 0, b'e', b't', b'h', b'0', b':', b'1', 0, 0, // IFA_LABEL (NUL, padded)
            8, 0, 4, 0, 10, 0, 0, 255,            // IFA_BROADCAST
        ];
        assert_eq!(&buf[NLMSG_HDRLEN..n], &want);
        assert_eq!(parse_addr(&buf[NLMSG_HDRLEN..n]).unwrap(), a);
        // A delete carries neither broadcast nor lifetimes.
        let n = encode_del_addr(&mut buf, 1, &a).unwrap();
        assert_eq!(n - NLMSG_HDRLEN, 8 + 8 + 8 + 12);

        // IPv6 with preferred_lft 0: IFA_CACHEINFO {0, forever, 0, 0}.
        let mut v6 = IfAddr::host(
            2,
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x110)),
        );
        v6.preferred_lft = Some(0);
        let n = encode_new_addr(&mut buf, 1, &v6).unwrap();
        let tail = &buf[n - 20..n];
        assert_eq!(&tail[..4], &[20, 0, 6, 0]);
        assert_eq!(&tail[4..8], &0u32.to_ne_bytes());
        assert_eq!(&tail[8..12], &u32::MAX.to_ne_bytes());
        assert_eq!(&tail[12..20], &[0; 8]);
        v6.flags = u32::from(IFA_F_NODAD);
        assert_eq!(parse_addr(&buf[NLMSG_HDRLEN..n]).unwrap(), v6);
        // Forever is no attribute at all (the kernel's default).
        v6.preferred_lft = None;
        let m = encode_new_addr(&mut buf, 1, &v6).unwrap();
        assert_eq!(n - m, 20);
    }

    #[test]
    fn link_decode() {
        let mut buf = [0u8; 128];
        let mut b = MessageBuilder::new(&mut buf, RTM_NEWLINK, 0, 0).unwrap();
        let mut info = [0u8; IFINFOMSG_LEN];
        info[4..8].copy_from_slice(&2u32.to_ne_bytes());
        info[8..12].copy_from_slice(&(IFF_UP | IFF_RUNNING | IFF_LOWER_UP).to_ne_bytes());
        b.put_header(&info).unwrap();
        b.attr_str(IFLA_IFNAME, "ens160").unwrap();
        b.attr_u32(IFLA_MTU, 1500).unwrap();
        b.attr_u8(IFLA_OPERSTATE, 6).unwrap();
        let n = b.finish();
        let ev = parse_event(RTM_NEWLINK, &buf[NLMSG_HDRLEN..n])
            .unwrap()
            .unwrap();
        let RtEvent::NewLink(l) = ev else { panic!() };
        assert_eq!(l.ifindex, 2);
        assert_eq!(l.name, "ens160");
        assert!(l.is_up());
        assert_eq!(l.operstate, Some(OperState::Up));
        assert_eq!(l.mtu, Some(1500));
        assert!(parse_link(&buf[NLMSG_HDRLEN..NLMSG_HDRLEN + 8]).is_err());
        assert_eq!(parse_event(99, &[]).unwrap(), None);
    }

    #[test]
    fn new_macvlan_golden_bytes() {
        // Laid out from if_link.h as `ip link add link <2> name vrrp.51 address
        // 00:00:5e:00:01:33 type macvlan mode private` sends it (iproute2 puts the
        // same attributes in another order; the kernel does not care).
        let mut buf = [0u8; 256];
        let mac = vrrp_virtual_mac(51, false);
        assert_eq!(mac, [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(vrrp_virtual_mac(7, true), [0, 0, 0x5e, 0, 2, 7]);
        let n = encode_new_macvlan(&mut buf, 9, "vrrp.51", 2, mac).unwrap();
        let h = Header::parse(&buf).unwrap();
        // NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE
        assert_eq!((h.len as usize, h.kind, h.flags), (n, RTM_NEWLINK, 0x605));
        #[rustfmt::skip]
        let want = [
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ifinfomsg, index 0
            28, 0, 18, 0x80,                                 // IFLA_LINKINFO (nested)
              11, 0, 1, 0, b'm', b'a', b'c', b'v', b'l', b'a', b'n', 0, // IFLA_INFO_KIND
              12, 0, 2, 0x80,                                //   IFLA_INFO_DATA (nested)
                8, 0, 1, 0, 1, 0, 0, 0,                      //     IFLA_MACVLAN_MODE private
            8, 0, 5, 0, 2, 0, 0, 0,                          // IFLA_LINK 2
            12, 0, 3, 0, b'v', b'r', b'r', b'p', b'.', b'5', b'1', 0, // IFLA_IFNAME
            10, 0, 1, 0, 0, 0, 0x5e, 0, 1, 51, 0, 0,         // IFLA_ADDRESS (padded)
        ];
        assert_eq!(&buf[NLMSG_HDRLEN..n], &want);
        // The kernel's view of the same link decodes to what was asked.
        let l = parse_link(&buf[NLMSG_HDRLEN..n]).unwrap();
        assert_eq!(l.name, "vrrp.51");
        assert_eq!(l.mac, Some(mac));
        assert_eq!(l.lower, Some(2));
        assert_eq!(l.macvlan_mode, Some(MACVLAN_MODE_PRIVATE));

        let n = encode_update_macvlan(&mut buf, 9, 7, mac).unwrap();
        let h = Header::parse(&buf).unwrap();
        assert_eq!(h.flags, 0x5, "an update neither creates nor is exclusive");
        assert_eq!(
            &buf[NLMSG_HDRLEN + 4..NLMSG_HDRLEN + 8],
            &7u32.to_ne_bytes()
        );
        let l = parse_link(&buf[NLMSG_HDRLEN..n]).unwrap();
        assert_eq!((l.ifindex, l.mac, l.lower), (7, Some(mac), None));

        let n = encode_del_link(&mut buf, 3, 7).unwrap();
        assert_eq!(n, NLMSG_HDRLEN + IFINFOMSG_LEN);
        assert_eq!(Header::parse(&buf).unwrap().kind, RTM_DELLINK);
    }

    #[test]
    fn devconf_set_and_decode() {
        let mut buf = [0u8; 256];
        let values = [
            (DEVCONF_ARP_IGNORE, 1),
            (DEVCONF_ACCEPT_LOCAL, 1),
            (DEVCONF_RP_FILTER, 0),
        ];
        let n = encode_set_ipv4_conf(&mut buf, 1, 4, &values).unwrap();
        #[rustfmt::skip]
        let want = [
            0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ifinfomsg, index 4
            36, 0, 26, 0x80,                                 // IFLA_AF_SPEC
              32, 0, 2, 0x80,                                //   AF_INET
                28, 0, 1, 0x80,                              //     IFLA_INET_CONF
                  8, 0, 19, 0, 1, 0, 0, 0,                   //       arp_ignore 1
                  8, 0, 23, 0, 1, 0, 0, 0,                   //       accept_local 1
                  8, 0, 8, 0, 0, 0, 0, 0,                    //       rp_filter 0
        ];
        assert_eq!(&buf[NLMSG_HDRLEN..n], &want);
        assert!(encode_set_ipv4_conf(&mut buf, 1, 4, &[(1, 1); DEVCONF_MAX_SET + 1]).is_err());
        let n = encode_addr_gen_mode_none(&mut buf, 1, 4).unwrap();
        assert_eq!(
            &buf[NLMSG_HDRLEN + IFINFOMSG_LEN..n],
            &[16, 0, 26, 0x80, 12, 0, 10, 0x80, 5, 0, 8, 0, 1, 0, 0, 0]
        );

        // What the kernel reports: IFLA_INET_CONF as an array of u32 (entry n-1 =
        // devconf n), inside AF_SPEC/AF_INET, beside other families.
        let mut conf = [0u8; 33 * 4];
        for (id, v) in [(8u16, 2u32), (13, 1), (19, 1), (20, 1), (23, 1)] {
            let at = (usize::from(id) - 1) * 4;
            conf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        }
        let mut b = MessageBuilder::new(&mut buf, RTM_NEWLINK, 0, 0).unwrap();
        b.put_header(&ifinfomsg(3)).unwrap();
        let spec = b.begin_nested(IFLA_AF_SPEC).unwrap();
        let v6 = b.begin_nested(10).unwrap();
        b.attr_u8(IFLA_INET6_ADDR_GEN_MODE, 0).unwrap();
        b.end_nested(v6).unwrap();
        let v4 = b.begin_nested(2).unwrap();
        b.attr(IFLA_INET_CONF, &conf).unwrap();
        b.end_nested(v4).unwrap();
        b.end_nested(spec).unwrap();
        let info = b.begin_nested(IFLA_LINKINFO).unwrap();
        b.attr_str(IFLA_INFO_KIND, "veth").unwrap();
        b.end_nested(info).unwrap();
        let n = b.finish();
        let l = parse_link(&buf[NLMSG_HDRLEN..n]).unwrap();
        assert_eq!(
            l.ipv4_conf,
            Some(Ipv4Conf {
                rp_filter: 2,
                arp_filter: 1,
                arp_ignore: 1,
                promote_secondaries: 1,
                accept_local: 1,
            })
        );
        assert_eq!(l.macvlan_mode, None, "a veth is no macvlan");
    }

    #[test]
    fn malformed_link_replies_are_errors_not_panics() {
        let mut buf = [0u8; 256];
        // IFLA_INET_CONF too short to hold accept_local (devconf 23).
        let mut b = MessageBuilder::new(&mut buf, RTM_NEWLINK, 0, 0).unwrap();
        b.put_header(&ifinfomsg(3)).unwrap();
        let spec = b.begin_nested(IFLA_AF_SPEC).unwrap();
        let v4 = b.begin_nested(2).unwrap();
        b.attr(IFLA_INET_CONF, &[0u8; 20 * 4]).unwrap();
        b.end_nested(v4).unwrap();
        b.end_nested(spec).unwrap();
        let n = b.finish();
        let err = parse_link(&buf[NLMSG_HDRLEN..n]).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::BadAttribute {
                    what: "IFLA_INET_CONF",
                    len: 80
                }
            ),
            "{err:?}"
        );
        // A macvlan mode of the wrong size.
        let mut b = MessageBuilder::new(&mut buf, RTM_NEWLINK, 0, 0).unwrap();
        b.put_header(&ifinfomsg(3)).unwrap();
        let info = b.begin_nested(IFLA_LINKINFO).unwrap();
        b.attr_str(IFLA_INFO_KIND, "macvlan").unwrap();
        let data = b.begin_nested(IFLA_INFO_DATA).unwrap();
        b.attr_u16(IFLA_MACVLAN_MODE, 1).unwrap();
        b.end_nested(data).unwrap();
        b.end_nested(info).unwrap();
        let n = b.finish();
        assert!(parse_link(&buf[NLMSG_HDRLEN..n]).is_err());
        // A nested attribute whose length runs past its parent, at every cut.
        let n = encode_new_macvlan(&mut buf, 1, "vrrp.1", 2, vrrp_virtual_mac(1, false)).unwrap();
        let mut bad = buf[..n].to_vec();
        bad[NLMSG_HDRLEN + IFINFOMSG_LEN + 4] = 200; // IFLA_INFO_KIND's length
        assert!(parse_link(&bad[NLMSG_HDRLEN..]).is_err());
        for cut in NLMSG_HDRLEN..n {
            let _ = parse_link(&buf[NLMSG_HDRLEN..cut]);
        }
        // A MAC of another length is not an Ethernet MAC (not an error).
        let mut b = MessageBuilder::new(&mut buf, RTM_NEWLINK, 0, 0).unwrap();
        b.put_header(&ifinfomsg(3)).unwrap();
        b.attr(IFLA_ADDRESS, &[1u8; 20]).unwrap();
        let n = b.finish();
        assert_eq!(parse_link(&buf[NLMSG_HDRLEN..n]).unwrap().mac, None);
    }

    #[test]
    fn set_link_up_layout() {
        let mut buf = [0u8; 64];
        let n = encode_set_link_up(&mut buf, 1, 1, true).unwrap();
        assert_eq!(n, 32);
        assert_eq!(
            &buf[16..32],
            &[0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
        );
        let n = encode_get_addrs(&mut buf, 1, Some(true)).unwrap();
        assert_eq!((n, buf[16]), (24, 10));
    }
}
