//! Traffic for the scale-out lab (tests/vm/t_scale_out.sh; not part of lvsd).
//!
//! - `scaleflow serve PORT NAME`: a real server. Answers every line it reads
//!   on a connection with `NAME\n` (one thread, one mio poll).
//! - `scaleflow hold ADDR:PORT N PERIOD_MS STOPFILE`: opens N long-lived
//!   connections, prints `conn LOCAL_PORT SERVER` for each and then `ready`;
//!   sends a line on every connection each PERIOD_MS and checks the answer
//!   names the same server. When STOPFILE exists it gives each connection a
//!   last 5 s to answer, prints `result LOCAL_PORT ok|broken WHY MAX_STALL_MS`
//!   per connection and `hold n=N ok=K broken=B max_stall_ms=S`.
//! - `scaleflow probe ADDR:PORT MS INTERVAL_MS TIMEOUT_MS`: a new connection
//!   every INTERVAL_MS for MS, each given TIMEOUT_MS to connect and answer;
//!   prints `fail T_START_MS T_END_MS` per failure (CLOCK_BOOTTIME ms, the
//!   clock of /proc/uptime) and `probe attempts=A failed=F outage_ms=O
//!   first_fail=T last_fail=T` (outage: from the first failed attempt's start
//!   to the last failed attempt's start, i.e. the window in which a new
//!   connection's SYN was lost; 0 when at most one failed), plus `served NAME
//!   COUNT` lines.
//! - `scaleflow now`: CLOCK_BOOTTIME in ms.
//! - `scaleflow stamp`: copies stdin to stdout, each line prefixed with
//!   CLOCK_BOOTTIME ms as it arrives (for `ip -o monitor route`).

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

fn boottime_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into a live local.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

fn serve(port: u16, name: &str) -> Result<(), String> {
    let addr: SocketAddr = format!("0.0.0.0:{port}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    let mut listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    poll.registry()
        .register(&mut listener, Token(0), Interest::READABLE)
        .map_err(|e| e.to_string())?;
    let mut conns: BTreeMap<usize, TcpStream> = BTreeMap::new();
    let mut next = 1usize;
    let answer = format!("{name}\n");
    let mut events = Events::with_capacity(256);
    let mut buf = [0u8; 4096];
    println!("ready");
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e.to_string());
        }
        for ev in &events {
            if ev.token() == Token(0) {
                while let Ok((mut s, _)) = listener.accept() {
                    let t = Token(next);
                    next += 1;
                    if poll
                        .registry()
                        .register(&mut s, t, Interest::READABLE)
                        .is_ok()
                    {
                        conns.insert(t.0, s);
                    }
                }
                continue;
            }
            let key = ev.token().0;
            let mut close = false;
            if let Some(s) = conns.get_mut(&key) {
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => {
                            close = true;
                            break;
                        }
                        Ok(n) => {
                            let lines = buf.iter().take(n).filter(|b| **b == b'\n').count();
                            for _ in 0..lines {
                                if s.write_all(answer.as_bytes()).is_err() {
                                    close = true;
                                }
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => {
                            close = true;
                            break;
                        }
                    }
                }
            }
            if close {
                if let Some(mut s) = conns.remove(&key) {
                    let _ = poll.registry().deregister(&mut s);
                }
            }
        }
    }
}

/// One request/answer on a fresh connection: the server's name.
fn exchange(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let started = Instant::now();
    let mut s = StdStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    let left = timeout
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(1));
    s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
    s.write_all(b"p\n").map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.contains(&b'\n') {
        match s.read(&mut buf) {
            Ok(0) => return Err("closed".into()),
            Ok(n) => got.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            Err(e) => return Err(e.to_string()),
        }
    }
    let text = String::from_utf8_lossy(&got);
    Ok(text.lines().next().unwrap_or("").to_owned())
}

fn probe(addr: SocketAddr, ms: u64, interval: u64, timeout: u64) {
    let end = boottime_ms() + ms;
    let (mut attempts, mut failed) = (0u64, 0u64);
    let (mut first, mut last) = (None, 0u64);
    let mut served: BTreeMap<String, u64> = BTreeMap::new();
    while boottime_ms() < end {
        let t0 = boottime_ms();
        attempts += 1;
        match exchange(addr, Duration::from_millis(timeout)) {
            Ok(name) => *served.entry(name).or_default() += 1,
            Err(_) => {
                let t1 = boottime_ms();
                failed += 1;
                first.get_or_insert(t0);
                last = t0;
                println!("fail {t0} {t1}");
            }
        }
        let spent = boottime_ms() - t0;
        if spent < interval {
            std::thread::sleep(Duration::from_millis(interval - spent));
        }
    }
    for (name, n) in &served {
        println!("served {name} {n}");
    }
    let outage = first.map_or(0, |f| last - f);
    println!(
        "probe attempts={attempts} failed={failed} outage_ms={outage} first_fail={} last_fail={last}",
        first.unwrap_or(0)
    );
}

struct Held {
    stream: TcpStream,
    port: u16,
    server: String,
    /// Bytes of the answer line being read.
    partial: Vec<u8>,
    /// When the unanswered line was sent.
    waiting_since: Option<Instant>,
    max_stall: Duration,
    broken: Option<String>,
}

