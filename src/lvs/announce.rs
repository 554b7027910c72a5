//! Announce mode: when a virtual address is announced by route (docs/scale-out.md).
//! Pure: the daemon feeds it quorum, maintenance and stop, and carries out the
//! [`AnnounceAction`]s it returns on the TUN device (`io::anycast`).
//!
//! An address is announced while lvsd runs, the IPVS table has been written
//! once, every virtual server on the address holds quorum, and neither the
//! configuration (`announce_maintenance`) nor the operator (`lvsd announce
//! withdraw`) asks for maintenance. When lvsd dies the kernel withdraws it
//! (the device goes with the process): nothing here has to run for that.

use std::net::IpAddr;

use crate::wire::netlink::ipvs::ServiceKey;

/// Why an address is not announced (for logs and `lvsd status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawn {
    /// The IPVS table has not been written yet.
    TableNotReady,
    /// This virtual server has lost quorum.
    Quorum(ServiceKey),
    /// `announce_maintenance = yes` in the configuration.
    Configured,
    /// `lvsd announce withdraw`.
    Operator,
    /// lvsd is stopping.
    Stopping,
    /// The address left the configuration (reload).
    Removed,
}

impl std::fmt::Display for Withdrawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Withdrawn::TableNotReady => write!(f, "IPVS table not written yet"),
            Withdrawn::Quorum(k) => write!(f, "quorum lost on {k}"),
            Withdrawn::Configured => write!(f, "announce_maintenance = yes"),
            Withdrawn::Operator => write!(f, "withdrawn by the operator"),
            Withdrawn::Stopping => write!(f, "lvsd stopping"),
            Withdrawn::Removed => write!(f, "no longer in the configuration"),
        }
    }
}

/// What the daemon must do on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnounceAction {
    /// Put the address on the announce device (the routing daemon exports it).
    Announce(IpAddr),
    /// Take it off (the routing daemon withdraws it).
    Withdraw(IpAddr, Withdrawn),
}

#[derive(Debug, Clone)]
struct Vip {
    address: IpAddr,
    group: String,
    /// The services on the address and whether each holds quorum.
    services: Vec<(ServiceKey, bool)>,
    operator: bool,
    /// What the device holds, as far as the daemon has told us.
    announced: bool,
}

/// The announce state of every announced address.
#[derive(Debug, Clone, Default)]
pub struct Announcer {
    vips: Vec<Vip>,
    maintenance: bool,
    table_ready: bool,
    stopping: bool,
}

impl Announcer {
    /// No announced addresses.
    pub fn new() -> Announcer {
        Announcer::default()
    }

    /// Loads (or reloads) the announced services as (group, service) pairs;
    /// the address is the service's. Quorum starts up (as the IPVS table's
    /// does) and operator withdrawals of addresses that stay are kept.
    pub fn load<'a>(
        &mut self,
        services: impl IntoIterator<Item = (&'a str, ServiceKey)>,
        maintenance: bool,
    ) {
        let old = std::mem::take(&mut self.vips);
        for (group, key) in services {
            let Some(address) = service_address(&key) else {
                continue;
            };
            let quorum = old
                .iter()
                .flat_map(|v| v.services.iter())
                .find(|(k, _)| *k == key)
                .map_or(true, |(_, q)| *q);
            match self.vips.iter_mut().find(|v| v.address == address) {
                Some(vip) => vip.services.push((key, quorum)),
                None => {
                    let before = old.iter().find(|v| v.address == address);
                    self.vips.push(Vip {
                        address,
                        group: group.to_owned(),
                        services: vec![(key, quorum)],
                        operator: before.is_some_and(|v| v.operator),
                        announced: before.is_some_and(|v| v.announced),
                    });
                }
            }
        }
        // Addresses that left the configuration are withdrawn by poll_action.
        for gone in old.into_iter().filter(|o| o.announced) {
            if !self.vips.iter().any(|v| v.address == gone.address) {
                self.vips.push(Vip {
                    services: Vec::new(),
                    ..gone
                });
            }
        }
        self.maintenance = maintenance;
    }

    /// True when any address is announced by route.
    pub fn is_empty(&self) -> bool {
        self.vips.iter().all(|v| v.services.is_empty())
    }

