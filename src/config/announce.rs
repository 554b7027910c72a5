//! Cross-checks of announce mode (`announce` in `[virtual_server]`,
//! `announce_device` and `announce_maintenance` in `[global]`; docs/scale-out.md).

use std::net::IpAddr;

use super::error::{ConfigError, ConfigErrorKind, ConfigWarning};
use super::model::*;

/// Announce settings that cannot work (on `announce` of a `[virtual_server]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnounceError {
    /// A fwmark service has no address to announce.
    Fwmark,
    /// Another virtual server on the same address has another announce group.
    MixedGroups {
        /// The other virtual server.
        other: String,
        /// The address.
        address: IpAddr,
        /// The other server's group (none when it is not announced).
        group: Option<String>,
    },
    /// NAT needs the replies back through the same director.
    Nat,
    /// The address is also a VRRP address.
    VrrpAddress {
        /// The address.
        address: IpAddr,
        /// The instance holding it.
        instance: String,
    },
}

impl std::fmt::Display for AnnounceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnnounceError::Fwmark => write!(f, "a fwmark service has no address to announce; announce the address services instead"),
            AnnounceError::MixedGroups { other, address, group } => write!(
                f,
                "virtual_server {other} has the same address {address} with announce {}; every virtual server on an address must have the same announce group",
                group.as_deref().unwrap_or("(none)")
            ),
            AnnounceError::Nat => write!(f, "lb_kind NAT needs the replies back through the director that saw the request, which ECMP does not promise; use DR or TUN"),
            AnnounceError::VrrpAddress { address, instance } => write!(
                f,
                "{address} is also a virtual_ipaddress of vrrp_instance {instance}; an address is either held by VRRP or announced"
            ),
        }
    }
}

impl std::error::Error for AnnounceError {}

/// The TUN device lvsd creates when `announce_device` is not set.
pub const DEFAULT_DEVICE: &str = "lvsd-anycast";

/// Refuses announce settings that cannot work and warns about those that
/// break flows when a director comes or goes.
pub(crate) fn check(
    origin: &str,
    servers: &[VirtualServer],
    instances: &[VrrpInstance],
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    for (index, vs) in servers.iter().enumerate() {
        let conflict = |error: AnnounceError| {
            ConfigError::new(origin, vs.line, ConfigErrorKind::Announce(error))
                .in_section(format!("virtual_server {}", vs.name))
                .at_key("announce")
        };
        let address = match vs.service {
            Service::Address(a) => a.ip(),
            Service::Fwmark { .. } if vs.announce.is_some() => {
                return Err(conflict(AnnounceError::Fwmark));
            }
            Service::Fwmark { .. } => continue,
        };
        same_group_per_address(servers, index, address).map_err(conflict)?;
        let Some(group) = &vs.announce else {
            continue;
        };
        announceable(vs, address, instances).map_err(conflict)?;
        warn_flow_breakers(origin, vs, group, warnings);
    }
    Ok(())
}

/// Every virtual server on one address is announced alike: the route
/// carries the address, not a port.
fn same_group_per_address(
    servers: &[VirtualServer],
    index: usize,
    address: IpAddr,
) -> Result<(), AnnounceError> {
    let Some(vs) = servers.get(index) else {
        return Ok(());
    };
    match servers.iter().take(index).find(|o| {
        matches!(o.service, Service::Address(a) if a.ip() == address) && o.announce != vs.announce
    }) {
        Some(other) => Err(AnnounceError::MixedGroups {
            other: other.name.to_string(),
            address,
            group: other.announce.as_ref().map(|g| g.to_string()),
        }),
        None => Ok(()),
    }
}

/// An announced service must survive ECMP (no NAT) and its address must not
/// also be a VRRP address.
fn announceable(
    vs: &VirtualServer,
    address: IpAddr,
    instances: &[VrrpInstance],
) -> Result<(), AnnounceError> {
    if vs.forward == ForwardMethod::Masq {
        return Err(AnnounceError::Nat);
    }
    match instances
        .iter()
        .find(|i| i.virtual_ipaddresses.iter().any(|v| v.address == address))
    {
        Some(instance) => Err(AnnounceError::VrrpAddress {
            address,
            instance: instance.name.to_string(),
        }),
        None => Ok(()),
    }
}

