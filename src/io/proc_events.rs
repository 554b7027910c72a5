//! The process-events socket (NETLINK_CONNECTOR, CN_IDX_PROC) and the /proc
//! reads of `vrrp_track_process`: no policy, no allocation after opening.
//!
//! The kernel sends process events only to sockets of the initial network
//! and user namespaces, and only after a subscribe from a holder of
//! CAP_NET_ADMIN; elsewhere the subscribe fails (ECONNREFUSED inside a
//! network namespace, or an ack with EPERM) and the daemon falls back to
//! rescanning /proc.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::limits::PROC_EVENTS_RCVBUF;
use crate::wire::netlink::connector::{self, ProcEvent, CN_IDX_PROC};

/// What one read of the socket gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// An event.
    Event(ProcEvent),
    /// A datagram that is not an event for us (not from the kernel, or not
    /// a process event): skipped.
    Ignored,
    /// Nothing queued.
    Empty,
    /// The receive queue overflowed and events were lost (ENOBUFS).
    Overrun,
}

/// A nonblocking, subscribed process-events socket.
#[derive(Debug)]
pub struct ProcEvents {
    fd: OwnedFd,
    buf: [u8; 256],
}

impl AsRawFd for ProcEvents {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A NETLINK_CONNECTOR socket bound to CN_IDX_PROC, nonblocking, with
/// the receive buffer set; `flags` adds SOCK_CLOEXEC or not.
fn bound_socket(flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the result is checked before use.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | flags,
            libc::NETLINK_CONNECTOR,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a socket we just opened and nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_nl = unsafe { core::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_groups = CN_IDX_PROC;
    let len = core::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: `addr` is a valid sockaddr_nl of `len` bytes for the duration of the call.
    if unsafe { libc::bind(raw, (&addr as *const libc::sockaddr_nl).cast(), len) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // A fork bomb must overflow into ENOBUFS (then a rescan), not into
    // a queue that takes seconds to read: a bounded, generous buffer.
    let bytes = PROC_EVENTS_RCVBUF as libc::c_int;
    if crate::io::sockopt::set_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes).is_err() {
        let _ = crate::io::sockopt::set_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, bytes);
    }
    Ok(fd)
}

/// For tests and supervisors that start lvsd inside another network
/// namespace: a bound, unsubscribed connector socket opened here (where the
/// kernel's process events reach it) that a child inherits (no
/// close-on-exec); lvsd takes it with `LVSD_TEST_HOOKS=proc_events_fd=N`.
pub fn open_inheritable() -> io::Result<OwnedFd> {
    bound_socket(0)
}

impl ProcEvents {
    /// Opens the socket, joins CN_IDX_PROC and sends the subscribe message.
    /// The kernel's answer (an [`ProcEvent::Ack`]) arrives as the first event.
    pub fn open() -> io::Result<ProcEvents> {
        let fd = bound_socket(libc::SOCK_CLOEXEC)?;
        let events = ProcEvents { fd, buf: [0; 256] };
        events.send_listen(true)?;
        Ok(events)
    }

