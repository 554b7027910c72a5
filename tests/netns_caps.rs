//! Root-only, in a network namespace: after setup lvsd keeps only the
//! capabilities its configuration needs, in the bounding set too (read from
//! /proc/PID/status); a script run as root gets the bounding set and no more;
//! and lvsd runs on a read-only root file system.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NET_ADMIN: u64 = 1 << 12;
const NET_RAW: u64 = 1 << 13;
const SYS_ADMIN: u64 = 1 << 21;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn prerequisites() -> bool {
    if common::can_use_netns() {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI: tests/netns_caps.rs needs root and ip netns"
    );
    eprintln!("SKIP: needs root and ip netns");
    false
}

/// The Cap* lines of a /proc status text, as masks.
fn caps(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:\t")))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no {key} in {status}"))
}

fn config(dir: &Path, global: &str) -> PathBuf {
    let cfg = dir.join("lvsd.ini");
    std::fs::write(
        &cfg,
        format!(
            "[global]
control_socket = {sock}
{global}

[vrrp_instance VI_1]
state = MASTER
interface = eth0
virtual_router_id = 71
priority = 100
advert_int = 0.1
version = 3
virtual_ipaddress = 10.254.20.100
notify_master = {dir}/caps.sh
",
            sock = dir.join("run/lvsd.sock").display(),
            dir = dir.display()
        ),
    )
    .unwrap();
    cfg
}

fn wait_for(what: &str, log: &Path, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting for: {what}\n--- lvsd log ---\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn has_vip(ns: &str) -> bool {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "addr", "show", "dev", "eth0"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("inet 10.254.20.100/32")
}

/// Runs lvsd in `ns` (optionally on a read-only root) until the VIP is up and
/// the notify script ran; returns (lvsd's /proc status, the script's).
fn run(ns: &str, dir: &Path, global: &str, read_only_root: bool) -> (String, String) {
    let cfg = config(dir, global);
    let script_out = dir.join("run/script-caps");
    let _ = std::fs::remove_file(&script_out);
    let log = dir.join(if read_only_root { "ro.log" } else { "rw.log" });
    let lvsd = format!(
        "{} run --dry-run -c {}",
        env!("CARGO_BIN_EXE_lvsd"),
        cfg.display()
    );
    // The socket directory is a tmpfs: on the appliance /run is one too.
    let mounts = format!(
        "mount --make-rprivate / && mount -t tmpfs -o mode=0755 tmpfs {run}{ro} && ",
        run = dir.join("run").display(),
        ro = if read_only_root {
            " && mount -o remount,bind,ro /"
        } else {
            ""
        }
    );
    let child = Command::new("ip")
        .args(["netns", "exec", ns, "unshare", "-m", "sh", "-c"])
        .arg(format!("{mounts}exec {lvsd}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut p = Proc(child);
    wait_for("the VIP", &log, || has_vip(ns));
    // The script's output lives in lvsd's tmpfs: read it through its root.
    let seen = PathBuf::from(format!("/proc/{pid}/root"))
        .join(script_out.strip_prefix("/").unwrap_or(&script_out));
    wait_for("the notify script", &log, || {
        std::fs::read_to_string(&seen).is_ok_and(|s| s.contains("CapBnd"))
    });
    let own = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let script = std::fs::read_to_string(&seen).unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("capabilities kept: cap_net_admin,cap_net_raw"),
        "{text}"
    );
    if read_only_root {
        let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
        assert!(
            mounts.lines().any(|l| l.split(' ').nth(4) == Some("/")
                && l.split(' ').nth(5).is_some_and(|o| o.starts_with("ro"))),
            "lvsd's root is not read-only:\n{mounts}"
        );
        let st = Command::new("ip")
            .args(["netns", "exec", ns, "nsenter", "-m", "-t", &pid.to_string()])
            .arg(env!("CARGO_BIN_EXE_lvsd"))
            .args(["status", "--socket"])
            .arg(dir.join("run/lvsd.sock"))
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&st.stdout);
        assert!(
            out.contains("VI_1 vrid 71 on eth0: MASTER"),
            "{out}\n{text}"
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = p.0.wait();
    (own, script)
}

#[test]
fn only_the_needed_capabilities_are_kept() {
    if !prerequisites() {
        return;
    }
    let ns = common::Namespaces::new("lvsdcap", &["1"]);
    let n = ns.get("1").to_owned();
    common::sh(&format!(
        "ip -n {n} link add eth0 type veth peer name peer0
         ip -n {n} addr add 10.254.20.1/24 dev eth0
         ip -n {n} link set peer0 up
         ip -n {n} link set eth0 up"
    ));
    let dir = std::env::temp_dir().join(format!("lvsd-caps-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("run")).unwrap();
    std::fs::write(
        dir.join("caps.sh"),
        format!(
            "#!/bin/sh\ngrep ^Cap /proc/self/status > {}/run/script-caps\n",
            dir.display()
        ),
    )
    .unwrap();
    common::sh(&format!("chmod 755 {}/caps.sh", dir.display()));

    // VRRP with --dry-run: CAP_NET_ADMIN (VIPs) and CAP_NET_RAW (raw sockets).
    let (own, script) = run(&n, &dir, "", false);
    let want = NET_ADMIN | NET_RAW;
    for key in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(caps(&own, key), want, "{key}\n{own}");
    }
    assert_eq!(caps(&own, "CapInh"), 0, "{own}");
    assert_eq!(caps(&own, "CapAmb"), 0, "{own}");
    // A root script: the bounding set and no more.
    assert_eq!(caps(&script, "CapEff"), want, "{script}");
    assert_eq!(caps(&script, "CapBnd"), want, "{script}");

    // script_capabilities widen what root scripts may have, not lvsd.
    let (own, script) = run(&n, &dir, "script_capabilities = sys_admin", false);
    assert_eq!(caps(&own, "CapEff"), want, "{own}");
    assert_eq!(caps(&own, "CapBnd"), want | SYS_ADMIN, "{own}");
    assert_eq!(caps(&script, "CapEff"), want | SYS_ADMIN, "{script}");

    // A read-only root: everything lvsd writes is under /run (a tmpfs).
    let (own, _) = run(&n, &dir, "", true);
    assert_eq!(caps(&own, "CapEff"), want, "{own}");
    let _ = std::fs::remove_dir_all(&dir);
}
