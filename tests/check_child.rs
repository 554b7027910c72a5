//! MISC_CHECK scripts through io::child: exit codes, timeouts, leftover children, output floods, pidfd wake-ups.

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use lvsd::check::misc::{misc_outcome, ChildEnd};
use lvsd::check::probe::{FailReason, Outcome};
use lvsd::io::child::{ChildProcess, ScriptSpec, KILL_GRACE};

fn spawn(script: &str, timeout: Duration) -> ChildProcess {
    let argv = [OsStr::new("/bin/sh"), OsStr::new("-c"), OsStr::new(script)];
    let spec = ScriptSpec {
        argv: &argv,
        user: None,
        timeout,
    };
    ChildProcess::spawn(&spec, Instant::now()).unwrap()
}

/// Waits like the daemon: on the pidfd with mio, else at poll_at.
fn wait(mut c: ChildProcess) -> (ChildEnd, Duration) {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};
    let start = Instant::now();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(2);
    if let Some(fd) = c.raw_fd() {
        poll.registry()
            .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
            .unwrap();
    }
    loop {
        if let Some(end) = c.handle_timeout(Instant::now()) {
            return (end, start.elapsed());
        }
        let timeout = c
            .poll_at(Instant::now())
            .map(|at| at.saturating_duration_since(Instant::now()));
        let _ = poll.poll(&mut events, timeout);
        assert!(start.elapsed() < Duration::from_secs(20), "wedged");
    }
}

fn group_alive(pgid: i32) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("kill -0 -- -{pgid} 2>/dev/null")])
        .status()
        .unwrap()
        .success()
}

#[test]
fn exit_codes_map_to_verdicts() {
    let long = Duration::from_secs(5);
    assert_eq!(wait(spawn("exit 0", long)).0, ChildEnd::Exited(0));
    let (end, _) = wait(spawn("exit 1", long));
    assert_eq!(
        misc_outcome(end, true),
        Outcome::Down(FailReason::ExitCode(1))
    );
    let (end, _) = wait(spawn("exit 200", long));
    assert_eq!(misc_outcome(end, true), Outcome::Up { weight: Some(198) });
    let (end, _) = wait(spawn("kill -USR1 $$", long));
    assert_eq!(end, ChildEnd::Signaled(libc::SIGUSR1));
}

#[test]
fn timeout_kills_the_group_with_term_then_kill() {
    let (end, took) = wait(spawn("sleep 30", Duration::from_millis(300)));
    assert_eq!(end, ChildEnd::TimedOut);
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(misc_outcome(end, true), Outcome::Down(FailReason::Timeout));

    // A script that ignores SIGTERM dies by SIGKILL after the grace period.
    let c = spawn(
        "trap '' TERM; while :; do sleep 0.05; done",
        Duration::from_millis(200),
    );
    let pgid = c.pid();
    let (end, took) = wait(c);
    assert_eq!(end, ChildEnd::TimedOut);
    assert!(took >= KILL_GRACE && took < KILL_GRACE * 4, "{took:?}");
    assert!(!group_alive(pgid));
}

#[test]
fn children_left_behind_are_killed() {
    let c = spawn("sleep 30 & sleep 30 & exit 0", Duration::from_secs(5));
    let pgid = c.pid();
    let (end, took) = wait(c);
    assert_eq!(end, ChildEnd::Exited(0));
    assert!(took < Duration::from_secs(2));
    std::thread::sleep(Duration::from_millis(100));
    assert!(!group_alive(pgid), "leftover children still running");
}

#[test]
fn lots_of_output_never_stalls() {
    let (end, took) = wait(spawn(
        "head -c 20000000 /dev/zero; head -c 5000000 /dev/zero >&2; exit 0",
        Duration::from_secs(10),
    ));
    assert_eq!(end, ChildEnd::Exited(0));
    assert!(took < Duration::from_secs(5));
}

#[test]
fn missing_program_fails_to_spawn() {
    let argv = [OsStr::new("/nonexistent/lvsd-check-script")];
    let spec = ScriptSpec {
        argv: &argv,
        user: None,
        timeout: Duration::from_secs(1),
    };
    assert!(ChildProcess::spawn(&spec, Instant::now()).is_err());
    let spec = ScriptSpec {
        argv: &[],
        user: None,
        timeout: Duration::from_secs(1),
    };
    assert!(ChildProcess::spawn(&spec, Instant::now()).is_err());
}
