//! The desired IPVS table: services and real servers from the configuration, their
//! health, quorum with hysteresis and the sorry server, and draining of real servers that
//! a reload removed. Pure: time comes in as `now`. Every entry here is owned by lvsd.

use core::fmt;
use std::time::{Duration, Instant};

use crate::limits::{MAX_REAL_SERVERS, MAX_VIRTUAL_SERVERS};
use crate::wire::netlink::ipvs::{Dest, DestKey, Service, ServiceKey};

/// A virtual service as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The kernel service (key, scheduler, flags, persistence).
    pub service: Service,
    /// Live weight needed to hold quorum (keepalived `quorum`, default 1).
    pub quorum: u32,
    /// Hysteresis around the quorum (keepalived `hysteresis`, default 0).
    pub hysteresis: u32,
    /// The server that replaces the pool while quorum is lost.
    pub sorry_server: Option<Dest>,
    /// keepalived's `sorry_server_inhibit`: while the quorum holds, the sorry
    /// server stays in the kernel with weight 0 instead of being removed.
    pub sorry_server_inhibit: bool,
}

impl ServiceSpec {
    /// A spec with keepalived's defaults: quorum 1, hysteresis 0, no sorry server.
    pub fn new(service: Service) -> ServiceSpec {
        ServiceSpec {
            service,
            quorum: 1,
            hysteresis: 0,
            sorry_server: None,
            sorry_server_inhibit: false,
        }
    }
}

/// A real server as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestSpec {
    /// The kernel destination with its configured weight.
    pub dest: Dest,
    /// Keep a dead server with weight 0 instead of removing it.
    pub inhibit_on_failure: bool,
}

/// Why a table change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
    /// A capacity of limits.rs is exhausted.
    Full(&'static str),
    /// The service is not in the table.
    NoService(ServiceKey),
    /// The real server is not in the service.
    NoDest(ServiceKey, DestKey),
    /// The sorry server has the address of a pool member.
    SorryIsPoolMember(ServiceKey, DestKey),
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::Full(limit) => write!(f, "IPVS table full: {limit} reached"),
            TableError::NoService(k) => write!(f, "virtual server {k}: not configured"),
            TableError::NoDest(k, d) => {
                write!(f, "virtual server {k}: real server {d} not configured")
            }
            TableError::SorryIsPoolMember(k, d) => {
                write!(
                    f,
                    "virtual server {k}: sorry_server {d} is also a real server"
                )
            }
        }
    }
}

impl core::error::Error for TableError {}

/// A quorum transition of one service (for notify_up / notify_down style hooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumEvent {
    /// Live weight rose to quorum + hysteresis: the pool is back.
    Gained(ServiceKey),
    /// Live weight fell below quorum - hysteresis: the sorry server (if any) takes over.
    Lost(ServiceKey),
}

/// What a health update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthChange {
    /// The desired kernel table changed: a reconcile will write.
    pub table_changed: bool,
    /// A quorum transition, if one happened.
    pub quorum: Option<QuorumEvent>,
}

/// An operator's override of one real server (`lvsd rs ...`). It lives in
/// the table entry, so it survives a reload that keeps the server, and is
/// lost with the process (a restart starts from the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Admin {
    /// No override: configuration and health decide.
    #[default]
    None,
    /// `lvsd rs weight`: this weight while the server is alive.
    Weight(u32),
    /// `lvsd rs drain`: weight 0 until its connections end or the deadline
    /// passes, then out of the kernel table until `enable`.
    Drain(Instant),
    /// A drain that ended: out of the kernel table until `enable`.
    Drained,
    /// `lvsd rs disable`: out of the kernel table at once, until `enable`.
    Disabled,
}

