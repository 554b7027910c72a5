//! The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-header sums it covers for
//! VRRPv3 (RFC 5798 section 5.2.8), ICMPv6 (RFC 4443 section 2.3) and ICMP echo.

use std::net::{IpAddr, Ipv6Addr};

/// Adds `data` to the running ones'-complement sum `acc`, as big-endian 16-bit
/// words; an odd last byte is the high byte of a word (RFC 1071 section 4.1).
pub fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        acc += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// The checksum of `data` on top of the running sum `acc` (0, or a pseudo-header's
/// sum): folded to 16 bits and complemented. 0 over data whose checksum is correct.
pub fn checksum(acc: u32, data: &[u8]) -> u16 {
    let mut acc = sum(acc, data);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Sum of the IPv4 or IPv6 pseudo-header of an upper-layer message of `len` bytes
/// with next protocol `protocol` (an IPv4 address with an IPv6 one is taken as
/// IPv4-mapped IPv6).
pub fn pseudo_header_sum(src: IpAddr, dst: IpAddr, protocol: u8, len: usize) -> u32 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let acc = sum(sum(0, &s.octets()), &d.octets());
            acc + u32::from(protocol) + ((len as u32) & 0xffff)
        }
        _ => {
            let acc = sum(sum(0, &v6_of(src).octets()), &v6_of(dst).octets());
            let len = len as u32;
            acc + (len >> 16) + (len & 0xffff) + u32::from(protocol)
        }
    }
}

fn v6_of(addr: IpAddr) -> Ipv6Addr {
    match addr {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_and_odd_lengths() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(0, &data), !0xddf2);
        // An odd last byte counts as the high byte of a word.
        assert_eq!(checksum(0, &[0x12]), !0x1200);
        // Writing the checksum into the data makes the sum over it 0.
        let mut msg = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'x'];
        let c = checksum(0, &msg);
        msg[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(0, &msg), 0);
    }

    #[test]
    fn pseudo_headers_of_both_families() {
        let v4 = pseudo_header_sum(
            "10.0.0.1".parse().unwrap(),
            "224.0.0.18".parse().unwrap(),
            112,
            20,
        );
        assert_eq!(v4, 0x0a00 + 0x0001 + 0xe000 + 0x0012 + 112 + 20);
        let v6 = pseudo_header_sum(
            "fe80::1".parse().unwrap(),
            "ff02::12".parse().unwrap(),
            112,
            0x1_0004,
        );
        assert_eq!(v6, 0xfe80 + 1 + 0xff02 + 0x12 + 1 + 4 + 112);
    }
}
