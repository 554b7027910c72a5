//! The configuration file, read from disk: the one place where the loader
//! touches the filesystem (the config layer itself only sees bytes).

use std::path::Path;

use crate::config::error::ReadError;
use crate::config::{self, Config, ConfigError, ConfigErrorKind};
use crate::limits::MAX_CONFIG_BYTES;

/// Read `path` and [`config::load_str`] it; errors name the path as given.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    config::load_bytes(&read_file(path)?, &path.display().to_string())
}

/// The file's bytes; an unreadable file is an error naming it.
///
/// The file is opened nonblocking and must be a regular file: a FIFO or a
/// device at the path is refused at once instead of blocking a reload in the
/// daemon's single thread. The size is checked before the read, and the read
/// stops one byte past `MAX_CONFIG_BYTES`, so a file that grows meanwhile
/// cannot make it read more.
pub fn read_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let origin = path.display().to_string();
    let io_error = |error: ReadError| ConfigError::new(&origin, 0, ConfigErrorKind::Io(error));
    let os = |e: std::io::Error| io_error(ReadError::Os(std::sync::Arc::new(e)));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(os)?;
    let meta = file.metadata().map_err(os)?;
    if !meta.is_file() {
        return Err(io_error(ReadError::NotRegular(file_kind(
            &meta.file_type(),
        ))));
    }
    let size = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    if size > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(
            &origin,
            0,
            ConfigErrorKind::TooLarge { size },
        ));
    }
    let mut bytes = Vec::with_capacity(size);
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(os)?;
    Ok(bytes)
}

/// What kind of non-regular file a path names, for the error message.
fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_file_refuses_fifos_directories_and_big_files_without_blocking() {
        let dir = std::env::temp_dir().join(format!("lvsd-read-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A FIFO with no writer: a blocking open would hang this test forever.
        let fifo = dir.join("fifo.ini");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        let err = read_file(&fifo).unwrap_err();
        assert!(err.to_string().contains("a FIFO"), "{err}");
        let err = read_file(&dir).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        let big = dir.join("big.ini");
        std::fs::write(&big, vec![b'#'; MAX_CONFIG_BYTES + 1]).unwrap();
        let err = read_file(&big).unwrap_err();
        assert!(
            matches!(*err.kind, ConfigErrorKind::TooLarge { size } if size == MAX_CONFIG_BYTES + 1),
            "{err}"
        );
        let ok = dir.join("ok.ini");
        std::fs::write(&ok, b"# empty\n").unwrap();
        assert_eq!(read_file(&ok).unwrap(), b"# empty\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
