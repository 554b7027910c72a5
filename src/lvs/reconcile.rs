//! Reconcile: the desired table against a dump of the kernel's IPVS table, as the
//! minimal list of writes. Matching entries are adopted without a write, differing ones
//! edited, missing ones added, and only entries lvsd owns are deleted; foreign entries
//! are reported, never touched, and nothing is ever flushed (BEHAVIOUR.md, IPVS).
//!
//! Order of the writes: per service in key order, the service (new/set) then its
//! destinations (new/set); then every destination delete; then every service delete.

use std::time::Instant;

use super::table::{Table, Want};
use crate::wire::netlink::ipvs::{
    Dest, DestKey, DestStats, IpvsOp, Service, ServiceKey, TrafficStats,
};

/// The kernel's table as dumped (GET_SERVICE, then GET_DEST per service).
#[derive(Debug, Default, Clone)]
pub struct KernelTable {
    /// Every service.
    pub services: Vec<Service>,
    /// Every destination with the key of its service and its counters.
    pub dests: Vec<(ServiceKey, Dest, DestStats)>,
    /// Every service's counters (status and metrics only; the reconcile
    /// never looks at them).
    pub service_stats: Vec<(ServiceKey, TrafficStats)>,
}

impl KernelTable {
    /// An empty dump with room for `services` and `dests` entries.
    pub fn with_capacity(services: usize, dests: usize) -> KernelTable {
        KernelTable {
            services: Vec::with_capacity(services),
            dests: Vec::with_capacity(dests),
            service_stats: Vec::with_capacity(services),
        }
    }

    /// Empties the dump, keeping its memory.
    pub fn clear(&mut self) {
        self.services.clear();
        self.dests.clear();
        self.service_stats.clear();
    }

    fn sort(&mut self) {
        self.services.sort_by_key(|s| s.key);
        self.dests.sort_by_key(|(s, d, _)| (*s, d.key));
    }
}

/// A kernel entry lvsd does not own: reported by `lvsd status`, never touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foreign {
    /// A whole service (its destinations are not listed).
    Service(ServiceKey),
    /// A destination inside a service lvsd owns.
    Dest(ServiceKey, DestKey),
}

/// The outcome of one reconcile. Reuse one `Plan` so its memory is kept.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// The writes, in the order they must be sent.
    pub ops: Vec<IpvsOp>,
    /// Kernel entries lvsd does not own.
    pub foreign: Vec<Foreign>,
    /// Entries that already matched (adopted without a write).
    pub adopted: usize,
    /// Retired services kept because foreign destinations are still in them.
    pub kept_for_foreign: usize,
    del_dests: Vec<IpvsOp>,
    del_services: Vec<IpvsOp>,
}

impl Plan {
    /// Gives back what a big plan (a first reconcile of thousands of
    /// entries) grew beyond `keep` writes; the steady state needs few.
    pub fn shrink(&mut self, keep: usize) {
        for v in [&mut self.ops, &mut self.del_dests, &mut self.del_services] {
            v.clear();
            v.shrink_to(keep);
        }
    }