impl Admin {
    /// The name status and metrics show.
    pub fn as_str(self) -> &'static str {
        match self {
            Admin::None => "none",
            Admin::Weight(_) => "weight",
            Admin::Drain(_) => "draining",
            Admin::Drained => "drained",
            Admin::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Pool,
    Sorry,
}

#[derive(Debug, Clone)]
pub(crate) struct DestEntry {
    pub(crate) service: ServiceKey,
    pub(crate) spec: DestSpec,
    pub(crate) role: Role,
    pub(crate) alive: bool,
    pub(crate) weight_override: Option<u32>,
    pub(crate) admin: Admin,
    pub(crate) configured: bool,
    pub(crate) drain_deadline: Option<Instant>,
    pub(crate) gone: bool,
}

impl DestEntry {
    fn key(&self) -> (ServiceKey, DestKey) {
        (self.service, self.spec.dest.key)
    }

    fn live_weight(&self) -> u32 {
        if self.role == Role::Pool && self.alive && self.drain_deadline.is_none() {
            match self.admin {
                Admin::None => self.weight_override.unwrap_or(self.spec.dest.weight),
                Admin::Weight(w) => w,
                Admin::Drain(_) | Admin::Drained | Admin::Disabled => 0,
            }
        } else {
            0
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ServiceEntry {
    pub(crate) spec: ServiceSpec,
    pub(crate) quorum_up: bool,
    pub(crate) configured: bool,
    pub(crate) gone: bool,
    fresh: bool,
}

/// What lvsd wants for one real server in the kernel right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Present with these settings.
    Present(Dest),
    /// Present with weight 0 until its connections end or `deadline` passes, then removed.
    Draining(Dest, Instant),
    /// Not in the kernel table.
    Absent,
}

/// What `lvsd status` shows for one real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestStatus {
    /// The configured destination.
    pub dest: Dest,
    /// Health: all checkers up.
    pub alive: bool,
    /// This is the sorry server.
    pub sorry: bool,
    /// Removed by a reload and draining until this deadline.
    pub draining_until: Option<Instant>,
    /// What lvsd wants in the kernel.
    pub want: Want,
    /// The operator's override.
    pub admin: Admin,
}

/// The desired table. Services and real servers are kept sorted by key (after
/// [`Table::end_load`]), so lookups and the reconcile merge are O(log n) / O(n).
#[derive(Debug)]
pub struct Table {
    pub(crate) services: Vec<ServiceEntry>,
    pub(crate) dests: Vec<DestEntry>,
    sorted_services: usize,
    sorted_dests: usize,
    /// The earliest `drain_deadline` of any entry, kept up to date where
    /// those change, so `poll_at` (every wake-up) does not scan the table.
    next_drain: Option<Instant>,
    /// Some real server is under `Admin::Drain`, kept with `next_drain`
    /// (a scan of 10,000 entries every wake-up cost 15% of a busy loop).
    admin_draining: bool,
}

impl Default for Table {
    fn default() -> Self {
        Table::new()
    }
}

impl Table {
    /// An empty table with room for the capacities of limits.rs (allocated once here).
    pub fn new() -> Table {
        Table {
            services: Vec::with_capacity(MAX_VIRTUAL_SERVERS),
            dests: Vec::with_capacity(MAX_REAL_SERVERS + MAX_VIRTUAL_SERVERS),
            sorted_services: 0,
            sorted_dests: 0,
            next_drain: None,
            admin_draining: false,
        }
    }

    /// Starts loading a configuration: entries not put again before [`Table::end_load`]
    /// are retired (drained, then deleted).
    pub fn begin_load(&mut self) {
        for s in &mut self.services {
            s.configured = false;
        }
        for d in &mut self.dests {
            d.configured = false;
        }
    }

    fn find_service(&self, key: &ServiceKey) -> Option<usize> {
        self.services[..self.sorted_services]
            .binary_search_by(|s| s.spec.service.key.cmp(key))
            .ok()
    }

    fn find_dest(&self, service: &ServiceKey, dest: &DestKey) -> Option<usize> {
        let key = (*service, *dest);
        self.dests[..self.sorted_dests]
            .binary_search_by(|d| d.key().cmp(&key))
            .ok()
    }

