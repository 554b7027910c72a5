//! Logging never blocks the loop (issue 10, deliverable 4): with stderr on a
//! pipe that nobody reads, a flood of logged events still leaves `lvsd status`
//! answering, and the lines that did not fit are counted. `log_format =
//! logfmt` writes key=value lines. The daemon runs with `--dry-run`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status(sock: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(["status", "--socket"])
        .arg(sock)
        .output()
        .unwrap()
}

fn config(dir: &Path, global: &str) -> (PathBuf, PathBuf) {
    let sock = dir.join("lvsd.sock");
    let cfg = dir.join("lvsd.ini");
    std::fs::write(
        &cfg,
        format!(
            "[global]\ncontrol_socket = {}\n{global}\n\n[virtual_server web]\naddress = 127.0.0.100\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n\n[real_server web/127.0.0.25:80]\nweight = 1\n",
            sock.display()
        ),
    )
    .unwrap();
    (cfg, sock)
}

fn wait_answering(sock: &Path) {
    let t = Instant::now();
    while !status(sock).status.success() {
        assert!(t.elapsed() < Duration::from_secs(10), "lvsd did not answer");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tmpdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvsd-log-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One request that lvsd logs (an unknown command); false when no answer came.
fn logged_request(sock: &Path, n: usize) -> bool {
    let Ok(mut c) = UnixStream::connect(sock) else {
        return false;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = c.set_write_timeout(Some(Duration::from_secs(2)));
    // A long request makes long log lines: the pipe fills sooner.
    let line = format!("no-such-command-{n}-{}\n", "x".repeat(200));
    if c.write_all(line.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    c.read_to_string(&mut answer).is_ok() && answer.starts_with("error:")
}

#[test]
fn a_stderr_nobody_reads_never_stops_the_loop() {
    let dir = tmpdir("pipe");
    let (cfg, sock) = config(&dir, "");
    // stderr is a pipe whose read end we hold and never read.
    let mut lvsd = Proc(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["run", "--dry-run", "-c"])
            .arg(&cfg)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_answering(&sock);
    // Each line is about 300 bytes: 2,000 of them are far more than the
    // pipe (64 KiB) and lvsd's own buffer (64 KiB) hold.
    for n in 0..2000 {
        assert!(
            logged_request(&sock, n),
            "request {n} got no answer: the loop is stuck behind a full stderr pipe"
        );
    }
    let out = status(&sock);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dropped: u64 = text
        .split("log lines lost ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no lost-lines counter in status:\n{text}"));
    assert!(dropped > 0, "{text}");
    eprintln!("2000 logged requests with stderr unread: all answered, {dropped} log lines lost");
    // The reader comes back: what was kept arrives, in order, whole lines.
    let mut pipe = lvsd.0.stderr.take().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &lvsd.0.id().to_string()])
        .status();
    let mut all = String::new();
    pipe.read_to_string(&mut all).unwrap();
    assert!(
        all.contains("lvsd info: "),
        "{}",
        &all[..all.len().min(300)]
    );
    assert!(all.lines().all(|l| l.starts_with("lvsd ")), "torn lines");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn logfmt_lines() {
    let dir = tmpdir("fmt");
    let (cfg, sock) = config(&dir, "log_format = logfmt");
    let log = dir.join("lvsd.log");
    let _lvsd = Proc(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["run", "--dry-run", "-c"])
            .arg(&cfg)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_answering(&sock);
    assert!(logged_request(&sock, 1));
    std::thread::sleep(Duration::from_millis(100));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("level=info msg=\"lvsd ") && l.contains(" started: ")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l
                .starts_with("level=info msg=\"control: unknown request \\\"no-such-command-1-")),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn syslog_target_with_facility() {
    let root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if !root {
        assert!(
            std::env::var("CI").is_err(),
            "CI: the syslog test needs root (a mount namespace with its own /dev/log)"
        );
        eprintln!("SKIP: needs root (a mount namespace with its own /dev/log)");
        return;
    }
    let dir = tmpdir("syslog");
    let listen = dir.join("log.sock");
    let syslogd = std::os::unix::net::UnixDatagram::bind(&listen).unwrap();
    syslogd
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (cfg, sock) = config(&dir, "log_target = syslog\nlog_facility = local0");
    // lvsd's own /dev (a tmpfs in a private mount namespace) whose /dev/log
    // is our socket; nothing on the host changes.
    let script = format!(
        "mount --make-rprivate / && mount -t tmpfs tmpfs /dev && touch /dev/log && mount --bind {} /dev/log && exec {} run --dry-run -c {}",
        listen.display(),
        env!("CARGO_BIN_EXE_lvsd"),
        cfg.display()
    );
    let log = dir.join("stderr.log");
    let lvsd = Proc(
        Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let pid = lvsd.0.id();
    let mut lines = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = syslogd.recv(&mut buf) {
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        let started = line.contains(" started: ");
        lines.push(line);
        if started {
            break;
        }
    }
    wait_answering(&sock);
    // local0 (16) * 8 + info (6) = 134; warning = 132.
    let prefix = format!("<134>lvsd[{pid}]: lvsd ");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&prefix) && l.contains(" started: ")),
        "{lines:#?}\n--- stderr ---\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("<13") && !l.ends_with('\n')),
        "{lines:#?}"
    );
    drop(lvsd);
    let _ = std::fs::remove_dir_all(&dir);
}
