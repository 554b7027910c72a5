//! Netlink against the host kernel: generic family resolution ("nlctrl" always exists,
//! "IPVS" does not on this host) and rtnetlink addresses, links and events inside a
//! private network namespace (root only; skipped with a message otherwise).

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use lvsd::io::netlink::{
    unshare_network_namespace, Ipvs, IpvsError, NetlinkError, NetlinkProtocol, NetlinkSocket, Rtnl,
    RtnlEvents,
};
use lvsd::wire::netlink::genl::GENL_ID_CTRL;
use lvsd::wire::netlink::rtnl::{IfAddr, RtEvent};

#[test]
fn resolves_nlctrl_family() {
    let mut s = NetlinkSocket::open(NetlinkProtocol::Generic, 0).unwrap();
    assert_ne!(s.port_id(), 0);
    let fam = s.resolve_family("nlctrl").unwrap();
    assert_eq!(fam.id, GENL_ID_CTRL);
    assert_eq!(fam.name, "nlctrl");
    assert!(fam.mcast_group("notify").is_some(), "{fam:?}");
    // Sequence numbers move on and a second request on the same socket works.
    let again = s.resolve_family("nlctrl").unwrap();
    assert_eq!(again.id, fam.id);
}

#[test]
fn unknown_family_is_enoent() {
    let mut s = NetlinkSocket::open(NetlinkProtocol::Generic, 0).unwrap();
    match s.resolve_family("lvsd_nonexist") {
        Err(NetlinkError::Kernel { errno, .. }) => assert_eq!(errno, libc::ENOENT),
        other => panic!("expected ENOENT, got {other:?}"),
    }
}

#[test]
fn missing_ipvs_gives_a_clear_error() {
    let has_ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
    match Ipvs::open() {
        Err(IpvsError::Unavailable) => {
            assert!(!has_ipvs);
            let msg = IpvsError::Unavailable.to_string();
            assert!(msg.contains("ip_vs kernel module is missing"), "{msg}");
        }
        Ok(mut ipvs) => {
            // A kernel with IPVS (the VM lab): GET_INFO must answer.
            assert!(has_ipvs);
            let info = ipvs.info().unwrap();
            assert!(info.version >= 0x010200, "{info:?}");
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// Runs `f` in a thread moved into a fresh network namespace; the namespace disappears
/// with the thread. Returns false (after saying why) when not permitted.
/// A missing namespace fails under CI=true (`common::require_or_skip`).
fn in_netns(f: impl FnOnce() + Send + 'static) -> bool {
    let result = std::thread::spawn(move || {
        unshare_network_namespace()?;
        f();
        Ok::<(), std::io::Error>(())
    })
    .join()
    .expect("netns test thread panicked");
    match result {
        Ok(()) => true,
        Err(e) => common::require_or_skip(
            false,
            &format!("a network namespace (unshare: {e}; run the netlink tests as root)"),
        ),
    }
}

#[test]
fn rtnetlink_addresses_links_and_events_in_a_netns() {
    in_netns(|| {
        let mut rt = Rtnl::open().unwrap();
        let mut events = RtnlEvents::open().unwrap();
        let lo = rt
            .ifindex("lo")
            .unwrap()
            .expect("lo exists in every namespace");
        let mut links = Vec::new();
        rt.links(|l| links.push(l)).unwrap();
        assert_eq!(links.len(), 1, "a fresh namespace has only lo: {links:?}");
        assert!(!links[0].is_up());

        rt.set_link_up(lo, true).unwrap();
        let v4 = IfAddr::host(lo, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 110)));
        let v6 = IfAddr::host(
            lo,
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x110)),
        );
        assert!(rt.add_addr(&v4).unwrap(), "first add adds");
        assert!(!rt.add_addr(&v4).unwrap(), "second add is a no-op (EEXIST)");
        assert!(rt.add_addr(&v6).unwrap());

        let mut addrs = Vec::new();
        rt.addrs(None, |a| addrs.push(a)).unwrap();
        let got4 = addrs
            .iter()
            .find(|a| a.addr == v4.addr)
            .expect("v4 VIP listed");
        assert_eq!((got4.prefix_len, got4.ifindex), (32, lo));
        assert!(addrs
            .iter()
            .any(|a| a.addr == v6.addr && a.prefix_len == 128));
        let mut only6 = Vec::new();
        rt.addrs(Some(true), |a| only6.push(a)).unwrap();
        assert!(only6.iter().all(|a| a.addr.is_ipv6()));

        // Events: lo came up, and both addresses appeared.
        std::thread::sleep(Duration::from_millis(50));
        let mut seen = Vec::new();
        events.drain(|e| seen.push(e)).unwrap();
        assert!(
            seen.iter()
                .any(|e| matches!(e, RtEvent::NewLink(l) if l.ifindex == lo && l.flags & 1 != 0)),
            "{seen:?}"
        );
        assert!(
            seen.iter()
                .any(|e| matches!(e, RtEvent::NewAddr(a) if a.addr == v4.addr)),
            "{seen:?}"
        );
        assert!(
            seen.iter()
                .any(|e| matches!(e, RtEvent::NewAddr(a) if a.addr == v6.addr)),
            "{seen:?}"
        );

        assert!(rt.del_addr(&v4).unwrap());
        assert!(
            !rt.del_addr(&v4).unwrap(),
            "second delete is a no-op (EADDRNOTAVAIL)"
        );
        assert!(rt.del_addr(&v6).unwrap());
        std::thread::sleep(Duration::from_millis(50));
        let mut gone = Vec::new();
        events.drain(|e| gone.push(e)).unwrap();
        assert!(
            gone.iter()
                .any(|e| matches!(e, RtEvent::DelAddr(a) if a.addr == v4.addr)),
            "{gone:?}"
        );

        // A bad request comes back as a kernel error, not a hang.
        let bogus = IfAddr::host(9999, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        match rt.add_addr(&bogus) {
            Err(NetlinkError::Kernel { errno, .. }) => assert_eq!(errno, libc::ENODEV),
            other => panic!("expected ENODEV, got {other:?}"),
        }
    });
}

