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
use crate::wire::netlink::ipvs::{DestStats, ServiceKey, TrafficTotals};

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

/// Appends the decimal digits of `v` (without the formatting machinery:
/// a scrape of 10,000 real servers writes 140,000 of them).
fn push_u64(out: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// `name{labels} value` and a newline.
fn sample(out: &mut String, name: &str, labels: &str, v: u64) {
    out.push_str(name);
    out.push('{');
    out.push_str(labels);
    out.push_str("} ");
    push_u64(out, v);
    out.push('\n');
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
fn backend_labels(out: &mut String, key: &ServiceKey, addr: std::net::IpAddr, port: u16) {
    match key {
        ServiceKey::Addr {
            protocol,
            addr: local,
            port: local_port,
        } => {
            let _ = write!(
                out,
                "local_address=\"{local}\",local_port=\"{local_port}\",remote_address=\"{addr}\",remote_port=\"{port}\",proto=\"{}\",local_mark=\"\"",
                protocol.name()
            );
        }
        // As /proc/net/ip_vs prints it ("FWM  %08X"), which node_exporter passes on.
        ServiceKey::Fwmark { mark, .. } => {
            let _ = write!(
                out,
                "local_address=\"\",local_port=\"0\",remote_address=\"{addr}\",remote_port=\"{port}\",proto=\"FWM\",local_mark=\"{mark:08X}\""
            );
        }
    }
}

/// Label sets of many rows in one buffer (one allocation to build and to
/// free, not one per row: freeing 30,000 strings in the turn that ends a
/// scrape held the loop for milliseconds).
#[derive(Default)]
struct Labels {
    text: String,
    ends: Vec<usize>,
}

impl Labels {
    fn len(&self) -> usize {
        self.ends.len()
    }
    fn push(&mut self, build: impl FnOnce(&mut String)) {
        build(&mut self.text);
        self.ends.push(self.text.len());
    }
    fn get(&self, row: usize) -> &str {
        let start = if row == 0 { 0 } else { self.ends[row - 1] };
        &self.text[start..self.ends[row]]
    }
}

/// node_exporter's labels without the remote side, for a service.
fn service_labels(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => format!(
            "local_address=\"{addr}\",local_port=\"{port}\",proto=\"{}\",local_mark=\"\"",
            protocol.name()
        ),
        ServiceKey::Fwmark { mark, .. } => {
            format!("local_address=\"\",local_port=\"0\",proto=\"FWM\",local_mark=\"{mark:08X}\"")
        }
    }
}

type TotalGet = fn(&TrafficTotals) -> u64;

/// Traffic counter families: name suffix, help, value. The global ones are
/// node_exporter's `node_ipvs_<suffix>`; per service `lvsd_ipvs_service_<suffix>`.
const TRAFFIC_FAMILIES: [(&str, &str, TotalGet); 5] = [
    (
        "connections_total",
        "The total number of connections made.",
        |t| t.connections,
    ),
    (
        "incoming_packets_total",
        "The total number of incoming packets.",
        |t| t.packets_in,
    ),
    (
        "outgoing_packets_total",
        "The total number of outgoing packets (NAT only).",
        |t| t.packets_out,
    ),
    (
        "incoming_bytes_total",
        "The total amount of incoming data.",
        |t| t.bytes_in,
    ),
    (
        "outgoing_bytes_total",
        "The total amount of outgoing data (NAT only).",
        |t| t.bytes_out,
    ),
];

/// Renders the whole status at once (tests, small tables).
pub fn render(s: &Status) -> String {
    let mut r = Renderer::new(s.clone());
    let mut out = String::new();
    while !r.render_some(&mut out, usize::MAX) {}
    out
}

type DestGet = fn(&crate::wire::netlink::ipvs::Dest, &DestStats) -> u64;

/// Kernel destination families: name, type, help, value.
const DEST_FAMILIES: [(&str, &str, &str, DestGet); 8] = [
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

/// Real-server families of lvsd's own view.
const RS_FAMILIES: [(&str, &str); 4] = [
    (
        "lvsd_real_server_up",
        "1 while every checker of the real server passes.",
    ),
    (
        "lvsd_real_server_weight",
        "The weight lvsd wants in the kernel (absent: not in the table).",
    ),
    (
        "lvsd_real_server_configured_weight",
        "The weight in the configuration.",
    ),
    (
        "lvsd_real_server_operator_override",
        "1 for a real server under an operator's override (lvsd rs drain|disable|weight), by mode.",
    ),
];

/// First section of the kernel destination families.
const DEST_FIRST: usize = 1;
/// First section of the kernel service families.
const SERVICE_FIRST: usize = DEST_FIRST + DEST_FAMILIES.len();
/// The quorum section.
const QUORUM: usize = SERVICE_FIRST + TRAFFIC_FAMILIES.len();
/// First section of the real-server families.
const RS_FIRST: usize = QUORUM + 1;
/// The checks section.
const CHECKS: usize = RS_FIRST + RS_FAMILIES.len();
/// Past the last section.
const DONE: usize = CHECKS + 1;

/// Renders a status in slices, so that a table of 10,000 real servers
/// (about 17 MB of text) never holds the loop for more than one slice: the
/// daemon calls [`Renderer::render_some`] once per turn until it says done.
/// The order of the output is the same as one [`render`] call.
pub struct Renderer {
    s: Status,
    /// Section: 0 scalars and VRRP, then the kernel destination families,
    /// the kernel service families, quorum, the real-server families,
    /// checks (the constants above), then DONE.
    section: usize,
    row: usize,
    /// (service index, destination index) of every kernel destination.
    dests: Vec<(usize, usize)>,
    dest_labels: Labels,
    service_labels: Labels,
    /// (service index, real server index) of every configured real server.
    servers: Vec<(usize, usize)>,
    server_labels: Labels,
}

impl Renderer {
    /// Takes the model to render.
    pub fn new(s: Status) -> Renderer {
        let mut r = Renderer {
            s,
            section: 0,
            row: 0,
            dests: Vec::new(),
            dest_labels: Labels::default(),
            service_labels: Labels::default(),
            servers: Vec::new(),
            server_labels: Labels::default(),
        };
        if let Some(ipvs) = &r.s.ipvs {
            for (i, k) in ipvs.kernel.iter().enumerate() {
                for j in 0..k.dests.len() {
                    r.dests.push((i, j));
                }
            }
            for (i, svc) in ipvs.services.iter().enumerate() {
                for j in 0..svc.real_servers.len() {
                    r.servers.push((i, j));
                }
            }
        }
        r
    }

    /// About how many bytes the whole exposition takes (to reserve once).
    pub fn size_hint(&self) -> usize {
        let services = self.s.ipvs.as_ref().map_or(0, |i| i.kernel.len());
        16 * 1024 + 8 * 190 * self.dests.len() + 5 * 140 * services + 4 * 180 * self.servers.len()
    }

    /// Appends up to about `rows` more lines to `out`; true when the whole
    /// exposition is written.
    pub fn render_some(&mut self, out: &mut String, rows: usize) -> bool {
        let mut left = rows;
        while self.section < DONE && left > 0 {
            let n = self.rows_of(self.section);
            if self.row == 0 {
                self.header(out);
            }
            let end = n.min(self.row.saturating_add(left));
            for row in self.row..end {
                self.line(out, row);
            }
            left -= end - self.row;
            // A section without rows still costs its header.
            left = left.saturating_sub(usize::from(n == 0));
            self.row = end;
            if self.row >= n {
                self.section += 1;
                self.row = 0;
            }
        }
        self.section >= DONE
    }

    fn rows_of(&self, section: usize) -> usize {
        let Some(ipvs) = &self.s.ipvs else {
            return 0;
        };
        match section {
            DEST_FIRST..SERVICE_FIRST => self.dests.len(),
            SERVICE_FIRST..QUORUM => ipvs.kernel.len(),
            QUORUM => ipvs.services.len(),
            RS_FIRST..CHECKS => self.servers.len(),
            _ => 0,
        }
    }

    fn header(&mut self, out: &mut String) {
        let Some(ipvs) = &self.s.ipvs else {
            match self.section {
                0 => {
                    process(out, &self.s);
                    vrrp(out, &self.s);
                    daemon(out, &self.s);
                }
                CHECKS => {
                    if let Some(c) = &self.s.checks {
                        checks(out, c);
                    }
                }
                _ => {}
            }
            return;
        };
        match self.section {
            0 => {
                process(out, &self.s);
                vrrp(out, &self.s);
                daemon(out, &self.s);
                ipvs_scalars(out, ipvs);
            }
            DEST_FIRST..SERVICE_FIRST => {
                let (name, kind, help, _) = DEST_FAMILIES[self.section - DEST_FIRST];
                family(out, name, kind, help);
            }
            SERVICE_FIRST..QUORUM => {
                let (suffix, help, _) = TRAFFIC_FAMILIES[self.section - SERVICE_FIRST];
                family(
                    out,
                    &format!("lvsd_ipvs_service_{suffix}"),
                    "counter",
                    &format!("{help} Per virtual service (kernel STATS64)."),
                );
            }
            QUORUM => family(
                out,
                "lvsd_virtual_server_quorum_up",
                "gauge",
                "1 while the virtual server holds its quorum.",
            ),
            RS_FIRST..CHECKS => {
                let (name, help) = RS_FAMILIES[self.section - RS_FIRST];
                family(out, name, "gauge", help);
            }
            CHECKS => {
                if let Some(c) = &self.s.checks {
                    checks(out, c);
                }
            }
            _ => {}
        }
    }

    fn line(&mut self, out: &mut String, row: usize) {
        let Some(ipvs) = &self.s.ipvs else {
            return;
        };
        // Labels are built once, row by row in the first family that needs
        // them (rows come in order), so no slice pays for the whole table.
        if (DEST_FIRST..SERVICE_FIRST).contains(&self.section) && self.dest_labels.len() == row {
            let (i, j) = self.dests[row];
            let k = &ipvs.kernel[i];
            let d = &k.dests[j].0;
            self.dest_labels
                .push(|out| backend_labels(out, &k.service.key, d.key.addr, d.key.port));
        }
        if (SERVICE_FIRST..QUORUM).contains(&self.section) && self.service_labels.len() == row {
            let key = ipvs.kernel[row].service.key;
            self.service_labels
                .push(|out| out.push_str(&service_labels(&key)));
        }
        if (RS_FIRST..CHECKS).contains(&self.section) && self.server_labels.len() == row {
            let (i, j) = self.servers[row];
            let svc = &ipvs.services[i];
            let rs = &svc.real_servers[j];
            self.server_labels
                .push(|out| backend_labels(out, &svc.key, rs.key.addr, rs.key.port));
        }
        let Some(ipvs) = &self.s.ipvs else {
            return;
        };
        match self.section {
            DEST_FIRST..SERVICE_FIRST => {
                let (name, _, _, get) = DEST_FAMILIES[self.section - DEST_FIRST];
                let (i, j) = self.dests[row];
                let (d, st) = &ipvs.kernel[i].dests[j];
                sample(out, name, self.dest_labels.get(row), get(d, st));
            }
            SERVICE_FIRST..QUORUM => {
                let (suffix, _, get) = TRAFFIC_FAMILIES[self.section - SERVICE_FIRST];
                out.push_str("lvsd_ipvs_service_");
                sample(
                    out,
                    suffix,
                    self.service_labels.get(row),
                    get(&ipvs.kernel[row].stats.totals),
                );
            }
            QUORUM => {
                let svc = &ipvs.services[row];
                let _ = writeln!(
                    out,
                    "lvsd_virtual_server_quorum_up{{virtual_server=\"{}\",name=\"{}\"}} {}",
                    super::key_text(&svc.key),
                    esc(&svc.name),
                    u8::from(svc.quorum_up)
                );
            }
            RS_FIRST..CHECKS => {
                let (i, j) = self.servers[row];
                let rs = &ipvs.services[i].real_servers[j];
                let l = self.server_labels.get(row);
                match self.section - RS_FIRST {
                    0 => sample(out, "lvsd_real_server_up", l, u64::from(rs.alive)),
                    1 => {
                        if let Some(w) = rs.weight {
                            sample(out, "lvsd_real_server_weight", l, u64::from(w));
                        }
                    }
                    2 => sample(
                        out,
                        "lvsd_real_server_configured_weight",
                        l,
                        u64::from(rs.configured_weight),
                    ),
                    _ => {
                        if rs.admin != Admin::None {
                            let _ = writeln!(
                                out,
                                "lvsd_real_server_operator_override{{{l},mode=\"{}\"}} 1",
                                rs.admin.as_str()
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
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

/// The daemon's own plumbing: reload outcome, rtnetlink, control socket,
/// logging, announce mode.
fn daemon(out: &mut String, s: &Status) {
    let scalar = |out: &mut String, name: &str, kind: &str, help: &str, v: u64| {
        family(out, name, kind, help);
        let _ = writeln!(out, "{name} {v}");
    };
    let failed =
        s.reload.last_result.starts_with("rejected") || s.reload.last_result.starts_with("refused");
    scalar(
        out,
        "lvsd_reload_last_ok",
        "gauge",
        "0 when the latest reload was refused (the running configuration stayed), else 1.",
        u64::from(!failed),
    );
    let r = &s.rtnetlink;
    scalar(
        out,
        "lvsd_rtnetlink_overflows_total",
        "counter",
        "Times the kernel dropped rtnetlink events (ENOBUFS); each starts a re-dump.",
        r.overflows,
    );
    scalar(
        out,
        "lvsd_rtnetlink_redumps_total",
        "counter",
        "Re-dumps of links and addresses.",
        r.redumps,
    );
    scalar(
        out,
        "lvsd_rtnetlink_pending_requests",
        "gauge",
        "rtnetlink requests sent and not yet answered.",
        r.pending_requests,
    );
    scalar(
        out,
        "lvsd_rtnetlink_untracked_total",
        "counter",
        "rtnetlink answers to requests no longer tracked.",
        r.untracked,
    );
    scalar(
        out,
        "lvsd_rtnetlink_undecodable_total",
        "counter",
        "rtnetlink messages that could not be decoded.",
        r.undecodable,
    );
    let c = &s.control;
    scalar(
        out,
        "lvsd_control_clients",
        "gauge",
        "Control socket clients connected now.",
        c.clients,
    );
    scalar(
        out,
        "lvsd_control_accepted_total",
        "counter",
        "Control socket connections accepted.",
        c.accepted,
    );
    scalar(
        out,
        "lvsd_control_refused_total",
        "counter",
        "Control socket connections refused by the peer check.",
        c.refused,
    );
    scalar(
        out,
        "lvsd_control_evicted_total",
        "counter",
        "Idle control clients dropped to make room.",
        c.evicted,
    );
    scalar(
        out,
        "lvsd_control_timed_out_total",
        "counter",
        "Control clients dropped for not sending or not reading in time.",
        c.timed_out,
    );
    scalar(
        out,
        "lvsd_control_turned_away_total",
        "counter",
        "Control connections turned away with every slot busy.",
        c.turned_away,
    );
    scalar(
        out,
        "lvsd_log_lines_lost_total",
        "counter",
        "Log lines dropped because the log buffer was full or the sink failed.",
        s.log_lines_lost,
    );
    if !s.announce.is_empty() {
        family(
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
    per_instance(
        out,
        "lvsd_vrrp_answers_rate_limited_total",
        "counter",
        "Answers to lower or priority-0 adverts left out by the rate limit.",
        &|v| v.answers_limited,
    );
    per_instance(
        out,
        "lvsd_vrrp_notifications_coalesced_total",
        "counter",
        "Notifications merged away in a burst of state changes.",
        &|v| v.notify_coalesced,
    );
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
            "lvsd_vrrp_receiver_budget_reached_total",
            "counter",
            "Wake-ups whose advert reading stopped at the per-wake-up packet budget.",
        );
        for r in &s.receivers {
            let _ = writeln!(
                out,
                "lvsd_vrrp_receiver_budget_reached_total{{intf=\"{}\",family=\"{}\"}} {}",
                esc(&r.interface),
                if r.ipv6 { "inet6" } else { "inet" },
                r.budget_reached
            );
        }
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

fn ipvs_scalars(out: &mut String, ipvs: &super::Ipvs) {
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
        "lvsd_ipvs_writes_unacknowledged_total",
        "counter",
        "IPVS writes whose ack was not there when read (checked by the next dump).",
    );
    let _ = writeln!(
        out,
        "lvsd_ipvs_writes_unacknowledged_total {}",
        ipvs.unacknowledged_writes
    );
    if let Some(t) = &ipvs.totals {
        for (suffix, help, get) in TRAFFIC_FAMILIES {
            let name = format!("node_ipvs_{suffix}");
            family(
                out,
                &name,
                "counter",
                &format!("{help} All services since IPVS was loaded."),
            );
            let _ = writeln!(out, "{name} {}", get(&t.totals));
        }
    }
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
        "lvsd_check_child_slot_waits_total",
        "counter",
        "Check scripts that waited for a free child slot.",
    );
    let _ = writeln!(
        out,
        "lvsd_check_child_slot_waits_total {}",
        c.child_slot_waits
    );
    family(
        out,
        "lvsd_check_pool_rejected_total",
        "counter",
        "Probes skipped because the pool and its queue were full.",
    );
    let _ = writeln!(out, "lvsd_check_pool_rejected_total {}", c.pool_rejected);
    family(
        out,
        "lvsd_check_pool_full_skips_total",
        "counter",
        "Probes skipped because the pool was full; the verdict stayed.",
    );
    let _ = writeln!(
        out,
        "lvsd_check_pool_full_skips_total {}",
        c.pool_full_skips
    );
    family(
        out,
        "lvsd_check_read_budget_yields_total",
        "counter",
        "Wake-ups whose check reading stopped at the read budget.",
    );
    let _ = writeln!(
        out,
        "lvsd_check_read_budget_yields_total {}",
        c.read_budget_yields
    );
    family(
        out,
        "lvsd_check_timer_failures_total",
        "counter",
        "Probe timers that could not be scheduled.",
    );
    let _ = writeln!(out, "lvsd_check_timer_failures_total {}", c.timer_failures);
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

    /// Rendering in slices of any size gives the same bytes as at once.
    #[test]
    fn slices_render_the_same_text() {
        let whole = render(&crate::status::sample::status());
        for rows in [1, 2, 3, 7, 1000] {
            let mut r = Renderer::new(crate::status::sample::status());
            let mut out = String::new();
            let mut turns = 0;
            while !r.render_some(&mut out, rows) {
                turns += 1;
                assert!(turns < 10_000, "no progress at {rows} rows per slice");
            }
            assert_eq!(out, whole, "slices of {rows}");
            if rows == 1 {
                assert!(turns > 10, "one row per slice must take many turns");
            }
        }
    }

    #[test]
    fn integers_are_written_as_by_display() {
        for v in [0, 7, 10, 1_234_567_890, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(esc("plain"), "plain");
    }
}
