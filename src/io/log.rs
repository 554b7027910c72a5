//! The daemon's logger: `log` records to stderr or to syslog (/dev/log), as
//! text or logfmt, through a bounded buffer that is written nonblocking.
//!
//! Logging never blocks the loop and never allocates: a line is formatted
//! into a fixed stack buffer and appended to a fixed buffer of
//! [`LOG_BUFFER`] bytes; the buffer is written at once as far as the sink
//! takes it without waiting, and the rest at the next [`flush`] (the event
//! loop calls it every turn). A line that finds the buffer full is dropped and
//! counted ([`dropped`], shown by `lvsd status`). stderr is written through
//! its own nonblocking open file description (a pipe to a supervisor that
//! stops reading cannot stall lvsd); syslog gets one nonblocking datagram per
//! line.

use std::fmt::Write as _;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::sync::{Mutex, MutexGuard};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Longest log line; longer ones are cut and end in "...".
const LINE_MAX: usize = 1024;
/// Bytes of log lines waiting for a slow sink.
pub const LOG_BUFFER: usize = 64 * 1024;
/// The syslog socket.
const DEV_LOG: &str = "/dev/log";

/// Where lines go and how they are written: the config layer's types, so
/// that `[global] log_target` / `log_format` and `--log` need no mapping.
pub use crate::config::{LogFormat as Format, LogTarget as Target};

/// Where and how to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The sink.
    pub target: Target,
    /// The syslog facility code (daemon = 3, local0..7 = 16..23).
    pub facility: u8,
    /// Text or logfmt.
    pub format: Format,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            target: Target::Stderr,
            facility: 3,
            format: Format::Text,
        }
    }
}

enum Sink {
    /// stderr: a regular file is written on fd 2 itself (it cannot make us
    /// wait for a reader); anything else through its own nonblocking
    /// descriptor, or `send(MSG_DONTWAIT)` for a socket.
    Stderr {
        fd: Option<OwnedFd>,
        socket: bool,
    },
    Syslog(Option<UnixDatagram>),
}

/// Records waiting to be written: `[len_hi, len_lo, bytes...]` one after
/// the other in a buffer of LOG_BUFFER bytes allocated once at `init` (a
/// static array would sit in the binary's data).
struct Queue {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Bytes of the first record already written (stderr, partial write).
    partial: usize,
}

impl Queue {
    fn new() -> Queue {
        Queue {
            buf: vec![0; LOG_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            partial: 0,
        }
    }

    fn push(&mut self, line: &[u8]) -> bool {
        let need = line.len() + 2;
        if LOG_BUFFER - self.end < need {
            if LOG_BUFFER - (self.end - self.start) < need {
                return false;
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let len = line.len() as u16;
        self.buf[self.end..self.end + 2].copy_from_slice(&len.to_be_bytes());
        self.buf[self.end + 2..self.end + need].copy_from_slice(line);
        self.end += need;
        true
    }

    fn front(&self) -> Option<&[u8]> {
        if self.start == self.end {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([
            self.buf[self.start],
            self.buf[self.start + 1],
        ]));
        self.buf.get(self.start + 2..self.start + 2 + len)
    }

    fn pop(&mut self) {
        if let Some(len) = self.front().map(<[u8]>::len) {
            self.start += 2 + len;
            self.partial = 0;
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            }
        }
    }
}

struct State {
    sink: Sink,
    settings: Settings,
    queue: Option<Queue>,
    dropped: u64,
    /// Lines given up because the sink failed (not only slow).
    failed: u64,
    /// `lvsd run --syslog`: syslog whatever `log_target` says.
    syslog_from_command_line: bool,
}

struct Logger {
    level: LevelFilter,
}

static STATE: Mutex<State> = Mutex::new(State {
    sink: Sink::Stderr {
        fd: None,
        socket: false,
    },
    settings: Settings {
        target: Target::Stderr,
        facility: 3,
        format: Format::Text,
    },
    queue: None,
    dropped: 0,
    failed: 0,
    syslog_from_command_line: false,
});

static LOGGER_DEBUG: Logger = Logger {
    level: LevelFilter::Debug,
};
static LOGGER_INFO: Logger = Logger {
    level: LevelFilter::Info,
};

fn state() -> MutexGuard<'static, State> {
    // Every change to the state is complete before a panic could happen.
    STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Opens stderr for nonblocking writes without changing fd 2's own flags
/// (which the supervisor or a terminal shares).
fn open_stderr() -> Sink {
    // SAFETY: fstat on fd 2 into a zeroed stat owned by this frame.
    let mode = unsafe {
        let mut st: libc::stat = core::mem::zeroed();
        if libc::fstat(2, &mut st) != 0 {
            return Sink::Stderr {
                fd: None,
                socket: false,
            };
        }
        st.st_mode & libc::S_IFMT
    };
    match mode {
        libc::S_IFREG => Sink::Stderr {
            fd: None,
            socket: false,
        },
        libc::S_IFSOCK => Sink::Stderr {
            fd: None,
            socket: true,
        },
        _ => {
            // A new open file description of the same pipe or terminal.
            // SAFETY: open with a NUL-terminated path; the fd is ours.
            let fd = unsafe {
                libc::open(
                    c"/proc/self/fd/2".as_ptr(),
                    libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_APPEND,
                )
            };
            if fd >= 0 {
                // SAFETY: a fresh descriptor owned by nobody else.
                Sink::Stderr {
                    fd: Some(unsafe { OwnedFd::from_raw_fd(fd) }),
                    socket: false,
                }
            } else {
                // No /proc: fd 2 as it is (may block on a full pipe).
                Sink::Stderr {
                    fd: None,
                    socket: false,
                }
            }
        }
    }
}

fn open_syslog() -> Option<UnixDatagram> {
    let s = UnixDatagram::unbound().ok()?;
    s.set_nonblocking(true).ok()?;
    s.connect(DEV_LOG).ok()?;
    Some(s)
}

/// The syslog target was asked for and /dev/log does not answer.
#[derive(Debug)]
struct NoSyslogSocket;

impl std::fmt::Display for NoSyslogSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no syslog socket at {DEV_LOG}; lines wait and are dropped when the buffer fills"
        )
    }
}

