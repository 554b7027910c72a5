//! VRRP advertisements (RFC 3768 v2, RFC 5798/9568 v3) over IPv4 and IPv6: a checked view, a `Repr` and checksums.
//!
//! Nothing in this file panics on any input: every accessor of [`Packet`] is
//! only reachable after [`Packet::new_checked`] has proven the length, and
//! [`Repr::parse`] returns a [`Malformed`] instead. Which adverts an instance
//! accepts (TTL, destination, peers, auth, interval) is decided in
//! `vrrp::receive`: this file decodes, it does not apply policy.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum;

/// IP protocol number of VRRP (RFC 5798 section 5.1.1.4).
pub const PROTOCOL: u8 = 112;
/// IP protocol number of the IPsec Authentication Header (RFC 2402), used by v2 auth type AH.
pub const PROTOCOL_AH: u8 = 51;
/// IPv4 multicast group of VRRP (RFC 5798 section 5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP (RFC 5798 section 5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit that adverts are sent with and must arrive with (RFC 5798 section 5.1.1.3).
pub const TTL: u8 = 255;
/// IPv4 TOS byte of adverts (internetwork control, as keepalived sends).
pub const TOS: u8 = 0xc0;
/// Length of the fixed header (version .. checksum).
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data (RFC 3768 section 5.3.10).
pub const AUTH_DATA_LEN: usize = 8;
/// Largest v3 advert interval in centiseconds (12 bits, RFC 5798 section 5.2.7).
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;
/// The only VRRP packet type: ADVERTISEMENT (RFC 5798 section 5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;

const AUTH_TYPE_NONE: u8 = 0;
const AUTH_TYPE_PASS: u8 = 1;
const AUTH_TYPE_AH: u8 = 2;

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// VRRPv2, RFC 3768 (IPv4 only, whole-second intervals, auth field).
    V2,
    /// VRRPv3, RFC 5798 / RFC 9568 (IPv4 and IPv6, centisecond intervals).
    V3,
}

impl Version {
    /// The 4-bit version number on the wire.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of an advert (known from the IP layer, not from the VRRP bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4: 4-byte addresses.
    Ipv4,
    /// IPv6: 16-byte addresses.
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// Bytes per address.
    pub fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }
}

/// VRRPv2 authentication (RFC 3768 section 5.3.6); v3 has none.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Auth type 0: no authentication (also what every v3 advert uses).
    None,
    /// Auth type 1: simple text password, zero-padded to 8 bytes.
    Pass([u8; AUTH_DATA_LEN]),
    /// Auth type 2: IPsec AH (RFC 2402, see `wire::ah`). Configured: the
    /// 8-byte HMAC key (the zero-padded `auth_pass`); parsed: the message's
    /// own (unused, zero) auth data bytes. The advert carries zeros there.
    Ah([u8; AUTH_DATA_LEN]),
}

impl fmt::Debug for Auth {
    // Never print a password into a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Pass(_) => f.write_str("Pass(..)"),
            Auth::Ah(_) => f.write_str("Ah(..)"),
        }
    }
}

impl Auth {
    /// A PASS authentication from a text password; keepalived keeps the first 8 bytes.
    pub fn pass(password: &[u8]) -> Auth {
        let mut data = [0u8; AUTH_DATA_LEN];
        for (slot, byte) in data.iter_mut().zip(password.iter()) {
            *slot = *byte;
        }
        Auth::Pass(data)
    }

    /// An AH authentication keyed by a text password; keepalived keeps the first 8 bytes.
    pub fn ah(password: &[u8]) -> Auth {
        match Auth::pass(password) {
            Auth::Pass(key) => Auth::Ah(key),
            other => other,
        }
    }

    /// The v2 auth type number on the wire (0 none, 1 PASS, 2 AH).
    pub fn type_number(&self) -> u8 {
        match self {
            Auth::None => AUTH_TYPE_NONE,
            Auth::Pass(_) => AUTH_TYPE_PASS,
            Auth::Ah(_) => AUTH_TYPE_AH,
        }
    }
}

