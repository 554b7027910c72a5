//! The status as Prometheus text exposition (format 0.0.4). Where a metric
//! means what an existing exporter's does, it has that exporter's name and
//! labels, so dashboards and alerts keep working: mehdy/keepalived-exporter
//! (`keepalived_*`, labels `iname`, `intf`, `vrid`) and node_exporter's ipvs
//! collector (`node_ipvs_backend_*`, labels `local_address`, `local_port`,
//! `remote_address`, `remote_port`, `proto`, `local_mark`). The rest is
//! `lvsd_*`; the table is in docs/operations.md.
//!
//! Here: the families that grow with the IPVS table and the [`Renderer`]
//! that writes a scrape in slices. `families`: the fixed-size rest.
//! `encode`: the exposition format.

mod encode;
mod families;

use std::fmt::Write;

use super::{HealthService, RealServer, Status};
use crate::lvs::table::Admin;
use crate::wire::netlink::ipvs::{Dest, DestStats, TrafficTotals};
use encode::{esc, header, ipvs_labels, kind, sample, Family, Labels, Value::*};

/// `Content-Type` of the answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

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

/// Kernel destination families.
const DEST_FAMILIES: [Family<(Dest, DestStats)>; 8] = [
    (
        "node_ipvs_backend_connections_active",
        "The current active connections by local and remote address.",
        Gauge(|(_, s)| u64::from(s.active_conns)),
    ),
    (
        "node_ipvs_backend_connections_inactive",
        "The current inactive connections by local and remote address.",
        Gauge(|(_, s)| u64::from(s.inactive_conns)),
    ),
    (
        "node_ipvs_backend_weight",
        "The current backend weight by local and remote address.",
        Gauge(|(d, _)| u64::from(d.weight)),
    ),
    (
        "lvsd_ipvs_backend_connections_total",
        "Connections scheduled to this destination (kernel STATS64).",
        Counter(|(_, s)| s.totals.connections),
    ),
    (
        "lvsd_ipvs_backend_incoming_packets_total",
        "Packets from clients to this destination.",
        Counter(|(_, s)| s.totals.packets_in),
    ),
    (
        "lvsd_ipvs_backend_outgoing_packets_total",
        "Packets from this destination to clients (NAT only).",
        Counter(|(_, s)| s.totals.packets_out),
    ),
    (
        "lvsd_ipvs_backend_incoming_bytes_total",
        "Bytes from clients to this destination.",
        Counter(|(_, s)| s.totals.bytes_in),
    ),
    (
        "lvsd_ipvs_backend_outgoing_bytes_total",
        "Bytes from this destination to clients (NAT only).",
        Counter(|(_, s)| s.totals.bytes_out),
    ),
];

/// Real-server families of lvsd's own view (gauges; see [`real_server_row`]).
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

    /// What a section writes before its rows: all of the first and the
    /// last, the `# HELP`/`# TYPE` of the others (with IPVS).
    fn header(&self, out: &mut String) {
        match self.section {
            0 => families::first(out, &self.s),
            CHECKS => {
                if let Some(c) = &self.s.checks {
                    families::checks(out, c);
                }
            }
            _ if self.s.ipvs.is_none() => {}
            DEST_FIRST..SERVICE_FIRST => {
                let family = &DEST_FAMILIES[self.section - DEST_FIRST];
                header(out, family.0, kind(family), family.1);
            }
            SERVICE_FIRST..QUORUM => {
                let (suffix, help, _) = TRAFFIC_FAMILIES[self.section - SERVICE_FIRST];
                header(
                    out,
                    &format!("lvsd_ipvs_service_{suffix}"),
                    "counter",
                    &format!("{help} Per virtual service (kernel STATS64)."),
                );
            }
            QUORUM => header(
                out,
                "lvsd_virtual_server_quorum_up",
                "gauge",
                "1 while the virtual server holds its quorum.",
            ),
            RS_FIRST..CHECKS => {
                let (name, help) = RS_FAMILIES[self.section - RS_FIRST];
                header(out, name, "gauge", help);
            }
            _ => {}
        }
    }

    /// Row `row` of the current section.
    fn line(&mut self, out: &mut String, row: usize) {
        self.label(row);
        let Some(ipvs) = &self.s.ipvs else {
            return;
        };
        match self.section {
            DEST_FIRST..SERVICE_FIRST => {
                let (i, j) = self.dests[row];
                let family = &DEST_FAMILIES[self.section - DEST_FIRST];
                encode::row(
                    out,
                    family,
                    self.dest_labels.get(row),
                    &ipvs.kernel[i].dests[j],
                );
            }
            SERVICE_FIRST..QUORUM => {
                let (suffix, _, get) = TRAFFIC_FAMILIES[self.section - SERVICE_FIRST];
                out.push_str("lvsd_ipvs_service_");
                let totals = &ipvs.kernel[row].stats.totals;
                sample(out, suffix, self.service_labels.get(row), get(totals));
            }
            QUORUM => quorum_row(out, &ipvs.services[row]),
            RS_FIRST..CHECKS => {
                let (i, j) = self.servers[row];
                let rs = &ipvs.services[i].real_servers[j];
                real_server_row(
                    out,
                    self.section - RS_FIRST,
                    self.server_labels.get(row),
                    rs,
                );
            }
            _ => {}
        }
    }

    /// Builds the labels of `row` in the first family that needs them
    /// (rows come in order), so no slice pays for the whole table.
    fn label(&mut self, row: usize) {
        let Some(ipvs) = &self.s.ipvs else {
            return;
        };
        if (DEST_FIRST..SERVICE_FIRST).contains(&self.section) && self.dest_labels.len() == row {
            let (i, j) = self.dests[row];
            let k = &ipvs.kernel[i];
            let d = &k.dests[j].0;
            self.dest_labels
                .push(|out| ipvs_labels(out, &k.service.key, Some((d.key.addr, d.key.port))));
        }
        if (SERVICE_FIRST..QUORUM).contains(&self.section) && self.service_labels.len() == row {
            let key = &ipvs.kernel[row].service.key;
            self.service_labels.push(|out| ipvs_labels(out, key, None));
        }
        if (RS_FIRST..CHECKS).contains(&self.section) && self.server_labels.len() == row {
            let (i, j) = self.servers[row];
            let svc = &ipvs.services[i];
            let rs = &svc.real_servers[j];
            self.server_labels
                .push(|out| ipvs_labels(out, &svc.key, Some((rs.key.addr, rs.key.port))));
        }
    }
}

fn quorum_row(out: &mut String, svc: &HealthService) {
    let _ = writeln!(
        out,
        "lvsd_virtual_server_quorum_up{{virtual_server=\"{}\",name=\"{}\"}} {}",
        super::key_text(&svc.key),
        esc(&svc.name),
        u8::from(svc.quorum_up)
    );
}

/// The sample of `RS_FAMILIES[family]` for one real server, if it has one.
fn real_server_row(out: &mut String, family: usize, labels: &str, rs: &RealServer) {
    let name = RS_FAMILIES[family].0;
    match family {
        0 => sample(out, name, labels, u64::from(rs.alive)),
        1 => {
            if let Some(w) = rs.weight {
                sample(out, name, labels, u64::from(w));
            }
        }
        2 => sample(out, name, labels, u64::from(rs.configured_weight)),
        _ => {
            if rs.admin != Admin::None {
                let _ = writeln!(out, "{name}{{{labels},mode=\"{}\"}} 1", rs.admin.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_metrics() {
        let got = render(&crate::status::sample::status());
        let want = include_str!("../golden/metrics.txt");
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
}
