//! keepalived's virtual-server commands, on the daemon (`--dry-run`, so the
//! IPVS table is simulated; checks probe loopback only): `notify_down` /
//! `notify_up` when a real server leaves and rejoins, `quorum_down` /
//! `quorum_up` when the live weight crosses the quorum, and with `omega` the
//! down commands again at shutdown. Each command appends its name to a file.

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

fn wait_for(what: &str, limit: Duration, log: &Path, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for: {what}\n--- lvsd log ---\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn quorum_and_real_server_commands_run_on_transitions_and_with_omega_at_stop() {
    let dir: PathBuf = std::env::temp_dir().join(format!("lvsd-hooks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let record = dir.join("record");
    let script = dir.join("hook.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", record.display()),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();

    // Two real servers: listeners held by this test on loopback.
    let l1 = TcpListener::bind("127.0.0.31:0").unwrap();
    let l2 = TcpListener::bind("127.0.0.32:0").unwrap();
    let (p1, p2) = (
        l1.local_addr().unwrap().port(),
        l2.local_addr().unwrap().port(),
    );
    let sock = dir.join("lvsd.sock");
    let cfg = dir.join("lvsd.ini");
    let hook = script.display();
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
delay_loop = 1
quorum = 2
quorum_up = \"{hook} quorum_up\"
quorum_down = \"{hook} quorum_down\"
omega

[real_server web/127.0.0.31:{p1}]
notify_up = \"{hook} up rs1\"
notify_down = \"{hook} down rs1\"

[tcp_check web/127.0.0.31:{p1}]
connect_timeout = 1
retry = 0
warmup = 0

[real_server web/127.0.0.32:{p2}]
notify_up = \"{hook} up rs2\"
notify_down = \"{hook} down rs2\"

[tcp_check web/127.0.0.32:{p2}]
connect_timeout = 1
retry = 0
warmup = 0
",
            sock = sock.display()
        ),
    )
    .unwrap();
    let log = dir.join("lvsd.log");
    let mut lvsd = Proc(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["run", "--dry-run", "-v", "-c"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    // Both up from the start (no alpha): nothing runs until something changes.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(lines(&record), Vec::<String>::new());

    // rs2 stops: its notify_down, then the quorum (2) is lost.
    drop(l2);
    wait_for(
        "rs2 down and quorum lost",
        Duration::from_secs(10),
        &log,
        || lines(&record).len() >= 2,
    );
    assert_eq!(lines(&record), ["down rs2", "quorum_down"]);

    // rs2 returns: its notify_up, then the quorum is back.
    let _l2 = TcpListener::bind(("127.0.0.32", p2)).unwrap();
    wait_for(
        "rs2 up and quorum gained",
        Duration::from_secs(10),
        &log,
        || lines(&record).len() >= 4,
    );
    assert_eq!(
        lines(&record)[2..],
        ["up rs2".to_string(), "quorum_up".to_string()]
    );

    // omega: at shutdown every alive server's notify_down, then quorum_down.
    let pid = lvsd.0.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = lvsd.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut last = lines(&record)[4..].to_vec();
    last[..2].sort();
    assert_eq!(last, ["down rs1", "down rs2", "quorum_down"]);
    drop(l1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_service_starting_below_its_quorum_runs_quorum_down_at_start() {
    let dir: PathBuf = std::env::temp_dir().join(format!("lvsd-hooks2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let record = dir.join("record");
    let script = dir.join("hook.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", record.display()),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    let l1 = TcpListener::bind("127.0.0.33:0").unwrap();
    let p1 = l1.local_addr().unwrap().port();
    let sock = dir.join("lvsd.sock");
    let cfg = dir.join("lvsd.ini");
    let hook = script.display();
    // alpha: the server starts dead, so the quorum (1) is not met at start.
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
delay_loop = 1
alpha
quorum_up = \"{hook} quorum_up\"
quorum_down = \"{hook} quorum_down\"

[real_server web/127.0.0.33:{p1}]
notify_up = \"{hook} up rs1\"

[tcp_check web/127.0.0.33:{p1}]
connect_timeout = 1
warmup = 0
",
            sock = sock.display()
        ),
    )
    .unwrap();
    let log = dir.join("lvsd.log");
    let mut lvsd = Proc(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["run", "--dry-run", "-v", "-c"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for(
        "quorum_down at start, then the server joins",
        Duration::from_secs(10),
        &log,
        || lines(&record).len() >= 3,
    );
    assert_eq!(lines(&record), ["quorum_down", "up rs1", "quorum_up"]);
    let pid = lvsd.0.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let _ = lvsd.0.wait();
    drop(l1);
    let _ = std::fs::remove_dir_all(&dir);
}
