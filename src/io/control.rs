//! The control socket's access and IO layer: a unix stream socket where
//! `lvsd status` (and the other operator commands) send one request line and
//! read the answer. What a request means is decided by the daemon, not here.
//!
//! - The socket is created with its final mode and group (umask and fsgid
//!   set around `bind`), so there is never a moment with wider permissions;
//!   a parent directory that lvsd creates gets 0700 (0750 with a group).
//! - Every peer is checked with SO_PEERCRED; its uid goes with its request.
//! - At most `limits::MAX_CONTROL_CONNS` clients at once. A client that has
//!   not sent its request line within [`IDLE_TIMEOUT`], or does not read its
//!   answer within [`ANSWER_TIMEOUT`], is dropped; when every slot is taken,
//!   the oldest idle client (first those that sent nothing, then those not
//!   reading their answer) makes room for the new one. Idle clients can
//!   never lock an operator out.
//!
//! Operator requests are rare and not part of the steady-state loop, so the
//! answers are built in ordinary `Vec`s.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::warn;
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry};

use crate::io::event_loop::Source;
use crate::limits::MAX_CONTROL_CONNS;

/// Longest request line accepted.
pub const REQUEST_MAX: usize = 256;
/// A client must send its request line within this time.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(2);
/// A client must read its answer within this time (counted from the answer).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections accepted per wake-up; the rest wait for the next turn (a
/// timer due at once), so a connection flood cannot hold the loop.
pub const ACCEPT_BUDGET: usize = 32;

/// Who is at the other end of a connection (SO_PEERCRED at accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Process id.
    pub pid: i32,
    /// User id: commands are logged with it.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// The credentials of the peer of a connected unix socket.
fn peer_of(fd: &impl AsRawFd) -> io::Result<Peer> {
    // SAFETY: ucred is plain data (all-zero is valid); getsockopt writes at
    // most `len` bytes into it and updates `len`.
    unsafe {
        let mut cred: libc::ucred = core::mem::zeroed();
        let mut len = core::mem::size_of::<libc::ucred>() as libc::socklen_t;
        let r = libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        );
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Peer {
            pid: cred.pid,
            uid: cred.uid,
            gid: cred.gid,
        })
    }
}

/// Who may use the socket: root and lvsd's own uid always; the socket's
/// group when the mode gives it read/write (its gid as the primary group, or
/// a listed member); anyone when the mode gives others read/write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Permission bits of the socket file.
    pub mode: u32,
    /// The socket file's group.
    pub gid: u32,
    /// Users listed as members of that group.
    pub group_uids: Vec<u32>,
    /// lvsd's own effective uid.
    pub own_uid: u32,
}

impl Access {
    /// The default: mode 0600, only root and lvsd's own uid.
    pub fn owner_only() -> Access {
        // SAFETY: geteuid/getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Access {
            mode: 0o600,
            gid,
            group_uids: Vec::new(),
            own_uid: uid,
        }
    }

    /// Whether `peer` may send commands.
    pub fn allows(&self, peer: &Peer) -> bool {
        if peer.uid == 0 || peer.uid == self.own_uid {
            return true;
        }
        if self.mode & 0o060 == 0o060
            && (peer.gid == self.gid || self.group_uids.contains(&peer.uid))
        {
            return true;
        }
        self.mode & 0o006 == 0o006
    }
}

/// Sets the umask and the filesystem gid for one `bind`, and puts them back.
struct CreationCredentials {
    old_umask: libc::mode_t,
    old_fsgid: Option<u32>,
}

impl CreationCredentials {
    fn set(mode: u32, gid: Option<u32>) -> CreationCredentials {
        // SAFETY: umask only changes this process's file creation mask (lvsd
        // has one thread, and this runs at setup).
        let old_umask = unsafe { libc::umask((!mode & 0o777) as libc::mode_t) };
        let old_fsgid = gid.map(|g| {
            // SAFETY: setfsgid changes the gid new files get; it returns the
            // previous one whether or not the change was allowed.
            unsafe { libc::syscall(libc::SYS_setfsgid, g) as u32 }
        });
        CreationCredentials {
            old_umask,
            old_fsgid,
        }
    }
}

impl Drop for CreationCredentials {
    fn drop(&mut self) {
        // SAFETY: restores what `set` changed.
        unsafe {
            libc::umask(self.old_umask);
            if let Some(g) = self.old_fsgid {
                libc::syscall(libc::SYS_setfsgid, g);
            }
        }
    }
}

