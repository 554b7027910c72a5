//! The traffic probe for the VM lab (issue 14; not part of lvsd): what a
//! client of the virtual service sees during a fault.
//!
//! `traffic run --vip ADDR --out FILE [options]` runs in the client netns and
//! records events with timestamps (microseconds since its start, one clock):
//! - new HTTP/1.0 requests to VIP:HTTP_PORT at a fixed rate (`--rate`,
//!   default 100/s), each with its own deadline (`--timeout-ms`, default 200)
//!   from connect to the end of the answer;
//! - `--long N` (default 100) long-lived connections to VIP:ECHO_PORT (a line
//!   echo service on the real servers) that send a line and wait for its echo,
//!   one exchange every `--interval-ms` (default 100).
//!
//! Commands on stdin, one per line (a FIFO the test keeps open): `mark LABEL`
//! writes a mark with the probe's own clock (the test marks the fault with
//! it); `stop` ends the run. It also ends after `--duration S`, or when stdin
//! closes and no duration was given. It prints `ready` on stdout once every
//! long-lived connection is open (or failed).
//!
//! `traffic report FILE [--fault LABEL] [--stall-ms MS]` reads the file and
//! prints the outage window around the mark (the longest run of consecutive
//! failed requests beginning at or after the mark, from the last success
//! before it to the first success after it), the failed requests, the
//! long-lived connections that survived, broke or stalled, and latency
//! percentiles before, during and after the fault; the last line is
//! `RESULT key=value ...` for scripts. `--soak PREFIX --excuse-ms MS` instead
//! reports every mark starting with PREFIX and counts the failures outside
//! the windows [mark - timeout, mark + excuse].
//!
//! Event file lines (times in µs since the probe started):
//! ```text
//! # traffic rate=R timeout_ms=T long=N interval_ms=I ... uptime_ms=U (the machine's uptime at 0)
//! R START_US LAT_US ok TAG PORT     a request served (TAG: first word of the body)
//! R START_US LAT_US fail REASON PHASE PORT   refused / timeout / reset / status / eof / local-...;
//!                                   PHASE: `syn` (not connected yet) or `req` (connected,
//!                                   the request sent or being sent); PORT: the local port
//!                                   (PHASE and PORT are absent in older files)
//! L T_US ID open LAT_US PORT        a long-lived connection is established from
//!                                   local PORT (absent in older files)
//! L T_US ID gap GAP_US              an echo came GAP_US after the previous one (> 3 intervals)
//! L T_US ID broken REASON           it failed (reset, eof, refused, timeout, ...)
//! L T_US ID final LAST_ECHO_US      at the end: still open, its last echo
//! M T_US LABEL                      a mark from stdin
//! S T_US COUNT                      the probe ran late: COUNT request slots skipped
//! E T_US                            the end of the run
//! ```

use std::collections::BTreeMap;
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

// ---------------------------------------------------------------------------
// The report: pure functions over the event file's text (unit-tested below).
// ---------------------------------------------------------------------------

/// One request as recorded.
#[derive(Debug, Clone, PartialEq)]
struct Req {
    start: u64,
    lat: u64,
    ok: bool,
    what: String,
    /// `syn` or `req` for a failure (empty in older files).
    phase: String,
    /// The local port (0 when not recorded).
    port: u32,
}

/// One long-lived connection as recorded.
#[derive(Debug, Clone, Default, PartialEq)]
struct Long {
    opened: Option<u64>,
    broken: Option<(u64, String)>,
    final_echo: Option<u64>,
    gaps: Vec<(u64, u64)>,
}

#[derive(Debug, Default)]
struct Events_ {
    timeout_us: u64,
    interval_us: u64,
    reqs: Vec<Req>,
    longs: BTreeMap<u32, Long>,
    marks: Vec<(u64, String)>,
    end: Option<u64>,
    /// (time, slots) the probe skipped because it ran late.
    skipped: Vec<(u64, u64)>,
}

fn parse_events(text: &str) -> Result<Events_, String> {
    let mut ev = Events_ {
        timeout_us: 200_000,
        interval_us: 100_000,
        ..Default::default()
    };
    for (n, line) in text.lines().enumerate() {
        let bad = || format!("line {}: cannot read '{}'", n + 1, line);
        let w: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| w.get(i).and_then(|v| v.parse::<u64>().ok()).ok_or_else(bad);
        match w.first().copied() {
            None => {}
            Some("#") => {
                for kv in &w[1..] {
                    if let Some((k, v)) = kv.split_once('=') {
                        let v: u64 = v.parse().unwrap_or(0);
                        match k {
                            "timeout_ms" => ev.timeout_us = v * 1000,
                            "interval_ms" => ev.interval_us = v * 1000,
                            _ => {}
                        }
                    }
                }
            }
            Some("R") => ev.reqs.push(Req {
                start: num(1)?,
                lat: num(2)?,
                ok: match w.get(3) {
                    Some(&"ok") => true,
                    Some(&"fail") => false,
                    _ => return Err(bad()),
                },
                what: w.get(4).unwrap_or(&"").to_string(),
                phase: match w.get(3) {
                    Some(&"fail") => w.get(5).unwrap_or(&"").to_string(),
                    _ => String::new(),
                },
                port: w
                    .get(if w.get(3) == Some(&"fail") { 6 } else { 5 })
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            }),
            Some("L") => {
                let t = num(1)?;
                let id = num(2)? as u32;
                let l = ev.longs.entry(id).or_default();
                match w.get(3).copied() {
                    Some("open") => l.opened = Some(t),
                    Some("gap") => l.gaps.push((t, num(4)?)),
                    Some("broken") => {
                        l.broken = Some((t, w.get(4).unwrap_or(&"?").to_string()));
                    }
                    Some("final") => l.final_echo = Some(num(4)?),
                    _ => return Err(bad()),
                }
            }
            Some("M") => ev
                .marks
                .push((num(1)?, w.get(2).unwrap_or(&"").to_string())),
            Some("E") => ev.end = Some(num(1)?),
            Some("S") => ev.skipped.push((num(1)?, num(2)?)),
            Some(_) => return Err(bad()),
        }
    }
    ev.reqs.sort_by_key(|r| r.start);
    // Marks may be appended after the run (daemon log lines, by time).
    ev.marks.sort_by_key(|m| m.0);
    Ok(ev)
}

/// The p-th percentile (0..=1) of sorted latencies, nearest rank.
fn pct(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(sorted[i])
}

#[derive(Debug, Default, PartialEq)]
struct Phase {
    n: usize,
    p50: Option<u64>,
    p99: Option<u64>,
}

fn phase(reqs: &[Req], from: u64, to: u64) -> Phase {
    let mut lat: Vec<u64> = reqs
        .iter()
        .filter(|r| r.ok && r.start >= from && r.start < to)
        .map(|r| r.lat)
        .collect();
    lat.sort_unstable();
    Phase {
        n: lat.len(),
        p50: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
    }
}