    /// Every announced address (configured), in load order.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.vips
            .iter()
            .filter(|v| !v.services.is_empty())
            .map(|v| v.address)
    }

    /// Asks `quorum` for every announced service (`None`: unknown, unchanged).
    pub fn sync_quorum(&mut self, quorum: impl Fn(&ServiceKey) -> Option<bool>) {
        for vip in &mut self.vips {
            for (k, q) in &mut vip.services {
                if let Some(up) = quorum(k) {
                    *q = up;
                }
            }
        }
    }

    /// The IPVS table was written (the first reconcile ran).
    pub fn set_table_ready(&mut self) {
        self.table_ready = true;
    }

    /// A service's quorum state.
    pub fn set_quorum(&mut self, service: &ServiceKey, up: bool) {
        for vip in &mut self.vips {
            for (k, q) in &mut vip.services {
                if k == service {
                    *q = up;
                }
            }
        }
    }

    /// `lvsd announce withdraw|restore [GROUP]`: how many addresses it touched.
    pub fn set_operator(&mut self, group: Option<&str>, withdrawn: bool) -> usize {
        let mut n = 0;
        for vip in &mut self.vips {
            if !vip.services.is_empty() && group.map_or(true, |g| g == vip.group) {
                vip.operator = withdrawn;
                n += 1;
            }
        }
        n
    }

    /// lvsd is stopping: withdraw everything.
    pub fn stop(&mut self) {
        self.stopping = true;
    }

    /// Why `address` is not announced, or `None` when it should be.
    fn why_not(&self, vip: &Vip) -> Option<Withdrawn> {
        if vip.services.is_empty() {
            return Some(Withdrawn::Removed);
        }
        if self.stopping {
            return Some(Withdrawn::Stopping);
        }
        if self.maintenance {
            return Some(Withdrawn::Configured);
        }
        if vip.operator {
            return Some(Withdrawn::Operator);
        }
        if !self.table_ready {
            return Some(Withdrawn::TableNotReady);
        }
        vip.services
            .iter()
            .find(|(_, q)| !q)
            .map(|(k, _)| Withdrawn::Quorum(*k))
    }

    /// The next change to carry out; the daemon applies it and calls again
    /// until `None`. An action counts as done once returned: when applying
    /// it fails, the daemon calls [`Announcer::failed`] so it is retried.
    pub fn poll_action(&mut self) -> Option<AnnounceAction> {
        let mut found = None;
        for (i, vip) in self.vips.iter().enumerate() {
            let why = self.why_not(vip);
            match (why, vip.announced) {
                (None, false) => {
                    found = Some((i, AnnounceAction::Announce(vip.address)));
                    break;
                }
                (Some(w), true) => {
                    found = Some((i, AnnounceAction::Withdraw(vip.address, w)));
                    break;
                }
                _ => {}
            }
        }
        let (i, action) = found?;
        let vip = self.vips.get_mut(i)?;
        vip.announced = matches!(action, AnnounceAction::Announce(_));
        if !vip.announced && vip.services.is_empty() {
            self.vips.remove(i);
        }
        Some(action)
    }

    /// Applying `action` failed: the next poll tries again.
    pub fn failed(&mut self, action: AnnounceAction) {
        let (address, was) = match action {
            AnnounceAction::Announce(a) => (a, false),
            AnnounceAction::Withdraw(a, _) => (a, true),
        };
        if let Some(vip) = self.vips.iter_mut().find(|v| v.address == address) {
            vip.announced = was;
        }
    }

    /// Every announced address with its group and, when withdrawn, why
    /// (the status model; the same facts as [`Announcer::status`]).
    pub fn states(&self) -> impl Iterator<Item = (IpAddr, &str, Option<Withdrawn>)> + '_ {
        self.vips
            .iter()
            .filter(|v| !v.services.is_empty())
            .map(|v| (v.address, v.group.as_str(), self.why_not(v)))
    }

    /// One line per address for `lvsd status`.
    pub fn status(&self, out: &mut String) {
        use std::fmt::Write;
        for vip in self.vips.iter().filter(|v| !v.services.is_empty()) {
            let _ = match self.why_not(vip) {
                None => writeln!(
                    out,
                    "announce {} group {}: announced",
                    vip.address, vip.group
                ),
                Some(w) => writeln!(
                    out,
                    "announce {} group {}: withdrawn ({w})",
                    vip.address, vip.group
                ),
            };
        }
    }
}

