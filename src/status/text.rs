//! `lvsd status` as text: first the kernel table exactly in `ipvsadm -Ln`'s
//! layout (eyes and scripts carry over), then lvsd's own lines.

use std::fmt::Write;

use super::{
    addr_port, key_text, Checks, HealthService, Histogram, Ipvs, Receiver, Status, VrrpInstance,
};
use crate::lvs::table::Admin;
use crate::wire::netlink::ipvs::{flags as f, AddrFamily, Scheduler, Service, ServiceKey};

/// `n=… p50=…us p99=…us p999=…us max=…us` (what the benches parse).
pub fn histogram(h: &Histogram) -> String {
    format!(
        "n={} p50={}us p99={}us p999={}us max={}us",
        h.count, h.p50_us, h.p99_us, h.p999_us, h.max_us
    )
}

/// Renders the whole status: the IPVS table, then lvsd's own lines.
pub fn render(s: &Status) -> String {
    let mut out = String::new();
    if let Some(ipvs) = &s.ipvs {
        let lines: usize = ipvs.kernel.iter().map(|k| k.dests.len() + 1).sum::<usize>()
            + ipvs
                .services
                .iter()
                .map(|h| h.real_servers.len() + 1)
                .sum::<usize>();
        out.reserve(90 * lines + 1024);
        ipvs_part(&mut out, ipvs);
    }
    let _ = writeln!(
        out,
        "lvsd {} up {}s, config {} (reloads {}, rejected {}), work put off behind VRRP timers {}",
        s.version, s.uptime_s, s.config_path, s.reload.count, s.reload.rejected, s.yields
    );
    for v in &s.vrrp {
        instance(&mut out, v);
    }
    tracking(&mut out, s);
    for r in &s.receivers {
        receiver(&mut out, r);
    }
    if let Some(c) = &s.checks {
        checks(&mut out, c);
    }
    for a in &s.announce {
        match &a.reason {
            None => {
                let _ = writeln!(out, "announce {} group {}: announced", a.address, a.group);
            }
            Some(why) => {
                let _ = writeln!(
                    out,
                    "announce {} group {}: withdrawn ({why})",
                    a.address, a.group
                );
            }
        }
    }
    plumbing(&mut out, s);
    out
}

/// `reason=n …` for the counts that are not zero.
fn nonzero(counts: &[(&str, u64)]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("{r}={n}"))
        .collect();
    parts.join(" ")
}

/// A VRRP instance's line, and its lateness and drops where there are any.
fn instance(out: &mut String, v: &VrrpInstance) {
    let _ = writeln!(
        out,
        "vrrp_instance {} vrid {} on {}: {} priority {} (configured {}) adverts sent {} received {}{}",
        v.name,
        v.vrid,
        v.interface,
        v.state,
        v.priority,
        v.configured_priority,
        v.adverts_sent,
        v.adverts_received,
        if v.held {
            " (held by stepdown until 'lvsd vrrp resume')"
        } else {
            ""
        }
    );
    if v.advert_lateness.count > 0 {
        let _ = writeln!(out, "  advert lateness: {}", histogram(&v.advert_lateness));
    }
    if v.answers_limited > 0 || v.notify_coalesced > 0 {
        let _ = writeln!(
            out,
            "  answers rate-limited {} notifications coalesced {}",
            v.answers_limited, v.notify_coalesced
        );
    }
    if v.drops.iter().any(|(_, n)| *n > 0) || v.vip_mismatches > 0 {
        let _ = writeln!(
            out,
            "  dropped: {} vip_mismatch={}",
            nonzero(&v.drops),
            v.vip_mismatches
        );
    }
}

/// Notify runners, `vrrp_script`s, track files and processes, the notify FIFO.
fn tracking(out: &mut String, s: &Status) {
    for n in &s.notifiers {
        let _ = writeln!(
            out,
            "{} notify: ran {} failed {} dropped {}{}",
            n.label,
            n.runs,
            n.failures,
            n.dropped,
            if n.busy { " (running)" } else { "" }
        );
    }
    for sc in &s.scripts {
        let _ = writeln!(
            out,
            "vrrp_script {}: {} runs {} last {}",
            sc.name,
            if sc.up { "up" } else { "down" },
            sc.runs,
            sc.last
        );
    }
    for (path, value) in &s.track_files {
        let _ = writeln!(out, "track_file {path}: {value}");
    }
    for p in &s.track_processes {
        let _ = writeln!(
            out,
            "track_process {}: {} process(es), quorum {} ({})",
            p.name,
            p.count,
            if p.up { "met" } else { "not met" },
            if p.events {
                "process events"
            } else {
                "/proc rescans"
            }
        );
    }
    if let Some((written, dropped)) = s.notify_fifo {
        let _ = writeln!(out, "notify_fifo: written {written} dropped {dropped}");
    }
}

