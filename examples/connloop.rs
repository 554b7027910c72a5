//! The floor under a TCP check on loopback (for the checker bench; not part
//! of lvsd): `connloop FIRST_ADDR COUNT PORT RATE SECONDS` connects to each
//! address in turn at RATE connections per second and closes at once, with
//! nothing else: no timers, no state machines. On loopback both ends of the
//! handshake run in the caller's system time, so this is the CPU any checker
//! pays for the same work here; it prints it as % of one core.

use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

fn cpu_seconds() -> (f64, f64) {
    // /proc/self/stat fields 14 and 15: utime and stime in clock ticks (100/s).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (tick(11), tick(12))
}

fn lvsd_like_check(to: SocketAddrV4) -> bool {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let Ok(s) = Socket::new(
        Domain::IPV4,
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    ) else {
        return false;
    };
    match s.connect(&SockAddr::from(to)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(_) => return false,
    }
    let ok = s.peer_addr().is_ok();
    if ok {
        let _ = s.set_linger(Some(Duration::ZERO));
    }
    ok
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 5 {
        eprintln!("usage: connloop FIRST_ADDR COUNT PORT RATE SECONDS");
        std::process::exit(2);
    }
    let first: Ipv4Addr = a[0].parse().expect("FIRST_ADDR");
    let count: u32 = a[1].parse().expect("COUNT");
    let port: u16 = a[2].parse().expect("PORT");
    let rate: f64 = a[3].parse().expect("RATE");
    let secs: f64 = a[4].parse().expect("SECONDS");
    // `CONNLOOP_LVSD_LIKE=1`: lvsd's own syscalls for a TCP_CHECK instead of a
    // blocking connect: non-blocking socket, connect, getpeername, SO_LINGER 0, close.
    let lvsd_like = std::env::var_os("CONNLOOP_LVSD_LIKE").is_some();
    let (u0, s0) = cpu_seconds();
    let start = Instant::now();
    let mut done = 0u64;
    let mut failed = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        if done >= due {
            std::thread::sleep(Duration::from_micros(500));
            continue;
        }
        while done < due {
            let ip = Ipv4Addr::from(u32::from(first) + (done % u64::from(count)) as u32);
            let to = SocketAddrV4::new(ip, port);
            let ok = if lvsd_like {
                lvsd_like_check(to)
            } else {
                TcpStream::connect(to).is_ok()
            };
            if !ok {
                failed += 1;
            }
            done += 1;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let (u1, s1) = cpu_seconds();
    println!(
        "connloop: {done} connects in {wall:.1} s ({:.0}/s, {failed} failed): CPU {:.1}% of one core (user {:.1}%, kernel {:.1}%)",
        done as f64 / wall,
        ((u1 - u0) + (s1 - s0)) / wall * 100.0,
        (u1 - u0) / wall * 100.0,
        (s1 - s0) / wall * 100.0
    );
}
