//! Golden and round-trip tests for the IPVS codec.
//!
//! Provenance: every byte array here is CONSTRUCTED FROM ip_vs.h and netlink.h by hand
//! (struct layouts and enum values), not captured. Bytes captured from ipvsadm and the
//! kernel in the VM lab are to be added beside them, marked "captured".

use super::decode::parse_daemon;
use super::*;
use crate::wire::netlink::attr::Attrs;
use crate::wire::netlink::genl::GenlHeader;
use crate::wire::netlink::msg::{DecodeError, EncodeError, Header, MessageBuilder, NLMSG_HDRLEN};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const FAM: u16 = 0x24;

fn vip() -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(192, 168, 118, 110)),
        port: 80,
    }
}

#[test]
fn new_service_golden_bytes() {
    // Constructed from ip_vs.h: the SEED.md service `TCP 192.168.118.110:80 rr`.
    #[rustfmt::skip]
    let mut want: Vec<u8> = vec![
        0x68, 0, 0, 0,  0x24, 0,  0x05, 0,  1, 0, 0, 0,  0, 0, 0, 0, // nlmsghdr
        1, 1, 0, 0,                                     // genlmsghdr: NEW_SERVICE v1
        0x54, 0, 0x01, 0x80,                            // IPVS_CMD_ATTR_SERVICE | NESTED
        6, 0, 1, 0, 2, 0, 0, 0,                         // AF = AF_INET
        6, 0, 2, 0, 6, 0, 0, 0,                         // PROTOCOL = TCP
        20, 0, 3, 0, 192, 168, 118, 110,                // ADDR (union nf_inet_addr)
    ];
    want.extend_from_slice(&[0; 12]);
    #[rustfmt::skip]
    want.extend_from_slice(&[
        6, 0, 4, 0, 0, 80, 0, 0,                        // PORT be16 80
        7, 0, 6, 0, b'r', b'r', 0, 0,                   // SCHED_NAME "rr"
        12, 0, 7, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // FLAGS {flags 0, mask ~0}
        8, 0, 8, 0, 0, 0, 0, 0,                         // TIMEOUT 0
        8, 0, 9, 0, 0xff, 0xff, 0xff, 0xff,             // NETMASK be32 /32
    ]);
    let mut buf = [0u8; 256];
    let n = encode_op(
        &mut buf,
        FAM,
        1,
        &IpvsOp::NewService(Service::new(vip(), Scheduler::Rr)),
    )
    .unwrap();
    assert_eq!(&buf[..n], &want[..]);
}

#[test]
fn new_dest_golden_bytes() {
    // Constructed from ip_vs.h: real server 192.168.118.131:80, Route, weight 1.
    let d = Dest::new(
        IpAddr::V4(Ipv4Addr::new(192, 168, 118, 131)),
        80,
        ForwardMethod::Route,
        1,
    );
    let mut buf = [0u8; 512];
    let n = encode_op(&mut buf, FAM, 2, &IpvsOp::NewDest(vip(), d)).unwrap();
    let h = Header::parse(&buf).unwrap();
    assert_eq!((h.len as usize, h.kind, h.flags, h.seq), (n, FAM, 5, 2));
    assert_eq!(&buf[16..20], &[cmd::NEW_DEST, 1, 0, 0]);
    // service key nest: 4 + AF 8 + PROTO 8 + ADDR 20 + PORT 8 = 48
    assert_eq!(&buf[20..24], &[48, 0, 1, 0x80]);
    let dest = &buf[68..n];
    #[rustfmt::skip]
    let mut want: Vec<u8> = vec![
        72, 0, 2, 0x80,                                 // IPVS_CMD_ATTR_DEST | NESTED
        20, 0, 1, 0, 192, 168, 118, 131,                // ADDR
    ];
    want.extend_from_slice(&[0; 12]);
    #[rustfmt::skip]
    want.extend_from_slice(&[
        6, 0, 2, 0, 0, 80, 0, 0,                        // PORT
        6, 0, 11, 0, 2, 0, 0, 0,                        // ADDR_FAMILY
        8, 0, 3, 0, 3, 0, 0, 0,                         // FWD_METHOD = DROUTE
        8, 0, 4, 0, 1, 0, 0, 0,                         // WEIGHT 1
        8, 0, 5, 0, 0, 0, 0, 0,                         // U_THRESH
        8, 0, 6, 0, 0, 0, 0, 0,                         // L_THRESH
    ]);
    assert_eq!(dest, &want[..]);
}

