//! The status as Prometheus text exposition (format 0.0.4). Where a metric
//! means what an existing exporter's does, it has that exporter's name and
//! labels, so dashboards and alerts keep working: mehdy/keepalived-exporter
//! (`keepalived_*`, labels `iname`, `intf`, `vrid`) and node_exporter's ipvs
//! collector (`node_ipvs_backend_*`, labels `local_address`, `local_port`,
//! `remote_address`, `remote_port`, `proto`, `local_mark`). The rest is
//! `lvsd_*`; the table is in docs/operations.md.

use std::fmt::Write;

use super::{Histogram, Status, HISTOGRAM_BOUNDS_US};
use crate::lvs::table::Admin;
use crate::wire::netlink::ipvs::{DestStats, ServiceKey};

/// `Content-Type` of the answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// keepalived's state numbers, as keepalived-exporter exports them.
pub fn state_number(state: &str) -> u8 {
    match state {
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 0,
    }
}

/// keepalived-exporter's counter for a drop reason, where one means the same.
fn keepalived_drop_name(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "truncated" => "keepalived_packet_length_errors_total",
        "interval_mismatch" => "keepalived_advertisements_interval_errors_total",
        "bad_ttl" => "keepalived_ip_ttl_errors_total",
        "bad_type" => "keepalived_invalid_type_received_total",
        "bad_auth_type" => "keepalived_authentication_invalid_total",
        "bad_auth" => "keepalived_authentication_failure_total",
        _ => return None,
    })
}

/// Escapes a label value (backslash, double quote, newline).
fn esc(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.contains(['\\', '"', '\n']) {
        return v.into();
    }
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .into()
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn seconds(us: u64) -> f64 {
    us as f64 / 1e6
}

fn hist(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (le, below) in HISTOGRAM_BOUNDS_US.iter().zip(h.below.iter()) {
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"{}\"}} {below}",
            seconds(*le)
        );
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
    let braces = |l: &str| {
        if l.is_empty() {
            String::new()
        } else {
            format!("{{{l}}}")
        }
    };
    let _ = writeln!(out, "{name}_sum{} {}", braces(labels), seconds(h.sum_us));
    let _ = writeln!(out, "{name}_count{} {}", braces(labels), h.count);
}

/// node_exporter's backend labels for a destination of `key`.
fn backend_labels(key: &ServiceKey, addr: std::net::IpAddr, port: u16) -> String {
    let (local_address, local_port, proto, mark) = match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            addr.to_string(),
            port.to_string(),
            protocol.name(),
            String::new(),
        ),
        ServiceKey::Fwmark { mark, .. } => (String::new(), "0".into(), "FWM", mark.to_string()),
    };
    format!(
        "local_address=\"{local_address}\",local_port=\"{local_port}\",remote_address=\"{addr}\",remote_port=\"{port}\",proto=\"{proto}\",local_mark=\"{mark}\""
    )
}

/// Renders the whole status.
pub fn render(s: &Status) -> String {
    let mut out = String::new();
    let rs: usize = s.ipvs.as_ref().map_or(0, |i| {
        i.kernel.iter().map(|k| k.dests.len()).sum::<usize>()
            + i.services
                .iter()
                .map(|h| h.real_servers.len())
                .sum::<usize>()
    });
    out.reserve(1200 * rs + 16 * 1024);
    process(&mut out, s);
    vrrp(&mut out, s);
    if let Some(ipvs) = &s.ipvs {
        ipvs_part(&mut out, ipvs);
    }
    if let Some(c) = &s.checks {
        checks(&mut out, c);
    }
    out
}

fn process(out: &mut String, s: &Status) {
    family(out, "keepalived_up", "gauge", "Status (1: lvsd answers).");
    out.push_str("keepalived_up 1\n");
    family(out, "lvsd_build_info", "gauge", "lvsd's version, value 1.");
    let _ = writeln!(out, "lvsd_build_info{{version=\"{}\"}} 1", esc(&s.version));
    family(
        out,
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
    );
    let _ = writeln!(out, "process_resident_memory_bytes {}", s.process.rss_bytes);
    family(
        out,
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
    );
    let _ = writeln!(out, "process_open_fds {}", s.process.open_fds);
    family(
        out,
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
    );
    let _ = writeln!(out, "process_max_fds {}", s.process.max_fds);
    family(
        out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
    );
    let _ = writeln!(out, "process_start_time_seconds {}", s.start_time_unix);
    family(
        out,
        "lvsd_reloads_total",
        "counter",
        "Reloads accepted (SIGHUP or 'lvsd reload').",
    );
    let _ = writeln!(out, "lvsd_reloads_total {}", s.reload.count);
    family(
        out,
        "lvsd_reloads_rejected_total",
        "counter",
        "Reloads refused; the running configuration stayed.",
    );
    let _ = writeln!(out, "lvsd_reloads_rejected_total {}", s.reload.rejected);
    family(
        out,
        "lvsd_reload_last_success_timestamp_seconds",
        "gauge",
        "When the running configuration was loaded, unix seconds.",
    );
    let _ = writeln!(
        out,
        "lvsd_reload_last_success_timestamp_seconds {}",
        s.reload.last_success_unix
    );
    family(
        out,
        "lvsd_work_deferred_total",
        "counter",
        "Heavy work (status, scrape, reload, reconcile) put off behind a VRRP timer.",
    );
    let _ = writeln!(out, "lvsd_work_deferred_total {}", s.yields);
}