    fn put_dest_entry(
        &mut self,
        service: ServiceKey,
        spec: DestSpec,
        role: Role,
        alive: bool,
    ) -> Result<(), TableError> {
        if let Some(i) = self.find_dest(&service, &spec.dest.key) {
            let e = &mut self.dests[i];
            if e.configured && e.role != role {
                return Err(TableError::SorryIsPoolMember(service, spec.dest.key));
            }
            e.spec = spec;
            e.role = role;
            e.configured = true;
            let was_draining = e.drain_deadline.take().is_some();
            e.gone = false;
            if role == Role::Sorry {
                e.alive = true;
            }
            if was_draining {
                self.update_next_drain();
            }
            return Ok(());
        }
        if self.dests.len() >= self.dests.capacity() {
            return Err(TableError::Full("MAX_REAL_SERVERS"));
        }
        self.dests.push(DestEntry {
            service,
            spec,
            role,
            alive: alive || role == Role::Sorry,
            weight_override: None,
            admin: Admin::None,
            configured: true,
            drain_deadline: None,
            gone: false,
        });
        Ok(())
    }

    /// Adds or updates a virtual service (keeps its quorum state when it exists).
    pub fn put_service(&mut self, spec: ServiceSpec) -> Result<(), TableError> {
        let key = spec.service.key;
        if let Some(sorry) = spec.sorry_server {
            let sorry = DestSpec {
                dest: sorry,
                inhibit_on_failure: spec.sorry_server_inhibit,
            };
            self.put_dest_entry(key, sorry, Role::Sorry, true)?;
        }
        if let Some(i) = self.find_service(&key) {
            let e = &mut self.services[i];
            e.spec = spec;
            e.configured = true;
            e.gone = false;
            return Ok(());
        }
        if self.services.len() >= self.services.capacity() {
            return Err(TableError::Full("MAX_VIRTUAL_SERVERS"));
        }
        self.services.push(ServiceEntry {
            spec,
            quorum_up: true,
            configured: true,
            gone: false,
            fresh: true,
        });
        Ok(())
    }

    /// Adds or updates a real server of `service`. `alive` is the initial health of a new
    /// entry (true without `alpha`); an existing entry keeps its health.
    pub fn put_dest(
        &mut self,
        service: &ServiceKey,
        spec: DestSpec,
        alive: bool,
    ) -> Result<(), TableError> {
        self.put_dest_entry(*service, spec, Role::Pool, alive)
    }

    /// Ends a load: sorts, retires what was not put again (draining until
    /// `now + drain_timeout`), and evaluates quorum for new services.
    pub fn end_load(&mut self, now: Instant, drain_timeout: Duration) {
        // Stable sort: for duplicate keys, the later put sits last and wins.
        self.services.sort_by_key(|s| s.spec.service.key);
        self.services.dedup_by(|later, earlier| {
            let same = later.spec.service.key == earlier.spec.service.key;
            if same {
                core::mem::swap(later, earlier);
            }
            same
        });
        self.dests.sort_by_key(|d| d.key());
        self.dests.dedup_by(|later, earlier| {
            let same = later.key() == earlier.key();
            if same {
                core::mem::swap(later, earlier);
            }
            same
        });
        self.sorted_services = self.services.len();
        self.sorted_dests = self.dests.len();
        // A silly timeout from the config must not overflow Instant: cap it at a year.
        let year = Duration::from_secs(365 * 24 * 3600);
        let deadline = now.checked_add(drain_timeout.min(year)).unwrap_or(now);
        for i in 0..self.dests.len() {
            let svc_configured = self
                .find_service(&self.dests[i].service)
                .is_some_and(|s| self.services[s].configured);
            let d = &mut self.dests[i];
            if (!d.configured || !svc_configured) && d.drain_deadline.is_none() {
                d.drain_deadline = Some(deadline);
            }
        }
        self.update_next_drain();
        for i in 0..self.services.len() {
            let key = self.services[i].spec.service.key;
            if self.services[i].fresh {
                // A new service starts from the plain threshold; hysteresis applies later.
                let live = self.live_weight(&key);
                let s = &mut self.services[i];
                s.quorum_up = live >= s.spec.quorum;
                s.fresh = false;
            } else {
                let _ = self.reevaluate_quorum(&key);
            }
        }
    }

