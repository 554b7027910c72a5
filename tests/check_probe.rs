//! Check probes against real servers on loopback: scripted TCP/HTTP/SMTP servers, busybox httpd, nginx (HTTP and HTTPS).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use lvsd::check::http::{HttpCheck, HttpProbe, UrlCheck};
use lvsd::check::probe::{FailReason, Outcome};
use lvsd::check::smtp::SmtpProbe;
use lvsd::check::tcp::TcpProbe;
use lvsd::check::tls;
use lvsd::io::probe::{run_blocking, ProbeTarget};
use lvsd::wire::http::{digest_hex, parse_digest, HttpError};

const UP: Outcome = Outcome::Up { weight: None };

fn target(address: SocketAddr) -> ProbeTarget {
    ProbeTarget {
        address,
        bind: None,
        tls: None,
    }
}

fn http_check(urls: &[(&str, Option<&str>)], timeout_ms: u64) -> Arc<HttpCheck> {
    let mut c = HttpCheck {
        connect_timeout: Duration::from_millis(timeout_ms),
        max_duration: Duration::from_millis(timeout_ms * 3),
        ..Default::default()
    };
    for (path, digest) in urls {
        let mut u = UrlCheck::default();
        u.path.push_str(path).unwrap();
        u.digest = digest.map(|d| parse_digest(d).expect("digest"));
        c.urls.push(u).unwrap();
    }
    Arc::new(c)
}

fn http(address: SocketAddr, urls: &[(&str, Option<&str>)], timeout_ms: u64) -> Outcome {
    let probe = HttpProbe::new(http_check(urls, timeout_ms), address, Instant::now());
    run_blocking(probe, target(address)).unwrap().0
}

/// A one-shot scripted server: for each connection, read the request head, then run `reply`.
fn scripted<F>(connections: usize, reply: F) -> SocketAddr
where
    F: Fn(&mut TcpStream) + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut s, _)) = l.accept() else { return };
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match s.read(&mut b) {
                    Ok(1) => head.push(b[0]),
                    _ => break,
                }
            }
            reply(&mut s);
        }
    });
    addr
}

fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    let d: [u8; 16] = Md5::digest(data).into();
    String::from_utf8(digest_hex(&d).to_vec()).unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn tcp_connect_and_refused() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let p = TcpProbe::new(Instant::now(), Duration::from_secs(2));
    assert_eq!(run_blocking(p, target(addr)).unwrap().0, UP);
    drop(l);
    let p = TcpProbe::new(Instant::now(), Duration::from_secs(2));
    assert_eq!(
        run_blocking(p, target(addr)).unwrap().0,
        Outcome::Down(FailReason::Connect)
    );
}

#[test]
fn tcp_silent_server_times_out() {
    // A listener whose accept queue is full drops further SYNs: the connect hangs.
    use socket2::{Domain, Socket, Type};
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    let mut hung = false;
    for _ in 0..4 {
        let start = Instant::now();
        let p = TcpProbe::new(start, Duration::from_millis(400));
        let outcome = run_blocking(p, target(addr)).unwrap().0;
        if outcome == Outcome::Down(FailReason::Timeout) {
            assert!(start.elapsed() >= Duration::from_millis(400));
            assert!(start.elapsed() < Duration::from_secs(2));
            hung = true;
            break;
        }
        assert_eq!(outcome, UP);
        fillers.push(TcpStream::connect_timeout(
            &addr,
            Duration::from_millis(200),
        ));
    }
    assert!(hung, "accept queue never filled");
}

#[test]
fn tcp_check_ends_with_a_reset_not_time_wait() {
    // A connect check has nothing to say: lvsd closes it with RST so that
    // thousands of checks a second leave no TIME_WAIT sockets behind. The
    // server sees the reset.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let p = TcpProbe::new(Instant::now(), Duration::from_secs(2));
    assert_eq!(run_blocking(p, target(addr)).unwrap().0, UP);
    let (mut conn, _) = l.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 16];
    match conn.read(&mut buf) {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => panic!("expected a reset, got a clean close ({n} bytes)"),
    }
}

