//! Root-only: forged VRRP adverts against a lvsd director in network
//! namespaces (issue 10, findings 1 and 2), with keepalived 2.2.7 beside it
//! where its behaviour is observable.
//!
//! The forger is a raw socket opened inside a director's namespace
//! (`lvsd::io::netns::run_in`); adverts are built with the real wire code, so
//! only the field under test (destination, TTL, source, priority) is wrong.

mod common;
mod vrrp_netns;

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::process::Command;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use lvsd::wire::vrrp::{AddressList, Auth, Repr, Version, MULTICAST_V4};
use vrrp_netns::{holds_for, logs, wait_for, Director, Lan};

const S: Duration = Duration::from_secs(1);

/// Skips outside CI when netns cannot be used; fails in CI (env CI=true).
fn can_run(what: &str) -> bool {
    common::require_or_skip(
        vrrp_netns::can_run(),
        &format!("root and `ip netns` (iproute2) for {what}"),
    )
}

fn have_keepalived() -> bool {
    Command::new("keepalived")
        .arg("--version")
        .output()
        .map(|o| o.status.success() || !o.stderr.is_empty())
        .unwrap_or(false)
}

fn v4(net: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 254, net, host)
}

/// A raw VRRP socket inside namespace `ns`, sending from `src` with this TTL.
struct Forger {
    socket: Socket,
    src: Ipv4Addr,
}

impl Forger {
    fn new(ns: &str, src: Ipv4Addr, ttl: u32) -> Forger {
        let socket = lvsd::io::netns::run_in(ns, || {
            let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112)))?;
            s.bind_device(Some(b"eth0"))?;
            s.set_ttl_v4(ttl)?;
            s.set_multicast_ttl_v4(ttl)?;
            s.set_multicast_loop_v4(false)?;
            s.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))?;
            // Room for a whole burst in the send queue.
            s.set_send_buffer_size(4 << 20)?;
            Ok::<Socket, std::io::Error>(s)
        })
        .expect("enter the namespace")
        .expect("raw VRRP socket");
        Forger { socket, src }
    }

    /// A VRRPv3 advert for VRID `vrid` carrying `vip`, checksummed for `dst`.
    fn v3(&self, vrid: u8, priority: u8, vip: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let vips = [IpAddr::V4(vip)];
        let repr = Repr {
            version: Version::V3,
            vrid,
            priority,
            advert_interval_cs: 100,
            auth: Auth::None,
            addresses: AddressList::Slice(&vips),
        };
        let mut buf = [0u8; 64];
        let len = repr
            .emit(&mut buf, IpAddr::V4(self.src), IpAddr::V4(dst))
            .unwrap();
        buf[..len].to_vec()
    }

    /// Sends each packet to `dst`, back to back.
    fn send(&self, dst: Ipv4Addr, packets: &[Vec<u8>]) {
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        for p in packets {
            self.socket.send_to(p, &to).expect("send forged advert");
        }
    }
}

/// The state word of instance VI_1 in `lvsd status` ("MASTER", "BACKUP", ...).
fn state_of(status: &str) -> Option<String> {
    let line = status
        .lines()
        .find(|l| l.starts_with("vrrp_instance VI_1 "))?;
    let (_, rest) = line.split_once(": ")?;
    rest.split_whitespace().next().map(str::to_owned)
}

/// The count of drop reason `reason` on VI_1's "dropped:" line (0 when absent).
fn dropped(status: &str, reason: &str) -> u64 {
    let mut in_vi1 = false;
    for l in status.lines() {
        if l.starts_with("vrrp_instance ") {
            in_vi1 = l.starts_with("vrrp_instance VI_1 ");
        } else if in_vi1 && l.trim_start().starts_with("dropped:") {
            for word in l.split_whitespace() {
                if let Some(n) = word.strip_prefix(&format!("{reason}=")) {
                    return n.parse().unwrap_or(0);
                }
            }
        }
    }
    0
}

fn lvsd_ini(net: u8, priority: u8, extra: &str) -> String {
    format!(
        "[global]
control_socket = @SOCK@

[vrrp_instance VI_1]
state = MASTER
interface = eth0
virtual_router_id = 51
priority = {priority}
version = 3
advert_int = 1
virtual_ipaddress = 10.254.{net}.100
{extra}
"
    )
}