    fn dest_range(&self, service: &ServiceKey) -> core::ops::Range<usize> {
        let sorted = &self.dests[..self.sorted_dests];
        let start = sorted.partition_point(|d| d.service < *service);
        let end = sorted.partition_point(|d| d.service <= *service);
        start..end
    }

    fn live_weight(&self, service: &ServiceKey) -> u32 {
        self.dests[self.dest_range(service)]
            .iter()
            .fold(0u32, |acc, d| acc.saturating_add(d.live_weight()))
    }

    fn reevaluate_quorum(&mut self, service: &ServiceKey) -> Option<QuorumEvent> {
        let i = self.find_service(service)?;
        let live = self.live_weight(service);
        let s = &mut self.services[i];
        let q = s.spec.quorum;
        let h = s.spec.hysteresis;
        if s.quorum_up && live < q.saturating_sub(h) {
            s.quorum_up = false;
            Some(QuorumEvent::Lost(*service))
        } else if !s.quorum_up && live >= q.saturating_add(h) {
            s.quorum_up = true;
            Some(QuorumEvent::Gained(*service))
        } else {
            None
        }
    }

    fn health_update(
        &mut self,
        service: &ServiceKey,
        dest: &DestKey,
        f: impl FnOnce(&mut DestEntry),
    ) -> Result<HealthChange, TableError> {
        let i = self
            .find_dest(service, dest)
            .ok_or(TableError::NoDest(*service, *dest))?;
        if self.dests[i].role == Role::Sorry {
            return Ok(HealthChange::default());
        }
        let before = self.want(i);
        let sorry_before = self.sorry_want(service);
        f(&mut self.dests[i]);
        let quorum = self.reevaluate_quorum(service);
        let changed = before != self.want(i)
            || sorry_before != self.sorry_want(service)
            || (quorum.is_some()
                && self
                    .services
                    .iter()
                    .any(|s| s.spec.service.key == *service && s.spec.sorry_server.is_some()));
        Ok(HealthChange {
            table_changed: changed,
            quorum,
        })
    }

    fn sorry_want(&self, service: &ServiceKey) -> Option<Want> {
        self.dest_range(service)
            .find(|&i| self.dests[i].role == Role::Sorry)
            .map(|i| self.want(i))
    }

    /// Sets a real server alive (all checkers up) or dead.
    pub fn set_alive(
        &mut self,
        service: &ServiceKey,
        dest: &DestKey,
        alive: bool,
    ) -> Result<HealthChange, TableError> {
        self.health_update(service, dest, |d| d.alive = alive)
    }

    /// Overrides a real server's weight (MISC_CHECK `misc_dynamic`); `None` restores the
    /// configured weight.
    pub fn set_weight(
        &mut self,
        service: &ServiceKey,
        dest: &DestKey,
        weight: Option<u32>,
    ) -> Result<HealthChange, TableError> {
        self.health_update(service, dest, |d| d.weight_override = weight)
    }

