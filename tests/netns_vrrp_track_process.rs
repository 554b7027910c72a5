//! Root-only: `vrrp_track_process` with real processes (`sleep` started
//! under a name of the test's own through a symlink), and `track_file`'s
//! `reverse` and `init_file` beside Debian's keepalived 2.2.7.
//!
//! The kernel sends process events only to sockets of the initial network
//! namespace, so inside a test namespace lvsd (like keepalived, which then
//! cannot track processes at all) is refused by the connector. The first
//! test hands lvsd a connector socket opened by the test in the initial
//! namespace (`LVSD_TEST_HOOKS=proc_events_fd=N`), so the event path runs
//! end to end; the second lets lvsd fall back to its /proc rescans.

mod common;
mod vrrp_netns;

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use vrrp_netns::{logs, wait_for, Director, Lan};

const S: Duration = Duration::from_secs(1);

fn can_run(what: &str, keepalived: bool) -> bool {
    let have_keepalived = !keepalived
        || Command::new("keepalived")
            .arg("--version")
            .output()
            .map(|o| o.status.success() || !o.stderr.is_empty())
            .unwrap_or(false);
    if vrrp_netns::can_run() && have_keepalived {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what}: needs root, ip netns and keepalived, and CI=true makes that a failure"
    );
    eprintln!("SKIP {what}: needs root, ip netns and keepalived");
    false
}

/// `sleep` processes under a chosen name, killed on drop.
struct Sleepers {
    children: Vec<Child>,
}

impl Sleepers {
    fn new() -> Sleepers {
        Sleepers {
            children: Vec::new(),
        }
    }

    /// Starts `link` (a symlink to sleep, so the kernel names the process
    /// after it) with `args`; returns its index.
    fn start(&mut self, link: &Path, args: &[&str]) -> usize {
        let child = Command::new(link).args(args).spawn().expect("start sleep");
        self.children.push(child);
        self.children.len() - 1
    }

