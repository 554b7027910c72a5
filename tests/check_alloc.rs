//! No heap allocation per check after start-up (TLS aside): a counting global allocator watches TCP and HTTP probes run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::RawFd;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use lvsd::check::http::{HttpCheck, HttpProbe, UrlCheck};
use lvsd::check::probe::{Outcome, StreamProbe};
use lvsd::check::schedule::{CheckTiming, CheckerSchedule, ScheduleAction};
use lvsd::check::tcp::TcpProbe;
use lvsd::io::probe::{ProbeDriver, ProbeTarget};
use lvsd::wire::http::parse_digest;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

struct Counting;

thread_local! {
    static WATCH: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    let _ = WATCH.try_with(|w| {
        if w.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: forwards to System unchanged; only counts calls made on a watching thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn watched<R>(f: impl FnOnce() -> R) -> (R, u64) {
    COUNT.with(|c| c.set(0));
    WATCH.with(|w| w.set(true));
    let r = f();
    WATCH.with(|w| w.set(false));
    (r, COUNT.with(|c| c.get()))
}

/// Drives a probe on a long-lived poller, like the daemon does.
fn drive<P: StreamProbe>(
    poll: &mut Poll,
    events: &mut Events,
    scratch: &mut [u8],
    probe: P,
    target: ProbeTarget,
) -> Outcome {
    let mut d = ProbeDriver::start(probe, target, Instant::now());
    let mut registered: Option<(RawFd, u64)> = None;
    loop {
        if let Some(o) = d.outcome() {
            if let Some((fd, _)) = registered {
                let _ = poll.registry().deregister(&mut SourceFd(&fd));
            }
            return o;
        }
        let now_fd = d.raw_fd().map(|fd| (fd, d.connection_id()));
        if now_fd != registered {
            if let Some((fd, _)) = now_fd {
                poll.registry()
                    .register(
                        &mut SourceFd(&fd),
                        Token(7),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .unwrap();
            }
            registered = now_fd;
        }
        let timeout = d
            .poll_at()
            .map(|at| at.saturating_duration_since(Instant::now()));
        poll.poll(events, timeout).unwrap();
        while d.on_ready(Instant::now(), scratch) {}
        d.handle_timeout(Instant::now());
    }
}

fn server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 1024];
            let mut seen = 0;
            // A TCP probe sends nothing and closes: read returns 0.
            while let Ok(n) = s.read(&mut buf[seen..]) {
                if n == 0 {
                    break;
                }
                seen += n;
                if buf[..seen].windows(4).any(|w| w == b"\r\n\r\n") {
                    let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello");
                    break;
                }
            }
        }
    });
    addr
}

#[test]
fn probes_and_schedule_do_not_allocate() {
    let addr = server();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(64);
    let mut scratch = vec![0u8; 16 * 1024];
    let target = ProbeTarget {
        address: addr,
        bind: None,
        tls: None,
    };
    let mut check = HttpCheck {
        connect_timeout: Duration::from_secs(2),
        max_duration: Duration::from_secs(4),
        ..Default::default()
    };
    for _ in 0..2 {
        let mut u = UrlCheck::default();
        u.path.push_str("/").unwrap();
        u.digest = parse_digest("5d41402abc4b2a76b9719d911017c592");
        check.urls.push(u).unwrap();
    }
    let check = Arc::new(check);
    let timing = CheckTiming {
        delay_loop: Duration::from_secs(1),
        connect_timeout: Duration::from_secs(2),
        retry: 1,
        delay_before_retry: Duration::from_secs(1),
        warmup: Duration::from_secs(1),
    };

    // Warm up: first use may set up lazily allocated state (epoll, thread locals).
    for _ in 0..2 {
        let p = TcpProbe::new(Instant::now(), Duration::from_secs(2));
        drive(&mut poll, &mut events, &mut scratch, p, target.clone());
        let p = HttpProbe::new(check.clone(), addr, Instant::now());
        drive(&mut poll, &mut events, &mut scratch, p, target.clone());
    }

    let base = Instant::now();
    let mut schedule = CheckerSchedule::new(timing, false, base, 7);
    let (outcomes, allocations) = watched(|| {
        let mut ups = 0;
        for i in 0..20u32 {
            let now = base + Duration::from_secs(u64::from(i) * 3);
            schedule.handle_timeout(now);
            while let Some(a) = schedule.poll_action() {
                if a == ScheduleAction::StartProbe {
                    let tcp = TcpProbe::new(Instant::now(), Duration::from_secs(2));
                    let a = drive(&mut poll, &mut events, &mut scratch, tcp, target.clone());
                    let http = HttpProbe::new(check.clone(), addr, Instant::now());
                    let b = drive(&mut poll, &mut events, &mut scratch, http, target.clone());
                    if a.is_up() && b.is_up() {
                        ups += 1;
                    }
                    schedule.handle_probe_result(now, a.is_up() && b.is_up());
                }
            }
        }
        ups
    });
    assert!(outcomes >= 10, "probes did not pass: {outcomes}");
    assert_eq!(allocations, 0, "heap allocations while probing");
}
