//! Fuzz target: the AH codec and the receive checks of an AH datagram must never panic, and an emitted datagram must verify.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use lvsd::vrrp::receive::{receive_check_ipv4, Expectation, ReceiveMeta};
use lvsd::wire::ah;
use lvsd::wire::vrrp::{split_ipv4, AddressList, Auth, Repr, Version, MULTICAST_V4};

fuzz_target!(|data: &[u8]| {
    let key = [b'k'; ah::KEY_LEN];
    // Anything as a datagram: split, then every check.
    if let Ok((header, payload)) = split_ipv4(data) {
        let ihl = usize::from(data[0] & 0x0f) * 4;
        let meta = ReceiveMeta {
            src: IpAddr::V4(header.src),
            dst: IpAddr::V4(header.dst),
            ttl: header.ttl,
            ah: header.protocol == 51,
        };
        let vips = [IpAddr::V4(header.src)];
        let expect = Expectation {
            version: Version::V2,
            auth: Auth::Ah(key),
            advert_interval_cs: 100,
            vips: &vips,
            peers: &[],
            ah_sequence: u32::from(header.ttl),
        };
        let _ = receive_check_ipv4(&data[..ihl], payload, &meta, |_| Some(expect));
        if let Ok(p) = ah::Packet::new_checked(payload) {
            let _ = ah::Repr::parse(&p);
            let _ = ah::icv(&key, &data[..ihl], payload, header.ttl & 1 == 0);
        }
    }
    // The first bytes as fields of an advert lvsd would send: it must verify.
    if data.len() < 8 {
        return;
    }
    let src = Ipv4Addr::new(10, data[0], data[1], 1);
    let vips = [IpAddr::V4(Ipv4Addr::new(10, data[2], data[3], 100))];
    let repr = Repr {
        version: Version::V2,
        vrid: data[4].max(1),
        priority: data[5],
        advert_interval_cs: 100,
        auth: Auth::Ah(key),
        addresses: AddressList::Slice(&vips),
    };
    let sequence = u32::from_be_bytes([data[4], data[5], data[6], data[7]]).max(1);
    let mut buf = [0u8; 128];
    let dst = IpAddr::V4(MULTICAST_V4);
    let len = repr.emit(&mut buf[ah::VRRP_OFFSET..], IpAddr::V4(src), dst).unwrap();
    let fields = ah::Ipv4Fields {
        src,
        dst: MULTICAST_V4,
        ttl: 255,
        tos: 0xc0,
        ident: 1,
    };
    let total = ah::emit_ipv4_datagram(&mut buf, &fields, sequence, &key, false, len).unwrap();
    let meta = ReceiveMeta {
        src: IpAddr::V4(src),
        dst,
        ttl: 255,
        ah: true,
    };
    let expect = Expectation {
        version: Version::V2,
        auth: Auth::Ah(key),
        advert_interval_cs: 100,
        vips: &vips,
        peers: &[],
        ah_sequence: sequence - 1,
    };
    let (_, notes) = receive_check_ipv4(&buf[..20], &buf[20..total], &meta, |_| Some(expect))
        .expect("an advert lvsd emits verifies");
    assert_eq!(notes.ah_sequence, Some(sequence));
});