/// The listening side, owned by the daemon.
pub struct ControlListener {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlListener {
    /// Binds the socket at `path` with `mode` and, when given, group `gid`,
    /// replacing a stale socket file left by a crashed run but refusing to
    /// steal one a live daemon answers on. A missing parent directory is
    /// created 0700 (0750 with a group).
    pub fn bind(path: &Path, mode: u32, gid: Option<u32>) -> io::Result<Self> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                let dir_mode = if gid.is_some() { 0o750 } else { 0o700 };
                let _creds = CreationCredentials::set(dir_mode, gid);
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(dir_mode)
                    .create(dir)?;
            }
        }
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "{}: another lvsd answers on this control socket",
                        path.display()
                    ),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let listener = {
            let _creds = CreationCredentials::set(mode, gid);
            UnixListener::bind(path)?
        };
        let meta = std::fs::metadata(path)?;
        if let Some(g) = gid {
            if meta.gid() != g {
                // fsgid was not ours to set (lvsd not root): hand the file to
                // the group, which only narrows who may connect.
                std::os::unix::fs::chown(path, None, Some(g))?;
            }
        }
        let meta = std::fs::metadata(path)?;
        if meta.mode() & 0o777 != mode || gid.is_some_and(|g| meta.gid() != g) {
            let _ = std::fs::remove_file(path);
            return Err(io::Error::other(WrongOwnership {
                path: path.to_owned(),
                mode: meta.mode() & 0o777,
                gid: meta.gid(),
                want_mode: mode,
                want_gid: gid,
            }));
        }
        Ok(ControlListener {
            listener,
            path: path.to_owned(),
        })
    }

    /// The mio source to register.
    pub fn source(&mut self) -> &mut UnixListener {
        &mut self.listener
    }

    /// Accepts one pending connection, if any.
    pub fn accept(&self) -> io::Result<Option<UnixStream>> {
        match self.listener.accept() {
            Ok((stream, _)) => Ok(Some(stream)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Drop for ControlListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The control socket came out with another mode or group than asked (the
/// umask or a filesystem that ignores fchmod); it is removed again.
#[derive(Debug)]
pub struct WrongOwnership {
    /// The socket's path.
    pub path: std::path::PathBuf,
    /// Its mode and group as created.
    pub mode: u32,
    /// Its group as created.
    pub gid: u32,
    /// What was asked.
    pub want_mode: u32,
    /// The group asked for, if any.
    pub want_gid: Option<u32>,
}

impl std::fmt::Display for WrongOwnership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: created with mode {:o} group {} instead of {:o} {:?}",
            self.path.display(),
            self.mode,
            self.gid,
            self.want_mode,
            self.want_gid
        )
    }
}

impl std::error::Error for WrongOwnership {}

/// One control connection: collects the request line, then drains the answer.
pub struct ControlConn {
    stream: UnixStream,
    peer: Peer,
    request: Vec<u8>,
    answer: Vec<u8>,
    written: usize,
    answered: bool,
    /// The daemon holds the request (its answer is put off): never idle.
    held: bool,
    /// When the current phase (request, answer) started.
    since: Instant,
}

/// What a connection wants after an event.
#[derive(Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Still reading the request.
    Reading,
    /// The request line is complete; the daemon must call `answer`.
    Request(String),
    /// Writing the answer; wait for writability.
    Writing,
    /// Done or broken: deregister and drop.
    Closed,
}

impl ControlConn {
    /// Wraps an accepted stream from `peer`.
    pub fn new(stream: UnixStream, peer: Peer, now: Instant) -> Self {
        ControlConn {
            stream,
            peer,
            request: Vec::with_capacity(REQUEST_MAX),
            answer: Vec::new(),
            written: 0,
            answered: false,
            held: false,
            since: now,
        }
    }

    /// The mio source to register.
    pub fn source(&mut self) -> &mut UnixStream {
        &mut self.stream
    }

    /// Who sent the request.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// When this connection is dropped for idling (None while held).
    fn deadline(&self) -> Option<Instant> {
        if self.held {
            return None;
        }
        Some(if self.answered {
            self.since + ANSWER_TIMEOUT
        } else {
            self.since + IDLE_TIMEOUT
        })
    }

