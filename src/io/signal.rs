//! Signals as events: SIGTERM/SIGINT (stop), SIGHUP (reload) and SIGCHLD
//! (a child ended) are blocked and read from a signalfd in the event loop.
//!
//! Because the mask is blocked in the daemon, every child process must reset
//! it before exec: [`reset_in_child`] does that and is called from each
//! spawn's pre-exec hook.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// What a signal asks the daemon to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalEvent {
    /// SIGTERM or SIGINT: orderly stop.
    Stop,
    /// SIGHUP: reload the configuration.
    Reload,
    /// SIGCHLD: reap children.
    Child,
    /// Any other signal number (not expected; logged).
    Other(i32),
}

const HANDLED: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGCHLD];

fn handled_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it fully before
    // sigaddset is called with valid signal numbers.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in HANDLED {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// A signalfd for the handled signals, which are blocked in the calling thread.
pub struct Signals {
    fd: OwnedFd,
}

impl Signals {
    /// Blocks SIGTERM, SIGINT, SIGHUP and SIGCHLD and opens a signalfd for them.
    /// Call before any other thread exists (lvsd has none).
    pub fn new() -> io::Result<Self> {
        let set = handled_set();
        // SAFETY: `set` is an initialised sigset_t; the old-set pointer may be null.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: -1 asks for a new fd; `set` is initialised; flags are valid.
        let raw = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Signals { fd })
    }

    /// Reads one pending signal, or `None` when there is none left.
    pub fn read(&self) -> io::Result<Option<SignalEvent>> {
        // SAFETY: signalfd_siginfo is plain data; all-zero is a valid value.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: `info` is valid for `size` writable bytes; the fd is ours.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock => Ok(None),
                io::ErrorKind::Interrupted => Ok(None),
                _ => Err(err),
            };
        }
        if n as usize != size {
            return Ok(None);
        }
        let sig = info.ssi_signo as i32;
        Ok(Some(match sig {
            libc::SIGTERM | libc::SIGINT => SignalEvent::Stop,
            libc::SIGHUP => SignalEvent::Reload,
            libc::SIGCHLD => SignalEvent::Child,
            other => SignalEvent::Other(other),
        }))
    }
}

impl AsRawFd for Signals {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Unblocks every signal and restores default dispositions for the handled
/// ones. Async-signal-safe: meant for a child between fork and exec.
pub fn reset_in_child() -> io::Result<()> {
    // SAFETY: sigemptyset initialises `empty`; pthread_sigmask and signal are
    // async-signal-safe and get valid arguments.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        if libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        for sig in HANDLED {
            libc::signal(sig, libc::SIG_DFL);
        }
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    Ok(())
}
