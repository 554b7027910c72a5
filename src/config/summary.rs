//! The short text `lvsd check` prints: what would run.

use std::fmt::Write;

use super::model::*;

/// Beyond this many real servers in all, `lvsd check` lists counts per virtual
/// server instead of one line per real server (8,192 lines help nobody).
pub const SUMMARY_LIST_REAL_SERVERS: usize = 256;

/// Checker kinds in summary order.
const CHECK_NAMES: [&str; 5] = [
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "SMTP_CHECK",
    "MISC_CHECK",
];

impl Config {
    /// A few lines naming the instances, virtual servers and real servers that would run.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let real_servers: usize = self
            .virtual_servers
            .iter()
            .map(|v| v.real_servers.len())
            .sum();
        let _ = writeln!(
            out,
            "{}: {} vrrp instance(s), {} sync group(s), {} vrrp script(s), {} virtual server(s), {} real server(s), {} warning(s)",
            self.origin,
            self.vrrp_instances.len(),
            self.sync_groups.len(),
            self.vrrp_scripts.len(),
            self.virtual_servers.len(),
            real_servers,
            self.warnings.len()
        );
        let list_real_servers = real_servers <= SUMMARY_LIST_REAL_SERVERS;
        if !list_real_servers {
            let _ = writeln!(
                out,
                "(over {SUMMARY_LIST_REAL_SERVERS} real servers: counted per virtual server, not listed)"
            );
        }
        for i in &self.vrrp_instances {
            instance(&mut out, i);
        }
        if let Some(d) = &self.global.lvs_sync_daemon {
            sync_daemon(&mut out, d);
        }
        if let Some(t) = &self.global.lvs_timeouts {
            let _ = writeln!(
                out,
                "lvs timeouts: tcp {} tcpfin {} udp {} (0 = unchanged)",
                t.tcp, t.tcp_fin, t.udp
            );
        }
        for v in &self.virtual_servers {
            virtual_server(&mut out, v, list_real_servers);
        }
        for w in &self.warnings {
            let _ = writeln!(out, "{w}");
        }
        out
    }
}

/// ` ADDRESS/LEN` for each address.
fn addresses(out: &mut String, vips: &[VirtualIp]) {
    for vip in vips {
        let _ = write!(out, " {}/{}", vip.address, vip.prefix_len);
    }
}

/// One line for a VRRP instance: where it runs, how it starts, its addresses.
fn instance(out: &mut String, i: &VrrpInstance) {
    let state = match i.state {
        VrrpState::Master => "MASTER",
        VrrpState::Backup => "BACKUP",
    };
    let version = i.version.number();
    let _ = write!(
        out,
        "vrrp_instance {} on {}: vrid {} {} priority {} v{} advert {:?}",
        i.name, i.interface, i.virtual_router_id, state, i.priority, version, i.advert_int
    );
    addresses(out, &i.virtual_ipaddresses);
    if let Some(name) = &i.use_vmac {
        let name = match name {
            Some(n) => n.to_string(),
            None => format!("vrrp.{} (or the next free name)", i.virtual_router_id),
        };
        let _ = write!(out, "; on VMAC {name}");
        if i.vmac_xmit_base {
            let _ = write!(out, ", adverts on {}", i.interface);
        }
    }
    if !i.virtual_ipaddresses_excluded.is_empty() {
        let _ = write!(out, "; excluded (not advertised):");
        addresses(out, &i.virtual_ipaddresses_excluded);
    }
    let _ = writeln!(out);
}

/// One line for the IPVS sync daemon.
fn sync_daemon(out: &mut String, d: &LvsSyncDaemon) {
    match &d.instance {
        Some(i) => {
            let _ = write!(
                out,
                "lvs sync daemon on {} following {i} (syncid {})",
                d.interface, d.sync_id
            );
        }
        None => {
            let _ = write!(
                out,
                "lvs sync daemon on {}, master and backup (syncid {})",
                d.interface, d.sync_id
            );
        }
    }
    for (what, v) in [
        ("maxlen", d.max_len.map(u32::from)),
        ("port", d.port.map(u32::from)),
        ("ttl", d.ttl.map(u32::from)),
    ] {
        if let Some(v) = v {
            let _ = write!(out, " {what} {v}");
        }
    }
    if let Some(g) = d.group {
        let _ = write!(out, " group {g}");
    }
    let _ = writeln!(out);
}