#[test]
fn batched_writes_map_every_refusal_to_its_op() {
    use lvsd::wire::netlink::ipvs::{
        Dest, ForwardMethod, IpvsOp, Protocol, Scheduler, Service, ServiceKey,
    };
    // nlctrl has no handler for IPVS's NEW/SET commands (1, 2, 5, 6): each write is
    // refused with EOPNOTSUPP, which exercises batching and the seq -> op mapping.
    let mut ipvs = Ipvs::open_family("nlctrl").unwrap();
    let key = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)),
        port: 80,
    };
    let mut ops = vec![IpvsOp::NewService(Service::new(key, Scheduler::Rr))];
    for i in 0..150u32 {
        let d = Dest::new(
            IpAddr::V4(Ipv4Addr::from(0x0a00_0100 + i)),
            80,
            ForwardMethod::Masq,
            1,
        );
        ops.push(if i % 2 == 0 {
            IpvsOp::NewDest(key, d)
        } else {
            IpvsOp::SetDest(key, d)
        });
    }
    let mut failures = Vec::new();
    let report = ipvs
        .apply(&ops, |f| {
            failures.push((f.op.clone(), f.errno, f.to_string()))
        })
        .unwrap();
    assert_eq!(report.sent, ops.len(), "three batches of up to 64");
    assert_eq!(report.failed, ops.len());
    let refused: Vec<IpvsOp> = failures.iter().map(|f| f.0.clone()).collect();
    assert_eq!(
        refused, ops,
        "every refusal is mapped back to its own op, in order"
    );
    assert!(failures.iter().all(|f| f.1 == libc::EOPNOTSUPP));
    assert_eq!(
        failures[1].2,
        "NewDest 10.0.1.0:80 in TCP 10.0.0.100:80: Operation not supported (EOPNOTSUPP)"
    );
}