fn hold(addr: SocketAddr, n: usize, period: Duration, stop: &str) -> Result<(), String> {
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let mut held: Vec<Held> = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = StdStream::connect_timeout(&addr, Duration::from_secs(3))
            .map_err(|e| format!("connection {i}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(|e| e.to_string())?;
        s.write_all(b"p\n").map_err(|e| e.to_string())?;
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while b[0] != b'\n' {
            match s.read(&mut b) {
                Ok(1) => line.push(b[0]),
                Ok(_) => return Err(format!("connection {i}: closed")),
                Err(e) => return Err(format!("connection {i}: {e}")),
            }
        }
        let server = String::from_utf8_lossy(&line).trim().to_owned();
        let port = s.local_addr().map_err(|e| e.to_string())?.port();
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut stream = TcpStream::from_std(s);
        poll.registry()
            .register(&mut stream, Token(i), Interest::READABLE)
            .map_err(|e| e.to_string())?;
        println!("conn {port} {server}");
        held.push(Held {
            stream,
            port,
            server,
            partial: Vec::new(),
            waiting_since: None,
            max_stall: Duration::ZERO,
            broken: None,
        });
    }
    println!("ready");
    let mut events = Events::with_capacity(256);
    let mut next_round = Instant::now();
    let mut stopping: Option<Instant> = None;
    let mut buf = [0u8; 256];
    loop {
        let now = Instant::now();
        if stopping.is_none() && std::path::Path::new(stop).exists() {
            stopping = Some(now + Duration::from_secs(5));
        }
        if let Some(deadline) = stopping {
            let pending = held
                .iter()
                .any(|h| h.broken.is_none() && h.waiting_since.is_some());
            if !pending || now >= deadline {
                break;
            }
        }
        if now >= next_round {
            next_round = now + period;
            for h in held.iter_mut().filter(|h| h.broken.is_none()) {
                if h.waiting_since.is_none() {
                    match h.stream.write(b"p\n") {
                        Ok(2) => h.waiting_since = Some(now),
                        Ok(_) => h.broken = Some("short-write".into()),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => h.broken = Some(format!("write:{}", e.kind())),
                    }
                }
            }
        }
        let wait = next_round
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(20));
        if let Err(e) = poll.poll(&mut events, Some(wait)) {
            if e.kind() != ErrorKind::Interrupted {
                return Err(e.to_string());
            }
        }
        for ev in &events {
            let Some(h) = held.get_mut(ev.token().0) else {
                continue;
            };
            loop {
                match h.stream.read(&mut buf) {
                    Ok(0) => {
                        h.broken.get_or_insert_with(|| "closed".into());
                        break;
                    }
                    Ok(k) => h.partial.extend_from_slice(buf.get(..k).unwrap_or(&[])),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        h.broken.get_or_insert_with(|| format!("read:{}", e.kind()));
                        break;
                    }
                }
            }
            while let Some(pos) = h.partial.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = h.partial.drain(..=pos).collect();
                let name = String::from_utf8_lossy(&line).trim().to_owned();
                if name != h.server {
                    h.broken.get_or_insert_with(|| format!("moved-to-{name}"));
                }
                if let Some(t) = h.waiting_since.take() {
                    h.max_stall = h.max_stall.max(t.elapsed());
                }
            }
        }
        // A connection waiting counts its stall as it grows.
        for h in held.iter_mut() {
            if let Some(t) = h.waiting_since {
                h.max_stall = h.max_stall.max(t.elapsed());
            }
        }
    }
    let (mut ok, mut broken, mut worst) = (0, 0, Duration::ZERO);
    for h in &mut held {
        if h.broken.is_none() && h.waiting_since.is_some() {
            h.broken = Some("no-answer".into());
        }
        worst = worst.max(h.max_stall);
        match &h.broken {
            None => {
                ok += 1;
                println!("result {} ok - {}", h.port, h.max_stall.as_millis());
            }
            Some(why) => {
                broken += 1;
                println!("result {} broken {why} {}", h.port, h.max_stall.as_millis());
            }
        }
    }
    println!(
        "hold n={} ok={ok} broken={broken} max_stall_ms={}",
        held.len(),
        worst.as_millis()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let num = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("{s:?} is not a number"))
    };
    let sock = |s: &str| {
        s.parse::<SocketAddr>()
            .map_err(|_| format!("{s:?} is not ADDR:PORT"))
    };
    let result = match words.as_slice() {
        ["serve", port, name] => num(port)
            .and_then(|p| u16::try_from(p).map_err(|_| "port out of range".to_string()))
            .and_then(|p| serve(p, name)),
        ["hold", addr, n, period, stop] => (|| {
            hold(
                sock(addr)?,
                num(n)? as usize,
                Duration::from_millis(num(period)?),
                stop,
            )
        })(),
        ["now"] => {
            println!("{}", boottime_ms());
            Ok(())
        }
        ["stamp"] => {
            let mut line = String::new();
            let stdin = std::io::stdin();
            let mut out = std::io::stdout();
            while stdin.read_line(&mut line).is_ok_and(|n| n > 0) {
                let _ = write!(out, "{} {line}", boottime_ms());
                let _ = out.flush();
                line.clear();
            }
            Ok(())
        }
        ["probe", addr, ms, interval, timeout] => (|| {
            probe(sock(addr)?, num(ms)?, num(interval)?, num(timeout)?);
            Ok(())
        })(),
        _ => Err("usage: scaleflow serve PORT NAME | hold ADDR:PORT N PERIOD_MS STOPFILE | probe ADDR:PORT MS INTERVAL_MS TIMEOUT_MS".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scaleflow: {e}");
            ExitCode::FAILURE
        }
    }
}
