//! A farm of real servers for the checker benchmarks (not part of lvsd).
//!
//! `farm FIRST_ADDR COUNT PORT [tcp|http BODY_FILE]` listens on COUNT
//! consecutive IPv4 addresses from FIRST_ADDR (loopback: 127.1.0.1 and on
//! are all local) on PORT. In `tcp` mode it accepts and closes; in `http`
//! mode it reads a request head and answers `200 OK` with the body file,
//! then closes (HTTP/1.0). One thread, one mio poll, so it costs far less
//! than the checker it feeds.
//!
//! Commands on stdin, one per line, answered on stdout:
//! - `stop N`: close listener N (0-based); new connections are refused.
//! - `start N`: listen on N again.
//! - `stats`: `accepted A served S errors E`.
//! - `gaps PERIOD_MS`: the lateness of the connections against a checker's
//!   schedule, seen from the server side: for every connection accepted on a
//!   listener that had one before, `gap - PERIOD` (gap = time between the two
//!   accepts). Answers `gaps n=N min=..us p50=..us p99=..us p999=..us max=..us`
//!   (signed microseconds) over the gaps since the previous `gaps`, then
//!   starts a new window (the last accept of each listener is kept).
//!
//! It prints `ready` once every listener is up.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::net::{TcpListener, TcpStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

const STDIN: Token = Token(usize::MAX - 1);
const CONN_BASE: usize = 1 << 30;
const MAX_CONNS: usize = 8192;

struct Conn {
    stream: TcpStream,
    head: Vec<u8>,
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    Ok(TcpListener::from_std(s.into()))
}

/// `gaps PERIOD_MS`'s answer: percentiles of `gap - period` in microseconds.
fn gap_report(gaps: &mut [i64], period_ms: i64) -> String {
    if gaps.is_empty() {
        return "gaps n=0".to_string();
    }
    let period_us = period_ms * 1000;
    gaps.sort_unstable();
    let pct = |p: f64| {
        let i = ((gaps.len() as f64 * p).ceil() as usize).clamp(1, gaps.len()) - 1;
        gaps[i] - period_us
    };
    format!(
        "gaps n={} min={}us p50={}us p99={}us p999={}us max={}us",
        gaps.len(),
        gaps[0] - period_us,
        pct(0.50),
        pct(0.99),
        pct(0.999),
        gaps[gaps.len() - 1] - period_us
    )
}

