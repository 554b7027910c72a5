//! Root-only: lvsd directors on a bridge in network namespaces: notify commands
//! in order and the notify FIFO, a failing vrrp_script hands over mastership,
//! link down -> FAULT, unicast with the source checked, IPv6 VRRPv3, a sync
//! group moving as one, nopreempt.

mod common;
mod vrrp_netns;

use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::time::Duration;

use vrrp_netns::{holds_for, logs, wait_for, Lan};

const S: Duration = Duration::from_secs(1);

fn ini(global: &str, body: &str) -> String {
    format!("[global]\ncontrol_socket = @SOCK@\n{global}\n{body}\n")
}

fn instance(name: &str, vrid: u8, priority: u8, vip: &str, extra: &str) -> String {
    format!(
        "[vrrp_instance {name}]
state = BACKUP
interface = eth0
virtual_router_id = {vrid}
priority = {priority}
advert_int = 1
virtual_ipaddress = {vip}
{extra}
"
    )
}

fn skip() -> bool {
    !common::require_or_skip(vrrp_netns::can_run(), "root and `ip netns` (iproute2)")
}

#[test]
fn notify_in_order_fifo_and_failing_script_hands_over() {
    if skip() {
        return;
    }
    let lan = Lan::new("lvnf", 10, 2);
    let dir = &lan.dir;
    let out = dir.join("notify.out");
    let fail = dir.join("fail");
    let fifo = dir.join("notify.fifo");
    common::sh(&format!("mkfifo {}", fifo.display()));
    // The state script sleeps before writing: if commands ran in parallel the
    // generic notify's line would come first.
    let script = dir.join("n.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = slow ] && sleep 0.3\necho \"$*\" >> {}\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = script.display();
    let d1_extra = format!(
        "track_script = chk
notify_master = {s} slow master
notify_backup = {s} slow backup
notify_stop = {s} slow stop
notify = {s} generic"
    );
    let d1_ini = ini(
        &format!("notify_fifo = {}\nnotify_timeout = 5", fifo.display()),
        &format!(
            "[vrrp_script chk]
script = /bin/sh -c 'test ! -e {}'
interval = 0.2
weight = -20
fall = 2
rise = 1

{}",
            fail.display(),
            instance("VI_1", 51, 100, "10.254.10.100", &d1_extra)
        ),
    );
    // Open the FIFO for reading first (nonblocking), as a monitoring tool would.
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nonblock())
        .open(&fifo)
        .unwrap();
    let mut d1 = lan.lvsd(1, &d1_ini);
    let mut d2 = lan.lvsd(2, &ini("", &instance("VI_1", 51, 90, "10.254.10.100", "")));
    let ctx = logs(&[&d1, &d2]);
    d1.start();
    d2.start();
    wait_for(
        "d1 becomes master",
        10 * S,
        || d1.has_addr("eth0", "10.254.10.100/32"),
        &ctx,
    );
    // The script fails: priority 100 - 20 = 80 < 90, d2 preempts.
    std::fs::write(&fail, "").unwrap();
    wait_for(
        "d2 takes over after the script fails",
        10 * S,
        || d2.has_addr("eth0", "10.254.10.100/32"),
        &ctx,
    );
    wait_for(
        "d1 gives up the VIP",
        5 * S,
        || !d1.has_addr("eth0", "10.254.10.100/32"),
        &ctx,
    );
    let st = d1.status();
    assert!(st.contains("BACKUP priority 80 (configured 100)"), "{st}");
    assert!(st.contains("vrrp_script chk: down"), "{st}");
    // The script recovers: d1 (100) preempts back.
    std::fs::remove_file(&fail).unwrap();
    wait_for(
        "d1 preempts back after the script recovers",
        10 * S,
        || d1.has_addr("eth0", "10.254.10.100/32"),
        &ctx,
    );
    d1.signal("-TERM");
    let want = [
        "slow backup",
        "generic INSTANCE VI_1 BACKUP 100",
        "slow master",
        "generic INSTANCE VI_1 MASTER 100",
        "slow backup",
        "generic INSTANCE VI_1 BACKUP 80",
        "slow master",
        "generic INSTANCE VI_1 MASTER 100",
        "slow stop",
        "generic INSTANCE VI_1 STOP 100",
    ];
    let got = std::fs::read_to_string(&out).unwrap_or_default();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines, want, "{}", ctx());
    let mut fifo_text = String::new();
    let _ = reader.read_to_string(&mut fifo_text);
    assert_eq!(
        fifo_text,
        "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\nINSTANCE \"VI_1\" BACKUP 80\n\
         INSTANCE \"VI_1\" MASTER 100\nINSTANCE \"VI_1\" STOP 100\n",
        "{}",
        ctx()
    );
}

