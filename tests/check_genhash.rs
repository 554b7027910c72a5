//! genhash against busybox httpd: the digest equals `md5sum` of the served file and keepalived's `genhash` output.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lvsd::genhash::{run, GenhashArgs, GenhashError};

struct Httpd {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Drop for Httpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn httpd(tag: &str) -> Option<Httpd> {
    let ok = Command::new("sh")
        .args(["-c", "command -v busybox"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("lvsd-genhash-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut page = b"<html><body>real server 192.168.118.129</body></html>\n".to_vec();
    for i in 0..20_000u32 {
        page.extend_from_slice(i.to_string().as_bytes());
    }
    std::fs::write(dir.join("index.html"), &page).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new("busybox")
        .args(["httpd", "-f", "-p", &addr.to_string(), "-h"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(t.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Httpd { child, dir, addr })
}

fn last_hex(text: &str) -> Option<String> {
    text.split_whitespace()
        .rev()
        .find(|w| w.len() == 32 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
}

fn args(addr: SocketAddr, url: &str) -> GenhashArgs {
    GenhashArgs::new(addr.ip().to_string(), addr.port(), url.to_string())
}

#[test]
fn genhash_matches_md5sum_and_keepalived() {
    let Some(h) = httpd("match") else {
        common::require_or_skip(false, "busybox (apt package busybox-static)");
        return;
    };
    let mut out = Vec::new();
    run(args(h.addr, "/index.html"), &mut out).unwrap();
    let ours = String::from_utf8(out).unwrap();
    assert!(
        ours.starts_with("MD5SUM = ") && ours.ends_with('\n'),
        "{ours}"
    );
    assert_eq!(ours.len(), "MD5SUM = ".len() + 32 + 1);
    let ours = last_hex(&ours).unwrap();

    let md5sum = Command::new("md5sum")
        .arg(h.dir.join("index.html"))
        .output()
        .unwrap();
    let md5sum = String::from_utf8(md5sum.stdout).unwrap();
    assert_eq!(md5sum.split_whitespace().next().unwrap(), ours);

    match Command::new("genhash")
        .args([
            "-s",
            "127.0.0.1",
            "-p",
            &h.addr.port().to_string(),
            "-u",
            "/index.html",
        ])
        .output()
    {
        Ok(o) => {
            let theirs = last_hex(&String::from_utf8_lossy(&o.stdout))
                .expect("keepalived genhash printed no digest");
            assert_eq!(theirs, ours);
        }
        Err(e) => {
            common::require_or_skip(false, &format!("keepalived's genhash ({e})"));
        }
    }

    let mut out = Vec::new();
    let mut a = args(h.addr, "/index.html");
    a.verbose = true;
    a.virtual_host = Some("www.example.test".into());
    run(a, &mut out).unwrap();
    let verbose = String::from_utf8(out).unwrap();
    assert!(verbose.contains("HTTP/1."), "{verbose}");
    assert!(verbose.contains("usecs"), "{verbose}");
    assert_eq!(last_hex(&verbose).unwrap(), ours);
}

#[test]
fn genhash_fails_with_reasons() {
    let Some(h) = httpd("fail") else {
        common::require_or_skip(false, "busybox (apt package busybox-static)");
        return;
    };
    let mut out = Vec::new();
    let e = run(args(h.addr, "/missing"), &mut out).unwrap_err();
    assert!(matches!(e, GenhashError::Status(404)), "{e}");
    assert!(out.is_empty());

    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let e = run(args(closed, "/"), &mut out).unwrap_err();
    assert!(e.to_string().contains("connection failed"), "{e}");

    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut a = args(silent.local_addr().unwrap(), "/");
    a.timeout = Duration::from_millis(300);
    let e = run(a, &mut out).unwrap_err();
    assert!(e.to_string().contains("timed out"), "{e}");

    let e = run(
        GenhashArgs::new("no-such-host.invalid".into(), 80, "/".into()),
        &mut out,
    )
    .unwrap_err();
    assert!(matches!(e, GenhashError::Resolve(_)));
}
