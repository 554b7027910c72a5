//! Runs check and notify scripts: own process group, clean signal state, a
//! minimal environment, no inherited fds, never a blocking wait, and every
//! child reaped.
//!
//! The child starts with an empty signal mask and default dispositions, in a new
//! process group, with every fd above 2 close-on-exec, stdin/stdout/stderr on
//! /dev/null (output discarded, so a chatty script can never fill a pipe and
//! stall), the environment of [`SCRIPT_ENV`] only, optionally as another
//! uid/gid. Its end is seen through a pidfd (register `raw_fd()` with mio;
//! readable when it exits) or, on kernels without pidfd, by calling `try_reap`
//! at `poll_at()`. On timeout the whole group gets SIGTERM, then SIGKILL after
//! a grace period; when the script ends, what is left of its group (children it
//! forked and left behind) is killed too.
//!
//! Every child lvsd starts is in one process-wide table of at most
//! `limits::MAX_CHILDREN` entries: a start beyond it fails with an error that
//! [`is_full`] recognises (the caller queues it). A `ChildProcess` dropped while
//! its script still runs (a reload replaced the checks, a stop) kills the group
//! and leaves the pid in the table as an orphan; [`reap`], called on SIGCHLD,
//! collects orphans and every other ended child, so no zombie is ever left.
//! The daemon starts no child any other way (no `std::process::Command::status`
//! elsewhere), so reaping with `P_ALL` never steals another waiter's status.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::limits::MAX_CHILDREN;
use crate::script::ChildEnd;

/// How long a script gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(1);
/// How often `try_reap` should run when no pidfd is available.
pub const REAP_POLL: Duration = Duration::from_millis(100);

/// The whole environment a script gets (documented in docs/operations.md).
/// The daemon's own environment (whatever the supervisor or an operator's
/// shell had) never reaches a script.
pub const SCRIPT_ENV: [(&str, &str); 4] = [
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/"),
    ("LANG", "C"),
    ("SHELL", "/bin/sh"),
];

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct ScriptSpec<'a> {
    /// Program and arguments (already split; no shell).
    pub argv: &'a [&'a OsStr],
    /// Run as this uid/gid (the script user), when set.
    pub user: Option<(u32, u32)>,
    /// Time allowed before the group is killed.
    pub timeout: Duration,
}

/// The error payload of a start refused because `MAX_CHILDREN` run already.
#[derive(Debug)]
struct TableFull;

impl std::fmt::Display for TableFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{MAX_CHILDREN} child processes run already (limits::MAX_CHILDREN)"
        )
    }
}

impl std::error::Error for TableFull {}

/// True when `spawn` failed only because `MAX_CHILDREN` children run: the
/// start should wait in the caller's queue and be tried again after a reap.
pub fn is_full(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<TableFull>())
}

/// What the table knows about one child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// A `ChildProcess` owns it and will collect its end.
    Owned(libc::pid_t),
    /// Reaped by [`reap`] before its owner looked: the wait status.
    Ended(libc::pid_t, libc::c_int),
    /// Its `ChildProcess` is gone; killed, waiting to be reaped.
    Orphan(libc::pid_t),
}

impl Entry {
    fn pid(self) -> libc::pid_t {
        match self {
            Entry::Owned(p) | Entry::Ended(p, _) | Entry::Orphan(p) => p,
        }
    }
}

/// Every child of the process, at most `capacity` (fixed array, no allocation).
struct Table {
    entries: [Option<Entry>; MAX_CHILDREN],
    capacity: usize,
    /// Children reaped that no `ChildProcess` owned (orphans and strangers).
    reaped_orphans: u64,
}

impl Table {
    const fn new(capacity: usize) -> Table {
        Table {
            entries: [None; MAX_CHILDREN],
            capacity,
            reaped_orphans: 0,
        }
    }

    fn live(&self) -> usize {
        self.entries.iter().filter(|e| e.is_some()).count()
    }

    fn has_room(&self) -> bool {
        self.live() < self.capacity.min(MAX_CHILDREN)
    }

