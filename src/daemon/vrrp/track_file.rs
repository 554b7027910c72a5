//! Track files (`track_file`): a number read from a file every second, and the
//! `init_file` written at start.

use std::io;
use std::time::Duration;

use log::{info, warn};

/// How often track files are read (keepalived watches them with inotify; a
/// one-second poll bounds the reaction time the same way for an operator).
pub const TRACK_FILE_POLL: Duration = Duration::from_secs(1);

/// Why a track file read as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileProblem {
    /// It could not be opened or read.
    Unreadable(io::ErrorKind),
    /// Its first word is not an integer.
    NotANumber,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileProblem::Unreadable(kind) => write!(f, "cannot be read ({kind})"),
            FileProblem::NotANumber => f.write_str("does not start with an integer"),
        }
    }
}

/// Reads a track file's number: the first word as an integer; a missing file or
/// a word that is not a number reads as 0 (keepalived does the same). Reads at
/// most 64 bytes into a stack buffer: no allocation on the once-a-second path.
pub fn read_track_file(path: &str) -> (i32, Option<FileProblem>) {
    let mut buf = [0u8; 64];
    // O_NONBLOCK: a FIFO named as the file must not stall the loop in open().
    let read = crate::io::files::read_start_nonblocking(path, &mut buf);
    let len = match read {
        Ok(n) => n,
        Err(e) => return (0, Some(FileProblem::Unreadable(e.kind()))),
    };
    let text = std::str::from_utf8(buf.get(..len).unwrap_or(&[])).unwrap_or("");
    let word = text.split_whitespace().next().unwrap_or("0");
    match word.parse::<i64>() {
        Ok(v) => (
            v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
            None,
        ),
        Err(_) => (0, Some(FileProblem::NotANumber)),
    }
}

/// `init_file [VALUE] [overwrite]` at start (keepalived's
/// track_file_end_handler): write VALUE when the file does not exist, or
/// with `overwrite` also over an existing regular file. Problems are logged:
/// the file is then read as it is.
pub fn init_track_file(path: &str, value: i32, overwrite: bool) {
    match crate::io::files::symlink_metadata(path) {
        Ok(_) if !overwrite => return,
        Ok(m) if !m.file_type().is_file() => {
            warn!("track_file {path}: init_file: not a regular file, left alone");
            return;
        }
        _ => {}
    }
    // No symlink followed at the last step (keepalived's fopen_safe).
    let written = crate::io::files::write_line_nofollow(path, value);
    match written {
        Ok(()) => info!("track_file {path}: init_file wrote {value}"),
        Err(e) => warn!("track_file {path}: init_file: {e}"),
    }
}

/// One `track_file`, polled every [`TRACK_FILE_POLL`].
pub struct TrackedFile {
    /// The path.
    pub path: String,
    /// (instance index, n of `Instance::track_id(n)`).
    pub subscribers: Vec<(usize, usize)>,
    /// The value last read.
    pub value: i32,
    problem: Option<FileProblem>,
}

impl TrackedFile {
    /// Reads the file once for the initial value.
    pub fn new(path: String) -> TrackedFile {
        let (value, problem) = read_track_file(&path);
        if let Some(p) = &problem {
            warn!("track_file {path}: {p}; using 0");
        }
        TrackedFile {
            path,
            subscribers: Vec::new(),
            value,
            problem,
        }
    }

    /// Reads the file again; returns the new value when it changed.
    pub fn poll(&mut self) -> Option<i32> {
        let (value, problem) = read_track_file(&self.path);
        if problem != self.problem {
            if let Some(p) = &problem {
                warn!("track_file {}: {p}; using 0", self.path);
            }
            self.problem = problem;
        }
        if value != self.value {
            info!("track_file {}: value {} -> {value}", self.path, self.value);
            self.value = value;
            return Some(value);
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn track_file_values() {
        let dir = std::env::temp_dir().join(format!("lvsd-tf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("v");
        let ps = p.to_str().unwrap();
        assert_eq!(read_track_file(ps).0, 0);
        assert!(read_track_file(ps).1.is_some());
        std::fs::write(&p, " -7 \n").unwrap();
        assert_eq!(read_track_file(ps), (-7, None));
        let mut t = TrackedFile::new(ps.to_owned());
        assert_eq!(t.value, -7);
        assert_eq!(t.poll(), None);
        std::fs::write(&p, "12").unwrap();
        assert_eq!(t.poll(), Some(12));
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(t.poll(), Some(0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
