//! Network namespaces for tests and lab tools: running code inside a named one (`ip netns`
//! style) or moving the calling thread into a new, empty one.

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

/// Moves the calling thread into a new, empty network namespace (only `lo`, down). For
/// tests and lab tools; needs CAP_SYS_ADMIN. The namespace goes away with its last user.
pub fn unshare_network_namespace() -> io::Result<()> {
    // SAFETY: unshare takes flags only; CLONE_NEWNET affects just the calling thread.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