    /// Takes over an inherited process-events socket (opened, bound to
    /// CN_IDX_PROC, in the initial network namespace by whoever started
    /// lvsd inside another one) and subscribes it. Refused unless `fd` is a
    /// NETLINK_CONNECTOR socket; lvsd owns it from then on.
    pub fn from_inherited(fd: RawFd) -> io::Result<ProcEvents> {
        let get = |name: libc::c_int| -> io::Result<libc::c_int> {
            let mut value: libc::c_int = 0;
            let mut len = core::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: `value` and `len` are live and sized; a bad fd is an error.
            let rc = unsafe {
                libc::getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    name,
                    (&mut value as *mut libc::c_int).cast(),
                    &mut len,
                )
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(value)
        };
        if get(libc::SO_DOMAIN)? != libc::AF_NETLINK
            || get(libc::SO_PROTOCOL)? != libc::NETLINK_CONNECTOR
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("fd {fd} is not a NETLINK_CONNECTOR socket"),
            ));
        }
        // SAFETY: an inherited socket (checked above) that nothing else in
        // this process uses: the daemon takes it once, at start.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: fcntl on the fd we own; only its flags change.
        unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0
            {
                return Err(io::Error::last_os_error());
            }
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
        }
        let events = ProcEvents { fd, buf: [0; 256] };
        events.send_listen(true)?;
        Ok(events)
    }

    /// Sets the receive buffer (tests provoke ENOBUFS with a small one).
    pub fn set_receive_buffer(&self, bytes: usize) -> io::Result<()> {
        let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        crate::io::sockopt::set_int(
            self.fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            bytes,
        )
        .or_else(|_| {
            crate::io::sockopt::set_int(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                bytes,
            )
        })
    }

    fn send_listen(&self, listen: bool) -> io::Result<()> {
        let msg = connector::listen_message(listen, 0);
        loop {
            // SAFETY: `msg` is a live buffer of the given length.
            let rc = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    msg.as_ptr().cast(),
                    msg.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if rc >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Reads one datagram.
    pub fn recv(&mut self) -> io::Result<Received> {
        loop {
            // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
            let mut from: libc::sockaddr_nl = unsafe { core::mem::zeroed() };
            let mut from_len = core::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            // SAFETY: `buf` and `from` are live buffers of the lengths given.
            let rc = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_DONTWAIT,
                    (&mut from as *mut libc::sockaddr_nl).cast(),
                    &mut from_len,
                )
            };
            if rc < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => return Ok(Received::Empty),
                    Some(libc::ENOBUFS) => return Ok(Received::Overrun),
                    _ => return Err(e),
                }
            }
            // Only the kernel (port 0) speaks for the processes.
            if from.nl_pid != 0 {
                return Ok(Received::Ignored);
            }
            let n = (rc as usize).min(self.buf.len());
            return Ok(match connector::parse_event(&self.buf[..n]) {
                Ok(ev) => Received::Event(ev),
                Err(_) => Received::Ignored,
            });
        }
    }
}

impl Drop for ProcEvents {
    fn drop(&mut self) {
        let _ = self.send_listen(false);
    }
}

/// Reads /proc/PID/stat (name and state) and, when `cmdline` is given,
/// /proc/PID/cmdline into it. Returns the name's bytes in `stat` and the
/// command line's length, or `None` for a process that is gone, a zombie
/// or unreadable.
pub fn read_process<'s>(
    pid: u32,
    stat: &'s mut [u8; 512],
    cmdline: Option<&mut [u8]>,
) -> Option<(&'s [u8], usize)> {
    let mut path = [0u8; 32];
    let n = proc_path(&mut path, pid, b"stat")?;
    let len = read_into(&path[..n], stat)?;
    let text = &stat[..len];
    // "PID (comm) S ...": comm may hold spaces and ')', so take the last ')'.
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    if close <= open || text.get(close + 2) == Some(&b'Z') {
        return None;
    }
    let cmd_len = match cmdline {
        Some(buf) => {
            let n = proc_path(&mut path, pid, b"cmdline")?;
            read_into(&path[..n], buf)?
        }
        None => 0,
    };
    Some((&stat[open + 1..close], cmd_len))
}