fn keepalived_conf(net: u8, priority: u8, extra: &str) -> String {
    format!(
        "global_defs {{
    router_id forged_target
}}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 51
    priority {priority}
    version 3
    advert_int 1
    virtual_ipaddress {{
        10.254.{net}.100/32
    }}
{extra}
}}
"
    )
}

/// Starts `d` and waits until it holds the VIP.
fn start_master(d: &mut Director, vip32: &str, ctx: &dyn Fn() -> String) {
    d.start();
    wait_for(
        "the director becomes master and holds the VIP",
        10 * S,
        || d.has_addr("eth0", vip32),
        ctx,
    );
}

/// Finding 1: a multicast instance must ignore adverts sent to its own
/// unicast address, whatever their TTL (RFC 5798 section 7.1: TTL 255 and
/// the group only). keepalived 2.2.7 ignores them too; it runs beside lvsd
/// on the same LAN and gets the same forgeries.
#[test]
fn finding_1_unicast_forgery_does_not_move_a_multicast_master() {
    if !can_run("finding_1") {
        return;
    }
    let net = 30;
    let lan = Lan::new("lvh1", net, 3);
    let vip32 = format!("10.254.{net}.100/32");
    let mut lvsd = lan.lvsd(1, &lvsd_ini(net, 100, ""));
    let ctx = logs(&[&lvsd]);
    start_master(&mut lvsd, &vip32, &ctx);
    let forger = Forger::new(&lan.d(2), v4(net, 2), 64);
    let forger255 = Forger::new(&lan.d(2), v4(net, 2), 255);
    let target = v4(net, 1);
    let vip = v4(net, 100);
    // Priority 200 to the director's own address, TTL 64 and TTL 255, for 3 s.
    let end = Instant::now() + 3 * S;
    let mut sent = 0;
    while Instant::now() < end {
        forger.send(target, &[forger.v3(51, 200, vip, target)]);
        forger255.send(target, &[forger255.v3(51, 200, vip, target)]);
        sent += 2;
        assert!(
            lvsd.has_addr("eth0", &vip32),
            "the forged unicast advert moved the VIP\n{}",
            ctx()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = lvsd.status();
    assert_eq!(state_of(&status).as_deref(), Some("MASTER"), "{}", ctx());
    assert!(
        dropped(&status, "not_to_group") >= sent - 2,
        "the {sent} forgeries must be counted as not_to_group:\n{status}"
    );
    // The same forgery to the group with TTL 64 is a bad_ttl.
    let group = MULTICAST_V4;
    forger.send(group, &[forger.v3(51, 200, vip, group)]);
    wait_for(
        "bad_ttl counted",
        5 * S,
        || dropped(&lvsd.status(), "bad_ttl") >= 1,
        &ctx,
    );
    assert!(lvsd.has_addr("eth0", &vip32), "{}", ctx());

    // keepalived 2.2.7 beside it: the same forgeries leave it master too.
    if !common::require_or_skip(
        have_keepalived(),
        "keepalived for the keepalived half (scripts/deps.sh installs it)",
    ) {
        return;
    }
    drop(lvsd);
    let mut ka = lan.keepalived(3, &keepalived_conf(net, 100, ""));
    let kctx = logs(&[&ka]);
    start_master(&mut ka, &vip32, &kctx);
    let target = v4(net, 3);
    let end = Instant::now() + 3 * S;
    while Instant::now() < end {
        forger.send(target, &[forger.v3(51, 200, vip, target)]);
        forger255.send(target, &[forger255.v3(51, 200, vip, target)]);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        ka.has_addr("eth0", &vip32),
        "keepalived stepped down on a unicast forgery (not what 2.2.7 does)\n{}",
        kctx()
    );
}

/// A unicast instance hears only its peers: a stranger's advert (to its
/// address, TTL 255) and an advert to the group are dropped and counted;
/// the configured peer is heard at any TTL (keepalived 2.2.7 checks no TTL
/// in unicast mode unless a peer has a min_ttl/max_ttl range).
#[test]
fn unicast_instance_hears_only_its_peers() {
    if !can_run("unicast_peers") {
        return;
    }
    let net = 31;
    let lan = Lan::new("lvh2", net, 3);
    let vip32 = format!("10.254.{net}.100/32");
    let extra = format!("unicast_src_ip = 10.254.{net}.1\nunicast_peer = 10.254.{net}.3");
    let mut lvsd = lan.lvsd(1, &lvsd_ini(net, 100, &extra));
    let ctx = logs(&[&lvsd]);
    start_master(&mut lvsd, &vip32, &ctx);
    let target = v4(net, 1);
    let vip = v4(net, 100);
    let stranger = Forger::new(&lan.d(2), v4(net, 2), 255);
    let group = MULTICAST_V4;
    for _ in 0..20 {
        stranger.send(target, &[stranger.v3(51, 200, vip, target)]);
        stranger.send(group, &[stranger.v3(51, 200, vip, group)]);
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = lvsd.status();
    assert_eq!(state_of(&status).as_deref(), Some("MASTER"), "{}", ctx());
    assert!(lvsd.has_addr("eth0", &vip32), "{}", ctx());
    // All 20 of each, but the last may still be in flight.
    assert!(dropped(&status, "not_from_peer") >= 19, "{status}");
    assert!(dropped(&status, "not_unicast") >= 19, "{status}");
    // The peer, with TTL 64 (one router hop): heard, and it wins.
    let peer = Forger::new(&lan.d(3), v4(net, 3), 64);
    peer.send(target, &[peer.v3(51, 200, vip, target)]);
    wait_for(
        "the peer's advert is heard and wins",
        5 * S,
        || !lvsd.has_addr("eth0", &vip32),
        &ctx,
    );
    assert_eq!(state_of(&lvsd.status()).as_deref(), Some("BACKUP"));

    // keepalived 2.2.7 beside it, as the unicast director at .3 with peer .1:
    // it checks the source only with `check_unicast_src`; without it the
    // stranger's advert takes its VIP away (the difference docs/operations.md
    // names), with it the stranger is ignored as lvsd always does.
    if !common::require_or_skip(
        have_keepalived(),
        "keepalived for the keepalived half (scripts/deps.sh installs it)",
    ) {
        return;
    }
    drop(lvsd);
    let target = v4(net, 3);
    for (check_src, steps_down) in [(true, false), (false, true)] {
        let extra = format!(
            "    unicast_src_ip 10.254.{net}.3\n    unicast_peer {{\n        10.254.{net}.1\n    }}\n{}",
            if check_src { "    check_unicast_src\n" } else { "" }
        );
        let mut ka = lan.keepalived(3, &keepalived_conf(net, 100, &extra));
        let kctx = logs(&[&ka]);
        start_master(&mut ka, &vip32, &kctx);
        for _ in 0..10 {
            stranger.send(target, &[stranger.v3(51, 200, vip, target)]);
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            !ka.has_addr("eth0", &vip32),
            steps_down,
            "keepalived check_unicast_src={check_src}\n{}",
            kctx()
        );
        ka.signal("-TERM");
    }
}

/// Samples (status, then `ip addr`) of the director for `span`; panics when a
/// BACKUP answer is followed by a VIP still on the interface. The VIPs go in
/// the same loop turn as the state change, so once status says BACKUP they
/// must be gone.
fn never_backup_with_vip(d: &Director, vip32: &str, span: Duration, ctx: &dyn Fn() -> String) {
    let end = Instant::now() + span;
    let mut samples = 0;
    while Instant::now() < end {
        let state = state_of(&d.status());
        let held = d.has_addr("eth0", vip32);
        samples += 1;
        assert!(
            !(state.as_deref() == Some("BACKUP") && held),
            "state BACKUP while the VIP is still on the interface (sample {samples})\n{}",
            ctx()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Finding 2: 30 lower-priority adverts then one of priority 200, in one go,
/// must leave a BACKUP without the VIP.
#[test]
fn finding_2_burst_of_lower_adverts_then_a_winner() {
    if !can_run("finding_2") {
        return;
    }
    let net = 32;
    let lan = Lan::new("lvh3", net, 3);
    let vip32 = format!("10.254.{net}.100/32");
    let mut lvsd = lan.lvsd(1, &lvsd_ini(net, 100, ""));
    let ctx = logs(&[&lvsd]);
    start_master(&mut lvsd, &vip32, &ctx);
    let forger = Forger::new(&lan.d(2), v4(net, 2), 255);
    let group = MULTICAST_V4;
    let vip = v4(net, 100);
    let mut burst: Vec<Vec<u8>> = (0..30).map(|_| forger.v3(51, 50, vip, group)).collect();
    burst.push(forger.v3(51, 200, vip, group));
    forger.send(group, &burst);
    // The instance steps down: BACKUP and no VIP, never one without the other.
    wait_for(
        "the instance steps down",
        2 * S,
        || state_of(&lvsd.status()).as_deref() == Some("BACKUP"),
        &ctx,
    );
    assert!(
        !lvsd.has_addr("eth0", &vip32),
        "BACKUP but the VIP is still held\n{}",
        ctx()
    );
    // Until the master-down timer (3 s + skew) makes it master again.
    never_backup_with_vip(&lvsd, &vip32, 2 * S, &ctx);

    // keepalived 2.2.7 beside it, same burst: it steps down and drops the VIP.
    if !common::require_or_skip(
        have_keepalived(),
        "keepalived for the keepalived half (scripts/deps.sh installs it)",
    ) {
        return;
    }
    drop(lvsd);
    let mut ka = lan.keepalived(3, &keepalived_conf(net, 100, ""));
    let kctx = logs(&[&ka]);
    start_master(&mut ka, &vip32, &kctx);
    forger.send(group, &burst);
    wait_for(
        "keepalived steps down and removes the VIP",
        2 * S,
        || !ka.has_addr("eth0", &vip32),
        &kctx,
    );
}

/// The invariant under bursts of 1,000 adverts (mixed priorities, some
/// winning) sent in one go: sampled state and `ip addr` never disagree, and
/// once the forger is quiet the director is master again with the VIP.
#[test]
fn bursts_of_1000_adverts_keep_state_and_vips_together() {
    if !can_run("bursts_1000") {
        return;
    }
    let net = 33;
    let lan = Lan::new("lvh4", net, 2);
    let vip32 = format!("10.254.{net}.100/32");
    let mut lvsd = lan.lvsd(1, &lvsd_ini(net, 100, ""));
    let ctx = logs(&[&lvsd]);
    start_master(&mut lvsd, &vip32, &ctx);
    let forger = Forger::new(&lan.d(2), v4(net, 2), 255);
    let group = MULTICAST_V4;
    let vip = v4(net, 100);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..6 {
        let burst: Vec<Vec<u8>> = (0..1000)
            .map(|k| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let priority = match (round, k) {
                    // Rounds 0, 2, 4 end with a winner.
                    (r, 999) if r % 2 == 0 => 200,
                    _ => match seed % 10 {
                        0 => 0,
                        _ => 1 + (seed % 99) as u8,
                    },
                };
                forger.v3(51, priority, vip, group)
            })
            .collect();
        forger.send(group, &burst);
        never_backup_with_vip(&lvsd, &vip32, S / 2, &ctx);
    }
    // Quiet: the master-down timer makes it master again, with the VIP.
    wait_for(
        "master again with the VIP",
        10 * S,
        || state_of(&lvsd.status()).as_deref() == Some("MASTER") && lvsd.has_addr("eth0", &vip32),
        &ctx,
    );
    holds_for(
        "master with the VIP",
        S,
        || lvsd.has_addr("eth0", &vip32),
        &ctx,
    );
    let status = lvsd.status();
    eprintln!("{status}");
    // The lower adverts of the bursts were answered at most once per second.
    assert!(status.contains("answers rate-limited "), "{status}");
    // Bursts larger than the read budget were read over several turns.
    assert!(status.contains("read budget of 64 reached"), "{status}");
}

/// The link-local address of eth0 in namespace `ns`.
fn link_local(ns: &str) -> std::net::Ipv6Addr {
    let out = Command::new("ip")
        .args([
            "-n", ns, "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let word = text
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .unwrap_or_else(|| panic!("no link-local address in {ns}: {text}"));
    word.split('/').next().unwrap().parse().unwrap()
}

/// Finding 1 over IPv6: an advert to the director's own link-local address
/// with hop limit 255 is not to ff02::12, so a multicast instance drops it.
#[test]
fn finding_1_ipv6_unicast_forgery_is_not_to_group() {
    use std::net::{Ipv6Addr, SocketAddrV6};
    if !can_run("finding_1_ipv6") {
        return;
    }
    let net = 34;
    let lan = Lan::new("lvh5", net, 2);
    let vip = "fd00:254:34::100/128";
    let ini = format!(
        "[global]
control_socket = @SOCK@

[vrrp_instance VI_1]
state = MASTER
interface = eth0
virtual_router_id = 61
priority = 100
version = 3
advert_int = 1
virtual_ipaddress = {vip}
"
    );
    let mut lvsd = lan.lvsd(1, &ini);
    let ctx = logs(&[&lvsd]);
    start_master(&mut lvsd, vip, &ctx);
    let (src, target) = (link_local(&lan.d(2)), link_local(&lan.d(1)));
    let d2 = lan.d(2);
    let (socket, ifindex) = lvsd::io::netns::run_in(&d2, || {
        let ifindex = lvsd::io::iface::all()?
            .iter()
            .find(|i| i.name == "eth0")
            .map(|i| i.index)
            .unwrap_or(0);
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(112)))?;
        s.bind_device(Some(b"eth0"))?;
        s.set_unicast_hops_v6(255)?;
        s.bind(&SockAddr::from(SocketAddrV6::new(src, 0, 0, ifindex)))?;
        Ok::<_, std::io::Error>((s, ifindex))
    })
    .expect("enter the namespace")
    .expect("raw IPv6 VRRP socket");
    let vips = [IpAddr::V6("fd00:254:34::100".parse::<Ipv6Addr>().unwrap())];
    let repr = Repr {
        version: Version::V3,
        vrid: 61,
        priority: 200,
        advert_interval_cs: 100,
        auth: Auth::None,
        addresses: AddressList::Slice(&vips),
    };
    let mut buf = [0u8; 64];
    let len = repr
        .emit(&mut buf, IpAddr::V6(src), IpAddr::V6(target))
        .unwrap();
    let to = SockAddr::from(SocketAddrV6::new(target, 0, 0, ifindex));
    for _ in 0..20 {
        socket
            .send_to(&buf[..len], &to)
            .expect("send forged advert");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_for(
        "the forgeries are counted as not_to_group",
        5 * S,
        || dropped(&lvsd.status(), "not_to_group") >= 19,
        &ctx,
    );
    assert_eq!(state_of(&lvsd.status()).as_deref(), Some("MASTER"));
    assert!(lvsd.has_addr("eth0", vip), "{}", ctx());
}

/// The "adverts ... received N" figure of VI_1.
fn received(status: &str) -> u64 {
    status
        .lines()
        .find(|l| l.starts_with("vrrp_instance VI_1 "))
        .and_then(|l| l.rsplit("received ").next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The read budget per wake-up leaves datagrams queued; edge-triggered
/// readiness does not report them again, so lvsd must come back for them by
/// itself. lvsd is stopped (SIGSTOP) while 150 adverts queue up, then
/// continued: one readiness event, and all 150 must still be read.
#[test]
fn budget_leftovers_are_read_without_new_readiness() {
    if !can_run("budget_leftovers") {
        return;
    }
    let net = 35;
    let lan = Lan::new("lvh6", net, 2);
    let vip32 = format!("10.254.{net}.100/32");
    let mut lvsd = lan.lvsd(1, &lvsd_ini(net, 100, ""));
    let ctx = logs(&[&lvsd]);
    start_master(&mut lvsd, &vip32, &ctx);
    let forger = Forger::new(&lan.d(2), v4(net, 2), 255);
    let group = MULTICAST_V4;
    let vip = v4(net, 100);
    let before = lvsd.status();
    let pid = lvsd.pid().expect("lvsd runs").to_string();
    common::sh(&format!("kill -STOP {pid}"));
    // Lower priority: accepted (counted as received), never a state change.
    let burst: Vec<Vec<u8>> = (0..150).map(|_| forger.v3(51, 50, vip, group)).collect();
    forger.send(group, &burst);
    std::thread::sleep(Duration::from_millis(200));
    common::sh(&format!("kill -CONT {pid}"));
    wait_for(
        "all 150 adverts are read",
        5 * S,
        || received(&lvsd.status()) >= received(&before) + 150,
        &ctx,
    );
    let status = lvsd.status();
    assert!(
        status.contains("read budget of 64 reached"),
        "150 queued adverts take three reads of 64:\n{status}"
    );
    assert_eq!(state_of(&status).as_deref(), Some("MASTER"), "{status}");
}
