//! Root-only: `use_vmac` in network namespaces. Directors on a bridge, a third
//! namespace as the client. Shows the VMAC link (private macvlan, MAC
//! 00:00:5e:00:01:VRID, keepalived's name), the VIP on it, adverts leaving with
//! the virtual MAC as Ethernet source (tcpdump -e on the bridge port), the client
//! reaching the VIP at that MAC before and after a failover, the settings made
//! and undone, reuse of an existing VMAC, `vmac_xmit_base`, and the same
//! configuration run by keepalived 2.2.7 beside lvsd, failing over both ways.

mod common;
mod vrrp_netns;

use std::process::Command;
use std::time::Duration;

use vrrp_netns::{holds_for, logs, wait_for, Director, Lan};

const S: Duration = Duration::from_secs(1);

fn skip() -> bool {
    !common::require_or_skip(vrrp_netns::can_run(), "root and `ip netns` (iproute2)")
        || !common::require_or_skip(common::have("tcpdump"), "tcpdump (apt package tcpdump)")
        || !common::require_or_skip(
            common::have("busybox"),
            "busybox (apt package busybox-static)",
        )
}

fn have_keepalived() -> bool {
    Command::new("keepalived")
        .arg("--version")
        .output()
        .map(|o| o.status.success() || !o.stderr.is_empty())
        .unwrap_or(false)
}

fn out(args: &[&str]) -> String {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `ip -d link show DEV` in `ns` (empty when it does not exist).
fn link(ns: &str, dev: &str) -> String {
    let o = Command::new("ip")
        .args(["-n", ns, "-d", "link", "show", "dev", dev])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn sysctl(ns: &str, key: &str) -> String {
    out(&["ip", "netns", "exec", ns, "sysctl", "-n", key])
        .trim()
        .to_owned()
}

/// Ethernet headers of `count` VRRP packets seen on bridge port `port`.
fn capture(br: &str, port: &str, count: u32) -> String {
    out(&[
        "ip",
        "netns",
        "exec",
        br,
        "timeout",
        "6",
        "tcpdump",
        "-e",
        "-n",
        "-l",
        "-c",
        &count.to_string(),
        "-i",
        port,
        "ip proto 112",
    ])
}

fn lvsd_ini(priority: u8, net: u8, extra: &str) -> String {
    format!(
        "[global]
control_socket = @SOCK@

[vrrp_instance VI_1]
state = BACKUP
interface = eth0
virtual_router_id = 51
priority = {priority}
advert_int = 1
auth_type = PASS
auth_pass = vm4c
use_vmac
{extra}
virtual_ipaddress = 10.254.{net}.100/32
"
    )
}

fn keepalived_conf(priority: u8, net: u8) -> String {
    format!(
        "global_defs {{
    router_id ka_vmac
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass vm4c
    }}
    use_vmac
    virtual_ipaddress {{
        10.254.{net}.100/32
    }}
}}
"
    )
}

const VMAC: &str = "00:00:5e:00:01:33";

fn assert_vmac(d: &Director, ctx: &dyn Fn() -> String) {
    let l = link(&d.ns, "vrrp.51");
    assert!(l.contains(&format!("link/ether {VMAC}")), "{l}\n{}", ctx());
    assert!(l.contains("macvlan mode private"), "{l}\n{}", ctx());
    assert!(l.contains("@eth0"), "not on eth0: {l}\n{}", ctx());
}