fn payload(buf: &[u8], n: usize) -> &[u8] {
    &buf[NLMSG_HDRLEN..n]
}

/// Builds a kernel-style dump message: genl NEW_* with one nested attribute.
fn kernel_msg(
    buf: &mut [u8],
    command: u8,
    nest_kind: u16,
    fill: impl FnOnce(&mut MessageBuilder<'_>),
) -> usize {
    let mut b = MessageBuilder::new(buf, FAM, 2, 1).unwrap();
    b.put_header(&[command, 1, 0, 0]).unwrap();
    let nest = b.begin_nested(nest_kind).unwrap();
    fill(&mut b);
    b.end_nested(nest).unwrap();
    b.finish()
}

#[test]
fn service_round_trips_for_every_scheduler_and_family() {
    let keys = [
        vip(),
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            port: 443,
        },
        ServiceKey::Fwmark {
            af: AddrFamily::V4,
            mark: 7,
        },
        ServiceKey::Fwmark {
            af: AddrFamily::V6,
            mark: 9,
        },
    ];
    for key in keys {
        for sched in Scheduler::KNOWN {
            let mut s = Service::new(key, sched)
                .persistent(300, if key.af() == AddrFamily::V4 { 24 } else { 64 });
            s.flags |= flags::SH_FALLBACK | flags::SH_PORT;
            s.pe_name = Some(ShortName::try_from("sip").unwrap());
            let mut buf = [0u8; 512];
            let n = encode_op(&mut buf, FAM, 3, &IpvsOp::SetService(s.clone())).unwrap();
            // A SET request carries the same nested service the kernel dumps.
            let (hdr, attrs) = GenlHeader::parse(payload(&buf, n)).unwrap();
            assert_eq!(hdr.cmd, cmd::SET_SERVICE);
            let nest = Attrs::new(attrs).next().unwrap().unwrap();
            assert_eq!(parse_service(nest.payload).unwrap(), s);
        }
    }
}

