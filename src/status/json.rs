//! The status as JSON (`lvsd status --json`), schema version
//! [`super::SCHEMA_VERSION`]: docs/status.schema.json describes every field,
//! docs/operations.md says how to read it. Written by hand (no serde): the
//! document is small and its order is part of the golden test.

use std::fmt::Write;

use super::{addr_port, key_text, Histogram, Status, HISTOGRAM_BOUNDS_US, SCHEMA_VERSION};
use crate::lvs::table::Admin;
use crate::wire::netlink::ipvs::{AddrFamily, ServiceKey, TrafficRates, TrafficStats};

/// A JSON string literal.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Builds one object: `{"a":1,"b":"x"}`, keys in call order.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }
    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        string(self.out, k);
        self.out.push(':');
        self.out
    }
    fn num(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Self {
        let o = self.key(k);
        let _ = write!(o, "{v}");
        self
    }
    fn str(&mut self, k: &str, v: &str) -> &mut Self {
        let o = self.key(k);
        string(o, v);
        self
    }
    fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        let o = self.key(k);
        o.push_str(if v { "true" } else { "false" });
        self
    }
    fn null(&mut self, k: &str) -> &mut Self {
        self.key(k).push_str("null");
        self
    }
    fn end(self) {
        self.out.push('}');
    }
}

fn histogram(out: &mut String, h: &Histogram) {
    let mut o = Obj::new(out);
    o.num("count", h.count)
        .num("sum_us", h.sum_us)
        .num("max_us", h.max_us)
        .num("p50_us", h.p50_us)
        .num("p99_us", h.p99_us)
        .num("p999_us", h.p999_us);
    let b = o.key("buckets");
    b.push('[');
    for (i, (le, n)) in HISTOGRAM_BOUNDS_US.iter().zip(h.below.iter()).enumerate() {
        if i > 0 {
            b.push(',');
        }
        let _ = write!(b, "{{\"below_us\":{le},\"count\":{n}}}");
    }
    b.push(']');
    o.end();
}

fn rates(out: &mut String, r: &TrafficRates) {
    let mut o = Obj::new(out);
    o.num("connections_per_second", r.connections)
        .num("packets_in_per_second", r.packets_in)
        .num("packets_out_per_second", r.packets_out)
        .num("bytes_in_per_second", r.bytes_in)
        .num("bytes_out_per_second", r.bytes_out);
    o.end();
}

fn traffic(out: &mut String, t: &TrafficStats) {
    let mut o = Obj::new(out);
    o.num("connections_total", t.totals.connections)
        .num("packets_in_total", t.totals.packets_in)
        .num("packets_out_total", t.totals.packets_out)
        .num("bytes_in_total", t.totals.bytes_in)
        .num("bytes_out_total", t.totals.bytes_out);
    rates(o.key("rates"), &t.rates);
    o.end();
}

fn counts(out: &mut String, items: &[(&'static str, u64)]) {
    let mut o = Obj::new(out);
    for (k, v) in items {
        o.num(k, v);
    }
    o.end();
}

fn array<T>(out: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, item);
    }
    out.push(']');
}

