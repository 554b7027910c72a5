//! Root-only: the raw VRRP sockets carry multicast adverts across a veth with
//! TTL/hop limit 255 and report source, destination and TTL, IPv4 and IPv6.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use lvsd::io::{iface, netns, vrrp_socket};
use lvsd::wire::vrrp::{split_ipv4, MULTICAST_V4, MULTICAST_V6};

/// (source, destination, ttl, payload) of the next VRRP datagram.
fn receive_one(rx: &vrrp_socket::VrrpReceiver) -> (IpAddr, IpAddr, u8, Vec<u8>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 1500];
    loop {
        match rx.recv(&mut buf).expect("recv") {
            Some(vrrp_socket::Received::Ipv4 { datagram }) => {
                let (h, payload) = split_ipv4(&buf[datagram]).expect("IPv4 header");
                return (h.src.into(), h.dst.into(), h.ttl, payload.to_vec());
            }
            Some(vrrp_socket::Received::Ipv6 {
                source,
                destination,
                hop_limit,
                payload,
            }) => {
                return (
                    source.into(),
                    destination.into(),
                    hop_limit,
                    buf[payload].to_vec(),
                )
            }
            None => {}
        }
        assert!(Instant::now() < deadline, "no VRRP packet arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn multicast_adverts_cross_a_veth_with_ttl_255() {
    if !common::netns_or_skip() {
        return;
    }
    let ns = common::Namespaces::new("lvsdvs", &["a", "b"]);
    let (a, b) = (ns.get("a").to_owned(), ns.get("b").to_owned());
    common::sh(&format!(
        "ip link add va netns {a} type veth peer name vb netns {b}
         ip -n {a} addr add 10.255.0.1/24 dev va
         ip -n {b} addr add 10.255.0.2/24 dev vb
         ip -n {a} addr add fe80::a/64 dev va nodad
         ip -n {b} addr add fe80::b/64 dev vb nodad
         ip -n {a} link set va up
         ip -n {b} link set vb up
         for i in $(seq 50); do
           ip -n {a} link show va | grep -q 'state UP' && ip -n {b} link show vb | grep -q 'state UP' &&
           ip -n {b} -6 route show table local | grep -q ff00:: && break
           sleep 0.1
         done"
    ));
    let payload = b"\x21\x33\x64\x01\x00\x01\xaa\xbb\x0a\x00\x00\x64";

    std::thread::scope(|s| {
        // IPv4: the receiver in a, the sender in b.
        let a4 = a.clone();
        let rx = s.spawn(move || {
            netns::run_in(&a4, || {
                let info = iface::lookup("va").unwrap().expect("va");
                let rx =
                    vrrp_socket::VrrpReceiver::open("va", info.index, false, true, false).unwrap();
                receive_one(&rx)
            })
            .unwrap()
        });
        std::thread::sleep(Duration::from_millis(300));
        netns::run_in(&b, || {
            let info = iface::lookup("vb").unwrap().expect("vb");
            assert_eq!(
                info.primary(false),
                Some(IpAddr::V4(Ipv4Addr::new(10, 255, 0, 2)))
            );
            let tx = vrrp_socket::VrrpSender::open(
                "vb",
                info.index,
                info.primary(false).unwrap(),
                false,
            )
            .unwrap();
            for _ in 0..3 {
                tx.send(IpAddr::V4(MULTICAST_V4), payload).unwrap();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
        .unwrap();
        let (source, destination, ttl, data) = rx.join().unwrap();
        assert_eq!(source, IpAddr::V4(Ipv4Addr::new(10, 255, 0, 2)));
        assert_eq!(destination, IpAddr::V4(MULTICAST_V4));
        assert_eq!(ttl, 255);
        assert_eq!(data, payload);
    });

    std::thread::scope(|s| {
        let a6 = a.clone();
        let rx = s.spawn(move || {
            netns::run_in(&a6, || {
                let info = iface::lookup("va").unwrap().expect("va");
                let rx =
                    vrrp_socket::VrrpReceiver::open("va", info.index, true, true, false).unwrap();
                receive_one(&rx)
            })
            .unwrap()
        });
        std::thread::sleep(Duration::from_millis(300));
        netns::run_in(&b, || {
            let info = iface::lookup("vb").unwrap().expect("vb");
            let src = IpAddr::V6("fe80::b".parse::<Ipv6Addr>().unwrap());
            // The kernel's own link-local may come first; either is ours.
            let primary = info.primary(true).expect("a link-local address");
            assert!(info.ipv6.iter().any(|a| IpAddr::V6(*a) == primary));
            assert!(info.ipv6.iter().any(|a| IpAddr::V6(*a) == src));
            let tx = vrrp_socket::VrrpSender::open("vb", info.index, src, false).unwrap();
            for _ in 0..3 {
                tx.send(IpAddr::V6(MULTICAST_V6), payload).unwrap();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
        .unwrap();
        let (source, destination, ttl, data) = rx.join().unwrap();
        assert_eq!(source, IpAddr::V6("fe80::b".parse().unwrap()));
        assert_eq!(destination, IpAddr::V6(MULTICAST_V6));
        assert_eq!(ttl, 255);
        assert_eq!(data, payload);
    });
}
