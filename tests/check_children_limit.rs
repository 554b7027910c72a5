//! limits::MAX_CHILDREN is enforced: with more MISC_CHECK scripts due at once
//! than child slots, the excess waits in a queue (counted), starts as
//! children are reaped, and every probe still runs. Its own test binary: the
//! child table is process-wide.

use std::fmt::Write;
use std::time::{Duration, Instant};

use lvsd::daemon::checks::Checks;
use lvsd::io::child;
use lvsd::limits::MAX_CHILDREN;

/// Processes whose parent is this test process (counted in /proc, not in
/// lvsd's own table).
fn my_children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    == Some(me.as_str())
            })
        })
        .count()
}

#[test]
fn scripts_beyond_max_children_wait_and_all_run() {
    let total = MAX_CHILDREN + 20;
    let per_vs = 50;
    let mut text = String::new();
    for v in 0..total.div_ceil(per_vs) {
        let _ = write!(
            text,
            "[virtual_server vs{v}]\naddress = 127.0.1.{}\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n\n",
            v + 1
        );
        for r in 0..per_vs.min(total - v * per_vs) {
            let _ = write!(
                text,
                "[real_server vs{v}/127.0.2.{}:{}]\n\n[misc_check vs{v}/127.0.2.{}:{}]\nmisc_path = \"/bin/sleep 0.3\"\nmisc_timeout = 10\nwarmup = 0\ndelay_loop = 60\n\n",
                v + 1,
                1000 + r,
                v + 1,
                1000 + r
            );
        }
    }
    let cfg = lvsd::config::load_bytes(text.as_bytes(), "limit.ini").unwrap();
    let poll = mio::Poll::new().unwrap();
    let registry = poll.registry();
    let mut checks = Checks::setup(&cfg, Instant::now(), &|_, _| None).unwrap();
    assert_eq!(checks.len(), total);
    let started = Instant::now();
    let mut most = 0;
    while checks.probes_run < total as u64 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "only {} of {total} probes ran; waits {}",
            checks.probes_run,
            checks.child_waits
        );
        let now = Instant::now();
        for i in 0..checks.len() {
            if checks.poll_at(i, now).is_some_and(|at| at <= now) {
                checks.on_timer(now, i, registry);
            } else {
                // What a readable pidfd does in the daemon.
                checks.on_ready(now, i, registry);
            }
        }
        most = most.max(my_children());
        // What SIGCHLD does in the daemon.
        child::reap();
        checks.on_children_reaped(Instant::now(), registry);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(most <= MAX_CHILDREN, "{most} children at once");
    assert!(
        most >= MAX_CHILDREN - 10,
        "the limit was never reached ({most}): the test proves nothing"
    );
    assert!(
        checks.child_waits >= 20,
        "waits counted: {}",
        checks.child_waits
    );
    checks.stop();
    assert_eq!(child::kill_all_and_reap(Duration::from_secs(2)), 0);
}