fn service_key(o: &mut Obj<'_>, key: &ServiceKey) {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            o.str("protocol", protocol.name())
                .str("address", &addr.to_string())
                .num("port", port)
                .null("fwmark");
        }
        ServiceKey::Fwmark { af, mark } => {
            o.null("protocol")
                .null("address")
                .null("port")
                .num("fwmark", mark)
                .str(
                    "family",
                    if *af == AddrFamily::V6 {
                        "inet6"
                    } else {
                        "inet"
                    },
                );
        }
    }
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
    out.reserve(400 * rs + 4096);
    let mut o = Obj::new(&mut out);
    o.num("schema_version", SCHEMA_VERSION)
        .str("version", &s.version)
        .num("uptime_seconds", s.uptime_s)
        .num("start_time_unix", s.start_time_unix)
        .str("config_path", &s.config_path);
    {
        let r = o.key("reload");
        let mut ro = Obj::new(r);
        ro.num("count", s.reload.count)
            .num("rejected", s.reload.rejected)
            .num("last_success_unix", s.reload.last_success_unix)
            .str("last_result", &s.reload.last_result);
        ro.end();
    }
    o.num("work_put_off", s.yields);
    {
        let mut ro = Obj::new(o.key("rtnetlink"));
        let r = &s.rtnetlink;
        ro.num("overflows", r.overflows)
            .num("redumps", r.redumps)
            .num("pending_requests", r.pending_requests)
            .num("untracked", r.untracked)
            .num("undecodable", r.undecodable);
        ro.end();
    }
    {
        let mut co = Obj::new(o.key("control"));
        let c = &s.control;
        co.num("clients", c.clients)
            .num("accepted", c.accepted)
            .num("refused", c.refused)
            .num("evicted", c.evicted)
            .num("timed_out", c.timed_out)
            .num("turned_away", c.turned_away);
        co.end();
    }
    o.num("log_lines_lost", s.log_lines_lost);
    array(o.key("announce"), &s.announce, |out, a| {
        let mut ao = Obj::new(out);
        ao.str("address", &a.address)
            .str("group", &a.group)
            .bool("announced", a.announced);
        match &a.reason {
            Some(r) => ao.str("reason", r),
            None => ao.null("reason"),
        };
        ao.end();
    });
    {
        let p = o.key("process");
        let mut po = Obj::new(p);
        po.num("rss_bytes", s.process.rss_bytes)
            .num("open_fds", s.process.open_fds)
            .num("max_fds", s.process.max_fds);
        po.end();
    }
    array(o.key("vrrp"), &s.vrrp, |out, v| {
        let mut vo = Obj::new(out);
        vo.str("name", &v.name)
            .num("vrid", v.vrid)
            .str("interface", &v.interface)
            .str("state", v.state)
            .num("priority", v.priority)
            .num("configured_priority", v.configured_priority)
            .bool("held", v.held);
        array(vo.key("vips"), &v.vips, |out, ip| string(out, ip));
        vo.num("adverts_sent", v.adverts_sent)
            .num("adverts_received", v.adverts_received)
            .num("became_master", v.became_master)
            .num("released_master", v.released_master)
            .num("vip_mismatches", v.vip_mismatches)
            .num("answers_limited", v.answers_limited)
            .num("notify_coalesced", v.notify_coalesced);
        counts(vo.key("drops"), &v.drops);
        histogram(vo.key("advert_lateness"), &v.advert_lateness);
        vo.end();
    });
    match &s.ipvs {
        None => {
            o.null("ipvs");
        }
        Some(ipvs) => ipvs_part(o.key("ipvs"), ipvs),
    }
    match &s.checks {
        None => {
            o.null("checks");
        }
        Some(c) => {
            let mut co = Obj::new(o.key("checks"));
            co.num("probes", c.probes)
                .num("run", c.run)
                .num("in_flight", c.in_flight)
                .num("pool_capacity", c.pool_capacity)
                .num("pool_waits", c.pool_waits)
                .num("child_slot_waits", c.child_slot_waits)
                .num("pool_rejected", c.pool_rejected)
                .num("pool_full_skips", c.pool_full_skips)
                .num("read_budget_yields", c.read_budget_yields)
                .num("timer_failures", c.timer_failures);
            counts(co.key("failures"), &c.failures);
            histogram(co.key("start_lateness"), &c.start_lateness);
            histogram(co.key("duration"), &c.duration);
            co.end();
        }
    }
    array(o.key("notifiers"), &s.notifiers, |out, n| {
        let mut no = Obj::new(out);
        no.str("label", &n.label)
            .num("runs", n.runs)
            .num("failures", n.failures)
            .num("dropped", n.dropped)
            .bool("running", n.busy);
        no.end();
    });
    array(o.key("scripts"), &s.scripts, |out, sc| {
        let mut so = Obj::new(out);
        so.str("name", &sc.name)
            .bool("up", sc.up)
            .num("runs", sc.runs)
            .str("last", &sc.last);
        so.end();
    });
    array(o.key("track_processes"), &s.track_processes, |out, p| {
        let mut po = Obj::new(out);
        po.str("name", &p.name)
            .num("count", p.count)
            .bool("up", p.up)
            .bool("events", p.events);
        po.end();
    });
    array(
        o.key("track_files"),
        &s.track_files,
        |out, (path, value)| {
            let mut fo = Obj::new(out);
            fo.str("path", path).num("value", value);
            fo.end();
        },
    );
    match s.notify_fifo {
        None => {
            o.null("notify_fifo");
        }
        Some((written, dropped)) => {
            let mut fo = Obj::new(o.key("notify_fifo"));
            fo.num("written", written).num("dropped", dropped);
            fo.end();
        }
    }
    array(o.key("receivers"), &s.receivers, |out, r| {
        let mut ro = Obj::new(out);
        ro.str("interface", &r.interface)
            .str("family", if r.ipv6 { "inet6" } else { "inet" })
            .num("read_budget", r.read_budget)
            .num("budget_reached", r.budget_reached);
        counts(ro.key("drops"), &r.drops);
        ro.end();
    });
    o.end();
    out.push('\n');
    out
}