/// The figures for one fault.
#[derive(Debug, Default, PartialEq)]
struct FaultReport {
    label: String,
    at: u64,
    /// Requests started in [at - timeout, horizon).
    requests: usize,
    failed: usize,
    /// Failed by timeout while the probe was starved (skipped slots nearby).
    starved: usize,
    reasons: BTreeMap<String, usize>,
    /// The longest run of consecutive failed requests that began in the
    /// window, from the success before it to the success after it (µs); 0
    /// when nothing failed; None when that run never ended.
    outage_us: Option<u64>,
    /// From the success before the first failure in the window to the
    /// success after the last one (µs); None when no success came after.
    span_us: Option<u64>,
    before: Phase,
    during: Phase,
    after: Phase,
    long_total: usize,
    survived: usize,
    broke: usize,
    stalled: usize,
    broken_before: usize,
    never_opened: usize,
    max_gap_us: u64,
}

/// At most this many failures listed one by one (`--near`).
const NEAR_LIST: usize = 80;

/// How near a skipped slot must be for a timeout to count as starved.
const STARVED_MARGIN_US: u64 = 500_000;

/// Report the fault marked at `at` (label `label`); failures are looked for
/// in [at - timeout, horizon). A long-lived connection survived when it was
/// not broken and echoed within `stall_us` of the end; stalled when open but
/// silent longer; broke when it failed after the mark.
fn fault_report(ev: &Events_, label: &str, at: u64, horizon: u64, stall_us: u64) -> FaultReport {
    let from = at.saturating_sub(ev.timeout_us);
    let in_win: Vec<&Req> = ev
        .reqs
        .iter()
        .filter(|r| r.start >= from && r.start < horizon)
        .collect();
    let fails: Vec<&&Req> = in_win.iter().filter(|r| !r.ok).collect();
    let mut reasons = BTreeMap::new();
    for f in &fails {
        *reasons.entry(f.what.clone()).or_insert(0) += 1;
    }
    let starved = fails.iter().filter(|f| is_starved(ev, f)).count();
    // Runs of consecutive failed requests (in start order) that begin in the
    // window; the outage is the longest: from the success before it to the
    // success after it. A stray failure later does not stretch it.
    let mut longest: Option<(u64, Option<u64>)> = None; // (window, first ok after)
    let mut prev_ok = 0u64;
    let mut run_start: Option<u64> = None;
    // A run that never ends counts from the success before it to the end.
    let last_t = ev.end.unwrap_or(horizon);
    let consider = |from_ok: u64, to_ok: Option<u64>, longest: &mut Option<(u64, Option<u64>)>| {
        let w = to_ok.unwrap_or(last_t).saturating_sub(from_ok);
        if longest.map_or(true, |(lw, _)| w > lw) {
            *longest = Some((w, to_ok));
        }
    };
    for r in &ev.reqs {
        if r.ok {
            if let Some(first_fail) = run_start.take() {
                if first_fail >= from && first_fail < horizon {
                    consider(prev_ok, Some(r.start), &mut longest);
                }
            }
            prev_ok = r.start;
        } else if run_start.is_none() {
            run_start = Some(r.start);
        }
    }
    if let Some(first_fail) = run_start {
        if first_fail >= from && first_fail < horizon {
            consider(prev_ok, None, &mut longest);
        }
    }
    // The span of all failures in the window, success to success: equal to
    // the outage when the failures are one run, longer when they are spread.
    let span_us = match (fails.first(), fails.last()) {
        (Some(first), Some(last)) => {
            let before = ev
                .reqs
                .iter()
                .filter(|r| r.ok && r.start < first.start)
                .map(|r| r.start)
                .max()
                .unwrap_or(0);
            ev.reqs
                .iter()
                .find(|r| r.ok && r.start > last.start)
                .map(|r| r.start - before)
        }
        _ => Some(0),
    };
    let (outage_us, recovered) = match longest {
        Some((_, Some(after))) => (longest.map(|l| l.0), after),
        Some((_, None)) => (None, horizon),
        None => (Some(0), (at + 1_000_000).min(horizon)),
    };
    let end = ev.end.unwrap_or(horizon);
    let mut r = FaultReport {
        label: label.to_string(),
        at,
        requests: in_win.len(),
        failed: fails.len(),
        starved,
        reasons,
        outage_us,
        span_us,
        before: phase(&ev.reqs, 0, at),
        during: phase(&ev.reqs, at, recovered.max(at)),
        after: phase(&ev.reqs, recovered.max(at), horizon),
        ..Default::default()
    };
    for l in ev.longs.values() {
        r.long_total += 1;
        match (&l.opened, &l.broken) {
            (None, _) => r.never_opened += 1,
            (Some(_), Some((t, _))) if *t < at => r.broken_before += 1,
            (Some(_), Some(_)) => r.broke += 1,
            (Some(_), None) => {
                let last = l.final_echo.unwrap_or(0);
                if last + stall_us >= end {
                    r.survived += 1;
                } else {
                    r.stalled += 1;
                }
            }
        }
        for &(t, g) in &l.gaps {
            if t >= at && l.broken.is_none() {
                r.max_gap_us = r.max_gap_us.max(g);
            }
        }
    }
    r
}

fn ms(us: Option<u64>) -> String {
    match us {
        Some(v) => format!("{:.1}", v as f64 / 1000.0),
        None => "-".to_string(),
    }
}

fn phase_text(p: &Phase) -> String {
    format!("{}/{} (n={})", ms(p.p50), ms(p.p99), p.n)
}

fn print_fault(r: &FaultReport) -> String {
    let reasons: Vec<String> = r.reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let outage = match r.outage_us {
        Some(v) => format!("{} ms", v / 1000),
        None => "not recovered".to_string(),
    };
    format!(
        "fault '{}' at {:.3} s: outage window {}; failures span {}; requests {} failed {}{}, {} of them timeouts while the probe itself was starved\n\
         long-lived {}: survived {} broke {} stalled {} (broken before {}, never opened {}); max echo gap of survivors {} ms\n\
         latency ms p50/p99: before {} during {} after {}\n\
         RESULT label={} outage_ms={} span_ms={} failed={} unexcused={} requests={} survived={} broke={} stalled={} long={} max_gap_ms={} p50_before={} p99_before={} p50_during={} p99_during={} p50_after={} p99_after={}",
        r.label,
        r.at as f64 / 1e6,
        outage,
        match r.span_us {
            Some(v) => format!("{} ms", v / 1000),
            None => "not recovered".to_string(),
        },
        r.requests,
        r.failed,
        if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) },
        r.starved,
        r.long_total,
        r.survived,
        r.broke,
        r.stalled,
        r.broken_before,
        r.never_opened,
        r.max_gap_us / 1000,
        phase_text(&r.before),
        phase_text(&r.during),
        phase_text(&r.after),
        r.label,
        r.outage_us.map(|v| (v / 1000).to_string()).unwrap_or_else(|| "inf".into()),
        r.span_us.map(|v| (v / 1000).to_string()).unwrap_or_else(|| "inf".into()),
        r.failed,
        r.failed - r.starved,
        r.requests,
        r.survived,
        r.broke,
        r.stalled,
        r.long_total,
        r.max_gap_us / 1000,
        ms(r.before.p50),
        ms(r.before.p99),
        ms(r.during.p50),
        ms(r.during.p99),
        ms(r.after.p50),
        ms(r.after.p99),
    )
}

