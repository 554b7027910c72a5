//! The families of fixed size, written whole as the first and the last
//! section of a scrape: the process, VRRP, the daemon's plumbing, IPVS
//! scalars and health checks. Most are tables of [`Family`]; the rest have
//! labels of their own.

use std::fmt::Write;

use super::encode::{by_reason, esc, families, header, scalars, Family, Value::*};
use super::TRAFFIC_FAMILIES;
use crate::status::{Checks, Ipvs, Receiver, Status, VrrpInstance};

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

/// The first section: everything but the per-destination tables and checks.
pub(super) fn first(out: &mut String, s: &Status) {
    process(out, s);
    vrrp(out, s);
    daemon(out, s);
    if let Some(ipvs) = &s.ipvs {
        ipvs_scalars(out, ipvs);
    }
}

/// The process after `keepalived_up` and `lvsd_build_info`.
const PROCESS: [Family<Status>; 8] = [
    (
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        Gauge(|s| s.process.rss_bytes),
    ),
    (
        "process_open_fds",
        "Number of open file descriptors.",
        Gauge(|s| s.process.open_fds),
    ),
    (
        "process_max_fds",
        "Maximum number of open file descriptors.",
        Gauge(|s| s.process.max_fds),
    ),
    (
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        Time(|s| s.start_time_unix),
    ),
    (
        "lvsd_reloads_total",
        "Reloads accepted (SIGHUP or 'lvsd reload').",
        Counter(|s| s.reload.count),
    ),
    (
        "lvsd_reloads_rejected_total",
        "Reloads refused; the running configuration stayed.",
        Counter(|s| s.reload.rejected),
    ),
    (
        "lvsd_reload_last_success_timestamp_seconds",
        "When the running configuration was loaded, unix seconds.",
        Time(|s| s.reload.last_success_unix),
    ),
    (
        "lvsd_work_deferred_total",
        "Heavy work (status, scrape, reload, reconcile) put off behind a VRRP timer.",
        Counter(|s| s.yields),
    ),
];

fn process(out: &mut String, s: &Status) {
    header(out, "keepalived_up", "gauge", "Status (1: lvsd answers).");
    out.push_str("keepalived_up 1\n");
    header(out, "lvsd_build_info", "gauge", "lvsd's version, value 1.");
    let _ = writeln!(out, "lvsd_build_info{{version=\"{}\"}} 1", esc(&s.version));
    scalars(out, &PROCESS, s);
}

/// Whether the latest reload was refused.
fn reload_failed(s: &Status) -> bool {
    let r = &s.reload.last_result;
    r.starts_with("rejected") || r.starts_with("refused")
}

/// The daemon's own plumbing: reload outcome, rtnetlink, control socket,
/// logging.
const DAEMON: [Family<Status>; 13] = [
    (
        "lvsd_reload_last_ok",
        "0 when the latest reload was refused (the running configuration stayed), else 1.",
        Gauge(|s| u64::from(!reload_failed(s))),
    ),
    (
        "lvsd_rtnetlink_overflows_total",
        "Times the kernel dropped rtnetlink events (ENOBUFS); each starts a re-dump.",
        Counter(|s| s.rtnetlink.overflows),
    ),
    (
        "lvsd_rtnetlink_redumps_total",
        "Re-dumps of links and addresses.",
        Counter(|s| s.rtnetlink.redumps),
    ),
    (
        "lvsd_rtnetlink_pending_requests",
        "rtnetlink requests sent and not yet answered.",
        Gauge(|s| s.rtnetlink.pending_requests),
    ),
    (
        "lvsd_rtnetlink_untracked_total",
        "rtnetlink answers to requests no longer tracked.",
        Counter(|s| s.rtnetlink.untracked),
    ),
    (
        "lvsd_rtnetlink_undecodable_total",
        "rtnetlink messages that could not be decoded.",
        Counter(|s| s.rtnetlink.undecodable),
    ),
    (
        "lvsd_control_clients",
        "Control socket clients connected now.",
        Gauge(|s| s.control.clients),
    ),
    (
        "lvsd_control_accepted_total",
        "Control socket connections accepted.",
        Counter(|s| s.control.accepted),
    ),
    (
        "lvsd_control_refused_total",
        "Control socket connections refused by the peer check.",
        Counter(|s| s.control.refused),
    ),
    (
        "lvsd_control_evicted_total",
        "Idle control clients dropped to make room.",
        Counter(|s| s.control.evicted),
    ),
    (
        "lvsd_control_timed_out_total",
        "Control clients dropped for not sending or not reading in time.",
        Counter(|s| s.control.timed_out),
    ),
    (
        "lvsd_control_turned_away_total",
        "Control connections turned away with every slot busy.",
        Counter(|s| s.control.turned_away),
    ),
    (
        "lvsd_log_lines_lost_total",
        "Log lines dropped because the log buffer was full or the sink failed.",
        Counter(|s| s.log_lines_lost),
    ),
];

