//! Running a command and measuring its wall time and peak resident memory
//! (wait4's rusage), for the benchmarks.

use std::io;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// What one measured run gave.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// How the command ended.
    pub status: ExitStatus,
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// Peak resident set size of the child, in KiB.
    pub max_rss_kib: u64,
}

/// Runs `cmd` to its end (output discarded by the caller's settings).
pub fn run(cmd: &mut Command) -> io::Result<Measured> {
    use std::os::unix::process::ExitStatusExt;
    let start = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; all-zero is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (Child is dropped without
    // waiting); `status` and `usage` are valid for writes.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    drop(child);
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Measured {
        status: ExitStatus::from_raw(status),
        wall,
        max_rss_kib: usage.ru_maxrss.max(0) as u64,
    })
}