/// Compare two equal-length byte strings without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0
}

/// Why received bytes are not a well-formed VRRP advert. What an instance
/// then accepts is decided in `vrrp::receive`, which counts these among its
/// drop reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Malformed {
    /// Shorter than the header, the address list or the v2 auth data (or a
    /// short or inconsistent IPv4 header).
    Truncated,
    /// Version field is neither 2 (IPv4 only) nor 3.
    BadVersion,
    /// Type field is not ADVERTISEMENT.
    BadType,
    /// Checksum does not verify.
    BadChecksum,
}

impl Malformed {
    /// Short stable name (the same words as the drop reasons in status).
    pub fn as_str(self) -> &'static str {
        match self {
            Malformed::Truncated => "truncated",
            Malformed::BadVersion => "bad_version",
            Malformed::BadType => "bad_type",
            Malformed::BadChecksum => "bad_checksum",
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed VRRP advert: {}", self.as_str())
    }
}

/// Why an advert could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitError {
    /// The output buffer is shorter than [`Repr::buffer_len`].
    BufferTooShort,
    /// An address has a different family from the source/destination.
    FamilyMismatch,
    /// More than 255 addresses.
    TooManyAddresses,
    /// v2 interval not whole seconds in 1..=255, or v3 interval not in 1..=4095 cs.
    BadInterval,
    /// VRRPv2 is IPv4 only.
    V2OverIpv6,
    /// v3 with authentication.
    BadAuth,
}

impl std::error::Error for EmitError {}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            EmitError::BufferTooShort => "buffer too short",
            EmitError::FamilyMismatch => "address family mismatch",
            EmitError::TooManyAddresses => "more than 255 addresses",
            EmitError::BadInterval => "advert interval not representable",
            EmitError::V2OverIpv6 => "VRRPv2 cannot run over IPv6",
            EmitError::BadAuth => "authentication not allowed for this version",
        };
        write!(f, "VRRP advert emit: {what}")
    }
}

