//! Root-only: gratuitous ARP schedule of a new master, counted on the wire
//! beside keepalived 2.2.7 with the same settings: `garp_master_repeat` per
//! burst, the second burst `garp_master_delay` (here the global
//! `vrrp_garp_master_delay`) later, then refreshes every `garp_master_refresh`
//! with `garp_master_refresh_repeat` (instance level) messages each.
//!
//! lvsd and keepalived run side by side on one bridge, each the only router of
//! its VRID, and tcpdump on the bridge timestamps every ARP. The bursts are
//! told apart by the gaps between them.
//!
//! Also `vrrp_strict` the same way: keepalived's strict non-owner master drops
//! traffic to its VIPs (nftables); lvsd's does not (documented, warned).

mod common;
mod vrrp_netns;

use std::process::{Command, Stdio};
use std::time::Duration;

use vrrp_netns::{logs, wait_for, Lan};

const S: Duration = Duration::from_secs(1);
const REPEAT: usize = 2;
const DELAY: u64 = 2;
const REFRESH: u64 = 3;
const REFRESH_REPEAT: usize = 3;

fn lvsd_ini(net: u8) -> String {
    format!(
        "[global]
control_socket = @SOCK@
vrrp_garp_master_delay = {DELAY}

[vrrp_instance VI_1]
state = BACKUP
interface = eth0
virtual_router_id = 71
priority = 100
advert_int = 1
garp_master_repeat = {REPEAT}
garp_master_refresh = {REFRESH}
garp_master_refresh_repeat = {REFRESH_REPEAT}
virtual_ipaddress = 10.254.{net}.101
"
    )
}

fn keepalived_conf(net: u8) -> String {
    format!(
        "global_defs {{
    router_id keepalived_peer
    vrrp_garp_master_delay {DELAY}
}}
vrrp_instance VI_2 {{
    state BACKUP
    interface eth0
    virtual_router_id 72
    priority 100
    advert_int 1
    garp_master_repeat {REPEAT}
    garp_master_refresh {REFRESH}
    garp_master_refresh_repeat {REFRESH_REPEAT}
    virtual_ipaddress {{
        10.254.{net}.102/32
    }}
}}
"
    )
}

/// Timestamps of the gratuitous ARPs (who-has VIP tell VIP) in tcpdump text.
fn garps(capture: &str, vip: &str) -> Vec<f64> {
    // tcpdump -n: "ARP, Request who-has VIP (ff:ff:ff:ff:ff:ff) tell VIP, length 28".
    let who = format!("who-has {vip} ");
    let tell = format!("tell {vip},");
    capture
        .lines()
        .filter(|l| l.contains(&who) && l.contains(&tell))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// (start relative to the first message, messages) of each burst: messages
/// less than 0.5 s apart belong together.
fn bursts(times: &[f64]) -> Vec<(f64, usize)> {
    let mut out: Vec<(f64, usize)> = Vec::new();
    let mut last = f64::NEG_INFINITY;
    let first = times.first().copied().unwrap_or(0.0);
    for &t in times {
        match out.last_mut() {
            Some((_, n)) if t - last < 0.5 => *n += 1,
            _ => out.push((t - first, 1)),
        }
        last = t;
    }
    out
}

#[test]
fn garp_bursts_match_keepalived() {
    if !common::require_or_skip(vrrp_netns::can_run(), "root and `ip netns` (iproute2)")
        || !common::require_or_skip(
            common::have("keepalived"),
            "keepalived (apt package keepalived)",
        )
        || !common::require_or_skip(common::have("tcpdump"), "tcpdump (apt package tcpdump)")
    {
        return;
    }
    let net = 44;
    let lan = Lan::new("lvga", net, 2);
    let capture = lan.dir.join("br0.arp");
    let mut tcpdump = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lan.br(),
            "tcpdump",
            "-i",
            "br0",
            "-n",
            "-l",
            "-tt",
            "arp",
        ])
        .stdout(std::fs::File::create(&capture).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("tcpdump");
    std::thread::sleep(Duration::from_millis(700));
    let mut lvsd = lan.lvsd(1, &lvsd_ini(net));
    let mut ka = lan.keepalived(2, &keepalived_conf(net));
    let ctx = logs(&[&lvsd, &ka]);
    lvsd.start();
    ka.start();
    let (ours, theirs) = (format!("10.254.{net}.101"), format!("10.254.{net}.102"));
    wait_for(
        "both become master",
        15 * S,
        || {
            ka.has_addr("eth0", &format!("{theirs}/32"))
                && lvsd.has_addr("eth0", &format!("{ours}/32"))
        },
        &ctx,
    );
    // Long enough for the delayed burst and at least two refreshes of both
    // (keepalived refreshes at the first advert after the period).
    std::thread::sleep(Duration::from_secs(10));
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    let text = std::fs::read_to_string(&capture).unwrap_or_default();
    let (l, k) = (bursts(&garps(&text, &ours)), bursts(&garps(&text, &theirs)));
    println!("lvsd bursts (start s, messages): {l:?}");
    println!("keepalived bursts (start s, messages): {k:?}");
    let want = [REPEAT, REPEAT, REFRESH_REPEAT, REFRESH_REPEAT];
    for (name, b) in [("lvsd", &l), ("keepalived", &k)] {
        assert!(
            b.len() >= want.len(),
            "{name}: too few bursts {b:?}\n{text}\n{}",
            ctx()
        );
        let sizes: Vec<usize> = b.iter().take(want.len()).map(|(_, n)| *n).collect();
        assert_eq!(sizes, want, "{name}: messages per burst\n{text}\n{}", ctx());
        let delay = b[1].0;
        assert!(
            (delay - DELAY as f64).abs() < 0.5,
            "{name}: the second burst came {delay:.2} s after the first, not {DELAY} s"
        );
    }
    // lvsd refreshes on its own timer, every REFRESH seconds exactly;
    // keepalived at the first advert after the period (so up to a second later).
    let gap = l[3].0 - l[2].0;
    assert!(
        (gap - REFRESH as f64).abs() < 0.5,
        "lvsd refreshes {gap:.2} s apart, not {REFRESH}"
    );
    let kgap = k[3].0 - k[2].0;
    assert!(
        kgap >= REFRESH as f64 - 0.5 && kgap <= REFRESH as f64 + 1.5,
        "keepalived refreshes {kgap:.2} s apart"
    );
}

