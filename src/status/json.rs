//! The status as JSON (`lvsd status --json`), schema version
//! [`super::SCHEMA_VERSION`]: docs/status.schema.json describes every field,
//! docs/operations.md says how to read it. Written by hand (no serde): the
//! document is small and its order is part of the golden test. Each part of
//! the model has a function that writes its object's fields, in order.

use std::fmt::Write;

use super::{
    addr_port, key_text, Announced, Checks, Control, HealthService, Histogram, Ipvs, KernelService,
    Notifier, Process, RealServer, Receiver, Reload, Rtnetlink, Script, Status, TrackedProcess,
    VrrpInstance, HISTOGRAM_BOUNDS_US, SCHEMA_VERSION,
};
use crate::lvs::table::Admin;
use crate::wire::netlink::ipvs::{
    AddrFamily, Dest, DestStats, ServiceKey, TrafficRates, TrafficStats, TrafficTotals,
};

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

/// `[a,b,…]`, each item written by `each`.
fn array<I: IntoIterator>(out: &mut String, items: I, mut each: impl FnMut(&mut String, I::Item)) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, item);
    }
    out.push(']');
}

/// An object whose fields `fill` writes.
fn object(out: &mut String, fill: impl FnOnce(&mut Obj<'_>)) {
    out.push('{');
    fill(&mut Obj { out, first: true });
    out.push('}');
}

/// The fields of one object: `"a":1,"b":"x"`, keys in call order.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl Obj<'_> {
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
    fn num_or_null(&mut self, k: &str, v: Option<impl std::fmt::Display>) -> &mut Self {
        match v {
            Some(v) => self.num(k, v),
            None => self.null(k),
        }
    }
    fn str_or_null(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }
    /// An array of strings.
    fn strs(&mut self, k: &str, items: &[String]) -> &mut Self {
        array(self.key(k), items, |out, s| string(out, s));
        self
    }
    /// An object whose fields `fill` writes from `v`.
    fn obj<T: ?Sized>(&mut self, k: &str, v: &T, fill: fn(&mut Obj<'_>, &T)) -> &mut Self {
        object(self.key(k), |o| fill(o, v));
        self
    }
    /// [`Obj::obj`], or `null` for `None`.
    fn obj_or_null<T>(&mut self, k: &str, v: Option<&T>, fill: fn(&mut Obj<'_>, &T)) -> &mut Self {
        match v {
            Some(v) => self.obj(k, v, fill),
            None => self.null(k),
        }
    }
    /// An array of objects, one per item.
    fn objs<T>(&mut self, k: &str, items: &[T], fill: fn(&mut Obj<'_>, &T)) -> &mut Self {
        array(self.key(k), items, |out, item| {
            object(out, |o| fill(o, item))
        });
        self
    }
}

/// Renders the whole status.
pub fn render(s: &Status) -> String {
    let rs: usize = s.ipvs.as_ref().map_or(0, |i| {
        i.kernel.iter().map(|k| k.dests.len()).sum::<usize>()
            + i.services
                .iter()
                .map(|h| h.real_servers.len())
                .sum::<usize>()
    });
    let mut out = String::with_capacity(400 * rs + 4096);
    object(&mut out, |o| document(o, s));
    out.push('\n');
    out
}

fn document(o: &mut Obj<'_>, s: &Status) {
    o.num("schema_version", SCHEMA_VERSION)
        .str("version", &s.version)
        .num("uptime_seconds", s.uptime_s)
        .num("start_time_unix", s.start_time_unix)
        .str("config_path", &s.config_path)
        .obj("reload", &s.reload, reload)
        .num("work_put_off", s.yields)
        .obj("rtnetlink", &s.rtnetlink, rtnetlink)
        .obj("control", &s.control, control)
        .num("log_lines_lost", s.log_lines_lost)
        .objs("announce", &s.announce, announced)
        .obj("process", &s.process, process)
        .objs("vrrp", &s.vrrp, vrrp_instance)
        .obj_or_null("ipvs", s.ipvs.as_ref(), ipvs)
        .obj_or_null("checks", s.checks.as_ref(), checks)
        .objs("notifiers", &s.notifiers, notifier)
        .objs("scripts", &s.scripts, script)
        .objs("track_processes", &s.track_processes, track_process)
        .objs("track_files", &s.track_files, track_file)
        .obj_or_null("notify_fifo", s.notify_fifo.as_ref(), notify_fifo)
        .objs("receivers", &s.receivers, receiver);
}

fn histogram(o: &mut Obj<'_>, h: &Histogram) {
    o.num("count", h.count)
        .num("sum_us", h.sum_us)
        .num("max_us", h.max_us)
        .num("p50_us", h.p50_us)
        .num("p99_us", h.p99_us)
        .num("p999_us", h.p999_us);
    let buckets = HISTOGRAM_BOUNDS_US.iter().zip(h.below.iter());
    array(o.key("buckets"), buckets, |out, (le, n)| {
        object(out, |b| {
            b.num("below_us", le).num("count", n);
        });
    });
}

/// Counters by name (drop and failure reasons).
fn counts(o: &mut Obj<'_>, items: &[(&'static str, u64)]) {
    for (k, v) in items {
        o.num(k, v);
    }
}

fn reload(o: &mut Obj<'_>, r: &Reload) {
    o.num("count", r.count)
        .num("rejected", r.rejected)
        .num("last_success_unix", r.last_success_unix)
        .str("last_result", &r.last_result);
}

fn rtnetlink(o: &mut Obj<'_>, r: &Rtnetlink) {
    o.num("overflows", r.overflows)
        .num("redumps", r.redumps)
        .num("pending_requests", r.pending_requests)
        .num("untracked", r.untracked)
        .num("undecodable", r.undecodable);
}

fn control(o: &mut Obj<'_>, c: &Control) {
    o.num("clients", c.clients)
        .num("accepted", c.accepted)
        .num("refused", c.refused)
        .num("evicted", c.evicted)
        .num("timed_out", c.timed_out)
        .num("turned_away", c.turned_away);
}

fn announced(o: &mut Obj<'_>, a: &Announced) {
    o.str("address", &a.address)
        .str("group", &a.group)
        .bool("announced", a.announced)
        .str_or_null("reason", a.reason.as_deref());
}

fn process(o: &mut Obj<'_>, p: &Process) {
    o.num("rss_bytes", p.rss_bytes)
        .num("open_fds", p.open_fds)
        .num("max_fds", p.max_fds);
}

fn vrrp_instance(o: &mut Obj<'_>, v: &VrrpInstance) {
    o.str("name", &v.name)
        .num("vrid", v.vrid)
        .str("interface", &v.interface)
        .str("state", v.state)
        .num("priority", v.priority)
        .num("configured_priority", v.configured_priority)
        .bool("held", v.held)
        .strs("vips", &v.vips)
        .num("adverts_sent", v.adverts_sent)
        .num("adverts_received", v.adverts_received)
        .num("became_master", v.became_master)
        .num("released_master", v.released_master)
        .num("vip_mismatches", v.vip_mismatches)
        .num("answers_limited", v.answers_limited)
        .num("notify_coalesced", v.notify_coalesced)
        .obj("drops", &v.drops[..], counts)
        .obj("advert_lateness", &v.advert_lateness, histogram);
}

fn checks(o: &mut Obj<'_>, c: &Checks) {
    o.num("probes", c.probes)
        .num("run", c.run)
        .num("in_flight", c.in_flight)
        .num("pool_capacity", c.pool_capacity)
        .num("pool_waits", c.pool_waits)
        .num("child_slot_waits", c.child_slot_waits)
        .num("pool_rejected", c.pool_rejected)
        .num("pool_full_skips", c.pool_full_skips)
        .num("read_budget_yields", c.read_budget_yields)
        .num("timer_failures", c.timer_failures)
        .obj("failures", &c.failures[..], counts)
        .obj("start_lateness", &c.start_lateness, histogram)
        .obj("duration", &c.duration, histogram);
}

fn notifier(o: &mut Obj<'_>, n: &Notifier) {
    o.str("label", &n.label)
        .num("runs", n.runs)
        .num("failures", n.failures)
        .num("dropped", n.dropped)
        .bool("running", n.busy);
}

fn script(o: &mut Obj<'_>, sc: &Script) {
    o.str("name", &sc.name)
        .bool("up", sc.up)
        .num("runs", sc.runs)
        .str("last", &sc.last);
}

fn track_process(o: &mut Obj<'_>, p: &TrackedProcess) {
    o.str("name", &p.name)
        .num("count", p.count)
        .bool("up", p.up)
        .bool("events", p.events);
}

fn track_file(o: &mut Obj<'_>, (path, value): &(String, i64)) {
    o.str("path", path).num("value", value);
}

fn notify_fifo(o: &mut Obj<'_>, (written, dropped): &(u64, u64)) {
    o.num("written", written).num("dropped", dropped);
}

fn receiver(o: &mut Obj<'_>, r: &Receiver) {
    o.str("interface", &r.interface)
        .str("family", if r.ipv6 { "inet6" } else { "inet" })
        .num("read_budget", r.read_budget)
        .num("budget_reached", r.budget_reached)
        .obj("drops", &r.drops[..], counts);
}

fn ipvs(o: &mut Obj<'_>, ipvs: &Ipvs) {
    o.str("version", &ipvs.version_text())
        .num("conn_tab_size", ipvs.conn_tab_size)
        .str_or_null("dump_error", ipvs.dump_error.as_deref())
        .num("reconciles", ipvs.reconciles)
        .num("writes", ipvs.writes)
        .num("refused", ipvs.refused)
        .str("sync_daemon", ipvs.sync_daemon)
        .num("last_reconcile_us", ipvs.last_reconcile_us)
        .num("unacknowledged_writes", ipvs.unacknowledged_writes)
        .obj_or_null("totals", ipvs.totals.as_ref(), stats)
        .obj("reconcile_duration", &ipvs.reconcile_duration, histogram)
        .objs("kernel", &ipvs.kernel, kernel_service)
        .objs("virtual_servers", &ipvs.services, virtual_server)
        .strs("foreign", &ipvs.foreign);
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
            let family = if *af == AddrFamily::V6 {
                "inet6"
            } else {
                "inet"
            };
            o.null("protocol")
                .null("address")
                .null("port")
                .num("fwmark", mark)
                .str("family", family);
        }
    }
}