/// The daemon's plumbing, then announce mode.
fn daemon(out: &mut String, s: &Status) {
    scalars(out, &DAEMON, s);
    if s.announce.is_empty() {
        return;
    }
    header(
        out,
        "lvsd_announce_announced",
        "gauge",
        "1 while the address is announced (announce mode), by group.",
    );
    for a in &s.announce {
        let _ = writeln!(
            out,
            "lvsd_announce_announced{{address=\"{}\",group=\"{}\"}} {}",
            esc(&a.address),
            esc(&a.group),
            u8::from(a.announced)
        );
    }
}

/// Per instance, after the state per VIP.
const INSTANCE: [Family<VrrpInstance>; 8] = [
    (
        "lvsd_vrrp_state",
        "State per instance (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT).",
        Gauge(|v| u64::from(state_number(v.state))),
    ),
    (
        "lvsd_vrrp_priority",
        "Effective priority (configured plus tracking).",
        Gauge(|v| u64::from(v.priority)),
    ),
    (
        "lvsd_vrrp_held",
        "1 while 'lvsd vrrp stepdown' holds the instance in BACKUP.",
        Gauge(|v| u64::from(v.held)),
    ),
    (
        "keepalived_advertisements_sent_total",
        "Advertisements sent.",
        Counter(|v| v.adverts_sent),
    ),
    (
        "keepalived_advertisements_received_total",
        "Advertisements received.",
        Counter(|v| v.adverts_received),
    ),
    (
        "keepalived_become_master_total",
        "Became master.",
        Counter(|v| v.became_master),
    ),
    (
        "keepalived_release_master_total",
        "Released master.",
        Counter(|v| v.released_master),
    ),
    (
        "keepalived_address_list_errors_total",
        "Address list errors.",
        Counter(|v| v.vip_mismatches),
    ),
];

/// Per instance, after keepalived-exporter's drop counters.
const INSTANCE_LIMITS: [Family<VrrpInstance>; 2] = [
    (
        "lvsd_vrrp_answers_rate_limited_total",
        "Answers to lower or priority-0 adverts left out by the rate limit.",
        Counter(|v| v.answers_limited),
    ),
    (
        "lvsd_vrrp_notifications_coalesced_total",
        "Notifications merged away in a burst of state changes.",
        Counter(|v| v.notify_coalesced),
    ),
];

/// Per instance, last.
const INSTANCE_LATENESS: [Family<VrrpInstance>; 1] = [(
    "lvsd_vrrp_advert_lateness_seconds",
    "How long after its deadline a timer-driven advert left.",
    Histogram(|v| &v.advert_lateness),
)];

fn vrrp(out: &mut String, s: &Status) {
    if s.vrrp.is_empty() && s.receivers.is_empty() {
        return;
    }
    let labels: Vec<String> = s.vrrp.iter().map(instance_labels).collect();
    let rows: Vec<(&str, &VrrpInstance)> = labels.iter().map(String::as_str).zip(&s.vrrp).collect();
    vip_states(out, &rows);
    families(out, &INSTANCE, &rows);
    keepalived_drops(out, &rows);
    families(out, &INSTANCE_LIMITS, &rows);
    header(
        out,
        "lvsd_vrrp_adverts_dropped_total",
        "counter",
        "Adverts dropped per instance and reason.",
    );
    for (l, v) in &rows {
        by_reason(out, "lvsd_vrrp_adverts_dropped_total", l, &v.drops);
    }
    receivers(out, &s.receivers);
    families(out, &INSTANCE_LATENESS, &rows);
}

/// keepalived-exporter's instance labels.
fn instance_labels(v: &VrrpInstance) -> String {
    format!(
        "iname=\"{}\",intf=\"{}\",vrid=\"{}\"",
        esc(&v.name),
        esc(&v.interface),
        v.vrid
    )
}

/// keepalived-exporter's state per VIP.
fn vip_states(out: &mut String, rows: &[(&str, &VrrpInstance)]) {
    header(
        out,
        "keepalived_vrrp_state",
        "gauge",
        "State of vrrp per VIP (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT).",
    );
    for (l, v) in rows {
        for ip in &v.vips {
            let _ = writeln!(
                out,
                "keepalived_vrrp_state{{{l},ip_address=\"{ip}\"}} {}",
                state_number(v.state)
            );
        }
    }
}

/// keepalived-exporter's error counters where a drop reason means the same.
fn keepalived_drops(out: &mut String, rows: &[(&str, &VrrpInstance)]) {
    let Some((_, first)) = rows.first() else {
        return;
    };
    for (reason, _) in &first.drops {
        let Some(name) = keepalived_drop_name(reason) else {
            continue;
        };
        header(out, name, "counter", &format!("Adverts dropped: {reason}."));
        for (l, v) in rows {
            let n = v.drops.iter().find(|(r, _)| r == reason).map_or(0, |d| d.1);
            let _ = writeln!(out, "{name}{{{l}}} {n}");
        }
    }
}

const RECEIVER: [Family<Receiver>; 1] = [(
    "lvsd_vrrp_receiver_budget_reached_total",
    "Wake-ups whose advert reading stopped at the per-wake-up packet budget.",
    Counter(|r| r.budget_reached),
)];

