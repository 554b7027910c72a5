//! The notify FIFO (`notify_fifo`): keepalived's one-line state messages written
//! nonblocking, never waited on.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use log::warn;

use crate::vrrp::instance::NotifyState;

/// keepalived's FIFO line: `INSTANCE "VI_1" MASTER 100` (groups: priority 0).
pub fn fifo_line(kind: &str, name: &str, state: NotifyState, priority: u8) -> String {
    format!("{kind} \"{name}\" {} {priority}\n", state.as_str())
}

/// The optional notify FIFO: opened nonblocking, never waited on; lines that
/// find no reader or a full pipe are counted and dropped.
pub struct NotifyFifo {
    path: PathBuf,
    file: Option<File>,
    /// Lines written.
    pub written: u64,
    /// Lines dropped (no reader, full pipe, write error).
    pub dropped: u64,
}

impl NotifyFifo {
    /// A FIFO at `path`, opened on first use.
    pub fn new(path: PathBuf) -> NotifyFifo {
        NotifyFifo {
            path,
            file: None,
            written: 0,
            dropped: 0,
        }
    }

    fn open(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            // O_NONBLOCK: opening a FIFO without a reader fails (ENXIO) at once
            // instead of waiting, and a full pipe gives EAGAIN instead of blocking.
            let f = crate::io::files::open_nonblocking_writer(&self.path)?;
            self.file = Some(f);
        }
        Ok(())
    }

    fn try_write(&mut self, line: &str) -> io::Result<()> {
        self.open()?;
        let f = self.file.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        // Lines are shorter than PIPE_BUF, so a pipe write is all or nothing.
        let n = f.write(line.as_bytes())?;
        if n != line.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
        }
        Ok(())
    }

    /// Writes one line or counts it dropped.
    pub fn write_line(&mut self, line: &str) {
        let mut result = self.try_write(line);
        if let Err(e) = &result {
            if e.kind() == io::ErrorKind::BrokenPipe {
                // The reader went away; a new one may be there now.
                self.file = None;
                result = self.try_write(line);
            }
        }
        match result {
            Ok(()) => self.written += 1,
            Err(e) => {
                if e.kind() != io::ErrorKind::WouldBlock {
                    self.file = None;
                }
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    warn!(
                        "notify_fifo {}: line dropped ({e}); {} dropped so far",
                        self.path.display(),
                        self.dropped
                    );
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn fifo_lines_match_keepalived() {
        assert_eq!(
            fifo_line("INSTANCE", "VI_1", NotifyState::Master, 100),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(
            fifo_line("GROUP", "G1", NotifyState::Stop, 0),
            "GROUP \"G1\" STOP 0\n"
        );
    }

    #[test]
    fn fifo_without_reader_counts_drops_and_never_blocks() {
        let dir = std::env::temp_dir().join(format!("lvsd-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let _ = std::fs::remove_file(&path);
        let st = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(st.success());
        let mut fifo = NotifyFifo::new(path.clone());
        fifo.write_line("INSTANCE \"A\" MASTER 1\n");
        assert_eq!((fifo.written, fifo.dropped), (0, 1));
        // A reader that never reads: the pipe fills, then lines are dropped.
        use std::os::unix::fs::OpenOptionsExt;
        let reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let line = fifo_line("INSTANCE", "VI_1", NotifyState::Backup, 100);
        for _ in 0..100_000 {
            fifo.write_line(&line);
        }
        assert!(fifo.written > 0);
        assert!(fifo.dropped > 1);
        assert_eq!(fifo.written + fifo.dropped, 100_001);
        drop(reader);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