fn rates(o: &mut Obj<'_>, r: &TrafficRates) {
    o.num("connections_per_second", r.connections)
        .num("packets_in_per_second", r.packets_in)
        .num("packets_out_per_second", r.packets_out)
        .num("bytes_in_per_second", r.bytes_in)
        .num("bytes_out_per_second", r.bytes_out);
}

/// Traffic counters and their rates (a service's, a destination's).
fn traffic(o: &mut Obj<'_>, totals: &TrafficTotals, r: &TrafficRates) {
    o.num("connections_total", totals.connections)
        .num("packets_in_total", totals.packets_in)
        .num("packets_out_total", totals.packets_out)
        .num("bytes_in_total", totals.bytes_in)
        .num("bytes_out_total", totals.bytes_out)
        .obj("rates", r, rates);
}

fn stats(o: &mut Obj<'_>, t: &TrafficStats) {
    traffic(o, &t.totals, &t.rates);
}

fn kernel_service(o: &mut Obj<'_>, k: &KernelService) {
    service_key(o, &k.service.key);
    o.str("scheduler", k.service.scheduler.name())
        .num("flags", k.service.flags)
        .num("persistence_timeout", k.service.timeout)
        .str("line", &super::text::service_line(&k.service))
        .obj("stats", &k.stats, stats)
        .objs("destinations", &k.dests, destination);
}