#[test]
fn tcp_bindto_source_address() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let p = TcpProbe::new(Instant::now(), Duration::from_secs(2));
    let t = ProbeTarget {
        address: addr,
        bind: Some("127.0.0.7:0".parse().unwrap()),
        tls: None,
    };
    assert_eq!(run_blocking(p, t).unwrap().0, UP);
    let (_, peer) = l.accept().unwrap();
    assert_eq!(peer.ip().to_string(), "127.0.0.7");
}

#[test]
fn http_scripted_failure_modes() {
    let body = b"hello world";
    let good = md5_hex(body);
    let ok = scripted(2, move |s| {
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\nhello world");
    });
    assert_eq!(http(ok, &[("/", Some(&good)), ("/b", None)], 2000), UP);

    let wrong = scripted(1, |s| {
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nsomething else");
    });
    assert_eq!(
        http(wrong, &[("/", Some(&good))], 2000),
        Outcome::Down(FailReason::Digest(0))
    );

    let redirect = scripted(1, |s| {
        let _ = s.write_all(b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n");
    });
    assert_eq!(
        http(redirect, &[("/", None)], 2000),
        Outcome::Down(FailReason::Status(0, 302))
    );

    let mid = scripted(1, |s| {
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\nshort");
    });
    assert_eq!(
        http(mid, &[("/", None)], 2000),
        Outcome::Down(FailReason::Http(HttpError::Truncated))
    );

    let garbage = scripted(1, |s| {
        let _ = s.write_all(&[0xffu8; 300]);
        let _ = s.write_all(b"\r\n\r\n");
    });
    assert_eq!(
        http(garbage, &[("/", None)], 2000),
        Outcome::Down(FailReason::Http(HttpError::MalformedHeader))
    );

    let oversized = scripted(1, |s| {
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n");
        for _ in 0..200 {
            let _ = s.write_all(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
    });
    let o = http(oversized, &[("/", None)], 2000);
    assert!(
        matches!(
            o,
            Outcome::Down(FailReason::Http(
                HttpError::HeaderTooLarge | HttpError::TooManyHeaders
            ))
        ),
        "{o:?}"
    );

    let split = scripted(1, |s| {
        for b in b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok" {
            let _ = s.write_all(&[*b]);
            let _ = s.flush();
            thread::sleep(Duration::from_millis(2));
        }
    });
    assert_eq!(http(split, &[("/", Some(&md5_hex(b"ok")))], 2000), UP);
}

#[test]
fn http_silent_slow_and_endless() {
    let silent = scripted(1, |_s| thread::sleep(Duration::from_secs(3)));
    let t = Instant::now();
    assert_eq!(
        http(silent, &[("/", None)], 300),
        Outcome::Down(FailReason::Timeout)
    );
    assert!(t.elapsed() < Duration::from_secs(2));

    // A body that trickles a byte every 100 ms: each step progresses, the total (900 ms) ends it.
    let slow = scripted(1, |s| {
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
        for _ in 0..50 {
            if s.write_all(b"x").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let t = Instant::now();
    assert_eq!(
        http(slow, &[("/", None)], 300),
        Outcome::Down(FailReason::Deadline)
    );
    assert!(t.elapsed() < Duration::from_secs(2));

    // An endless fast body ends at HTTP_MAX_BODY_BYTES or the total time, never wedges.
    let endless = scripted(1, |s| {
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
        let chunk = [b'y'; 65536];
        while s.write_all(&chunk).is_ok() {}
    });
    let o = http(endless, &[("/", None)], 1000);
    assert!(
        matches!(
            o,
            Outcome::Down(
                FailReason::Timeout
                    | FailReason::Deadline
                    | FailReason::Http(HttpError::BodyTooLarge)
            )
        ),
        "{o:?}"
    );
}

#[test]
fn smtp_scripted_dialogue() {
    fn smtp_server(greeting: &'static [u8]) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            s.write_all(greeting).unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 256];
            loop {
                let n = match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                seen.extend_from_slice(&buf[..n]);
                if seen.ends_with(b"QUIT\r\n") {
                    let _ = s.write_all(b"221 bye\r\n");
                    break;
                }
                if seen.starts_with(b"HELO ") && seen.ends_with(b"\r\n") && seen.len() < 40 {
                    let _ = s.write_all(b"250-mx.test\r\n250 HELP\r\n");
                }
            }
            seen
        });
        (addr, h)
    }
    let (addr, h) = smtp_server(b"220-mx.test ESMTP\r\n220 ready\r\n");
    let p = SmtpProbe::new(Instant::now(), Duration::from_secs(2), "lvsd.test");
    assert_eq!(run_blocking(p, target(addr)).unwrap().0, UP);
    assert_eq!(h.join().unwrap(), b"HELO lvsd.test\r\nQUIT\r\n");

    let (addr, _h) = smtp_server(b"421 busy\r\n");
    let p = SmtpProbe::new(Instant::now(), Duration::from_secs(2), "lvsd.test");
    assert_eq!(
        run_blocking(p, target(addr)).unwrap().0,
        Outcome::Down(FailReason::SmtpCode(421))
    );
}

// ---- real servers ----

struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lvsd-check-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn wait_listening(addr: SocketAddr) {
    let t = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{addr} never listened"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn page() -> Vec<u8> {
    let mut v = b"<html>real server 127.0.0.1</html>\n".to_vec();
    v.extend((0..5000u32).flat_map(|i| (i % 251).to_string().into_bytes()));
    v
}

fn busybox(dir: &Path) -> (Server, SocketAddr) {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new("busybox")
        .args(["httpd", "-f", "-p", &addr.to_string(), "-h"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(addr);
    (
        Server {
            child,
            dir: dir.to_path_buf(),
        },
        addr,
    )
}

#[test]
fn busybox_httpd_page_404_and_digest() {
    if !common::require_or_skip(have("busybox"), "busybox (apt package busybox-static)") {
        return;
    }
    let dir = temp_dir("busybox");
    let body = page();
    std::fs::write(dir.join("index.html"), &body).unwrap();
    let (_server, addr) = busybox(&dir);
    let good = md5_hex(&body);
    assert_eq!(http(addr, &[("/index.html", Some(&good))], 2000), UP);
    assert_eq!(
        http(addr, &[("/missing.html", None)], 2000),
        Outcome::Down(FailReason::Status(0, 404))
    );
    assert_eq!(
        http(
            addr,
            &[("/index.html", Some("00000000000000000000000000000000"))],
            2000
        ),
        Outcome::Down(FailReason::Digest(0))
    );
}

fn nginx(dir: &Path, with_tls: bool) -> Option<(Server, SocketAddr, SocketAddr)> {
    if !have("nginx") || !have("openssl") {
        return None;
    }
    let http_port = free_port();
    let https_port = free_port();
    let root = dir.join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("index.html"), page()).unwrap();
    let mut tls = String::new();
    if with_tls {
        // A CA, and a leaf for lvsd.test signed by it (webpki refuses a CA as end entity).
        let d = dir.display();
        let script = format!(
            "set -e; cd {d}
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=lvsd-test-ca -keyout ca.key -out ca.pem
openssl req -newkey rsa:2048 -nodes -subj /CN=lvsd.test -keyout key.pem -out leaf.csr
printf 'subjectAltName=DNS:lvsd.test\\nbasicConstraints=CA:FALSE\\n' > ext.cnf
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out cert.pem"
        );
        let ok = Command::new("sh")
            .args(["-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "openssl failed");
        tls = format!(
            "server {{ listen 127.0.0.1:{https_port} ssl; ssl_certificate {d}/cert.pem; ssl_certificate_key {d}/key.pem; root {d}/www; }}",
            d = dir.display()
        );
    }
    let conf = format!(
        "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};
 server {{ listen 127.0.0.1:{http_port}; root {d}/www; location /old {{ return 301 /index.html; }} }}
 {tls} }}",
        d = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http_addr: SocketAddr = format!("127.0.0.1:{http_port}").parse().unwrap();
    let https_addr: SocketAddr = format!("127.0.0.1:{https_port}").parse().unwrap();
    let server = Server {
        child,
        dir: dir.to_path_buf(),
    };
    wait_listening(http_addr);
    if with_tls {
        wait_listening(https_addr);
    }
    Some((server, http_addr, https_addr))
}

#[test]
fn nginx_http_and_https() {
    let dir = temp_dir("nginx");
    let Some((_server, http_addr, https_addr)) = nginx(&dir, true) else {
        common::require_or_skip(false, "nginx and openssl (apt packages nginx, openssl)");
        return;
    };
    let good = md5_hex(&page());
    assert_eq!(http(http_addr, &[("/index.html", Some(&good))], 2000), UP);
    assert_eq!(
        http(http_addr, &[("/old", None)], 2000),
        Outcome::Down(FailReason::Status(0, 301))
    );
    assert_eq!(
        http(http_addr, &[("/nope", None)], 2000),
        Outcome::Down(FailReason::Status(0, 404))
    );

    let ssl = |config, sni: Option<&str>, urls: &[(&str, Option<&str>)]| {
        let probe = HttpProbe::new(http_check(urls, 2000), https_addr, Instant::now());
        let t = ProbeTarget {
            address: https_addr,
            bind: None,
            tls: Some((config, tls::server_name(sni, https_addr.ip()).unwrap())),
        };
        run_blocking(probe, t).unwrap().0
    };
    // keepalived-style: self-signed certificate accepted; two urls, two TLS connections.
    let insecure = tls::insecure_client_config().unwrap();
    assert_eq!(
        ssl(
            insecure.clone(),
            None,
            &[("/index.html", Some(&good)), ("/index.html", None)]
        ),
        UP
    );
    // Verified against the CA file with the right SNI name.
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    let verifying = tls::verifying_client_config(&ca).unwrap();
    assert_eq!(
        ssl(
            verifying.clone(),
            Some("lvsd.test"),
            &[("/index.html", None)]
        ),
        UP
    );
    // Wrong name: the handshake fails.
    assert_eq!(
        ssl(verifying, Some("other.test"), &[("/index.html", None)]),
        Outcome::Down(FailReason::Tls)
    );
    // genhash -S, and keepalived's genhash -S, give the digest of the served file.
    let mut args = lvsd::genhash::GenhashArgs::new(
        "127.0.0.1".into(),
        https_addr.port(),
        "/index.html".into(),
    );
    args.ssl = true;
    let mut out = Vec::new();
    lvsd::genhash::run(args, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("MD5SUM = {good}\n")
    );
    if let Ok(o) = Command::new("genhash")
        .args([
            "-S",
            "-s",
            "127.0.0.1",
            "-p",
            &https_addr.port().to_string(),
        ])
        .args(["-u", "/index.html"])
        .output()
    {
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains(&good), "keepalived genhash -S: {text}");
    }

    // TLS against a plain HTTP port: handshake failure.
    let probe = HttpProbe::new(http_check(&[("/", None)], 2000), http_addr, Instant::now());
    let t = ProbeTarget {
        address: http_addr,
        bind: None,
        tls: Some((insecure, tls::server_name(None, http_addr.ip()).unwrap())),
    };
    assert_eq!(
        run_blocking(probe, t).unwrap().0,
        Outcome::Down(FailReason::Tls)
    );
}

// ---- finding 4 of issue 10: a trickling SMTP server ----

/// Sends a `220-` continuation line every 250 ms for 10 s, then completes a
/// normal dialogue. Each line restarts the step timeout; only the dialogue's
/// own deadline (3 x connect_timeout) ends the check early.
#[test]
fn smtp_trickling_greeting_fails_by_the_dialogue_deadline() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        let Ok((mut s, _)) = l.accept() else { return };
        for _ in 0..40 {
            if s.write_all(b"220-still greeting\r\n").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(250));
        }
        let _ = s.write_all(b"220 ready\r\n");
        let mut buf = [0u8; 256];
        let mut seen = Vec::new();
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            if seen.ends_with(b"QUIT\r\n") {
                let _ = s.write_all(b"221 bye\r\n");
                return;
            }
            if seen.starts_with(b"HELO ") && seen.ends_with(b"\r\n") {
                let _ = s.write_all(b"250 ok\r\n");
                seen.clear();
                seen.extend_from_slice(b"after-helo ");
            }
        }
    });
    let connect_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let p = SmtpProbe::new(started, connect_timeout, "lvsd.test");
    let outcome = run_blocking(p, target(addr)).unwrap().0;
    // Behaviour: the check fails, and by the dialogue deadline (not by a
    // step timeout, which every line restarted, nor by the server's end).
    assert!(
        !outcome.is_up(),
        "the trickle kept the check alive: {outcome:?}"
    );
    assert!(
        format!("{outcome:?}").contains("Deadline"),
        "not ended by the dialogue deadline: {outcome:?}"
    );
}