#[test]
fn kernel_service_reply_strips_hashed_flag_and_ignores_stats() {
    let mut buf = [0u8; 512];
    let n = kernel_msg(&mut buf, cmd::NEW_SERVICE, cmd_attr::SERVICE, |b| {
        b.attr_u16(svc_attr::AF, 2).unwrap();
        b.attr_u16(svc_attr::PROTOCOL, 17).unwrap();
        b.attr(
            svc_attr::ADDR,
            &[10, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        )
        .unwrap();
        b.attr_be16(svc_attr::PORT, 53).unwrap();
        b.attr_str(svc_attr::SCHED_NAME, "twos").unwrap();
        b.attr(svc_attr::FLAGS, &[3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])
            .unwrap();
        b.attr_u32(svc_attr::TIMEOUT, 60).unwrap();
        b.attr(svc_attr::NETMASK, &[255, 255, 255, 0]).unwrap();
        let st = b.begin_nested(svc_attr::STATS).unwrap();
        b.attr_u32(1, 99).unwrap();
        b.end_nested(st).unwrap();
    });
    let IpvsReply::Service(s, st) = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap() else {
        panic!("not a service");
    };
    assert_eq!(s.key.to_string(), "UDP 10.0.0.100:53");
    assert_eq!(
        s.scheduler,
        Scheduler::Other(ShortName::try_from("twos").unwrap())
    );
    assert_eq!(s.flags, flags::PERSISTENT);
    assert_eq!((s.timeout, s.prefix_len), (60, 24));
    // The 32-bit STATS of an old kernel still count.
    assert_eq!(st.totals.connections, 99);
    for cut in NLMSG_HDRLEN..n {
        let _ = parse_reply(&buf[NLMSG_HDRLEN..cut], AddrFamily::V4);
    }
}

#[test]
fn dest_round_trips_including_tunnel_and_stats() {
    let mut d = Dest::new(
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        8080,
        ForwardMethod::Tunnel(TunnelType::Gue { port: 6080 }),
        5,
    );
    d.tunnel_flags = TUN_FLAG_CSUM;
    d.upper_threshold = 100;
    d.lower_threshold = 10;
    let mut buf = [0u8; 512];
    let n = kernel_msg(&mut buf, cmd::NEW_DEST, cmd_attr::DEST, |b| {
        b.attr(dest_attr::ADDR, &Ipv6Addr::LOCALHOST.octets())
            .unwrap();
        b.attr_be16(dest_attr::PORT, 8080).unwrap();
        b.attr_u32(dest_attr::FWD_METHOD, 2).unwrap();
        b.attr_u32(dest_attr::WEIGHT, 5).unwrap();
        b.attr_u32(dest_attr::U_THRESH, 100).unwrap();
        b.attr_u32(dest_attr::L_THRESH, 10).unwrap();
        b.attr_u32(dest_attr::ACTIVE_CONNS, 3).unwrap();
        b.attr_u32(dest_attr::INACT_CONNS, 4).unwrap();
        b.attr_u32(dest_attr::PERSIST_CONNS, 5).unwrap();
        b.attr_u16(dest_attr::ADDR_FAMILY, 10).unwrap();
        b.attr_u8(dest_attr::TUN_TYPE, 1).unwrap();
        b.attr_be16(dest_attr::TUN_PORT, 6080).unwrap();
        b.attr_u16(dest_attr::TUN_FLAGS, 1).unwrap();
    });
    // service family V4 but ADDR_FAMILY says V6 (mixed-family tunnel)
    let IpvsReply::Dest(got, stats) = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap() else {
        panic!("not a dest");
    };
    assert_eq!(got, d);
    assert_eq!(
        stats,
        DestStats {
            active_conns: 3,
            inactive_conns: 4,
            persist_conns: 5,
            totals: TrafficTotals::default(),
            rates: TrafficRates::default(),
        }
    );
    // And our own encoding decodes to the same destination.
    let n = encode_op(&mut buf, FAM, 1, &IpvsOp::SetDest(vip(), d)).unwrap();
    let (_, attrs) = GenlHeader::parse(payload(&buf, n)).unwrap();
    let dest_nest = Attrs::new(attrs).nth(1).unwrap().unwrap();
    assert_eq!(parse_dest(dest_nest.payload, AddrFamily::V4).unwrap().0, d);
    for cut in NLMSG_HDRLEN..n {
        let _ = parse_reply(&buf[NLMSG_HDRLEN..cut], AddrFamily::V6);
    }
}

#[test]
fn old_kernel_dest_without_family_uses_service_family() {
    let mut buf = [0u8; 256];
    let n = kernel_msg(&mut buf, cmd::NEW_DEST, cmd_attr::DEST, |b| {
        b.attr(
            dest_attr::ADDR,
            &[10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        )
        .unwrap();
        b.attr_be16(dest_attr::PORT, 80).unwrap();
        b.attr_u32(dest_attr::FWD_METHOD, 0).unwrap();
    });
    let IpvsReply::Dest(d, _) = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap() else {
        panic!()
    };
    assert_eq!(d.key.to_string(), "10.1.2.3:80");
    assert_eq!(d.forward, ForwardMethod::Masq);
}

#[test]
fn missing_and_bad_attributes_are_typed_errors() {
    let mut buf = [0u8; 256];
    let n = kernel_msg(&mut buf, cmd::NEW_SERVICE, cmd_attr::SERVICE, |b| {
        b.attr_u16(svc_attr::AF, 2).unwrap();
        b.attr_u32(svc_attr::FWMARK, 1).unwrap();
    });
    assert_eq!(
        parse_reply(payload(&buf, n), AddrFamily::V4),
        Err(DecodeError::Missing("IPVS_SVC_ATTR_SCHED_NAME"))
    );
    let n = kernel_msg(&mut buf, cmd::NEW_SERVICE, cmd_attr::SERVICE, |b| {
        b.attr_u16(svc_attr::AF, 99).unwrap();
    });
    assert_eq!(
        parse_reply(payload(&buf, n), AddrFamily::V4),
        Err(DecodeError::BadValue("IPVS_SVC_ATTR_AF"))
    );
    let n = kernel_msg(&mut buf, cmd::NEW_DEST, cmd_attr::DEST, |b| {
        b.attr(dest_attr::ADDR, &[1, 2]).unwrap();
        b.attr_be16(dest_attr::PORT, 80).unwrap();
        b.attr_u32(dest_attr::FWD_METHOD, 0).unwrap();
    });
    assert!(matches!(
        parse_reply(payload(&buf, n), AddrFamily::V4),
        Err(DecodeError::BadAttribute {
            what: "IPVS_DEST_ATTR_ADDR",
            len: 2
        })
    ));
}

#[test]
fn daemon_config_and_info() {
    let d = SyncDaemon {
        state: SyncState::Backup,
        interface: ShortName::try_from("ens224").unwrap(),
        sync_id: 51,
        max_len: Some(1400),
        group: Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81))),
        port: Some(8848),
        ttl: Some(2),
    };
    let mut buf = [0u8; 256];
    let n = encode_new_daemon(&mut buf, FAM, 1, &d).unwrap();
    let (hdr, attrs) = GenlHeader::parse(payload(&buf, n)).unwrap();
    assert_eq!(hdr.cmd, cmd::NEW_DAEMON);
    let nest = Attrs::new(attrs).next().unwrap().unwrap();
    assert_eq!(parse_daemon(nest.payload).unwrap(), d);
    // DEL_DAEMON carries only the state.
    let n = encode_del_daemon(&mut buf, FAM, 1, SyncState::Master).unwrap();
    assert_eq!(&buf[20..n], &[12, 0, 3, 0x80, 8, 0, 1, 0, 1, 0, 0, 0]);

    let t = Timeouts {
        tcp: 900,
        tcp_fin: 0,
        udp: 300,
    };
    let n = encode_set_config(&mut buf, FAM, 1, &t).unwrap();
    assert_eq!(n, 20 + 16, "zero timeouts are left out");
    // A GET_CONFIG reply uses command SET_CONFIG with the three attributes.
    let mut b = MessageBuilder::new(&mut buf, FAM, 0, 1).unwrap();
    b.put_header(&[cmd::SET_CONFIG, 1, 0, 0]).unwrap();
    b.attr_u32(cmd_attr::TIMEOUT_TCP, 900).unwrap();
    b.attr_u32(cmd_attr::TIMEOUT_TCP_FIN, 120).unwrap();
    b.attr_u32(cmd_attr::TIMEOUT_UDP, 300).unwrap();
    let n = b.finish();
    assert_eq!(
        parse_reply(payload(&buf, n), AddrFamily::V4).unwrap(),
        IpvsReply::Timeouts(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        })
    );
    let mut b = MessageBuilder::new(&mut buf, FAM, 0, 1).unwrap();
    b.put_header(&[cmd::SET_INFO, 1, 0, 0]).unwrap();
    b.attr_u32(info_attr::VERSION, 0x010201).unwrap();
    b.attr_u32(info_attr::CONN_TAB_SIZE, 4096).unwrap();
    let n = b.finish();
    assert_eq!(
        parse_reply(payload(&buf, n), AddrFamily::V4).unwrap(),
        IpvsReply::Info(Info {
            version: 0x010201,
            conn_tab_size: 4096
        })
    );
}