fn destination(o: &mut Obj<'_>, (d, st): &(Dest, DestStats)) {
    o.str("address", &d.key.addr.to_string())
        .num("port", d.key.port)
        .str("forward", d.forward.name())
        .num("weight", d.weight)
        .num("active_connections", st.active_conns)
        .num("inactive_connections", st.inactive_conns)
        .num("persistent_connections", st.persist_conns);
    traffic(o, &st.totals, &st.rates);
}

fn virtual_server(o: &mut Obj<'_>, svc: &HealthService) {
    o.str("name", &svc.name).str("key", &key_text(&svc.key));
    service_key(o, &svc.key);
    o.bool("quorum_up", svc.quorum_up)
        .objs("real_servers", &svc.real_servers, real_server);
}

fn real_server(o: &mut Obj<'_>, rs: &RealServer) {
    o.str("address", &rs.key.addr.to_string())
        .num("port", rs.key.port)
        .str("endpoint", &addr_port(rs.key.addr, rs.key.port))
        .str("state", rs.state)
        .bool("alive", rs.alive)
        .num_or_null("weight", rs.weight)
        .num("configured_weight", rs.configured_weight)
        .obj("operator", &rs.admin, operator)
        .str("reason", &rs.reason);
}

fn operator(o: &mut Obj<'_>, admin: &Admin) {
    let weight = match admin {
        Admin::Weight(w) => Some(*w),
        _ => None,
    };
    o.str("mode", admin.as_str()).num_or_null("weight", weight);
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