/// A receive socket's budget and drops, where there are any.
fn receiver(out: &mut String, r: &Receiver) {
    let family = if r.ipv6 { "IPv6" } else { "IPv4" };
    if r.budget_reached > 0 {
        let _ = writeln!(
            out,
            "vrrp receiver {} ({family}): read budget of {} reached {} times",
            r.interface, r.read_budget, r.budget_reached
        );
    }
    if r.drops.iter().any(|(_, n)| *n > 0) {
        let _ = writeln!(
            out,
            "vrrp receiver {} ({family}): dropped {}",
            r.interface,
            nonzero(&r.drops)
        );
    }
}

fn checks(out: &mut String, c: &Checks) {
    let _ = writeln!(
        out,
        "health checks: {} probe(s), run {}, in flight {}, pool waits {} rejected {}",
        c.probes, c.run, c.in_flight, c.pool_waits, c.pool_rejected
    );
    let _ = writeln!(
        out,
        "  pool full (verdict kept) {}, read budget yields {}, timer failures {}",
        c.pool_full_skips, c.read_budget_yields, c.timer_failures
    );
    let _ = writeln!(out, "  start lateness: {}", histogram(&c.start_lateness));
}

/// The daemon's own plumbing: control socket, log, child slots, reload,
/// rtnetlink, IPVS acks.
fn plumbing(out: &mut String, s: &Status) {
    let c = &s.control;
    let _ = writeln!(
        out,
        "control: clients {}, accepted {}, refused by peer check {}, idle evicted {}, timed out {}, turned away {}; log lines lost {}",
        c.clients, c.accepted, c.refused, c.evicted, c.timed_out, c.turned_away, s.log_lines_lost
    );
    if let Some(c) = s.checks.as_ref().filter(|c| c.child_slot_waits > 0) {
        let _ = writeln!(
            out,
            "health checks: scripts that waited for a child slot (limits::MAX_CHILDREN) {}",
            c.child_slot_waits
        );
    }
    let _ = writeln!(out, "last reload: {}", s.reload.last_result);
    let r = &s.rtnetlink;
    let _ = writeln!(
        out,
        "rtnetlink: overflows {} re-dumps {} pending requests {} untracked {} undecodable {}",
        r.overflows, r.redumps, r.pending_requests, r.untracked, r.undecodable
    );
    if let Some(ipvs) = &s.ipvs {
        let _ = writeln!(
            out,
            "ipvs: unacknowledged writes {}",
            ipvs.unacknowledged_writes
        );
    }
}

/// The kernel table as `ipvsadm -Ln` shows it, then lvsd's view of it.
fn ipvs_part(out: &mut String, ipvs: &Ipvs) {
    if let Some(e) = &ipvs.dump_error {
        let _ = writeln!(out, "IPVS dump failed: {e}");
        return;
    }
    ipvsadm(out, ipvs);
    out.push_str("\nlvsd health:\n");
    for svc in &ipvs.services {
        health(out, svc);
    }
    for f in &ipvs.foreign {
        let _ = writeln!(out, "not owned by lvsd (left alone): {f}");
    }
    let _ = writeln!(
        out,
        "reconciles {} writes {} refused {} sync daemon {} last reconcile {} ms",
        ipvs.reconciles,
        ipvs.writes,
        ipvs.refused,
        ipvs.sync_daemon,
        ipvs.last_reconcile_us / 1000
    );
}

/// `ipvsadm -Ln`'s output.
fn ipvsadm(out: &mut String, ipvs: &Ipvs) {
    let _ = writeln!(
        out,
        "IP Virtual Server version {} (size={})",
        ipvs.version_text(),
        ipvs.conn_tab_size
    );
    out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
    out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
    for k in &ipvs.kernel {
        let _ = writeln!(out, "{}", service_line(&k.service));
        for (d, st) in &k.dests {
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
                addr_port(d.key.addr, d.key.port),
                d.forward.name(),
                d.weight,
                st.active_conns,
                st.inactive_conns
            );
        }
    }
}