#[test]
fn requests_without_bodies_and_dump_flags() {
    type Enc = fn(&mut [u8], u16, u32) -> Result<usize, EncodeError>;
    let cases: [(Enc, u8, u16); 5] = [
        (encode_get_info, cmd::GET_INFO, 5),
        (encode_get_config, cmd::GET_CONFIG, 5),
        (encode_get_daemon, cmd::GET_DAEMON, 0x301),
        (encode_dump_services, cmd::GET_SERVICE, 0x301),
        (encode_flush, cmd::FLUSH, 5),
    ];
    let mut buf = [0u8; 128];
    for (enc, command, fl) in cases {
        assert_eq!(enc(&mut buf, FAM, 1).unwrap(), 20);
        assert_eq!(Header::parse(&buf).unwrap().flags, fl);
        assert_eq!(buf[16], command);
    }
    let n = encode_dump_dests(
        &mut buf,
        FAM,
        4,
        &ServiceKey::Fwmark {
            af: AddrFamily::V6,
            mark: 3,
        },
    )
    .unwrap();
    assert_eq!(
        &buf[20..n],
        &[20, 0, 1, 0x80, 6, 0, 1, 0, 10, 0, 0, 0, 8, 0, 5, 0, 3, 0, 0, 0]
    );
}

#[test]
fn op_display_names_the_objects() {
    let d = Dest::new(
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        80,
        ForwardMethod::Masq,
        1,
    );
    let k = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)),
        port: 80,
    };
    assert_eq!(
        IpvsOp::NewDest(k, d).to_string(),
        "NewDest 10.0.0.2:80 in TCP 10.0.0.100:80"
    );
    assert_eq!(
        IpvsOp::DelService(ServiceKey::Fwmark {
            af: AddrFamily::V6,
            mark: 1
        })
        .to_string(),
        "DelService FWM 1 IPv6"
    );
}

