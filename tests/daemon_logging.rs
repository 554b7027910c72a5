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
