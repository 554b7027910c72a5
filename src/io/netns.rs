//! Running code inside a named network namespace (`ip netns` style), for the
//! real-server helper's tests and the root-only integration tests.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Runs `f` on a fresh thread that has joined network namespace `name`
/// (/run/netns/NAME). Sockets `f` opens belong to that namespace.
pub fn run_in<T, F>(name: &str, f: F) -> io::Result<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let path = format!("/run/netns/{name}");
    let file = File::open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("network namespace {path}: {e}")))?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                // SAFETY: setns on a namespace fd we hold open; it only changes
                // this (new, scoped) thread's network namespace.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                if rc < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(f())
            })
            .join()
            .map_err(|_| io::Error::other("thread in network namespace panicked"))?
    })
}