/// Settings that work but break flows when ECMP moves them between
/// directors: a scheduler other than mh, persistence.
fn warn_flow_breakers(
    origin: &str,
    vs: &VirtualServer,
    group: &str,
    warnings: &mut Vec<ConfigWarning>,
) {
    let warn = |key: &str, message: String| ConfigWarning {
        origin: origin.to_string(),
        line: vs.line,
        section: format!("virtual_server {}", vs.name),
        key: Some(key.into()),
        message,
    };
    if vs.scheduler != Scheduler::Mh {
        warnings.push(warn(
            "lb_algo",
            format!(
                "announce group {group}: lb_algo {} picks servers per director, so a flow that ECMP moves to another director lands on another real server and breaks; use lb_algo = mh (lvsd adds mh-port)",
                vs.scheduler.name()
            ),
        ));
    }
    if vs.persistence_timeout.is_some() {
        warnings.push(warn(
            "persistence_timeout",
            format!(
                "announce group {group}: persistence templates live on one director; another director picks by hash and may choose another server"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    fn vs(name: &str, addr: &str, extra: &str) -> String {
        format!("[virtual_server {name}]\naddress = {addr}\nport = 80\nprotocol = TCP\nlb_kind = DR\n{extra}\n[real_server {name}/10.0.1.1:80]\n")
    }

    #[test]
    fn announce_group_and_global_keys_load() {
        let text = format!(
            "[global]\nannounce_device = any0\nannounce_maintenance = yes\n{}",
            vs("web", "10.9.0.1", "lb_algo = mh\nannounce = edge")
        );
        let c = load_str(&text, "t.ini").unwrap();
        assert_eq!(c.global.announce_device.as_str(), "any0");
        assert!(c.global.announce_maintenance);
        assert_eq!(c.virtual_servers[0].announce.as_deref(), Some("edge"));
        assert!(c.warnings.iter().all(|w| !w.message.contains("announce")));
        let plain = load_str(&vs("web", "10.9.0.1", "lb_algo = rr"), "t.ini").unwrap();
        assert_eq!(plain.global.announce_device.as_str(), "lvsd-anycast");
        assert_eq!(plain.virtual_servers[0].announce, None);
    }

    #[test]
    fn vrrp_and_announce_coexist_for_different_addresses() {
        let text = format!(
            "[vrrp_instance V]\ninterface = eth0\nvirtual_router_id = 1\npriority = 100\nvirtual_ipaddress = 10.9.0.2\n{}{}",
            vs("edge", "10.9.0.1", "lb_algo = mh\nannounce = edge"),
            vs("pair", "10.9.0.2", "lb_algo = rr")
        );
        let c = load_str(&text, "t.ini").unwrap();
        assert_eq!(c.vrrp_instances.len(), 1);
        assert_eq!(c.virtual_servers[0].announce.as_deref(), Some("edge"));
        assert_eq!(c.virtual_servers[1].announce, None);
    }

    #[test]
    fn announce_without_mh_warns() {
        let c = load_str(
            &vs("web", "10.9.0.1", "lb_algo = rr\nannounce = edge"),
            "t.ini",
        )
        .unwrap();
        let w: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
        assert!(w.iter().any(|w| w.contains("use lb_algo = mh")), "{w:?}");
    }

    #[test]
    fn impossible_announce_settings_are_refused() {
        let nat = vs("web", "10.9.0.1", "lb_algo = mh\nannounce = edge")
            .replace("lb_kind = DR", "lb_kind = NAT");
        let e = load_str(&nat, "t.ini").unwrap_err().to_string();
        assert!(e.contains("virtual_server web") && e.contains("NAT"), "{e}");
        let mixed = format!(
            "{}{}",
            vs("a", "10.9.0.1", "lb_algo = mh\nannounce = edge"),
            vs("b", "10.9.0.1", "lb_algo = mh").replace("port = 80", "port = 443")
        );
        let e = load_str(&mixed, "t.ini").unwrap_err().to_string();
        assert!(
            e.contains("virtual_server b") && e.contains("same announce group"),
            "{e}"
        );
        let vrrp = format!(
            "[vrrp_instance V]\ninterface = eth0\nvirtual_router_id = 1\npriority = 100\nvirtual_ipaddress = 10.9.0.1\n{}",
            vs("web", "10.9.0.1", "lb_algo = mh\nannounce = edge")
        );
        let e = load_str(&vrrp, "t.ini").unwrap_err().to_string();
        assert!(e.contains("vrrp_instance V"), "{e}");
        let fw = "[virtual_server f]\nfwmark = 1\nlb_algo = mh\nlb_kind = DR\nannounce = edge\n[real_server f/10.0.1.1]\n";
        let e = load_str(fw, "t.ini").unwrap_err().to_string();
        assert!(e.contains("fwmark"), "{e}");
    }
}