/// `vrrp_strict` beside keepalived: each is the strict, non-owner master of
/// its own VRID. keepalived installs nftables rules that drop all traffic to
/// its VIPs while master (Accept_Mode off), so a client's ping to its VIP goes
/// unanswered; lvsd does not (documented, and `lvsd check` warns), so its VIP
/// answers, as a director's virtual services need.
#[test]
fn strict_mode_vip_traffic_beside_keepalived() {
    if !common::require_or_skip(vrrp_netns::can_run(), "root and `ip netns` (iproute2)")
        || !common::require_or_skip(
            common::have("keepalived"),
            "keepalived (apt package keepalived)",
        )
        || !common::require_or_skip(
            common::have("busybox"),
            "busybox (apt package busybox-static)",
        )
    {
        return;
    }
    let net = 45;
    let lan = Lan::new("lvst", net, 3);
    let mut lvsd = lan.lvsd(
        1,
        &format!(
            "[global]
control_socket = @SOCK@
vrrp_strict = yes

[vrrp_instance VI_1]
state = BACKUP
interface = eth0
virtual_router_id = 73
priority = 100
version = 3
virtual_ipaddress = 10.254.{net}.101
"
        ),
    );
    let mut ka = lan.keepalived(
        2,
        &format!(
            "global_defs {{
    router_id keepalived_peer
    vrrp_strict
}}
vrrp_instance VI_2 {{
    state BACKUP
    interface eth0
    virtual_router_id 74
    priority 100
    version 3
    virtual_ipaddress {{
        10.254.{net}.102/32
    }}
}}
"
        ),
    );
    let ctx = logs(&[&lvsd, &ka]);
    lvsd.start();
    ka.start();
    wait_for(
        "both become master",
        15 * S,
        || {
            ka.has_addr("eth0", &format!("10.254.{net}.102/32"))
                && lvsd.has_addr("eth0", &format!("10.254.{net}.101/32"))
        },
        &ctx,
    );
    // Any reply within 3 s counts (the first one may wait for ARP).
    let ping = |ip: &str| {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &lan.d(3),
                "busybox",
                "ping",
                "-c",
                "3",
                "-W",
                "3",
                ip,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(
        ping(&format!("10.254.{net}.101")),
        "lvsd's strict master VIP must answer\n{}",
        ctx()
    );
    assert!(
        !ping(&format!("10.254.{net}.102")),
        "keepalived's strict master VIP answered: keepalived no longer drops VIP traffic in strict mode?\n{}",
        ctx()
    );
    // keepalived answers on its own address: only the VIP is blocked.
    assert!(ping(&format!("10.254.{net}.2")), "{}", ctx());
}
