//! The daemon's health checks drive its IPVS table (simulated in memory with
//! `--dry-run`, since this host's kernel has no IPVS): a TCP_CHECK removes a
//! stopped real server after the retries and re-adds it when it returns; a
//! MISC_CHECK with misc_dynamic sets the weight from its exit code.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn httpd(ip: &str, port: u16, dir: &Path) -> Proc {
    Proc(
        Command::new("busybox")
            .args(["httpd", "-f", "-p", &format!("{ip}:{port}"), "-h"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("busybox httpd (package busybox-static)"),
    )
}

fn status(sock: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(["status", "--socket"])
        .arg(sock)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(what: &str, limit: Duration, log: &Path, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for: {what}\n--- lvsd log ---\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

#[test]
fn checks_drive_the_table() {
    let dir: PathBuf = std::env::temp_dir().join(format!("lvsd-dc-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::write(dir.join("www/index.html"), "rs\n").unwrap();
    let script = dir.join("weight.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 200\n").unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();

    let p1 = free_port("127.0.0.21");
    let p2 = free_port("127.0.0.22");
    let rs1 = httpd("127.0.0.21", p1, &dir.join("www"));
    let _rs2 = httpd("127.0.0.22", p2, &dir.join("www"));
    let sock = dir.join("lvsd.sock");
    let cfg = dir.join("lvsd.ini");
    std::fs::write(
        &cfg,
        format!(
            "[global]
control_socket = {sock}

[virtual_server web]
address = 127.0.0.100
port = 80
protocol = TCP
lb_algo = rr
lb_kind = DR
delay_loop = 2

[real_server web/127.0.0.21:{p1}]
weight = 1

[tcp_check web/127.0.0.21:{p1}]
connect_timeout = 1
retry = 2
delay_before_retry = 1
warmup = 0

[real_server web/127.0.0.22:{p2}]
weight = 1

[misc_check web/127.0.0.22:{p2}]
misc_path = \"{script} --port {p2}\"
misc_timeout = 2
misc_dynamic = yes
warmup = 0
",
            sock = sock.display(),
            script = script.display()
        ),
    )
    .unwrap();
    let log = dir.join("lvsd.log");
    let mut lvsd = Some(Proc(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["run", "--dry-run", "-c"])
            .arg(&cfg)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    ));

    let rs1_line = format!("  -> 127.0.0.21:{p1}");
    let rs2_weighted = format!("  -> {:<28} Route   198", format!("127.0.0.22:{p2}"));
    // Both servers are in the table from the start (no alpha); the script's
    // exit code 200 sets rs2's weight to 198 after its first run.
    wait_for(
        "rs2 weight 198 from misc_dynamic",
        Duration::from_secs(10),
        &log,
        || status(&sock).contains(&rs2_weighted),
    );
    let st = status(&sock);
    assert!(
        st.starts_with("IP Virtual Server version 1.2.1 (size=4096)\n"),
        "{st}"
    );
    assert!(st.contains("TCP  127.0.0.100:80 rr\n"), "{st}");
    assert!(st.contains(&rs1_line), "{st}");

    // Stop rs1: the first failed probe comes within delay_loop (2 s), then
    // 2 retries 1 s apart, so rs1 leaves after 2..=4 s (refused at once).
    drop(rs1);
    let stopped = Instant::now();
    wait_for("rs1 removed", Duration::from_secs(10), &log, || {
        !status(&sock).contains(&rs1_line)
    });
    let removal = stopped.elapsed();
    assert!(
        removal >= Duration::from_millis(1500),
        "removed too early: {removal:?}"
    );
    assert!(
        removal <= Duration::from_millis(5500),
        "removed too late: {removal:?}"
    );
    let st = status(&sock);
    assert!(st.contains("DEAD"), "{st}");
    assert!(
        st.contains("TCP_CHECK 127.0.0.21"),
        "the reason names the checker: {st}"
    );

    // Restart rs1: a DOWN checker keeps probing every 1-2 s, so it is back
    // within one delay_loop plus a probe.
    let _rs1 = httpd("127.0.0.21", p1, &dir.join("www"));
    let back = wait_for("rs1 re-added", Duration::from_secs(10), &log, || {
        status(&sock).contains(&rs1_line)
    });
    assert!(
        back <= Duration::from_millis(3500),
        "re-added too late: {back:?}"
    );

    // The checker's own line: probes run, and how late they started
    // against their schedule (the lateness histogram the benches read).
    let st = status(&sock);
    let line = st
        .lines()
        .find(|l| l.starts_with("  start lateness: n="))
        .unwrap_or_else(|| panic!("no start lateness line: {st}"));
    let n: u64 = line["  start lateness: n=".len()..]
        .split(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("unreadable: {line}"));
    assert!(n >= 4, "at least the probes seen above are counted: {line}");
    assert!(
        st.contains("health checks: 2 probe(s), run "),
        "checker summary: {st}"
    );

    // Reloads: the same bytes are recognised without parsing; a broken file
    // is refused, and refused again when the same broken bytes come back
    // (only an accepted file counts as the running one).
    let pid = lvsd.as_ref().map(|p| p.0.id().to_string()).unwrap();
    let hup = || {
        Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    };
    hup();
    wait_for("unchanged reload", Duration::from_secs(5), &log, || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("unchanged (same bytes")
    });
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{good}\n[bogus_section]\n")).unwrap();
    hup();
    wait_for("first rejection", Duration::from_secs(5), &log, || {
        status(&sock).contains("rejected 1)")
    });
    hup();
    wait_for(
        "second rejection of the same bytes",
        Duration::from_secs(5),
        &log,
        || status(&sock).contains("rejected 2)"),
    );
    assert!(status(&sock).contains(&rs1_line), "still serving");

    // Clean stop exits 0.
    if let Some(mut p) = lvsd.take() {
        let _ = Command::new("kill")
            .args(["-TERM", &p.0.id().to_string()])
            .status();
        let code = p.0.wait().unwrap();
        assert!(
            code.success(),
            "lvsd exit {code:?}\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 10, finding 4: an SMTP server that sends a `220-` continuation line
/// every 250 ms (and would complete the dialogue after 10 s) no longer keeps
/// its check alive: the running daemon fails it by the dialogue deadline
/// (3 x connect_timeout) and takes the server out of the table.
#[test]
fn trickling_smtp_server_fails_by_the_dialogue_deadline() {
    use std::io::{Read, Write};
    let dir: PathBuf = std::env::temp_dir().join(format!("lvsd-dcs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                for _ in 0..40 {
                    if s.write_all(b"220-still greeting\r\n").is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(250));
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
                    if seen.ends_with(b"\r\n") && seen.starts_with(b"HELO ") {
                        let _ = s.write_all(b"250 ok\r\n");
                        seen = b"sent 250 ".to_vec();
                    }
                }
            });
        }
    });
    let sock = dir.join("lvsd.sock");
    let cfg = dir.join("lvsd.ini");
    std::fs::write(
        &cfg,
        format!(
            "[global]
control_socket = {sock}

[virtual_server mail]
address = 127.0.0.100
port = 25
protocol = TCP
lb_algo = rr
lb_kind = NAT
delay_loop = 30

[real_server mail/127.0.0.1:{port}]
weight = 1

[smtp_check mail/127.0.0.1:{port}]
connect_timeout = 1
retry = 0
warmup = 0
",
            sock = sock.display()
        ),
    )
    .unwrap();
    let log = dir.join("lvsd.log");
    let _lvsd = Proc(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["run", "--dry-run", "-c"])
            .arg(&cfg)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let rs = format!("  -> 127.0.0.1:{port}");
    wait_for(
        "the server in the table",
        Duration::from_secs(5),
        &log,
        || status(&sock).contains(&rs),
    );
    // Fails within the dialogue deadline plus the first probe's start;
    // without a dialogue deadline it would pass once the server stops
    // trickling (10 s), and never go DEAD.
    wait_for(
        "the check fails by the dialogue deadline",
        Duration::from_secs(9),
        &log,
        || status(&sock).contains("overall deadline"),
    );
    let st = status(&sock);
    assert!(st.contains("DEAD") || !st.contains(&rs), "{st}");
    assert!(
        st.contains("SMTP_CHECK"),
        "the reason names the checker: {st}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fast server's big answer is read a budget at a time (issue 10, finding
/// 3): the rest waits in the socket for the next loop turn. The daemon must
/// come back to it without a new readiness event (edge-triggered epoll sends
/// none for bytes already waiting), so the page still arrives whole and the
/// check passes, again and again; status counts the budget stops.
#[test]
fn a_big_answer_is_read_over_several_turns_and_passes() {
    use md5::{Digest, Md5};
    use std::io::{Read, Write};
    let dir: PathBuf = std::env::temp_dir().join(format!("lvsd-dcb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let body: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let digest: [u8; 16] = Md5::digest(&body).into();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&served);
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let body = body.clone();
            let count = std::sync::Arc::clone(&count);
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match s.read(&mut b) {
                        Ok(1) => head.push(b[0]),
                        _ => return,
                    }
                }
                let _ = write!(
                    s,
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if s.write_all(&body).is_ok() {
                    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                // Keep the connection open: only the length ends the body,
                // so no closing edge wakes the probe for the last bytes.
                std::thread::sleep(Duration::from_secs(10));
            });
        }
    });
    let sock = dir.join("lvsd.sock");
    let cfg = dir.join("lvsd.ini");
    std::fs::write(
        &cfg,
        format!(
            "[global]
control_socket = {sock}

[virtual_server web]
address = 127.0.0.100
port = 80
protocol = TCP
lb_algo = rr
lb_kind = NAT
delay_loop = 0.5

[real_server web/127.0.0.1:{port}]
weight = 1

[http_get web/127.0.0.1:{port}]
url = path=/ digest={hex}
connect_timeout = 3
retry = 0
warmup = 0
",
            sock = sock.display()
        ),
    )
    .unwrap();
    let log = dir.join("lvsd.log");
    let _lvsd = Proc(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["run", "--dry-run", "-c"])
            .arg(&cfg)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let yields = |st: &str| -> u64 {
        st.split("read budget yields ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let run = |st: &str| -> u64 {
        st.split(" probe(s), run ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    wait_for("three probes ended", Duration::from_secs(20), &log, || {
        run(&status(&sock)) >= 3
    });
    let st = status(&sock);
    assert!(!st.contains("DEAD"), "a big page failed its check: {st}");
    assert!(
        !std::fs::read_to_string(&log).unwrap().contains("failed"),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert!(yields(&st) >= 3, "1 MiB is more than one budget: {st}");
    assert!(served.load(std::sync::atomic::Ordering::Relaxed) >= 3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A UDP echo server on `ip` until the returned flag is set.
fn udp_echo(ip: &str) -> (u16, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let s = std::net::UdpSocket::bind((ip, 0)).unwrap();
    let port = s.local_addr().unwrap().port();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while !flag.load(Ordering::Relaxed) {
            if let Ok((n, from)) = s.recv_from(&mut buf) {
                let _ = s.send_to(&buf[..n], from);
            }
        }
    });
    (port, stop)
}

#[test]
fn udp_and_ping_checks_drive_the_table() {
    let dir: PathBuf = std::env::temp_dir().join(format!("lvsd-dcu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (port, stop) = udp_echo("127.0.0.41");
    let sock = dir.join("lvsd.sock");
    let cfg = dir.join("lvsd.ini");
    // alpha: servers start out of the table and enter only once a check passed.
    std::fs::write(
        &cfg,
        format!(
            "[global]
control_socket = {sock}

[virtual_server dns]
address = 127.0.0.100
port = 53
protocol = UDP
lb_algo = rr
lb_kind = DR
delay_loop = 1
alpha = yes

[real_server dns/127.0.0.41:{port}]
[udp_check dns/127.0.0.41:{port}]
connect_timeout = 1
retry = 1
delay_before_retry = 1
payload = 6b 65 65 70
require_reply = 6b 65 X5
warmup = 0

[real_server dns/127.0.0.42:53]
[ping_check dns/127.0.0.42:53]
connect_timeout = 1
warmup = 0
",
            sock = sock.display(),
        ),
    )
    .unwrap();
    let log = dir.join("lvsd.log");
    let _lvsd = Proc(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["run", "--dry-run", "-c"])
            .arg(&cfg)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let udp_line = format!("  -> 127.0.0.41:{port}");
    wait_for("both servers up", Duration::from_secs(10), &log, || {
        let st = status(&sock);
        st.contains(&udp_line) && st.contains("  -> 127.0.0.42:53")
    });
    // The echo server stops: ICMP port unreachable fails it at the next
    // probe and after its one retry.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    wait_for("udp server removed", Duration::from_secs(10), &log, || {
        !status(&sock).contains(&udp_line)
    });
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("destination unreachable"), "{text}");
    assert!(status(&sock).contains("  -> 127.0.0.42:53"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn file_check_weight_follows_the_file_without_a_reload() {
    let dir: PathBuf = std::env::temp_dir().join(format!("lvsd-dcf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let drain = dir.join("drain");
    let gate = dir.join("gate");
    std::fs::write(&drain, "0\n").unwrap();
    std::fs::write(&gate, "0\n").unwrap();
    // A FIFO with no writer: opening it must not stall the daemon.
    let fifo = dir.join("fifo");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let sock = dir.join("lvsd.sock");
    let cfg = dir.join("lvsd.ini");
    std::fs::write(
        &cfg,
        format!(
            "[global]
control_socket = {sock}

[virtual_server web]
address = 127.0.0.100
port = 80
protocol = TCP
lb_algo = wrr
lb_kind = DR

[real_server web/127.0.0.51:80]
weight = 10
[file_check web/127.0.0.51:80]
file = {drain}
weight = -1

[real_server web/127.0.0.52:80]
weight = 3
[file_check web/127.0.0.52:80]
file = {gate}
weight = 0

[real_server web/127.0.0.53:80]
weight = 2
[file_check web/127.0.0.53:80]
file = {fifo}
",
            sock = sock.display(),
            drain = drain.display(),
            gate = gate.display(),
            fifo = fifo.display(),
        ),
    )
    .unwrap();
    let log = dir.join("lvsd.log");
    let _lvsd = Proc(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["run", "--dry-run", "-c"])
            .arg(&cfg)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let line = |ip: &str, w: u32| format!("  -> {:<28} Route   {w} ", format!("{ip}:80"));
    wait_for("both servers in", Duration::from_secs(10), &log, || {
        let st = status(&sock);
        st.contains(&line("127.0.0.51", 10))
            && st.contains(&line("127.0.0.52", 3))
            && st.contains(&line("127.0.0.53", 2))
    });
    // The file's number times weight -1 is added to the configured 10.
    std::fs::write(&drain, "4\n").unwrap();
    wait_for("weight 6", Duration::from_secs(5), &log, || {
        status(&sock).contains(&line("127.0.0.51", 6))
    });
    // Drained: weight 0, still in the table.
    std::fs::write(&drain, "25\n").unwrap();
    wait_for("weight 0", Duration::from_secs(5), &log, || {
        status(&sock).contains(&line("127.0.0.51", 0))
    });
    // weight 0 in the check: any non-zero number takes the server out.
    std::fs::write(&gate, "1\n").unwrap();
    wait_for("gate closed", Duration::from_secs(5), &log, || {
        !status(&sock).contains("  -> 127.0.0.52:80")
    });
    std::fs::write(&gate, "0\n").unwrap();
    std::fs::write(&drain, "0\n").unwrap();
    wait_for("both back", Duration::from_secs(5), &log, || {
        let st = status(&sock);
        st.contains(&line("127.0.0.51", 10)) && st.contains(&line("127.0.0.52", 3))
    });
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("file value 1 takes the server down"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
