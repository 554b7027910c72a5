//! The IPVS part of the status model: the kernel table read (in one piece
//! or in slices between VRRP timers) and put in `ipvsadm -Ln` order, and
//! lvsd's view of every configured real server.

use std::net::IpAddr;

use log::warn;

use super::{Backend, Lvs};
use crate::lvs::reconcile::{Foreign, KernelTable};
use crate::lvs::table::Want;
use crate::status::{addr_port, key_text};
use crate::wire::netlink::ipvs::{
    parse_proc_stats, AddrFamily, DestKey, ProcStatsError, ServiceKey, SyncState, TrafficStats,
};

/// Why the kernel's IPVS totals are left out of the status.
#[derive(Debug)]
enum TotalsError {
    /// /proc/net/ip_vs_stats could not be read.
    Read(std::io::Error),
    /// Its text is not what the kernel writes.
    Parse(ProcStatsError),
}

impl std::fmt::Display for TotalsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TotalsError::Read(e) => std::fmt::Display::fmt(e, f),
            TotalsError::Parse(e) => std::fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for TotalsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TotalsError::Read(e) => Some(e),
            TotalsError::Parse(e) => Some(e),
        }
    }
}

impl Lvs {
    /// The kernel's IPVS totals (/proc/net/ip_vs_stats); none in a dry run.
    fn global_totals(&mut self) -> Option<TrafficStats> {
        if !matches!(self.ipvs, Backend::Kernel(_)) {
            return None;
        }
        let parsed = crate::io::procstat::ipvs_stats_text()
            .map_err(TotalsError::Read)
            .and_then(|t| parse_proc_stats(&t).map_err(TotalsError::Parse));
        match parsed {
            Ok(t) => Some(t),
            Err(e) => {
                // Once per run: a kernel without the file keeps failing.
                if !self.totals_warned {
                    self.totals_warned = true;
                    warn!("status: /proc/net/ip_vs_stats: {e}; node_ipvs_* totals left out");
                }
                None
            }
        }
    }

    /// Starts reading the kernel table for the status model: the services
    /// now (one GET_SERVICE dump), their destinations in [`Lvs::read_step`].
    pub fn read_begin(&mut self) {
        self.read_error = None;
        self.read_next = Some(0);
        if let Err(e) = self.ipvs.dump_services(&mut self.read) {
            self.read_error = Some(e.to_string());
            self.read_next = None;
        }
    }

    /// Reads the destinations of the next services, until at least
    /// `dests` destinations are read (one GET_DEST dump per service, at most
    /// `MAX_REAL_SERVERS_PER_VS` each for lvsd's own services); true when the
    /// read is complete (or failed, or none is running).
    pub fn read_step(&mut self, dests: usize) -> bool {
        let Some(mut next) = self.read_next else {
            return true;
        };
        let before = self.read.dests.len();
        while next < self.read.services.len() && self.read.dests.len() - before < dests {
            let key = self.read.services[next].key;
            next += 1;
            if let Err(e) = self.ipvs.dump_dests(&key, &mut self.read) {
                self.read_error = Some(e.to_string());
                self.read_next = None;
                return true;
            }
        }
        let done = next >= self.read.services.len();
        self.read_next = (!done).then_some(next);
        done
    }

    /// The IPVS part of the status model, the kernel table read now in one
    /// piece (`lvsd status`).
    pub fn model(&mut self) -> crate::status::Ipvs {
        self.read_begin();
        while !self.read_step(usize::MAX) {}
        self.model_from_read()
    }

    /// The IPVS part of the status model from the last completed read
    /// ([`Lvs::read_begin`] .. [`Lvs::read_step`]): the kernel table in
    /// `ipvsadm -Ln` order with its counters, then lvsd's view of every
    /// configured real server.
    pub fn model_from_read(&mut self) -> crate::status::Ipvs {
        let mut m = self.model_counters();
        if let Some(e) = &self.read_error {
            m.dump_error = Some(e.clone());
            return m;
        }
        m.kernel = kernel_in_ipvsadm_order(&mut self.read);
        m.services = self.health_services();
        m
    }

