//! The control socket: a unix stream socket where `lvsd status` (and later
//! other operator commands) send one request line and read the answer.
//!
//! Operator requests are rare and not part of the steady-state loop, so the
//! answers are built in ordinary `Vec`s.

use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mio::net::{UnixListener, UnixStream};

/// Longest request line accepted.
pub const REQUEST_MAX: usize = 256;

/// The listening side, owned by the daemon.
pub struct ControlListener {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlListener {
    /// Binds the socket at `path` (mode 0600), replacing a stale socket file
    /// left by a crashed run but refusing to steal one a live daemon answers on.
    pub fn bind(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
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
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
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

/// One control connection: collects the request line, then drains the answer.
pub struct ControlConn {
    stream: UnixStream,
    request: Vec<u8>,
    answer: Vec<u8>,
    written: usize,
    answered: bool,
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
    /// Wraps an accepted stream.
    pub fn new(stream: UnixStream) -> Self {
        ControlConn {
            stream,
            request: Vec::with_capacity(REQUEST_MAX),
            answer: Vec::new(),
            written: 0,
            answered: false,
        }
    }

    /// The mio source to register.
    pub fn source(&mut self) -> &mut UnixStream {
        &mut self.stream
    }

    /// Reads what is there; returns the request once a full line arrived.
    pub fn on_readable(&mut self) -> ConnState {
        if self.answered {
            return self.flush();
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
