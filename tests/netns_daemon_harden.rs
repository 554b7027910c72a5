//! Root-only: the daemon's netlink, reload and failure paths in network
//! namespaces. A VIP deleted while rtnetlink overflows comes back after the
//! re-dump; a fatal loop error still sends priority 0 and removes the VIPs;
//! a reload that changes VRRP is refused and says so in `lvsd status`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Namespaces usable, or (outside CI) a reason to skip; in CI a failure.
fn netns_or_skip() -> bool {
    // Own probe name per test: the tests of this file run in parallel in one
    // process, and common::can_use_netns names its probe by the pid only.
    static PROBES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("lvsd-dh-probe-{}-{n}", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        let _ = Command::new("ip").args(["netns", "del", &name]).status();
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI: this test needs root and `ip netns`");
    }
    eprintln!("SKIP: needs root and ip netns");
    false
}

struct Director {
    ns: String,
    config: PathBuf,
    log: PathBuf,
    socket: PathBuf,
    child: Option<Child>,
}

impl Director {
    fn new(dir: &Path, ns: &str, name: &str) -> Director {
        Director {
            ns: ns.to_owned(),
            config: dir.join(format!("{name}.ini")),
            log: dir.join(format!("{name}.log")),
            socket: dir.join(format!("{name}.sock")),
            child: None,
        }
    }

    fn start(&mut self, hooks: &str, extra_args: &[&str]) {
        let log = std::fs::File::create(&self.log).unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, env!("CARGO_BIN_EXE_lvsd"), "run"])
            .args(extra_args)
            .args(["-v", "-c"])
            .arg(&self.config)
            .env("LVSD_TEST_HOOKS", hooks)
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(cmd.spawn().expect("start lvsd"));
    }

    fn pid(&self) -> String {
        self.child.as_ref().expect("running").id().to_string()
    }

    fn kill(&mut self, sig: &str) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args([sig, &child.id().to_string()])
                .status();
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

    fn status(&self) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["status", "--socket"])
            .arg(&self.socket)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Director {
    fn drop(&mut self) {
        self.kill("-KILL");
    }
}

fn instance(name: &str, vrid: u8, priority: u8, state: &str, vip: &str) -> String {
    format!(
        "[vrrp_instance {name}]
state = {state}
interface = eth0
virtual_router_id = {vrid}
priority = {priority}
advert_int = 1
virtual_ipaddress = {vip}
"
    )
}

fn write(path: &Path, socket: &Path, body: &str) {
    std::fs::write(
        path,
        format!("[global]\ncontrol_socket = {}\n\n{body}", socket.display()),
    )
    .unwrap();
}

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

