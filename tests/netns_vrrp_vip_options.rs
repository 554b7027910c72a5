//! Root-only: VIP options reach the kernel. lvsd and Debian's keepalived
//! 2.2.7 each run as the only router of their instance on their own director,
//! with the same `virtual_ipaddress` / `virtual_ipaddress_excluded` lines
//! (`brd`, `scope`, `label`, `dev`, `no_track`, `preferred_lft`); `ip -d addr`
//! on both directors must show the same addresses with the same attributes.
//! Then a VIP deleted by hand: lvsd puts it back unless `no_track`.

mod common;
mod vrrp_netns;

use std::process::Command;
use std::time::Duration;

use vrrp_netns::{holds_for, logs, wait_for, Director, Lan};

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

/// The address lines: VIP, then excluded (each `ADDR OPTIONS`).
fn vip_lines(net: u8) -> (Vec<String>, Vec<String>) {
    (
        vec![
            format!("10.254.{net}.100/32"),
            format!("10.254.{net}.101/24 brd + label eth0:vip"),
            format!("192.0.2.1/25 dev eth1 brd 192.0.2.100 scope host label eth1:a no_track"),
            format!("10.254.{net}.102/28 scope site brd -"),
        ],
        vec![
            format!("2001:db8:{net}::1"),
            format!("2001:db8:{net}::2/64 preferred_lft 3600"),
            format!("2001:db8:{net}::3/128 preferred_lft forever dev eth1"),
            format!("10.254.{net}.103/32 scope link label eth0:ex"),
        ],
    )
}

fn lvsd_ini(net: u8, vrid: u8) -> String {
    let (vips, excluded) = vip_lines(net);
    let mut s = format!(
        "[global]\ncontrol_socket = @SOCK@\n\n[vrrp_instance VI_1]\nstate = BACKUP\ninterface = eth0\n\
         virtual_router_id = {vrid}\npriority = 100\nadvert_int = 1\n"
    );
    for v in vips {
        s += &format!("virtual_ipaddress = {v}\n");
    }
    for v in excluded {
        s += &format!("virtual_ipaddress_excluded = {v}\n");
    }
    s
}

fn keepalived_conf(net: u8, vrid: u8) -> String {
    let (vips, excluded) = vip_lines(net);
    format!(
        "global_defs {{\n    router_id ka\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n\
         virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        {}\n    }}\n\
         virtual_ipaddress_excluded {{\n        {}\n    }}\n}}\n",
        vips.join("\n        "),
        excluded.join("\n        ")
    )
}

