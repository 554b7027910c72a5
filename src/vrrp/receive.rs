//! Which adverts an instance accepts: the receive rules of RFC 5798 section 7.1
//! (RFC 9568) and keepalived 2.2.7, decided from the instance's configuration.
//!
//! `wire::vrrp` decodes; this module decides. The mode of an instance comes
//! from its configuration, never from the packet: a multicast instance
//! (no `unicast_peer`) accepts only adverts sent to its group (224.0.0.18 /
//! ff02::12) with TTL / hop limit 255; a unicast instance accepts only adverts
//! sent to a unicast address, from one of its configured peers, at any TTL
//! (keepalived 2.2.7 checks no TTL in unicast mode unless a peer carries a
//! `min_ttl`/`max_ttl` range, which lvsd does not offer).

use std::net::IpAddr;

use crate::wire::ah;
use crate::wire::vrrp::{
    constant_time_eq, Auth, Family, Malformed, Packet, Repr, Version, MULTICAST_V4, MULTICAST_V6,
    PROTOCOL, TTL, TYPE_ADVERTISEMENT,
};

/// Why a received advert was dropped (or ignored): malformed bytes, or this
/// module's rules. The daemon keeps one counter per reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Shorter than the header, the address list or the v2 auth data.
    Truncated,
    /// AH present without AH configured, or AH configured but absent (v2),
    /// or an AH header that does not carry VRRP.
    AhMismatch,
    /// TTL / hop limit not 255 on a multicast advert.
    BadTtl,
    /// Version field is neither the expected 2 nor 3.
    BadVersion,
    /// v2 authentication type differs from the configured one.
    BadAuthType,
    /// v2 PASS data differs from the configured password, or the AH ICV,
    /// SPI or sequence number (a replay) is wrong (keepalived's auth_failure).
    BadAuth,
    /// v2 advert interval differs from ours (RFC 3768 section 7.1).
    IntervalMismatch,
    /// Type field is not ADVERTISEMENT.
    BadType,
    /// Checksum does not verify.
    BadChecksum,
    /// No instance has this VRID on this interface and family (silently ignored).
    UnknownVrid,
    /// Unicast mode: the source is not a configured peer.
    NotFromPeer,
    /// Multicast mode: the destination is not the VRRP group (a unicast forgery).
    NotToGroup,
    /// Unicast mode: the destination is a multicast group, not our address.
    NotUnicast,
    /// Address family of the IP header differs from the instance's.
    BadFamily,
    /// The instance is in INIT or FAULT and ignores adverts.
    NotListening,
}

impl DropReason {
    /// Number of reasons, for a counter array.
    pub const COUNT: usize = 15;
    /// Every reason, in counter order.
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::Truncated,
        DropReason::AhMismatch,
        DropReason::BadTtl,
        DropReason::BadVersion,
        DropReason::BadAuthType,
        DropReason::BadAuth,
        DropReason::IntervalMismatch,
        DropReason::BadType,
        DropReason::BadChecksum,
        DropReason::UnknownVrid,
        DropReason::NotFromPeer,
        DropReason::NotToGroup,
        DropReason::NotUnicast,
        DropReason::BadFamily,
        DropReason::NotListening,
    ];

    /// Index into a counter array of length [`DropReason::COUNT`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Short stable name for status output and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::AhMismatch => "ah_mismatch",
            DropReason::BadTtl => "bad_ttl",
            DropReason::BadVersion => "bad_version",
            DropReason::BadAuthType => "bad_auth_type",
            DropReason::BadAuth => "bad_auth",
            DropReason::IntervalMismatch => "interval_mismatch",
            DropReason::BadType => "bad_type",
            DropReason::BadChecksum => "bad_checksum",
            DropReason::UnknownVrid => "unknown_vrid",
            DropReason::NotFromPeer => "not_from_peer",
            DropReason::NotToGroup => "not_to_group",
            DropReason::NotUnicast => "not_unicast",
            DropReason::BadFamily => "bad_family",
            DropReason::NotListening => "not_listening",
        }
    }
}

impl core::fmt::Display for DropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VRRP advert dropped: {}", self.as_str())
    }
}