    pub(crate) fn want(&self, i: usize) -> Want {
        let Some(d) = self.dests.get(i) else {
            return Want::Absent;
        };
        let svc = self.find_service(&d.service).map(|s| &self.services[s]);
        let quorum_up = svc.map_or(true, |s| s.quorum_up);
        let has_sorry = svc.is_some_and(|s| s.spec.sorry_server.is_some());
        let mut dest = d.spec.dest;
        if let Some(deadline) = d.drain_deadline {
            dest.weight = 0;
            return Want::Draining(dest, deadline);
        }
        if d.role == Role::Pool {
            match d.admin {
                Admin::None | Admin::Weight(_) => {}
                Admin::Disabled | Admin::Drained => return Want::Absent,
                Admin::Drain(deadline) => {
                    dest.weight = 0;
                    return Want::Draining(dest, deadline);
                }
            }
        }
        match d.role {
            Role::Sorry if quorum_up && d.spec.inhibit_on_failure => {
                dest.weight = 0;
                Want::Present(dest)
            }
            Role::Sorry if quorum_up => Want::Absent,
            Role::Sorry => Want::Present(dest),
            Role::Pool if !quorum_up && has_sorry => Want::Absent,
            Role::Pool if d.alive => {
                dest.weight = match d.admin {
                    Admin::Weight(w) => w,
                    _ => d.weight_override.unwrap_or(dest.weight),
                };
                Want::Present(dest)
            }
            Role::Pool if d.spec.inhibit_on_failure => {
                dest.weight = 0;
                Want::Present(dest)
            }
            Role::Pool => Want::Absent,
        }
    }

    /// Quorum state of a service (`None` if unknown).
    pub fn quorum_up(&self, service: &ServiceKey) -> Option<bool> {
        self.find_service(service)
            .map(|i| self.services[i].quorum_up)
    }

    /// The configured services, in key order, with their quorum state.
    pub fn services(&self) -> impl Iterator<Item = (&ServiceSpec, bool)> + '_ {
        self.services
            .iter()
            .filter(|s| s.configured)
            .map(|s| (&s.spec, s.quorum_up))
    }

    /// Status of every real server (pool and sorry) of `service`, in key order.
    pub fn dests(&self, service: &ServiceKey) -> impl Iterator<Item = DestStatus> + '_ {
        self.dest_range(service).map(move |i| {
            let d = &self.dests[i];
            DestStatus {
                dest: d.spec.dest,
                alive: d.alive,
                sorry: d.role == Role::Sorry,
                draining_until: d.drain_deadline,
                want: self.want(i),
                admin: d.admin,
            }
        })
    }

    /// Earliest drain deadline: the reconcile should run then to delete the entry.
    pub fn poll_at(&self) -> Option<Instant> {
        self.next_drain
    }

    fn update_next_drain(&mut self) {
        self.next_drain = self
            .dests
            .iter()
            .filter_map(|d| match d.admin {
                Admin::Drain(at) => Some(d.drain_deadline.map_or(at, |r| r.min(at))),
                _ => d.drain_deadline,
            })
            .min();
        self.admin_draining = self
            .dests
            .iter()
            .any(|d| matches!(d.admin, Admin::Drain(_)));
    }

    /// Sets the operator's override of a real server (`Admin::None` is
    /// `enable`). A sorry server cannot be overridden: the quorum decides it.
    pub fn set_admin(
        &mut self,
        service: &ServiceKey,
        dest: &DestKey,
        admin: Admin,
    ) -> Result<HealthChange, TableError> {
        let i = self
            .find_dest(service, dest)
            .ok_or(TableError::NoDest(*service, *dest))?;
        if self.dests[i].role == Role::Sorry || !self.dests[i].configured {
            return Err(TableError::NoDest(*service, *dest));
        }
        let change = self.health_update(service, dest, |d| d.admin = admin)?;
        self.update_next_drain();
        Ok(change)
    }

    /// True while some operator drain still waits for its connections.
    pub fn admin_draining(&self) -> bool {
        self.admin_draining
    }

    /// Drops entries the reconcile marked gone (retired and no longer in the kernel).
    pub(crate) fn sweep(&mut self) {
        self.dests.retain(|d| !d.gone);
        self.services.retain(|s| !s.gone);
        self.update_next_drain();
        self.sorted_dests = self.dests.len();
        self.sorted_services = self.services.len();
    }

