//! Runs check and notify scripts: own process group, clean signal state, no inherited fds, never a blocking wait.
//!
//! The child starts with an empty signal mask and default dispositions, in a new
//! process group, with every fd above 2 close-on-exec, stdin/stdout/stderr on
//! /dev/null (output discarded, so a chatty script can never fill a pipe and
//! stall), optionally as another uid/gid. Its end is seen through a pidfd (register
//! `raw_fd()` with mio; readable when it exits) or, on kernels without pidfd, by
//! calling `try_reap` at `poll_at()`. On timeout the whole group gets SIGTERM, then
//! SIGKILL after a grace period; when the script ends, what is left of its group
//! (children it forked and left behind) is killed too.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::check::misc::ChildEnd;

/// How long a script gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(1);
/// How often `try_reap` should run when no pidfd is available.
pub const REAP_POLL: Duration = Duration::from_millis(100);

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

impl ChildProcess {
    /// Starts the script at `now`.
    pub fn spawn(spec: &ScriptSpec<'_>, now: Instant) -> io::Result<Self> {
        let (program, args) = spec
            .argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command line"))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
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
        // (process_group(0) made pgid = pid), never ours.
        unsafe {
            libc::killpg(self.pid, signal);
        }
    }

    /// Reaps the script if it has ended (never blocks).
    pub fn try_reap(&mut self) -> Option<ChildEnd> {
        if self.ended.is_some() {
            return self.ended;
        }
        // Peek first (WNOWAIT): while the leader is an unreaped zombie its pid, and
        // so its group id, cannot be reused, so the group kill below is safe.
        // SAFETY: waitid on our own child with a zeroed siginfo owned by this frame.
        let exited = unsafe {
            let mut info: libc::siginfo_t = core::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                libc::id_t::try_from(self.pid).unwrap_or(0),
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            r == 0 && info.si_pid() != 0
        };
        if !exited {
            return None;
        }
        // Leftovers the script forked into its group go with it.
        self.signal_group(libc::SIGKILL);
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid with WNOHANG on our own child, known to have exited; status is a local.
        let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        let end = if r <= 0 {
            ChildEnd::SpawnFailed
        } else if self.kill_at.is_some() {
            ChildEnd::TimedOut
        } else if libc::WIFEXITED(status) {
            ChildEnd::Exited(u8::try_from(libc::WEXITSTATUS(status)).unwrap_or(u8::MAX))
        } else if libc::WIFSIGNALED(status) {
            ChildEnd::Signaled(libc::WTERMSIG(status))
        } else {
            ChildEnd::SpawnFailed
        };
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
    fn drop(&mut self) {
        if self.ended.is_none() {
            self.signal_group(libc::SIGKILL);
            let _ = self.try_reap();
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
}
