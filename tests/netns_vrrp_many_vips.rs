//! Root-only: keepalived-sized VIP lists and `virtual_ipaddress_excluded`,
//! with Debian's keepalived 2.2.7 as the peer, both ways round. Both sides
//! list the same 256 VIPs: one advert carries 255, so both hold the 256th
//! without advertising it (keepalived moves it to its eVIPs, lvsd to its
//! excluded list). Each side also has an excluded address the other does not
//! know: excluded addresses are never advertised, so neither side may see a
//! VIP mismatch. The master holds everything, the backup nothing, and a
//! failover moves all of it.

mod common;
mod vrrp_netns;

use std::process::Command;
use std::time::Duration;

use vrrp_netns::{holds_for, logs, wait_for, Director, Lan};

const S: Duration = Duration::from_secs(1);
const VIPS: usize = 256;

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

fn vip(net: u8, n: usize) -> String {
    format!("10.{net}.{}.{}", n / 250, n % 250 + 1)
}

/// The excluded address only side `side` (1 = lvsd, 2 = keepalived) lists.
fn excluded(net: u8, side: u8) -> [String; 2] {
    [
        format!("10.253.{net}.{side}"),
        format!("2001:db8:{net}::{side}/64"),
    ]
}

fn lvsd_ini(net: u8, priority: u8) -> String {
    let mut s = format!(
        "[global]\ncontrol_socket = @SOCK@\n\n[vrrp_instance VI_1]\nstate = BACKUP\ninterface = eth0\n\
         virtual_router_id = 51\npriority = {priority}\nadvert_int = 1\nauth_type = PASS\nauth_pass = many\n"
    );
    for n in 0..VIPS {
        s += &format!("virtual_ipaddress = {}\n", vip(net, n));
    }
    for e in excluded(net, 1) {
        s += &format!("virtual_ipaddress_excluded = {e}\n");
    }
    s
}

fn keepalived_conf(net: u8, priority: u8) -> String {
    let vips: Vec<String> = (0..VIPS).map(|n| vip(net, n)).collect();
    format!(
        "global_defs {{\n    router_id ka\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n\
         virtual_router_id 51\n    priority {priority}\n    advert_int 1\n\
         authentication {{\n        auth_type PASS\n        auth_pass many\n    }}\n\
         virtual_ipaddress {{\n        {}\n    }}\n    virtual_ipaddress_excluded {{\n        {}\n    }}\n}}\n",
        vips.join("\n        "),
        excluded(net, 2).join("\n        ")
    )
}

/// How many of the test's addresses director `d` holds: (VIPs, excluded).
fn held(d: &Director, net: u8) -> (usize, usize) {
    let out = Command::new("ip")
        .args(["-n", &d.ns, "-o", "addr", "show", "dev", "eth0"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let vips = format!("10.{net}.");
    let ex = [format!("10.253.{net}."), format!("2001:db8:{net}::")];
    let mut counts = (0, 0);
    for word in text.split_whitespace() {
        if word.starts_with(vips.as_str()) {
            counts.0 += 1;
        } else if ex.iter().any(|e| word.starts_with(e.as_str())) {
            counts.1 += 1;
        }
    }
    counts
}

fn keepalived_complaints(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("invalid")
                || l.contains("incorrect")
                || l.contains("bad ")
                || l.contains("mismatch")
                || l.contains("not present")
                || l.contains("unexpected")
                || l.contains("but received")
                || l.contains("wrong")
        })
        .collect()
}

fn lvsd_pid(master: &Director, backup: &Director, lvsd_is_master: bool) -> Option<u32> {
    if lvsd_is_master {
        master.pid()
    } else {
        backup.pid()
    }
}

fn keepalived_pid(master: &Director, backup: &Director, lvsd_is_master: bool) -> Option<u32> {
    lvsd_pid(backup, master, lvsd_is_master)
}

fn interop(prefix: &str, net: u8, lvsd_is_master: bool) {
    if !can_run(prefix) {
        return;
    }
    let lan = Lan::new(prefix, net, 2);
    let (lp, kp) = if lvsd_is_master { (100, 90) } else { (90, 100) };
    let mut lvsd = lan.lvsd(1, &lvsd_ini(net, lp));
    let mut ka = lan.keepalived(2, &keepalived_conf(net, kp));
    let ctx = logs(&[&lvsd, &ka]);
    let (master, backup): (&mut Director, &mut Director) = if lvsd_is_master {
        (&mut lvsd, &mut ka)
    } else {
        (&mut ka, &mut lvsd)
    };
    backup.start();
    std::thread::sleep(Duration::from_millis(300));
    master.start();
    wait_for(
        "the master holds 256 VIPs and its 2 excluded addresses",
        20 * S,
        || held(master, net) == (VIPS, 2),
        &ctx,
    );
    // Under load the backup, started first, may become master before the
    // master's first advert and give way to it: it must let go of everything,
    // then stay empty.
    wait_for(
        "the backup lets go of everything",
        10 * S,
        || held(backup, net) == (0, 0),
        &ctx,
    );
    holds_for(
        "the backup holds nothing",
        3 * S,
        || held(backup, net) == (0, 0) && held(master, net) == (VIPS, 2),
        &ctx,
    );
    // A figure, not a target: resident memory with 256 VIPs, beside keepalived.
    let rss = |pid: Option<u32>| -> String {
        pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
            })
            .unwrap_or_else(|| "?".into())
    };
    let vrrp_child = std::fs::read_to_string(lan.dir.join("k2.vrrp.pid"))
        .ok()
        .and_then(|p| p.trim().parse().ok());
    println!(
        "RSS with {VIPS} VIPs: lvsd {} KiB; keepalived parent {} KiB + VRRP child {} KiB",
        rss(lvsd_pid(master, backup, lvsd_is_master)),
        rss(keepalived_pid(master, backup, lvsd_is_master)),
        rss(vrrp_child)
    );
    master.signal("-KILL");
    wait_for(
        "the backup takes everything over",
        10 * S,
        || held(backup, net) == (VIPS, 2),
        &ctx,
    );
    let status = lvsd.status();
    assert!(
        !status.contains("received 0") && !status.contains("dropped"),
        "lvsd heard none of keepalived's adverts, or dropped or mismatched some:\n{status}\n{}",
        ctx()
    );
    assert!(
        lvsd.logs()
            .contains("256 addresses do not fit in one advert"),
        "{}",
        ctx()
    );
    let klog = ka.logs();
    let bad = keepalived_complaints(&klog);
    assert!(bad.is_empty(), "keepalived complained: {bad:#?}\n{}", ctx());
    assert!(
        klog.contains("excess moved to eVIPs"),
        "keepalived spilled nothing:\n{}",
        ctx()
    );
}

#[test]
fn lvsd_master_keepalived_backup() {
    interop("lvmv1", 50, true);
}

#[test]
fn keepalived_master_lvsd_backup() {
    interop("lvmv2", 51, false);
}
