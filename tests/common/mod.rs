//! Shared helpers for root-only integration tests: network namespaces that
//! are removed again even when a test fails.
#![allow(dead_code)]

use std::process::Command;

/// True when the tests can create network namespaces (root with iproute2).
pub fn can_use_netns() -> bool {
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