fn ping(ns: &str, addr: &str) -> bool {
    Command::new("ip")
        .args([
            "netns", "exec", ns, "busybox", "ping", "-c", "1", "-W", "1", addr,
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The client (namespace 3) reaches the VIP, and the ARP answer for it is the VMAC.
fn client_reaches(lan: &Lan, vip: &str) -> bool {
    let c = lan.d(3);
    // The directors learn the client first: otherwise the master's own ARP
    // request for it leaves eth0 with the VIP as sender (arp_announce 0, the
    // same with keepalived) and the client's cache would show eth0's MAC.
    for i in 1..=2 {
        ping(&c, &format!("10.254.{}.{i}", lan.net));
    }
    let _ = Command::new("ip")
        .args(["-n", &c, "neigh", "flush", "to", vip])
        .status();
    ping(&c, vip) && out(&["ip", "-n", &c, "neigh", "show", vip]).contains(VMAC)
}

#[test]
fn lvsd_pair_with_vmac_fails_over() {
    if skip() {
        return;
    }
    let net = 70;
    let lan = Lan::new("lvvm1", net, 3);
    let vip = format!("10.254.{net}.100");
    let vip32 = format!("{vip}/32");
    // Director 1 had rp_filter on everywhere, as many distributions ship.
    common::sh(&format!(
        "ip netns exec {d} sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=0",
        d = lan.d(1)
    ));
    let mut d1 = lan.lvsd(1, &lvsd_ini(100, net, ""));
    let mut d2 = lan.lvsd(2, &lvsd_ini(90, net, ""));
    let ctx = logs(&[&d1, &d2]);
    d2.start();
    d1.start();
    wait_for(
        "d1 holds the VIP on its VMAC",
        15 * S,
        || d1.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    assert_vmac(&d1, &ctx);
    assert_vmac(&d2, &ctx);
    assert!(!d1.has_addr("eth0", &vip32), "{}", ctx());
    holds_for(
        "d2 stays backup",
        3 * S,
        || !d2.has_addr("vrrp.51", &vip32) && d1.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    // keepalived's settings: VMAC and its lower device, rp_filter moved off `all`.
    let d = lan.d(1);
    for (key, want) in [
        ("net.ipv4.conf.vrrp/51.arp_ignore", "1"),
        ("net.ipv4.conf.vrrp/51.accept_local", "1"),
        ("net.ipv4.conf.vrrp/51.rp_filter", "0"),
        ("net.ipv4.conf.vrrp/51.promote_secondaries", "1"),
        ("net.ipv6.conf.vrrp/51.disable_ipv6", "1"),
        ("net.ipv4.conf.eth0.arp_ignore", "1"),
        ("net.ipv4.conf.eth0.arp_filter", "1"),
        ("net.ipv4.conf.eth0.rp_filter", "1"),
        ("net.ipv4.conf.all.rp_filter", "0"),
        ("net.ipv4.conf.default.rp_filter", "1"),
    ] {
        assert_eq!(sysctl(&d, key), want, "{key}\n{}", ctx());
    }
    // Adverts leave with the virtual MAC as Ethernet source.
    let seen = capture(&lan.br(), "p1", 2);
    assert!(
        seen.contains(&format!("{VMAC} > 01:00:5e:00:00:12")),
        "adverts of d1 on the bridge:\n{seen}\n{}",
        ctx()
    );
    assert!(
        seen.contains(&format!("10.254.{net}.1 > 224.0.0.18")),
        "{seen}"
    );
    wait_for(
        "the client reaches the VIP at the VMAC",
        5 * S,
        || client_reaches(&lan, &vip),
        &ctx,
    );
    // Stop: priority 0, the backup takes over on its own VMAC; d1's VMAC is gone
    // and its settings are back.
    d1.signal("-TERM");
    wait_for(
        "d2 takes over",
        5 * S,
        || d2.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    assert_eq!(link(&d, "vrrp.51"), "", "{}", ctx());
    for (key, want) in [
        ("net.ipv4.conf.eth0.arp_ignore", "0"),
        ("net.ipv4.conf.eth0.arp_filter", "0"),
        ("net.ipv4.conf.eth0.rp_filter", "0"),
        ("net.ipv4.conf.all.rp_filter", "1"),
    ] {
        assert_eq!(sysctl(&d, key), want, "{key} after stop\n{}", ctx());
    }
    // The same MAC answers: the client needs no new ARP entry.
    wait_for(
        "the client reaches the VIP on d2",
        5 * S,
        || client_reaches(&lan, &vip),
        &ctx,
    );
    let seen = capture(&lan.br(), "p2", 1);
    assert!(
        seen.contains(&format!("{VMAC} > 01:00:5e:00:00:12")),
        "{seen}"
    );
    // A VMAC made by hand with the right MAC and mode (another name) is reused.
    common::sh(&format!(
        "ip -n {d} link add link eth0 name vmx51 address {VMAC} type macvlan mode private"
    ));
    let index = out(&["ip", "-n", &d, "-o", "link", "show", "vmx51"]);
    d1.start();
    wait_for(
        "d1 preempts back on the reused VMAC",
        15 * S,
        || d1.has_addr("vmx51", &vip32) && !d2.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    assert!(
        d1.logs().contains("reusing VMAC vmx51 on eth0"),
        "{}",
        ctx()
    );
    assert_eq!(
        index.split(':').next(),
        out(&["ip", "-n", &d, "-o", "link", "show", "vmx51"])
            .split(':')
            .next(),
        "the same link"
    );
    assert_eq!(link(&d, "vrrp.51"), "", "no second VMAC\n{}", ctx());
    // The VMAC deleted by hand is made again at once, with the same name and
    // MAC (keepalived's recreate_vmac_thread), and the master holds its VIP there.
    common::sh(&format!("ip -n {d} link del vmx51"));
    wait_for(
        "d1 makes the VMAC again",
        5 * S,
        || d1.logs().contains("VMAC vmx51 was deleted; made it again"),
        &ctx,
    );
    let l = link(&d, "vmx51");
    assert!(
        l.contains(&format!("link/ether {VMAC}")) && l.contains("macvlan mode private"),
        "{l}\n{}",
        ctx()
    );
    wait_for(
        "d1 holds the VIP on the new VMAC",
        10 * S,
        || d1.has_addr("vmx51", &vip32) && !d2.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    holds_for(
        "d1 stays master on the new VMAC (its adverts reach d2)",
        3 * S,
        || d1.has_addr("vmx51", &vip32) && !d2.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    wait_for(
        "the client reaches the VIP on the new VMAC",
        5 * S,
        || client_reaches(&lan, &vip),
        &ctx,
    );
    d1.signal("-TERM");
    assert!(d1.logs().contains("removed VMAC vmx51"), "{}", ctx());
    assert_eq!(link(&d, "vmx51"), "", "{}", ctx());
    d2.signal("-TERM");
    assert_eq!(link(&lan.d(2), "vrrp.51"), "", "{}", ctx());
}

#[test]
fn vmac_xmit_base_sends_from_the_interface() {
    if skip() {
        return;
    }
    let net = 71;
    let lan = Lan::new("lvvm2", net, 3);
    let vip32 = format!("10.254.{net}.100/32");
    // Excluded addresses: the IPv4 one joins the VIP on the VMAC, the IPv6 one
    // stays on eth0 (keepalived's rule), and IPv6 stays on for the VMAC.
    let extra = format!(
        "vmac_xmit_base = yes
virtual_ipaddress_excluded = 10.254.{net}.101/32
virtual_ipaddress_excluded = 2001:db8:{net}::101/128"
    );
    let mut d1 = lan.lvsd(1, &lvsd_ini(100, net, &extra));
    let ctx = logs(&[&d1]);
    d1.start();
    wait_for(
        "d1 holds the VIP on its VMAC",
        10 * S,
        || d1.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    assert_vmac(&d1, &ctx);
    wait_for(
        "the excluded addresses are held",
        3 * S,
        || {
            d1.has_addr("vrrp.51", &format!("10.254.{net}.101/32"))
                && d1.has_addr("eth0", &format!("2001:db8:{net}::101/128"))
        },
        &ctx,
    );
    assert_eq!(
        sysctl(&lan.d(1), "net.ipv6.conf.vrrp/51.disable_ipv6"),
        "0",
        "{}",
        ctx()
    );
    let eth0 = link(&lan.d(1), "eth0");
    let mac = eth0
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap()
        .to_owned();
    let seen = capture(&lan.br(), "p1", 2);
    assert!(
        seen.contains(&format!("{mac} > 01:00:5e:00:00:12")) && !seen.contains(VMAC),
        "adverts must leave from eth0 ({mac}):\n{seen}\n{}",
        ctx()
    );
    wait_for(
        "the client reaches the VIP at the VMAC",
        5 * S,
        || client_reaches(&lan, &format!("10.254.{net}.100")),
        &ctx,
    );
    d1.signal("-TERM");
    assert_eq!(link(&lan.d(1), "vrrp.51"), "", "{}", ctx());
    assert!(
        !d1.has_addr("eth0", &format!("2001:db8:{net}::101/128")),
        "{}",
        ctx()
    );
}

/// lvsd beside keepalived 2.2.7, both with `use_vmac`: the same VMAC on each
/// side, each hears the other, and the VIP moves both ways.
fn beside_keepalived(prefix: &str, net: u8, lvsd_is_master: bool) {
    if skip() || !common::require_or_skip(have_keepalived(), "keepalived (apt package keepalived)")
    {
        return;
    }
    let lan = Lan::new(prefix, net, 3);
    let vip = format!("10.254.{net}.100");
    let vip32 = format!("{vip}/32");
    let (lp, kp) = if lvsd_is_master { (100, 90) } else { (90, 100) };
    let mut lvsd = lan.lvsd(1, &lvsd_ini(lp, net, ""));
    let mut ka = lan.keepalived(2, &keepalived_conf(kp, net));
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
        "the higher priority holds the VIP on its VMAC",
        15 * S,
        || master.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    holds_for(
        "the other stays backup",
        3 * S,
        || !backup.has_addr("vrrp.51", &vip32) && master.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    assert_vmac(master, &ctx);
    assert_vmac(backup, &ctx);
    let port = if lvsd_is_master { "p1" } else { "p2" };
    let seen = capture(&lan.br(), port, 2);
    assert!(
        seen.contains(&format!("{VMAC} > 01:00:5e:00:00:12")),
        "{seen}\n{}",
        ctx()
    );
    wait_for(
        "the client reaches the VIP",
        5 * S,
        || client_reaches(&lan, &vip),
        &ctx,
    );
    master.signal("-TERM");
    wait_for(
        "the backup takes over",
        5 * S,
        || backup.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    wait_for(
        "the client reaches the VIP on the other side",
        5 * S,
        || client_reaches(&lan, &vip),
        &ctx,
    );
    // Both remove their VMAC at stop.
    let master_ns = master.ns.clone();
    wait_for(
        "the stopped side's VMAC is gone",
        3 * S,
        || link(&master_ns, "vrrp.51").is_empty(),
        &ctx,
    );
    master.start();
    wait_for(
        "the restarted master preempts back",
        15 * S,
        || master.has_addr("vrrp.51", &vip32) && !backup.has_addr("vrrp.51", &vip32),
        &ctx,
    );
    let st = lvsd.status();
    assert!(
        !st.contains("received 0") && !st.contains("dropped"),
        "lvsd must hear keepalived's adverts on its VMAC:\n{st}\n{}",
        ctx()
    );
    let klog = ka.logs();
    assert!(
        klog.contains("Entering MASTER STATE") && klog.contains("Entering BACKUP STATE"),
        "{}",
        ctx()
    );
    assert!(
        !klog.to_ascii_lowercase().contains("invalid")
            && !klog.to_ascii_lowercase().contains("mismatch"),
        "keepalived complained:\n{klog}"
    );
}

#[test]
fn vmac_lvsd_master_keepalived_backup() {
    beside_keepalived("lvvm3", 72, true);
}

#[test]
fn vmac_keepalived_master_lvsd_backup() {
    beside_keepalived("lvvm4", 73, false);
}

/// IPv6 (VRRPv3): the VMAC has 00:00:5e:00:02:VRID, the interface's link-local
/// address (adverts leave from it, to ff02::12 at 33:33:00:00:00:12), no
/// address of its own making, and the VIP moves between two lvsd and back
/// from keepalived with the same configuration.
#[test]
fn ipv6_vmac_fails_over() {
    if skip() {
        return;
    }
    let net = 74;
    let lan = Lan::new("lvvm6", net, 3);
    let vip = format!("2001:db8:{net}::100/128");
    let ini = |priority: u8| {
        format!(
            "[global]
control_socket = @SOCK@

[vrrp_instance VI_6]
state = BACKUP
interface = eth0
virtual_router_id = 51
priority = {priority}
version = 3
advert_int = 0.5
use_vmac
virtual_ipaddress = {vip}
"
        )
    };
    let mut d1 = lan.lvsd(1, &ini(100));
    let mut d2 = lan.lvsd(2, &ini(90));
    let ctx = logs(&[&d1, &d2]);
    d2.start();
    d1.start();
    wait_for(
        "d1 holds the IPv6 VIP on its VMAC",
        15 * S,
        || d1.has_addr("vrrp.51", &vip),
        &ctx,
    );
    let l = link(&lan.d(1), "vrrp.51");
    assert!(
        l.contains("link/ether 00:00:5e:00:02:33") && l.contains("macvlan mode private"),
        "{l}\n{}",
        ctx()
    );
    assert!(l.contains("addrgenmode none"), "{l}");
    let eth0 = out(&[
        "ip",
        "-n",
        &lan.d(1),
        "-6",
        "-o",
        "addr",
        "show",
        "dev",
        "eth0",
    ]);
    let ll = eth0
        .split_whitespace()
        .find(|w| w.starts_with("fe80::"))
        .unwrap()
        .to_owned();
    assert!(d1.has_addr("vrrp.51", &ll), "{}", ctx());
    let v6 = out(&[
        "ip",
        "-n",
        &lan.d(1),
        "-6",
        "-o",
        "addr",
        "show",
        "dev",
        "vrrp.51",
    ]);
    assert_eq!(v6.lines().count(), 2, "only the VIP and {ll}:\n{v6}");
    let seen = out(&[
        "ip",
        "netns",
        "exec",
        &lan.br(),
        "timeout",
        "6",
        "tcpdump",
        "-e",
        "-n",
        "-l",
        "-c",
        "2",
        "-i",
        "p1",
        "ip6 proto 112",
    ]);
    assert!(
        seen.contains("00:00:5e:00:02:33 > 33:33:00:00:00:12"),
        "{seen}\n{}",
        ctx()
    );
    holds_for(
        "d2 stays backup",
        2 * S,
        || !d2.has_addr("vrrp.51", &vip),
        &ctx,
    );
    d1.signal("-TERM");
    wait_for(
        "d2 takes over",
        5 * S,
        || d2.has_addr("vrrp.51", &vip),
        &ctx,
    );
    assert_eq!(link(&lan.d(1), "vrrp.51"), "", "{}", ctx());
    // keepalived with the same configuration in d1's place preempts back.
    if !common::require_or_skip(have_keepalived(), "keepalived (apt package keepalived)") {
        return;
    }
    let mut k1 = lan.keepalived(
        1,
        &format!(
            "vrrp_instance VI_6 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    version 3
    advert_int 0.5
    use_vmac
    virtual_ipaddress {{
        {vip}
    }}
}}
"
        ),
    );
    let ctx = logs(&[&k1, &d2]);
    k1.start();
    wait_for(
        "keepalived preempts lvsd",
        15 * S,
        || k1.has_addr("vrrp.51", &vip) && !d2.has_addr("vrrp.51", &vip),
        &ctx,
    );
    k1.signal("-TERM");
    wait_for(
        "lvsd takes over from keepalived",
        5 * S,
        || d2.has_addr("vrrp.51", &vip),
        &ctx,
    );
    let st = d2.status();
    assert!(!st.contains("dropped"), "{st}\n{}", ctx());
}
