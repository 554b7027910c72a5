//! Netlink: message and attribute codecs, generic netlink, IPVS and rtnetlink.

pub mod attr;
pub mod connector;
pub mod genl;
pub mod ipvs;
pub mod msg;
pub mod route;
pub mod rtnl;

/// Runs every reply parser lvsd has over one received datagram and returns how many
/// messages decoded. The fuzz target `netlink_reply` and the robustness tests call it:
/// it must never panic, whatever the bytes.
pub fn parse_datagram_all(datagram: &[u8]) -> usize {
    let mut decoded = usize::from(connector::parse_event(datagram).is_ok());
    for m in msg::Messages::new(datagram).flatten() {
        let Ok(reply) = m.reply() else { continue };
        decoded += 1;
        if let msg::Reply::Data(d) = reply {
            let _ = genl::parse_family(d.payload);
            let _ = ipvs::parse_reply(d.payload, ipvs::AddrFamily::V4);
            let _ = ipvs::parse_reply(d.payload, ipvs::AddrFamily::V6);
            let _ = rtnl::parse_event(d.header.kind, d.payload);
            let _ = route::RouteRepr::parse(d.payload);
            let _ = route::RuleRepr::parse(d.payload);
            if let Some(attrs) = d.payload.get(genl::GENL_HDRLEN..) {
                walk(attrs, 0);
            }
        }
    }
    decoded
}

/// Walks attributes as if every one were nested, to a bounded depth.
fn walk(bytes: &[u8], depth: u8) {
    if depth > 4 {
        return;
    }
    for a in attr::Attrs::new(bytes).flatten() {
        let _ = (a.u8(), a.u16(), a.be16(), a.u32(), a.u64(), a.str());
        walk(a.payload, depth + 1);
    }
}

#[cfg(test)]
mod robustness {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    /// xorshift64: deterministic bytes without a dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn random_and_mutated_datagrams_never_panic() {
        // Seeds: valid messages of each kind, then flipped bytes and lengths.
        let mut seeds: Vec<Vec<u8>> = Vec::new();
        let mut buf = [0u8; 512];
        let key = ipvs::ServiceKey::Addr {
            protocol: ipvs::Protocol::Tcp,
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port: 80,
        };
        let d = ipvs::Dest::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            80,
            ipvs::ForwardMethod::Tunnel(ipvs::TunnelType::Gre),
            1,
        );
        for op in [
            ipvs::IpvsOp::SetService(
                ipvs::Service::new(key, ipvs::Scheduler::Mh).persistent(60, 24),
            ),
            ipvs::IpvsOp::NewDest(key, d),
        ] {
            let n = ipvs::encode_op(&mut buf, 0x24, 1, &op).unwrap();
            let mut v = buf[..n].to_vec();
            v[16] = if v[16] == ipvs::cmd::SET_SERVICE {
                ipvs::cmd::NEW_SERVICE
            } else {
                ipvs::cmd::NEW_DEST
            };
            seeds.push(v);
        }
        let n = rtnl::encode_new_addr(
            &mut buf,
            1,
            &rtnl::IfAddr::host(1, IpAddr::V4(Ipv4Addr::LOCALHOST)),
        )
        .unwrap();
        seeds.push(buf[..n].to_vec());
        let n = genl::encode_get_family(&mut buf, 1, "IPVS").unwrap();
        seeds.push(buf[..n].to_vec());
        let mut r = route::RouteRepr::new(IpAddr::V4(Ipv4Addr::new(10, 1, 0, 0)), 16);
        r.gateway = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        r.oif = Some(2);
        let _ = r.nexthops.push(route::NextHopRepr {
            ifindex: 2,
            gateway: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
            hops: 0,
            flags: 0,
        });
        let n = route::encode_new_route(&mut buf, 1, &r, route::RouteCreate::Prepend).unwrap();
        seeds.push(buf[..n].to_vec());
        let mut rule = route::RuleRepr::new(false, route::RuleAction::Table(100));
        rule.priority = Some(1000);
        rule.iifname = Some(rtnl::IfName::try_from("eth0").unwrap());
        let n = route::encode_new_rule(&mut buf, 1, &rule).unwrap();
        seeds.push(buf[..n].to_vec());
        let n =
            rtnl::encode_new_macvlan(&mut buf, 1, "vrrp.9", 2, rtnl::vrrp_virtual_mac(9, false))
                .unwrap();
        seeds.push(buf[..n].to_vec());
        let n =
            rtnl::encode_set_ipv4_conf(&mut buf, 1, 2, &[(rtnl::DEVCONF_ARP_IGNORE, 1)]).unwrap();
        seeds.push(buf[..n].to_vec());
        for s in &seeds {
            assert_eq!(parse_datagram_all(s), 1);
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..20_000 {
            let mut v = seeds[i % seeds.len()].clone();
            let flips = 1 + next(&mut state) % 4;
            for _ in 0..flips {
                let at = (next(&mut state) as usize) % v.len();
                v[at] = next(&mut state) as u8;
            }
            if i % 3 == 0 {
                let cut = (next(&mut state) as usize) % (v.len() + 1);
                v.truncate(cut);
            }
            let _ = parse_datagram_all(&v);
            let len = (next(&mut state) % 96) as usize;
            let noise: Vec<u8> = (0..len).map(|_| next(&mut state) as u8).collect();
            let _ = parse_datagram_all(&noise);
        }
    }
}