/// Kernel 6.1's dest dump carries both STATS (u32 counters) and STATS64: the
/// 64-bit one wins, whatever the order; a kernel with only STATS still counts.
#[test]
fn dest_traffic_totals_from_stats64_and_stats() {
    let fill_stats = |b: &mut MessageBuilder<'_>, kind: u16, wide: bool, base: u64| {
        let nest = b.begin_nested(kind).unwrap();
        for (attr, v) in [(1u16, base), (2, base + 1), (3, base + 2)] {
            if wide {
                b.attr(attr, &v.to_ne_bytes()).unwrap();
            } else {
                b.attr_u32(attr, v as u32).unwrap();
            }
        }
        b.attr(4, &(base + 3).to_ne_bytes()).unwrap();
        b.attr(5, &(base + 4).to_ne_bytes()).unwrap();
        // CPS (a rate), as wide as the rest.
        if wide {
            b.attr(6, &77u64.to_ne_bytes()).unwrap();
        } else {
            b.attr_u32(6, 77).unwrap();
        }
        b.end_nested(nest).unwrap();
    };
    let mut buf = [0u8; 512];
    let n = kernel_msg(&mut buf, cmd::NEW_DEST, cmd_attr::DEST, |b| {
        b.attr(
            dest_attr::ADDR,
            &[10, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        )
        .unwrap();
        b.attr_be16(dest_attr::PORT, 80).unwrap();
        b.attr_u32(dest_attr::FWD_METHOD, 2).unwrap();
        fill_stats(b, dest_attr::STATS64, true, 5_000_000_000);
        fill_stats(b, dest_attr::STATS, false, 9);
    });
    let IpvsReply::Dest(_, stats) = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap() else {
        panic!("not a dest");
    };
    assert_eq!(
        stats.totals,
        TrafficTotals {
            connections: 5_000_000_000,
            packets_in: 5_000_000_001,
            packets_out: 5_000_000_002,
            bytes_in: 5_000_000_003,
            bytes_out: 5_000_000_004,
        }
    );
    let n = kernel_msg(&mut buf, cmd::NEW_DEST, cmd_attr::DEST, |b| {
        b.attr(
            dest_attr::ADDR,
            &[10, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        )
        .unwrap();
        b.attr_be16(dest_attr::PORT, 80).unwrap();
        b.attr_u32(dest_attr::FWD_METHOD, 2).unwrap();
        fill_stats(b, dest_attr::STATS, false, 9);
    });
    let IpvsReply::Dest(_, stats) = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap() else {
        panic!("not a dest");
    };
    assert_eq!(stats.totals.connections, 9);
    assert_eq!(stats.totals.bytes_out, 13);
    // A counter of the wrong width is a typed error, not a guess.
    let n = kernel_msg(&mut buf, cmd::NEW_DEST, cmd_attr::DEST, |b| {
        b.attr(
            dest_attr::ADDR,
            &[10, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        )
        .unwrap();
        b.attr_be16(dest_attr::PORT, 80).unwrap();
        b.attr_u32(dest_attr::FWD_METHOD, 2).unwrap();
        fill_stats(b, dest_attr::STATS64, false, 9);
    });
    assert!(parse_reply(payload(&buf, n), AddrFamily::V4).is_err());
}

/// Writes a kernel-shaped statistics nest: STATS64 has every value as u64
/// behind a PAD attribute; STATS has u32 values except the byte totals
/// (ip_vs_genl_fill_stats64 / ip_vs_genl_fill_stats).
fn stats_nest(b: &mut MessageBuilder<'_>, kind: u16, wide: bool, base: u64) {
    let nest = b.begin_nested(kind).unwrap();
    if wide {
        b.attr(stats_attr::PAD, &[]).unwrap();
    }
    for attr in 1u16..=10 {
        let v = base + u64::from(attr);
        if wide || matches!(attr, stats_attr::INBYTES | stats_attr::OUTBYTES) {
            b.attr(attr, &v.to_ne_bytes()).unwrap();
        } else {
            b.attr_u32(attr, v as u32).unwrap();
        }
    }
    b.end_nested(nest).unwrap();
}

fn service_with(buf: &mut [u8], stats: impl FnOnce(&mut MessageBuilder<'_>)) -> usize {
    kernel_msg(buf, cmd::NEW_SERVICE, cmd_attr::SERVICE, |b| {
        b.attr_u16(svc_attr::AF, 2).unwrap();
        b.attr_u16(svc_attr::PROTOCOL, 6).unwrap();
        b.attr(
            svc_attr::ADDR,
            &[10, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        )
        .unwrap();
        b.attr_be16(svc_attr::PORT, 80).unwrap();
        b.attr_str(svc_attr::SCHED_NAME, "rr").unwrap();
        b.attr(svc_attr::FLAGS, &[2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])
            .unwrap();
        stats(b);
    })
}

/// A service's STATS64 gives totals and rates; it wins over STATS in either order.
#[test]
fn service_stats64_totals_and_rates() {
    let mut buf = [0u8; 1024];
    for order in [true, false] {
        let n = service_with(&mut buf, |b| {
            if order {
                stats_nest(b, svc_attr::STATS64, true, 6_000_000_000);
                stats_nest(b, svc_attr::STATS, false, 7);
            } else {
                stats_nest(b, svc_attr::STATS, false, 7);
                stats_nest(b, svc_attr::STATS64, true, 6_000_000_000);
            }
        });
        let IpvsReply::Service(s, st) = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap()
        else {
            panic!("not a service");
        };
        assert_eq!(s.key.to_string(), "TCP 10.0.0.100:80");
        let b = 6_000_000_000;
        assert_eq!(
            st,
            TrafficStats {
                totals: TrafficTotals {
                    connections: b + 1,
                    packets_in: b + 2,
                    packets_out: b + 3,
                    bytes_in: b + 4,
                    bytes_out: b + 5,
                },
                rates: TrafficRates {
                    connections: b + 6,
                    packets_in: b + 7,
                    packets_out: b + 8,
                    bytes_in: b + 9,
                    bytes_out: b + 10,
                },
            },
            "STATS64 first: {order}"
        );
    }
    // Only the old STATS: u32 counters and rates, u64 bytes.
    let n = service_with(&mut buf, |b| stats_nest(b, svc_attr::STATS, false, 7));
    let IpvsReply::Service(_, st) = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap() else {
        panic!("not a service");
    };
    assert_eq!(st.totals.connections, 8);
    assert_eq!(st.totals.bytes_out, 12);
    assert_eq!(st.rates.bytes_out, 17);
    // No statistics at all: zeros, not an error.
    let n = service_with(&mut buf, |_| {});
    let IpvsReply::Service(_, st) = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap() else {
        panic!("not a service");
    };
    assert_eq!(st, TrafficStats::default());
}

/// Destination rates come from the same STATS64 nest as its totals.
#[test]
fn dest_rates_from_stats64() {
    let mut buf = [0u8; 1024];
    let n = kernel_msg(&mut buf, cmd::NEW_DEST, cmd_attr::DEST, |b| {
        b.attr(
            dest_attr::ADDR,
            &[10, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        )
        .unwrap();
        b.attr_be16(dest_attr::PORT, 80).unwrap();
        b.attr_u32(dest_attr::FWD_METHOD, 2).unwrap();
        b.attr_u32(dest_attr::ACTIVE_CONNS, 4).unwrap();
        b.attr_u32(dest_attr::INACT_CONNS, 9).unwrap();
        stats_nest(b, dest_attr::STATS64, true, 100);
    });
    let IpvsReply::Dest(_, st) = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap() else {
        panic!("not a dest");
    };
    assert_eq!((st.active_conns, st.inactive_conns), (4, 9));
    assert_eq!(st.totals.connections, 101);
    assert_eq!(
        st.rates,
        TrafficRates {
            connections: 106,
            packets_in: 107,
            packets_out: 108,
            bytes_in: 109,
            bytes_out: 110,
        }
    );
}

/// Malformed statistics are typed errors that name the attribute: a value
/// of the wrong width, a nest cut short, an attribute longer than its nest.
/// Every truncation of a whole reply is an error or a value, never a panic.
#[test]
fn malformed_service_stats_are_named_errors() {
    let mut buf = [0u8; 1024];
    // A u32 where STATS64 has u64 (a rate).
    let n = service_with(&mut buf, |b| {
        let nest = b.begin_nested(svc_attr::STATS64).unwrap();
        b.attr(stats_attr::CONNS, &1u64.to_ne_bytes()).unwrap();
        b.attr_u32(stats_attr::CPS, 1).unwrap();
        b.end_nested(nest).unwrap();
    });
    let err = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap_err();
    assert!(
        err.to_string().contains("IPVS_SVC_ATTR_STATS64"),
        "names the attribute: {err}"
    );
    // A u64 where the old STATS has u32 (connections).
    let n = service_with(&mut buf, |b| {
        let nest = b.begin_nested(svc_attr::STATS).unwrap();
        b.attr(stats_attr::CONNS, &1u64.to_ne_bytes()).unwrap();
        b.end_nested(nest).unwrap();
    });
    let err = parse_reply(payload(&buf, n), AddrFamily::V4).unwrap_err();
    assert!(err.to_string().contains("IPVS_SVC_ATTR_STATS"), "{err}");
    // Bytes of 3 in the old STATS (must be u64 there too).
    let n = service_with(&mut buf, |b| {
        let nest = b.begin_nested(svc_attr::STATS).unwrap();
        b.attr(stats_attr::INBYTES, &[1, 2, 3]).unwrap();
        b.end_nested(nest).unwrap();
    });
    assert!(parse_reply(payload(&buf, n), AddrFamily::V4).is_err());
    // A nested attribute whose length runs past its nest.
    let n = service_with(&mut buf, |b| {
        // Inside STATS64: an attribute header claiming 0x40 bytes, 8 there.
        b.attr(svc_attr::STATS64, &[0x40, 0, 1, 0, 0, 0, 0, 0])
            .unwrap();
    });
    let got = parse_reply(payload(&buf, n), AddrFamily::V4);
    assert!(got.is_err(), "overrun accepted: {got:?}");
    // Every cut of a good reply: no panic.
    let n = service_with(&mut buf, |b| stats_nest(b, svc_attr::STATS64, true, 1));
    for cut in NLMSG_HDRLEN..n {
        let _ = parse_reply(&buf[NLMSG_HDRLEN..cut], AddrFamily::V4);
    }
}

/// /proc/net/ip_vs_stats as a 6.1 kernel prints it (ip_vs_stats_show), hex.
#[test]
fn proc_stats_are_decoded_and_malformed_ones_named() {
    let text = "   Total Incoming Outgoing         Incoming         Outgoing\n\
                \x20  Conns  Packets  Packets            Bytes            Bytes\n\
                \x20     1F      3E8        0            186A0                0\n\
                \n\
                \x20Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n\
                \x20      2       10        0              400                0\n";
    let st = parse_proc_stats(text).unwrap();
    assert_eq!(
        st.totals,
        TrafficTotals {
            connections: 31,
            packets_in: 1000,
            packets_out: 0,
            bytes_in: 100_000,
            bytes_out: 0,
        }
    );
    assert_eq!(st.rates.packets_in, 16);
    assert_eq!(st.rates.bytes_in, 1024);
    let short = parse_proc_stats("a\nb\n").unwrap_err().to_string();
    assert!(short.contains("totals: line 3 missing"), "{short}");
    let bad = parse_proc_stats(&text.replace("3E8", "xyz"))
        .unwrap_err()
        .to_string();
    assert!(bad.contains("\"xyz\" is not a hex number"), "{bad}");
    let few = parse_proc_stats(&text.replace("186A0", ""))
        .unwrap_err()
        .to_string();
    assert!(few.contains("4 fields, not 5"), "{few}");
    let no_rates = parse_proc_stats(&text.lines().take(3).collect::<Vec<_>>().join("\n"));
    assert_eq!(
        no_rates.unwrap_err(),
        ProcStatsError::Missing {
            what: "rates",
            line: 6
        }
    );
}