/// `ip -d -o addr` of one director, for the test's addresses only, with the
/// interface index and the lifetimes' countdown taken out.
fn addresses(d: &Director, net: u8) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-n", &d.ns, "-d", "-o", "addr", "show"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let ours = [
        format!("10.254.{net}.10"),
        "192.0.2.".to_owned(),
        format!("2001:db8:{net}::"),
    ];
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| ours.iter().any(|o| l.contains(o.as_str())))
        .map(|l| {
            let l = l.split_once(": ").map_or(l, |(_, rest)| rest);
            l.split_whitespace()
                .map(|w| match w.strip_suffix("sec") {
                    Some(n) if n.parse::<u32>().is_ok() && n != "0" => "Nsec",
                    _ => w,
                })
                .filter(|w| *w != "\\")
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    lines.sort();
    lines
}

/// A second interface (a veth pair inside the namespace: the host may lack `dummy`).
fn add_eth1(lan: &Lan, i: usize) {
    common::sh(&format!(
        "ip -n {d} link add eth1 type veth peer name eth1p
         ip -n {d} link set eth1p up
         ip -n {d} link set eth1 up",
        d = lan.d(i)
    ));
}

#[test]
fn vip_options_match_keepalived() {
    if !can_run("vip_options_match_keepalived") {
        return;
    }
    let net = 40;
    let lan = Lan::new("lvvo", net, 2);
    add_eth1(&lan, 1);
    add_eth1(&lan, 2);
    // Different VRIDs: each is the only router of its instance, so both become master.
    let mut lvsd = lan.lvsd(1, &lvsd_ini(net, 61));
    let mut ka = lan.keepalived(2, &keepalived_conf(net, 62));
    let ctx = logs(&[&lvsd, &ka]);
    // The GARP for an address on eth1 leaves on eth1, as keepalived's does.
    let capture = lan.dir.join("eth1.arp");
    let mut tcpdump = Command::new("ip")
        .args([
            "netns", "exec", &lvsd.ns, "tcpdump", "-i", "eth1p", "-n", "-l", "arp",
        ])
        .stdout(std::fs::File::create(&capture).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tcpdump");
    std::thread::sleep(Duration::from_millis(500));
    lvsd.start();
    ka.start();
    let vip = format!("10.254.{net}.100/32");
    wait_for(
        "both hold their VIPs",
        15 * S,
        || lvsd.has_addr("eth0", &vip) && ka.has_addr("eth0", &vip),
        &ctx,
    );
    std::thread::sleep(Duration::from_millis(500));
    let ours = addresses(&lvsd, net);
    let theirs = addresses(&ka, net);
    println!("lvsd:\n  {}", ours.join("\n  "));
    println!("keepalived:\n  {}", theirs.join("\n  "));
    assert_eq!(ours.len(), 8, "{ours:#?}\n{}", ctx());
    assert_eq!(ours, theirs, "\n{}", ctx());
    // What the options mean, read back from the kernel.
    for want in [
        format!("inet 10.254.{net}.101/24 brd 10.254.{net}.255 scope global secondary eth0:vip"),
        format!("inet 10.254.{net}.103/32 scope link eth0:ex"),
        "inet 192.0.2.1/25 brd 192.0.2.100 scope host eth1:a".to_owned(),
        format!("inet 10.254.{net}.102/28 brd 10.254.{net}.96 scope site"),
        format!("inet6 2001:db8:{net}::1/128 scope global nodad deprecated valid_lft forever preferred_lft 0sec"),
    ] {
        assert!(
            ours.iter().any(|l| l.contains(want.as_str())),
            "missing `{want}` in {ours:#?}"
        );
    }

    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    let arp = std::fs::read_to_string(&capture).unwrap_or_default();
    assert!(
        arp.contains("192.0.2.1") && !arp.contains(&format!("10.254.{net}.")),
        "gratuitous ARP on eth1:\n{arp}\n{}",
        ctx()
    );

    // Deleted by hand: a tracked VIP comes back at once, a no_track one does not.
    common::sh(&format!(
        "ip -n {d} addr del 10.254.{net}.100/32 dev eth0
         ip -n {d} addr del 192.0.2.1/25 dev eth1",
        d = lvsd.ns
    ));
    wait_for(
        "the tracked VIP is put back",
        3 * S,
        || lvsd.has_addr("eth0", &vip),
        &ctx,
    );
    holds_for(
        "the no_track VIP stays deleted",
        2 * S,
        || !lvsd.has_addr("eth1", "192.0.2.1/25") && lvsd.has_addr("eth0", &vip),
        &ctx,
    );

    // Stop: every address, excluded ones included, goes away.
    lvsd.signal("-TERM");
    let left = addresses(&lvsd, net);
    assert!(left.is_empty(), "left after stop: {left:#?}\n{}", ctx());
}

#[test]
fn vip_interface_is_tracked_unless_no_track() {
    if !can_run("vip_interface_is_tracked_unless_no_track") {
        return;
    }
    let net = 41;
    let lan = Lan::new("lvvt", net, 2);
    add_eth1(&lan, 1);
    add_eth1(&lan, 2);
    let ini = |vrid: u8, no_track: &str| {
        format!(
            "[global]\ncontrol_socket = @SOCK@\n\n[vrrp_instance VI_1]\ninterface = eth0\n\
             virtual_router_id = {vrid}\nvirtual_ipaddress = 10.254.{net}.100\n\
             virtual_ipaddress = 192.0.2.1 dev eth1 {no_track}\n"
        )
    };
    let mut tracked = lan.lvsd(1, &ini(71, ""));
    let mut untracked = lan.lvsd(2, &ini(72, "no_track"));
    let ctx = logs(&[&tracked, &untracked]);
    tracked.start();
    untracked.start();
    let vip = format!("10.254.{net}.100/32");
    wait_for(
        "both become master",
        15 * S,
        || tracked.has_addr("eth0", &vip) && untracked.has_addr("eth0", &vip),
        &ctx,
    );
    for d in [&tracked, &untracked] {
        common::sh(&format!("ip -n {} link set eth1 down", d.ns));
    }
    wait_for(
        "eth1 down makes the tracking instance FAULT",
        3 * S,
        || !tracked.has_addr("eth0", &vip),
        &ctx,
    );
    assert!(tracked.status().contains("FAULT"), "{}", ctx());
    holds_for(
        "the no_track instance stays master",
        2 * S,
        || untracked.has_addr("eth0", &vip),
        &ctx,
    );
    common::sh(&format!("ip -n {} link set eth1 up", tracked.ns));
    wait_for(
        "eth1 up again: master again",
        10 * S,
        || tracked.has_addr("eth0", &vip),
        &ctx,
    );
}
