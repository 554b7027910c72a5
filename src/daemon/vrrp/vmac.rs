//! `use_vmac`: the VMAC of an instance, as keepalived 2.2.7 makes it
//! (vrrp_vmac.c, vrrp_if_config.c): a private-mode macvlan on the instance's
//! interface with the VRRP virtual MAC (RFC 5798 7.3), named `vrrp.VRID` unless
//! configured, created over rtnetlink at start and deleted at stop. A link that
//! already is such a macvlan on the same interface is reused, whatever its name.
//!
//! The IPv4 settings keepalived makes for it (keepalived only when it creates or
//! updates the link, lvsd also on one it reuses): on the VMAC arp_ignore=1 (no answers for the lower device's
//! addresses), accept_local=1 (hear another instance on this host),
//! rp_filter=0 (adverts arrive on a link that has no route back to their
//! source) and promote_secondaries=1; on the lower device arp_ignore=1 and
//! arp_filter=1 (no answers there for the VIPs), restored at stop. Since the
//! effective rp_filter is the larger of `all` and the device's, a non-zero
//! `net.ipv4.conf.all.rp_filter` is moved onto `default` and every interface
//! first, then cleared (keepalived's clear_rp_filter), and put back at stop.
//! IPv6 is disabled on the VMAC of an IPv4 instance without IPv6 excluded
//! addresses, and no link-local address is generated on it.
//!
//! Setup and stop only: the requests wait for their acks (the loop is not running).

use std::net::{IpAddr, Ipv6Addr};

use log::{debug, info, warn};

use crate::config::Config;
use crate::io::iface::InterfaceInfo;
use crate::io::netlink::{NetlinkError, Rtnl};
use crate::io::sysctl;
use crate::wire::netlink::rtnl::{
    vrrp_virtual_mac, IfAddr, Link, DEVCONF_ACCEPT_LOCAL, DEVCONF_ARP_FILTER, DEVCONF_ARP_IGNORE,
    DEVCONF_PROMOTE_SECONDARIES, DEVCONF_RP_FILTER, IFNAME_MAX, MACVLAN_MODE_PRIVATE,
};

use super::SetupError;

/// The VMAC an instance uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacLink {
    /// Its name.
    pub name: String,
    /// Its index.
    pub ifindex: u32,
    /// Its address, the VRRP virtual MAC.
    pub mac: [u8; 6],
    /// IPv6: the link-local address put on it for the adverts to leave from.
    pub link_local: Option<Ipv6Addr>,
}

/// What one instance asks for.
pub struct VmacRequest<'a> {
    /// Instance name (for messages).
    pub instance: &'a str,
    /// The instance's `interface`.
    pub base: &'a InterfaceInfo,
    /// Its VRID.
    pub vrid: u8,
    /// IPv6 instance.
    pub ipv6: bool,
    /// `use_vmac NAME`, if named.
    pub name: Option<&'a str>,
    /// Names other instances asked for (`use_vmac NAME`), which the default must avoid.
    pub reserved: &'a [&'a str],
    /// Whether IPv6 stays enabled on the VMAC (excluded addresses of the other family).
    pub keep_ipv6: bool,
    /// IPv6 adverts leave from the VMAC: the link-local address they need
    /// (`mcast_src_ip`/`unicast_src_ip`, else the interface's, else one made
    /// from the interface's MAC; keepalived's set_link_local_address).
    pub link_local: Option<Ipv6Addr>,
}

/// The EUI-64 link-local address of `mac` (RFC 4291 appendix A).
pub fn eui64_link_local(mac: [u8; 6]) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

/// The lower device's settings before the first VMAC on it changed them.
struct BaseRestore {
    ifindex: u32,
    name: String,
    arp_ignore: u32,
    arp_filter: u32,
}

/// `net.ipv4.conf.all.rp_filter` as found, and what was raised to make up for clearing it.
struct RpFilterRestore {
    all: u32,
    default: Option<u32>,
    raised: Vec<(u32, u32)>,
}