/// The soak's figure: failures outside every [mark - timeout, mark + excuse)
/// of the marks starting with `prefix`.
/// (outside, starved outside, inside, first outside start times)
#[cfg(test)]
fn failures_outside(ev: &Events_, prefix: &str, excuse_us: u64) -> (usize, usize, usize, Vec<u64>) {
    let (o, s, i, list) = failures_outside_list(ev, prefix, excuse_us);
    (o, s, i, list.iter().take(5).map(|r| r.start).collect())
}

/// The failures outside the windows (not starved) themselves.
fn failures_outside_list<'a>(
    ev: &'a Events_,
    prefix: &str,
    excuse_us: u64,
) -> (usize, usize, usize, Vec<&'a Req>) {
    let mut starved = 0;
    let wins = windows(ev, prefix, excuse_us);
    let mut inside = 0;
    let mut list = Vec::new();
    for r in ev.reqs.iter().filter(|r| !r.ok) {
        if wins.iter().any(|&(a, b)| r.start >= a && r.start < b) {
            inside += 1;
        } else if is_starved(ev, r) {
            starved += 1;
        } else {
            list.push(r);
        }
    }
    (list.len(), starved, inside, list)
}

/// The windows [mark - timeout, mark + excuse) of the marks starting with `prefix`.
fn windows(ev: &Events_, prefix: &str, excuse_us: u64) -> Vec<(u64, u64)> {
    ev.marks
        .iter()
        .filter(|(_, l)| l.starts_with(prefix))
        .map(|&(t, _)| (t.saturating_sub(ev.timeout_us), t + excuse_us))
        .collect()
}

/// Splits failures into those that started within `us` of a mark starting
/// with `prefix` (either side: a daemon's log line may be written a little
/// before or after its change reaches the kernel) and the rest.
fn split_at_marks<'a>(
    ev: &Events_,
    list: Vec<&'a Req>,
    prefix: &str,
    us: u64,
) -> (Vec<&'a Req>, Vec<&'a Req>) {
    let marks: Vec<u64> = ev
        .marks
        .iter()
        .filter(|(_, l)| l.starts_with(prefix))
        .map(|m| m.0)
        .collect();
    list.into_iter().partition(|r| {
        marks
            .iter()
            .any(|&t| r.start + us >= t && r.start <= t + us)
    })
}

/// Timeouts before the connection was established (`syn`) outside the
/// windows `wins`, split by whether a real server was out of the table (from
/// a `down` mark to the next `up` mark): (count out, time out, count in,
/// time in), times in µs up to `end`.
fn syn_timeouts_by_absence(
    ev: &Events_,
    wins: &[(u64, u64)],
    down: &str,
    up: &str,
    end: u64,
) -> (usize, u64, usize, u64) {
    let mut spans = Vec::new();
    let mut from: Option<u64> = None;
    for (t, l) in &ev.marks {
        if l.starts_with(down) && from.is_none() {
            from = Some(*t);
        } else if l.starts_with(up) {
            if let Some(f) = from.take() {
                spans.push((f, *t));
            }
        }
    }
    if let Some(f) = from {
        spans.push((f, end));
    }
    let t_out: u64 = spans.iter().map(|(a, b)| b - a).sum();
    let (mut n_out, mut n_in) = (0, 0);
    for r in ev
        .reqs
        .iter()
        .filter(|r| !r.ok && r.what == "timeout" && r.phase == "syn")
    {
        if wins.iter().any(|&(a, b)| r.start >= a && r.start < b) {
            continue;
        }
        if spans.iter().any(|&(a, b)| r.start >= a && r.start < b) {
            n_out += 1;
        } else {
            n_in += 1;
        }
    }
    (n_out, t_out, n_in, end.saturating_sub(t_out))
}

/// How long IPVS keeps a DR connection's entry after the client's FIN
/// (FIN_WAIT, the kernel's default timeout).
const PORT_REUSE_US: u64 = 120_000_000;

/// Requests whose local port an earlier request used less than `us`
/// before, and the requests with a recorded port.
fn port_reuse(ev: &Events_, us: u64) -> (usize, usize) {
    let mut last: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
    let (mut reused, mut known) = (0, 0);
    for r in ev.reqs.iter().filter(|r| r.port != 0) {
        known += 1;
        if last.get(&r.port).is_some_and(|&t| r.start < t + us) {
            reused += 1;
        }
        last.insert(r.port, r.start);
    }
    (reused, known)
}

/// The last mark starting with `prefix` at or before `t`.
fn last_mark<'a>(ev: &'a Events_, prefix: &str, t: u64) -> Option<&'a (u64, String)> {
    ev.marks
        .iter()
        .filter(|(m, l)| *m <= t && l.starts_with(prefix))
        .max_by_key(|(m, _)| *m)
}

/// A timeout while the probe itself could not keep its schedule (it skipped
/// slots within half a second of the request) says more about a starved
/// machine than about the directors.
fn is_starved(ev: &Events_, f: &Req) -> bool {
    f.what == "timeout"
        && ev.skipped.iter().any(|&(t, _)| {
            t + STARVED_MARGIN_US >= f.start && t <= f.start + ev.timeout_us + STARVED_MARGIN_US
        })
}

