//! Fuzz target: the VRRP advert parser and receive checks must never panic, and what they accept must survive emit and re-parse.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use lvsd::vrrp::receive::{receive_check, receive_check_ipv4, Expectation, ReceiveMeta};
use lvsd::wire::vrrp::{
    AddressList, Auth, Family, Packet, Repr, Version, MULTICAST_V4, MULTICAST_V6,
};

fuzz_target!(|data: &[u8]| {
    // First byte: which IP context and expectations; the rest: the VRRP message.
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let (src, dst) = if selector & 1 == 0 {
        (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), IpAddr::V4(MULTICAST_V4))
    } else {
        (IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)), IpAddr::V6(MULTICAST_V6))
    };
    let meta = ReceiveMeta {
        src,
        dst,
        ttl: if selector & 2 == 0 { 255 } else { selector },
        ah: selector & 8 != 0,
    };
    let vips = [src];
    // Bit 2: a unicast instance whose peer is the source.
    let peers = [src];
    let expect = Expectation {
        version: if selector & 16 == 0 { Version::V2 } else { Version::V3 },
        auth: match selector >> 5 {
            0 => Auth::None,
            1 => Auth::ah(b"1111"),
            _ => Auth::pass(b"1111"),
        },
        advert_interval_cs: 100,
        vips: &vips,
        peers: if selector & 4 != 0 { &peers } else { &[] },
        ah_sequence: u32::from(selector),
    };
    let _ = receive_check(payload, &meta, |vrid| (vrid & 1 == 0).then_some(expect));
    // The same bytes as a whole IPv4 datagram (AH adverts are verified
    // against their IPv4 header): the first 20 bytes are the header.
    if let Some((header, rest)) = payload.split_at_checked(20) {
        let _ = receive_check_ipv4(header, rest, &meta, |vrid| (vrid & 1 == 0).then_some(expect));
    }

    let family = Family::of(src);
    let Ok(packet) = Packet::new_checked(payload, family) else {
        return;
    };
    let Ok(repr) = Repr::parse(&packet, src, dst) else {
        return;
    };
    let addresses: Vec<IpAddr> = repr.addresses.iter().collect();
    assert_eq!(addresses.len(), usize::from(packet.address_count()));
    let out = Repr {
        addresses: AddressList::Slice(&addresses),
        ..repr
    };
    let mut buf = vec![0u8; out.buffer_len(family)];
    if let Ok(len) = out.emit(&mut buf, src, dst) {
        let again = Packet::new_checked(&buf[..len], family).expect("emitted advert is long enough");
        let back = Repr::parse(&again, src, dst).expect("emitted advert parses");
        assert_eq!(back.vrid, repr.vrid);
        assert_eq!(back.priority, repr.priority);
        assert_eq!(back.advert_interval_cs, repr.advert_interval_cs);
        assert_eq!(back.addresses, repr.addresses);
    }
});