fn libc_o_nonblock() -> i32 {
    0o4000
}

#[test]
fn link_down_means_fault_and_the_backup_takes_over() {
    if skip() {
        return;
    }
    let lan = Lan::new("lvlk", 11, 2);
    let mut d1 = lan.lvsd(1, &ini("", &instance("VI_1", 51, 100, "10.254.11.100", "")));
    let mut d2 = lan.lvsd(2, &ini("", &instance("VI_1", 51, 90, "10.254.11.100", "")));
    let ctx = logs(&[&d1, &d2]);
    d1.start();
    d2.start();
    wait_for(
        "d1 becomes master",
        10 * S,
        || d1.has_addr("eth0", "10.254.11.100/32"),
        &ctx,
    );
    common::sh(&format!("ip -n {} link set eth0 down", lan.d(1)));
    wait_for(
        "d1 enters FAULT",
        5 * S,
        || d1.status().contains("on eth0: FAULT"),
        &ctx,
    );
    wait_for(
        "d2 takes over",
        10 * S,
        || d2.has_addr("eth0", "10.254.11.100/32"),
        &ctx,
    );
    assert!(!d1.has_addr("eth0", "10.254.11.100/32"), "{}", ctx());
    common::sh(&format!("ip -n {} link set eth0 up", lan.d(1)));
    wait_for(
        "d1 leaves FAULT and preempts back",
        15 * S,
        || d1.has_addr("eth0", "10.254.11.100/32"),
        &ctx,
    );
    wait_for(
        "d2 steps down",
        5 * S,
        || !d2.has_addr("eth0", "10.254.11.100/32"),
        &ctx,
    );
    assert!(d1.logs().contains("Entering FAULT STATE"), "{}", ctx());
}

#[test]
fn unicast_peers_and_the_source_is_checked() {
    if skip() {
        return;
    }
    let lan = Lan::new("lvuc", 12, 3);
    let peers = |me: u8| {
        [1u8, 2]
            .iter()
            .filter(|&&p| p != me)
            .map(|p| format!("unicast_peer = 10.254.12.{p}\n"))
            .collect::<String>()
    };
    let mut d1 = lan.lvsd(
        1,
        &ini(
            "",
            &instance(
                "VI_1",
                51,
                100,
                "10.254.12.100",
                &format!("unicast_src_ip = 10.254.12.1\n{}", peers(1)),
            ),
        ),
    );
    let mut d2 = lan.lvsd(
        2,
        &ini(
            "",
            &instance(
                "VI_1",
                51,
                90,
                "10.254.12.100",
                &format!("unicast_src_ip = 10.254.12.2\n{}", peers(2)),
            ),
        ),
    );
    // A stranger with a better priority sends to d1 and d2, but neither lists it.
    let mut d3 = lan.lvsd(
        3,
        &ini(
            "",
            &instance(
                "VI_1",
                51,
                200,
                "10.254.12.100",
                "unicast_src_ip = 10.254.12.3\nunicast_peer = 10.254.12.1\nunicast_peer = 10.254.12.2\n",
            ),
        ),
    );
    let ctx = logs(&[&d1, &d2, &d3]);
    d1.start();
    d2.start();
    wait_for(
        "d1 becomes master over unicast",
        10 * S,
        || d1.has_addr("eth0", "10.254.12.100/32"),
        &ctx,
    );
    holds_for(
        "d2 stays backup",
        2 * S,
        || !d2.has_addr("eth0", "10.254.12.100/32"),
        &ctx,
    );
    let st = d2.status();
    assert!(st.contains("BACKUP priority 90"), "{st}");
    d3.start();
    wait_for(
        "d1 counts adverts from the stranger as not_from_peer",
        10 * S,
        || d1.status().contains("not_from_peer="),
        &ctx,
    );
    holds_for(
        "d1 stays master although the stranger has priority 200",
        2 * S,
        || d1.has_addr("eth0", "10.254.12.100/32") && !d2.has_addr("eth0", "10.254.12.100/32"),
        &ctx,
    );
    d3.signal("-KILL");
    // Unicast failover.
    d1.signal("-KILL");
    wait_for(
        "d2 takes over over unicast",
        10 * S,
        || d2.has_addr("eth0", "10.254.12.100/32"),
        &ctx,
    );
}