fn service_address(key: &ServiceKey) -> Option<IpAddr> {
    match key {
        ServiceKey::Addr { addr, .. } => Some(*addr),
        ServiceKey::Fwmark { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(addr: &str, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: crate::wire::netlink::ipvs::Protocol::Tcp,
            addr: addr.parse().unwrap(),
            port,
        }
    }

    fn drain(a: &mut Announcer) -> Vec<AnnounceAction> {
        std::iter::from_fn(|| a.poll_action()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn announces_once_the_table_is_written_and_withdraws_on_quorum_loss() {
        let (web, tls) = (tcp("10.9.0.1", 80), tcp("10.9.0.1", 443));
        let mut a = Announcer::new();
        a.load([("edge", web), ("edge", tls)], false);
        assert_eq!(a.addresses().collect::<Vec<_>>(), [ip("10.9.0.1")]);
        assert_eq!(drain(&mut a), []);
        a.set_table_ready();
        assert_eq!(drain(&mut a), [AnnounceAction::Announce(ip("10.9.0.1"))]);
        assert_eq!(drain(&mut a), []);
        // One service of the address without quorum withdraws the address.
        a.set_quorum(&tls, false);
        assert_eq!(
            drain(&mut a),
            [AnnounceAction::Withdraw(
                ip("10.9.0.1"),
                Withdrawn::Quorum(tls)
            )]
        );
        a.set_quorum(&web, false);
        assert_eq!(drain(&mut a), []);
        a.set_quorum(&web, true);
        assert_eq!(drain(&mut a), []);
        a.sync_quorum(|k| (*k == tls).then_some(true));
        assert_eq!(drain(&mut a), [AnnounceAction::Announce(ip("10.9.0.1"))]);
    }

    #[test]
    fn maintenance_operator_and_stop_withdraw() {
        let (a1, b1) = (tcp("10.9.0.1", 80), tcp("10.9.0.2", 80));
        let mut a = Announcer::new();
        a.load([("edge", a1), ("core", b1)], false);
        a.set_table_ready();
        assert_eq!(drain(&mut a).len(), 2);
        assert_eq!(a.set_operator(Some("core"), true), 1);
        assert_eq!(
            drain(&mut a),
            [AnnounceAction::Withdraw(
                ip("10.9.0.2"),
                Withdrawn::Operator
            )]
        );
        assert_eq!(a.set_operator(Some("nope"), true), 0);
        // A reload keeps the operator's withdrawal and applies the config's.
        a.load([("edge", a1), ("core", b1)], true);
        assert_eq!(
            drain(&mut a),
            [AnnounceAction::Withdraw(
                ip("10.9.0.1"),
                Withdrawn::Configured
            )]
        );
        a.load([("edge", a1), ("core", b1)], false);
        assert_eq!(drain(&mut a), [AnnounceAction::Announce(ip("10.9.0.1"))]);
        assert_eq!(a.set_operator(None, false), 2);
        assert_eq!(drain(&mut a), [AnnounceAction::Announce(ip("10.9.0.2"))]);
        let mut s = String::new();
        a.status(&mut s);
        assert!(s.contains("announce 10.9.0.2 group core: announced"), "{s}");
        a.stop();
        assert_eq!(
            drain(&mut a),
            [
                AnnounceAction::Withdraw(ip("10.9.0.1"), Withdrawn::Stopping),
                AnnounceAction::Withdraw(ip("10.9.0.2"), Withdrawn::Stopping)
            ]
        );
    }

    #[test]
    fn reload_withdraws_removed_addresses_and_failures_retry() {
        let (a1, b1) = (tcp("10.9.0.1", 80), tcp("10.9.0.2", 80));
        let mut a = Announcer::new();
        a.load([("edge", a1), ("edge", b1)], false);
        a.set_table_ready();
        let first = a.poll_action().unwrap();
        a.failed(first);
        assert_eq!(drain(&mut a).len(), 2);
        a.load([("edge", a1)], false);
        assert_eq!(
            drain(&mut a),
            [AnnounceAction::Withdraw(ip("10.9.0.2"), Withdrawn::Removed)]
        );
        assert_eq!(a.addresses().count(), 1);
        assert!(!a.is_empty());
        a.load([], false);
        assert!(a.is_empty());
    }
}