fn ipvs_part(out: &mut String, ipvs: &super::Ipvs) {
    let mut o = Obj::new(out);
    let v = ipvs.version;
    o.str(
        "version",
        &format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff),
    )
    .num("conn_tab_size", ipvs.conn_tab_size);
    match &ipvs.dump_error {
        None => o.null("dump_error"),
        Some(e) => o.str("dump_error", e),
    };
    o.num("reconciles", ipvs.reconciles)
        .num("writes", ipvs.writes)
        .num("refused", ipvs.refused)
        .str("sync_daemon", ipvs.sync_daemon)
        .num("last_reconcile_us", ipvs.last_reconcile_us)
        .num("unacknowledged_writes", ipvs.unacknowledged_writes);
    match &ipvs.totals {
        None => {
            o.null("totals");
        }
        Some(t) => traffic(o.key("totals"), t),
    }
    histogram(o.key("reconcile_duration"), &ipvs.reconcile_duration);
    array(o.key("kernel"), &ipvs.kernel, |out, k| {
        let mut ko = Obj::new(out);
        service_key(&mut ko, &k.service.key);
        ko.str("scheduler", k.service.scheduler.name())
            .num("flags", k.service.flags)
            .num("persistence_timeout", k.service.timeout)
            .str("line", &super::text::service_line(&k.service));
        traffic(ko.key("stats"), &k.stats);
        array(ko.key("destinations"), &k.dests, |out, (d, st)| {
            let mut d_o = Obj::new(out);
            d_o.str("address", &d.key.addr.to_string())
                .num("port", d.key.port)
                .str("forward", d.forward.name())
                .num("weight", d.weight)
                .num("active_connections", st.active_conns)
                .num("inactive_connections", st.inactive_conns)
                .num("persistent_connections", st.persist_conns)
                .num("connections_total", st.totals.connections)
                .num("packets_in_total", st.totals.packets_in)
                .num("packets_out_total", st.totals.packets_out)
                .num("bytes_in_total", st.totals.bytes_in)
                .num("bytes_out_total", st.totals.bytes_out);
            rates(d_o.key("rates"), &st.rates);
            d_o.end();
        });
        ko.end();
    });
    array(o.key("virtual_servers"), &ipvs.services, |out, svc| {
        let mut so = Obj::new(out);
        so.str("name", &svc.name).str("key", &key_text(&svc.key));
        service_key(&mut so, &svc.key);
        so.bool("quorum_up", svc.quorum_up);
        array(so.key("real_servers"), &svc.real_servers, |out, rs| {
            let mut ro = Obj::new(out);
            ro.str("address", &rs.key.addr.to_string())
                .num("port", rs.key.port)
                .str("endpoint", &addr_port(rs.key.addr, rs.key.port))
                .str("state", rs.state)
                .bool("alive", rs.alive);
            match rs.weight {
                Some(w) => ro.num("weight", w),
                None => ro.null("weight"),
            };
            ro.num("configured_weight", rs.configured_weight);
            {
                let mut ao = Obj::new(ro.key("operator"));
                ao.str("mode", rs.admin.as_str());
                match rs.admin {
                    Admin::Weight(w) => ao.num("weight", w),
                    _ => ao.null("weight"),
                };
                ao.end();
            }
            ro.str("reason", &rs.reason);
            ro.end();
        });
        so.end();
    });
    array(o.key("foreign"), &ipvs.foreign, |out, f| string(out, f));
    o.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_json() {
        let got = render(&crate::status::sample::status());
        let want = include_str!("golden/status.json");
        assert_eq!(got, want, "---- got ----\n{got}");
    }

    #[test]
    fn strings_are_escaped() {
        let mut s = String::new();
        string(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}
