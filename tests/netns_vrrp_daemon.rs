//! Root-only: two lvsd directors in network namespaces elect a master by
//! priority, hold the VIP, fail over on SIGKILL and SIGTERM, and preempt back.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Director {
    ns: String,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Director {
    fn start(&mut self) {
        let log = std::fs::File::create(&self.log).unwrap();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns,
                env!("CARGO_BIN_EXE_lvsd"),
                "run",
                "-v",
                "-c",
            ])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start lvsd");
        self.child = Some(child);
    }

    fn signal(&mut self, sig: &str) {
        if let Some(child) = self.child.take() {
            let _ = Command::new("kill")
                .args([sig, &child.id().to_string()])
                .status();
            let mut child = child;
            let _ = child.wait();
        }
    }

    fn has_vip(&self, vip: &str) -> bool {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-o", "addr", "show", "dev", "eth0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&format!("inet {vip}/32"))
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Director {
    fn drop(&mut self) {
        self.signal("-KILL");
    }
}

fn write_config(dir: &Path, name: &str, priority: u8, state: &str, extra: &str) -> PathBuf {
    let path = dir.join(format!("{name}.ini"));
    std::fs::write(
        &path,
        format!(
            "[global]
router_id = {name}
control_socket = {sock}

[vrrp_instance VI_1]
state = {state}
interface = eth0
virtual_router_id = 51
priority = {priority}
advert_int = 1
auth_type = PASS
auth_pass = 1111
virtual_ipaddress = 10.254.0.100
{extra}
",
            sock = dir.join(format!("{name}.sock")).display()
        ),
    )
    .unwrap();
    path
}

/// Waits until `cond` holds; returns how long it took.
fn wait_for(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
    logs: &dyn Fn() -> String,
) -> Duration {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > limit {
            panic!(
                "timed out after {limit:?} waiting for: {what}\n--- logs ---\n{}",
                logs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

#[test]
fn election_failover_and_preemption() {
    if !common::netns_or_skip() {
        return;
    }
    let ns = common::Namespaces::new("lvsdvd", &["1", "2"]);
    let (n1, n2) = (ns.get("1").to_owned(), ns.get("2").to_owned());
    common::sh(&format!(
        "ip link add eth0 netns {n1} type veth peer name eth0 netns {n2}
         ip -n {n1} addr add 10.254.0.1/24 dev eth0
         ip -n {n2} addr add 10.254.0.2/24 dev eth0
         ip -n {n1} link set eth0 up
         ip -n {n2} link set eth0 up"
    ));
    let dir = std::env::temp_dir().join(format!("lvsd-vd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut d1 = Director {
        ns: n1.clone(),
        config: write_config(&dir, "d1", 100, "MASTER", ""),
        log: dir.join("d1.log"),
        child: None,
    };
    let mut d2 = Director {
        ns: n2.clone(),
        config: write_config(&dir, "d2", 90, "BACKUP", ""),
        log: dir.join("d2.log"),
        child: None,
    };
    let logs = |a: &Director, b: &Director| format!("d1:\n{}\nd2:\n{}", a.logs(), b.logs());

    d2.start();
    d1.start();
    // Priority decides: d1 (100) becomes master and holds the VIP; d2 stays backup.
    wait_for(
        "d1 holds the VIP",
        Duration::from_secs(10),
        || d1.has_vip("10.254.0.100"),
        &|| logs(&d1, &d2),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !d2.has_vip("10.254.0.100"),
        "split brain: both hold the VIP\n{}",
        logs(&d1, &d2)
    );

    // SIGKILL: no priority-0 advert, so d2 waits the master-down interval
    // (3 x 1 s + skew (256-90)/256 s = 3.65 s) before it takes over.
    d1.signal("-KILL");
    let took = wait_for(
        "d2 takes over after SIGKILL",
        Duration::from_secs(10),
        || d2.has_vip("10.254.0.100"),
        &|| logs(&d1, &d2),
    );
    assert!(
        took >= Duration::from_millis(3000),
        "took over too early: {took:?}"
    );
    assert!(
        took <= Duration::from_millis(5500),
        "took over too late: {took:?}"
    );
    // The killed master's VIP is still configured in its namespace (nobody removed it);
    // a restarted lvsd must clean it up at start and then preempt back.
    d1.start();
    wait_for(
        "d2 gives the VIP back to d1 (preemption)",
        Duration::from_secs(10),
        || !d2.has_vip("10.254.0.100"),
        &|| logs(&d1, &d2),
    );
    wait_for(
        "d1 holds the VIP again",
        Duration::from_secs(10),
        || d1.has_vip("10.254.0.100"),
        &|| logs(&d1, &d2),
    );

    // SIGTERM: d1 sends priority 0 and removes its VIP; d2 takes over after
    // the skew time only (0.65 s), far sooner than the down interval.
    let stop = Instant::now();
    d1.signal("-TERM");
    assert!(
        !d1.has_vip("10.254.0.100"),
        "a cleanly stopped master must remove its VIP"
    );
    wait_for(
        "d2 takes over after SIGTERM",
        Duration::from_secs(5),
        || d2.has_vip("10.254.0.100"),
        &|| logs(&d1, &d2),
    );
    let took = stop.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "SIGTERM takeover should take about the skew time, took {took:?}"
    );
    assert!(d1.logs().contains("Entering MASTER STATE"), "{}", d1.logs());
    assert!(d2.logs().contains("Entering MASTER STATE"), "{}", d2.logs());
    // One line per change: instance, old and new state, and the reason.
    for (d, line) in [
        (&d2, "Entering MASTER STATE (priority 90) from BACKUP: no advert from a master within the master down interval"),
        (&d2, "Entering BACKUP STATE (priority 90) from MASTER: advert from 10.254.0.1 with priority 100 wins"),
        (&d2, "Entering MASTER STATE (priority 90) from BACKUP: master 10.254.0.1 is leaving (priority 0 advert)"),
        (&d1, "Entering MASTER STATE (priority 100) from BACKUP: preempts master 10.254.0.2 with lower priority 90"),
        (&d1, "Entering STOP STATE (priority 100) from MASTER: lvsd is stopping"),
    ] {
        assert!(d.logs().contains(line), "no {line:?} in\n{}", d.logs());
    }

    // `lvsd status` over the control socket shows d2 as master.
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(["status", "--socket"])
        .arg(dir.join("d2.sock"))
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains("vrrp_instance VI_1 vrid 51 on eth0: MASTER priority 90"),
        "{status}"
    );
    // As master it sent timer-driven adverts, and their lateness is shown.
    let late = status
        .lines()
        .find_map(|l| l.strip_prefix("  advert lateness: n="))
        .unwrap_or_else(|| panic!("no advert lateness line: {status}"));
    let n: u64 = late
        .split(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("unreadable: {late}"));
    assert!(n >= 1, "{status}");
    drop(d2);
    let _ = std::fs::remove_dir_all(&dir);
}