fn vrrp(out: &mut String, s: &Status) {
    if s.vrrp.is_empty() && s.receivers.is_empty() {
        return;
    }
    let labels: Vec<String> = s
        .vrrp
        .iter()
        .map(|v| {
            format!(
                "iname=\"{}\",intf=\"{}\",vrid=\"{}\"",
                esc(&v.name),
                esc(&v.interface),
                v.vrid
            )
        })
        .collect();
    family(
        out,
        "keepalived_vrrp_state",
        "gauge",
        "State of vrrp per VIP (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT).",
    );
    for v in &s.vrrp {
        for ip in &v.vips {
            let _ = writeln!(
                out,
                "keepalived_vrrp_state{{iname=\"{}\",intf=\"{}\",vrid=\"{}\",ip_address=\"{ip}\"}} {}",
                esc(&v.name),
                esc(&v.interface),
                v.vrid,
                state_number(v.state)
            );
        }
    }
    let per_instance = |out: &mut String,
                        name: &str,
                        kind: &str,
                        help: &str,
                        f: &dyn Fn(&super::VrrpInstance) -> u64| {
        family(out, name, kind, help);
        for (v, l) in s.vrrp.iter().zip(&labels) {
            let _ = writeln!(out, "{name}{{{l}}} {}", f(v));
        }
    };
    per_instance(
        out,
        "lvsd_vrrp_state",
        "gauge",
        "State per instance (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT).",
        &|v| u64::from(state_number(v.state)),
    );
    per_instance(
        out,
        "lvsd_vrrp_priority",
        "gauge",
        "Effective priority (configured plus tracking).",
        &|v| u64::from(v.priority),
    );
    per_instance(
        out,
        "lvsd_vrrp_held",
        "gauge",
        "1 while 'lvsd vrrp stepdown' holds the instance in BACKUP.",
        &|v| u64::from(v.held),
    );
    per_instance(
        out,
        "keepalived_advertisements_sent_total",
        "counter",
        "Advertisements sent.",
        &|v| v.adverts_sent,
    );
    per_instance(
        out,
        "keepalived_advertisements_received_total",
        "counter",
        "Advertisements received.",
        &|v| v.adverts_received,
    );
    per_instance(
        out,
        "keepalived_become_master_total",
        "counter",
        "Became master.",
        &|v| v.became_master,
    );
    per_instance(
        out,
        "keepalived_release_master_total",
        "counter",
        "Released master.",
        &|v| v.released_master,
    );
    per_instance(
        out,
        "keepalived_address_list_errors_total",
        "counter",
        "Address list errors.",
        &|v| v.vip_mismatches,
    );
    // keepalived-exporter's error counters where a drop reason means the same.
    if let Some(first) = s.vrrp.first() {
        for (reason, _) in &first.drops {
            let Some(name) = keepalived_drop_name(reason) else {
                continue;
            };
            family(out, name, "counter", &format!("Adverts dropped: {reason}."));
            for (v, l) in s.vrrp.iter().zip(&labels) {
                let n = v.drops.iter().find(|(r, _)| r == reason).map_or(0, |d| d.1);
                let _ = writeln!(out, "{name}{{{l}}} {n}");
            }
        }
    }
    family(
        out,
        "lvsd_vrrp_adverts_dropped_total",
        "counter",
        "Adverts dropped per instance and reason.",
    );
    for (v, l) in s.vrrp.iter().zip(&labels) {
        for (reason, n) in &v.drops {
            let _ = writeln!(
                out,
                "lvsd_vrrp_adverts_dropped_total{{{l},reason=\"{reason}\"}} {n}"
            );
        }
    }
    if !s.receivers.is_empty() {
        family(
            out,
            "lvsd_vrrp_receiver_dropped_total",
            "counter",
            "Adverts dropped before any instance (unknown VRID and the like), per socket.",
        );
        for r in &s.receivers {
            for (reason, n) in &r.drops {
                let _ = writeln!(
                    out,
                    "lvsd_vrrp_receiver_dropped_total{{intf=\"{}\",family=\"{}\",reason=\"{reason}\"}} {n}",
                    esc(&r.interface),
                    if r.ipv6 { "inet6" } else { "inet" }
                );
            }
        }
    }
    family(
        out,
        "lvsd_vrrp_advert_lateness_seconds",
        "histogram",
        "How long after its deadline a timer-driven advert left.",
    );
    for (v, l) in s.vrrp.iter().zip(&labels) {
        hist(
            out,
            "lvsd_vrrp_advert_lateness_seconds",
            l,
            &v.advert_lateness,
        );
    }
}