// ---- finding 3 of issue 10: read budgets and deadlines inside the read loop ----

/// Drives one probe the way the daemon does: edge-triggered events, a read
/// budget per call, and a call again without waiting for an event when the
/// budget ran out. Returns the outcome, the most bytes one call read, and how
/// many calls stopped at the budget.
fn drive_with_budget<P: lvsd::check::probe::StreamProbe>(
    probe: P,
    target: ProbeTarget,
    budget: usize,
    limit: usize,
) -> (
    Option<Outcome>,
    usize,
    usize,
    lvsd::io::probe::ProbeDriver<P>,
) {
    use lvsd::io::probe::ProbeDriver;
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    let mut scratch = vec![0u8; 64 * 1024];
    let mut d = ProbeDriver::start(probe, target, Instant::now());
    let mut registered = None;
    let (mut most, mut stopped) = (0, 0);
    let mut more = false;
    for _ in 0..limit {
        if let Some(o) = d.outcome() {
            return (Some(o), most, stopped, d);
        }
        let fd = d.raw_fd().map(|fd| (fd, d.connection_id()));
        if fd != registered {
            if let Some((fd, _)) = fd {
                poll.registry()
                    .register(
                        &mut SourceFd(&fd),
                        Token(0),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .unwrap();
            }
            registered = fd;
        }
        if !more {
            // EINTR (a signal to the test process) is a wake-up like any other.
            if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(200))) {
                assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "poll: {e}");
            }
        }
        let ready = d.on_ready_within(Instant::now(), &mut scratch, budget);
        most = most.max(ready.bytes);
        more = ready.more;
        stopped += usize::from(more);
        d.handle_timeout(Instant::now());
    }
    (d.outcome(), most, stopped, d)
}