    fn stop(&mut self, i: usize) {
        let _ = self.children[i].kill();
        let _ = self.children[i].wait();
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A symlink to sleep named `name` in `dir`.
fn sleeper(dir: &Path, name: &str) -> PathBuf {
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sleep");
    let link = dir.join(name);
    std::os::unix::fs::symlink(sleep, &link).unwrap();
    link
}

fn inst(name: &str, vrid: u8, priority: u8, vip: &str, extra: &str) -> String {
    format!(
        "[vrrp_instance {name}]\ninterface = eth0\nvirtual_router_id = {vrid}\n\
         priority = {priority}\nvirtual_ipaddress = {vip}\n{extra}\n"
    )
}

fn state_of(d: &Director, name: &str) -> String {
    d.status()
        .lines()
        .find(|l| l.starts_with(&format!("vrrp_instance {name} ")))
        .unwrap_or("")
        .to_owned()
}

#[test]
fn track_process_from_kernel_events() {
    if !can_run("track_process_from_kernel_events", false) {
        return;
    }
    let net = 47;
    let lan = Lan::new("lvtp", net, 1);
    let tag = std::process::id() % 100_000;
    let a = format!("lvtp{tag}a");
    let b = format!("lvtp{tag}b");
    let a_link = sleeper(&lan.dir, &a);
    let b_link = sleeper(&lan.dir, &b);
    let ini = format!(
        "[global]\ncontrol_socket = @SOCK@\n\n\
         [vrrp_track_process need]\nprocess = {a}\n\n\
         [vrrp_track_process pair]\nprocess = {} 600\nquorum = 2\nweight = -30\n\n{}\n{}",
        b_link.display(),
        inst(
            "VI_1",
            71,
            100,
            &format!("10.254.{net}.101"),
            "track_process = need"
        ),
        inst(
            "VI_2",
            72,
            100,
            &format!("10.254.{net}.102"),
            "track_process = pair"
        ),
    );
    let mut lvsd = lan.lvsd(1, &ini);
    let socket = lvsd::io::proc_events::open_inheritable().expect("connector socket");
    lvsd.env.push((
        "LVSD_TEST_HOOKS".into(),
        format!("proc_events_fd={}", socket.as_raw_fd()),
    ));
    let ctx = logs(&[&lvsd]);
    let mut procs = Sleepers::new();
    lvsd.start();
    drop(socket); // lvsd holds it now
    wait_for(
        "VI_1 is FAULT without its process, VI_2 master at 100 - 30",
        10 * S,
        || {
            state_of(&lvsd, "VI_1").contains("FAULT")
                && state_of(&lvsd, "VI_2").contains("MASTER priority 70")
        },
        &ctx,
    );
    let vip1 = format!("10.254.{net}.101/32");
    assert!(!lvsd.has_addr("eth0", &vip1), "{}", ctx());
    let pa = procs.start(&a_link, &["600"]);
    wait_for(
        "the process starts: VI_1 leaves FAULT and becomes master",
        10 * S,
        || lvsd.has_addr("eth0", &vip1),
        &ctx,
    );
    // One `pair` process is below its quorum of 2; a wrong argument never counts.
    let p1 = procs.start(&b_link, &["600"]);
    procs.start(&b_link, &["601"]);
    std::thread::sleep(S / 2);
    assert!(state_of(&lvsd, "VI_2").contains("priority 70"), "{}", ctx());
    procs.start(&b_link, &["600"]);
    wait_for(
        "two `pair` processes: the weight no longer applies",
        5 * S,
        || state_of(&lvsd, "VI_2").contains("MASTER priority 100"),
        &ctx,
    );
    assert!(
        lvsd.status()
            .contains("track_process pair: 2 process(es), quorum met (process events)"),
        "{}",
        ctx()
    );
    procs.stop(p1);
    wait_for(
        "one gone: priority 70 again",
        5 * S,
        || state_of(&lvsd, "VI_2").contains("priority 70"),
        &ctx,
    );
    procs.stop(pa);
    wait_for(
        "the process ends: VI_1 FAULT, its VIP gone",
        5 * S,
        || state_of(&lvsd, "VI_1").contains("FAULT") && !lvsd.has_addr("eth0", &vip1),
        &ctx,
    );
    let log = lvsd.logs();
    assert!(
        !log.contains("reading /proc every"),
        "the connector socket was used:\n{log}"
    );
    assert!(
        log.contains("vrrp_track_process need: quorum gained"),
        "{log}"
    );
}

#[test]
fn track_process_rescans_and_track_file_like_keepalived() {
    if !can_run("track_process_rescans_and_track_file_like_keepalived", true) {
        return;
    }
    let net = 48;
    let lan = Lan::new("lvtq", net, 2);
    let tag = std::process::id() % 100_000;
    let c = format!("lvtq{tag}c");
    let c_link = sleeper(&lan.dir, &c);
    // Neither file exists: init_file creates both with 3.
    let lfile = lan.dir.join("lvsd.track");
    let kfile = lan.dir.join("ka.track");
    let vip = |h: u8| format!("10.254.{net}.{h}");
    let ini = format!(
        "[global]\ncontrol_socket = @SOCK@\n\n\
         [vrrp_track_process need]\nprocess = {c}\n\n{}\n{}\n{}\n{}\n\
         [vrrp_sync_group G]\ngroup = VI_1 VI_2\ntrack_process = need\n",
        inst("VI_1", 73, 100, &vip(103), ""),
        inst("VI_2", 74, 100, &vip(104), ""),
        inst(
            "VI_3",
            75,
            100,
            &vip(105),
            &format!(
                "track_file = {} weight 10 reverse init_file 3",
                lfile.display()
            )
        ),
        inst("VI_4", 76, 75, &vip(106), ""),
    );
    let mut lvsd = lan.lvsd(1, &ini);
    let kinst = |name: &str, vrid: u8, prio: u8, h: u8, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n\
             priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {}/32\n    }}\n{extra}}}\n",
            vip(h)
        )
    };
    let mut ka = lan.keepalived(
        2,
        &format!(
            "track_file kf {{\n    file {}\n    weight 10 reverse\n    init_file 3\n}}\n{}{}",
            kfile.display(),
            kinst("K_3", 75, 75, 105, ""),
            kinst("K_4", 76, 100, 106, "    track_file {\n        kf\n    }\n"),
        ),
    );
    let ctx = logs(&[&lvsd, &ka]);
    let mut procs = Sleepers::new();
    lvsd.start();
    ka.start();
    // 100 - 3 x 10 = 70 on both sides: the plain 75 of the other wins.
    wait_for(
        "reverse weight: keepalived holds VI_3's address, lvsd VI_4's; group G FAULT",
        15 * S,
        || {
            ka.has_addr("eth0", &format!("{}/32", vip(105)))
                && lvsd.has_addr("eth0", &format!("{}/32", vip(106)))
                && state_of(&lvsd, "VI_1").contains("FAULT")
                && state_of(&lvsd, "VI_2").contains("FAULT")
        },
        &ctx,
    );
    assert!(state_of(&lvsd, "VI_3").contains("priority 70"), "{}", ctx());
    for f in [&lfile, &kfile] {
        assert_eq!(std::fs::read_to_string(f).unwrap().trim(), "3", "init_file");
    }
    let pc = procs.start(&c_link, &["600"]);
    wait_for(
        "the group's process runs: both members master (found by a /proc rescan)",
        10 * S,
        || {
            lvsd.has_addr("eth0", &format!("{}/32", vip(103)))
                && lvsd.has_addr("eth0", &format!("{}/32", vip(104)))
        },
        &ctx,
    );
    assert!(
        lvsd.status()
            .contains("track_process need: 1 process(es), quorum met (/proc rescans)"),
        "{}",
        ctx()
    );
    std::fs::write(&lfile, "0\n").unwrap();
    std::fs::write(&kfile, "0\n").unwrap();
    wait_for(
        "0 in the files: 100 on both sides, each takes its address over",
        15 * S,
        || {
            lvsd.has_addr("eth0", &format!("{}/32", vip(105)))
                && ka.has_addr("eth0", &format!("{}/32", vip(106)))
        },
        &ctx,
    );
    procs.stop(pc);
    wait_for(
        "the process ends: the whole group FAULT",
        10 * S,
        || {
            state_of(&lvsd, "VI_1").contains("FAULT")
                && state_of(&lvsd, "VI_2").contains("FAULT")
                && !lvsd.has_addr("eth0", &format!("{}/32", vip(103)))
        },
        &ctx,
    );
    let log = lvsd.logs();
    assert!(
        log.contains("reading /proc every"),
        "inside a namespace the connector is refused:\n{log}"
    );
}

