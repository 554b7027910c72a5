//! Plain file reads the daemon needs at setup (a checker's `ca_file`).

use std::io;
use std::path::Path;

/// The whole file at `path`.
pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    std::fs::read(path)
}
