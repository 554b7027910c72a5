//! Root-only: `lvsd realserver up|down|status` in a network namespace puts the
//! VIP on lo, sets the ARP sysctls, is idempotent, and `down` undoes exactly
//! what `up` did.

mod common;

use std::process::Command;

fn lvsd(ns: &str, run_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            env!("CARGO_BIN_EXE_lvsd"),
            "realserver",
        ])
        .args(args)
        .env("LVSD_RUN_DIR", run_dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn sh_out(script: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn up_is_idempotent_and_down_undoes_exactly_up() {
    if !common::netns_or_skip() {
        return;
    }
    let ns = common::Namespaces::new("lvsdrs", &["r"]);
    let n = ns.get("r").to_owned();
    common::sh(&format!(
        "ip -n {n} link add eth0 type veth peer name eth0p
         ip -n {n} link set eth0 up
         ip -n {n} addr add 10.253.0.11/24 dev eth0
         ip -n {n} addr add 10.253.0.200/32 dev lo
         ip netns exec {n} sh -c 'echo 2 > /proc/sys/net/ipv4/conf/eth0/arp_announce'"
    ));
    let dir = std::env::temp_dir().join(format!("lvsd-rs-{}", std::process::id()));
    let sysctl = |k: &str| {
        sh_out(&format!(
            "ip netns exec {n} cat /proc/sys/net/ipv4/conf/{k}"
        ))
        .trim()
        .to_owned()
    };
    let lo_addrs = || sh_out(&format!("ip -n {n} -o addr show dev lo"));

    let (ok, out) = lvsd(
        &n,
        &dir,
        &[
            "up",
            "--vip",
            "10.253.0.100,10.253.0.200,fd00::100",
            "--dev",
            "eth0",
        ],
    );
    assert!(ok, "{out}");
    assert!(
        lo_addrs().contains("inet 10.253.0.100/32"),
        "{}",
        lo_addrs()
    );
    assert!(lo_addrs().contains("inet6 fd00::100/128"), "{}", lo_addrs());
    assert!(out.contains("VIP 10.253.0.200 already on lo"), "{out}");
    for (k, v) in [
        ("lo/arp_ignore", "1"),
        ("lo/arp_announce", "2"),
        ("eth0/arp_ignore", "1"),
        ("eth0/arp_announce", "2"),
    ] {
        assert_eq!(sysctl(k), v, "{k}");
    }
    // Idempotent: a second up changes nothing and reports it.
    let (ok, out) = lvsd(&n, &dir, &["up", "--vip", "10.253.0.100", "--dev", "eth0"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("already on lo") && !out.contains(" = "),
        "{out}"
    );
    let (ok, out) = lvsd(
        &n,
        &dir,
        &["status", "--vip", "10.253.0.100", "--dev", "eth0"],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("VIP 10.253.0.100: on lo (added by lvsd)"),
        "{out}"
    );
    assert!(
        out.contains("net.ipv4.conf.eth0.arp_ignore = 1 (ok"),
        "{out}"
    );

    let (ok, out) = lvsd(
        &n,
        &dir,
        &[
            "down",
            "--vip",
            "10.253.0.100,10.253.0.200,fd00::100",
            "--dev",
            "eth0",
        ],
    );
    assert!(ok, "{out}");
    let addrs = lo_addrs();
    assert!(!addrs.contains("10.253.0.100/32"), "{addrs}");
    assert!(!addrs.contains("fd00::100"), "{addrs}");
    // The VIP that was there before `up` stays, and so does the sysctl that
    // was already 2; the ones `up` changed go back to 0.
    assert!(addrs.contains("inet 10.253.0.200/32"), "{addrs}");
    assert_eq!(sysctl("eth0/arp_announce"), "2");
    assert_eq!(sysctl("eth0/arp_ignore"), "0");
    assert_eq!(sysctl("lo/arp_ignore"), "0");
    assert_eq!(sysctl("lo/arp_announce"), "0");
    assert!(!dir.join("realserver.state").exists());

    // Bad input: a device that does not exist is a clear error.
    let (ok, out) = lvsd(
        &n,
        &dir,
        &["up", "--vip", "10.253.0.100", "--dev", "nosuch0"],
    );
    assert!(!ok);
    assert!(out.contains("--dev nosuch0: no such interface"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