/// A tracked process forks thousands of children (each counted until it
/// execs `true`) into a small event queue, so events are lost and /proc is
/// rescanned: lvsd's VRRP keeps its adverts on time (the backup never takes
/// over), and once the storm is over and the process ends, the count is
/// back to zero and the instance goes FAULT.
#[test]
fn fork_storm_of_a_tracked_process_keeps_vrrp_on_time() {
    if !can_run("fork_storm_of_a_tracked_process_keeps_vrrp_on_time", false) {
        return;
    }
    let net = 49;
    let lan = Lan::new("lvts", net, 2);
    let tag = std::process::id() % 100_000;
    let name = format!("lvts{tag}s");
    let sh = lan.dir.join(&name);
    std::os::unix::fs::symlink("/bin/sh", &sh).unwrap();
    let vip = format!("10.254.{net}.111");
    let ini1 = format!(
        "[global]\ncontrol_socket = @SOCK@\n\n[vrrp_track_process storm]\nprocess = {name}\n\n{}",
        inst("VI_1", 81, 150, &vip, "track_process = storm")
    );
    let ini2 = format!(
        "[global]\ncontrol_socket = @SOCK@\n\n{}",
        inst("VI_1", 81, 100, &vip, "")
    );
    let mut d1 = lan.lvsd(1, &ini1);
    let mut d2 = lan.lvsd(2, &ini2);
    let socket = lvsd::io::proc_events::open_inheritable().expect("connector socket");
    d1.env.push((
        "LVSD_TEST_HOOKS".into(),
        format!(
            "proc_events_fd={},proc_events_rcvbuf=2048",
            socket.as_raw_fd()
        ),
    ));
    let ctx = logs(&[&d1, &d2]);
    let mut procs = Sleepers::new();
    let forks = 4000;
    let done = lan.dir.join("storm.done");
    let script = format!(
        "sleep 2; i=0; while [ $i -lt {forks} ]; do /bin/true & i=$((i+1)); done; wait; \
         touch {}; exec sleep 600",
        done.display()
    );
    let storm = procs.start(&sh, &["-c", &script]);
    d1.start();
    drop(socket);
    d2.start();
    let held = format!("{vip}/32");
    wait_for(
        "d1 (150, its process running) is master",
        15 * S,
        || d1.has_addr("eth0", &held) && state_of(&d2, "VI_1").contains("BACKUP"),
        &ctx,
    );
    let started = std::time::Instant::now();
    while !done.exists() {
        assert!(
            d1.has_addr("eth0", &held) && !d2.has_addr("eth0", &held),
            "the storm moved the VIP after {:?}\n{}",
            started.elapsed(),
            ctx()
        );
        assert!(started.elapsed() < 120 * S, "storm did not end\n{}", ctx());
        std::thread::sleep(Duration::from_millis(50));
    }
    let storm_took = started.elapsed();
    let lateness = d1
        .status()
        .lines()
        .find(|l| l.trim_start().starts_with("advert lateness"))
        .unwrap_or("")
        .trim()
        .to_owned();
    // `exec sleep` renamed the tracked process: its quorum is lost.
    wait_for(
        "the tracked shell became `sleep`: d1 FAULT, d2 takes over",
        15 * S,
        || state_of(&d1, "VI_1").contains("FAULT") && d2.has_addr("eth0", &held),
        &ctx,
    );
    procs.stop(storm);
    let log = d1.logs();
    let overruns = log.matches("process events lost").count();
    println!(
        "fork storm: {forks} forks of a tracked process in {storm_took:?}; event queue overruns: {overruns}; d1 {lateness}"
    );
    assert!(
        overruns > 0,
        "a 2 KiB queue overflows in such a storm:\n{log}"
    );
    assert!(
        log.contains("vrrp_track_process storm: quorum lost (0 matching"),
        "{log}"
    );
    assert!(
        d1.status()
            .contains("track_process storm: 0 process(es), quorum not met (process events)"),
        "{}",
        ctx()
    );
}