    /// An empty plan with room for `ops` writes.
    pub fn with_capacity(ops: usize) -> Plan {
        Plan {
            ops: Vec::with_capacity(ops),
            foreign: Vec::new(),
            adopted: 0,
            kept_for_foreign: 0,
            del_dests: Vec::new(),
            del_services: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.ops.clear();
        self.foreign.clear();
        self.del_dests.clear();
        self.del_services.clear();
        self.adopted = 0;
        self.kept_for_foreign = 0;
    }
}

/// Applies writes to a table in memory, as the kernel would: the simulated
/// kernel of `lvsd run --dry-run`. A write the kernel would refuse (a service
/// that exists, a destination of a missing service) is skipped and counted.
pub fn apply_to(kernel: &mut KernelTable, ops: &[IpvsOp]) -> usize {
    let mut refused = 0;
    for op in ops {
        match op {
            IpvsOp::NewService(s) => {
                if kernel.services.iter().any(|k| k.key == s.key) {
                    refused += 1;
                } else {
                    kernel.services.push(s.clone());
                }
            }
            IpvsOp::SetService(s) => match kernel.services.iter_mut().find(|k| k.key == s.key) {
                Some(k) => *k = s.clone(),
                None => refused += 1,
            },
            IpvsOp::DelService(key) => {
                let before = kernel.services.len();
                kernel.services.retain(|k| k.key != *key);
                kernel.dests.retain(|(s, _, _)| s != key);
                if kernel.services.len() == before {
                    refused += 1;
                }
            }
            IpvsOp::NewDest(key, d) => {
                let exists = kernel
                    .dests
                    .iter()
                    .any(|(s, k, _)| s == key && k.key == d.key);
                if exists || !kernel.services.iter().any(|k| k.key == *key) {
                    refused += 1;
                } else {
                    kernel.dests.push((*key, *d, DestStats::default()));
                }
            }
            IpvsOp::SetDest(key, d) => {
                match kernel
                    .dests
                    .iter_mut()
                    .find(|(s, k, _)| s == key && k.key == d.key)
                {
                    Some(entry) => entry.1 = *d,
                    None => refused += 1,
                }
            }
            IpvsOp::DelDest(key, dk) => {
                let before = kernel.dests.len();
                kernel.dests.retain(|(s, k, _)| !(s == key && k.key == *dk));
                if kernel.dests.len() == before {
                    refused += 1;
                }
            }
        }
    }
    refused
}

fn drained(stats: &DestStats, deadline: Instant, now: Instant) -> bool {
    stats.active_conns == 0 && stats.inactive_conns == 0 || now >= deadline
}

/// Computes the writes that make the kernel equal to `table` into `plan` (cleared first).
/// Sorts `kernel`. Retired entries that are gone from the kernel leave `table`.
pub fn reconcile(table: &mut Table, kernel: &mut KernelTable, now: Instant, plan: &mut Plan) {
    plan.clear();
    kernel.sort();
    let mut ti = 0;
    let mut ki = 0;
    let mut kd = 0; // cursor into kernel.dests
    while ti < table.services.len() || ki < kernel.services.len() {
        let tkey = table.services.get(ti).map(|s| s.spec.service.key);
        let kkey = kernel.services.get(ki).map(|s| s.key);
        let (key, in_table, in_kernel) = match (tkey, kkey) {
            (Some(t), Some(k)) if t == k => (t, true, true),
            (Some(t), Some(k)) if t < k => (t, true, false),
            (Some(t), None) => (t, true, false),
            (_, Some(k)) => (k, false, true),
            (None, None) => break,
        };
        // Kernel destinations of this service.
        while kd < kernel.dests.len() && kernel.dests[kd].0 < key {
            kd += 1;
        }
        let kstart = kd;
        while kd < kernel.dests.len() && kernel.dests[kd].0 == key {
            kd += 1;
        }
        let kdests = &kernel.dests[kstart..kd];
        match (in_table, in_kernel) {
            (false, true) => plan.foreign.push(Foreign::Service(key)),
            (true, false) => {
                let configured = table.services[ti].configured;
                if configured {
                    plan.ops
                        .push(IpvsOp::NewService(table.services[ti].spec.service.clone()));
                    merge_dests(table, &key, &[], now, plan);
                } else {
                    table.services[ti].gone = true;
                    for i in table.dest_indices(&key) {
                        table.dests[i].gone = true;
                    }
                }
            }
            (true, true) => {
                let entry = &table.services[ti];
                if entry.configured {
                    if entry.spec.service.same_settings(&kernel.services[ki]) {
                        plan.adopted += 1;
                    } else {
                        plan.ops
                            .push(IpvsOp::SetService(entry.spec.service.clone()));
                    }
                    merge_dests(table, &key, kdests, now, plan);
                } else {
                    retire_service(table, &key, kdests, now, plan);
                }
            }
            (false, false) => {}
        }
        if in_table {
            ti += 1;
        }
        if in_kernel {
            ki += 1;
        }
    }
    plan.ops.append(&mut plan.del_dests);
    plan.ops.append(&mut plan.del_services);
    table.sweep();
}

/// Merges the table's and the kernel's destinations of a configured service.
fn merge_dests(
    table: &mut Table,
    key: &ServiceKey,
    kdests: &[(ServiceKey, Dest, DestStats)],
    now: Instant,
    plan: &mut Plan,
) {
    let range = table.dest_indices(key);
    let (mut ti, mut ki) = (range.start, 0);
    while ti < range.end || ki < kdests.len() {
        let tkey = (ti < range.end).then(|| table.dests[ti].spec.dest.key);
        let kkey = kdests.get(ki).map(|(_, d, _)| d.key);
        match (tkey, kkey) {
            (Some(t), Some(k)) if t == k => {
                let (_, kdest, stats) = &kdests[ki];
                match table.want(ti) {
                    Want::Present(d) => set_or_adopt(key, d, kdest, plan),
                    Want::Absent => plan.del_dests.push(IpvsOp::DelDest(*key, t)),
                    Want::Draining(d, deadline) => {
                        let operator = table.dests[ti].drain_deadline.is_none();
                        // An operator's drain ends with the last active
                        // connection (inactive ones would hold it for the
                        // TIME_WAIT of every client); a reload's with all.
                        let done = if operator {
                            stats.active_conns == 0 || now >= deadline
                        } else {
                            drained(stats, deadline, now)
                        };
                        if done {
                            if operator {
                                table.dests[ti].admin = crate::lvs::table::Admin::Drained;
                            }
                            plan.del_dests.push(IpvsOp::DelDest(*key, t));
                        } else {
                            set_or_adopt(key, d, kdest, plan);
                        }
                    }
                }
                ti += 1;
                ki += 1;
            }
            (Some(t), k) if k.map_or(true, |k| t < k) => {
                match table.want(ti) {
                    Want::Present(d) => plan.ops.push(IpvsOp::NewDest(*key, d)),
                    Want::Absent => {}
                    // Retired by a reload and gone from the kernel: forget it.
                    // Drained by the operator: it stays configured, out of the
                    // kernel, until `enable`.
                    Want::Draining(..) => {
                        if table.dests[ti].drain_deadline.is_some() {
                            table.dests[ti].gone = true;
                        } else {
                            table.dests[ti].admin = crate::lvs::table::Admin::Drained;
                        }
                    }
                }
                ti += 1;
            }
            (_, Some(k)) => {
                plan.foreign.push(Foreign::Dest(*key, k));
                ki += 1;
            }
            _ => break,
        }
    }
}

fn set_or_adopt(key: &ServiceKey, want: Dest, have: &Dest, plan: &mut Plan) {
    if want.same_settings(have) {
        plan.adopted += 1;
    } else {
        plan.ops.push(IpvsOp::SetDest(*key, want));
    }
}

/// A service lvsd owned and the configuration dropped: drain its destinations, then
/// delete it. If foreign destinations live in it, delete only ours and keep it.
fn retire_service(
    table: &mut Table,
    key: &ServiceKey,
    kdests: &[(ServiceKey, Dest, DestStats)],
    now: Instant,
    plan: &mut Plan,
) {
    let range = table.dest_indices(key);
    let owned =
        |table: &Table, dk: &DestKey| range.clone().find(|&i| table.dests[i].spec.dest.key == *dk);
    // Our entries that the kernel no longer has are done.
    for i in range.clone() {
        let dk = table.dests[i].spec.dest.key;
        if !kdests.iter().any(|(_, d, _)| d.key == dk) {
            table.dests[i].gone = true;
        }
    }
    let mut foreign = false;
    let mut all_ready = true;
    for (_, kdest, stats) in kdests {
        match owned(table, &kdest.key) {
            None => foreign = true,
            Some(i) => {
                if let Want::Draining(_, deadline) = table.want(i) {
                    all_ready &= drained(stats, deadline, now);
                }
            }
        }
    }
    if !all_ready {
        // Quiesce every destination of the service, idle ones too, so that no new
        // connection lands on a service that is going away.
        for (_, kdest, _) in kdests {
            if let Some(i) = owned(table, &kdest.key) {
                if let Want::Draining(d, _) | Want::Present(d) = table.want(i) {
                    set_or_adopt(key, d, kdest, plan);
                }
            }
        }
        return;
    }
    if !foreign {
        plan.del_services.push(IpvsOp::DelService(*key));
        return;
    }
    plan.kept_for_foreign += 1;
    for (_, kdest, _) in kdests {
        match owned(table, &kdest.key) {
            Some(_) => plan.del_dests.push(IpvsOp::DelDest(*key, kdest.key)),
            None => plan.foreign.push(Foreign::Dest(*key, kdest.key)),
        }
    }
}

#[cfg(test)]
mod tests;
