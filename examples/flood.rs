//! A flood of bad VRRP adverts for the VRRP bench (not part of lvsd).
//!
//! `flood IFACE RATE SECONDS [--burst N] [--to ADDR] [--ttl T]` sends RATE
//! adverts per second for SECONDS out of IFACE to 224.0.0.18 (IP protocol
//! 112, TTL 255), cycling through the bad kinds lvsd must drop and count:
//! wrong checksum, wrong version, unknown VRID, wrong auth (v2 PASS),
//! truncated. It prints how many it sent and the rate it reached.
//!
//! `--burst N` sends them N at a time, back to back (RATE / N bursts per
//! second: what one read of the receiver meets); `--to ADDR` sends to a
//! unicast address instead of the group (the forgery of issue 10, finding 1:
//! a multicast instance counts it as `not_to_group`); `--ttl T` sets the TTL.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for chunk in data.chunks(2) {
        let word = if chunk.len() == 2 {
            u32::from(u16::from_be_bytes([chunk[0], chunk[1]]))
        } else {
            u32::from(chunk[0]) << 8
        };
        sum += word;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A VRRPv2 advert with PASS auth for `vrid` and one VIP; checksum filled.
fn advert(vrid: u8, version: u8, pass: &[u8; 8]) -> Vec<u8> {
    let mut p = vec![
        (version << 4) | 1,
        vrid,
        100, // priority
        1,   // one address
        1,   // auth PASS
        1,   // advert_int
        0,
        0,
        10,
        254,
        50,
        100,
    ];
    p.extend_from_slice(pass);
    let c = checksum(&p);
    p[6..8].copy_from_slice(&c.to_be_bytes());
    p
}

fn main() {
    let usage = || -> ! {
        eprintln!("usage: flood IFACE RATE SECONDS [--burst N] [--to ADDR] [--ttl T]");
        std::process::exit(2);
    };
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut burst = 1u64;
    let mut to = Ipv4Addr::new(224, 0, 0, 18);
    let mut ttl = 255u32;
    while args.len() > 3 {
        let value = args.pop().unwrap_or_else(|| usage());
        match args.pop().as_deref() {
            Some("--burst") => burst = value.parse().unwrap_or_else(|_| usage()),
            Some("--to") => to = value.parse().unwrap_or_else(|_| usage()),
            Some("--ttl") => ttl = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if args.len() != 3 || burst == 0 {
        usage();
    }
    let rate: u64 = args[1].parse().expect("RATE");
    let secs: f64 = args[2].parse().expect("SECONDS");
    let sock =
        Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).expect("raw socket (root)");
    sock.bind_device(Some(args[0].as_bytes()))
        .expect("bind to device");
    sock.set_multicast_ttl_v4(ttl).expect("ttl");
    sock.set_ttl_v4(ttl).expect("ttl");
    let dst: SocketAddr = SocketAddrV4::new(to, 0).into();
    let dst = dst.into();

    let good_vrid = 51;
    let mut bad_sum = advert(good_vrid, 2, b"1111\0\0\0\0");
    bad_sum[6] ^= 0xff;
    let kinds = [
        bad_sum,
        advert(good_vrid, 4, b"1111\0\0\0\0"), // wrong version
        advert(200, 2, b"1111\0\0\0\0"),       // unknown VRID
        advert(good_vrid, 2, b"wrong\0\0\0"),  // wrong auth
        advert(good_vrid, 2, b"1111\0\0\0\0")[..6].to_vec(), // truncated
    ];

    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let mut sent = 0u64;
    let mut errors = 0u64;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        // Pace in batches: as many as the schedule allows by now, in whole bursts.
        let due = (now.duration_since(start).as_secs_f64() * rate as f64) as u64;
        let due = due / burst * burst;
        if sent + errors >= due {
            std::hint::spin_loop();
            continue;
        }
        for _ in 0..(due - sent - errors).min(256.max(burst)) {
            let k = &kinds[((sent + errors) % kinds.len() as u64) as usize];
            match sock.send_to(k, &dst) {
                Ok(_) => sent += 1,
                Err(_) => errors += 1,
            }
        }
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "flood: sent {sent} bad adverts in {took:.2} s ({:.0}/s), {errors} send errors",
        sent as f64 / took
    );
}