/// A read-only or writable view over the bytes of one VRRP message (the IP payload).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap bytes without checking; accessors may then panic. Prefer [`Packet::new_checked`].
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap bytes, proving the header, address list and (v2) auth data are present.
    /// After this returns `Ok`, no accessor panics.
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>, Malformed> {
        let packet = Packet { buffer };
        packet.check_len(family)?;
        Ok(packet)
    }

    /// Check that the buffer holds everything the header announces.
    pub fn check_len(&self, family: Family) -> Result<(), Malformed> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        if data.len() < self.needed_len(family) {
            return Err(Malformed::Truncated);
        }
        Ok(())
    }

    fn needed_len(&self, family: Family) -> usize {
        let data = self.buffer.as_ref();
        let count = usize::from(data.get(3).copied().unwrap_or(0));
        let mut len = HEADER_LEN + count * family.address_len();
        if data.first().map(|b| b >> 4) == Some(2) {
            len += AUTH_DATA_LEN;
        }
        len
    }

    /// Consume the view, returning the bytes.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn byte(&self, index: usize) -> u8 {
        self.buffer.as_ref().get(index).copied().unwrap_or(0)
    }

    /// Version field (4 bits).
    pub fn version(&self) -> u8 {
        self.byte(0) >> 4
    }
    /// Type field (4 bits); 1 is ADVERTISEMENT.
    pub fn kind(&self) -> u8 {
        self.byte(0) & 0x0f
    }
    /// Virtual router id.
    pub fn vrid(&self) -> u8 {
        self.byte(1)
    }
    /// Priority (0 = master stopping, 255 = address owner).
    pub fn priority(&self) -> u8 {
        self.byte(2)
    }
    /// Number of addresses in the list.
    pub fn address_count(&self) -> u8 {
        self.byte(3)
    }
    /// v2: authentication type.
    pub fn auth_type(&self) -> u8 {
        self.byte(4)
    }
    /// v2: advert interval in seconds.
    pub fn advert_interval_v2(&self) -> u8 {
        self.byte(5)
    }
    /// v3: max advert interval in centiseconds (low 12 bits of bytes 4-5).
    pub fn advert_interval_v3(&self) -> u16 {
        u16::from_be_bytes([self.byte(4), self.byte(5)]) & MAX_V3_INTERVAL_CS
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.byte(6), self.byte(7)])
    }
    /// Raw address list bytes (empty if the view was not checked).
    pub fn address_bytes(&self, family: Family) -> &[u8] {
        let count = usize::from(self.address_count());
        let end = HEADER_LEN + count * family.address_len();
        self.buffer.as_ref().get(HEADER_LEN..end).unwrap_or(&[])
    }
    /// v2: the 8 bytes of authentication data (zeros if absent).
    pub fn auth_data(&self, family: Family) -> [u8; AUTH_DATA_LEN] {
        let start = HEADER_LEN + usize::from(self.address_count()) * family.address_len();
        let mut out = [0u8; AUTH_DATA_LEN];
        if let Some(src) = self.buffer.as_ref().get(start..start + AUTH_DATA_LEN) {
            out.copy_from_slice(src);
        }
        out
    }

    /// Verify the checksum over the whole message (v3: with the pseudo-header of `src`/`dst`).
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        let data = self.buffer.as_ref();
        let version = if self.version() == 2 {
            Version::V2
        } else {
            Version::V3
        };
        compute_checksum(version, src, dst, data) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_byte(&mut self, index: usize, value: u8) {
        if let Some(slot) = self.buffer.as_mut().get_mut(index) {
            *slot = value;
        }
    }

    /// Recompute and store the checksum (v3: with the pseudo-header of `src`/`dst`).
    pub fn fill_checksum(&mut self, version: Version, src: IpAddr, dst: IpAddr) {
        self.set_byte(6, 0);
        self.set_byte(7, 0);
        let sum = compute_checksum(version, src, dst, self.buffer.as_ref());
        let [hi, lo] = sum.to_be_bytes();
        self.set_byte(6, hi);
        self.set_byte(7, lo);
    }
}

/// The Internet checksum of a VRRP message. v2: over the message only (RFC 3768
/// section 5.3.8); v3: with the IPv4 or IPv6 pseudo-header (RFC 5798 section 5.2.8).
/// Returns 0 when run over a message whose checksum field is already correct.
pub fn compute_checksum(version: Version, src: IpAddr, dst: IpAddr, message: &[u8]) -> u16 {
    let mut acc = 0u32;
    if version == Version::V3 {
        acc = checksum::pseudo_header_sum(src, dst, PROTOCOL, message.len());
    }
    checksum::checksum(acc, message)
}

/// The address list of an advert: borrowed from received bytes or from a caller's list.
#[derive(Debug, Clone, Copy)]
pub enum AddressList<'a> {
    /// Raw wire bytes of one family (4 or 16 bytes each).
    Wire {
        /// Family of the addresses.
        family: Family,
        /// The bytes, a multiple of the address length.
        bytes: &'a [u8],
    },
    /// A caller's list, for emitting.
    Slice(&'a [IpAddr]),
}

impl<'a> AddressList<'a> {
    /// Number of addresses.
    pub fn len(&self) -> usize {
        match self {
            AddressList::Wire { family, bytes } => bytes.len() / family.address_len(),
            AddressList::Slice(list) => list.len(),
        }
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses in order.
    pub fn iter(&self) -> AddressIter<'a> {
        AddressIter {
            list: *self,
            index: 0,
        }
    }

    /// The same addresses as `other`, in any order (a VIP list mismatch is only logged).
    pub fn same_set(&self, other: &[IpAddr]) -> bool {
        self.len() == other.len() && self.iter().all(|a| other.contains(&a))
    }
}

impl PartialEq for AddressList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

/// Iterator over an [`AddressList`].
#[derive(Debug, Clone)]
pub struct AddressIter<'a> {
    list: AddressList<'a>,
    index: usize,
}

