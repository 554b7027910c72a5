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

/// `include` with a glob (relative to the including file), `@ID` lines with
/// `--config-id`, `--strict` on a drop, and `lvsd check` warning about every note.
#[test]
fn include_config_id_strict_and_check_warnings() {
    let dir = std::env::temp_dir().join(format!("lvsd-imp2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::write(
        dir.join("keepalived.conf"),
        "global_defs {\n router_id X\n notification_email { ops@example.org }\n}\ninclude conf.d/*.conf\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("conf.d/vi1.conf"),
        "vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n\
@high priority 200\n@^high priority 100\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    )
    .unwrap();
    std::fs::write(dir.join("conf.d/skip.bak"), "garbage {\n").unwrap();
    let import = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .arg("import-keepalived")
            .args(extra)
            .arg(dir.join("keepalived.conf"))
            .output()
            .unwrap()
    };
    let out = import(&["--config-id", "high"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ini = String::from_utf8(out.stdout).unwrap();
    let cfg = lvsd::config::load_str(&ini, "converted.ini").expect("converted INI loads");
    assert_eq!(cfg.vrrp_instances[0].priority, 200, "{ini}");
    assert_eq!(
        cfg.warnings.len(),
        1,
        "the mail alert note: {:?}",
        cfg.warnings
    );
    let out = import(&[]);
    let ini = String::from_utf8(out.stdout).unwrap();
    let cfg = lvsd::config::load_str(&ini, "converted.ini").unwrap();
    assert_eq!(cfg.vrrp_instances[0].priority, 100, "{ini}");
    // Nothing with an effect was dropped: --strict passes.
    assert!(import(&["--strict"]).status.success());

    // A dropped keyword with an effect: --strict fails, lvsd check warns.
    std::fs::write(
        dir.join("conf.d/zz.conf"),
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.1.1 80 {\n  BFD_CHECK {\n  }\n }\n}\n",
    )
    .unwrap();
    let out = import(&["--strict"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("zz.conf:4: dropped: `BFD_CHECK`"), "{err}");
    let converted = dir.join("converted.ini");
    std::fs::write(&converted, &out.stdout).unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(["check", "-c"])
        .arg(&converted)
        .output()
        .unwrap();
    assert!(check.status.success());
    let warnings = String::from_utf8_lossy(&check.stderr);
    assert!(
        warnings.contains("dropped: ") && warnings.contains("BFD_CHECK"),
        "{warnings}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