impl From<Malformed> for DropReason {
    fn from(m: Malformed) -> DropReason {
        match m {
            Malformed::Truncated => DropReason::Truncated,
            Malformed::BadVersion => DropReason::BadVersion,
            Malformed::BadType => DropReason::BadType,
            Malformed::BadChecksum => DropReason::BadChecksum,
        }
    }
}

/// What the IP layer told us about a received advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveMeta {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (the group, or one of our addresses).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The IPv4 protocol was AH (51) rather than VRRP (112).
    pub ah: bool,
}

/// What the receiving instance expects; found by VRID.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expectation<'a> {
    /// Configured version.
    pub version: Version,
    /// Configured v2 authentication.
    pub auth: Auth,
    /// Own advert interval in centiseconds.
    pub advert_interval_cs: u16,
    /// Own VIPs (a mismatch is reported, not dropped).
    pub vips: &'a [IpAddr],
    /// Unicast peers: empty means a multicast instance, otherwise the source
    /// must be one of them.
    pub peers: &'a [IpAddr],
    /// AH: the last sequence number seen or sent; an advert must carry a
    /// higher one (keepalived's anti-replay counter, shared by both directions).
    pub ah_sequence: u32,
}

impl Expectation<'_> {
    /// True for an instance configured with `unicast_peer`s.
    pub fn is_unicast(&self) -> bool {
        !self.peers.is_empty()
    }
}

/// Things a valid advert may still be noted for (logged and counted, not dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceiveNotes {
    /// v3: the sender's interval differs from ours (RFC 5798 section 6.4.2: adopt it).
    pub interval_mismatch: bool,
    /// The address list differs from our VIPs.
    pub vip_mismatch: bool,
    /// AH: the verified advert's sequence number (the instance adopts it).
    pub ah_sequence: Option<u32>,
}

/// The VRRP group of a family (RFC 5798 sections 5.1.1.2 and 5.1.2.2).
pub fn group_of(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(MULTICAST_V4),
        Family::Ipv6 => IpAddr::V6(MULTICAST_V6),
    }
}

/// The addressing rules of the instance's mode (RFC 5798 section 7.1 and
/// keepalived 2.2.7 `vrrp_check_packet`), before anything in the advert is read.
pub fn check_addressing(meta: &ReceiveMeta, expect: &Expectation<'_>) -> Result<(), DropReason> {
    if expect.is_unicast() {
        // keepalived: "Expected unicast packet but received multicast packet".
        if meta.dst.is_multicast() {
            return Err(DropReason::NotUnicast);
        }
        if !expect.peers.contains(&meta.src) {
            return Err(DropReason::NotFromPeer);
        }
        // No TTL rule in unicast mode, as keepalived 2.2.7: adverts to peers
        // may cross routers. (RFC 5798 / 9568 section 7.1 knows no unicast mode.)
        Ok(())
    } else {
        // A multicast instance hears its group only: an advert to one of our
        // unicast addresses is a forgery whatever its TTL (issue 10, finding 1).
        if meta.dst != group_of(Family::of(meta.src)) {
            return Err(DropReason::NotToGroup);
        }
        // RFC 5798 section 7.1: the TTL / hop limit must be 255, proving the
        // sender is on the link.
        if meta.ttl != TTL {
            return Err(DropReason::BadTtl);
        }
        Ok(())
    }
}

/// The receive checks, in order: family; length; AH presence; addressing
/// (destination, TTL, peers: [`check_addressing`]); version; v2 auth type and
/// PASS (constant time) or AH (ICV, SPI, sequence); v2 interval; type; v3
/// interval (noted); checksum; VRID known; VIP list (noted).
///
/// `lookup` maps the advert's VRID to the instance's expectations; `None` means
/// no instance has it, which ends in [`DropReason::UnknownVrid`] after the
/// instance-independent checks. Without the IPv4 header an AH advert cannot
/// be verified: see [`receive_check_ipv4`].
pub fn receive_check<'a, 'e>(
    payload: &'a [u8],
    meta: &ReceiveMeta,
    lookup: impl FnOnce(u8) -> Option<Expectation<'e>>,
) -> Result<(Repr<'a>, ReceiveNotes), DropReason> {
    check(None, payload, meta, lookup)
}