#[test]
fn each_call_reads_at_most_its_budget_and_meets_the_deadline() {
    // A body that never ends, written as fast as loopback takes it.
    let endless = scripted(1, |s| {
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
        let chunk = [b'y'; 65536];
        while s.write_all(&chunk).is_ok() {}
    });
    let started = Instant::now();
    let check = http_check(&[("/", None)], 2000);
    let probe = HttpProbe::new(check, endless, started);
    let budget = 8 * 1024;
    let (outcome, most, stopped, mut d) = drive_with_budget(probe, target(endless), budget, 50);
    assert_eq!(outcome, None, "still streaming after 50 calls");
    assert!(most <= budget, "one call read {most} bytes");
    assert!(stopped >= 40, "calls stopped at the budget: {stopped}");
    // Past the probe's overall deadline, the very next call ends it, even
    // though bytes keep arriving: the deadline is checked inside the loop.
    let mut scratch = vec![0u8; 64 * 1024];
    let late = started + Duration::from_secs(7);
    let ready = d.on_ready_within(late, &mut scratch, budget);
    assert!(ready.bytes <= budget);
    assert!(!ready.more);
    assert_eq!(d.outcome(), Some(Outcome::Down(FailReason::Deadline)));
    assert!(d.raw_fd().is_none(), "the socket is closed");
}