/// Every VMAC lvsd set up, and what it changed, for the stop.
#[derive(Default)]
pub struct Vmacs {
    links: Vec<VmacLink>,
    /// The VMAC of each instance (same index as the configuration's).
    per_instance: Vec<Option<VmacLink>>,
    bases: Vec<BaseRestore>,
    rp_filter: Option<RpFilterRestore>,
    rp_filter_checked: bool,
}

/// Why a step of making a VMAC failed.
#[derive(Debug)]
pub enum VmacFailure {
    /// The kernel refused a request.
    Netlink(NetlinkError),
    /// The kernel cannot make a macvlan.
    NoMacvlan(NetlinkError),
    /// Every default name is taken.
    NoFreeName,
    /// The link was gone right after it was made.
    Vanished,
}

impl std::fmt::Display for VmacFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VmacFailure::Netlink(e) => write!(f, "{e}"),
            VmacFailure::NoMacvlan(e) => {
                write!(f, "{e} (the kernel has no macvlan support: module macvlan)")
            }
            VmacFailure::NoFreeName => f.write_str("no free name"),
            VmacFailure::Vanished => f.write_str("gone right after it was made"),
        }
    }
}

impl std::error::Error for VmacFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VmacFailure::Netlink(e) | VmacFailure::NoMacvlan(e) => Some(e),
            VmacFailure::NoFreeName | VmacFailure::Vanished => None,
        }
    }
}

impl From<NetlinkError> for VmacFailure {
    fn from(e: NetlinkError) -> VmacFailure {
        VmacFailure::Netlink(e)
    }
}

/// A step of making the VMAC of an instance failed.
#[derive(Debug)]
pub struct VmacError {
    /// Instance name.
    pub instance: String,
    /// The instance's interface.
    pub interface: String,
    /// The step (`creating VMAC vrrp.51`).
    pub step: String,
    /// Why.
    pub source: VmacFailure,
}

impl std::fmt::Display for VmacError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "vrrp_instance {}: use_vmac: {} on {}: {}",
            self.instance, self.step, self.interface, self.source
        )
    }
}

impl std::error::Error for VmacError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn failed(
    instance: &str,
    interface: &str,
    step: &str,
    source: impl Into<VmacFailure>,
) -> SetupError {
    SetupError::Vmac(Box::new(VmacError {
        instance: instance.to_owned(),
        interface: interface.to_owned(),
        step: step.to_owned(),
        source: source.into(),
    }))
}

