//! The file calls the daemon makes: a checker's `ca_file`, the script
//! security walk, the notify FIFO and track files. What the answers mean
//! is decided by the caller.

use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The whole file at `path`.
pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    std::fs::read(path)
}

/// `path` with every link and `..` resolved.
pub fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    std::fs::canonicalize(path)
}

/// What `path` (followed) is: owner, mode, kind.
pub fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    std::fs::metadata(path)
}

/// What `path` itself is (a link is not followed).
pub fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    std::fs::symlink_metadata(path)
}

/// Opens `path` for writing without waiting: a FIFO without a reader fails
/// at once (ENXIO), and a full pipe later gives EAGAIN instead of blocking.
pub fn open_nonblocking_writer(path: impl AsRef<Path>) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Reads the start of `path` into `buf` (one read, no allocation); a FIFO
/// named as the file does not stall in open() (O_NONBLOCK).
pub fn read_start_nonblocking(path: impl AsRef<Path>, buf: &mut [u8]) -> io::Result<usize> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .and_then(|mut f| f.read(buf))
}

/// Writes `value` and a newline to `path` (created with mode 0644 or
/// truncated), not following a link at the last step (keepalived's
/// fopen_safe).
pub fn write_line_nofollow(
    path: impl AsRef<Path>,
    value: impl std::fmt::Display,
) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|mut f| writeln!(f, "{value}"))
}