    fn find(&self, pid: libc::pid_t) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.is_some_and(|e| e.pid() == pid))
    }

    fn insert(&mut self, entry: Entry) -> bool {
        if !self.has_room() {
            return false;
        }
        match self.entries.iter_mut().find(|e| e.is_none()) {
            Some(slot) => {
                *slot = Some(entry);
                true
            }
            None => false,
        }
    }

    fn set(&mut self, pid: libc::pid_t, entry: Option<Entry>) {
        if let Some(i) = self.find(pid) {
            self.entries[i] = entry;
        }
    }

    /// Records a reaped child: an owner gets the status, an orphan is gone.
    fn record(&mut self, pid: libc::pid_t, status: libc::c_int) {
        match self.find(pid).and_then(|i| self.entries[i].map(|e| (i, e))) {
            Some((i, Entry::Owned(_))) => self.entries[i] = Some(Entry::Ended(pid, status)),
            Some((i, _)) => {
                self.entries[i] = None;
                self.reaped_orphans += 1;
            }
            None => self.reaped_orphans += 1,
        }
    }
}

static TABLE: Mutex<Table> = Mutex::new(Table::new(MAX_CHILDREN));

fn table() -> MutexGuard<'static, Table> {
    // A panic while holding the lock cannot leave the table half-written
    // (every change is one assignment), so a poisoned lock is still good.
    TABLE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Children running or waiting to be reaped.
pub fn live_children() -> usize {
    table().live()
}

/// Children reaped that no owner was waiting for (killed on reload or stop).
pub fn reaped_orphans() -> u64 {
    table().reaped_orphans
}