/// A virtual server's quorum and its real servers' health.
fn health(out: &mut String, svc: &HealthService) {
    let _ = writeln!(
        out,
        "virtual server {} quorum {}",
        key_text(&svc.key),
        if svc.quorum_up { "up" } else { "LOST" }
    );
    for rs in &svc.real_servers {
        let weight = rs.weight.map_or_else(|| "-".to_owned(), |w| w.to_string());
        let admin = match rs.admin {
            Admin::None => String::new(),
            Admin::Weight(w) => format!(" [operator: weight {w}]"),
            other => format!(" [operator: {}]", other.as_str()),
        };
        let _ = writeln!(
            out,
            "  {:<28} {:<12} weight {:<5} last change: {}{admin}",
            addr_port(rs.key.addr, rs.key.port),
            rs.state,
            weight,
            rs.reason
        );
    }
}

/// One service line as `ipvsadm -Ln` prints it.
pub fn service_line(s: &Service) -> String {
    let mut line = match s.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => format!(
            "{}  {} {}",
            protocol.name(),
            addr_port(addr, port),
            s.scheduler.name()
        ),
        ServiceKey::Fwmark { mark, af } => {
            let fam = if af == AddrFamily::V6 { " IPv6" } else { "" };
            format!("FWM  {mark}{fam} {}", s.scheduler.name())
        }
    };
    if s.flags & (f::SCHED1 | f::SCHED2 | f::SCHED3) != 0 {
        let names: [&str; 3] = match s.scheduler {
            Scheduler::Sh => ["sh-fallback", "sh-port", "flag-3"],
            Scheduler::Mh => ["mh-fallback", "mh-port", "flag-3"],
            _ => ["flag-1", "flag-2", "flag-3"],
        };
        let set: Vec<&str> = [f::SCHED1, f::SCHED2, f::SCHED3]
            .iter()
            .zip(names)
            .filter(|(bit, _)| s.flags & **bit != 0)
            .map(|(_, n)| n)
            .collect();
        let _ = write!(line, " ({})", set.join(","));
    }
    if s.flags & f::PERSISTENT != 0 {
        persistence(&mut line, s);
    }
    if s.flags & f::ONEPACKET != 0 {
        line.push_str(" ops");
    }
    line
}

/// ` persistent T [mask M] [pe P]` of a persistent service.
fn persistence(line: &mut String, s: &Service) {
    let _ = write!(line, " persistent {}", s.timeout);
    match s.key.af() {
        AddrFamily::V4 if s.prefix_len != 32 => {
            let mask = if s.prefix_len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(s.prefix_len.min(32)))
            };
            let _ = write!(line, " mask {}", std::net::Ipv4Addr::from(mask));
        }
        AddrFamily::V6 if s.prefix_len != 128 => {
            let _ = write!(line, " mask {}", s.prefix_len);
        }
        _ => {}
    }
    if let Some(pe) = &s.pe_name {
        let _ = write!(line, " pe {pe}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::netlink::ipvs::{flags, Protocol};

    fn tcp(addr: &str, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: addr.parse().unwrap(),
            port,
        }
    }

    #[test]
    fn service_lines_match_ipvsadm() {
        let mut sh = Service::new(tcp("10.0.0.100", 8080), Scheduler::Sh);
        sh.flags = flags::SH_FALLBACK | flags::SH_PORT;
        assert_eq!(
            service_line(&sh),
            "TCP  10.0.0.100:8080 sh (sh-fallback,sh-port)"
        );
        let p = Service::new(tcp("10.0.0.100", 443), Scheduler::Lc).persistent(120, 16);
        assert_eq!(
            service_line(&p),
            "TCP  10.0.0.100:443 lc persistent 120 mask 255.255.0.0"
        );
        let mut ops = Service::new(
            ServiceKey::Fwmark {
                af: AddrFamily::V6,
                mark: 9,
            },
            Scheduler::Wrr,
        )
        .persistent(30, 64);
        ops.flags |= flags::ONEPACKET;
        assert_eq!(
            service_line(&ops),
            "FWM  9 IPv6 wrr persistent 30 mask 64 ops"
        );
    }

    /// The whole text for the sample model, byte for byte.
    #[test]
    fn golden_text() {
        let got = render(&crate::status::sample::status());
        let want = include_str!("golden/status.txt");
        assert_eq!(got, want, "---- got ----\n{got}");
    }
}