impl Iterator for AddressIter<'_> {
    type Item = IpAddr;
    fn next(&mut self) -> Option<IpAddr> {
        let index = self.index;
        self.index += 1;
        match self.list {
            AddressList::Slice(list) => list.get(index).copied(),
            AddressList::Wire { family, bytes } => {
                let len = family.address_len();
                let raw = bytes.get(index * len..index * len + len)?;
                Some(match family {
                    Family::Ipv4 => {
                        let mut o = [0u8; 4];
                        o.copy_from_slice(raw);
                        IpAddr::V4(Ipv4Addr::from(o))
                    }
                    Family::Ipv6 => {
                        let mut o = [0u8; 16];
                        o.copy_from_slice(raw);
                        IpAddr::V6(Ipv6Addr::from(o))
                    }
                })
            }
        }
    }
}

/// A parsed, validated advert (or one to emit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repr<'a> {
    /// Protocol version.
    pub version: Version,
    /// Virtual router id (1..=255).
    pub vrid: u8,
    /// Sender's priority.
    pub priority: u8,
    /// Advert interval in centiseconds (v2: seconds x 100).
    pub advert_interval_cs: u16,
    /// v2 authentication; always `Auth::None` for v3.
    pub auth: Auth,
    /// The virtual addresses.
    pub addresses: AddressList<'a>,
}

impl<'a> Repr<'a> {
    /// Parse a checked packet: version, type and checksum are verified here
    /// (`src`/`dst` are the IP header's addresses, needed for the v3 pseudo-header).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<Repr<'a>, Malformed> {
        let buffer: &'a T = packet.buffer;
        let data: &'a [u8] = buffer.as_ref();
        let family = Family::of(src);
        let packet = Packet::new_checked(data, family)?;
        let version = match packet.version() {
            2 if family == Family::Ipv4 => Version::V2,
            3 => Version::V3,
            _ => return Err(Malformed::BadVersion),
        };
        if packet.kind() != TYPE_ADVERTISEMENT {
            return Err(Malformed::BadType);
        }
        if !packet.verify_checksum(src, dst) {
            return Err(Malformed::BadChecksum);
        }
        Ok(Repr::parse_fields(data, version, family))
    }

    /// Read the fields of a length-checked message without verifying anything.
    /// Callers must have length-checked `data` with [`Packet::new_checked`] for `family`.
    pub(crate) fn parse_fields(data: &'a [u8], version: Version, family: Family) -> Repr<'a> {
        let packet = Packet::new_unchecked(data);
        let (advert_interval_cs, auth) = match version {
            Version::V2 => {
                let auth = match packet.auth_type() {
                    AUTH_TYPE_NONE => Auth::None,
                    AUTH_TYPE_PASS => Auth::Pass(packet.auth_data(family)),
                    _ => Auth::Ah(packet.auth_data(family)),
                };
                (u16::from(packet.advert_interval_v2()) * 100, auth)
            }
            Version::V3 => (packet.advert_interval_v3(), Auth::None),
        };
        let end = HEADER_LEN + usize::from(packet.address_count()) * family.address_len();
        Repr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            advert_interval_cs,
            auth,
            addresses: AddressList::Wire {
                family,
                bytes: data.get(HEADER_LEN..end).unwrap_or(&[]),
            },
        }
    }

    /// Bytes [`Repr::emit`] writes.
    pub fn buffer_len(&self, family: Family) -> usize {
        let mut len = HEADER_LEN + self.addresses.len() * family.address_len();
        if self.version == Version::V2 {
            len += AUTH_DATA_LEN;
        }
        len
    }

    /// Write the advert into the start of `buffer` with its checksum; returns the length.
    pub fn emit(&self, buffer: &mut [u8], src: IpAddr, dst: IpAddr) -> Result<usize, EmitError> {
        let family = Family::of(src);
        if Family::of(dst) != family {
            return Err(EmitError::FamilyMismatch);
        }
        if self.version == Version::V2 && family == Family::Ipv6 {
            return Err(EmitError::V2OverIpv6);
        }
        let count = u8::try_from(self.addresses.len()).map_err(|_| EmitError::TooManyAddresses)?;
        let len = self.buffer_len(family);
        let out = buffer.get_mut(..len).ok_or(EmitError::BufferTooShort)?;
        out.fill(0);
        out[0] = (self.version.number() << 4) | TYPE_ADVERTISEMENT;
        out[1] = self.vrid;
        out[2] = self.priority;
        out[3] = count;
        match self.version {
            Version::V2 => {
                if self.advert_interval_cs % 100 != 0
                    || !(100..=25500).contains(&self.advert_interval_cs)
                {
                    return Err(EmitError::BadInterval);
                }
                out[4] = self.auth.type_number();
                out[5] = (self.advert_interval_cs / 100) as u8;
            }
            Version::V3 => {
                if !(1..=MAX_V3_INTERVAL_CS).contains(&self.advert_interval_cs) {
                    return Err(EmitError::BadInterval);
                }
                if self.auth != Auth::None {
                    return Err(EmitError::BadAuth);
                }
                let [hi, lo] = self.advert_interval_cs.to_be_bytes();
                out[4] = hi;
                out[5] = lo;
            }
        }
        let mut offset = HEADER_LEN;
        for addr in self.addresses.iter() {
            match (addr, family) {
                (IpAddr::V4(a), Family::Ipv4) => {
                    out[offset..offset + 4].copy_from_slice(&a.octets())
                }
                (IpAddr::V6(a), Family::Ipv6) => {
                    out[offset..offset + 16].copy_from_slice(&a.octets())
                }
                _ => return Err(EmitError::FamilyMismatch),
            }
            offset += family.address_len();
        }
        if let Auth::Pass(data) = self.auth {
            out[offset..offset + AUTH_DATA_LEN].copy_from_slice(&data);
        }
        let mut packet = Packet::new_unchecked(&mut *out);
        packet.fill_checksum(self.version, src, dst);
        Ok(len)
    }
}