/// `00:00:5e:00:01:33`.
pub fn mac_text(mac: [u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

/// keepalived's create_vmac_name: `vrrp.VRID`, then (IPv6) `vrrp6.VRID`, then
/// `vrrp1.VRID`, `vrrp2.VRID`, ..., the first that `free` accepts.
pub fn default_name(vrid: u8, ipv6: bool, mut free: impl FnMut(&str) -> bool) -> Option<String> {
    let mut num: u32 = 0;
    for _ in 0..crate::limits::VMAC_NAME_TRIES {
        let name = if num == 0 {
            format!("vrrp.{vrid}")
        } else {
            format!("vrrp{num}.{vrid}")
        };
        if name.len() <= IFNAME_MAX && free(&name) {
            return Some(name);
        }
        num = match (ipv6, num) {
            (true, 0) => 6,
            (true, 6) => 1,
            (true, 5) => 7,
            _ => num + 1,
        };
    }
    None
}

/// Makes the VMAC of every instance with `use_vmac`, before the rtnetlink event
/// socket opens: the link events of their making are not news to anyone.
pub fn prepare(cfg: &Config) -> Result<Vmacs, SetupError> {
    let mut vmacs = Vmacs::default();
    if cfg.vrrp_instances.iter().all(|i| i.use_vmac.is_none()) {
        return Ok(vmacs);
    }
    // Sized once: at most one VMAC per instance (limits::MAX_VMACS).
    let wanted = cfg.vrrp_instances.len().min(crate::limits::MAX_VMACS);
    vmacs.links.reserve_exact(wanted);
    vmacs.per_instance.reserve_exact(wanted);
    let interfaces = crate::io::iface::all().map_err(|err| SetupError::Socket {
        what: "listing interfaces".into(),
        err,
    })?;
    let mut rtnl = Rtnl::open().map_err(|err| SetupError::Socket {
        what: "use_vmac: rtnetlink socket".into(),
        err,
    })?;
    let reserved: Vec<&str> = cfg
        .vrrp_instances
        .iter()
        .filter_map(|i| i.use_vmac.as_ref()?.as_ref().map(|n| n.as_str()))
        .collect();
    for inst in &cfg.vrrp_instances {
        let Some(named) = &inst.use_vmac else {
            vmacs.per_instance.push(None);
            continue;
        };
        let base = interfaces
            .iter()
            .find(|i| i.name == inst.interface.as_str())
            .ok_or_else(|| SetupError::NoInterface {
                instance: inst.name.as_str().to_owned(),
                interface: inst.interface.as_str().to_owned(),
            })?;
        let ipv6 = inst.is_ipv6();
        let link_local = (ipv6 && !inst.vmac_xmit_base).then(|| {
            match inst.unicast_src_ip.or(inst.mcast_src_ip) {
                Some(IpAddr::V6(a)) => a,
                _ => base
                    .link_local()
                    .unwrap_or_else(|| eui64_link_local(base.mac)),
            }
        });
        let want = VmacRequest {
            instance: inst.name.as_str(),
            base,
            vrid: inst.virtual_router_id,
            ipv6,
            name: named.as_ref().map(|n| n.as_str()),
            reserved: &reserved,
            keep_ipv6: inst
                .virtual_ipaddresses_excluded
                .iter()
                .any(|v| v.address.is_ipv6() != ipv6)
                || ipv6,
            link_local,
        };
        let link = vmacs.ensure(&mut rtnl, &want)?;
        vmacs.per_instance.push(Some(link));
    }
    Ok(vmacs)
}

impl Vmacs {
    /// Stops owning the VMAC `ifindex` (it was deleted); returns what it was.
    pub fn forget(&mut self, ifindex: u32) -> Option<VmacLink> {
        let at = self.links.iter().position(|l| l.ifindex == ifindex)?;
        Some(self.links.remove(at))
    }

    /// The VMAC of instance `index`, if it has one.
    pub fn of_instance(&self, index: usize) -> Option<&VmacLink> {
        self.per_instance.get(index)?.as_ref()
    }

    /// Finds, updates or creates the VMAC of one instance and brings it up.
    pub fn ensure(
        &mut self,
        rtnl: &mut Rtnl,
        want: &VmacRequest<'_>,
    ) -> Result<VmacLink, SetupError> {
        let (instance, base) = (want.instance, want.base.name.as_str());
        let mac = vrrp_virtual_mac(want.vrid, want.ipv6);
        let mut links: Vec<Link> = Vec::new();
        rtnl.links(|l| links.push(l))
            .map_err(|e| failed(instance, base, "listing links", e))?;
        let link = match self.reusable(want, mac, &links) {
            Some(link) => link,
            None => self.make(rtnl, want, mac, &links)?,
        };
        self.links.push(link.clone());
        self.configure(rtnl, want, link, &links)
    }

    /// A private macvlan on the same interface with the right MAC, reused.
    fn reusable(&self, want: &VmacRequest<'_>, mac: [u8; 6], links: &[Link]) -> Option<VmacLink> {
        let (instance, base) = (want.instance, want.base.name.as_str());
        let l = links.iter().find(|l| {
            l.lower == Some(want.base.index)
                && l.macvlan_mode == Some(MACVLAN_MODE_PRIVATE)
                && l.mac == Some(mac)
                && !self.taken(&l.name)
        })?;
        if want.name.is_some_and(|n| n != l.name.as_str()) {
            info!(
                "vrrp_instance {instance}: vmac name mismatch {} <=> {}; using {}, as keepalived does",
                want.name.unwrap_or_default(),
                l.name,
                l.name
            );
        }
        info!(
            "vrrp_instance {instance}: reusing VMAC {} on {base}",
            l.name
        );
        Some(VmacLink {
            name: l.name.to_string(),
            ifindex: l.ifindex,
            mac,
            link_local: None,
        })
    }

    /// Whether lvsd already uses a VMAC of that name.
    fn taken(&self, name: &str) -> bool {
        self.links.iter().any(|l| l.name == name)
    }

    /// Makes the VMAC: under its configured name (updating or replacing a
    /// macvlan of that name), else under the first free default name.
    fn make(
        &self,
        rtnl: &mut Rtnl,
        want: &VmacRequest<'_>,
        mac: [u8; 6],
        links: &[Link],
    ) -> Result<VmacLink, SetupError> {
        let (instance, base) = (want.instance, want.base.name.as_str());
        let name = match self.make_named(rtnl, want, mac, links)? {
            Some(n) => n,
            None => {
                let n = default_name(want.vrid, want.ipv6, |candidate| {
                    !self.taken(candidate)
                        && !want.reserved.contains(&candidate)
                        && !links.iter().any(|l| l.name == candidate)
                })
                .ok_or_else(|| {
                    failed(instance, base, "naming the VMAC", VmacFailure::NoFreeName)
                })?;
                Self::create(rtnl, instance, want.base, &n, mac)?;
                n
            }
        };
        let ifindex = rtnl
            .link(&name)
            .map_err(|e| failed(instance, base, &format!("looking up VMAC {name}"), e))?
            .map(|l| l.ifindex)
            .ok_or_else(|| {
                failed(
                    instance,
                    base,
                    &format!("VMAC {name}"),
                    VmacFailure::Vanished,
                )
            })?;
        Ok(VmacLink {
            name,
            ifindex,
            mac,
            link_local: None,
        })
    }

    /// `use_vmac NAME`: the link of that name made or brought to the VRRP
    /// MAC; None when there is no name, or an interface that is no macvlan
    /// has it (then the default name is used, as keepalived does).
    fn make_named(
        &self,
        rtnl: &mut Rtnl,
        want: &VmacRequest<'_>,
        mac: [u8; 6],
        links: &[Link],
    ) -> Result<Option<String>, SetupError> {
        let (instance, base) = (want.instance, want.base.name.as_str());
        let Some(n) = want.name else {
            return Ok(None);
        };
        match links.iter().find(|l| l.name == n) {
            Some(l) if l.macvlan_mode.is_some() && l.lower == Some(want.base.index) => {
                info!("vrrp_instance {instance}: VMAC {n} exists with another MAC or mode; updating it");
                rtnl.update_macvlan(l.ifindex, mac)
                    .map_err(|e| failed(instance, base, &format!("updating VMAC {n}"), e))?;
            }
            Some(l) if l.macvlan_mode.is_some() => {
                info!(
                    "vrrp_instance {instance}: removing old VMAC {n}: it is on another interface"
                );
                rtnl.del_link(l.ifindex)
                    .map_err(|e| failed(instance, base, &format!("removing VMAC {n}"), e))?;
                Self::create(rtnl, instance, want.base, n, mac)?;
            }
            Some(_) => {
                warn!("vrrp_instance {instance}: use_vmac {n}: an interface of that name exists and is no macvlan; using the default name, as keepalived does");
                return Ok(None);
            }
            None => Self::create(rtnl, instance, want.base, n, mac)?,
        }
        Ok(Some(n.to_owned()))
    }

    /// keepalived's settings on the VMAC (IPv4), IPv6 on or off, no
    /// generated link-local address; then up, with the link-local address
    /// IPv6 adverts leave from. keepalived sets these only on a VMAC it
    /// creates or updates; lvsd also on one it reuses (one made by hand has
    /// none of them).
    fn configure(
        &mut self,
        rtnl: &mut Rtnl,
        want: &VmacRequest<'_>,
        mut link: VmacLink,
        links: &[Link],
    ) -> Result<VmacLink, SetupError> {
        let (instance, base) = (want.instance, want.base.name.as_str());
        if !want.ipv6 {
            self.clear_rp_filter(rtnl, links);
            self.set_parameters(rtnl, instance, want.base, &link, links)?;
        }
        if let Err(e) = sysctl::write_conf(
            "ipv6",
            &link.name,
            "disable_ipv6",
            u32::from(!want.keep_ipv6),
        ) {
            debug!(
                "vrrp_instance {instance}: VMAC {}: disable_ipv6: {e}",
                link.name
            );
        }
        if let Err(e) = rtnl.addr_gen_mode_none(link.ifindex) {
            debug!(
                "vrrp_instance {instance}: VMAC {}: addr_gen_mode none: {e}",
                link.name
            );
        }
        rtnl.set_link_up(link.ifindex, true)
            .map_err(|e| failed(instance, base, &format!("setting VMAC {} up", link.name), e))?;
        if let Some(addr) = want.link_local {
            let mut a = IfAddr::host(link.ifindex, IpAddr::V6(addr));
            a.prefix_len = 64;
            rtnl.add_addr(&a).map_err(|e| {
                failed(
                    instance,
                    base,
                    &format!("adding link-local address {addr} to VMAC {}", link.name),
                    e,
                )
            })?;
            link.link_local = Some(addr);
            if let Some(l) = self.links.iter_mut().find(|l| l.ifindex == link.ifindex) {
                l.link_local = Some(addr);
            }
        }
        Ok(link)
    }

    fn create(
        rtnl: &mut Rtnl,
        instance: &str,
        base: &InterfaceInfo,
        name: &str,
        mac: [u8; 6],
    ) -> Result<(), SetupError> {
        rtnl.new_macvlan(name, base.index, mac).map_err(|e| {
            let why = match &e {
                NetlinkError::Kernel { errno, .. } if *errno == libc::EOPNOTSUPP => {
                    VmacFailure::NoMacvlan(e)
                }
                _ => VmacFailure::Netlink(e),
            };
            failed(instance, &base.name, &format!("creating VMAC {name}"), why)
        })?;
        info!(
            "vrrp_instance {instance}: created VMAC {name} on {} with MAC {}",
            base.name,
            mac_text(mac)
        );
        Ok(())
    }

    /// keepalived's set_interface_parameters (devconf over rtnetlink).
    fn set_parameters(
        &mut self,
        rtnl: &mut Rtnl,
        instance: &str,
        base: &InterfaceInfo,
        link: &VmacLink,
        links: &[Link],
    ) -> Result<(), SetupError> {
        let vmac_conf = [
            (DEVCONF_ARP_IGNORE, 1),
            (DEVCONF_ACCEPT_LOCAL, 1),
            (DEVCONF_RP_FILTER, 0),
            (DEVCONF_PROMOTE_SECONDARIES, 1),
        ];
        rtnl.set_ipv4_conf(link.ifindex, &vmac_conf).map_err(|e| {
            failed(
                instance,
                &base.name,
                &format!(
                    "setting arp_ignore, accept_local, rp_filter on VMAC {}",
                    link.name
                ),
                e,
            )
        })?;
        if self.bases.iter().any(|b| b.ifindex == base.index) {
            return Ok(());
        }
        let Some(conf) = links
            .iter()
            .find(|l| l.ifindex == base.index)
            .and_then(|l| l.ipv4_conf)
        else {
            warn!(
                "vrrp_instance {instance}: {}: the kernel did not report its IPv4 settings; arp_ignore and arp_filter left as they are",
                base.name
            );
            return Ok(());
        };
        if conf.arp_ignore != 1 || conf.arp_filter != 1 {
            rtnl.set_ipv4_conf(
                base.index,
                &[(DEVCONF_ARP_IGNORE, 1), (DEVCONF_ARP_FILTER, 1)],
            )
            .map_err(|e| failed(instance, &base.name, "setting arp_ignore and arp_filter", e))?;
            info!(
                "{}: arp_ignore {} -> 1, arp_filter {} -> 1 for VMAC {} (restored at stop)",
                base.name, conf.arp_ignore, conf.arp_filter, link.name
            );
            self.bases.push(BaseRestore {
                ifindex: base.index,
                name: base.name.clone(),
                arp_ignore: conf.arp_ignore,
                arp_filter: conf.arp_filter,
            });
        }
        Ok(())
    }

    /// keepalived's clear_rp_filter, once.
    fn clear_rp_filter(&mut self, rtnl: &mut Rtnl, links: &[Link]) {
        if self.rp_filter_checked {
            return;
        }
        self.rp_filter_checked = true;
        let all = match sysctl::read_conf("ipv4", "all", "rp_filter") {
            Ok(0) => return,
            Ok(v) => v,
            Err(e) => {
                warn!("use_vmac: reading net.ipv4.conf.all.rp_filter: {e}");
                return;
            }
        };
        let mut restore = RpFilterRestore {
            all,
            default: None,
            raised: Vec::new(),
        };
        match sysctl::read_conf("ipv4", "default", "rp_filter") {
            Ok(d) if d < all => {
                info!("NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from {d} to {all}");
                match sysctl::write_conf("ipv4", "default", "rp_filter", all) {
                    Ok(()) => restore.default = Some(d),
                    Err(e) => warn!("use_vmac: {e}"),
                }
            }
            Ok(_) => {}
            Err(e) => warn!("use_vmac: {e}"),
        }
        for l in links {
            let Some(conf) = l.ipv4_conf else { continue };
            if conf.rp_filter < all {
                match rtnl.set_ipv4_conf(l.ifindex, &[(DEVCONF_RP_FILTER, all)]) {
                    Ok(()) => restore.raised.push((l.ifindex, conf.rp_filter)),
                    Err(e) => warn!("use_vmac: raising rp_filter of {} to {all}: {e}", l.name),
                }
            }
        }
        info!("NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from {all} to 0");
        match sysctl::write_conf("ipv4", "all", "rp_filter", 0) {
            Ok(()) => self.rp_filter = Some(restore),
            Err(e) => warn!("use_vmac: {e}"),
        }
    }

    /// The VMACs in use.
    pub fn links(&self) -> &[VmacLink] {
        &self.links
    }

    /// At stop: deletes every VMAC, puts the lower devices' arp_ignore and
    /// arp_filter and the rp_filter settings back (each only if nobody changed it since).
    pub fn teardown(&mut self) {
        if self.links.is_empty() && self.bases.is_empty() && self.rp_filter.is_none() {
            return;
        }
        let mut rtnl = match Rtnl::open() {
            Ok(r) => r,
            Err(e) => {
                warn!("use_vmac: cannot open rtnetlink to remove the VMACs: {e}");
                return;
            }
        };
        if let Some(r) = self.rp_filter.take() {
            if sysctl::read_conf("ipv4", "all", "rp_filter").ok() == Some(0) {
                info!(
                    "NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to {}",
                    r.all
                );
                if let Err(e) = sysctl::write_conf("ipv4", "all", "rp_filter", r.all) {
                    warn!("use_vmac: {e}");
                }
            }
            if let Some(d) = r.default {
                if sysctl::read_conf("ipv4", "default", "rp_filter").ok() == Some(r.all) {
                    info!("NOTICE: resetting sysctl net.ipv4.conf.default.rp_filter to {d}");
                    if let Err(e) = sysctl::write_conf("ipv4", "default", "rp_filter", d) {
                        warn!("use_vmac: {e}");
                    }
                }
            }
            let mut now: Vec<Link> = Vec::new();
            let _ = rtnl.links(|l| now.push(l));
            for (ifindex, old) in r.raised {
                let current = now.iter().find(|l| l.ifindex == ifindex);
                if current.and_then(|l| l.ipv4_conf).map(|c| c.rp_filter) == Some(r.all) {
                    if let Err(e) = rtnl.set_ipv4_conf(ifindex, &[(DEVCONF_RP_FILTER, old)]) {
                        warn!("use_vmac: restoring rp_filter of interface {ifindex}: {e}");
                    }
                }
            }
        }
        for b in self.bases.drain(..) {
            let values = [
                (DEVCONF_ARP_IGNORE, b.arp_ignore),
                (DEVCONF_ARP_FILTER, b.arp_filter),
            ];
            match rtnl.set_ipv4_conf(b.ifindex, &values) {
                Ok(()) => info!(
                    "{}: arp_ignore and arp_filter restored to {} and {}",
                    b.name, b.arp_ignore, b.arp_filter
                ),
                Err(e) => warn!("{}: restoring arp_ignore and arp_filter: {e}", b.name),
            }
        }
        for l in self.links.drain(..) {
            match rtnl.del_link(l.ifindex) {
                Ok(true) => info!("removed VMAC {}", l.name),
                Ok(false) => info!("VMAC {} was already gone", l.name),
                Err(e) => warn!("removing VMAC {}: {e}", l.name),
            }
        }
    }
}

impl Drop for Vmacs {
    /// A start that fails after making VMACs, or a daemon that ends on an
    /// error, still removes them (after an orderly stop there is nothing left).
    fn drop(&mut self) {
        self.teardown();
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_names_instance_interface_step_and_cause() {
        use std::error::Error;
        let kernel = NetlinkError::Kernel {
            errno: libc::EOPNOTSUPP,
            message: None,
        };
        let e = failed(
            "VI_1",
            "eth0",
            "creating VMAC vrrp.51",
            VmacFailure::NoMacvlan(kernel),
        );
        let text = e.to_string();
        assert!(
            text.starts_with("vrrp_instance VI_1: use_vmac: creating VMAC vrrp.51 on eth0: "),
            "{text}"
        );
        assert!(
            text.ends_with(" (the kernel has no macvlan support: module macvlan)"),
            "{text}"
        );
        // The chain reaches the kernel's answer: SetupError -> VmacError ->
        // VmacFailure -> NetlinkError.
        let failure = e.source().and_then(Error::source).expect("a VmacFailure");
        assert!(failure.source().is_some_and(|k| k.is::<NetlinkError>()));
        let named = failed("VI_2", "eth1", "naming the VMAC", VmacFailure::NoFreeName);
        assert_eq!(
            named.to_string(),
            "vrrp_instance VI_2: use_vmac: naming the VMAC on eth1: no free name"
        );
    }

    #[test]
    fn default_names_follow_keepalived() {
        assert_eq!(default_name(51, false, |_| true).unwrap(), "vrrp.51");
        let taken = ["vrrp.51", "vrrp1.51"];
        assert_eq!(
            default_name(51, false, |n| !taken.contains(&n)).unwrap(),
            "vrrp2.51"
        );
        // IPv6 tries vrrp6 second, then 1, 2, ... skipping 6.
        assert_eq!(
            default_name(51, true, |n| n != "vrrp.51").unwrap(),
            "vrrp6.51"
        );
        let taken = [
            "vrrp.9", "vrrp6.9", "vrrp1.9", "vrrp2.9", "vrrp3.9", "vrrp4.9", "vrrp5.9",
        ];
        assert_eq!(
            default_name(9, true, |n| !taken.contains(&n)).unwrap(),
            "vrrp7.9"
        );
        assert_eq!(default_name(255, false, |_| false), None);
    }

    #[test]
    fn eui64_from_mac() {
        assert_eq!(
            eui64_link_local([0x42, 0x47, 0x2a, 0x1e, 0x84, 0x91]),
            "fe80::4047:2aff:fe1e:8491".parse::<Ipv6Addr>().unwrap()
        );
    }
}
