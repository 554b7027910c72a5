//! Unsolicited Neighbor Advertisements (RFC 4861 section 7.2.6) with the Override flag, sent by a new VRRP master for each IPv6 VIP.
//!
//! Two forms: the ICMPv6 message alone (for an ICMPv6 raw socket, where the
//! kernel adds the IPv6 header) and a whole Ethernet + IPv6 frame (for a packet
//! socket). Both match what keepalived sends: source = VIP, destination ff02::1,
//! hop limit 255, target link-layer address option.

use std::net::{IpAddr, Ipv6Addr};

use crate::wire::checksum::{checksum, pseudo_header_sum};

/// Length of the ICMPv6 NA message with one target link-layer address option.
pub const ICMP_LEN: usize = 32;
/// Length of the IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// Length of the Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Length of the whole Ethernet frame.
pub const FRAME_LEN: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + ICMP_LEN;
/// All-nodes multicast address, the destination of an unsolicited NA.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IPv6 next-header number of ICMPv6.
pub const NEXT_HEADER_ICMPV6: u8 = 58;
/// Hop limit required for neighbor discovery (RFC 4861 section 7.1.2).
pub const HOP_LIMIT: u8 = 255;

const TYPE_NEIGHBOR_ADVERTISEMENT: u8 = 136;
const FLAG_ROUTER: u8 = 0x80;
const FLAG_OVERRIDE: u8 = 0x20;
const OPTION_TARGET_LINK_LAYER: u8 = 2;

/// The output buffer is too short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferTooShort;

impl core::fmt::Display for BufferTooShort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("unsolicited NA: buffer too short")
    }
}

/// Write the ICMPv6 NA for `vip` (Override set; Router set when `router`), checksum
/// computed for source `vip` and destination ff02::1; returns [`ICMP_LEN`].
pub fn emit_unsolicited_na(
    buffer: &mut [u8],
    mac: [u8; 6],
    vip: Ipv6Addr,
    router: bool,
) -> Result<usize, BufferTooShort> {
    let out = buffer.get_mut(..ICMP_LEN).ok_or(BufferTooShort)?;
    out.fill(0);
    out[0] = TYPE_NEIGHBOR_ADVERTISEMENT;
    out[4] = FLAG_OVERRIDE | if router { FLAG_ROUTER } else { 0 };
    out[8..24].copy_from_slice(&vip.octets());
    out[24] = OPTION_TARGET_LINK_LAYER;
    out[25] = 1; // length in units of 8 bytes
    out[26..32].copy_from_slice(&mac);
    let acc = pseudo_header_sum(
        IpAddr::V6(vip),
        IpAddr::V6(ALL_NODES),
        NEXT_HEADER_ICMPV6,
        ICMP_LEN,
    );
    let sum = checksum(acc, out);
    out[2..4].copy_from_slice(&sum.to_be_bytes());
    Ok(ICMP_LEN)
}

/// Write a whole Ethernet + IPv6 + NA frame to 33:33:00:00:00:01; returns [`FRAME_LEN`].
pub fn emit_unsolicited_na_frame(
    buffer: &mut [u8],
    mac: [u8; 6],
    vip: Ipv6Addr,
    router: bool,
) -> Result<usize, BufferTooShort> {
    let out = buffer.get_mut(..FRAME_LEN).ok_or(BufferTooShort)?;
    out[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    out[6..12].copy_from_slice(&mac);
    out[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    let ip = &mut out[ETHERNET_HEADER_LEN..];
    ip[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
    ip[4..6].copy_from_slice(&(ICMP_LEN as u16).to_be_bytes());
    ip[6] = NEXT_HEADER_ICMPV6;
    ip[7] = HOP_LIMIT;
    ip[8..24].copy_from_slice(&vip.octets());
    ip[24..40].copy_from_slice(&ALL_NODES.octets());
    emit_unsolicited_na(&mut ip[IPV6_HEADER_LEN..], mac, vip, router)?;
    Ok(FRAME_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::vrrp::pcap_frames;

    const V3_IPV6: &[u8] = include_bytes!("../../tests/fixtures/vrrp/v3_ipv6.pcap");

    #[test]
    fn matches_keepalived_na_byte_for_byte() {
        let nas: Vec<&[u8]> = pcap_frames(V3_IPV6)
            .into_iter()
            .filter(|f| {
                f.len() > 54 && f[20] == NEXT_HEADER_ICMPV6 && f[54] == TYPE_NEIGHBOR_ADVERTISEMENT
            })
            .collect();
        assert!(!nas.is_empty(), "fixture holds NAs");
        let vip: Ipv6Addr = "fd00:200::110".parse().unwrap();
        let mut buf = [0u8; 128];
        let len = emit_unsolicited_na_frame(&mut buf, [2, 0, 0, 0, 0, 1], vip, false).unwrap();
        for frame in nas {
            assert_eq!(&buf[..len], frame);
        }
        let mut icmp = [0u8; ICMP_LEN];
        emit_unsolicited_na(&mut icmp, [2, 0, 0, 0, 0, 1], vip, false).unwrap();
        assert_eq!(&icmp[..], &buf[ETHERNET_HEADER_LEN + IPV6_HEADER_LEN..len]);
    }

    #[test]
    fn router_flag_changes_flags_and_checksum() {
        let vip: Ipv6Addr = "fd00::1".parse().unwrap();
        let mut a = [0u8; ICMP_LEN];
        let mut b = [0u8; ICMP_LEN];
        emit_unsolicited_na(&mut a, [2; 6], vip, false).unwrap();
        emit_unsolicited_na(&mut b, [2; 6], vip, true).unwrap();
        assert_eq!(a[4], 0x20);
        assert_eq!(b[4], 0xa0);
        assert_ne!(a[2..4], b[2..4]);
        assert_eq!(
            emit_unsolicited_na_frame(&mut [0u8; 10], [0; 6], vip, false),
            Err(BufferTooShort)
        );
    }
}
