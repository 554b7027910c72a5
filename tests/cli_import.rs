//! `lvsd import-keepalived` turns SEED.md's keepalived.conf into INI that
//! `lvsd check` accepts with the same values; a broken file is a config error.

use std::process::Command;

#[test]
fn seed_keepalived_conf_converts_and_checks() {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args([
            "import-keepalived",
            "tests/fixtures/keepalived/seed-master.conf",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ini = String::from_utf8(out.stdout).unwrap();
    let cfg = lvsd::config::load_str(&ini, "converted.ini").expect("converted INI loads");
    let vi = &cfg.vrrp_instances[0];
    assert_eq!((vi.virtual_router_id, vi.priority), (51, 100));
    assert_eq!(
        vi.virtual_ipaddresses[0].address.to_string(),
        "192.168.118.110"
    );
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.real_servers.len(), 2);
    let t = vs.real_servers[1].checkers[0].timing;
    assert_eq!(
        (
            t.retry,
            t.connect_timeout.as_secs(),
            t.delay_before_retry.as_secs()
        ),
        (3, 3, 3)
    );

    let dir = std::env::temp_dir().join(format!("lvsd-imp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "vrrp_instance VI_1 {\n  state MASTER\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(["import-keepalived"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "a config error exits 3");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.conf:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
