//! Gratuitous ARP frames (RFC 5227 section 3 announcement style) that a new VRRP master sends for each IPv4 VIP.
//!
//! The frame is what keepalived sends: an Ethernet broadcast carrying an ARP
//! request whose sender and target protocol addresses are both the VIP and
//! whose target hardware address is the broadcast address.

use std::net::Ipv4Addr;

/// Length of the whole Ethernet frame (without FCS or padding).
pub const FRAME_LEN: usize = ETHERNET_HEADER_LEN + ARP_LEN;
/// Length of the Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Length of an Ethernet/IPv4 ARP message.
pub const ARP_LEN: usize = 28;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// The Ethernet broadcast address.
pub const BROADCAST: [u8; 6] = [0xff; 6];

const HARDWARE_ETHERNET: u16 = 1;
const PROTOCOL_IPV4: u16 = 0x0800;
const OPERATION_REQUEST: u16 = 1;

/// The output buffer is shorter than [`FRAME_LEN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferTooShort;

impl core::fmt::Display for BufferTooShort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("gratuitous ARP: buffer too short")
    }
}

/// Write a gratuitous ARP request for `vip` from interface address `mac`; returns the length.
pub fn emit_gratuitous(
    buffer: &mut [u8],
    mac: [u8; 6],
    vip: Ipv4Addr,
) -> Result<usize, BufferTooShort> {
    let out = buffer.get_mut(..FRAME_LEN).ok_or(BufferTooShort)?;
    out[0..6].copy_from_slice(&BROADCAST);
    out[6..12].copy_from_slice(&mac);
    out[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    let arp = &mut out[ETHERNET_HEADER_LEN..];
    arp[0..2].copy_from_slice(&HARDWARE_ETHERNET.to_be_bytes());
    arp[2..4].copy_from_slice(&PROTOCOL_IPV4.to_be_bytes());
    arp[4] = 6;
    arp[5] = 4;
    arp[6..8].copy_from_slice(&OPERATION_REQUEST.to_be_bytes());
    arp[8..14].copy_from_slice(&mac);
    arp[14..18].copy_from_slice(&vip.octets());
    // keepalived puts the broadcast address in the target hardware field.
    arp[18..24].copy_from_slice(&BROADCAST);
    arp[24..28].copy_from_slice(&vip.octets());
    Ok(FRAME_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::vrrp::pcap_frames;

    const V2_PASS: &[u8] = include_bytes!("../../tests/fixtures/vrrp/v2_pass.pcap");

    #[test]
    fn matches_keepalived_garp_byte_for_byte() {
        let garps: Vec<&[u8]> = pcap_frames(V2_PASS)
            .into_iter()
            .filter(|f| f[12..14] == ETHERTYPE_ARP.to_be_bytes())
            .collect();
        assert_eq!(garps.len(), 5, "garp_master_repeat 5");
        let mut buf = [0u8; 64];
        let len =
            emit_gratuitous(&mut buf, [2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 200, 0, 110)).unwrap();
        for frame in garps {
            assert_eq!(&buf[..len], frame);
        }
    }

    #[test]
    fn short_buffer_is_an_error() {
        let mut buf = [0u8; FRAME_LEN - 1];
        assert_eq!(
            emit_gratuitous(&mut buf, [0; 6], Ipv4Addr::LOCALHOST),
            Err(BufferTooShort)
        );
    }
}
