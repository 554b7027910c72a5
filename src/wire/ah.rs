//! The IPsec Authentication Header of VRRPv2 `auth_type AH` (RFC 2402, as keepalived 2.2.7 uses it): a checked view, a `Repr`, and the HMAC-MD5-96 ICV.
//!
//! keepalived's AH is not a negotiated IPsec SA: the SPI is the sender's IPv4
//! address, the key is the 8-byte `auth_pass` (zero padded), and the ICV is
//! HMAC-MD5 (RFC 2104) truncated to 96 bits (RFC 2403) over the IPv4 header
//! with its mutable fields zeroed (TOS, fragment offset and flags, header
//! checksum; the TTL too in unicast mode), the AH header with a zero ICV, and
//! the VRRP message. Nothing in this file panics on any input: accessors are
//! reached only after [`Packet::new_checked`] proved the length.

use core::fmt;
use std::net::Ipv4Addr;

use md5::{Digest, Md5};

/// Bytes of the AH header keepalived sends (12 fixed + 12 ICV).
pub const HEADER_LEN: usize = 24;
/// Bytes of the truncated HMAC-MD5 (RFC 2403 section 2).
pub const ICV_LEN: usize = 12;
/// The Payload Len field: header length in 32-bit words minus 2 (RFC 2402 section 2.2).
pub const PAYLOAD_LEN: u8 = 4;
/// Bytes of the key (keepalived's `auth_data`, the zero-padded `auth_pass`).
pub const KEY_LEN: usize = 8;
/// Largest IPv4 header (IHL 15).
const MAX_IPV4_HEADER: usize = 60;
/// HMAC block size of MD5 (RFC 2104 section 2).
const BLOCK: usize = 64;

/// Why bytes are not an AH header lvsd can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Shorter than the 24-byte header.
    Truncated,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed AH header: truncated")
    }
}

/// A view over an AH header followed by its payload.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap bytes without checking; accessors return zeros where bytes are missing.
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap bytes, proving the 24-byte header is present.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Malformed> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        Ok(Packet { buffer })
    }

    fn word(&self, at: usize) -> u32 {
        let mut b = [0u8; 4];
        if let Some(src) = self.buffer.as_ref().get(at..at + 4) {
            b.copy_from_slice(src);
        }
        u32::from_be_bytes(b)
    }

    /// Next Header: the protocol after AH (112 for VRRP).
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref().first().copied().unwrap_or(0)
    }
    /// Payload Len (4 for a 96-bit ICV).
    pub fn payload_len(&self) -> u8 {
        self.buffer.as_ref().get(1).copied().unwrap_or(0)
    }
    /// Security Parameters Index (keepalived: the sender's IPv4 address).
    pub fn spi(&self) -> u32 {
        self.word(4)
    }
    /// Sequence Number.
    pub fn sequence(&self) -> u32 {
        self.word(8)
    }
    /// The 12-byte Integrity Check Value (zeros if absent).
    pub fn icv(&self) -> [u8; ICV_LEN] {
        let mut out = [0u8; ICV_LEN];
        if let Some(src) = self.buffer.as_ref().get(12..HEADER_LEN) {
            out.copy_from_slice(src);
        }
        out
    }
    /// What follows the header (the VRRP message).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }
}

/// The fields of an AH header (the ICV is computed, not carried).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Next Header.
    pub next_header: u8,
    /// SPI.
    pub spi: u32,
    /// Sequence Number.
    pub sequence: u32,
}

impl Repr {
    /// Read a checked header.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Repr {
        Repr {
            next_header: packet.next_header(),
            spi: packet.spi(),
            sequence: packet.sequence(),
        }
    }

    /// Write the header with a zero ICV into the start of `buffer`.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), EmitError> {
        let out = buffer
            .get_mut(..HEADER_LEN)
            .ok_or(EmitError::BufferTooShort)?;
        out.fill(0);
        out[0] = self.next_header;
        out[1] = PAYLOAD_LEN;
        out[4..8].copy_from_slice(&self.spi.to_be_bytes());
        out[8..12].copy_from_slice(&self.sequence.to_be_bytes());
        Ok(())
    }
}