    /// Index range of `service`'s real servers (for the reconcile merge).
    pub(crate) fn dest_indices(&self, service: &ServiceKey) -> core::ops::Range<usize> {
        self.dest_range(service)
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;
    use crate::wire::netlink::ipvs::{ForwardMethod, Protocol, Scheduler};
    use std::net::{IpAddr, Ipv4Addr};

    pub(crate) fn svc(n: u8) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
            port: 80,
        }
    }

    pub(crate) fn rs(n: u8, weight: u32) -> DestSpec {
        DestSpec {
            dest: Dest::new(
                IpAddr::V4(Ipv4Addr::new(10, 0, 1, n)),
                80,
                ForwardMethod::Route,
                weight,
            ),
            inhibit_on_failure: false,
        }
    }

    fn table_with(quorum: u32, hysteresis: u32, sorry: bool) -> (Table, Instant) {
        let now = Instant::now();
        let mut t = Table::new();
        t.begin_load();
        let mut spec = ServiceSpec::new(Service::new(svc(100), Scheduler::Rr));
        spec.quorum = quorum;
        spec.hysteresis = hysteresis;
        if sorry {
            spec.sorry_server = Some(rs(99, 1).dest);
        }
        t.put_service(spec).unwrap();
        for n in 1..=3 {
            t.put_dest(&svc(100), rs(n, 1), true).unwrap();
        }
        t.end_load(now, Duration::from_secs(30));
        (t, now)
    }

    fn want(t: &Table, n: u8) -> Want {
        t.dests(&svc(100))
            .find(|d| d.dest.key == rs(n, 1).dest.key)
            .unwrap()
            .want
    }

    #[test]
    fn dead_server_is_removed_or_inhibited() {
        let (mut t, _) = table_with(1, 0, false);
        let ch = t.set_alive(&svc(100), &rs(1, 1).dest.key, false).unwrap();
        assert!(ch.table_changed);
        assert_eq!(want(&t, 1), Want::Absent);
        // Same report again: nothing changes.
        assert!(
            !t.set_alive(&svc(100), &rs(1, 1).dest.key, false)
                .unwrap()
                .table_changed
        );

        let mut inhibited = rs(2, 5);
        inhibited.inhibit_on_failure = true;
        t.begin_load();
        t.put_service(ServiceSpec::new(Service::new(svc(100), Scheduler::Rr)))
            .unwrap();
        t.put_dest(&svc(100), rs(1, 1), true).unwrap();
        t.put_dest(&svc(100), inhibited, true).unwrap();
        t.put_dest(&svc(100), rs(3, 1), true).unwrap();
        t.end_load(Instant::now(), Duration::from_secs(30));
        t.set_alive(&svc(100), &inhibited.dest.key, false).unwrap();
        let mut zero = inhibited.dest;
        zero.weight = 0;
        assert_eq!(want(&t, 2), Want::Present(zero));
        t.set_alive(&svc(100), &inhibited.dest.key, true).unwrap();
        assert_eq!(want(&t, 2), Want::Present(inhibited.dest));
        // Reload kept the health of server 1 (dead).
        assert_eq!(want(&t, 1), Want::Absent);
    }

    #[test]
    fn dynamic_weight_overrides_and_restores() {
        let (mut t, _) = table_with(1, 0, false);
        let k = rs(1, 1).dest.key;
        assert!(
            t.set_weight(&svc(100), &k, Some(198))
                .unwrap()
                .table_changed
        );
        let Want::Present(d) = want(&t, 1) else {
            panic!()
        };
        assert_eq!(d.weight, 198);
        t.set_weight(&svc(100), &k, None).unwrap();
        assert_eq!(want(&t, 1), Want::Present(rs(1, 1).dest));
        assert_eq!(
            t.set_alive(&svc(100), &rs(7, 1).dest.key, true),
            Err(TableError::NoDest(svc(100), rs(7, 1).dest.key))
        );
    }

    #[test]
    fn quorum_with_hysteresis_swaps_in_the_sorry_server() {
        // quorum 2, hysteresis 1: lost below 1 (i.e. at 0), gained at >= 3.
        let (mut t, _) = table_with(2, 1, true);
        assert_eq!(t.quorum_up(&svc(100)), Some(true));
        assert_eq!(want(&t, 99), Want::Absent);
        let s = svc(100);
        assert_eq!(
            t.set_alive(&s, &rs(1, 1).dest.key, false).unwrap().quorum,
            None
        );
        assert_eq!(
            t.set_alive(&s, &rs(2, 1).dest.key, false).unwrap().quorum,
            None
        );
        let ch = t.set_alive(&s, &rs(3, 1).dest.key, false).unwrap();
        assert_eq!(ch.quorum, Some(QuorumEvent::Lost(s)));
        assert!(ch.table_changed);
        assert_eq!(want(&t, 99), Want::Present(rs(99, 1).dest));
        // Two back (live 2) is not enough with hysteresis 1; the pool stays out.
        assert_eq!(
            t.set_alive(&s, &rs(1, 1).dest.key, true).unwrap().quorum,
            None
        );
        assert_eq!(
            t.set_alive(&s, &rs(2, 1).dest.key, true).unwrap().quorum,
            None
        );
        assert_eq!(want(&t, 1), Want::Absent, "sorry server replaces the pool");
        let ch = t.set_alive(&s, &rs(3, 1).dest.key, true).unwrap();
        assert_eq!(ch.quorum, Some(QuorumEvent::Gained(s)));
        assert_eq!(want(&t, 99), Want::Absent);
        assert_eq!(want(&t, 1), Want::Present(rs(1, 1).dest));
    }

    #[test]
    fn reload_drains_removed_servers_and_keeps_the_rest() {
        let (mut t, now) = table_with(1, 0, false);
        t.begin_load();
        t.put_service(ServiceSpec::new(Service::new(svc(100), Scheduler::Rr)))
            .unwrap();
        t.put_dest(&svc(100), rs(1, 1), true).unwrap();
        t.put_dest(&svc(100), rs(3, 1), true).unwrap();
        t.end_load(now, Duration::from_secs(30));
        let mut zero = rs(2, 1).dest;
        zero.weight = 0;
        assert_eq!(
            want(&t, 2),
            Want::Draining(zero, now + Duration::from_secs(30))
        );
        assert_eq!(t.poll_at(), Some(now + Duration::from_secs(30)));
        // Put back by a later reload: draining is cancelled.
        t.begin_load();
        t.put_service(ServiceSpec::new(Service::new(svc(100), Scheduler::Rr)))
            .unwrap();
        for n in 1..=3 {
            t.put_dest(&svc(100), rs(n, 1), true).unwrap();
        }
        t.end_load(now, Duration::from_secs(30));
        assert_eq!(want(&t, 2), Want::Present(rs(2, 1).dest));
        assert_eq!(t.poll_at(), None);
    }

    #[test]
    fn sorry_server_may_not_be_a_pool_member() {
        let (mut t, now) = table_with(1, 0, false);
        t.begin_load();
        t.put_service(ServiceSpec::new(Service::new(svc(100), Scheduler::Rr)))
            .unwrap();
        t.put_dest(&svc(100), rs(1, 1), true).unwrap();
        let mut spec = ServiceSpec::new(Service::new(svc(100), Scheduler::Rr));
        spec.sorry_server = Some(rs(1, 1).dest);
        assert_eq!(
            t.put_service(spec),
            Err(TableError::SorryIsPoolMember(svc(100), rs(1, 1).dest.key))
        );
        t.end_load(now, Duration::from_secs(1));
    }

    #[test]
    fn capacity_is_enforced() {
        let mut t = Table::new();
        t.begin_load();
        let mut last = Ok(());
        for i in 0..=crate::limits::MAX_VIRTUAL_SERVERS as u32 {
            let key = ServiceKey::Fwmark {
                af: crate::wire::netlink::ipvs::AddrFamily::V4,
                mark: i + 1,
            };
            last = t.put_service(ServiceSpec::new(Service::new(key, Scheduler::Wlc)));
        }
        assert_eq!(last, Err(TableError::Full("MAX_VIRTUAL_SERVERS")));
    }
}