    /// Reads what is there; returns the request once a full line arrived.
    pub fn on_readable(&mut self) -> ConnState {
        if self.answered {
            return self.flush();
        }
        if self.held {
            return ConnState::Reading;
        }
        let mut buf = [0u8; 128];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return self.line_or_closed(),
                Ok(n) => {
                    self.request.extend_from_slice(&buf[..n]);
                    if self.request.contains(&b'\n') {
                        return self.line_or_closed();
                    }
                    if self.request.len() > REQUEST_MAX {
                        self.set_answer(b"error: request longer than 256 bytes\n".to_vec());
                        return self.flush();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ConnState::Reading,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return ConnState::Closed,
            }
        }
    }

    fn line_or_closed(&mut self) -> ConnState {
        let end = self
            .request
            .iter()
            .position(|b| *b == b'\n')
            .unwrap_or(self.request.len());
        if end == 0 && self.request.is_empty() {
            return ConnState::Closed;
        }
        match std::str::from_utf8(&self.request[..end]) {
            Ok(line) => ConnState::Request(line.trim().to_owned()),
            Err(_) => {
                self.set_answer(b"error: request is not UTF-8\n".to_vec());
                self.flush()
            }
        }
    }

    /// Sets the answer and starts writing it.
    pub fn answer(&mut self, text: Vec<u8>) -> ConnState {
        self.set_answer(text);
        self.flush()
    }

    fn set_answer(&mut self, text: Vec<u8>) {
        self.answer = text;
        self.written = 0;
        self.answered = true;
        self.held = false;
    }

    /// Writes what the socket takes.
    pub fn flush(&mut self) -> ConnState {
        while self.written < self.answer.len() {
            match self.stream.write(&self.answer[self.written..]) {
                Ok(0) => return ConnState::Closed,
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ConnState::Writing,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return ConnState::Closed,
            }
        }
        ConnState::Closed
    }
}

/// A complete request line and who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The connection slot to answer on.
    pub slot: usize,
    /// The line, trimmed.
    pub line: String,
    /// The peer's credentials (log commands with `peer.uid`).
    pub peer: Peer,
}

/// Counters of the control socket, for `lvsd status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ControlCounters {
    /// Connections accepted (and allowed).
    pub accepted: u64,
    /// Connections refused by the SO_PEERCRED check.
    pub refused: u64,
    /// Idle clients dropped to make room for a new one.
    pub evicted: u64,
    /// Clients dropped after IDLE_TIMEOUT / ANSWER_TIMEOUT.
    pub timed_out: u64,
    /// New clients turned away because every slot held a request being answered.
    pub full: u64,
}

/// The listener and its connections: access checks, slots, timeouts.
pub struct ControlServer {
    listener: ControlListener,
    access: Access,
    conns: Vec<Option<ControlConn>>,
    /// The accept budget ran out at this time: accept again in the next turn.
    accept_again: Option<Instant>,
    /// What happened so far.
    pub counters: ControlCounters,
}

impl ControlServer {
    /// Serves `listener` with the `access` rules.
    pub fn new(listener: ControlListener, access: Access) -> ControlServer {
        let mut conns = Vec::with_capacity(MAX_CONTROL_CONNS);
        conns.resize_with(MAX_CONTROL_CONNS, || None);
        ControlServer {
            listener,
            access,
            conns,
            accept_again: None,
            counters: ControlCounters::default(),
        }
    }

    /// Registers the listening socket.
    pub fn register(&mut self, registry: &Registry) -> io::Result<()> {
        registry.register(
            self.listener.source(),
            Source::ControlListener.token(),
            Interest::READABLE,
        )
    }

    /// Clients connected now.
    pub fn clients(&self) -> usize {
        self.conns.iter().filter(|c| c.is_some()).count()
    }

    /// The peer on `slot`, if connected.
    pub fn peer(&self, slot: usize) -> Option<Peer> {
        self.conns.get(slot)?.as_ref().map(ControlConn::peer)
    }