#[test]
fn tls_reads_are_budgeted_and_a_big_page_still_passes() {
    let dir = temp_dir("nginx-budget");
    let Some((_server, _http, https_addr)) = nginx(&dir, true) else {
        common::require_or_skip(false, "nginx and openssl (apt packages nginx, openssl)");
        return;
    };
    let big: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.join("www/big.bin"), &big).unwrap();
    let sum = md5_hex(&big);
    let probe = HttpProbe::new(
        http_check(&[("/big.bin", Some(&sum))], 5000),
        https_addr,
        Instant::now(),
    );
    let t = ProbeTarget {
        address: https_addr,
        bind: None,
        tls: Some((
            tls::insecure_client_config().unwrap(),
            tls::server_name(None, https_addr.ip()).unwrap(),
        )),
    };
    let budget = 16 * 1024;
    let (outcome, most, stopped, _d) = drive_with_budget(probe, t, budget, 100_000);
    assert_eq!(outcome, Some(UP));
    assert!(most <= budget, "one call read {most} bytes");
    assert!(stopped > 0, "a 4 MiB page must hit the budget");
}

/// A server that accepts and never answers costs one socket until
/// connect_timeout, over plain TCP (the TLS handshake never starts) as well
/// as for HTTP: the probe fails with a timeout, nothing waits longer.
#[test]
fn silent_servers_fail_at_connect_timeout_plain_and_tls() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().take(2) {
            held.push(s);
        }
        thread::sleep(Duration::from_secs(5));
    });
    let started = Instant::now();
    assert_eq!(
        http(addr, &[("/", None)], 300),
        Outcome::Down(FailReason::Timeout)
    );
    let probe = HttpProbe::new(http_check(&[("/", None)], 300), addr, Instant::now());
    let t = ProbeTarget {
        address: addr,
        bind: None,
        tls: Some((
            tls::insecure_client_config().unwrap(),
            tls::server_name(None, addr.ip()).unwrap(),
        )),
    };
    assert_eq!(
        run_blocking(probe, t).unwrap().0,
        Outcome::Down(FailReason::Timeout)
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn http_regex_on_a_chunked_body_from_a_real_socket() {
    // The text straddles two chunks and two writes.
    let addr = scripted(4, |s| {
        let _ =
            s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nstatus\r\n");
        let _ = s.flush();
        thread::sleep(Duration::from_millis(20));
        let _ = s.write_all(b"9\r\n: GREEN!\r\n0\r\n\r\n");
    });
    let run = |pattern: &str, no_match: bool| {
        let mut c = (*http_check(&[("/", None)], 2000)).clone();
        c.urls[0].regex = lvsd::check::http::regex_literal(pattern).unwrap();
        c.urls[0].regex_no_match = no_match;
        let probe = HttpProbe::new(Arc::new(c), addr, Instant::now());
        run_blocking(probe, target(addr)).unwrap().0
    };
    assert_eq!(
        run("status:GREEN", false),
        Outcome::Down(FailReason::Regex(0))
    );
    assert_eq!(run("status:", false), UP);
    assert_eq!(run("RED", true), UP);
    assert_eq!(run("GREEN\\!", true), Outcome::Down(FailReason::Regex(0)));
}
