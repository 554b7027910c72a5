//! The short text `lvsd check` prints: what would run.

use std::fmt::Write;

use super::model::*;

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
        for i in &self.vrrp_instances {
            let state = match i.state {
                VrrpState::Master => "MASTER",
                VrrpState::Backup => "BACKUP",
            };
            let version = match i.version {
                VrrpVersion::V2 => 2,
                VrrpVersion::V3 => 3,
            };
            let _ = write!(
                out,
                "vrrp_instance {} on {}: vrid {} {} priority {} v{} advert {:?}",
                i.name, i.interface, i.virtual_router_id, state, i.priority, version, i.advert_int
            );
            for vip in &i.virtual_ipaddresses {
                let _ = write!(out, " {}/{}", vip.address, vip.prefix_len);
            }
            let _ = writeln!(out);
        }
        if let Some(d) = &self.global.lvs_sync_daemon {
            let _ = writeln!(
                out,
                "lvs sync daemon on {} following {} (syncid {})",
                d.interface, d.instance, d.sync_id
            );
        }
        for v in &self.virtual_servers {
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
                ForwardMethod::Nat => "NAT",
                ForwardMethod::Dr => "DR",
                ForwardMethod::Tun(_) => "TUN",
            };
            let _ = writeln!(
                out,
                "virtual_server {}: {} {} {} {}",
                v.name,
                protocol,
                service,
                v.scheduler.kernel_name(),
                forward
            );
            for r in &v.real_servers {
                let _ = write!(out, "  -> {} weight {}", r.address, r.weight);
                for c in &r.checkers {
                    let _ = write!(out, " {}", c.kind.keepalived_name());
                }
                let _ = writeln!(out);
            }
        }
        for w in &self.warnings {
            let _ = writeln!(out, "{w}");
        }
        out
    }
}
