//! Golden netlink datagrams through the public API: multipart dumps, acks and errors.
//!
//! Provenance: every datagram below is CONSTRUCTED FROM ip_vs.h / netlink.h / genetlink.h
//! (struct layouts and enum values, little-endian host). Bytes captured in the VM lab
//! (nlmon or strace of ipvsadm and of the kernel's replies) go beside them, each marked
//! "captured: <how, kernel version>".

use std::net::{IpAddr, Ipv4Addr};

use lvsd::wire::netlink::ipvs::{parse_reply, AddrFamily, ForwardMethod, IpvsReply, Scheduler};
use lvsd::wire::netlink::msg::{Messages, Reply};

/// A GET_SERVICE dump answer as the kernel frames it: two NLM_F_MULTI messages in one
/// datagram, then NLMSG_DONE in the next. Family id 0x24, seq 7, port id 0x1234.
#[rustfmt::skip]
const SERVICE_DUMP: [u8; 2 * 88] = {
    const ONE: [u8; 88] = [
        88, 0, 0, 0, 0x24, 0, 0x02, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0, // nlmsghdr MULTI
        1, 1, 0, 0,                                     // genl NEW_SERVICE v1
        68, 0, 0x01, 0x80,                              // IPVS_CMD_ATTR_SERVICE
        6, 0, 1, 0, 2, 0, 0, 0,                         // AF_INET
        6, 0, 2, 0, 6, 0, 0, 0,                         // TCP
        20, 0, 3, 0, 192, 168, 118, 110, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ADDR
        6, 0, 4, 0, 0, 80, 0, 0,                        // PORT 80
        7, 0, 6, 0, b'r', b'r', 0, 0,                   // SCHED_NAME rr
        12, 0, 7, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // FLAGS: HASHED only
    ];
    let mut out = [0u8; 176];
    let mut i = 0;
    while i < 88 {
        out[i] = ONE[i];
        out[88 + i] = ONE[i];
        i += 1;
    }
    out[88 + 47] = 111; // the second service is 192.168.118.111
    out
};

#[rustfmt::skip]
const DONE: [u8; 20] = [20, 0, 0, 0, 3, 0, 0x02, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0, 0, 0, 0, 0];

/// NLMSG_ERROR -EEXIST for seq 9 with NETLINK_CAP_ACK (only the request header echoed).
#[rustfmt::skip]
const EEXIST: [u8; 36] = [
    36, 0, 0, 0, 2, 0, 0x00, 0x01, 9, 0, 0, 0, 0x34, 0x12, 0, 0, // nlmsghdr, flags CAPPED
    0xef, 0xff, 0xff, 0xff,                             // error -17
    104, 0, 0, 0, 0x24, 0, 0x05, 0, 9, 0, 0, 0, 0, 0, 0, 0, // echoed request header
];

#[test]
fn multipart_service_dump() {
    let mut services = Vec::new();
    for m in Messages::new(&SERVICE_DUMP) {
        let m = m.unwrap();
        let Reply::Data(d) = m.reply().unwrap() else {
            panic!("data expected")
        };
        let Ok(IpvsReply::Service(s)) = parse_reply(d.payload, AddrFamily::V4) else {
            panic!("service expected")
        };
        services.push(s);
    }
    assert_eq!(services.len(), 2);
    assert_eq!(services[0].key.to_string(), "TCP 192.168.118.110:80");
    assert_eq!(services[1].key.to_string(), "TCP 192.168.118.111:80");
    assert_eq!(services[0].scheduler, Scheduler::Rr);
    assert_eq!(services[0].flags, 0, "HASHED is the kernel's, not ours");
    assert_eq!(
        services[0].prefix_len, 32,
        "no NETMASK attribute: host granularity"
    );
    let done: Vec<_> = Messages::new(&DONE)
        .map(|m| m.unwrap().reply().unwrap())
        .collect();
    assert_eq!(done, [Reply::Done { seq: 7, error: 0 }]);
}

#[test]
fn capped_error_reply() {
    let m = Messages::new(&EEXIST).next().unwrap().unwrap();
    let Reply::Error(e) = m.reply().unwrap() else {
        panic!("error expected")
    };
    assert_eq!((e.seq, e.errno), (9, 17));
    assert_eq!(e.request.unwrap().len, 104);
    assert_eq!(e.message, None);
}

#[test]
fn dest_dump_entry_with_counters() {
    use lvsd::wire::netlink::msg::MessageBuilder;
    // Built with the encoder, checked field by field against ip_vs.h's dest attributes.
    let mut buf = [0u8; 256];
    let mut b = MessageBuilder::new(&mut buf, 0x24, 2, 8).unwrap();
    b.put_header(&[5, 1, 0, 0]).unwrap();
    let n = b.begin_nested(2).unwrap();
    b.attr(1, &[192, 168, 118, 131, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        .unwrap();
    b.attr_be16(2, 80).unwrap();
    b.attr_u32(3, 3).unwrap();
    b.attr_u32(4, 1).unwrap();
    b.attr_u32(7, 12).unwrap();
    b.attr_u32(8, 30).unwrap();
    b.end_nested(n).unwrap();
    let len = b.finish();
    let m = Messages::new(&buf[..len]).next().unwrap().unwrap();
    let Ok(IpvsReply::Dest(d, st)) = parse_reply(m.payload, AddrFamily::V4) else {
        panic!("dest expected")
    };
    assert_eq!(d.key.addr, IpAddr::V4(Ipv4Addr::new(192, 168, 118, 131)));
    assert_eq!(d.forward, ForwardMethod::Route);
    assert_eq!((st.active_conns, st.inactive_conns), (12, 30));
}