/// Peeks (without reaping) whether `pid` (or any child, for -1) has ended,
/// and returns its pid.
fn peek_ended(pid: libc::pid_t) -> Option<libc::pid_t> {
    let (idtype, id) = if pid < 0 {
        (libc::P_ALL, 0)
    } else {
        (libc::P_PID, libc::id_t::try_from(pid).unwrap_or(0))
    };
    // SAFETY: waitid on our own children with a zeroed siginfo owned by this frame.
    unsafe {
        let mut info: libc::siginfo_t = core::mem::zeroed();
        let r = libc::waitid(
            idtype,
            id,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        (r == 0 && info.si_pid() != 0).then(|| info.si_pid())
    }
}

/// Kills what is left of an ended child's group, then reaps the child.
/// Call only after `peek_ended` saw it end: while the leader is an unreaped
/// zombie its pid, and so its group id, cannot be reused, so the group kill is safe.
fn kill_group_and_reap(pid: libc::pid_t) -> Option<libc::c_int> {
    // SAFETY: killpg only sends a signal to the script's own group (pgid = pid).
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid with WNOHANG on our own child, known to have exited; status is a local.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (r == pid).then_some(status)
}

/// Reaps every ended child (call on SIGCHLD; never blocks). Owned children
/// keep their status for their `ChildProcess`; orphans leave the table.
/// Returns how many were reaped.
pub fn reap() -> usize {
    let mut t = table();
    let mut n = 0;
    // Bounded: at most every child we have, plus strangers (a child of a
    // script re-parented to us when we are a subreaper).
    for _ in 0..MAX_CHILDREN * 2 {
        let Some(pid) = peek_ended(-1) else { break };
        let known = t.find(pid).and_then(|i| t.entries[i]);
        if matches!(known, Some(Entry::Ended(..))) {
            break; // cannot happen: an Ended child is no longer waitable
        }
        let status = if known.is_some() {
            kill_group_and_reap(pid)
        } else {
            let mut status: libc::c_int = 0;
            // SAFETY: waitpid with WNOHANG on a child that has ended; status is a local.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            (r == pid).then_some(status)
        };
        match status {
            Some(status) => {
                t.record(pid, status);
                n += 1;
            }
            None => break,
        }
    }
    n
}

/// At stop: kills every child's group and reaps them all, waiting at most
/// `limit` (SIGKILL cannot be caught, so this is quick). Returns how many
/// were still there when the limit passed.
pub fn kill_all_and_reap(limit: Duration) -> usize {
    let end = Instant::now() + limit;
    {
        let t = table();
        for e in t.entries.iter().flatten() {
            if let Entry::Owned(pid) | Entry::Orphan(pid) = e {
                // SAFETY: killpg only sends a signal to a script's own group;
                // the pid is an unreaped child of ours, so the group id is its.
                unsafe {
                    libc::killpg(*pid, libc::SIGKILL);
                }
            }
        }
    }
    loop {
        reap();
        let left = {
            let mut t = table();
            // Ended entries of owners that will never look again are done.
            for e in t.entries.iter_mut() {
                if matches!(e, Some(Entry::Ended(..))) {
                    *e = None;
                }
            }
            t.live()
        };
        if left == 0 || Instant::now() >= end {
            return left;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A running script.
#[derive(Debug)]
pub struct ChildProcess {
    pid: libc::pid_t,
    pidfd: Option<OwnedFd>,
    deadline: Instant,
    kill_at: Option<Instant>,
    ended: Option<ChildEnd>,
}

/// Sets the child's signal state and fds; runs between fork and exec.
fn child_setup() -> io::Result<()> {
    // SAFETY: only async-signal-safe calls (sigemptyset, sigprocmask, raw
    // syscalls) on memory owned by this stack frame, as required after fork.
    unsafe {
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, core::ptr::null_mut());
        // Raw rt_sigaction, so that glibc's reserved signals (32, 33) are reset too:
        // an all-zero kernel sigaction is SIG_DFL, no flags, empty mask.
        let default_action = [0usize; 4];
        for sig in 1..=64 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    default_action.as_ptr(),
                    core::ptr::null_mut::<usize>(),
                    8usize,
                );
            }
        }
        // Every fd above stderr closes at exec, whatever flags it was opened with.
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
    Ok(())
}

fn wait_status_end(status: libc::c_int, killed: bool) -> ChildEnd {
    if killed {
        ChildEnd::TimedOut
    } else if libc::WIFEXITED(status) {
        ChildEnd::Exited(u8::try_from(libc::WEXITSTATUS(status)).unwrap_or(u8::MAX))
    } else if libc::WIFSIGNALED(status) {
        ChildEnd::Signaled(libc::WTERMSIG(status))
    } else {
        ChildEnd::SpawnFailed
    }
}

impl ChildProcess {
    /// Starts the script at `now`. Fails with an error that [`is_full`]
    /// recognises when `MAX_CHILDREN` children run already.
    pub fn spawn(spec: &ScriptSpec<'_>, now: Instant) -> io::Result<Self> {
        let (program, args) = spec
            .argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command line"))?;
        // Held over the fork so that the entry goes in before anyone reaps.
        let mut t = table();
        if !t.has_room() {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, TableFull));
        }
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(SCRIPT_ENV)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        if let Some((uid, gid)) = spec.user {
            cmd.uid(uid).gid(gid);
        }
        // SAFETY: child_setup only makes async-signal-safe calls.
        unsafe {
            cmd.pre_exec(child_setup);
        }
        let child = cmd.spawn()?;
        let pid =
            libc::pid_t::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
        // std's Child is dropped without waiting: we reap with waitpid ourselves.
        drop(child);
        t.insert(Entry::Owned(pid));
        drop(t);
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1;
        // the fd is owned by nobody else.
        let pidfd = unsafe {
            let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
            if fd >= 0 {
                RawFd::try_from(fd).ok().map(|fd| OwnedFd::from_raw_fd(fd))
            } else {
                None
            }
        };
        Ok(ChildProcess {
            pid,
            pidfd,
            deadline: now + spec.timeout,
            kill_at: None,
            ended: None,
        })
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// A pidfd to register for reading (readable when the script exits), if the kernel has them.
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.pidfd.as_ref().map(|f| f.as_raw_fd())
    }

    /// How the script ended, once reaped.
    pub fn ended(&self) -> Option<ChildEnd> {
        self.ended
    }

    /// When to call `handle_timeout` (deadline, kill, or the reap poll without pidfd).
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        if self.ended.is_some() {
            return None;
        }
        let at = self.kill_at.unwrap_or(self.deadline);
        Some(if self.pidfd.is_none() {
            at.min(now + REAP_POLL)
        } else {
            at
        })
    }

    fn signal_group(&self, signal: libc::c_int) {
        // SAFETY: killpg only sends a signal; the group is the script's own
        // (process_group(0) made pgid = pid), never ours, and the child is
        // not reaped yet (we only signal before `ended` is set).
        unsafe {
            libc::killpg(self.pid, signal);
        }
    }

    /// Reaps the script if it has ended (never blocks).
    pub fn try_reap(&mut self) -> Option<ChildEnd> {
        if self.ended.is_some() {
            return self.ended;
        }
        let mut t = table();
        let status = match t.find(self.pid).and_then(|i| t.entries[i]) {
            // SIGCHLD's reaper got there first.
            Some(Entry::Ended(_, status)) => Some(status),
            _ => peek_ended(self.pid).and_then(kill_group_and_reap),
        };
        let status = status?;
        t.set(self.pid, None);
        drop(t);
        let end = wait_status_end(status, self.kill_at.is_some());
        self.ended = Some(end);
        self.pidfd = None;
        Some(end)
    }

    /// Reaps, or signals the group when its time is up: SIGTERM at the deadline, SIGKILL after KILL_GRACE.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<ChildEnd> {
        if let Some(end) = self.try_reap() {
            return Some(end);
        }
        match self.kill_at {
            None if now >= self.deadline => {
                self.signal_group(libc::SIGTERM);
                self.kill_at = Some(now + KILL_GRACE);
            }
            Some(at) if now >= at => {
                self.signal_group(libc::SIGKILL);
                self.kill_at = Some(now + KILL_GRACE);
            }
            _ => {}
        }
        None
    }
}