/// A virtual server's line, then one line per real server (`list`) or
/// one line of counts.
fn virtual_server(out: &mut String, v: &VirtualServer, list: bool) {
    let service = match v.service {
        Service::Address(a) => a.to_string(),
        Service::Fwmark { mark, .. } => format!("fwmark {mark}"),
    };
    let protocol = match v.protocol {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
        Protocol::Sctp => "SCTP",
    };
    let forward = match v.forward {
        ForwardMethod::Masq => "NAT",
        ForwardMethod::Route => "DR",
        ForwardMethod::Tunnel(_) => "TUN",
        ForwardMethod::Local | ForwardMethod::Bypass => v.forward.name(),
    };
    let _ = writeln!(
        out,
        "virtual_server {}: {} {} {} {}",
        v.name,
        protocol,
        service,
        v.scheduler.name(),
        forward
    );
    if !list {
        return counts(out, v);
    }
    for r in &v.real_servers {
        let _ = write!(out, "  -> {} weight {}", r.address, r.weight);
        for c in &r.checkers {
            let _ = write!(out, " {}", c.kind.keepalived_name());
        }
        let _ = writeln!(out);
    }
}

/// One line for `v`'s real servers: how many, their weights, their checkers.
fn counts(out: &mut String, v: &VirtualServer) {
    let weights = v.real_servers.iter().map(|r| r.weight);
    let (low, high) = weights.fold((u32::MAX, 0), |(l, h), w| (l.min(w), h.max(w)));
    let _ = write!(out, "  -> {} real server(s)", v.real_servers.len());
    if low == high {
        let _ = write!(out, ", weight {low}");
    } else if low <= high {
        let _ = write!(out, ", weights {low}..={high}");
    }
    let mut per_kind = [0usize; CHECK_NAMES.len()];
    let mut unchecked = 0;
    for r in &v.real_servers {
        unchecked += usize::from(r.checkers.is_empty());
        for c in &r.checkers {
            let name = c.kind.keepalived_name();
            if let Some(i) = CHECK_NAMES.iter().position(|n| *n == name) {
                per_kind[i] += 1;
            }
        }
    }
    for (name, n) in CHECK_NAMES.iter().zip(per_kind) {
        if n > 0 {
            let _ = write!(out, ", {n} {name}");
        }
    }
    if unchecked > 0 {
        let _ = write!(out, ", {unchecked} without checker");
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use crate::config::{generate::generate, load_str};

    #[test]
    fn small_configs_list_every_real_server() {
        let c = load_str(&generate(2, 3), "small.ini").unwrap();
        let s = c.summary();
        assert!(
            s.contains("  -> 172.16.1.4:10001 weight 1 TCP_CHECK\n"),
            "{s}"
        );
        assert_eq!(s.matches("  -> ").count(), 6, "{s}");
        assert!(!s.contains("counted per virtual server"), "{s}");
    }

    #[test]
    fn big_configs_count_per_virtual_server() {
        let c = load_str(&generate(10, 30), "big.ini").unwrap();
        let s = c.summary();
        assert!(s.contains("300 real server(s)"), "{s}");
        assert!(s.contains("counted per virtual server"), "{s}");
        assert!(
            s.contains("virtual_server vs9: TCP 10.100.0.1:10009 wrr DR\n  -> 30 real server(s), weight 1, 30 TCP_CHECK\n"),
            "{s}"
        );
        assert_eq!(s.matches("  -> ").count(), 10, "{s}");
        assert_eq!(s.lines().count(), 3 + 2 * 10, "{s}");
    }
}