/// Two namespaces joined by a veth pair named eth0 on both sides.
fn pair(prefix: &str) -> (common::Namespaces, String, String) {
    let ns = common::Namespaces::new(prefix, &["1", "2"]);
    let (n1, n2) = (ns.get("1").to_owned(), ns.get("2").to_owned());
    common::sh(&format!(
        "ip link add eth0 netns {n1} type veth peer name eth0 netns {n2}
         ip -n {n1} addr add 10.253.0.1/24 dev eth0
         ip -n {n2} addr add 10.253.0.2/24 dev eth0
         ip -n {n1} link set eth0 up
         ip -n {n2} link set eth0 up"
    ));
    (ns, n1, n2)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvsd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_vip_deleted_while_rtnetlink_overflows_comes_back_after_the_redump() {
    if !netns_or_skip() {
        return;
    }
    let (ns, n1, _n2) = pair("lvsdnb");
    let dir = temp_dir("nobufs");
    let mut d = Director::new(&dir, &n1, "d1");
    write(
        &d.config,
        &d.socket,
        &instance("VI_1", 61, 150, "MASTER", "10.253.0.100"),
    );
    // A small receive buffer (the kernel's minimum) makes the overflow certain.
    d.start("rtnl_rcvbuf=1", &[]);
    wait_for(
        "the master holds the VIP",
        Duration::from_secs(10),
        || d.has_vip("10.253.0.100"),
        &|| d.logs(),
    );
    // Freeze lvsd, flood address events past its buffer, delete the VIP
    // (that event is lost with the rest), thaw it.
    common::sh(&format!("kill -STOP {}", d.pid()));
    let mut batch = String::new();
    for n in 0..600u32 {
        batch.push_str(&format!(
            "addr add 10.252.{}.{}/32 dev lo\n",
            n / 250,
            n % 250 + 1
        ));
    }
    batch.push_str("addr del 10.253.0.100/32 dev eth0\n");
    let file = dir.join("flood.batch");
    std::fs::write(&file, batch).unwrap();
    common::sh(&format!("ip -n {n1} -batch {}", file.display()));
    assert!(!d.has_vip("10.253.0.100"));
    common::sh(&format!("kill -CONT {}", d.pid()));
    let took = wait_for(
        "the VIP comes back after the re-dump",
        Duration::from_secs(8),
        || d.has_vip("10.253.0.100"),
        &|| d.logs(),
    );
    println!("VIP back {took:?} after lvsd resumed (600 address events queued)");
    let logs = d.logs();
    assert!(logs.contains("events lost (ENOBUFS"), "{logs}");
    assert!(
        logs.contains("is missing after an rtnetlink re-dump; adding it back"),
        "{logs}"
    );
    let status = d.status();
    let line = status
        .lines()
        .find(|l| l.starts_with("rtnetlink: overflows "))
        .unwrap_or_else(|| panic!("no rtnetlink line: {status}"));
    assert!(!line.starts_with("rtnetlink: overflows 0 "), "{line}");
    assert!(!line.contains(" re-dumps 0 "), "{line}");
    d.kill("-TERM");
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_fatal_loop_error_still_sends_priority_0_and_removes_the_vips() {
    if !netns_or_skip() {
        return;
    }
    let (ns, n1, n2) = pair("lvsdfe");
    let dir = temp_dir("fatal");
    let mut d1 = Director::new(&dir, &n1, "d1");
    let mut d2 = Director::new(&dir, &n2, "d2");
    write(
        &d1.config,
        &d1.socket,
        &instance("VI_1", 62, 150, "MASTER", "10.253.0.101"),
    );
    write(
        &d2.config,
        &d2.socket,
        &instance("VI_1", 62, 100, "BACKUP", "10.253.0.101"),
    );
    let logs = |a: &Director, b: &Director| format!("d1:\n{}\nd2:\n{}", a.logs(), b.logs());
    d2.start("", &[]);
    d1.start("loop_error_after_ms=4000", &[]);
    wait_for(
        "d1 holds the VIP",
        Duration::from_secs(10),
        || d1.has_vip("10.253.0.101"),
        &|| logs(&d1, &d2),
    );
    // The loop fails; lvsd leaves with an error but as a stop does.
    let child = d1.child.as_mut().unwrap();
    let mut exited = None;
    wait_for(
        "d1 leaves after its loop failed",
        Duration::from_secs(15),
        || {
            exited = child.try_wait().unwrap();
            exited.is_some()
        },
        &|| String::new(),
    );
    let status = exited.unwrap();
    let failed = Instant::now();
    assert!(!status.success(), "a fatal loop error exits non-zero");
    d1.child = None;
    assert!(
        !d1.has_vip("10.253.0.101"),
        "the failed master left its VIP behind\n{}",
        logs(&d1, &d2)
    );
    // Priority 0: the backup takes over after its skew time (0.6 s), not
    // the master-down interval (3.6 s).
    wait_for(
        "d2 takes over",
        Duration::from_secs(8),
        || d2.has_vip("10.253.0.101"),
        &|| logs(&d1, &d2),
    );
    let took = failed.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "takeover after the failure took {took:?}: no priority-0 advert?\n{}",
        logs(&d1, &d2)
    );
    assert!(d1.logs().contains("event loop failed"), "{}", d1.logs());
    drop(d2);
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

const VS: &str = "[virtual_server web]
address = 10.253.0.102
port = 80
protocol = TCP
lb_algo = rr
lb_kind = DR

[real_server web/10.253.0.2:80]
";

#[test]
fn a_reload_that_changes_vrrp_is_refused_naming_each_key() {
    if !netns_or_skip() {
        return;
    }
    let (ns, n1, _n2) = pair("lvsdrl");
    let dir = temp_dir("reload");
    let mut d = Director::new(&dir, &n1, "d1");
    let base = format!(
        "{}\n{}\n{VS}",
        instance("VI_1", 63, 150, "MASTER", "10.253.0.102"),
        instance("VI_2", 64, 150, "MASTER", "10.253.0.103")
    );
    write(&d.config, &d.socket, &base);
    d.start("", &["--dry-run"]);
    wait_for(
        "VI_1 is master",
        Duration::from_secs(10),
        || d.has_vip("10.253.0.102") && d.has_vip("10.253.0.103"),
        &|| d.logs(),
    );
    assert!(d.status().contains("last reload: none"));
    // A priority change and a new instance: refused, each named.
    let changed = format!(
        "{}\n{}\n{}\n{VS}",
        instance("VI_1", 63, 200, "MASTER", "10.253.0.102"),
        instance("VI_2", 64, 150, "MASTER", "10.253.0.103"),
        instance("VI_3", 65, 150, "MASTER", "10.253.0.104")
    );
    write(&d.config, &d.socket, &changed);
    common::sh(&format!("kill -HUP {}", d.pid()));
    let want =
        "last reload: refused, needs a restart: [vrrp_instance VI_1] priority, [vrrp_instance VI_3] (added)";
    wait_for(
        "the status says the reload was refused",
        Duration::from_secs(5),
        || d.status().contains(want),
        &|| format!("{}\n{}", d.status(), d.logs()),
    );
    assert!(d.status().contains("priority 150 (configured 150)"));
    assert!(
        !d.has_vip("10.253.0.104"),
        "the refused instance must not run"
    );
    // Instances swapped and a virtual server changed: applied, VRRP untouched.
    let swapped = format!(
        "{}\n{}\n{}",
        instance("VI_2", 64, 150, "MASTER", "10.253.0.103"),
        instance("VI_1", 63, 150, "MASTER", "10.253.0.102"),
        VS.replace("lb_algo = rr", "lb_algo = wrr")
    );
    write(&d.config, &d.socket, &swapped);
    common::sh(&format!("kill -HUP {}", d.pid()));
    wait_for(
        "the status says the reload was applied",
        Duration::from_secs(5),
        || {
            d.status()
                .contains("last reload: applied: virtual servers, real servers and checks rebuilt")
        },
        &|| format!("{}\n{}", d.status(), d.logs()),
    );
    assert!(
        d.status().contains("TCP  10.253.0.102:80 wrr"),
        "{}",
        d.status()
    );
    assert!(d.has_vip("10.253.0.102") && d.has_vip("10.253.0.103"));
    // A FIFO at the path: refused at once, never waited on (the loop and
    // `lvsd status` go on).
    std::fs::remove_file(&d.config).unwrap();
    common::sh(&format!("mkfifo {}", d.config.display()));
    common::sh(&format!("kill -HUP {}", d.pid()));
    wait_for(
        "the FIFO is refused",
        Duration::from_secs(5),
        || {
            let s = d.status();
            s.contains("last reload: rejected: ") && s.contains("not a regular file (a FIFO)")
        },
        &|| format!("{}\n{}", d.status(), d.logs()),
    );
    assert!(d.has_vip("10.253.0.102"));
    d.kill("-TERM");
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Probes run so far, from `health checks: N probe(s), run M, ...`.
fn probes_run(status: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("health checks: "))
        .and_then(|l| l.split(", run ").nth(1))
        .and_then(|l| l.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no probe count in: {status}"))
}

#[test]
fn ha_suspend_pauses_the_checks_while_the_address_is_absent() {
    if !netns_or_skip() {
        return;
    }
    let ns = common::Namespaces::new("lvsdhs", &["1"]);
    let n1 = ns.get("1").to_owned();
    let dir = temp_dir("hasuspend");
    let mut d = Director::new(&dir, &n1, "d1");
    write(
        &d.config,
        &d.socket,
        "[virtual_server web]
address = 10.253.0.105
port = 80
protocol = TCP
lb_algo = rr
lb_kind = DR
delay_loop = 0.2
ha_suspend

[real_server web/127.0.0.1:80]

[tcp_check web/127.0.0.1:80]
connect_timeout = 1
warmup = 0
",
    );
    d.start("", &["--dry-run"]);
    wait_for(
        "the control socket answers",
        Duration::from_secs(10),
        || d.status().contains("health checks: "),
        &|| d.logs(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(probes_run(&d.status()), 0, "suspended: {}", d.logs());
    common::sh(&format!("ip -n {n1} addr add 10.253.0.105/32 dev lo"));
    wait_for(
        "the checks run once the address is here",
        Duration::from_secs(5),
        || probes_run(&d.status()) >= 3,
        &|| d.logs(),
    );
    common::sh(&format!("ip -n {n1} addr del 10.253.0.105/32 dev lo"));
    std::thread::sleep(Duration::from_millis(500));
    let paused = probes_run(&d.status());
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(probes_run(&d.status()), paused, "suspended again");
    let logs = d.logs();
    assert!(logs.contains("ha_suspend: 1 check(s) resumed"), "{logs}");
    assert!(logs.contains("ha_suspend: 1 check(s) suspended"), "{logs}");
    d.kill("-TERM");
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}