fn ipvs_part(out: &mut String, ipvs: &super::Ipvs) {
    family(
        out,
        "lvsd_ipvs_reconciles_total",
        "counter",
        "IPVS reconciles run.",
    );
    let _ = writeln!(out, "lvsd_ipvs_reconciles_total {}", ipvs.reconciles);
    family(
        out,
        "lvsd_ipvs_writes_total",
        "counter",
        "IPVS writes sent to the kernel.",
    );
    let _ = writeln!(out, "lvsd_ipvs_writes_total {}", ipvs.writes);
    family(
        out,
        "lvsd_ipvs_writes_refused_total",
        "counter",
        "IPVS writes the kernel refused.",
    );
    let _ = writeln!(out, "lvsd_ipvs_writes_refused_total {}", ipvs.refused);
    family(
        out,
        "lvsd_ipvs_reconcile_duration_seconds",
        "histogram",
        "Wall time of a reconcile (dump, plan, writes).",
    );
    hist(
        out,
        "lvsd_ipvs_reconcile_duration_seconds",
        "",
        &ipvs.reconcile_duration,
    );
    family(
        out,
        "lvsd_ipvs_dump_ok",
        "gauge",
        "1 when the kernel table could be read for this scrape.",
    );
    let _ = writeln!(
        out,
        "lvsd_ipvs_dump_ok {}",
        u8::from(ipvs.dump_error.is_none())
    );
    // Kernel destinations: one pass per family (a family's samples must be
    // contiguous), labels built once.
    let labels: Vec<String> = ipvs
        .kernel
        .iter()
        .flat_map(|k| {
            k.dests
                .iter()
                .map(move |(d, _)| backend_labels(&k.service.key, d.key.addr, d.key.port))
        })
        .collect();
    let dests: Vec<(&crate::wire::netlink::ipvs::Dest, &DestStats)> = ipvs
        .kernel
        .iter()
        .flat_map(|k| k.dests.iter().map(|(d, s)| (d, s)))
        .collect();
    type Get = fn(&crate::wire::netlink::ipvs::Dest, &DestStats) -> u64;
    let families: [(&str, &str, &str, Get); 8] = [
        (
            "node_ipvs_backend_connections_active",
            "gauge",
            "The current active connections by local and remote address.",
            |_, s| u64::from(s.active_conns),
        ),
        (
            "node_ipvs_backend_connections_inactive",
            "gauge",
            "The current inactive connections by local and remote address.",
            |_, s| u64::from(s.inactive_conns),
        ),
        (
            "node_ipvs_backend_weight",
            "gauge",
            "The current backend weight by local and remote address.",
            |d, _| u64::from(d.weight),
        ),
        (
            "lvsd_ipvs_backend_connections_total",
            "counter",
            "Connections scheduled to this destination (kernel STATS64).",
            |_, s| s.totals.connections,
        ),
        (
            "lvsd_ipvs_backend_incoming_packets_total",
            "counter",
            "Packets from clients to this destination.",
            |_, s| s.totals.packets_in,
        ),
        (
            "lvsd_ipvs_backend_outgoing_packets_total",
            "counter",
            "Packets from this destination to clients (NAT only).",
            |_, s| s.totals.packets_out,
        ),
        (
            "lvsd_ipvs_backend_incoming_bytes_total",
            "counter",
            "Bytes from clients to this destination.",
            |_, s| s.totals.bytes_in,
        ),
        (
            "lvsd_ipvs_backend_outgoing_bytes_total",
            "counter",
            "Bytes from this destination to clients (NAT only).",
            |_, s| s.totals.bytes_out,
        ),
    ];
    for (name, kind, help, get) in families {
        family(out, name, kind, help);
        for ((d, st), l) in dests.iter().zip(&labels) {
            let _ = writeln!(out, "{name}{{{l}}} {}", get(d, st));
        }
    }
    // lvsd's own view: health and operator overrides.
    family(
        out,
        "lvsd_virtual_server_quorum_up",
        "gauge",
        "1 while the virtual server holds its quorum.",
    );
    for svc in &ipvs.services {
        let _ = writeln!(
            out,
            "lvsd_virtual_server_quorum_up{{virtual_server=\"{}\",name=\"{}\"}} {}",
            super::key_text(&svc.key),
            esc(&svc.name),
            u8::from(svc.quorum_up)
        );
    }
    let rs_labels: Vec<(String, &super::RealServer)> = ipvs
        .services
        .iter()
        .flat_map(|svc| {
            svc.real_servers
                .iter()
                .map(move |rs| (backend_labels(&svc.key, rs.key.addr, rs.key.port), rs))
        })
        .collect();
    family(
        out,
        "lvsd_real_server_up",
        "gauge",
        "1 while every checker of the real server passes.",
    );
    for (l, rs) in &rs_labels {
        let _ = writeln!(out, "lvsd_real_server_up{{{l}}} {}", u8::from(rs.alive));
    }
    family(
        out,
        "lvsd_real_server_weight",
        "gauge",
        "The weight lvsd wants in the kernel (absent: not in the table).",
    );
    for (l, rs) in &rs_labels {
        if let Some(w) = rs.weight {
            let _ = writeln!(out, "lvsd_real_server_weight{{{l}}} {w}");
        }
    }
    family(
        out,
        "lvsd_real_server_configured_weight",
        "gauge",
        "The weight in the configuration.",
    );
    for (l, rs) in &rs_labels {
        let _ = writeln!(
            out,
            "lvsd_real_server_configured_weight{{{l}}} {}",
            rs.configured_weight
        );
    }
    family(
        out,
        "lvsd_real_server_operator_override",
        "gauge",
        "1 for a real server under an operator's override (lvsd rs drain|disable|weight), by mode.",
    );
    for (l, rs) in &rs_labels {
        if rs.admin != Admin::None {
            let _ = writeln!(
                out,
                "lvsd_real_server_operator_override{{{l},mode=\"{}\"}} 1",
                rs.admin.as_str()
            );
        }
    }
}

