//! Netlink against the host kernel: generic family resolution ("nlctrl" always exists,
//! "IPVS" does not on this host) and rtnetlink addresses, links and events inside a
//! private network namespace (root only; skipped with a message otherwise).

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use lvsd::io::netlink::{
    unshare_network_namespace, Ipvs, IpvsError, NetlinkError, NetlinkProtocol, NetlinkSocket, Rtnl,
    RtnlEvents, RtnlInput, RtnlRequest, REQUEST_TIMEOUT,
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
        events
            .drain(usize::MAX, |i| {
                if let RtnlInput::Event { event, .. } = i {
                    seen.push(event)
                }
            })
            .unwrap();
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
        events
            .drain(usize::MAX, |i| {
                if let RtnlInput::Event { event, .. } = i {
                    gone.push(event)
                }
            })
            .unwrap();
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

/// Drains everything queued now (retrying briefly: acks are queued inside the send).
fn drain_all(events: &mut RtnlEvents) -> Vec<RtnlInput> {
    let mut got = Vec::new();
    std::thread::sleep(Duration::from_millis(20));
    events.drain(usize::MAX, |i| got.push(i)).unwrap();
    got
}

#[test]
fn rtnetlink_requests_never_wait_and_report_acks_budget_overflow_and_timeouts() {
    in_netns(|| {
        let mut rt = Rtnl::open().unwrap();
        let lo = rt.ifindex("lo").unwrap().unwrap();
        rt.set_link_up(lo, true).unwrap();
        let mut events = RtnlEvents::open().unwrap();
        let now = Instant::now();
        let vip = IfAddr::host(lo, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50)));

        // A request returns at once; its ack comes later, with its tag.
        events
            .send(RtnlRequest::AddAddr(vip.clone()), 7, now)
            .unwrap();
        events
            .send(RtnlRequest::AddAddr(vip.clone()), 8, now)
            .unwrap();
        assert_eq!(events.pending(), 2);
        let got = drain_all(&mut events);
        let done: Vec<(u32, String)> = got
            .iter()
            .filter_map(|i| match i {
                RtnlInput::Done { tag, result, .. } => Some((*tag, format!("{result:?}"))),
                _ => None,
            })
            .collect();
        assert_eq!(done.len(), 2, "{got:?}");
        assert_eq!(done[0], (7, "Ok(())".to_string()));
        assert!(
            done[1].1.contains("errno: 17"),
            "second add is EEXIST: {done:?}"
        );
        assert_eq!(events.pending(), 0);
        // Our own add also arrives as an event.
        assert!(got.iter().any(|i| matches!(i,
            RtnlInput::Event { event: RtEvent::NewAddr(a), dump: false } if a.addr == vip.addr)));

        // A dump's entries are marked as such and end with Done.
        events.send(RtnlRequest::DumpAddrs, 1, now).unwrap();
        assert!(events.dumping());
        let got = drain_all(&mut events);
        assert!(got.iter().any(|i| matches!(i,
            RtnlInput::Event { event: RtEvent::NewAddr(a), dump: true } if a.addr == vip.addr)));
        assert!(got.iter().any(|i| matches!(
            i,
            RtnlInput::Done {
                request: RtnlRequest::DumpAddrs,
                result: Ok(()),
                ..
            }
        )));
        assert!(!events.dumping());

        // The budget stops the read; the rest waits.
        for n in 0..20u8 {
            let a = IfAddr::host(lo, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100 + n)));
            rt.add_addr(&a).unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
        let mut first = 0;
        assert!(events.drain(5, |_| first += 1).unwrap(), "more left");
        assert!((5..20).contains(&first), "{first}");
        let rest = drain_all(&mut events);
        assert!(first + rest.len() >= 20);

        // A request nobody answers in time is reported, never waited for.
        events
            .send(RtnlRequest::DelAddr(vip.clone()), 9, now)
            .unwrap();
        let mut timed_out = Vec::new();
        events.expire(now + REQUEST_TIMEOUT, |i| timed_out.push(i));
        assert!(
            matches!(
                timed_out.as_slice(),
                [RtnlInput::Done {
                    tag: 9,
                    result: Err(NetlinkError::Timeout),
                    ..
                }]
            ),
            "{timed_out:?}"
        );
        let _ = drain_all(&mut events); // its late ack is ignored

        // A flood beyond a small receive buffer: ENOBUFS is reported as Overflow.
        events.set_receive_buffer(1).unwrap();
        for n in 0..200u16 {
            let a = IfAddr::host(
                lo,
                IpAddr::V4(Ipv4Addr::from(0xc633_6400u32 + u32::from(n))),
            );
            rt.add_addr(&a).unwrap();
        }
        let got = drain_all(&mut events);
        assert!(
            got.iter().any(|i| matches!(i, RtnlInput::Overflow)),
            "no overflow among {} inputs",
            got.len()
        );
    });
}

#[test]
fn with_no_reply_wait_a_request_without_an_answer_returns_at_once() {
    in_netns(|| {
        let mut s = NetlinkSocket::open(NetlinkProtocol::Route, 0).unwrap();
        let mut rt = Rtnl::open().unwrap();
        let lo = rt.ifindex("lo").unwrap().unwrap();
        // An address add without NLM_F_ACK: the kernel applies it and answers nothing.
        let mut buf = [0u8; 128];
        let seq = s.next_seq();
        let a = IfAddr::host(lo, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77)));
        let n = lvsd::wire::netlink::rtnl::encode_new_addr(&mut buf, seq, &a).unwrap();
        let flags = u16::from_ne_bytes([buf[6], buf[7]]) & !lvsd::wire::netlink::msg::NLM_F_ACK;
        buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        s.set_reply_wait(Duration::ZERO);
        let started = Instant::now();
        match s.request(&buf[..n], seq, |_| Ok(())) {
            Err(NetlinkError::Timeout) => {}
            other => panic!("expected Timeout, got {other:?}"),
        }
        // REQUEST_TIMEOUT (5 s) would be the wait with the default.
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let mut addrs = Vec::new();
        rt.addrs(Some(false), |x| addrs.push(x.addr)).unwrap();
        assert!(
            addrs.contains(&a.addr),
            "applied inside the send: {addrs:?}"
        );
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
    // The daemon's mode: no wait at all. The kernel answers inside the send,
    // so every ack is still there and nothing is left unanswered.
    ipvs.set_reply_wait(Duration::ZERO);
    let mut again = 0;
    let report = ipvs.apply(&ops, |_| again += 1).unwrap();
    assert_eq!(
        (report.failed, report.unanswered, again),
        (ops.len(), 0, ops.len())
    );
}
