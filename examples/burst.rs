//! Bursts of VRRPv3 adverts for the hostile-inputs bench (not part of lvsd).
//!
//! `burst IFACE SRC VIP VRID COUNT LOW HIGH` reads lines on stdin; for each
//! `go` it sends COUNT IPv4 VRRPv3 adverts out of IFACE to 224.0.0.18 (TTL
//! 255) back to back: COUNT-1 at priority LOW, then one at priority
//! HIGH, each for VRID with the one address VIP and advert_int 0.1 s, the
//! checksum over the pseudo-header from SRC. It then prints `burst TIME SENT`
//! (wall clock, seconds). It stops at end of input or after 64 bursts.

use std::io::{BufRead, Write};
use std::net::Ipv4Addr;

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

fn advert(src: Ipv4Addr, vrid: u8, priority: u8, vip: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0x31, vrid, priority, 1, 0, 10, 0, 0];
    p.extend_from_slice(&vip.octets());
    let mut pseudo = Vec::with_capacity(12 + p.len());
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&[224, 0, 0, 18, 0, 112, 0, p.len() as u8]);
    pseudo.extend_from_slice(&p);
    let c = checksum(&pseudo);
    p[6..8].copy_from_slice(&c.to_be_bytes());
    p
}

fn usage() -> ! {
    eprintln!("usage: burst IFACE SRC VIP VRID COUNT LOW HIGH   (then `go` lines on stdin)");
    std::process::exit(2);
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 7 {
        usage();
    }
    let src: Ipv4Addr = a[1].parse().unwrap_or_else(|_| usage());
    let vip: Ipv4Addr = a[2].parse().unwrap_or_else(|_| usage());
    let vrid: u8 = a[3].parse().unwrap_or_else(|_| usage());
    let count: usize = a[4].parse().unwrap_or_else(|_| usage());
    let low: u8 = a[5].parse().unwrap_or_else(|_| usage());
    let high: u8 = a[6].parse().unwrap_or_else(|_| usage());
    if count == 0 || count > 4096 {
        usage();
    }
    let sock =
        Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).expect("raw socket (root)");
    sock.bind_device(Some(a[0].as_bytes()))
        .expect("bind to device");
    sock.set_multicast_ttl_v4(255).expect("ttl");

    let low_pkt = advert(src, vrid, low, vip);
    let high_pkt = advert(src, vrid, high, vip);
    let dst: std::net::SocketAddr = (Ipv4Addr::new(224, 0, 0, 18), 0).into();
    let dst = dst.into();

    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    for (n, line) in stdin.lock().lines().enumerate() {
        let Ok(line) = line else { break };
        if line.trim() != "go" || n >= 64 {
            break;
        }
        // Back to back from one thread: about a microsecond each, so the
        // burst is in lvsd's socket before it has read the first few.
        let mut sent = 0usize;
        for i in 0..count {
            let p = if i + 1 == count { &high_pkt } else { &low_pkt };
            if sock.send_to(p, &dst).is_ok() {
                sent += 1;
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let _ = writeln!(out, "burst {now:.6} {sent}");
        let _ = out.flush();
    }
}