fn checks(out: &mut String, c: &super::Checks) {
    family(
        out,
        "lvsd_check_probes",
        "gauge",
        "Distinct health-check probes.",
    );
    let _ = writeln!(out, "lvsd_check_probes {}", c.probes);
    family(out, "lvsd_check_runs_total", "counter", "Probes run.");
    let _ = writeln!(out, "lvsd_check_runs_total {}", c.run);
    family(
        out,
        "lvsd_check_failures_total",
        "counter",
        "Failed probes by reason.",
    );
    for (reason, n) in &c.failures {
        let _ = writeln!(out, "lvsd_check_failures_total{{reason=\"{reason}\"}} {n}");
    }
    family(
        out,
        "lvsd_check_pool_in_flight",
        "gauge",
        "Probes running now.",
    );
    let _ = writeln!(out, "lvsd_check_pool_in_flight {}", c.in_flight);
    family(
        out,
        "lvsd_check_pool_capacity",
        "gauge",
        "Probes that may run at once.",
    );
    let _ = writeln!(out, "lvsd_check_pool_capacity {}", c.pool_capacity);
    family(
        out,
        "lvsd_check_pool_waits_total",
        "counter",
        "Probes that waited for a free pool slot.",
    );
    let _ = writeln!(out, "lvsd_check_pool_waits_total {}", c.pool_waits);
    family(
        out,
        "lvsd_check_pool_rejected_total",
        "counter",
        "Probes skipped because the pool and its queue were full.",
    );
    let _ = writeln!(out, "lvsd_check_pool_rejected_total {}", c.pool_rejected);
    family(
        out,
        "lvsd_check_duration_seconds",
        "histogram",
        "How long a probe took, start to verdict.",
    );
    hist(out, "lvsd_check_duration_seconds", "", &c.duration);
    family(
        out,
        "lvsd_check_start_lateness_seconds",
        "histogram",
        "How long after its schedule a probe started.",
    );
    hist(
        out,
        "lvsd_check_start_lateness_seconds",
        "",
        &c.start_lateness,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_metrics() {
        let got = render(&crate::status::sample::status());
        let want = include_str!("golden/metrics.txt");
        assert_eq!(got, want, "---- got ----\n{got}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(esc("plain"), "plain");
    }
}