impl std::error::Error for NoSyslogSocket {}

impl State {
    fn open(&mut self, settings: Settings) -> Result<(), NoSyslogSocket> {
        self.settings = settings;
        match settings.target {
            Target::Stderr => {
                self.sink = open_stderr();
                Ok(())
            }
            Target::Syslog => {
                let s = open_syslog();
                let ok = s.is_some();
                self.sink = Sink::Syslog(s);
                if ok {
                    Ok(())
                } else {
                    Err(NoSyslogSocket)
                }
            }
        }
    }

    /// Writes queued lines until the sink would block. Never waits.
    fn flush(&mut self) {
        let mut reconnected = false;
        let Some(queue) = self.queue.as_mut() else {
            return;
        };
        while let Some(line) = queue.front() {
            let result = match &self.sink {
                Sink::Stderr { fd, socket } => {
                    let raw = fd.as_ref().map_or(2, AsRawFd::as_raw_fd);
                    let rest = line.get(queue.partial..).unwrap_or(&[]);
                    // SAFETY: writes `rest`, which lives in the queue, to our fd.
                    let n = unsafe {
                        if *socket {
                            libc::send(
                                raw,
                                rest.as_ptr().cast(),
                                rest.len(),
                                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                            )
                        } else {
                            libc::write(raw, rest.as_ptr().cast(), rest.len())
                        }
                    };
                    if n < 0 {
                        Err(io::Error::last_os_error())
                    } else if n == 0 && !rest.is_empty() {
                        // Nothing taken: try again next turn, never spin.
                        Err(io::ErrorKind::WouldBlock.into())
                    } else if (n as usize) < rest.len() {
                        queue.partial += n as usize;
                        continue;
                    } else {
                        Ok(())
                    }
                }
                Sink::Syslog(Some(sock)) => sock.send(line).map(|_| ()),
                Sink::Syslog(None) => Err(io::ErrorKind::NotConnected.into()),
            };
            match result {
                Ok(()) => queue.pop(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if matches!(self.sink, Sink::Syslog(_)) && !reconnected => {
                    // syslogd restarted: one new connection per flush.
                    reconnected = true;
                    self.sink = Sink::Syslog(open_syslog());
                }
                Err(_) if matches!(self.sink, Sink::Syslog(None)) => return,
                Err(_) => {
                    // A broken sink: give the line up rather than wedge.
                    self.failed += 1;
                    queue.pop();
                }
            }
        }
    }
}

/// Tells stderr (once, without waiting) what cannot go to the configured sink.
fn stderr_now(text: &str) {
    let line = format!("lvsd warning: {text}\n");
    let sink = open_stderr();
    let fd = match &sink {
        Sink::Stderr { fd: Some(fd), .. } => fd.as_raw_fd(),
        _ => 2,
    };
    // SAFETY: one write of a local buffer; a short or failed write is accepted.
    unsafe {
        libc::write(fd, line.as_ptr().cast(), line.len());
    }
}

/// Installs the logger; `settings` until [`configure`] changes them (a
/// syslog target given here, `lvsd run --syslog`, stays).
pub fn init(settings: Settings, verbose: bool) {
    let logger = if verbose { &LOGGER_DEBUG } else { &LOGGER_INFO };
    let err = {
        let mut s = state();
        if s.queue.is_none() {
            s.queue = Some(Queue::new());
        }
        s.syslog_from_command_line = settings.target == Target::Syslog;
        s.open(settings).err()
    };
    if log::set_logger(logger).is_ok() {
        log::set_max_level(logger.level);
    }
    if let Some(e) = err {
        stderr_now(&e.to_string());
    }
}

/// Applies the configuration's settings (at start and on reload).
pub fn configure(mut settings: Settings) {
    let err = {
        let mut s = state();
        if s.syslog_from_command_line {
            settings.target = Target::Syslog;
        }
        if s.settings == settings {
            return;
        }
        s.flush();
        s.open(settings).err()
    };
    if let Some(e) = err {
        stderr_now(&e.to_string());
    }
}

/// Writes what the sink takes now, without waiting (the loop calls this every turn).
pub fn flush() {
    state().flush();
}

/// At exit: flushes, waiting at most `limit` for a slow sink.
pub fn flush_for(limit: std::time::Duration) {
    let end = std::time::Instant::now() + limit;
    loop {
        let empty = {
            let mut s = state();
            s.flush();
            s.queue.as_ref().and_then(Queue::front).is_none()
        };
        if empty || std::time::Instant::now() >= end {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Lines dropped because the buffer was full (the sink did not keep up) or the sink failed.
pub fn dropped() -> u64 {
    let s = state();
    s.dropped + s.failed
}

/// A `fmt::Write` into a fixed buffer that cuts instead of failing.
struct LineBuf {
    buf: heapless::String<LINE_MAX>,
    cut: bool,
}

impl std::fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for ch in s.chars() {
            if self.buf.push(ch).is_err() {
                self.cut = true;
                break;
            }
        }
        Ok(())
    }
}

/// Writes `s` as a logfmt value: bare when it has no space, quote, `=` or
/// control character, else quoted with `\"`, `\\` and `\n` escaped.
struct Quoted<'a>(&'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plain = !self.0.is_empty()
            && !self
                .0
                .chars()
                .any(|c| c == ' ' || c == '"' || c == '=' || c == '\\' || c.is_control());
        if plain {
            return f.write_str(self.0);
        }
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

fn format_line(
    settings: Settings,
    level: Level,
    message: &std::fmt::Arguments<'_>,
    fields: &[(&str, &dyn std::fmt::Display)],
) -> LineBuf {
    let mut line = LineBuf {
        buf: heapless::String::new(),
        cut: false,
    };
    if settings.target == Target::Syslog {
        let pri = u32::from(settings.facility) * 8 + u32::from(severity(level));
        let _ = write!(line, "<{pri}>lvsd[{}]: ", std::process::id());
    }
    match settings.format {
        Format::Text => {
            if settings.target == Target::Stderr {
                let _ = write!(line, "lvsd {}: ", level_word(level));
            }
            let _ = write!(line, "{message}");
        }
        Format::Logfmt => {
            let mut text = LineBuf {
                buf: heapless::String::new(),
                cut: false,
            };
            let _ = write!(text, "{message}");
            let _ = write!(
                line,
                "level={} msg={}",
                level_word(level),
                Quoted(&text.buf)
            );
            for (key, value) in fields {
                let mut v = LineBuf {
                    buf: heapless::String::new(),
                    cut: false,
                };
                let _ = write!(v, "{value}");
                let _ = write!(line, " {key}={}", Quoted(&v.buf));
            }
        }
    }
    if line.cut {
        while line.buf.len() > LINE_MAX - 4 {
            line.buf.pop();
        }
        let _ = line.buf.push_str("...");
    }
    if settings.target == Target::Stderr {
        let _ = line.buf.push('\n');
    }
    line
}

fn emit(
    level: Level,
    message: &std::fmt::Arguments<'_>,
    fields: &[(&str, &dyn std::fmt::Display)],
) {
    // Formatted without the lock: a Display that logs cannot deadlock.
    let settings = state().settings;
    let line = format_line(settings, level, message, fields);
    let bytes = line.buf.as_bytes();
    let mut s = state();
    let pushed = |s: &mut State| s.queue.as_mut().is_some_and(|q| q.push(bytes));
    if !pushed(&mut s) {
        // Make room by writing what the sink takes now, then try once more.
        s.flush();
        if !pushed(&mut s) {
            s.dropped += 1;
            return;
        }
    }
    s.flush();
}

/// Logs one event at `level` with `key=value` fields: text shows only the
/// message (which must say everything); logfmt adds the fields.
pub fn event(
    level: Level,
    message: std::fmt::Arguments<'_>,
    fields: &[(&str, &dyn std::fmt::Display)],
) {
    if level <= log::max_level() {
        emit(level, &message, fields);
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            emit(record.level(), record.args(), &[]);
        }
    }

    fn flush(&self) {
        flush();
    }
}

fn level_word(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

fn severity(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(settings: Settings, fields: &[(&str, &dyn std::fmt::Display)]) -> String {
        let name = "VI_1";
        format_line(
            settings,
            Level::Info,
            &format_args!("VRRP_Instance({name}) Entering MASTER STATE"),
            fields,
        )
        .buf
        .as_str()
        .to_owned()
    }

    #[test]
    fn formats() {
        let text = Settings::default();
        assert_eq!(
            line(text, &[("instance", &"VI_1")]),
            "lvsd info: VRRP_Instance(VI_1) Entering MASTER STATE\n"
        );
        let logfmt = Settings {
            format: Format::Logfmt,
            ..text
        };
        assert_eq!(
            line(logfmt, &[("instance", &"VI_1"), ("reason", &"no \"advert\"")]),
            "level=info msg=\"VRRP_Instance(VI_1) Entering MASTER STATE\" instance=VI_1 reason=\"no \\\"advert\\\"\"\n"
        );
        let syslog = Settings {
            target: Target::Syslog,
            facility: 16,
            format: Format::Text,
        };
        // local0 (16) * 8 + info (6) = 134.
        assert_eq!(
            line(syslog, &[]),
            format!(
                "<134>lvsd[{}]: VRRP_Instance(VI_1) Entering MASTER STATE",
                std::process::id()
            )
        );
    }

    #[test]
    fn the_queue_keeps_order_and_refuses_when_full() {
        let mut q = Queue::new();
        assert!(q.push(b"one"));
        assert!(q.push(b"two"));
        assert_eq!(q.front(), Some(&b"one"[..]));
        q.pop();
        assert_eq!(q.front(), Some(&b"two"[..]));
        q.pop();
        assert_eq!(q.front(), None);
        let big = [b'x'; 1000];
        let mut n = 0;
        while q.push(&big) {
            n += 1;
        }
        assert_eq!(n, LOG_BUFFER / 1002);
        // Popping one makes room again (the rest moves to the front).
        q.pop();
        assert!(q.push(&big));
        assert!(!q.push(&big));
    }

    #[test]
    fn syslog_datagrams_never_block_and_a_full_buffer_counts_drops() {
        let dir = std::env::temp_dir().join(format!("lvsd-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.set_nonblocking(true).unwrap();
        client.connect(&path).unwrap();
        let mut st = State {
            sink: Sink::Syslog(Some(client)),
            settings: Settings {
                target: Target::Syslog,
                facility: 16,
                format: Format::Logfmt,
            },
            queue: Some(Queue::new()),
            dropped: 0,
            failed: 0,
            syslog_from_command_line: false,
        };
        let one = format_line(st.settings, Level::Warn, &format_args!("x y"), &[]);
        assert!(st.queue.as_mut().unwrap().push(one.buf.as_bytes()));
        st.flush();
        let mut buf = [0u8; 2048];
        let n = server.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(got.starts_with("<132>lvsd["), "{got}");
        assert!(got.ends_with("]: level=warning msg=\"x y\""), "{got}");
        // Nobody reads: the socket fills, lines wait in the buffer, then
        // the buffer fills; no call ever waits.
        let started = std::time::Instant::now();
        let line = [b'z'; 900];
        let mut refused = 0;
        for _ in 0..10_000 {
            let q = st.queue.as_mut().unwrap();
            if !q.push(&line) {
                st.flush();
                if !st.queue.as_mut().unwrap().push(&line) {
                    refused += 1;
                }
            }
        }
        assert!(refused > 0, "the buffer never filled");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // The reader catches up: what waited goes out in order.
        let mut received = 0;
        server.set_nonblocking(true).unwrap();
        for _ in 0..100 {
            while server.recv(&mut buf).is_ok() {
                received += 1;
            }
            st.flush();
            if st.queue.as_ref().unwrap().front().is_none() {
                break;
            }
        }
        while server.recv(&mut buf).is_ok() {
            received += 1;
        }
        assert!(received > 0);
        assert!(st.queue.as_ref().unwrap().front().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
