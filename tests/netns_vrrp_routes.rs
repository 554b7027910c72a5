//! Root-only: `virtual_routes`, `virtual_rules`, `static_routes`,
//! `static_rules` and `static_ipaddress` reach the kernel. Directors 1 and 2
//! run lvsd as a pair (1 wins); director 3 runs Debian's keepalived 2.2.7
//! alone with the same lines. `ip route show table all` and `ip rule` are
//! read back: after start (statics everywhere, virtual ones on the masters
//! only, lvsd's master equal to keepalived's), after a route, a rule and an
//! address are deleted by hand (put back), after failover (the routes move to
//! director 2) and after stop (everything lvsd or keepalived added is gone).

mod common;
mod vrrp_netns;

use std::process::Command;
use std::time::Duration;

use vrrp_netns::{logs, wait_for, Director, Lan};

const S: Duration = Duration::from_secs(1);
const NET: u8 = 77;

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

const STATIC_ROUTES: &[&str] = &[
    "10.200.1.0/24 via 10.254.77.254 dev eth0",
    "blackhole 10.200.2.0/24 table 100",
    "10.200.4.0/24 dev eth1 scope link metric 20",
    "2001:db8:200::/48 dev eth1 metric 10",
];
const STATIC_RULES: &[&str] = &[
    "from 10.200.3.0/24 table 100 preference 1000",
    "from 2001:db8:300::/48 table 100 preference 1003",
];
const STATIC_ADDRESSES: &[&str] = &["192.0.2.10/32 dev eth1"];
const VIRTUAL_ROUTES: &[&str] = &[
    "10.201.0.0/16 via 10.254.77.254 dev eth0 table 101",
    "10.202.0.0/16 dev eth0 metric 5",
    "src 10.254.77.100 10.203.0.0/16 via 10.254.77.254 dev eth0",
    "unreachable 10.204.0.0/16 table 101",
    // The kernel refuses this one (no route to the gateway): lvsd and
    // keepalived both log it and go on.
    "10.205.0.0/16 via 10.9.9.9 dev eth0",
    "10.206.0.0/16 nexthop via 10.254.77.253 dev eth0 weight 2 nexthop via 10.254.77.254 dev eth0",
    "10.207.0.0/16 via 10.254.77.252 or 10.254.77.251",
    "2001:db8:201::/48 via fe80::1 dev eth0 table 101",
];
const VIRTUAL_RULES: &[&str] = &[
    "to 10.201.0.0/16 table 101 preference 1001",
    "fwmark 0x10/0xff table 101 preference 1002",
];

fn lvsd_ini(priority: u8) -> String {
    let mut s = "[global]\ncontrol_socket = @SOCK@\n".to_string();
    for (key, lines) in [
        ("static_routes", STATIC_ROUTES),
        ("static_rules", STATIC_RULES),
        ("static_ipaddress", STATIC_ADDRESSES),
    ] {
        for l in lines {
            s += &format!("{key} = {l}\n");
        }
    }
    s += &format!(
        "\n[vrrp_instance VI_1]\ninterface = eth0\nvirtual_router_id = 81\npriority = {priority}\n\
         advert_int = 1\nvirtual_ipaddress = 10.254.{NET}.100/32\n"
    );
    for l in VIRTUAL_ROUTES {
        s += &format!("virtual_routes = {l}\n");
    }
    for l in VIRTUAL_RULES {
        s += &format!("virtual_rules = {l}\n");
    }
    s
}

fn keepalived_conf() -> String {
    let block =
        |name: &str, lines: &[&str]| format!("{name} {{\n    {}\n}}\n", lines.join("\n    "));
    format!(
        "global_defs {{\n    router_id ka\n}}\n{}{}{}vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n\
         virtual_router_id 82\n    priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        10.254.{NET}.100/32\n    }}\n\
         {}{}}}\n",
        block("static_routes", STATIC_ROUTES),
        block("static_rules", STATIC_RULES),
        block("static_ipaddress", STATIC_ADDRESSES),
        block("virtual_routes", VIRTUAL_ROUTES),
        block("virtual_rules", VIRTUAL_RULES),
    )
}