fn report_main(args: &[String]) -> Result<(), String> {
    let mut file = None;
    let mut fault = None;
    let mut stall_ms = 1000u64;
    let mut soak: Option<String> = None;
    let mut excuse_ms = 10_000u64;
    let mut near: Option<String> = None;
    let mut near_max = NEAR_LIST;
    let mut flap: Option<String> = None;
    let mut absent: Option<(String, String)> = None;
    let mut flap_ms = 1000u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("report: {name} needs a value"))
        };
        match a.as_str() {
            "--fault" => fault = Some(val("--fault")?),
            "--stall-ms" => {
                stall_ms = val("--stall-ms")?
                    .parse()
                    .map_err(|_| "report: --stall-ms: not a number".to_string())?
            }
            "--soak" => soak = Some(val("--soak")?),
            "--near" => near = Some(val("--near")?),
            "--flap" => flap = Some(val("--flap")?),
            "--absent" => {
                let v = val("--absent")?;
                let (d, u) = v
                    .split_once(',')
                    .ok_or("report: --absent DOWN_PREFIX,UP_PREFIX")?;
                absent = Some((d.to_string(), u.to_string()));
            }
            "--flap-ms" => {
                flap_ms = val("--flap-ms")?
                    .parse()
                    .map_err(|_| "report: --flap-ms: not a number".to_string())?
            }
            "--near-max" => {
                near_max = val("--near-max")?
                    .parse()
                    .map_err(|_| "report: --near-max: not a number".to_string())?
            }
            "--excuse-ms" => {
                excuse_ms = val("--excuse-ms")?
                    .parse()
                    .map_err(|_| "report: --excuse-ms: not a number".to_string())?
            }
            s if !s.starts_with('-') && file.is_none() => file = Some(s.to_string()),
            s => return Err(format!("report: unknown argument '{s}'")),
        }
    }
    let file = file.ok_or("report: which event file?")?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("report: {file}: {e}"))?;
    let ev = parse_events(&text).map_err(|e| format!("report: {file}: {e}"))?;
    let end = ev
        .end
        .or_else(|| ev.reqs.last().map(|r| r.start))
        .unwrap_or(0);
    let total_fail = ev.reqs.iter().filter(|r| !r.ok).count();
    let skipped: u64 = ev.skipped.iter().map(|s| s.1).sum();
    println!(
        "traffic: {} requests, {} failed, {} long-lived connections, {:.1} s recorded; {} request slots skipped because the probe ran late{}",
        ev.reqs.len(),
        total_fail,
        ev.longs.len(),
        end as f64 / 1e6,
        skipped,
        match ev.skipped.iter().max_by_key(|s| s.1) {
            Some((t, n)) => format!(" (at most {} at {:.3} s)", n, *t as f64 / 1e6),
            None => String::new(),
        }
    );
    if let Some(prefix) = soak {
        let mut worst = 0u64;
        for (i, (t, l)) in ev.marks.iter().enumerate() {
            if !l.starts_with(&prefix) {
                continue;
            }
            let horizon = ev.marks[i + 1..]
                .iter()
                .find(|m| m.1.starts_with(&prefix))
                .map(|m| m.0)
                .unwrap_or(end)
                .min(t + excuse_ms * 1000);
            let r = fault_report(&ev, l, *t, horizon, stall_ms * 1000);
            worst = worst.max(r.outage_us.unwrap_or(u64::MAX));
            println!("{}", print_fault(&r).lines().next().unwrap_or(""));
        }
        let (_, starved, inside, list) = failures_outside_list(&ev, &prefix, excuse_ms * 1000);
        let (at_removal, rest) = match &flap {
            Some(fp) => split_at_marks(&ev, list, fp, flap_ms * 1000),
            None => (Vec::new(), list),
        };
        let outside = rest.len();
        let first: Vec<String> = rest
            .iter()
            .take(5)
            .map(|r| format!("{:.3}", r.start as f64 / 1e6))
            .collect();
        if let Some(np) = &near {
            // Every failure outside the windows, the starved ones marked.
            let wins = windows(&ev, &prefix, excuse_ms * 1000);
            let list = ev
                .reqs
                .iter()
                .filter(|r| !r.ok && !wins.iter().any(|&(a, b)| r.start >= a && r.start < b));
            for r in list.take(near_max) {
                let m = last_mark(&ev, np, r.start)
                    .map(|(t, l)| format!("{} ms after {}", (r.start - t) / 1000, l))
                    .unwrap_or_else(|| format!("no {np} mark before"));
                println!(
                    "outside: {:.3} s {}{} {} port {}; {}",
                    r.start as f64 / 1e6,
                    r.what,
                    if is_starved(&ev, r) { " (starved)" } else { "" },
                    if r.phase.is_empty() { "?" } else { &r.phase },
                    r.port,
                    m
                );
            }
        }
        let all = fault_report(&ev, "all", 0, end + 1, stall_ms * 1000);
        println!(
            "failed requests outside the {} windows: {} (and {} timeouts while the probe itself was starved; inside: {}){}",
            prefix,
            outside,
            starved,
            inside,
            if first.is_empty() {
                String::new()
            } else {
                format!("; first at {} s", first.join(" "))
            }
        );
        if let Some((down, up)) = &absent {
            let wins = windows(&ev, &prefix, excuse_ms * 1000);
            let (n_out, t_out, n_in, t_in) = syn_timeouts_by_absence(&ev, &wins, down, up, end);
            println!(
                "timeouts before connecting outside the {} windows (starved or not): {} in {:.1} s while a real server was out of the table ({} to {}), {} in {:.1} s while all were in",
                prefix,
                n_out,
                t_out as f64 / 1e6,
                down,
                up,
                n_in,
                t_in as f64 / 1e6
            );
        }
        let (reused, known) = port_reuse(&ev, PORT_REUSE_US);
        println!(
            "requests from a client port used less than {} s before (a live FIN_WAIT entry on the director in DR mode): {} of {} with a recorded port",
            PORT_REUSE_US / 1_000_000,
            reused,
            known
        );
        if let Some(fp) = &flap {
            let why: BTreeMap<String, usize> =
                at_removal.iter().fold(BTreeMap::new(), |mut m, r| {
                    *m.entry(format!("{} {}", r.what, r.phase)).or_default() += 1;
                    m
                });
            println!(
                "failed requests at a real server's removal (within {} ms of a {} mark, not counted above): {} {:?}",
                flap_ms,
                fp,
                at_removal.len(),
                why
            );
        }
        println!(
            "RESULT outside={} flap={} starved={} inside={} requests={} worst_outage_ms={} survived={} broke={} stalled={} long={}",
            outside,
            at_removal.len(),
            starved,
            inside,
            ev.reqs.len(),
            if worst == u64::MAX { "inf".to_string() } else { (worst / 1000).to_string() },
            all.survived,
            all.broke,
            all.stalled,
            all.long_total
        );
        return Ok(());
    }
    let (i, (at, label)) = match &fault {
        Some(f) => ev
            .marks
            .iter()
            .enumerate()
            .find(|(_, (_, l))| l == f)
            .ok_or_else(|| format!("report: {file}: no mark '{f}'"))?,
        None => ev
            .marks
            .iter()
            .enumerate()
            .next()
            .ok_or_else(|| format!("report: {file}: no mark in the file"))?,
    };
    let horizon = ev.marks.get(i + 1).map(|m| m.0).unwrap_or(end + 1);
    let r = fault_report(&ev, label, *at, horizon, stall_ms * 1000);
    println!("{}", print_fault(&r));
    Ok(())
}

// ---------------------------------------------------------------------------
// The probe.
// ---------------------------------------------------------------------------

const STDIN: Token = Token(usize::MAX - 1);
const REQ_BASE: usize = 1 << 20;

struct ReqConn {
    stream: TcpStream,
    start: Instant,
    sent: bool,
    head: Vec<u8>,
    port: u32,
}

/// Where a request failed: before its connection was established (`syn`)
/// or after (`req`).
fn req_phase(sent: bool) -> &'static str {
    if sent {
        "req"
    } else {
        "syn"
    }
}

