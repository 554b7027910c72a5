//! The published alert rules and the metrics golden file pass promtool
//! (Debian package `prometheus`, installed by scripts/deps.sh). Outside CI a
//! missing promtool skips with the reason; with CI=true it fails.

mod common;

use std::path::Path;
use std::process::Command;

fn promtool(args: &[&str], stdin_file: Option<&Path>) -> Option<(bool, String)> {
    let mut cmd = Command::new("promtool");
    cmd.args(args);
    if let Some(f) = stdin_file {
        cmd.stdin(std::fs::File::open(f).unwrap());
    }
    match cmd.output() {
        Ok(o) => Some((
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )),
        Err(e) => {
            common::require_or_skip(
                false,
                &format!("promtool ({e}; scripts/deps.sh installs package prometheus)"),
            );
            None
        }
    }
}

#[test]
fn alert_rules_pass_promtool() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/prometheus/lvsd-alerts.yml");
    let Some((ok, out)) = promtool(&["check", "rules", rules.to_str().unwrap()], None) else {
        return;
    };
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS: 5 rules found"), "{out}");
}

#[test]
fn golden_metrics_pass_promtool() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/status/golden/metrics.txt");
    let Some((ok, out)) = promtool(&["check", "metrics"], Some(&golden)) else {
        return;
    };
    assert!(ok, "{out}");
}