/// What the IPv4 header of a datagram from a raw socket says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Time to live.
    pub ttl: u8,
    /// Protocol (112 VRRP, 51 AH).
    pub protocol: u8,
}

/// Split a datagram read from an IPv4 raw socket (which includes the IP header)
/// into its header fields and payload. Fails with [`Malformed::Truncated`] on a
/// short or inconsistent header.
pub fn split_ipv4(datagram: &[u8]) -> Result<(Ipv4Header, &[u8]), Malformed> {
    let first = *datagram.first().ok_or(Malformed::Truncated)?;
    if first >> 4 != 4 {
        return Err(Malformed::Truncated);
    }
    let header_len = usize::from(first & 0x0f) * 4;
    let fixed = datagram.get(..20).ok_or(Malformed::Truncated)?;
    let total = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
    if header_len < 20 || total < header_len {
        return Err(Malformed::Truncated);
    }
    let payload = datagram
        .get(header_len..total)
        .ok_or(Malformed::Truncated)?;
    let header = Ipv4Header {
        src: Ipv4Addr::new(fixed[12], fixed[13], fixed[14], fixed[15]),
        dst: Ipv4Addr::new(fixed[16], fixed[17], fixed[18], fixed[19]),
        ttl: fixed[8],
        protocol: fixed[9],
    };
    Ok((header, payload))
}

