//! The daemon's logger: `log` records to stderr or to syslog (/dev/log),
//! formatted into a fixed stack buffer so logging never allocates.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Longest log line; longer ones are cut and end in "...".
const LINE_MAX: usize = 1024;

enum Sink {
    Stderr,
    Syslog(UnixDatagram),
}

struct Logger {
    sink: Sink,
    level: LevelFilter,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Installs the logger once. `syslog` sends to /dev/log (falling back to
/// stderr with a warning when there is no syslog socket).
pub fn init(syslog: bool, verbose: bool) {
    let level = if verbose {
        LevelFilter::Debug
    } else {
        LevelFilter::Info
    };
    let mut fallback = false;
    let sink = if syslog {
        match UnixDatagram::unbound().and_then(|s| s.connect("/dev/log").map(|_| s)) {
            Ok(s) => Sink::Syslog(s),
            Err(_) => {
                fallback = true;
                Sink::Stderr
            }
        }
    } else {
        Sink::Stderr
    };
    let logger = LOGGER.get_or_init(|| Logger { sink, level });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
    if fallback {
        log::warn!("no syslog socket at /dev/log; logging to stderr");
    }
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

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut line = LineBuf {
            buf: heapless::String::new(),
            cut: false,
        };
        match &self.sink {
            Sink::Stderr => {
                let _ = write!(
                    line,
                    "lvsd {}: {}",
                    level_word(record.level()),
                    record.args()
                );
                if line.cut {
                    let _ = line.buf.truncate_to_fit();
                }
                let _ = line.buf.push('\n');
                let _ = std::io::stderr().write_all(line.buf.as_bytes());
            }
            Sink::Syslog(sock) => {
                // Facility daemon (3) << 3 | severity.
                let pri = 3 * 8 + severity(record.level());
                let _ = write!(
                    line,
                    "<{pri}>lvsd[{}]: {}",
                    std::process::id(),
                    record.args()
                );
                let _ = sock.send(line.buf.as_bytes());
            }
        }
    }

    fn flush(&self) {}
}

trait TruncateToFit {
    fn truncate_to_fit(&mut self) -> Result<(), ()>;
}

impl TruncateToFit for heapless::String<LINE_MAX> {
    /// Leaves room for "...\n" at the end of a cut line.
    fn truncate_to_fit(&mut self) -> Result<(), ()> {
        while self.len() > LINE_MAX - 4 {
            self.pop();
        }
        self.push_str("...")
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
