//! UDP_CHECK against real UDP servers on loopback, and PING_CHECK (ICMP and
//! ICMPv6) through a pair of network namespaces, over both the datagram ping
//! socket and the raw-socket fallback.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use lvsd::check::ping::PingProbe;
use lvsd::check::probe::{FailReason, Outcome};
use lvsd::check::udp::{parse_hex, UdpProbe, UdpSpec};
use lvsd::io::netns;
use lvsd::io::probe::{run_blocking, ProbeTarget};

const UP: Outcome = Outcome::Up { weight: None };

fn target(address: SocketAddr) -> ProbeTarget {
    ProbeTarget {
        address,
        bind: None,
        tls: None,
    }
}

/// A UDP server answering each datagram with `reply(datagram)` (None: silence).
fn server<F>(reply: F) -> SocketAddr
where
    F: Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static,
{
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            if let Some(r) = reply(&buf[..n]) {
                let _ = s.send_to(&r, from);
            }
        }
    });
    addr
}

fn udp(addr: SocketAddr, spec: UdpSpec, timeout_ms: u64) -> Outcome {
    let probe = UdpProbe::new(
        Arc::new(spec),
        Instant::now(),
        Duration::from_millis(timeout_ms),
    );
    run_blocking(probe, target(addr)).unwrap().0
}

fn requiring(reply: &str) -> UdpSpec {
    let (reply, mask) = if reply.is_empty() {
        (vec![], vec![])
    } else {
        parse_hex(reply, true).unwrap()
    };
    UdpSpec {
        require_reply: true,
        reply,
        mask,
        ..UdpSpec::default()
    }
}

#[test]
fn udp_echo_server_passes_and_sees_keepalived_s_payload() {
    let (tx, rx) = std::sync::mpsc::channel();
    let echo = server(move |d| {
        let _ = tx.send(d.to_vec());
        Some(d.to_vec())
    });
    assert_eq!(udp(echo, UdpSpec::default(), 2000), UP);
    assert_eq!(rx.recv().unwrap(), b"keepalived check - keepalived ch");
    assert_eq!(udp(echo, requiring(""), 2000), UP);
    // The echo of "keepalived..." starts with 6b 65 ("ke"); X is a wildcard.
    assert_eq!(udp(echo, requiring("6b 65"), 2000), UP);
    assert_eq!(udp(echo, requiring("6bX5 6X"), 2000), UP);
    assert_eq!(
        udp(echo, requiring("6b 66"), 2000),
        Outcome::Down(FailReason::Reply)
    );
    let spec = UdpSpec {
        payload: parse_hex("de ad be ef", false).unwrap().0,
        min_reply_len: 5,
        ..requiring("de ad")
    };
    assert_eq!(udp(echo, spec, 2000), Outcome::Down(FailReason::Reply));
    let spec = UdpSpec {
        payload: parse_hex("de ad be ef", false).unwrap().0,
        max_reply_len: 4,
        ..requiring("de ad")
    };
    assert_eq!(udp(echo, spec, 2000), UP);
}

#[test]
fn udp_reply_longer_than_max_fails() {
    let big = server(|_| Some(vec![0x41; 300]));
    assert_eq!(
        udp(big, requiring("41"), 2000),
        Outcome::Down(FailReason::Reply)
    );
    let spec = UdpSpec {
        max_reply_len: 300,
        ..requiring("41")
    };
    assert_eq!(udp(big, spec, 2000), UP);
}

#[test]
fn udp_silence_passes_unless_a_reply_is_required() {
    let silent = server(|_| None);
    let t0 = Instant::now();
    assert_eq!(udp(silent, UdpSpec::default(), 300), UP);
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        udp(silent, requiring(""), 300),
        Outcome::Down(FailReason::Timeout)
    );
}