/// [`receive_check`] for a datagram whose IP header is known: for IPv4
/// `ip_header` is its header (20-60 bytes; an IPv6 caller passes it empty)
/// and `payload` what follows it, starting with the AH header when
/// `meta.ah`. keepalived 2.2.7 `vrrp_in_chk_ipsecah`: the ICV (HMAC-MD5-96
/// over the header with its mutable fields zeroed, keyed by the 8-byte
/// `auth_pass`) must verify, the SPI must be the source address, and the
/// sequence number must be above the last one seen or sent.
pub fn receive_check_ipv4<'a, 'e>(
    ip_header: &[u8],
    payload: &'a [u8],
    meta: &ReceiveMeta,
    lookup: impl FnOnce(u8) -> Option<Expectation<'e>>,
) -> Result<(Repr<'a>, ReceiveNotes), DropReason> {
    check(Some(ip_header), payload, meta, lookup)
}

fn check<'a, 'e>(
    ip_header: Option<&[u8]>,
    payload: &'a [u8],
    meta: &ReceiveMeta,
    lookup: impl FnOnce(u8) -> Option<Expectation<'e>>,
) -> Result<(Repr<'a>, ReceiveNotes), DropReason> {
    let family = Family::of(meta.src);
    if Family::of(meta.dst) != family {
        return Err(DropReason::BadFamily);
    }
    let (ah_packet, message) = if meta.ah {
        let p = ah::Packet::new_checked(payload).map_err(|_| DropReason::Truncated)?;
        (Some(p), payload.get(ah::HEADER_LEN..).unwrap_or(&[]))
    } else {
        (None, payload)
    };
    let packet = Packet::new_checked(message, family)?;
    let expect = lookup(packet.vrid());
    // RFC 3768 section 7.1: AH is used iff configured.
    let want_ah = matches!(
        expect,
        Some(Expectation {
            auth: Auth::Ah(_),
            ..
        })
    );
    if meta.ah != want_ah {
        return Err(DropReason::AhMismatch);
    }
    if let Some(e) = &expect {
        check_addressing(meta, e)?;
    }
    let version = match (packet.version(), family) {
        (2, Family::Ipv4) => Version::V2,
        (3, _) => Version::V3,
        _ => return Err(DropReason::BadVersion),
    };
    if let Some(e) = &expect {
        if e.version != version {
            return Err(DropReason::BadVersion);
        }
    }
    let repr = Repr::parse_fields(message, version, family);
    let mut notes = ReceiveNotes::default();
    if let (Version::V2, Some(e)) = (version, &expect) {
        // RFC 3768 section 7.1: auth type must match, then the password.
        if packet.auth_type() != e.auth.type_number() {
            return Err(DropReason::BadAuthType);
        }
        match (e.auth, &ah_packet) {
            (Auth::Pass(want), _) if !constant_time_eq(&packet.auth_data(family), &want) => {
                return Err(DropReason::BadAuth);
            }
            (Auth::Ah(key), Some(ah_packet)) => {
                notes.ah_sequence = Some(check_ah(ip_header, payload, ah_packet, &key, meta, e)?);
            }
            _ => {}
        }
        // RFC 3768 section 7.1: the interval must equal ours.
        if repr.advert_interval_cs != e.advert_interval_cs {
            return Err(DropReason::IntervalMismatch);
        }
    }
    if packet.kind() != TYPE_ADVERTISEMENT {
        return Err(DropReason::BadType);
    }
    if let (Version::V3, Some(e)) = (version, &expect) {
        notes.interval_mismatch = repr.advert_interval_cs != e.advert_interval_cs;
    }
    if !packet.verify_checksum(meta.src, meta.dst) {
        return Err(DropReason::BadChecksum);
    }
    let expect = expect.ok_or(DropReason::UnknownVrid)?;
    notes.vip_mismatch = !repr.addresses.same_set(expect.vips);
    Ok((repr, notes))
}