enum LongState {
    Connecting(Instant),
    Idle(Instant),
    Waiting(Instant),
    Done,
}

struct LongConn {
    stream: Option<TcpStream>,
    state: LongState,
    last_echo: Option<Instant>,
    got: usize,
    seq: u64,
}

struct Opts {
    vip: Ipv4Addr,
    http_port: u16,
    echo_port: u16,
    rate: u32,
    timeout: Duration,
    long: usize,
    interval: Duration,
    duration: Option<Duration>,
    out: String,
}

fn parse_run(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        vip: Ipv4Addr::UNSPECIFIED,
        http_port: 80,
        echo_port: 8080,
        rate: 100,
        timeout: Duration::from_millis(200),
        long: 100,
        interval: Duration::from_millis(100),
        duration: None,
        out: String::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().ok_or_else(|| format!("run: {a} needs a value"))?;
        let num = |what: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("run: {what} '{v}': not a number"))
        };
        match a.as_str() {
            "--vip" => {
                o.vip = v
                    .parse()
                    .map_err(|_| format!("run: --vip '{v}': not an IPv4 address"))?
            }
            "--http-port" => o.http_port = num(a)? as u16,
            "--echo-port" => o.echo_port = num(a)? as u16,
            "--rate" => o.rate = num(a)?.clamp(1, 10_000) as u32,
            "--timeout-ms" => o.timeout = Duration::from_millis(num(a)?.max(1)),
            "--long" => o.long = num(a)? as usize,
            "--interval-ms" => o.interval = Duration::from_millis(num(a)?.max(1)),
            "--duration" => o.duration = Some(Duration::from_secs(num(a)?)),
            "--out" => o.out = v.clone(),
            _ => return Err(format!("run: unknown option '{a}'")),
        }
    }
    if o.vip.is_unspecified() || o.out.is_empty() {
        return Err("run: --vip and --out are required".into());
    }
    Ok(o)
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => "refused".into(),
        ErrorKind::ConnectionReset => "reset".into(),
        ErrorKind::BrokenPipe => "pipe".into(),
        ErrorKind::TimedOut => "timeout".into(),
        _ => match e.raw_os_error() {
            Some(113) => "unreachable".into(),
            Some(n) => format!("errno-{n}"),
            None => "error".into(),
        },
    }
}

/// A nonblocking connect is done when the socket has a peer; an error shows
/// in SO_ERROR. None: still in progress.
fn connect_result(s: &TcpStream) -> Option<Result<(), std::io::Error>> {
    match s.take_error() {
        Ok(Some(e)) | Err(e) => return Some(Err(e)),
        Ok(None) => {}
    }
    match s.peer_addr() {
        Ok(_) => Some(Ok(())),
        Err(e) if e.kind() == ErrorKind::NotConnected => None,
        Err(e) => Some(Err(e)),
    }
}