/// `ip route show table all` lines of routes marked as keepalived's, and
/// `ip rule` lines with a preference between 1000 and 1099, normalized.
fn routing(d: &Director) -> Vec<String> {
    let run = |args: &[&str]| {
        let out = Command::new("ip")
            .args(["-n", &d.ns])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let words = |kind: &str, l: &str| {
        format!(
            "{kind} {}",
            l.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    };
    let mut lines: Vec<String> = Vec::new();
    for family in ["-4", "-6"] {
        // A multipath route continues on indented `nexthop` lines.
        let routes = run(&[family, "route", "show", "table", "all"]).replace("\n\t", " ");
        lines.extend(
            routes
                .lines()
                .filter(|l| l.contains("proto keepalived"))
                .map(|l| words("route", l)),
        );
        lines.extend(
            run(&[family, "rule", "show"])
                .lines()
                .filter(|l| {
                    l.split_once(':')
                        .and_then(|(p, _)| p.parse::<u32>().ok())
                        .is_some_and(|p| (1000..1100).contains(&p))
                })
                .map(|l| words("rule", l)),
        );
    }
    lines.sort();
    lines
}

fn has(lines: &[String], want: &str) -> bool {
    lines.iter().any(|l| l.contains(want))
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
fn routes_and_rules_follow_the_master_like_keepalived() {
    if !can_run("routes_and_rules_follow_the_master_like_keepalived") {
        return;
    }
    let lan = Lan::new("lvrt", NET, 3);
    for i in 1..=3 {
        add_eth1(&lan, i);
    }
    let mut d1 = lan.lvsd(1, &lvsd_ini(150));
    let mut d2 = lan.lvsd(2, &lvsd_ini(100));
    let mut ka = lan.keepalived(3, &keepalived_conf());
    let ctx = logs(&[&d1, &d2, &ka]);
    // What a crashed earlier run left on director 2: removed at start (an
    // instance entering BACKUP removes its VIPs, routes and rules), as
    // keepalived does.
    common::sh(&format!(
        "ip -n {b} route add 10.201.0.0/16 via 10.254.77.254 dev eth0 table 101 proto keepalived
         ip -n {b} rule add to 10.201.0.0/16 table 101 pref 1001 proto keepalived",
        b = d2.ns
    ));
    d1.start();
    std::thread::sleep(Duration::from_millis(300));
    d2.start();
    ka.start();
    let vip = format!("10.254.{NET}.100/32");
    wait_for(
        "director 1 and keepalived become master",
        15 * S,
        || {
            d1.has_addr("eth0", &vip)
                && ka.has_addr("eth0", &vip)
                && has(&routing(&d1), "10.204.0.0/16")
                && has(&routing(&ka), "10.204.0.0/16")
        },
        &ctx,
    );
    std::thread::sleep(Duration::from_millis(500));

    // After start: lvsd's master holds what keepalived's holds.
    let ours = routing(&d1);
    let theirs = routing(&ka);
    println!("lvsd master:\n  {}", ours.join("\n  "));
    println!("keepalived master:\n  {}", theirs.join("\n  "));
    assert_eq!(ours.len(), 15, "{ours:#?}\n{}", ctx());
    assert_eq!(ours, theirs, "\n{}", ctx());
    for want in [
        "route 10.201.0.0/16 via 10.254.77.254 dev eth0 table 101 proto keepalived",
        "route unreachable 10.204.0.0/16 table 101 proto keepalived",
        "route 10.203.0.0/16 via 10.254.77.254 dev eth0 proto keepalived src 10.254.77.100",
        "route blackhole 10.200.2.0/24 table 100 proto keepalived",
        "route 10.200.4.0/24 dev eth1 proto keepalived scope link metric 20",
        "rule 1000: from 10.200.3.0/24 lookup 100 proto keepalived",
        "rule 1002: from all fwmark 0x10/0xff lookup 101 proto keepalived",
    ] {
        assert!(has(&ours, want), "missing `{want}` in {ours:#?}");
    }
    assert!(d1.has_addr("eth1", "192.0.2.10/32"), "{}", ctx());
    // The refusal names the route and its instance.
    assert!(
        d1.logs()
            .contains("vrrp_instance VI_1: adding route `10.205.0.0/16 via 10.9.9.9 dev eth0`: "),
        "{}",
        ctx()
    );

    // The backup holds the statics only.
    let backup = routing(&d2);
    assert_eq!(backup.len(), 6, "backup: {backup:#?}\n{}", ctx());
    assert!(!has(&backup, "10.201.0.0/16"), "{backup:#?}");
    assert!(d2.has_addr("eth1", "192.0.2.10/32"), "{}", ctx());

    // Deleted by hand: put back (static ones on both, virtual ones on the master).
    common::sh(&format!(
        "ip -n {m} route del 10.201.0.0/16 table 101
         ip -n {m} rule del preference 1001
         ip -n {b} route del 10.200.1.0/24
         ip -n {b} rule del preference 1000
         ip -n {b} addr del 192.0.2.10/32 dev eth1
         ip -n {b} -6 route del 2001:db8:200::/48 dev eth1
         ip -n {b} -6 rule del preference 1003",
        m = d1.ns,
        b = d2.ns
    ));
    let back =
        || routing(&d1) == ours && routing(&d2) == backup && d2.has_addr("eth1", "192.0.2.10/32");
    let deadline = std::time::Instant::now() + 3 * S;
    while !back() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(routing(&d1), ours, "master after deletions\n{}", ctx());
    assert_eq!(routing(&d2), backup, "backup after deletions\n{}", ctx());
    assert!(d2.has_addr("eth1", "192.0.2.10/32"), "{}", ctx());
    // `lvsd status` counts the repairs and the kernel's refusal.
    let status = d1.status();
    assert!(
        status.contains("virtual 8 route(s) 2 rule(s) held; put back 2; refused by the kernel 1"),
        "{status}"
    );
    assert!(
        d2.status().contains("routes: static 4 route(s) 2 rule(s) 1 address(es) installed; virtual 0 route(s) 0 rule(s) held; put back 5;"),
        "{}",
        d2.status()
    );

    // An interface down flushes its IPv4 routes without a notification; up
    // again, lvsd adds them back.
    common::sh(&format!(
        "ip -n {b} link set eth1 down
         ip -n {b} link set eth1 up",
        b = d2.ns
    ));
    wait_for(
        "the static route through eth1 comes back with the link",
        3 * S,
        || routing(&d2) == backup,
        &ctx,
    );

    // Failover: director 1 stops and takes everything it added with it.
    d1.signal("-TERM");
    let left = routing(&d1);
    assert!(
        left.is_empty(),
        "left by lvsd after stop: {left:#?}\n{}",
        ctx()
    );
    assert!(!d1.has_addr("eth1", "192.0.2.10/32"), "{}", ctx());
    wait_for(
        "director 2 takes over the virtual routes and rules",
        10 * S,
        || routing(&d2).len() == 15 && d2.has_addr("eth0", &vip),
        &ctx,
    );
    let mut moved = routing(&d2);
    moved.sort();
    assert_eq!(moved, ours, "\n{}", ctx());

    // keepalived's stop removes the same things.
    ka.signal("-TERM");
    let left = routing(&ka);
    assert!(left.is_empty(), "left by keepalived after stop: {left:#?}");
    d2.signal("-TERM");
    let left = routing(&d2);
    assert!(
        left.is_empty(),
        "left by lvsd after stop: {left:#?}\n{}",
        ctx()
    );
}