#[test]
fn ipv6_vrrp_v3_instance() {
    if skip() {
        return;
    }
    let lan = Lan::new("lvv6", 13, 2);
    let inst = |p: u8| {
        format!(
            "[vrrp_instance VI_6]
state = BACKUP
interface = eth0
virtual_router_id = 61
priority = {p}
version = 3
advert_int = 0.1
virtual_ipaddress = fd00:254:13::100/128
"
        )
    };
    let mut d1 = lan.lvsd(1, &ini("", &inst(100)));
    let mut d2 = lan.lvsd(2, &ini("", &inst(90)));
    let ctx = logs(&[&d1, &d2]);
    d1.start();
    d2.start();
    let vip = "fd00:254:13::100/128";
    wait_for(
        "d1 becomes master",
        10 * S,
        || d1.has_addr("eth0", vip),
        &ctx,
    );
    holds_for("d2 stays backup", S, || !d2.has_addr("eth0", vip), &ctx);
    let st = d2.status();
    assert!(st.contains("VI_6 vrid 61 on eth0: BACKUP"), "{st}");
    assert!(!st.contains("dropped"), "{st}");
    d1.signal("-KILL");
    // 3 x 0.1 s + skew: well under a second.
    let took = wait_for("d2 takes over", 5 * S, || d2.has_addr("eth0", vip), &ctx);
    assert!(
        took < Duration::from_millis(1500),
        "took {took:?}\n{}",
        ctx()
    );
    d1.start();
    wait_for(
        "d1 preempts back",
        10 * S,
        || d1.has_addr("eth0", vip),
        &ctx,
    );
    wait_for("d2 steps down", 5 * S, || !d2.has_addr("eth0", vip), &ctx);
}

#[test]
fn sync_group_moves_as_one() {
    if skip() {
        return;
    }
    let lan = Lan::new("lvsg", 14, 2);
    let flag = lan.dir.join("vi2.fault");
    let group_out = lan.dir.join("group.out");
    let cfg = |p: u8, extra2: &str, gnotify: &str| {
        ini(
            "",
            &format!(
                "{}\n{}\n[vrrp_sync_group G1]\ngroup = VI_1 VI_2\n{gnotify}\n",
                instance("VI_1", 51, p, "10.254.14.100", ""),
                instance("VI_2", 52, p, "10.254.14.101", extra2)
            ),
        )
    };
    let mut d1 = lan.lvsd(
        1,
        &cfg(
            100,
            &format!("track_file = {} weight 0", flag.display()),
            &format!(
                "notify = /bin/sh -c 'echo \"$*\" >> {}' sh",
                group_out.display()
            ),
        ),
    );
    let mut d2 = lan.lvsd(2, &cfg(90, "", ""));
    let ctx = logs(&[&d1, &d2]);
    d1.start();
    d2.start();
    let both = |d: &vrrp_netns::Director| {
        (
            d.has_addr("eth0", "10.254.14.100/32"),
            d.has_addr("eth0", "10.254.14.101/32"),
        )
    };
    wait_for(
        "d1 holds both VIPs",
        10 * S,
        || both(&d1) == (true, true),
        &ctx,
    );
    assert_eq!(both(&d2), (false, false), "{}", ctx());
    // Only VI_2 is faulty, but the whole group follows.
    std::fs::write(&flag, "1\n").unwrap();
    wait_for(
        "d2 holds both VIPs",
        10 * S,
        || both(&d2) == (true, true),
        &ctx,
    );
    wait_for("d1 holds none", 5 * S, || both(&d1) == (false, false), &ctx);
    let st = d1.status();
    assert!(st.contains("VI_1 vrid 51 on eth0: FAULT"), "{st}");
    assert!(st.contains("VI_2 vrid 52 on eth0: FAULT"), "{st}");
    std::fs::write(&flag, "0\n").unwrap();
    wait_for(
        "d1 takes both back",
        15 * S,
        || both(&d1) == (true, true),
        &ctx,
    );
    wait_for("d2 holds none", 5 * S, || both(&d2) == (false, false), &ctx);
    d1.signal("-TERM");
    let got = std::fs::read_to_string(&group_out).unwrap_or_default();
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        [
            "GROUP G1 BACKUP 0",
            "GROUP G1 MASTER 0",
            "GROUP G1 FAULT 0",
            "GROUP G1 BACKUP 0",
            "GROUP G1 MASTER 0",
            "GROUP G1 STOP 0"
        ],
        "{}",
        ctx()
    );
}