/// The receive sockets' budget and drops that no instance owns.
fn receivers(out: &mut String, receivers: &[Receiver]) {
    if receivers.is_empty() {
        return;
    }
    let labels: Vec<String> = receivers
        .iter()
        .map(|r| {
            let family = if r.ipv6 { "inet6" } else { "inet" };
            format!("intf=\"{}\",family=\"{family}\"", esc(&r.interface))
        })
        .collect();
    let rows: Vec<(&str, &Receiver)> = labels.iter().map(String::as_str).zip(receivers).collect();
    families(out, &RECEIVER, &rows);
    header(
        out,
        "lvsd_vrrp_receiver_dropped_total",
        "counter",
        "Adverts dropped before any instance (unknown VRID and the like), per socket.",
    );
    for (l, r) in &rows {
        by_reason(out, "lvsd_vrrp_receiver_dropped_total", l, &r.drops);
    }
}

/// IPVS before the kernel's totals.
const IPVS: [Family<Ipvs>; 5] = [
    (
        "lvsd_ipvs_reconciles_total",
        "IPVS reconciles run.",
        Counter(|i| i.reconciles),
    ),
    (
        "lvsd_ipvs_writes_total",
        "IPVS writes sent to the kernel.",
        Counter(|i| i.writes),
    ),
    (
        "lvsd_ipvs_writes_refused_total",
        "IPVS writes the kernel refused.",
        Counter(|i| i.refused),
    ),
    (
        "lvsd_ipvs_reconcile_duration_seconds",
        "Wall time of a reconcile (dump, plan, writes).",
        Histogram(|i| &i.reconcile_duration),
    ),
    (
        "lvsd_ipvs_writes_unacknowledged_total",
        "IPVS writes whose ack was not there when read (checked by the next dump).",
        Counter(|i| i.unacknowledged_writes),
    ),
];

/// IPVS after the kernel's totals.
const IPVS_DUMP: [Family<Ipvs>; 1] = [(
    "lvsd_ipvs_dump_ok",
    "1 when the kernel table could be read for this scrape.",
    Gauge(|i| u64::from(i.dump_error.is_none())),
)];

fn ipvs_scalars(out: &mut String, ipvs: &Ipvs) {
    scalars(out, &IPVS, ipvs);
    if let Some(t) = &ipvs.totals {
        for (suffix, help, get) in TRAFFIC_FAMILIES {
            let name = format!("node_ipvs_{suffix}");
            header(
                out,
                &name,
                "counter",
                &format!("{help} All services since IPVS was loaded."),
            );
            let _ = writeln!(out, "{name} {}", get(&t.totals));
        }
    }
    scalars(out, &IPVS_DUMP, ipvs);
}

/// Checks before the failures by reason.
const CHECK_RUNS: [Family<Checks>; 2] = [
    (
        "lvsd_check_probes",
        "Distinct health-check probes.",
        Gauge(|c| c.probes as u64),
    ),
    ("lvsd_check_runs_total", "Probes run.", Counter(|c| c.run)),
];

/// Checks after the failures by reason.
const CHECK_POOL: [Family<Checks>; 10] = [
    (
        "lvsd_check_pool_in_flight",
        "Probes running now.",
        Gauge(|c| c.in_flight),
    ),
    (
        "lvsd_check_pool_capacity",
        "Probes that may run at once.",
        Gauge(|c| c.pool_capacity),
    ),
    (
        "lvsd_check_pool_waits_total",
        "Probes that waited for a free pool slot.",
        Counter(|c| c.pool_waits),
    ),
    (
        "lvsd_check_child_slot_waits_total",
        "Check scripts that waited for a free child slot.",
        Counter(|c| c.child_slot_waits),
    ),
    (
        "lvsd_check_pool_rejected_total",
        "Probes skipped because the pool and its queue were full.",
        Counter(|c| c.pool_rejected),
    ),
    (
        "lvsd_check_pool_full_skips_total",
        "Probes skipped because the pool was full; the verdict stayed.",
        Counter(|c| c.pool_full_skips),
    ),
    (
        "lvsd_check_read_budget_yields_total",
        "Wake-ups whose check reading stopped at the read budget.",
        Counter(|c| c.read_budget_yields),
    ),
    (
        "lvsd_check_timer_failures_total",
        "Probe timers that could not be scheduled.",
        Counter(|c| c.timer_failures),
    ),
    (
        "lvsd_check_duration_seconds",
        "How long a probe took, start to verdict.",
        Histogram(|c| &c.duration),
    ),
    (
        "lvsd_check_start_lateness_seconds",
        "How long after its schedule a probe started.",
        Histogram(|c| &c.start_lateness),
    ),
];

/// The last section: health checks.
pub(super) fn checks(out: &mut String, c: &Checks) {
    scalars(out, &CHECK_RUNS, c);
    header(
        out,
        "lvsd_check_failures_total",
        "counter",
        "Failed probes by reason.",
    );
    by_reason(out, "lvsd_check_failures_total", "", &c.failures);
    scalars(out, &CHECK_POOL, c);
}