/// Writes "/proc/PID/FILE" into `out`; its length.
fn proc_path(out: &mut [u8; 32], pid: u32, file: &[u8]) -> Option<usize> {
    let mut digits = [0u8; 10];
    let mut n = pid;
    let mut d = digits.len();
    loop {
        d -= 1;
        digits[d] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let parts: [&[u8]; 4] = [b"/proc/", &digits[d..], b"/", file];
    let mut len = 0;
    for part in parts {
        out.get_mut(len..len + part.len())?.copy_from_slice(part);
        len += part.len();
    }
    Some(len)
}

/// One read of up to `buf.len()` bytes (the kernel produces these files in
/// one go); no allocation: the path goes through std's stack buffer.
fn read_into(path: &[u8], buf: &mut [u8]) -> Option<usize> {
    let mut file = File::open(Path::new(OsStr::from_bytes(path))).ok()?;
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    Some(len)
}

/// The process ids in /proc, read with getdents64 into a buffer allocated
/// once, a few at a time.
#[derive(Debug)]
pub struct ProcDir {
    fd: OwnedFd,
    buf: Box<[u8; 8192]>,
    len: usize,
    at: usize,
    done: bool,
}

impl ProcDir {
    /// Opens /proc for a new scan.
    pub fn open() -> io::Result<ProcDir> {
        let file = File::open("/proc")?;
        Ok(ProcDir {
            fd: OwnedFd::from(file),
            buf: Box::new([0; 8192]),
            len: 0,
            at: 0,
            done: false,
        })
    }

    /// The next process id, `Ok(None)` at the end.
    pub fn next_pid(&mut self) -> io::Result<Option<u32>> {
        loop {
            if self.at >= self.len {
                if self.done {
                    return Ok(None);
                }
                // SAFETY: getdents64 writes at most `buf.len()` bytes into
                // the buffer we own, for the directory fd we hold.
                let rc = unsafe {
                    libc::syscall(
                        libc::SYS_getdents64,
                        self.fd.as_raw_fd(),
                        self.buf.as_mut_ptr(),
                        self.buf.len(),
                    )
                };
                if rc < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(e);
                }
                if rc == 0 {
                    self.done = true;
                    return Ok(None);
                }
                self.len = (rc as usize).min(self.buf.len());
                self.at = 0;
            }
            // struct linux_dirent64: ino u64, off i64, reclen u16, type u8, name.
            let rec = &self.buf[self.at..self.len];
            let reclen = rec
                .get(16..18)
                .map_or(0, |b| u16::from_ne_bytes([b[0], b[1]]) as usize);
            if reclen < 20 || reclen > rec.len() {
                self.at = self.len;
                self.done = true;
                return Ok(None);
            }
            self.at += reclen;
            let name = &rec[19..reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
                continue;
            }
            let pid = name.iter().try_fold(0u32, |n, &b| {
                n.checked_mul(10)?.checked_add(u32::from(b - b'0'))
            });
            if let Some(pid) = pid.filter(|&p| p != 0) {
                return Ok(Some(pid));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_reads_and_lists() {
        let me = std::process::id();
        let mut stat = [0u8; 512];
        let mut cmd = [0u8; 512];
        let (comm, len) = read_process(me, &mut stat, Some(&mut cmd)).unwrap();
        let want = std::fs::read_to_string("/proc/self/comm").unwrap();
        assert_eq!(comm, want.trim_end().as_bytes());
        assert!(
            len > 0 && cmd[..len].contains(&0),
            "cmdline is NUL-separated"
        );
        assert!(read_process(u32::MAX, &mut stat, None).is_none());
        let mut dir = ProcDir::open().unwrap();
        let mut pids = Vec::new();
        while let Some(pid) = dir.next_pid().unwrap() {
            pids.push(pid);
        }
        assert!(
            pids.contains(&me) && pids.contains(&1),
            "{} pids",
            pids.len()
        );
    }

    /// Root in the initial namespaces only: the connector reports a child's
    /// fork, exec and exit.
    #[test]
    fn connector_reports_a_child() {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let mut events = match ProcEvents::open() {
            Ok(e) if root => e,
            other => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "connector_reports_a_child needs root in the initial namespaces, and \
                     CI=true makes that a failure (root {root}: {other:?})"
                );
                eprintln!("SKIP connector_reports_a_child: needs root in the initial namespaces ({other:?})");
                return;
            }
        };
        let child = std::process::Command::new("/bin/sleep")
            .arg("0.1")
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut child = child;
        child.wait().unwrap();
        let (mut acked, mut forked, mut execed, mut exited) = (false, false, false, false);
        let end = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while !(acked && forked && execed && exited) && std::time::Instant::now() < end {
            match events.recv().unwrap() {
                Received::Event(ProcEvent::Ack { err }) => {
                    assert_eq!(err, 0);
                    acked = true;
                }
                Received::Event(ProcEvent::Fork { child_tgid, .. }) if child_tgid == pid => {
                    forked = true
                }
                Received::Event(ProcEvent::Exec { tgid, .. }) if tgid == pid => execed = true,
                Received::Event(ProcEvent::Exit { tgid, .. }) if tgid == pid => exited = true,
                Received::Empty => std::thread::sleep(std::time::Duration::from_millis(5)),
                _ => {}
            }
        }
        assert!(
            acked && forked && execed && exited,
            "ack {acked} fork {forked} exec {execed} exit {exited}"
        );
    }
}