/// Why a datagram could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitError {
    /// The buffer is too short.
    BufferTooShort,
    /// The datagram would exceed 65,535 bytes.
    TooLong,
}

impl std::error::Error for EmitError {}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::BufferTooShort => f.write_str("AH emit: buffer too short"),
            EmitError::TooLong => f.write_str("AH emit: datagram too long"),
        }
    }
}

/// HMAC-MD5 (RFC 2104) of the concatenation of `parts`, keyed by `key`
/// (at most 64 bytes; keepalived's key is 8).
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest: [u8; 16] = Md5::digest(key).into();
        block[..16].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Md5::new();
    let mut pad = [0u8; BLOCK];
    for (p, k) in pad.iter_mut().zip(block.iter()) {
        *p = k ^ 0x36;
    }
    inner.update(pad);
    for part in parts {
        inner.update(part);
    }
    let inner: [u8; 16] = inner.finalize().into();
    for (p, k) in pad.iter_mut().zip(block.iter()) {
        *p = k ^ 0x5c;
    }
    let mut outer = Md5::new();
    outer.update(pad);
    outer.update(inner);
    outer.finalize().into()
}

/// The ICV of an IPv4 datagram `ip_header` + `ah` (header and payload), as
/// keepalived computes it: TOS, flags/fragment offset and header checksum
/// zeroed (and the TTL when `unicast`), the AH ICV zeroed. `None` when the
/// IPv4 header or AH header is malformed.
pub fn icv(
    key: &[u8; KEY_LEN],
    ip_header: &[u8],
    ah: &[u8],
    unicast: bool,
) -> Option<[u8; ICV_LEN]> {
    if !(20..=MAX_IPV4_HEADER).contains(&ip_header.len()) || ah.len() < HEADER_LEN {
        return None;
    }
    let mut header = [0u8; MAX_IPV4_HEADER];
    let header = &mut header[..ip_header.len()];
    header.copy_from_slice(ip_header);
    header[1] = 0; // TOS
    header[6] = 0; // flags and fragment offset
    header[7] = 0;
    header[10] = 0; // header checksum
    header[11] = 0;
    if unicast {
        header[8] = 0; // TTL: routers may change it on the way
    }
    let zero = [0u8; ICV_LEN];
    let digest = hmac_md5(
        key,
        &[
            header,
            &ah[..12],
            &zero,
            ah.get(HEADER_LEN..).unwrap_or(&[]),
        ],
    );
    let mut out = [0u8; ICV_LEN];
    out.copy_from_slice(&digest[..ICV_LEN]);
    Some(out)
}

/// What lvsd puts in the IPv4 header of an AH advert (sent with IP_HDRINCL,
/// so the ICV covers exactly these bytes; the kernel fills only the checksum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Fields {
    /// Source address (also the SPI).
    pub src: Ipv4Addr,
    /// Destination: the group or a unicast peer.
    pub dst: Ipv4Addr,
    /// TTL (255).
    pub ttl: u8,
    /// TOS (0xc0).
    pub tos: u8,
    /// Identification; never 0, which the kernel would replace.
    pub ident: u16,
}

/// Where the VRRP message starts in a datagram lvsd sends (IPv4 header, then AH).
pub const VRRP_OFFSET: usize = 20 + HEADER_LEN;