fn usage() -> ! {
    eprintln!("usage: farm FIRST_ADDR COUNT PORT [tcp|http BODY_FILE]");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        usage();
    }
    let first: Ipv4Addr = args[0].parse().unwrap_or_else(|_| usage());
    let count: usize = args[1].parse().unwrap_or_else(|_| usage());
    let port: u16 = args[2].parse().unwrap_or_else(|_| usage());
    let body = match args.get(3).map(String::as_str) {
        None | Some("tcp") => None,
        Some("http") => {
            let path = args.get(4).unwrap_or_else(|| usage());
            Some(std::fs::read(path).unwrap_or_else(|e| {
                eprintln!("farm: {path}: {e}");
                std::process::exit(1)
            }))
        }
        Some(_) => usage(),
    };
    let response = body.as_ref().map(|b| {
        let mut r = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            b.len()
        )
        .into_bytes();
        r.extend_from_slice(b);
        r
    });

    let mut poll = Poll::new().expect("poll");
    let addr_of = |i: usize| {
        SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::from(u32::from(first) + i as u32),
            port,
        ))
    };
    let mut listeners: Vec<Option<TcpListener>> = Vec::with_capacity(count);
    for i in 0..count {
        let mut l = listen(addr_of(i)).unwrap_or_else(|e| {
            eprintln!("farm: listen {}: {e}", addr_of(i));
            std::process::exit(1)
        });
        poll.registry()
            .register(&mut l, Token(i), Interest::READABLE)
            .expect("register");
        listeners.push(Some(l));
    }
    let stdin_fd = std::io::stdin().as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&stdin_fd), STDIN, Interest::READABLE)
        .expect("register stdin");
    let mut conns: Vec<Option<Conn>> = (0..MAX_CONNS).map(|_| None).collect();
    let mut free: Vec<usize> = (0..MAX_CONNS).rev().collect();
    let (mut accepted, mut served, mut errors) = (0u64, 0u64, 0u64);
    let mut last_accept: Vec<Option<Instant>> = vec![None; count];
    let mut gaps: Vec<i64> = Vec::new();
    let mut stdin_buf = Vec::new();
    let mut events = Events::with_capacity(1024);
    println!("ready");
    std::io::stdout().flush().ok();

    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("farm: poll: {e}");
            std::process::exit(1);
        }
        for ev in events.iter() {
            let t = ev.token().0;
            if ev.token() == STDIN {
                let mut chunk = [0u8; 4096];
                let n = std::io::stdin().lock().read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    return; // stdin closed: the bench is done
                }
                stdin_buf.extend_from_slice(&chunk[..n]);
                while let Some(pos) = stdin_buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = stdin_buf.drain(..=pos).collect();
                    let line = String::from_utf8_lossy(&line);
                    let mut w = line.split_whitespace();
                    let out = match (w.next(), w.next().and_then(|n| n.parse::<usize>().ok())) {
                        (Some("stop"), Some(i)) if i < count => {
                            if let Some(mut l) = listeners[i].take() {
                                let _ = poll.registry().deregister(&mut l);
                            }
                            format!("stopped {i}")
                        }
                        (Some("start"), Some(i)) if i < count => {
                            if listeners[i].is_none() {
                                match listen(addr_of(i)) {
                                    Ok(mut l) => {
                                        let _ = poll.registry().register(
                                            &mut l,
                                            Token(i),
                                            Interest::READABLE,
                                        );
                                        listeners[i] = Some(l);
                                    }
                                    Err(e) => eprintln!("farm: relisten {}: {e}", addr_of(i)),
                                }
                            }
                            format!("started {i}")
                        }
                        (Some("gaps"), Some(period_ms)) => {
                            let r = gap_report(&mut gaps, period_ms as i64);
                            gaps.clear();
                            r
                        }
                        (Some("stats"), _) => {
                            format!("accepted {accepted} served {served} errors {errors}")
                        }
                        _ => format!("error: {}", line.trim()),
                    };
                    println!("{out}");
                    std::io::stdout().flush().ok();
                }
            } else if t < count {
                let Some(l) = listeners[t].as_ref() else {
                    continue;
                };
                loop {
                    match l.accept() {
                        Ok((mut stream, _)) => {
                            accepted += 1;
                            let now = Instant::now();
                            if let Some(prev) = last_accept[t].replace(now) {
                                if gaps.len() < 1 << 20 {
                                    gaps.push((now - prev).as_micros() as i64);
                                }
                            }
                            if response.is_none() {
                                continue; // dropped: closed at once
                            }
                            let Some(slot) = free.pop() else {
                                errors += 1;
                                continue;
                            };
                            if poll
                                .registry()
                                .register(&mut stream, Token(CONN_BASE + slot), Interest::READABLE)
                                .is_err()
                            {
                                errors += 1;
                                free.push(slot);
                                continue;
                            }
                            conns[slot] = Some(Conn {
                                stream,
                                head: Vec::with_capacity(256),
                            });
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            errors += 1;
                            break;
                        }
                    }
                }
            } else if t >= CONN_BASE && t - CONN_BASE < MAX_CONNS {
                let slot = t - CONN_BASE;
                let Some(c) = conns[slot].as_mut() else {
                    continue;
                };
                let mut done = false;
                let mut buf = [0u8; 2048];
                loop {
                    match c.stream.read(&mut buf) {
                        Ok(0) => {
                            done = true;
                            break;
                        }
                        Ok(n) => {
                            c.head.extend_from_slice(&buf[..n]);
                            if c.head.windows(4).any(|w| w == b"\r\n\r\n") {
                                if let Some(r) = response.as_ref() {
                                    // Small answers fit the socket buffer of
                                    // a fresh connection.
                                    match c.stream.write(r) {
                                        Ok(n) if n == r.len() => served += 1,
                                        _ => errors += 1,
                                    }
                                }
                                done = true;
                                break;
                            }
                            if c.head.len() > 16 * 1024 {
                                errors += 1;
                                done = true;
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            errors += 1;
                            done = true;
                            break;
                        }
                    }
                }
                if done {
                    if let Some(mut c) = conns[slot].take() {
                        let _ = poll.registry().deregister(&mut c.stream);
                    }
                    free.push(slot);
                }
            }
        }
    }
}
