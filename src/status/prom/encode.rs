//! The text exposition format itself: escaping, `# HELP`/`# TYPE` headers,
//! sample lines, histograms and label sets. Knows nothing of lvsd's metrics.

use std::fmt::Write;

use crate::status::{Histogram, HISTOGRAM_BOUNDS_US};
use std::net::IpAddr;

use crate::wire::netlink::ipvs::ServiceKey;

/// Escapes a label value (backslash, double quote, newline).
pub(super) fn esc(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.contains(['\\', '"', '\n']) {
        return v.into();
    }
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .into()
}

/// `# HELP` and `# TYPE` of a family.
pub(super) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Appends the decimal digits of `v` (without the formatting machinery:
/// a scrape of 10,000 real servers writes 140,000 of them).
pub(super) fn push_u64(out: &mut String, mut v: u64) {
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

/// `name{labels} ` (`name ` without labels): a sample line up to its value.
fn series(out: &mut String, name: &str, labels: &str) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        out.push_str(labels);
        out.push('}');
    }
    out.push(' ');
}

/// `name{labels} value` and a newline.
pub(super) fn sample(out: &mut String, name: &str, labels: &str, v: u64) {
    series(out, name, labels);
    push_u64(out, v);
    out.push('\n');
}

/// One sample per reason: `name{labels,reason="r"} n`.
pub(super) fn by_reason(out: &mut String, name: &str, labels: &str, counts: &[(&str, u64)]) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (reason, n) in counts {
        let _ = writeln!(out, "{name}{{{labels}{sep}reason=\"{reason}\"}} {n}");
    }
}

fn seconds(us: u64) -> f64 {
    us as f64 / 1e6
}

/// The `_bucket`, `_sum` and `_count` lines of a histogram in seconds.
pub(super) fn hist(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (le, below) in HISTOGRAM_BOUNDS_US.iter().zip(h.below.iter()) {
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"{}\"}} {below}",
            seconds(*le)
        );
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
    out.push_str(name);
    series(out, "_sum", labels);
    let _ = writeln!(out, "{}", seconds(h.sum_us));
    out.push_str(name);
    series(out, "_count", labels);
    push_u64(out, h.count);
    out.push('\n');
}

/// How a family reads its value from a row, and so its type.
pub(super) enum Value<T> {
    /// A gauge.
    Gauge(fn(&T) -> u64),
    /// A counter.
    Counter(fn(&T) -> u64),
    /// A gauge of (fractional) Unix seconds.
    Time(fn(&T) -> f64),
    /// A histogram of durations.
    Histogram(fn(&T) -> &Histogram),
}

/// A family: name, help, value.
pub(super) type Family<T> = (&'static str, &'static str, Value<T>);

/// The family's `# TYPE`.
pub(super) fn kind<T>(family: &Family<T>) -> &'static str {
    match family.2 {
        Value::Gauge(_) | Value::Time(_) => "gauge",
        Value::Counter(_) => "counter",
        Value::Histogram(_) => "histogram",
    }
}

/// The family's sample (or histogram lines) for one row.
pub(super) fn row<T>(out: &mut String, family: &Family<T>, labels: &str, row: &T) {
    let (name, _, value) = family;
    match value {
        Value::Gauge(get) | Value::Counter(get) => sample(out, name, labels, get(row)),
        Value::Time(get) => {
            series(out, name, labels);
            let _ = writeln!(out, "{}", get(row));
        }
        Value::Histogram(get) => hist(out, name, labels, get(row)),
    }
}

/// Each family of `table` in turn: its header, then one sample per row
/// (label set, row).
pub(super) fn families<T>(out: &mut String, table: &[Family<T>], rows: &[(&str, &T)]) {
    for family in table {
        header(out, family.0, kind(family), family.1);
        for (labels, r) in rows {
            row(out, family, labels, r);
        }
    }
}

/// Families of one unlabelled sample each.
pub(super) fn scalars<T>(out: &mut String, table: &[Family<T>], of: &T) {
    families(out, table, &[("", of)]);
}

/// Label sets of many rows in one buffer (one allocation to build and to
/// free, not one per row: freeing 30,000 strings in the turn that ends a
/// scrape held the loop for milliseconds).
#[derive(Default)]
pub(super) struct Labels {
    text: String,
    ends: Vec<usize>,
}

impl Labels {
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }
    pub(super) fn push(&mut self, build: impl FnOnce(&mut String)) {
        build(&mut self.text);
        self.ends.push(self.text.len());
    }
    pub(super) fn get(&self, row: usize) -> &str {
        let start = if row == 0 { 0 } else { self.ends[row - 1] };
        &self.text[start..self.ends[row]]
    }
}

/// node_exporter's ipvs labels of a service `key`, with the `remote`
/// address and port of one of its destinations (backend rows) or without.
pub(super) fn ipvs_labels(out: &mut String, key: &ServiceKey, remote: Option<(IpAddr, u16)>) {
    let _ = match key {
        ServiceKey::Addr { addr, port, .. } => {
            write!(out, "local_address=\"{addr}\",local_port=\"{port}\"")
        }
        ServiceKey::Fwmark { .. } => write!(out, "local_address=\"\",local_port=\"0\""),
    };
    if let Some((addr, port)) = remote {
        let _ = write!(out, ",remote_address=\"{addr}\",remote_port=\"{port}\"");
    }
    let _ = match key {
        ServiceKey::Addr { protocol, .. } => {
            write!(out, ",proto=\"{}\",local_mark=\"\"", protocol.name())
        }
        // As /proc/net/ip_vs prints it ("FWM  %08X"), which node_exporter passes on.
        ServiceKey::Fwmark { mark, .. } => write!(out, ",proto=\"FWM\",local_mark=\"{mark:08X}\""),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

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
