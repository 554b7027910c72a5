//! Root-only: `track_file` in a `vrrp_sync_group`, lvsd beside Debian's
//! keepalived 2.2.7 with the same group: every member tracks the group's file
//! (weight 0: a non-zero number means FAULT), so writing 1 into it takes the
//! whole group out of MASTER and writing 0 brings it back, on both sides.

mod common;
mod vrrp_netns;

use std::process::Command;
use std::time::Duration;

use vrrp_netns::{logs, wait_for, Director, Lan};

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

fn holds(d: &Director, net: u8, hosts: [u8; 2]) -> [bool; 2] {
    hosts.map(|h| d.has_addr("eth0", &format!("10.254.{net}.{h}/32")))
}

#[test]
fn sync_group_track_file_like_keepalived() {
    if !can_run("sync_group_track_file_like_keepalived") {
        return;
    }
    let net = 43;
    let lan = Lan::new("lvsf", net, 2);
    let lfile = lan.dir.join("lvsd.track");
    let kfile = lan.dir.join("ka.track");
    std::fs::write(&lfile, "0\n").unwrap();
    std::fs::write(&kfile, "0\n").unwrap();
    let inst = |name: &str, vrid: u8, host: u8| {
        format!(
            "[vrrp_instance {name}]\ninterface = eth0\nvirtual_router_id = {vrid}\n\
             virtual_ipaddress = 10.254.{net}.{host}\n"
        )
    };
    let mut lvsd = lan.lvsd(
        1,
        &format!(
            "[global]\ncontrol_socket = @SOCK@\n\n{}\n{}\n[vrrp_sync_group G]\ngroup = VI_1 VI_2\n\
             track_file = {} weight 0\n",
            inst("VI_1", 91, 101),
            inst("VI_2", 92, 102),
            lfile.display()
        ),
    );
    let kinst = |name: &str, vrid: u8, host: u8| {
        format!(
            "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n\
             virtual_ipaddress {{\n        10.254.{net}.{host}/32\n    }}\n}}\n"
        )
    };
    let mut ka = lan.keepalived(
        2,
        &format!(
            "vrrp_track_file tf {{\n    file {}\n    weight 0\n}}\n{}{}\
             vrrp_sync_group G {{\n    group {{\n        VI_3\n        VI_4\n    }}\n\
             track_file {{\n        tf weight 0\n    }}\n}}\n",
            kfile.display(),
            kinst("VI_3", 93, 103),
            kinst("VI_4", 94, 104)
        ),
    );
    let ctx = logs(&[&lvsd, &ka]);
    lvsd.start();
    ka.start();
    wait_for(
        "all four instances become master",
        15 * S,
        || holds(&lvsd, net, [101, 102]) == [true; 2] && holds(&ka, net, [103, 104]) == [true; 2],
        &ctx,
    );
    std::fs::write(&lfile, "1\n").unwrap();
    std::fs::write(&kfile, "1\n").unwrap();
    wait_for(
        "a non-zero file takes both groups out of MASTER",
        5 * S,
        || holds(&lvsd, net, [101, 102]) == [false; 2] && holds(&ka, net, [103, 104]) == [false; 2],
        &ctx,
    );
    let st = lvsd.status();
    assert!(
        st.matches("FAULT").count() >= 2,
        "both lvsd members are FAULT:\n{st}\n{}",
        ctx()
    );
    std::fs::write(&lfile, "0\n").unwrap();
    std::fs::write(&kfile, "0\n").unwrap();
    wait_for(
        "0 again: both groups master again",
        15 * S,
        || holds(&lvsd, net, [101, 102]) == [true; 2] && holds(&ka, net, [103, 104]) == [true; 2],
        &ctx,
    );
}