/// keepalived's AH rules; returns the advert's sequence number.
fn check_ah(
    ip_header: Option<&[u8]>,
    payload: &[u8],
    ah_packet: &ah::Packet<&[u8]>,
    key: &[u8; ah::KEY_LEN],
    meta: &ReceiveMeta,
    expect: &Expectation<'_>,
) -> Result<u32, DropReason> {
    // An AH header for another protocol is not ours to judge (keepalived
    // ignores it); lvsd counts it with the AH mismatches.
    if ah_packet.next_header() != PROTOCOL {
        return Err(DropReason::AhMismatch);
    }
    let header = ip_header.ok_or(DropReason::AhMismatch)?;
    let want = ah::icv(key, header, payload, expect.is_unicast()).ok_or(DropReason::Truncated)?;
    if !constant_time_eq(&want, &ah_packet.icv()) {
        return Err(DropReason::BadAuth);
    }
    let IpAddr::V4(src) = meta.src else {
        return Err(DropReason::BadFamily);
    };
    if ah_packet.spi() != u32::from(src) {
        return Err(DropReason::BadAuth);
    }
    // Anti-replay: keepalived drops what is not above the counter.
    let sequence = ah_packet.sequence();
    if sequence <= expect.ah_sequence {
        return Err(DropReason::BadAuth);
    }
    Ok(sequence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::vrrp::{
        compute_checksum, fixture_adverts, AddressList, V2_PASS, V3_IPV4, V3_IPV6,
    };
    use std::net::Ipv4Addr;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn expect_v2(vips: &[IpAddr]) -> Expectation<'_> {
        Expectation {
            version: Version::V2,
            auth: Auth::pass(b"1111"),
            advert_interval_cs: 100,
            vips,
            peers: &[],
            ah_sequence: 0,
        }
    }

    fn meta(src: IpAddr, dst: IpAddr, ttl: u8) -> ReceiveMeta {
        ReceiveMeta {
            src,
            dst,
            ttl,
            ah: false,
        }
    }

    #[test]
    fn keepalived_v2_pass_parses_and_reemits_identically() {
        let all = fixture_adverts(V2_PASS);
        assert!(all.len() >= 3, "fixture holds adverts");
        let vips = [v4(10, 200, 0, 110)];
        let mut saw_zero = false;
        for (src, dst, ttl, payload) in all {
            assert_eq!(ttl, 255);
            let (repr, notes) = receive_check(payload, &meta(src, dst, ttl), |vrid| {
                assert_eq!(vrid, 51);
                Some(expect_v2(&vips))
            })
            .unwrap();
            assert_eq!(notes, ReceiveNotes::default());
            assert_eq!(repr.version, Version::V2);
            assert_eq!(repr.vrid, 51);
            assert!(repr.priority == 100 || repr.priority == 0);
            saw_zero |= repr.priority == 0;
            assert_eq!(repr.advert_interval_cs, 100);
            assert_eq!(repr.auth, Auth::pass(b"1111"));
            assert_eq!(repr.addresses.iter().collect::<Vec<_>>(), vips);
            let mut buf = [0u8; 64];
            let out = Repr {
                addresses: AddressList::Slice(&vips),
                ..repr
            };
            let len = out.emit(&mut buf, src, dst).unwrap();
            assert_eq!(&buf[..len], payload, "byte-identical to keepalived");
        }
        assert!(saw_zero, "keepalived sent priority 0 on SIGTERM");
    }

    #[test]
    fn keepalived_v3_ipv4_checksum_uses_pseudo_header() {
        let vips = [v4(10, 200, 0, 111), v4(10, 200, 0, 112)];
        for (src, dst, ttl, payload) in fixture_adverts(V3_IPV4) {
            let packet = Packet::new_checked(payload, Family::Ipv4).unwrap();
            let repr = Repr::parse(&packet, src, dst).unwrap();
            assert_eq!(
                (repr.version, repr.vrid, repr.advert_interval_cs),
                (Version::V3, 52, 100)
            );
            // The plain (v2-style) sum must not verify: the pseudo-header matters.
            assert_ne!(compute_checksum(Version::V2, src, dst, payload), 0);
            let mut buf = [0u8; 64];
            let out = Repr {
                addresses: AddressList::Slice(&vips),
                ..repr
            };
            let len = out.emit(&mut buf, src, dst).unwrap();
            assert_eq!(&buf[..len], payload);
            let expect = Expectation {
                version: Version::V3,
                auth: Auth::None,
                advert_interval_cs: 100,
                vips: &vips,
                peers: &[],
                ah_sequence: 0,
            };
            assert!(receive_check(payload, &meta(src, dst, ttl), |_| Some(expect)).is_ok());
        }
    }

    #[test]
    fn keepalived_v3_ipv6_roundtrip() {
        let vip: IpAddr = "fd00:200::110".parse().unwrap();
        let all = fixture_adverts(V3_IPV6);
        assert!(all.len() >= 3);
        for (src, dst, ttl, payload) in all {
            assert_eq!(dst, IpAddr::V6(MULTICAST_V6));
            let expect = Expectation {
                version: Version::V3,
                auth: Auth::None,
                advert_interval_cs: 50,
                vips: &[vip],
                peers: &[],
                ah_sequence: 0,
            };
            let (repr, notes) =
                receive_check(payload, &meta(src, dst, ttl), |_| Some(expect)).unwrap();
            assert!(!notes.interval_mismatch && !notes.vip_mismatch);
            assert_eq!((repr.vrid, repr.advert_interval_cs), (53, 50));
            let vips = [vip];
            let mut buf = [0u8; 64];
            let len = Repr {
                addresses: AddressList::Slice(&vips),
                ..repr
            }
            .emit(&mut buf, src, dst)
            .unwrap();
            assert_eq!(&buf[..len], payload);
            // A different source breaks the pseudo-header sum.
            let other: IpAddr = "fe80::99".parse().unwrap();
            assert_eq!(
                receive_check(payload, &meta(other, dst, ttl), |_| Some(expect)).unwrap_err(),
                DropReason::BadChecksum
            );
        }
    }

    fn golden_v2() -> (IpAddr, IpAddr, Vec<u8>) {
        let (src, dst, _, payload) = fixture_adverts(V2_PASS)[0];
        (src, dst, payload.to_vec())
    }

    fn check_v2(payload: &[u8], ttl: u8) -> Result<ReceiveNotes, DropReason> {
        let (src, dst, _) = golden_v2();
        let vips = [v4(10, 200, 0, 110)];
        receive_check(payload, &meta(src, dst, ttl), |_| Some(expect_v2(&vips))).map(|(_, n)| n)
    }

    fn refill(payload: &mut [u8]) {
        let (src, dst, _) = golden_v2();
        Packet::new_unchecked(payload).fill_checksum(Version::V2, src, dst);
    }

    #[test]
    fn drop_reasons_in_order() {
        let (_, _, good) = golden_v2();
        assert!(check_v2(&good, 255).is_ok());
        for cut in 0..good.len() {
            assert_eq!(
                check_v2(&good[..cut], 255),
                Err(DropReason::Truncated),
                "cut {cut}"
            );
        }
        assert_eq!(check_v2(&good, 254), Err(DropReason::BadTtl));
        let mut bad = good.clone();
        bad[0] = 0x41;
        assert_eq!(check_v2(&bad, 255), Err(DropReason::BadVersion));
        // TTL is checked before version.
        assert_eq!(check_v2(&bad, 64), Err(DropReason::BadTtl));
        let mut bad = good.clone();
        bad[4] = 0;
        refill(&mut bad);
        assert_eq!(check_v2(&bad, 255), Err(DropReason::BadAuthType));
        let mut bad = good.clone();
        bad[16] = b'2';
        refill(&mut bad);
        assert_eq!(check_v2(&bad, 255), Err(DropReason::BadAuth));
        let mut bad = good.clone();
        bad[5] = 2;
        refill(&mut bad);
        assert_eq!(check_v2(&bad, 255), Err(DropReason::IntervalMismatch));
        let mut bad = good.clone();
        bad[0] = 0x22;
        refill(&mut bad);
        assert_eq!(check_v2(&bad, 255), Err(DropReason::BadType));
        let mut bad = good.clone();
        bad[7] ^= 1;
        assert_eq!(check_v2(&bad, 255), Err(DropReason::BadChecksum));
        // Auth is checked before the checksum.
        bad[16] = b'2';
        assert_eq!(check_v2(&bad, 255), Err(DropReason::BadAuth));
        let (src, dst, _) = golden_v2();
        assert_eq!(
            receive_check(&good, &meta(src, dst, 255), |_| None).unwrap_err(),
            DropReason::UnknownVrid
        );
        // A PASS advert inside an AH header (24 zero bytes in front).
        let mut wrapped = vec![0u8; 24];
        wrapped[0] = PROTOCOL;
        wrapped.extend_from_slice(&good);
        let ah = ReceiveMeta {
            ah: true,
            ..meta(src, dst, 255)
        };
        assert_eq!(
            receive_check(&wrapped, &ah, |_| Some(expect_v2(&[]))).unwrap_err(),
            DropReason::AhMismatch
        );
    }

    /// A v3 advert from `src` to `dst` for `vip`, priority 200 (the forgery of finding 1).
    fn v3_to(src: IpAddr, dst: IpAddr, vip: IpAddr) -> Vec<u8> {
        let vips = [vip];
        let repr = Repr {
            version: Version::V3,
            vrid: 51,
            priority: 200,
            advert_interval_cs: 100,
            auth: Auth::None,
            addresses: AddressList::Slice(&vips),
        };
        let mut buf = [0u8; 64];
        let len = repr.emit(&mut buf, src, dst).unwrap();
        buf[..len].to_vec()
    }

    fn expect_v3<'a>(vips: &'a [IpAddr], peers: &'a [IpAddr]) -> Expectation<'a> {
        Expectation {
            version: Version::V3,
            auth: Auth::None,
            advert_interval_cs: 100,
            vips,
            peers,
            ah_sequence: 0,
        }
    }

    fn check(src: IpAddr, dst: IpAddr, ttl: u8, e: Expectation<'_>) -> Result<(), DropReason> {
        let bytes = v3_to(src, dst, e.vips[0]);
        receive_check(&bytes, &meta(src, dst, ttl), |_| Some(e)).map(|_| ())
    }

    #[test]
    fn drop_reasons_have_distinct_names_and_counters() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        assert!(names.contains(&"not_to_group") && names.contains(&"not_unicast"));
        assert_eq!(
            DropReason::from(Malformed::Truncated).as_str(),
            Malformed::Truncated.as_str()
        );
    }

    #[test]
    fn multicast_instance_hears_only_its_group_at_ttl_255() {
        let (peer, me) = (v4(10, 254, 0, 2), v4(10, 254, 0, 1));
        let group = IpAddr::V4(MULTICAST_V4);
        let vips = [v4(10, 254, 0, 100)];
        let e = expect_v3(&vips, &[]);
        assert_eq!(check(peer, group, 255, e), Ok(()));
        assert_eq!(check(peer, group, 64, e), Err(DropReason::BadTtl));
        // Finding 1: priority 200 to our own address, TTL 64 or 255.
        assert_eq!(check(peer, me, 64, e), Err(DropReason::NotToGroup));
        assert_eq!(check(peer, me, 255, e), Err(DropReason::NotToGroup));
        // Another group is not ours either.
        let other = v4(224, 0, 0, 19);
        assert_eq!(check(peer, other, 255, e), Err(DropReason::NotToGroup));
        // IPv6: ff02::12 with hop limit 255 only.
        let (peer6, me6): (IpAddr, IpAddr) =
            ("fe80::2".parse().unwrap(), "fe80::1".parse().unwrap());
        let vips6: [IpAddr; 1] = ["fd00::100".parse().unwrap()];
        let e6 = expect_v3(&vips6, &[]);
        let group6 = IpAddr::V6(MULTICAST_V6);
        assert_eq!(check(peer6, group6, 255, e6), Ok(()));
        assert_eq!(check(peer6, group6, 1, e6), Err(DropReason::BadTtl));
        assert_eq!(check(peer6, me6, 255, e6), Err(DropReason::NotToGroup));
        // Unknown destination (no IPV6_PKTINFO): not provably the group.
        let unspecified = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
        assert_eq!(
            check(peer6, unspecified, 255, e6),
            Err(DropReason::NotToGroup)
        );
    }

    #[test]
    fn unicast_instance_hears_only_its_peers_at_any_ttl() {
        let (peer, stranger, me) = (v4(10, 254, 0, 2), v4(10, 254, 0, 9), v4(10, 254, 0, 1));
        let group = IpAddr::V4(MULTICAST_V4);
        let vips = [v4(10, 254, 0, 100)];
        let peers = [peer];
        let e = expect_v3(&vips, &peers);
        // keepalived 2.2.7: no TTL rule in unicast mode.
        for ttl in [255, 64, 1] {
            assert_eq!(check(peer, me, ttl, e), Ok(()), "ttl {ttl}");
        }
        assert_eq!(check(stranger, me, 255, e), Err(DropReason::NotFromPeer));
        // keepalived: "Expected unicast packet but received multicast packet".
        assert_eq!(check(peer, group, 255, e), Err(DropReason::NotUnicast));
        assert_eq!(check(stranger, group, 255, e), Err(DropReason::NotUnicast));
        // The v2 golden advert to a unicast address: the same rules.
        let (src, _, good) = golden_v2();
        let vips = [v4(10, 200, 0, 110)];
        let peers = [src];
        let e2 = Expectation {
            peers: &peers,
            ..expect_v2(&vips)
        };
        let to_me = meta(src, v4(10, 200, 0, 2), 64);
        assert!(receive_check(&good, &to_me, |_| Some(e2)).is_ok());
        let others = [v4(10, 200, 0, 9)];
        let e2 = Expectation {
            peers: &others,
            ..expect_v2(&vips)
        };
        assert_eq!(
            receive_check(&good, &to_me, |_| Some(e2)).unwrap_err(),
            DropReason::NotFromPeer
        );
    }

    #[test]
    fn addressing_is_checked_before_the_advert_is_read() {
        // A forged unicast advert with garbage after the header still counts
        // as not_to_group, not as whatever its bytes get wrong.
        let (peer, me) = (v4(10, 254, 0, 2), v4(10, 254, 0, 1));
        let vips = [v4(10, 254, 0, 100)];
        let mut bytes = v3_to(peer, me, vips[0]);
        bytes[0] = 0x41;
        bytes[7] ^= 0xff;
        assert_eq!(
            receive_check(&bytes, &meta(peer, me, 64), |_| Some(expect_v3(&vips, &[]))),
            Err(DropReason::NotToGroup)
        );
        // Unknown VRIDs have no mode: only the instance-independent checks run.
        let bytes = v3_to(peer, me, vips[0]);
        assert_eq!(
            receive_check(&bytes, &meta(peer, me, 64), |_| None).unwrap_err(),
            DropReason::UnknownVrid
        );
    }

    #[test]
    fn vip_mismatch_is_noted_not_dropped() {
        let (src, dst, good) = golden_v2();
        let other = [v4(10, 200, 0, 111)];
        let (_, notes) =
            receive_check(&good, &meta(src, dst, 255), |_| Some(expect_v2(&other))).unwrap();
        assert!(notes.vip_mismatch);
    }

    #[test]
    fn v3_interval_mismatch_is_noted_not_dropped() {
        let (src, dst, _, payload) = fixture_adverts(V3_IPV4)[0];
        let vips = [v4(10, 200, 0, 111), v4(10, 200, 0, 112)];
        let expect = Expectation {
            version: Version::V3,
            auth: Auth::None,
            advert_interval_cs: 200,
            vips: &vips,
            peers: &[],
            ah_sequence: 0,
        };
        let (repr, notes) = receive_check(payload, &meta(src, dst, 255), |_| Some(expect)).unwrap();
        assert!(notes.interval_mismatch);
        assert_eq!(repr.advert_interval_cs, 100);
    }

    /// keepalived 2.2.7's AH adverts (VRID 54, `auth_pass 1111`), whole IPv4 datagrams.
    fn keepalived_ah() -> Vec<Vec<u8>> {
        const V2_AH: &[u8] = include_bytes!("../../tests/fixtures/vrrp/v2_ah.pcap");
        crate::wire::vrrp::pcap_frames(V2_AH)
            .into_iter()
            .map(|f| f[14..].to_vec())
            .filter(|ip| ip[9] == crate::wire::vrrp::PROTOCOL_AH)
            .collect()
    }

    fn check_ah(ip: &[u8], e: Expectation<'_>) -> Result<(u8, ReceiveNotes), DropReason> {
        let (header, payload) = ip.split_at(20);
        let meta = ReceiveMeta {
            src: v4(ip[12], ip[13], ip[14], ip[15]),
            dst: v4(ip[16], ip[17], ip[18], ip[19]),
            ttl: ip[8],
            ah: ip[9] == crate::wire::vrrp::PROTOCOL_AH,
        };
        receive_check_ipv4(header, payload, &meta, |vrid| {
            assert_eq!(vrid, 54);
            Some(e)
        })
        .map(|(repr, notes)| (repr.priority, notes))
    }

    fn expect_ah<'a>(vips: &'a [IpAddr], key: &[u8], last: u32) -> Expectation<'a> {
        Expectation {
            auth: Auth::ah(key),
            ah_sequence: last,
            ..expect_v2(vips)
        }
    }

    #[test]
    fn keepalived_ah_adverts_verify_with_the_key_only() {
        let vips = [v4(10, 200, 0, 113)];
        let all = keepalived_ah();
        assert!(all.len() >= 3);
        for (n, ip) in all.iter().enumerate() {
            let seq = n as u32 + 1;
            let (_, notes) = check_ah(ip, expect_ah(&vips, b"1111", seq - 1)).unwrap();
            assert_eq!(notes.ah_sequence, Some(seq));
            // keepalived cuts the password to 8 bytes: the same key.
            assert!(check_ah(ip, expect_ah(&vips, b"1111\0\0\0\0", 0)).is_ok());
            assert_eq!(
                check_ah(ip, expect_ah(&vips, b"1112", 0)).unwrap_err(),
                DropReason::BadAuth,
                "wrong key"
            );
            // Anti-replay: not above the last sequence number seen or sent.
            assert_eq!(
                check_ah(ip, expect_ah(&vips, b"1111", seq)).unwrap_err(),
                DropReason::BadAuth,
                "replay"
            );
            // A PASS or unauthenticated instance does not take AH adverts.
            assert_eq!(
                check_ah(ip, expect_v2(&vips)).unwrap_err(),
                DropReason::AhMismatch
            );
            // Any change of a covered byte breaks the ICV; the TOS does not.
            let mut bad = ip.clone();
            bad[20 + 24 + 2] ^= 1; // VRRP priority
            assert_eq!(
                check_ah(&bad, expect_ah(&vips, b"1111", 0)).unwrap_err(),
                DropReason::BadAuth
            );
            let mut tos = ip.clone();
            tos[1] = 0;
            assert!(check_ah(&tos, expect_ah(&vips, b"1111", 0)).is_ok());
            // An AH header for another protocol is not a VRRP advert.
            let mut next = ip.clone();
            next[20] = 6;
            assert_eq!(
                check_ah(&next, expect_ah(&vips, b"1111", 0)).unwrap_err(),
                DropReason::AhMismatch
            );
            // Truncated anywhere: never a panic, always a drop.
            for cut in 20..ip.len() {
                let mut short = ip[..cut].to_vec();
                short[2..4].copy_from_slice(&(cut as u16).to_be_bytes());
                assert!(
                    check_ah(&short, expect_ah(&vips, b"1111", 0)).is_err(),
                    "cut {cut}"
                );
            }
        }
        // An AH instance does not take plain adverts.
        let (src, dst, good) = golden_v2();
        let e = expect_ah(&vips, b"1111", 0);
        assert_eq!(
            receive_check(&good, &meta(src, dst, 255), |_| Some(e)).unwrap_err(),
            DropReason::AhMismatch
        );
        // Without the IPv4 header an AH advert cannot be verified.
        let ip = &all[0];
        let m = ReceiveMeta {
            ah: true,
            ..meta(v4(10, 200, 0, 1), dst, 255)
        };
        assert_eq!(
            receive_check(&ip[20..], &m, |_| Some(e)).unwrap_err(),
            DropReason::AhMismatch
        );
    }

    #[test]
    fn ah_spi_must_be_the_source() {
        let vips = [v4(10, 200, 0, 113)];
        let ip = keepalived_ah()[0].clone();
        // The same bytes from another source: the ICV covers the source, so
        // re-sign them with the right key as a forger who knows it would.
        let mut forged = ip.clone();
        forged[15] = 9;
        let key = match Auth::ah(b"1111") {
            Auth::Ah(k) => k,
            _ => unreachable!(),
        };
        let (h, a) = forged.split_at_mut(20);
        let icv = crate::wire::ah::icv(&key, h, a, false).unwrap();
        a[12..24].copy_from_slice(&icv);
        assert_eq!(
            check_ah(&forged, expect_ah(&vips, b"1111", 0)).unwrap_err(),
            DropReason::BadAuth
        );
    }
}