/// The ping test and the closed-port test take turns: while the ping test
/// runs, the host's ICMP port-unreachable for the closed port went missing in
/// about 1 run in 15 (the kernel's ICMP state is shared across namespaces),
/// and the closed port then read as silence, which passes. Alone, 0 in 30.
static ICMP: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn udp_closed_port_is_unreachable() {
    let _icmp = ICMP.lock().unwrap_or_else(|e| e.into_inner());
    // Bind then drop: the port is closed now. 127.0.0.2: nothing else in
    // this binary binds there, so no other test can take the freed port.
    let addr = UdpSocket::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_eq!(
        udp(addr, UdpSpec::default(), 2000),
        Outcome::Down(FailReason::Unreachable)
    );
}

fn ping(ip: &str, timeout_ms: u64) -> Outcome {
    let addr: SocketAddr = SocketAddr::new(ip.parse().unwrap(), 0);
    let probe = PingProbe::new(
        Instant::now(),
        Duration::from_millis(timeout_ms),
        addr.is_ipv6(),
        std::process::id() as u16,
        7,
    );
    run_blocking(probe, target(addr)).unwrap().0
}

fn require_netns() -> bool {
    if common::can_use_netns() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI: this test needs root and ip netns"
    );
    eprintln!("SKIP: needs root and ip netns");
    false
}

#[test]
fn ping_through_a_namespace_over_ping_and_raw_sockets() {
    let _icmp = ICMP.lock().unwrap_or_else(|e| e.into_inner());
    if !require_netns() {
        return;
    }
    let ns = common::Namespaces::new("lvsdpg", &["a", "b"]);
    let (a, b) = (ns.get("a").to_owned(), ns.get("b").to_owned());
    common::sh(&format!(
        "ip link add va netns {a} type veth peer name vb netns {b}
         ip -n {a} addr add 10.251.0.1/24 dev va
         ip -n {b} addr add 10.251.0.2/24 dev vb
         ip -n {a} addr add fd51::1/64 dev va nodad
         ip -n {b} addr add fd51::2/64 dev vb nodad
         ip -n {a} link set va up
         ip -n {b} link set vb up
         ip netns exec {a} sh -c 'echo 0 2147483647 > /proc/sys/net/ipv4/ping_group_range'"
    ));
    let run = |f: fn() -> Vec<Outcome>| netns::run_in(&a, f).unwrap();
    // The veth pair needs a moment after link up (carrier, neighbours).
    let ready =
        (0..10).any(|_| run(|| vec![ping("10.251.0.2", 500), ping("fd51::2", 500)]) == [UP, UP]);
    assert!(ready, "the namespace pair never answered ping");
    // Datagram ping sockets (the group range lets root use them).
    let got = run(|| vec![ping("10.251.0.2", 2000), ping("fd51::2", 2000)]);
    assert_eq!(got, [UP, UP]);
    // Nobody there: no reply within the timeout.
    let got = run(|| vec![ping("10.251.0.9", 300)]);
    assert!(!got[0].is_up(), "{got:?}");
    // Raw sockets, when the group range forbids ping sockets.
    common::sh(&format!(
        "ip netns exec {a} sh -c 'echo 1 0 > /proc/sys/net/ipv4/ping_group_range'"
    ));
    let got = run(|| vec![ping("10.251.0.2", 2000), ping("fd51::2", 2000)]);
    assert_eq!(got, [UP, UP]);
    // The server stops answering echo requests: down on both kinds of socket.
    common::sh(&format!(
        "ip netns exec {b} sh -c 'echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all'
         ip netns exec {b} sh -c 'echo 1 > /proc/sys/net/ipv6/icmp/echo_ignore_all'"
    ));
    let got = run(|| vec![ping("10.251.0.2", 300), ping("fd51::2", 300)]);
    assert_eq!(got, [Outcome::Down(FailReason::Timeout); 2]);
    common::sh(&format!(
        "ip netns exec {a} sh -c 'echo 0 2147483647 > /proc/sys/net/ipv4/ping_group_range'"
    ));
    let got = run(|| vec![ping("10.251.0.2", 300), ping("fd51::2", 300)]);
    assert_eq!(got, [Outcome::Down(FailReason::Timeout); 2]);
}
