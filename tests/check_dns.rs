//! DNS_CHECK against a real dnsmasq (Debian's dnsmasq-base) in a network
//! namespace: NOERROR passes, NXDOMAIN and REFUSED fail by their RCODE, a
//! stopped server fails as unreachable, and the keepalived default query
//! (SOA of the root) gets whatever the server answers.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lvsd::check::dns::{dns_type, DnsProbe, DnsQuery};
use lvsd::check::probe::{FailReason, Outcome};
use lvsd::io::netns;
use lvsd::io::probe::{run_blocking, ProbeTarget};

const UP: Outcome = Outcome::Up { weight: None };

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn query(server: &'static str, name: &'static str, qtype: &'static str) -> Outcome {
    let q = DnsQuery::new(name, dns_type(qtype).unwrap()).unwrap();
    let probe = DnsProbe::new(&q, 0x4242, Instant::now(), Duration::from_millis(1500));
    let target = ProbeTarget {
        address: server.parse::<SocketAddr>().unwrap(),
        bind: None,
        tls: None,
    };
    run_blocking(probe, target).unwrap().0
}

fn prerequisites() -> bool {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let dnsmasq = Command::new("dnsmasq").arg("--version").output().is_ok();
    if common::can_use_netns() && dnsmasq {
        return true;
    }
    assert!(
        !ci,
        "CI: this test needs root, ip netns and dnsmasq (scripts/deps.sh installs dnsmasq-base)"
    );
    eprintln!("SKIP: needs root, ip netns and dnsmasq (package dnsmasq-base)");
    false
}

#[test]
fn dns_check_against_dnsmasq() {
    if !prerequisites() {
        return;
    }
    let ns = common::Namespaces::new("lvsddn", &["c", "s"]);
    let (c, s) = (ns.get("c").to_owned(), ns.get("s").to_owned());
    common::sh(&format!(
        "ip link add vc netns {c} type veth peer name vs netns {s}
         ip -n {c} addr add 10.252.0.1/24 dev vc
         ip -n {s} addr add 10.252.0.2/24 dev vs
         ip -n {c} link set vc up
         ip -n {s} link set vs up"
    ));
    let dnsmasq = Proc(
        Command::new("ip")
            .args(["netns", "exec", &s, "dnsmasq", "--keep-in-foreground"])
            .args(["--conf-file=/dev/null", "--no-resolv", "--no-hosts"])
            .args([
                "--listen-address=10.252.0.2",
                "--bind-interfaces",
                "--port=53",
            ])
            .args(["--pid-file=", "--user=root"])
            .args([
                "--address=/up.example.test/10.9.9.9",
                "--local=/example.test/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq"),
    );
    let run = |f: fn() -> Vec<Outcome>| netns::run_in(&c, f).unwrap();
    // dnsmasq needs a moment to bind.
    let ready = (0..50).any(|_| {
        let got = run(|| vec![query("10.252.0.2:53", "up.example.test", "A")]);
        if got[0] != UP {
            std::thread::sleep(Duration::from_millis(100));
        }
        got[0] == UP
    });
    assert!(ready, "dnsmasq never answered");
    let got = run(|| {
        vec![
            query("10.252.0.2:53", "up.example.test", "a"),
            query("10.252.0.2:53", "up.example.test.", "A"),
            query("10.252.0.2:53", "gone.example.test", "A"),
            query("10.252.0.2:53", "elsewhere.invalid", "A"),
        ]
    });
    assert_eq!(got[0], UP);
    assert_eq!(
        got[1], UP,
        "a name dnsmasq knows, another type: NOERROR, no data"
    );
    assert_eq!(got[2], Outcome::Down(FailReason::DnsRcode(3)), "NXDOMAIN");
    assert_eq!(
        got[3],
        Outcome::Down(FailReason::DnsRcode(5)),
        "REFUSED without upstream"
    );
    // A port nobody listens on, then the server stopped: unreachable.
    let got = run(|| vec![query("10.252.0.2:5353", "up.example.test", "A")]);
    assert_eq!(got[0], Outcome::Down(FailReason::Unreachable));
    drop(dnsmasq);
    std::thread::sleep(Duration::from_millis(200));
    let got = run(|| vec![query("10.252.0.2:53", "up.example.test", "A")]);
    assert_eq!(got[0], Outcome::Down(FailReason::Unreachable));
    // Nobody at the address: silence until connect_timeout.
    let got = run(|| vec![query("10.252.0.9:53", "up.example.test", "A")]);
    assert!(!got[0].is_up(), "{got:?}");
}