#[test]
fn nopreempt_keeps_the_current_master() {
    if skip() {
        return;
    }
    let lan = Lan::new("lvnp", 15, 2);
    let mut d1 = lan.lvsd(
        1,
        &ini(
            "",
            &instance("VI_1", 51, 100, "10.254.15.100", "nopreempt = true"),
        ),
    );
    let mut d2 = lan.lvsd(
        2,
        &ini(
            "",
            &instance("VI_1", 51, 90, "10.254.15.100", "nopreempt = true"),
        ),
    );
    let ctx = logs(&[&d1, &d2]);
    d2.start();
    wait_for(
        "d2 becomes master alone",
        10 * S,
        || d2.has_addr("eth0", "10.254.15.100/32"),
        &ctx,
    );
    d1.start();
    holds_for(
        "d2 stays master although d1 has the higher priority",
        6 * S,
        || d2.has_addr("eth0", "10.254.15.100/32") && !d1.has_addr("eth0", "10.254.15.100/32"),
        &ctx,
    );
    assert!(d1.status().contains("BACKUP priority 100"), "{}", ctx());
}

#[test]
fn script_user_notify_timeout_track_interface_and_track_file_weights() {
    if skip() {
        return;
    }
    let lan = Lan::new("lvtr", 16, 1);
    let dir = &lan.dir;
    // The script user must be able to write here.
    common::sh(&format!("chmod 1777 {}", dir.display()));
    let out = dir.join("out");
    let value = dir.join("value");
    std::fs::write(&value, "0\n").unwrap();
    common::sh(&format!(
        "ip -n {d} link add trk0 type veth peer name trk1
         ip -n {d} link set trk1 up
         ip -n {d} link set trk0 up",
        d = lan.d(1)
    ));
    let extra = format!(
        "track_interface = trk0 weight -30
track_file = {} weight -5
notify_backup = /bin/sleep 30
notify = /bin/sh -c 'echo \"$(id -u) $*\" >> {}' sh",
        value.display(),
        out.display()
    );
    let mut d1 = lan.lvsd(
        1,
        &ini(
            "script_user = nobody\nnotify_timeout = 1",
            &instance("VI_1", 51, 100, "10.254.16.100", &extra),
        ),
    );
    let ctx = logs(&[&d1]);
    d1.start();
    // notify_backup hangs: it is killed after notify_timeout (1 s) and the
    // generic notify runs after it, as the script user.
    wait_for(
        "the generic notify runs once the hung notify_backup is killed",
        8 * S,
        || std::fs::read_to_string(&out).is_ok_and(|t| !t.is_empty()),
        &ctx,
    );
    let nobody = String::from_utf8(
        std::process::Command::new("id")
            .args(["-u", "nobody"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let first = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        first.lines().next().unwrap(),
        format!("{} INSTANCE VI_1 BACKUP 100", nobody.trim()),
        "{}",
        ctx()
    );
    wait_for(
        "the notifier reports the timed-out command",
        5 * S,
        || d1.status().contains("notify: ran 2 failed 1"),
        &ctx,
    );
    wait_for(
        "master",
        10 * S,
        || d1.has_addr("eth0", "10.254.16.100/32"),
        &ctx,
    );
    // Carrier loss (the veth peer goes down): trk0 is up but not running.
    common::sh(&format!("ip -n {} link set trk1 down", lan.d(1)));
    wait_for(
        "track_interface down subtracts 30",
        5 * S,
        || d1.status().contains("MASTER priority 70 (configured 100)"),
        &ctx,
    );
    std::fs::write(&value, "4\n").unwrap();
    wait_for(
        "track_file 4 x -5 subtracts 20 more",
        5 * S,
        || d1.status().contains("MASTER priority 50 (configured 100)"),
        &ctx,
    );
    common::sh(&format!("ip -n {} link set trk1 up", lan.d(1)));
    std::fs::write(&value, "0\n").unwrap();
    wait_for(
        "all clear: back to 100",
        5 * S,
        || d1.status().contains("MASTER priority 100 (configured 100)"),
        &ctx,
    );
}

#[test]
fn script_security_refuses_a_world_writable_notify_script() {
    if skip() {
        return;
    }
    let lan = Lan::new("lvss", 17, 1);
    let script = lan.dir.join("notify.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut d1 = lan.lvsd(
        1,
        &ini(
            "enable_script_security = yes",
            &instance(
                "VI_1",
                51,
                100,
                "10.254.17.100",
                &format!("notify_master = {}", script.display()),
            ),
        ),
    );
    d1.start();
    let ctx = logs(&[&d1]);
    wait_for(
        "lvsd refuses to start",
        5 * S,
        || d1.logs().contains("enable_script_security"),
        &ctx,
    );
    let log = d1.logs();
    assert!(
        log.contains(&format!(
            "vrrp_instance VI_1: enable_script_security: notify_master: {} is writable by group or others",
            script.display()
        )),
        "{log}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(!d1.has_addr("eth0", "10.254.17.100/32"));
}

/// `dont_track_primary`: a master whose own interface goes down stays MASTER (no
/// FAULT), as keepalived does with the same keyword; keepalived runs beside lvsd,
/// each alone on its director (different VRIDs), and neither may enter FAULT.
#[test]
fn dont_track_primary_ignores_the_own_link() {
    if skip() {
        return;
    }
    let have_keepalived = std::process::Command::new("keepalived")
        .arg("--version")
        .output()
        .is_ok();
    if !common::require_or_skip(have_keepalived, "keepalived (apt package keepalived)") {
        return;
    }
    let lan = Lan::new("lvdt", 18, 2);
    let mut d1 = lan.lvsd(
        1,
        &ini(
            "",
            &instance("VI_1", 61, 100, "10.254.18.100", "dont_track_primary = yes"),
        ),
    );
    let mut k2 = lan.keepalived(
        2,
        "vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    dont_track_primary
    virtual_router_id 62
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.254.18.101/32
    }
}
",
    );
    let ctx = logs(&[&d1, &k2]);
    d1.start();
    k2.start();
    wait_for(
        "lvsd becomes master",
        10 * S,
        || d1.status().contains("VI_1 vrid 61 on eth0: MASTER"),
        &ctx,
    );
    wait_for(
        "keepalived becomes master",
        10 * S,
        || k2.logs().contains("Entering MASTER STATE"),
        &ctx,
    );
    common::sh(&format!(
        "ip -n {} link set eth0 down; ip -n {} link set eth0 down",
        lan.d(1),
        lan.d(2)
    ));
    holds_for(
        "lvsd stays MASTER with its link down",
        3 * S,
        || d1.status().contains("VI_1 vrid 61 on eth0: MASTER"),
        &ctx,
    );
    assert!(!d1.logs().contains("Entering FAULT STATE"), "{}", ctx());
    assert!(!k2.logs().contains("Entering FAULT STATE"), "{}", ctx());
}