    /// The status model's counters: reconciles, writes, the sync daemon.
    fn model_counters(&mut self) -> crate::status::Ipvs {
        let (version, conn_tab_size) = self.info;
        crate::status::Ipvs {
            version,
            conn_tab_size,
            reconciles: self.reconciles,
            writes: self.writes,
            refused: self.failures,
            sync_daemon: match self.sync_state {
                _ if self.sync_both => "master+backup",
                Some(SyncState::Master) => "master",
                Some(SyncState::Backup) => "backup",
                None => "off",
            },
            last_reconcile_us: u64::try_from(self.last_took.as_micros()).unwrap_or(u64::MAX),
            reconcile_duration: self.durations.to_histogram(),
            foreign: self.foreign.iter().map(foreign_text).collect(),
            unacknowledged_writes: self.unanswered,
            totals: self.global_totals(),
            ..Default::default()
        }
    }

    /// lvsd's view of every configured real server, by virtual server.
    fn health_services(&mut self) -> Vec<crate::status::HealthService> {
        use crate::status::{HealthService, RealServer};
        let mut services = Vec::new();
        // One sort, then a binary search per real server (a find per real
        // server was quadratic: 10,000 servers with checks, 50 M compares).
        self.reasons.sort_unstable_by_key(|r| (r.0, r.1));
        let configured: std::rc::Rc<str> = "configured".into();
        for (spec, quorum_up) in self.table.services() {
            let key = spec.service.key;
            let name = self
                .names
                .iter()
                .find(|(k, _)| *k == key)
                .map_or_else(String::new, |(_, n)| n.clone());
            let real_servers = self
                .table
                .dests(&key)
                .map(|d| {
                    let state = if d.sorry {
                        "sorry-server"
                    } else if d.draining_until.is_some() {
                        "draining"
                    } else if d.alive {
                        "alive"
                    } else {
                        "DEAD"
                    };
                    let weight = match d.want {
                        Want::Present(x) | Want::Draining(x, _) => Some(x.weight),
                        Want::Absent => None,
                    };
                    let reason = self
                        .reasons
                        .binary_search_by(|(s, k, _)| (*s, *k).cmp(&(key, d.dest.key)))
                        .map_or_else(|_| configured.clone(), |i| self.reasons[i].2.clone());
                    RealServer {
                        key: d.dest.key,
                        state,
                        alive: d.alive,
                        weight,
                        configured_weight: d.dest.weight,
                        admin: d.admin,
                        reason,
                    }
                })
                .collect();
            services.push(HealthService {
                key,
                name,
                quorum_up,
                real_servers,
            });
        }
        services
    }
}

/// The kernel table read, sorted as `ipvsadm -Ln` lists it, each service
/// with its destinations and counters.
fn kernel_in_ipvsadm_order(kernel: &mut KernelTable) -> Vec<crate::status::KernelService> {
    use crate::status::KernelService;
    let mut out = Vec::with_capacity(kernel.services.len());
    kernel
        .services
        .sort_by(|a, b| ipvsadm_service_cmp(&a.key, &b.key));
    // Destinations in the same service order, then ipvsadm's: each
    // service's run is found by walking once (not a filter per service).
    kernel.dests.sort_by(|(ka, a, _), (kb, b, _)| {
        ipvsadm_service_cmp(ka, kb).then_with(|| ipvsadm_dest_cmp(&a.key, &b.key))
    });
    // The same order as the services (the keys are unique).
    kernel
        .service_stats
        .sort_by(|(a, _), (b, _)| ipvsadm_service_cmp(a, b));
    let mut next = 0;
    for (i, s) in kernel.services.iter().enumerate() {
        let stats = match kernel.service_stats.get(i) {
            Some((k, st)) if *k == s.key => *st,
            _ => Default::default(),
        };
        let rest = &kernel.dests[next.min(kernel.dests.len())..];
        let skip = rest
            .iter()
            .take_while(|(k, _, _)| ipvsadm_service_cmp(k, &s.key).is_lt())
            .count();
        let run = rest[skip..]
            .iter()
            .take_while(|(k, _, _)| *k == s.key)
            .count();
        next += skip + run;
        out.push(KernelService {
            service: s.clone(),
            stats,
            dests: rest[skip..skip + run]
                .iter()
                .map(|(_, d, st)| (*d, *st))
                .collect(),
        });
    }
    out
}