/// Frames of a classic little-endian pcap file (fixtures only; panics on a bad fixture).
#[cfg(test)]
pub(crate) fn pcap_frames(file: &[u8]) -> Vec<&[u8]> {
    assert_eq!(&file[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let caplen =
            u32::from_le_bytes([file[at + 8], file[at + 9], file[at + 10], file[at + 11]]) as usize;
        out.push(&file[at + 16..at + 16 + caplen]);
        at += 16 + caplen;
    }
    out
}

/// keepalived 2.2.7 captures (see tests/fixtures/vrrp/README.md).
#[cfg(test)]
pub(crate) const V2_PASS: &[u8] = include_bytes!("../../tests/fixtures/vrrp/v2_pass.pcap");
#[cfg(test)]
pub(crate) const V3_IPV4: &[u8] = include_bytes!("../../tests/fixtures/vrrp/v3_ipv4.pcap");
#[cfg(test)]
pub(crate) const V3_IPV6: &[u8] = include_bytes!("../../tests/fixtures/vrrp/v3_ipv6.pcap");

#[cfg(test)]
/// (src, dst, ttl, VRRP payload) of every VRRP frame in a capture.
pub(crate) fn fixture_adverts(file: &[u8]) -> Vec<(IpAddr, IpAddr, u8, &[u8])> {
    let mut out = Vec::new();
    for frame in pcap_frames(file) {
        let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
        let ip = &frame[14..];
        if ethertype == 0x0800 && ip[9] == PROTOCOL {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let src = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
            let dst = IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]));
            out.push((src, dst, ip[8], &ip[ihl..total]));
        } else if ethertype == 0x86dd && ip[6] == PROTOCOL {
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let mut s = [0u8; 16];
            s.copy_from_slice(&ip[8..24]);
            let mut d = [0u8; 16];
            d.copy_from_slice(&ip[24..40]);
            out.push((
                IpAddr::V6(s.into()),
                IpAddr::V6(d.into()),
                ip[7],
                &ip[40..40 + plen],
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn split_ipv4_of_keepalived_frame() {
        let frame = pcap_frames(V2_PASS)[0];
        let (header, payload) = split_ipv4(&frame[14..]).unwrap();
        assert_eq!(header.src, Ipv4Addr::new(10, 200, 0, 1));
        assert_eq!(header.dst, MULTICAST_V4);
        assert_eq!((header.ttl, header.protocol), (255, PROTOCOL));
        assert_eq!(payload.len(), 20);
        for cut in 0..34 {
            assert!(split_ipv4(&frame[14..14 + cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn emit_rejects_what_the_wire_cannot_carry() {
        let vips = [v4(10, 0, 0, 1)];
        let mut repr = Repr {
            version: Version::V2,
            vrid: 1,
            priority: 100,
            advert_interval_cs: 150,
            auth: Auth::None,
            addresses: AddressList::Slice(&vips),
        };
        let (s, d) = (v4(10, 0, 0, 2), IpAddr::V4(MULTICAST_V4));
        let mut buf = [0u8; 64];
        assert_eq!(repr.emit(&mut buf, s, d), Err(EmitError::BadInterval));
        repr.advert_interval_cs = 100;
        assert_eq!(
            repr.emit(&mut buf[..10], s, d),
            Err(EmitError::BufferTooShort)
        );
        assert_eq!(repr.emit(&mut buf, s, d), Ok(20));
        repr.version = Version::V3;
        repr.advert_interval_cs = 4096;
        assert_eq!(repr.emit(&mut buf, s, d), Err(EmitError::BadInterval));
        repr.advert_interval_cs = 5;
        let v6: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(
            repr.emit(&mut buf, v6, IpAddr::V6(MULTICAST_V6)),
            Err(EmitError::FamilyMismatch)
        );
    }

    #[test]
    fn never_panics_on_garbage() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let (src, _, _, _) = fixture_adverts(V2_PASS)[0];
        let dst = IpAddr::V4(MULTICAST_V4);
        for len in 0..80 {
            for _ in 0..200 {
                let mut buf = [0u8; 80];
                for b in buf.iter_mut().take(len) {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    *b = seed as u8;
                }
                let _ = Packet::new_checked(&buf[..len], Family::Ipv4)
                    .map(|p| Repr::parse(&p, src, dst).is_ok());
                let _ = Packet::new_checked(&buf[..len], Family::Ipv6)
                    .map(|p| Repr::parse(&p, src, dst).is_ok());
            }
        }
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"11110000", b"11110000"));
        assert!(!constant_time_eq(b"11110000", b"11110001"));
        assert!(!constant_time_eq(b"1", b"11"));
    }
}