    fn close(&mut self, slot: usize, registry: &Registry) {
        if let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) {
            let _ = registry.deregister(conn.source());
        }
    }

    /// A free slot, or the slot of the oldest idle client, which is dropped:
    /// first those still waiting for their request line, then those not
    /// reading their answer. None only when every client's answer is being
    /// prepared (held), which lasts at most until the next VRRP timer.
    fn make_room(&mut self, registry: &Registry) -> Option<usize> {
        if let Some(free) = self.conns.iter().position(Option::is_none) {
            return Some(free);
        }
        let oldest = self
            .conns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
            .filter(|(_, c)| !c.held)
            .min_by_key(|(_, c)| (c.answered, c.since))
            .map(|(i, _)| i)?;
        self.counters.evicted += 1;
        if self.counters.evicted.is_power_of_two() {
            warn!(
                "control: every slot taken; dropped the oldest idle client ({} so far)",
                self.counters.evicted
            );
        }
        self.close(oldest, registry);
        Some(oldest)
    }

    /// The listener is readable: accepts pending connections (at most
    /// [`ACCEPT_BUDGET`] this turn), checks each peer and gives it a slot.
    pub fn on_listener(&mut self, now: Instant, registry: &Registry) {
        self.accept_again = None;
        for _ in 0..ACCEPT_BUDGET {
            let stream = match self.listener.accept() {
                Ok(Some(s)) => s,
                Ok(None) => return,
                Err(e) => {
                    warn!("control: accept: {e}");
                    return;
                }
            };
            let peer = match peer_of(&stream) {
                Ok(p) => p,
                Err(e) => {
                    warn!("control: SO_PEERCRED: {e}; connection closed");
                    continue;
                }
            };
            if !self.access.allows(&peer) {
                self.counters.refused += 1;
                if self.counters.refused.is_power_of_two() {
                    warn!(
                        "control: uid {} gid {} (pid {}) may not use the control socket; refused ({} so far)",
                        peer.uid, peer.gid, peer.pid, self.counters.refused
                    );
                }
                continue;
            }
            let Some(slot) = self.make_room(registry) else {
                self.counters.full += 1;
                if self.counters.full.is_power_of_two() {
                    warn!(
                        "control: all {MAX_CONTROL_CONNS} clients are being answered; refused one ({} so far)",
                        self.counters.full
                    );
                }
                continue;
            };
            let mut conn = ControlConn::new(stream, peer, now);
            match registry.register(
                conn.source(),
                Source::ControlConn(slot).token(),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                Ok(()) => {
                    self.counters.accepted += 1;
                    self.conns[slot] = Some(conn);
                }
                Err(e) => warn!("control: registering a client: {e}"),
            }
        }
        // Budget spent: more may wait, and edge-triggered readiness will not
        // say so again.
        self.accept_again = Some(now);
    }

    /// Connection `slot` is ready: returns its request once complete.
    pub fn on_conn(&mut self, slot: usize, registry: &Registry) -> Option<Request> {
        let conn = self.conns.get_mut(slot)?.as_mut()?;
        match conn.on_readable() {
            ConnState::Request(line) => Some(Request {
                slot,
                line,
                peer: conn.peer,
            }),
            ConnState::Closed => {
                self.close(slot, registry);
                None
            }
            ConnState::Reading | ConnState::Writing => None,
        }
    }

    /// The answer to `slot`'s request is put off (for example behind a VRRP
    /// timer): the connection is neither idle nor evicted until `answer`.
    pub fn hold(&mut self, slot: usize) {
        if let Some(Some(conn)) = self.conns.get_mut(slot) {
            conn.held = true;
        }
    }

    /// Answers `slot`'s request (the connection closes once it is written).
    pub fn answer(&mut self, slot: usize, text: Vec<u8>, now: Instant, registry: &Registry) {
        let Some(Some(conn)) = self.conns.get_mut(slot) else {
            return;
        };
        conn.since = now;
        if conn.answer(text) == ConnState::Closed {
            self.close(slot, registry);
        }
    }

    /// When to call `on_timer`: accepting again after a spent budget, or
    /// the next client that may have to be dropped for idling.
    pub fn poll_at(&self) -> Option<Instant> {
        let idle = self
            .conns
            .iter()
            .flatten()
            .filter_map(ControlConn::deadline)
            .min();
        match (self.accept_again, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Accepts what the last budget left, and drops every client past its deadline.
    pub fn on_timer(&mut self, now: Instant, registry: &Registry) {
        if self.accept_again.is_some() {
            self.on_listener(now, registry);
        }
        for slot in 0..self.conns.len() {
            let due = self.conns[slot]
                .as_ref()
                .and_then(ControlConn::deadline)
                .is_some_and(|d| d <= now);
            if due {
                self.counters.timed_out += 1;
                self.close(slot, registry);
            }
        }
    }
}

/// Client side (`lvsd status`): sends one request line, returns the answer.
pub fn request(path: &Path, line: &str, timeout: Duration) -> io::Result<String> {
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot reach the daemon at {}: {e} (is 'lvsd run' running?)",
                path.display()
            ),
        )
    })?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(line.as_bytes())?;
    stream.write_all(b"\n")?;
    let mut out = String::new();
    stream.read_to_string(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_rules() {
        let peer = |uid, gid| Peer { pid: 1, uid, gid };
        let mut a = Access {
            mode: 0o600,
            gid: 990,
            group_uids: vec![1001],
            own_uid: 0,
        };
        assert!(a.allows(&peer(0, 0)));
        assert!(!a.allows(&peer(1000, 990)), "0600: the group has no access");
        a.mode = 0o660;
        assert!(a.allows(&peer(1000, 990)), "primary group");
        assert!(a.allows(&peer(1001, 100)), "listed member");
        assert!(!a.allows(&peer(1002, 100)));
        a.mode = 0o666;
        assert!(a.allows(&peer(1002, 100)));
        a.mode = 0o600;
        a.own_uid = 1005;
        assert!(a.allows(&peer(1005, 1005)), "lvsd's own uid");
    }

    #[test]
    fn the_socket_is_born_with_its_mode() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("lvsd-ctl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub/lvsd.sock");
        // A wide umask must not matter.
        // SAFETY: test-only; restored below.
        let old = unsafe { libc::umask(0) };
        let l = ControlListener::bind(&path, 0o600, None).unwrap();
        // SAFETY: restores the umask.
        unsafe { libc::umask(old) };
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        let dmeta = std::fs::metadata(dir.join("sub")).unwrap();
        assert_eq!(dmeta.mode() & 0o777, 0o700, "a directory lvsd creates");
        // A live daemon's socket is not stolen.
        assert!(ControlListener::bind(&path, 0o600, None).is_err());
        drop(l);
        assert!(!path.exists());
        // SAFETY: getegid cannot fail.
        let gid = unsafe { libc::getegid() };
        let _l = ControlListener::bind(&path, 0o660, Some(gid)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!((meta.mode() & 0o777, meta.gid()), (0o660, gid));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_new_client_evicts_the_oldest_idle_one_never_a_held_one() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join(format!("lvsd-ctlsrv-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("s.sock");
        let listener = ControlListener::bind(&path, 0o600, None).unwrap();
        let poll = mio::Poll::new().unwrap();
        let registry = poll.registry();
        let mut server = ControlServer::new(listener, Access::owner_only());
        server.register(registry).unwrap();
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // Slot 0 asks for status and is held (its answer is put off).
        let mut first = std::os::unix::net::UnixStream::connect(&path).unwrap();
        server.on_listener(t0, registry);
        first.write_all(b"status\n").unwrap();
        let req = server.on_conn(0, registry).expect("a request");
        assert_eq!((req.slot, req.line.as_str()), (0, "status"));
        server.hold(0);
        // 15 silent clients fill the other slots, one millisecond apart.
        let mut silent = Vec::new();
        for n in 1..MAX_CONTROL_CONNS {
            silent.push(std::os::unix::net::UnixStream::connect(&path).unwrap());
            server.on_listener(t0 + ms(n as u64), registry);
        }
        assert_eq!(server.clients(), MAX_CONTROL_CONNS);
        // A new one: the oldest silent client (slot 1) goes, not the held one.
        let _late = std::os::unix::net::UnixStream::connect(&path).unwrap();
        server.on_listener(t0 + ms(100), registry);
        assert_eq!(server.counters.evicted, 1);
        assert_eq!(server.clients(), MAX_CONTROL_CONNS);
        assert!(server.peer(0).is_some(), "the held client stays");
        let mut buf = [0u8; 8];
        silent[0]
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        assert_eq!(silent[0].read(&mut buf).unwrap(), 0, "slot 1 was closed");
        // Idle deadlines: the held one has none; the others 2 s after arrival.
        assert_eq!(server.poll_at(), Some(t0 + ms(2) + IDLE_TIMEOUT));
        server.on_timer(t0 + ms(50) + IDLE_TIMEOUT, registry);
        assert_eq!(server.counters.timed_out, 14, "slots 2..=15 idled out");
        assert_eq!(server.clients(), 2, "the held client and the late one");
        // The held client gets its answer, then has ANSWER_TIMEOUT to read it.
        server.answer(0, b"ok\n".to_vec(), t0 + ms(60) + IDLE_TIMEOUT, registry);
        let mut answer = String::new();
        first.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "ok\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
