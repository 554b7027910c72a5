//! Shared helpers for root-only integration tests: network namespaces that
//! are removed again even when a test fails, and the one rule for a missing
//! prerequisite (see [`require_or_skip`]).
#![allow(dead_code)]

use std::process::{Command, Stdio};

/// True when the tests run in CI (env `CI=true`, as `.ci/run` runs them).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The one rule for a missing prerequisite (root, a tool, netns). When `ok`,
/// returns true. Otherwise, under `CI=true` it panics: a test that cannot run
/// in CI is a failure, never a pass. Outside CI it prints why the test is
/// skipped and returns false, and the caller returns early.
///
/// ```ignore
/// if !common::require_or_skip(common::can_use_netns(), "root and ip netns") {
///     return;
/// }
/// ```
pub fn require_or_skip(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    if in_ci() {
        panic!("{test}: prerequisite missing in CI (CI=true): needs {what}");
    }
    eprintln!("SKIP {test}: needs {what} (under CI=true this is a failure)");
    false
}

/// True when `cmd` is on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// [`require_or_skip`] for the network-namespace tests: root with iproute2.
pub fn netns_or_skip() -> bool {
    require_or_skip(can_use_netns(), "root and `ip netns` (iproute2)")
}

/// True when the tests can create network namespaces (root with iproute2).
/// Probed once per test binary: tests run in parallel threads of one process,
/// and two probes with the same pid-based name would collide, so one of them
/// would report "no netns" (a skip outside CI, a false failure in CI).
pub fn can_use_netns() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(probe_netns)
}

fn probe_netns() -> bool {
    let name = format!("lvsd-probe-{}", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        let _ = Command::new("ip").args(["netns", "del", &name]).status();
    }
    ok
}

/// Runs a shell snippet; panics with its output when it fails.
pub fn sh(script: &str) {
    let out = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "shell step failed: {script}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A set of network namespaces deleted on drop (also on panic).
pub struct Namespaces {
    pub names: Vec<String>,
}

impl Namespaces {
    /// Creates namespaces `prefix-<pid>-<n>` for each suffix given.
    pub fn new(prefix: &str, suffixes: &[&str]) -> Self {
        let names: Vec<String> = suffixes
            .iter()
            .map(|s| format!("{prefix}{}{s}", std::process::id() % 10000))
            .collect();
        let ns = Namespaces { names };
        for n in &ns.names {
            sh(&format!("ip netns add {n}; ip -n {n} link set lo up"));
        }
        ns
    }

    /// The full name of the namespace created for `suffix`.
    pub fn get(&self, suffix: &str) -> &str {
        self.names
            .iter()
            .find(|n| n.ends_with(suffix))
            .map(String::as_str)
            .expect("namespace suffix")
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip")
                .args(["netns", "pids", n])
                .output()
                .map(|o| {
                    for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                        let _ = Command::new("kill").args(["-9", pid]).status();
                    }
                });
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}