/// C's `int r = a - b` on two 32-bit values, as ipvsadm's comparators compute it.
fn c_diff(a: u32, b: u32) -> std::cmp::Ordering {
    (a.wrapping_sub(b) as i32).cmp(&0)
}

/// ipvsadm's address comparison: 32-bit words in host order, C subtraction.
fn c_addr_cmp(a: &IpAddr, b: &IpAddr) -> std::cmp::Ordering {
    let words = |x: &IpAddr| -> [u32; 4] {
        match x {
            IpAddr::V4(v) => [u32::from(*v), 0, 0, 0],
            IpAddr::V6(v) => {
                let s = v.segments();
                [
                    u32::from(s[0]) << 16 | u32::from(s[1]),
                    u32::from(s[2]) << 16 | u32::from(s[3]),
                    u32::from(s[4]) << 16 | u32::from(s[5]),
                    u32::from(s[6]) << 16 | u32::from(s[7]),
                ]
            }
        }
    };
    let (wa, wb) = (words(a), words(b));
    wa.iter()
        .zip(wb.iter())
        .map(|(x, y)| c_diff(*x, *y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// The order `ipvsadm -L` lists services in (libipvs `ipvs_cmp_services`):
/// fwmark, family, protocol, address, port.
fn ipvsadm_service_cmp(a: &ServiceKey, b: &ServiceKey) -> std::cmp::Ordering {
    let parts = |k: &ServiceKey| match *k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (0u32, protocol.raw(), Some(addr), port),
        ServiceKey::Fwmark { mark, .. } => (mark, 0, None, 0),
    };
    let (ma, pa, aa, porta) = parts(a);
    let (mb, pb, ab, portb) = parts(b);
    c_diff(ma, mb)
        .then(a.af().raw().cmp(&b.af().raw()))
        .then(pa.cmp(&pb))
        .then(match (aa, ab) {
            (Some(x), Some(y)) => c_addr_cmp(&x, &y),
            _ => std::cmp::Ordering::Equal,
        })
        .then(porta.cmp(&portb))
}

/// The order `ipvsadm -L` lists a service's destinations in (`ipvs_cmp_dests`).
fn ipvsadm_dest_cmp(a: &DestKey, b: &DestKey) -> std::cmp::Ordering {
    AddrFamily::of(&a.addr)
        .raw()
        .cmp(&AddrFamily::of(&b.addr).raw())
        .then(c_addr_cmp(&a.addr, &b.addr))
        .then(a.port.cmp(&b.port))
}

/// How `lvsd status` names an entry lvsd does not own.
pub(super) fn foreign_text(f: &Foreign) -> String {
    match f {
        Foreign::Service(k) => format!("service {}", key_text(k)),
        Foreign::Dest(k, d) => format!(
            "real server {} in {}",
            addr_port(d.addr, d.port),
            key_text(k)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::tcp;
    use super::*;
    use crate::wire::netlink::ipvs::Protocol;

    #[test]
    fn services_sort_as_ipvsadm_lists_them() {
        let udp = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "10.0.0.1".parse().unwrap(),
            port: 53,
        };
        let fwm = ServiceKey::Fwmark {
            af: AddrFamily::V4,
            mark: 1,
        };
        let mut keys = vec![
            fwm,
            tcp("fd00::1", 80),
            udp,
            tcp("10.0.0.100", 443),
            tcp("10.0.0.100", 80),
        ];
        keys.sort_by(ipvsadm_service_cmp);
        // fwmark 0 first; then family, protocol, address, port.
        assert_eq!(
            keys,
            [
                tcp("10.0.0.100", 80),
                tcp("10.0.0.100", 443),
                udp,
                tcp("fd00::1", 80),
                fwm
            ]
        );
        let a = DestKey {
            addr: "fd00::9".parse().unwrap(),
            port: 80,
        };
        let b = DestKey {
            addr: "fd00::11".parse().unwrap(),
            port: 80,
        };
        assert_eq!(ipvsadm_dest_cmp(&a, &b), std::cmp::Ordering::Less);
    }
}
