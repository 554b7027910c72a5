//! Finding 6 of issue 10: every SIGHUP that rebuilt the checks while a
//! MISC_CHECK script ran left one zombie (the script was killed and reaped
//! once with WNOHANG, before it had died). The daemon runs with `--dry-run`
//! (no root, no IPVS); the zombies are counted in /proc.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (pid, state) of every process whose parent is `parent`.
fn children_of(parent: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": comm may hold spaces, so split after ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == parent {
            out.push((pid, state));
        }
    }
    out
}

fn config(sock: &Path, script: &Path, weight: u32) -> String {
    format!(
        "[global]
control_socket = {sock}

[virtual_server web]
address = 127.0.0.100
port = 80
protocol = TCP
lb_algo = rr
lb_kind = DR
delay_loop = 60

[real_server web/127.0.0.23:80]
weight = {weight}

[misc_check web/127.0.0.23:80]
misc_path = {script}
misc_timeout = 60
warmup = 0
",
        sock = sock.display(),
        script = script.display()
    )
}

fn started(file: &Path) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn wait_for(what: &str, log: &Path, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for: {what}\n--- lvsd log ---\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn reloads_while_a_misc_check_runs_leave_no_zombie() {
    const RELOADS: usize = 5;
    let dir: PathBuf = std::env::temp_dir().join(format!("lvsd-zombie-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let marks = dir.join("started");
    let script = dir.join("slow.sh");
    // The script records its pid, then outlives every reload.
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho $$ >> {}\nsleep 30\n", marks.display()),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    let sock = dir.join("lvsd.sock");
    let cfg = dir.join("lvsd.ini");
    std::fs::write(&cfg, config(&sock, &script, 1)).unwrap();
    let log = dir.join("lvsd.log");
    let mut lvsd = Proc(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["run", "--dry-run", "-c"])
            .arg(&cfg)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let pid = lvsd.0.id();
    wait_for("the first script run", &log, || started(&marks).len() == 1);
    for n in 1..=RELOADS {
        // A new weight changes the virtual servers: the checks are rebuilt
        // and the running script is killed.
        std::fs::write(&cfg, config(&sock, &script, 1 + n as u32)).unwrap();
        Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        wait_for("the script of the rebuilt checks", &log, || {
            started(&marks).len() == n + 1
        });
    }
    // Give SIGCHLD (and a slow machine) time to be handled.
    let mut zombies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        zombies = children_of(pid)
            .into_iter()
            .filter(|(_, state)| *state == 'Z')
            .collect();
        if zombies.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let pids = started(&marks);
    let running: Vec<_> = children_of(pid)
        .into_iter()
        .filter(|(_, state)| *state != 'Z')
        .collect();
    assert!(
        zombies.is_empty(),
        "{} zombie(s) after {RELOADS} reloads: {zombies:?}\n--- lvsd log ---\n{}",
        zombies.len(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // Only the last run is still there; the killed ones are gone.
    assert_eq!(
        running.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![pids[RELOADS]],
        "{running:?}"
    );

    // A stop kills and reaps the running script too.
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let code = lvsd.0.wait().unwrap();
    assert!(code.success(), "lvsd exit {code:?}");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !Path::new(&format!("/proc/{}", pids[RELOADS])).exists(),
        "the last script outlived the stop\n{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