fn run_main(args: &[String]) -> Result<(), String> {
    let o = parse_run(args)?;
    let file = std::fs::File::create(&o.out).map_err(|e| format!("run: {}: {e}", o.out))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let t0 = Instant::now();
    let us = |t: Instant| t.saturating_duration_since(t0).as_micros() as u64;
    // The machine's uptime at t0, to place other logs on the probe's clock.
    let uptime_ms = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok())
        .map(|s| (s * 1000.0) as u64)
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "# traffic rate={} timeout_ms={} long={} interval_ms={} vip={} http_port={} echo_port={} uptime_ms={uptime_ms}",
        o.rate,
        o.timeout.as_millis(),
        o.long,
        o.interval.as_millis(),
        o.vip,
        o.http_port,
        o.echo_port
    );
    let mut poll = Poll::new().map_err(|e| format!("run: poll: {e}"))?;
    let stdin_fd = std::io::stdin().as_raw_fd();
    // /dev/null cannot be polled: then only --duration ends the run.
    let mut stdin_on = poll
        .registry()
        .register(&mut SourceFd(&stdin_fd), STDIN, Interest::READABLE)
        .is_ok();
    if !stdin_on && o.duration.is_none() {
        return Err("run: stdin cannot be polled and no --duration given".into());
    }
    let http = SocketAddr::V4(SocketAddrV4::new(o.vip, o.http_port));
    let echo = SocketAddr::V4(SocketAddrV4::new(o.vip, o.echo_port));
    let period = Duration::from_nanos(1_000_000_000 / o.rate as u64);
    let cap = (o.rate as u128 * o.timeout.as_millis() / 1000) as usize * 2 + 16;
    let mut reqs: Vec<Option<ReqConn>> = (0..cap).map(|_| None).collect();
    let mut free: Vec<usize> = (0..cap).rev().collect();
    let request = format!("GET / HTTP/1.0\r\nHost: {}\r\n\r\n", o.vip).into_bytes();

    let mut longs: Vec<LongConn> = Vec::with_capacity(o.long);
    for i in 0..o.long {
        let now = Instant::now();
        match TcpStream::connect(echo) {
            Ok(mut s) => {
                poll.registry()
                    .register(&mut s, Token(i), Interest::READABLE | Interest::WRITABLE)
                    .map_err(|e| format!("run: register: {e}"))?;
                longs.push(LongConn {
                    stream: Some(s),
                    state: LongState::Connecting(now),
                    last_echo: None,
                    got: 0,
                    seq: 0,
                });
            }
            Err(e) => {
                let _ = writeln!(out, "L {} {} broken local-{}", us(now), i, reason(&e));
                longs.push(LongConn {
                    stream: None,
                    state: LongState::Done,
                    last_echo: None,
                    got: 0,
                    seq: 0,
                });
            }
        }
    }
    let mut ready_said = false;
    let mut next_req = Instant::now();
    let mut next_flush = Instant::now() + Duration::from_secs(1);
    let mut events = Events::with_capacity(1024);
    let mut stdin_buf = Vec::new();
    let mut stopping = false;
    let mut buf = [0u8; 4096];
    let gap_log = o.interval * 3;
    let long_connect_timeout = Duration::from_secs(3);

    while !stopping {
        let now = Instant::now();
        let mut wake = next_req.min(next_flush);
        for r in reqs.iter().flatten() {
            wake = wake.min(r.start + o.timeout);
        }
        for l in &longs {
            match l.state {
                LongState::Connecting(t) => wake = wake.min(t + long_connect_timeout),
                LongState::Idle(t) => wake = wake.min(t),
                _ => {}
            }
        }
        if let Some(d) = o.duration {
            wake = wake.min(t0 + d);
        }
        if let Err(e) = poll.poll(&mut events, Some(wake.saturating_duration_since(now))) {
            if e.kind() != ErrorKind::Interrupted {
                return Err(format!("run: poll: {e}"));
            }
        }
        for ev in events.iter() {
            let tok = ev.token().0;
            if ev.token() == STDIN {
                let n = std::io::stdin().lock().read(&mut buf).unwrap_or(0);
                if n == 0 {
                    let _ = poll.registry().deregister(&mut SourceFd(&stdin_fd));
                    stdin_on = false;
                    if o.duration.is_none() {
                        stopping = true;
                    }
                    continue;
                }
                stdin_buf.extend_from_slice(&buf[..n]);
                while let Some(pos) = stdin_buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = stdin_buf.drain(..=pos).collect();
                    let line = String::from_utf8_lossy(&line);
                    let mut w = line.split_whitespace();
                    match w.next() {
                        Some("mark") => {
                            let label = w.next().unwrap_or("mark");
                            let _ = writeln!(out, "M {} {}", us(Instant::now()), label);
                            let _ = out.flush();
                        }
                        Some("stop") => stopping = true,
                        _ => eprintln!("traffic: unknown command '{}'", line.trim()),
                    }
                }
            } else if tok >= REQ_BASE {
                let i = tok - REQ_BASE;
                let Some(r) = reqs.get_mut(i).and_then(|r| r.as_mut()) else {
                    continue;
                };
                let mut done: Option<Result<String, String>> = None;
                if !r.sent {
                    match connect_result(&r.stream) {
                        None => continue,
                        Some(Err(e)) => done = Some(Err(reason(&e))),
                        Some(Ok(())) => match r.stream.write(&request) {
                            Ok(n) if n == request.len() => r.sent = true,
                            Ok(_) => done = Some(Err("short-write".into())),
                            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                            Err(e) => done = Some(Err(reason(&e))),
                        },
                    }
                }
                if done.is_none() && r.sent {
                    loop {
                        match r.stream.read(&mut buf) {
                            Ok(0) => {
                                done = Some(answer(&r.head));
                                break;
                            }
                            Ok(n) => {
                                if r.head.len() < 4096 {
                                    r.head.extend_from_slice(&buf[..n]);
                                }
                            }
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(e) => {
                                done = Some(Err(reason(&e)));
                                break;
                            }
                        }
                    }
                }
                if let Some(res) = done {
                    let end = Instant::now();
                    let (s, l) = (us(r.start), end.duration_since(r.start).as_micros() as u64);
                    let (ph, pt) = (req_phase(r.sent), r.port);
                    let _ = match res {
                        Ok(tag) => writeln!(out, "R {s} {l} ok {tag} {pt}"),
                        Err(why) => writeln!(out, "R {s} {l} fail {why} {ph} {pt}"),
                    };
                    let mut r = reqs[i].take().expect("present");
                    let _ = poll.registry().deregister(&mut r.stream);
                    free.push(i);
                }
            } else if let Some(l) = longs.get_mut(tok) {
                let now = Instant::now();
                let mut broken: Option<String> = None;
                if let LongState::Connecting(t) = l.state {
                    match l.stream.as_ref().and_then(connect_result) {
                        None => continue,
                        Some(Err(e)) => broken = Some(reason(&e)),
                        Some(Ok(())) => {
                            let port = l
                                .stream
                                .as_ref()
                                .and_then(|s| s.local_addr().ok())
                                .map_or(0, |a| a.port());
                            let _ = writeln!(
                                out,
                                "L {} {} open {} {}",
                                us(now),
                                tok,
                                now.duration_since(t).as_micros(),
                                port
                            );
                            l.state = LongState::Idle(now);
                            l.last_echo = Some(now);
                        }
                    }
                }
                if broken.is_none() {
                    if let (Some(s), LongState::Waiting(_) | LongState::Idle(_)) =
                        (l.stream.as_mut(), &l.state)
                    {
                        loop {
                            match s.read(&mut buf) {
                                Ok(0) => {
                                    broken = Some("eof".into());
                                    break;
                                }
                                Ok(n) => l.got += buf[..n].iter().filter(|&&b| b == b'\n').count(),
                                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                                Err(e) => {
                                    broken = Some(reason(&e));
                                    break;
                                }
                            }
                        }
                    }
                }
                if let (None, LongState::Waiting(sent)) = (&broken, &l.state) {
                    if l.got as u64 >= l.seq {
                        if let Some(prev) = l.last_echo {
                            let gap = now.duration_since(prev);
                            if gap > gap_log {
                                let _ =
                                    writeln!(out, "L {} {} gap {}", us(now), tok, gap.as_micros());
                            }
                        }
                        l.last_echo = Some(now);
                        l.state = LongState::Idle((*sent + o.interval).max(now));
                    }
                }
                if let Some(why) = broken {
                    let _ = writeln!(out, "L {} {} broken {}", us(now), tok, why);
                    if let Some(mut s) = l.stream.take() {
                        let _ = poll.registry().deregister(&mut s);
                    }
                    l.state = LongState::Done;
                }
            }
        }

        let now = Instant::now();
        // Request deadlines.
        for (i, slot) in reqs.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|r| now >= r.start + o.timeout) {
                let mut r = slot.take().expect("present");
                let _ = poll.registry().deregister(&mut r.stream);
                let _ = writeln!(
                    out,
                    "R {} {} fail timeout {} {}",
                    us(r.start),
                    now.duration_since(r.start).as_micros(),
                    req_phase(r.sent),
                    r.port
                );
                free.push(i);
            }
        }
        // New requests on the fixed schedule. A request starts (and its
        // deadline runs) when it is really sent: a probe that fell behind
        // (a starved VM) does not send a burst of already-late requests, it
        // skips the missed slots and says how many ("S" lines).
        if now >= next_req + period {
            let missed = (now.duration_since(next_req).as_nanos() / period.as_nanos()) as u64;
            let _ = writeln!(out, "S {} {}", us(now), missed);
            next_req += period * missed as u32;
        }
        while next_req <= now {
            let start = Instant::now();
            next_req += period;
            let Some(i) = free.pop() else {
                let _ = writeln!(out, "R {} 0 fail local-full", us(start));
                continue;
            };
            match TcpStream::connect(http) {
                Ok(mut s) => {
                    if poll
                        .registry()
                        .register(
                            &mut s,
                            Token(REQ_BASE + i),
                            Interest::READABLE | Interest::WRITABLE,
                        )
                        .is_err()
                    {
                        free.push(i);
                        let _ = writeln!(out, "R {} 0 fail local-register", us(start));
                        continue;
                    }
                    let port = s.local_addr().map(|a| u32::from(a.port())).unwrap_or(0);
                    reqs[i] = Some(ReqConn {
                        stream: s,
                        start,
                        sent: false,
                        head: Vec::new(),
                        port,
                    });
                }
                Err(e) => {
                    free.push(i);
                    let _ = writeln!(out, "R {} 0 fail local-{}", us(start), reason(&e));
                }
            }
        }
        // Long-lived connections: connect deadline, next line.
        let mut all_up = true;
        for (i, l) in longs.iter_mut().enumerate() {
            match l.state {
                LongState::Connecting(t) => {
                    all_up = false;
                    if now >= t + long_connect_timeout {
                        let _ = writeln!(out, "L {} {} broken connect-timeout", us(now), i);
                        if let Some(mut s) = l.stream.take() {
                            let _ = poll.registry().deregister(&mut s);
                        }
                        l.state = LongState::Done;
                    }
                }
                LongState::Idle(t) if now >= t => {
                    l.seq += 1;
                    let line = format!("line {} {}\n", i, l.seq);
                    let res = l.stream.as_mut().map(|s| s.write(line.as_bytes()));
                    match res {
                        Some(Ok(n)) if n == line.len() => l.state = LongState::Waiting(now),
                        Some(Err(e)) if e.kind() != ErrorKind::WouldBlock => {
                            let _ = writeln!(out, "L {} {} broken {}", us(now), i, reason(&e));
                            if let Some(mut s) = l.stream.take() {
                                let _ = poll.registry().deregister(&mut s);
                            }
                            l.state = LongState::Done;
                        }
                        // A full send buffer (a long outage): wait as a
                        // stalled connection would.
                        _ => l.state = LongState::Waiting(now),
                    }
                }
                _ => {}
            }
        }
        if all_up && !ready_said {
            ready_said = true;
            println!("ready");
            let _ = std::io::stdout().flush();
        }
        if now >= next_flush {
            let _ = out.flush();
            next_flush = now + Duration::from_secs(1);
        }
        if o.duration.is_some_and(|d| now >= t0 + d) {
            stopping = true;
        }
        let _ = stdin_on;
    }
    let now = Instant::now();
    for (i, l) in longs.iter().enumerate() {
        if l.stream.is_some() {
            let last = l.last_echo.map(us).unwrap_or(0);
            let _ = writeln!(out, "L {} {} final {}", us(now), i, last);
        }
    }
    let _ = writeln!(out, "E {}", us(now));
    out.flush().map_err(|e| format!("run: {}: {e}", o.out))?;
    Ok(())
}