impl Drop for ChildProcess {
    /// A script still running is killed with its group; [`reap`] collects it
    /// on the SIGCHLD that follows (it was reaped once and never again before).
    fn drop(&mut self) {
        if self.ended.is_some() {
            return;
        }
        self.signal_group(libc::SIGKILL);
        if self.try_reap().is_none() {
            table().set(self.pid, Some(Entry::Orphan(self.pid)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &str) -> ChildEnd {
        let argv = [OsStr::new("/bin/sh"), OsStr::new("-c"), OsStr::new(script)];
        let spec = ScriptSpec {
            argv: &argv,
            user: None,
            timeout: Duration::from_secs(5),
        };
        let mut c = ChildProcess::spawn(&spec, Instant::now()).unwrap();
        let t = Instant::now();
        loop {
            if let Some(e) = c.handle_timeout(Instant::now()) {
                return e;
            }
            assert!(t.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn child_gets_empty_mask_default_signals_and_no_inherited_fds() {
        // SAFETY: test-only; blocks SIGUSR2 and ignores SIGUSR1 in this thread/process,
        // makes an fd without CLOEXEC, and restores/closes them afterwards.
        let (fd, old_handler) = unsafe {
            let mut set: libc::sigset_t = core::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR2);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, core::ptr::null_mut());
            let old = libc::signal(libc::SIGUSR1, libc::SIG_IGN);
            (libc::dup(2), old)
        };
        assert!(fd > 2);
        let script = format!(
            "awk '/^SigBlk/ {{ b = $2 }} /^SigIgn/ {{ i = $2 }} END {{ exit !(b ~ /^0+$/ && i ~ /^0+$/) }}' /proc/self/status && test ! -e /proc/$$/fd/{fd}"
        );
        let end = run(&script);
        // SAFETY: undoes the changes above.
        unsafe {
            libc::close(fd);
            libc::signal(libc::SIGUSR1, old_handler);
            let mut set: libc::sigset_t = core::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR2);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut());
        }
        assert_eq!(end, ChildEnd::Exited(0));
    }

    #[test]
    fn child_gets_only_the_documented_environment() {
        std::env::set_var("LVSD_SECRET_FOR_TEST", "x");
        // The shell adds PWD itself (from the working directory, "/").
        let end = run(
            "test \"$(env | sort | tr '\\n' ' ')\" = 'HOME=/ LANG=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PWD=/ SHELL=/bin/sh '",
        );
        assert_eq!(end, ChildEnd::Exited(0));
    }

    #[test]
    fn the_table_admits_up_to_its_capacity_and_keeps_statuses_for_owners() {
        let mut t = Table::new(2);
        assert!(t.insert(Entry::Owned(10)));
        assert!(t.insert(Entry::Orphan(11)));
        assert!(!t.has_room());
        assert!(!t.insert(Entry::Owned(12)), "a third start must wait");
        // An orphan reaped frees its slot; an owner's status is kept.
        t.record(11, 0);
        assert_eq!(t.reaped_orphans, 1);
        assert!(t.has_room());
        t.record(10, 256);
        assert_eq!(
            t.find(10).and_then(|i| t.entries[i]),
            Some(Entry::Ended(10, 256))
        );
        assert_eq!(t.live(), 1, "an ended owner holds its slot until collected");
        t.set(10, None);
        assert_eq!(t.live(), 0);
        // A stranger (not in the table) is reaped and counted.
        t.record(99, 0);
        assert_eq!(t.reaped_orphans, 2);
        let full = io::Error::new(io::ErrorKind::WouldBlock, TableFull);
        assert!(is_full(&full));
        assert!(!is_full(&io::Error::from(io::ErrorKind::WouldBlock)));
    }
}
