//! Root-only: `vrrp_script` with `init_fail`, lvsd beside Debian's keepalived
//! 2.2.7 with the same script: both start in FAULT (weight 0, the script
//! counts as failing before its first run, and `fall 10` would otherwise
//! leave it up for ten runs) and become master only after
//! `rise` successes once the tracked file exists.

mod common;
mod vrrp_netns;

use std::process::Command;
use std::time::Duration;

use vrrp_netns::{holds_for, logs, wait_for, Lan};

const S: Duration = Duration::from_secs(1);

/// Skips outside CI when netns or keepalived cannot be used; fails in CI.
fn can_run(what: &str) -> bool {
    let keepalived = Command::new("keepalived")
        .arg("--version")
        .output()
        .map(|o| o.status.success() || !o.stderr.is_empty())
        .unwrap_or(false);
    if vrrp_netns::can_run() && keepalived {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what}: needs root, ip netns and keepalived, and CI=true makes that a failure"
    );
    eprintln!("SKIP {what}: needs root, ip netns and keepalived");
    false
}

#[test]
fn init_fail_starts_in_fault_like_keepalived() {
    if !can_run("init_fail_starts_in_fault_like_keepalived") {
        return;
    }
    let net = 42;
    let lan = Lan::new("lvif", net, 2);
    let flag = lan.dir.join("ok");
    let check = format!("/bin/sh -c 'test -e {}'", flag.display());
    let mut lvsd = lan.lvsd(
        1,
        &format!(
            "[global]\ncontrol_socket = @SOCK@\n\n[vrrp_script chk]\nscript = \"{check}\"\ninterval = 1\n\
             rise = 2\nfall = 10\ninit_fail\n\n[vrrp_instance VI_1]\ninterface = eth0\nvirtual_router_id = 81\n\
             virtual_ipaddress = 10.254.{net}.100\ntrack_script = chk\n"
        ),
    );
    let mut ka = lan.keepalived(
        2,
        &format!(
            "global_defs {{\n    script_user root\n}}\nvrrp_script chk {{\n    script \"{check}\"\n    interval 1\n\
             rise 2\n    fall 10\n    init_fail\n}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 82\n\
             virtual_ipaddress {{\n        10.254.{net}.101/32\n    }}\n    track_script {{\n        chk\n    }}\n}}\n"
        ),
    );
    let ctx = logs(&[&lvsd, &ka]);
    lvsd.start();
    ka.start();
    wait_for(
        "lvsd reports FAULT",
        5 * S,
        || lvsd.status().contains("FAULT"),
        &ctx,
    );
    holds_for(
        "neither becomes master while the script fails",
        5 * S,
        || {
            lvsd.status().contains("FAULT")
                && !lvsd.has_addr("eth0", &format!("10.254.{net}.100/32"))
                && !ka.has_addr("eth0", &format!("10.254.{net}.101/32"))
                && !ka.logs().contains("Entering MASTER STATE")
        },
        &ctx,
    );
    std::fs::write(&flag, "").unwrap();
    let start = std::time::Instant::now();
    wait_for(
        "both become master after two successes",
        15 * S,
        || {
            lvsd.has_addr("eth0", &format!("10.254.{net}.100/32"))
                && ka.has_addr("eth0", &format!("10.254.{net}.101/32"))
        },
        &ctx,
    );
    println!("both master {:?} after the file appeared", start.elapsed());
}