/// An HTTP answer read to its end: Ok(first word of the body) for status 200.
fn answer(head: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(head);
    let status_ok = text.starts_with("HTTP/1.0 200 ") || text.starts_with("HTTP/1.1 200 ");
    if !status_ok {
        return Err(if head.is_empty() {
            "eof".into()
        } else {
            "status".into()
        });
    }
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok(body.split_whitespace().next().unwrap_or("-").to_string())
}

/// `traffic get ADDR:PORT LOCAL_PORT [TIMEOUT_MS]`: one HTTP/1.0 request
/// from a chosen local port (SO_REUSEADDR); prints the first word of the
/// body, or `- REASON`. Shows what the director does with a client port it
/// has seen before (tests/vm/client/t_ipvs_port_reuse.sh).
fn get_main(args: &[String]) -> Result<(), String> {
    let to: SocketAddr = args
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or("get: ADDR:PORT needed")?;
    let local: u16 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .ok_or("get: LOCAL_PORT needed")?;
    let timeout = Duration::from_millis(args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000));
    let res = (|| -> std::io::Result<String> {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        sock.set_reuse_address(true)?;
        sock.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, local)).into())?;
        sock.connect_timeout(&to.into(), timeout)?;
        let mut s: std::net::TcpStream = sock.into();
        s.set_read_timeout(Some(timeout))?;
        s.write_all(format!("GET / HTTP/1.0\r\nHost: {}\r\n\r\n", to.ip()).as_bytes())?;
        let mut head = Vec::new();
        s.read_to_end(&mut head)?;
        answer(&head).map_err(std::io::Error::other)
    })();
    match res {
        Ok(tag) => println!("{tag}"),
        Err(e) => println!("- {}", reason(&e)),
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("run") => run_main(&args[1..]),
        Some("report") => report_main(&args[1..]),
        Some("get") => get_main(&args[1..]),
        _ => Err("usage: traffic run --vip ADDR --out FILE [--http-port P] [--echo-port P] [--rate N] [--timeout-ms MS] [--long N] [--interval-ms MS] [--duration S]\n       traffic get ADDR:PORT LOCAL_PORT [TIMEOUT_MS]\n       traffic report FILE [--fault LABEL] [--stall-ms MS] [--soak PREFIX --excuse-ms MS [--near PREFIX [--near-max N]] [--flap PREFIX [--flap-ms MS]] [--absent DOWN_PREFIX,UP_PREFIX]]".into()),
    };
    if let Err(e) = res {
        eprintln!("traffic: {e}");
        std::process::exit(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic run: requests every 10 ms from 0 to 10 s, failing between
    /// 4.0 s and 7.5 s (the fault marked at 4.1 s), latency 2 ms before,
    /// 5 ms after; three long-lived connections: one survives with a gap,
    /// one breaks, one stalls.
    fn synthetic() -> String {
        let mut s = String::from("# traffic rate=100 timeout_ms=200 long=3 interval_ms=100\n");
        for i in 0..1000u64 {
            let t = i * 10_000;
            if (4_000_000..7_500_000).contains(&t) {
                s += &format!("R {t} 200000 fail timeout\n");
            } else if t < 4_000_000 {
                s += &format!("R {t} {} ok rs1\n", 2000 + i % 10);
            } else {
                s += &format!("R {t} 5000 ok rs2\n");
            }
        }
        s += "L 1000 0 open 300\nL 1000 1 open 300\nL 1000 2 open 300\n";
        s += "M 4100000 kill\nS 5000000 3\n";
        s += "L 8000000 0 gap 3900000\n";
        s += "L 4300000 1 broken reset\n";
        s += "L 10000000 0 final 9950000\nL 10000000 2 final 4050000\nE 10000000\n";
        s
    }

    #[test]
    fn outage_failures_longs_and_phases() {
        let ev = parse_events(&synthetic()).unwrap();
        let r = fault_report(&ev, "kill", 4_100_000, 10_000_001, 1_000_000);
        // Last success 3.99 s, first after 7.5 s.
        assert_eq!(r.outage_us, Some(7_500_000 - 3_990_000));
        assert_eq!(r.failed, 350);
        assert_eq!(r.reasons.get("timeout"), Some(&350));
        // The probe skipped slots at 5.0 s: timeouts from 4.3 to 5.5 s are starved.
        assert_eq!(r.starved, 121);
        assert_eq!((r.survived, r.broke, r.stalled), (1, 1, 1));
        assert_eq!(r.max_gap_us, 3_900_000);
        assert_eq!(r.before.n, 400);
        assert_eq!(r.before.p50, Some(2004));
        assert_eq!(r.before.p99, Some(2009));
        assert_eq!(r.during.n, 0);
        assert_eq!(r.after.p50, Some(5000));
        assert_eq!(r.after.n, 250);
        let text = print_fault(&r);
        assert!(
            text.contains("RESULT label=kill outage_ms=3510 span_ms=3510 failed=350 unexcused=229"),
            "{text}"
        );
        assert!(text.contains("survived=1 broke=1 stalled=1"), "{text}");
    }

    #[test]
    fn a_stray_failure_does_not_stretch_the_outage() {
        let mut s = String::from("# traffic rate=100 timeout_ms=200\n");
        for i in 0..500u64 {
            let t = i * 10_000;
            let ok = !(1_000_000..1_500_000).contains(&t) && t != 3_000_000 && t != 4_990_000;
            s += &format!(
                "R {t} 1000 {}\n",
                if ok { "ok rs1" } else { "fail timeout" }
            );
        }
        s += "M 1000000 kill\nE 5000000\n";
        let ev = parse_events(&s).unwrap();
        let r = fault_report(&ev, "kill", 1_000_000, 5_000_001, 1_000_000);
        assert_eq!(r.failed, 52);
        assert_eq!(r.outage_us, Some(1_500_000 - 990_000));
        assert_eq!(r.span_us, None, "the last request failed: never recovered");
    }

    #[test]
    fn no_failure_is_no_outage() {
        let mut s = String::from("# traffic rate=100 timeout_ms=200 long=0 interval_ms=100\n");
        for i in 0..300u64 {
            s += &format!("R {} 1000 ok rs1\n", i * 10_000);
        }
        s += "M 1500000 reload\nE 3000000\n";
        let ev = parse_events(&s).unwrap();
        let r = fault_report(&ev, "reload", 1_500_000, 3_000_001, 1_000_000);
        assert_eq!(r.outage_us, Some(0));
        assert_eq!(r.failed, 0);
        assert_eq!(r.during.n, 100);
        assert_eq!(r.after.n, 50);
    }

    #[test]
    fn no_recovery_and_failures_before_the_window() {
        let mut s = String::from("# traffic rate=100 timeout_ms=200\n");
        s += "R 0 1000 ok rs1\nR 100000 200000 fail refused\nR 1000000 1000 ok rs1\n";
        s += "M 2000000 kill\nR 2100000 200000 fail timeout\nE 3000000\n";
        let ev = parse_events(&s).unwrap();
        let r = fault_report(&ev, "kill", 2_000_000, 3_000_001, 1_000_000);
        assert_eq!(r.failed, 1, "the failure at 0.1 s is before the window");
        assert_eq!(r.outage_us, None);
        assert!(print_fault(&r).contains("outage_ms=inf"));
    }

    #[test]
    fn soak_counts_failures_outside_the_windows() {
        let mut s = String::from("# traffic rate=100 timeout_ms=200\n");
        s += "M 1000000 kill-1\nR 900000 200000 fail timeout\nR 5000000 200000 fail refused\n";
        s += "R 20000000 200000 fail timeout\nR 21000000 1000 ok rs1\nE 30000000\n";
        let ev = parse_events(&s).unwrap();
        let (outside, starved, inside, first) = failures_outside(&ev, "kill", 10_000_000);
        assert_eq!((outside, starved, inside), (1, 0, 2));
        assert_eq!(first, vec![20_000_000]);
        // The same timeout while the probe skipped slots is excused.
        let ev = parse_events(&format!("{s}S 20300000 40\n")).unwrap();
        let (outside, starved, inside, _) = failures_outside(&ev, "kill", 10_000_000);
        assert_eq!((outside, starved, inside), (0, 1, 2));
    }

    #[test]
    fn phase_port_and_marks_appended_later() {
        let mut s = String::from("# traffic rate=100 timeout_ms=200 uptime_ms=5000\n");
        s += "R 1000 900 ok rs1 40001\nR 2000 200000 fail timeout syn 40003\n";
        s += "R 3000 5000 fail reset req 40005\nR 4000 200000 fail timeout\n";
        s += "M 9000 hc-down-rs1\nE 10000\nM 1500 log-dir1-real_server_DOWN\n";
        let ev = parse_events(&s).unwrap();
        let got: Vec<(&str, &str, u32)> = ev
            .reqs
            .iter()
            .map(|r| (r.what.as_str(), r.phase.as_str(), r.port))
            .collect();
        assert_eq!(
            got,
            vec![
                ("rs1", "", 40001),
                ("timeout", "syn", 40003),
                ("reset", "req", 40005),
                ("timeout", "", 0)
            ]
        );
        // Marks are in time order whatever the file order.
        assert_eq!(ev.marks[0].1, "log-dir1-real_server_DOWN");
        assert_eq!(last_mark(&ev, "", 2000).map(|m| m.0), Some(1500));
        assert_eq!(last_mark(&ev, "hc-", 2000), None);
        let mut a =
            String::from("# traffic timeout_ms=0\nM 10 ipvs-down-rs1\nM 50 ipvs-up-rs1\nE 100\n");
        a += "R 20 200 fail timeout syn 1\nR 30 200 fail timeout req 2\nR 60 200 fail timeout syn 3\n";
        a += "R 70 200 fail timeout syn 4\nM 65 fo-kill\n";
        let ev = parse_events(&a).unwrap();
        let wins = windows(&ev, "fo-", 10);
        assert_eq!(
            syn_timeouts_by_absence(&ev, &wins, "ipvs-down-", "ipvs-up-", 100),
            (1, 40, 1, 60)
        );
        let s = "R 0 1 ok a 7\nR 10 1 ok a 7\nR 200000000 1 ok a 7\nR 300 1 ok a 8\n";
        assert_eq!(port_reuse(&parse_events(s).unwrap(), 120_000_000), (1, 4));
    }

    #[test]
    fn failures_at_a_removal_are_told_apart() {
        let mut s = String::from("# traffic rate=100 timeout_ms=200\n");
        s += "R 4000000 3000 fail reset req 1\nR 5400000 200000 fail timeout syn 3\n";
        s += "R 9000000 200000 fail timeout syn 5\nM 5000000 rm-dir1-rs1\nE 10000000\n";
        let ev = parse_events(&s).unwrap();
        let (_, _, _, list) = failures_outside_list(&ev, "fo-", 10_000_000);
        let (at, rest) = split_at_marks(&ev, list, "rm-", 1_000_000);
        let starts = |v: &[&Req]| v.iter().map(|r| r.start).collect::<Vec<_>>();
        assert_eq!(starts(&at), vec![4_000_000, 5_400_000]);
        assert_eq!(starts(&rest), vec![9_000_000]);
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse_events("R 1 2 maybe\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        assert!(parse_events("X\n").is_err());
        assert!(parse_events("R x 2 ok a\n").is_err());
    }

    #[test]
    fn http_answers() {
        assert_eq!(
            answer(b"HTTP/1.0 200 OK\r\nA: b\r\n\r\nrs1 10.0.0.11\n"),
            Ok("rs1".into())
        );
        assert_eq!(
            answer(b"HTTP/1.0 404 Not Found\r\n\r\n"),
            Err("status".into())
        );
        assert_eq!(answer(b""), Err("eof".into()));
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(pct(&v, 0.5), Some(50));
        assert_eq!(pct(&v, 0.99), Some(99));
        assert_eq!(pct(&[], 0.5), None);
    }
}