/// Complete a whole IPv4 datagram around the VRRPv2 message (auth type 2)
/// already written at `buffer[VRRP_OFFSET..][..vrrp_len]`: a 20-byte header
/// (protocol 51), then the AH header with `sequence` and its ICV. Returns the
/// datagram length.
pub fn emit_ipv4_datagram(
    buffer: &mut [u8],
    ip: &Ipv4Fields,
    sequence: u32,
    key: &[u8; KEY_LEN],
    unicast: bool,
    vrrp_len: usize,
) -> Result<usize, EmitError> {
    let total = VRRP_OFFSET + vrrp_len;
    let total16 = u16::try_from(total).map_err(|_| EmitError::TooLong)?;
    let out = buffer.get_mut(..total).ok_or(EmitError::BufferTooShort)?;
    out[..VRRP_OFFSET].fill(0);
    out[0] = 0x45;
    out[1] = ip.tos;
    out[2..4].copy_from_slice(&total16.to_be_bytes());
    out[4..6].copy_from_slice(&ip.ident.to_be_bytes());
    out[8] = ip.ttl;
    out[9] = super::vrrp::PROTOCOL_AH;
    out[12..16].copy_from_slice(&ip.src.octets());
    out[16..20].copy_from_slice(&ip.dst.octets());
    Repr {
        next_header: super::vrrp::PROTOCOL,
        spi: u32::from(ip.src),
        sequence,
    }
    .emit(&mut out[20..])?;
    let (header, ah) = out.split_at_mut(20);
    let value = icv(key, header, ah, unicast).ok_or(EmitError::BufferTooShort)?;
    ah[12..HEADER_LEN].copy_from_slice(&value);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::vrrp::{pcap_frames, PROTOCOL, PROTOCOL_AH};

    /// keepalived 2.2.7, VRID 54, `auth_type AH`, `auth_pass 1111` (see
    /// tests/fixtures/vrrp/README.md).
    const V2_AH: &[u8] = include_bytes!("../../tests/fixtures/vrrp/v2_ah.pcap");

    fn key() -> [u8; KEY_LEN] {
        let mut k = [0u8; KEY_LEN];
        k[..4].copy_from_slice(b"1111");
        k
    }

    #[test]
    fn hmac_md5_matches_rfc_2104_vectors() {
        // RFC 2104 appendix (also RFC 2202 test cases 1 and 2).
        let d = hmac_md5(&[0x0b; 16], &[b"Hi There"]);
        assert_eq!(
            d,
            [
                0x92, 0x94, 0x72, 0x7a, 0x36, 0x38, 0xbb, 0x1c, 0x13, 0xf4, 0x8e, 0xf8, 0x15, 0x8b,
                0xfc, 0x9d
            ]
        );
        let d = hmac_md5(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            d,
            [
                0x75, 0x0c, 0x78, 0x3e, 0x6a, 0xb0, 0xb5, 0x03, 0xea, 0xa8, 0x6e, 0x31, 0x0a, 0x5d,
                0xb7, 0x38
            ]
        );
        // RFC 2202 case 6: a key longer than the block is hashed first.
        let d = hmac_md5(
            &[0xaa; 80],
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
        );
        assert_eq!(
            d,
            [
                0x6b, 0x1a, 0xb7, 0xfe, 0x4b, 0xd7, 0xbf, 0x8f, 0x0b, 0x62, 0xe6, 0xce, 0x61, 0xb9,
                0xd0, 0xcd
            ]
        );
    }

    fn keepalived_datagrams() -> Vec<&'static [u8]> {
        pcap_frames(V2_AH)
            .into_iter()
            .map(|f| &f[14..])
            .filter(|ip| ip[9] == PROTOCOL_AH)
            .collect()
    }

    #[test]
    fn keepalived_icv_verifies_and_reemits_byte_identical() {
        let all = keepalived_datagrams();
        assert!(all.len() >= 3, "fixture holds AH adverts");
        for (n, ip) in all.iter().enumerate() {
            let (header, ah) = ip.split_at(20);
            let packet = Packet::new_checked(ah).unwrap();
            let repr = Repr::parse(&packet);
            assert_eq!(repr.next_header, PROTOCOL);
            assert_eq!(packet.payload_len(), PAYLOAD_LEN);
            assert_eq!(repr.spi, u32::from(Ipv4Addr::new(10, 200, 0, 1)));
            assert_eq!(repr.sequence, n as u32 + 1, "keepalived counts from 1");
            assert_eq!(icv(&key(), header, ah, false), Some(packet.icv()));
            // A wrong key, or the unicast rule (TTL zeroed), does not verify.
            let mut other = key();
            other[0] = b'2';
            assert_ne!(icv(&other, header, ah, false), Some(packet.icv()));
            assert_ne!(icv(&key(), header, ah, true), Some(packet.icv()));
            // lvsd writes the same datagram from the same fields (the
            // checksum, filled by the kernel, aside).
            let fields = Ipv4Fields {
                src: Ipv4Addr::new(10, 200, 0, 1),
                dst: Ipv4Addr::new(224, 0, 0, 18),
                ttl: header[8],
                tos: header[1],
                ident: u16::from_be_bytes([header[4], header[5]]),
            };
            let mut buf = [0xffu8; 128];
            let vrrp = packet.payload();
            buf[VRRP_OFFSET..VRRP_OFFSET + vrrp.len()].copy_from_slice(vrrp);
            let len =
                emit_ipv4_datagram(&mut buf, &fields, repr.sequence, &key(), false, vrrp.len())
                    .unwrap();
            let mut want = ip.to_vec();
            want[10] = 0;
            want[11] = 0;
            assert_eq!(&buf[..len], &want[..], "advert {n}");
        }
    }

    #[test]
    fn mutable_fields_do_not_change_the_icv() {
        let ip = keepalived_datagrams()[0];
        let (header, ah) = ip.split_at(20);
        let want = icv(&key(), header, ah, false);
        let mut h = header.to_vec();
        h[1] = 0x10;
        h[6] = 0x40;
        h[10] = 0xde;
        h[11] = 0xad;
        assert_eq!(icv(&key(), &h, ah, false), want);
        h[8] = 64;
        assert_ne!(icv(&key(), &h, ah, false), want, "multicast covers the TTL");
        assert_eq!(
            icv(&key(), &h, ah, true),
            icv(&key(), header, ah, true),
            "unicast does not"
        );
        // Every immutable byte is covered.
        for i in [0usize, 2, 3, 4, 5, 9, 12, 15, 16, 19] {
            let mut h = header.to_vec();
            h[i] ^= 1;
            assert_ne!(icv(&key(), &h, ah, false), want, "IP byte {i}");
        }
        for i in (0..12).chain(HEADER_LEN..ah.len()) {
            let mut a = ah.to_vec();
            a[i] ^= 1;
            assert_ne!(icv(&key(), header, &a, false), want, "AH byte {i}");
        }
    }

    #[test]
    fn malformed_input_never_panics() {
        let ip = keepalived_datagrams()[0];
        let (header, ah) = ip.split_at(20);
        for cut in 0..ah.len() {
            let r = Packet::new_checked(&ah[..cut]);
            assert_eq!(r.is_err(), cut < HEADER_LEN, "cut {cut}");
            let _ = icv(&key(), header, &ah[..cut], false);
        }
        for cut in 0..header.len() {
            assert_eq!(icv(&key(), &header[..cut], ah, false), None);
        }
        assert_eq!(icv(&key(), &[0u8; 61], ah, false), None);
        // Pseudo-random bytes through every accessor.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..64 {
            for _ in 0..100 {
                let mut buf = [0u8; 64];
                for b in buf.iter_mut().take(len) {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    *b = seed as u8;
                }
                let p = Packet::new_unchecked(&buf[..len]);
                let _ = (p.next_header(), p.spi(), p.sequence(), p.icv(), p.payload());
                if let Ok(p) = Packet::new_checked(&buf[..len]) {
                    let _ = Repr::parse(&p);
                    let _ = icv(&key(), header, &buf[..len], len % 2 == 0);
                }
            }
        }
        let mut small = [0u8; 30];
        let fields = Ipv4Fields {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            ttl: 255,
            tos: 0xc0,
            ident: 1,
        };
        assert_eq!(
            emit_ipv4_datagram(&mut small, &fields, 1, &key(), false, 20),
            Err(EmitError::BufferTooShort)
        );
        assert_eq!(
            Repr {
                next_header: 112,
                spi: 0,
                sequence: 0
            }
            .emit(&mut small[..10]),
            Err(EmitError::BufferTooShort)
        );
    }
}
