//! Command lines of VRRP's child processes (notify commands, `vrrp_script`s, LVS
//! notify commands): splitting them at setup, `enable_script_security`, and starting
//! one as a child registered with the loop. The users live beside it: the notify queue
//! (`notify.rs`), the notify FIFO (`notify_fifo.rs`), `vrrp_script` runs
//! (`track_script.rs`) and track files (`track_file.rs`).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use log::warn;
use mio::unix::SourceFd;
use mio::{Interest, Registry};

use crate::io::child::{ChildProcess, ScriptSpec};
use crate::io::event_loop::Source;
use crate::io::user::UserError;
use crate::script::{split_command_line, BadCommandLine, ChildEnd};

/// When a start found every child slot (`limits::MAX_CHILDREN`) taken, how
/// soon it is tried again (a notify command is also tried after every event).
pub const CHILD_SLOT_RETRY: Duration = Duration::from_millis(50);

/// A command line split into words at setup.
pub type Argv = Vec<OsString>;

/// Why a script, a notify command or the script user cannot be used.
#[derive(Debug)]
pub enum ScriptError {
    /// The command line does not split into words.
    Syntax {
        /// The key it came from (`vrrp_instance NAME: notify_master`).
        what: String,
        /// Why.
        source: BadCommandLine,
    },
    /// `enable_script_security` refuses it.
    Insecure {
        /// The owner (`vrrp_script NAME`, `vrrp_instance NAME`).
        what: String,
        /// The notify key (`notify_master`), for a notify command.
        key: Option<&'static str>,
        /// Why: the file or directory at fault.
        why: Insecure,
    },
    /// The script user (`script_user`, `user`) cannot be found.
    User(UserError),
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptError::Syntax { what, source } => write!(f, "{what}: {source}"),
            ScriptError::Insecure { what, key, why } => {
                write!(f, "{what}: enable_script_security: ")?;
                if let Some(key) = key {
                    write!(f, "{key}: ")?;
                }
                write!(f, "{why}")
            }
            ScriptError::User(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ScriptError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScriptError::Syntax { source, .. } => Some(source),
            ScriptError::Insecure { why, .. } => Some(why),
            ScriptError::User(e) => Some(e),
        }
    }
}

/// Splits a configured command line; the error names the key.
pub fn split(line: &str, what: &str) -> Result<Argv, ScriptError> {
    split_command_line(line)
        .map(|w| w.into_iter().map(OsString::from).collect())
        .map_err(|source| ScriptError::Syntax {
            what: what.to_owned(),
            source,
        })
}

/// Finds the program of a command line: as given when it has a `/`, else in `PATH`.
fn resolve_program(program: &OsStr) -> Option<PathBuf> {
    let p = std::path::Path::new(program);
    if program.as_encoded_bytes().contains(&b'/') {
        return Some(p.to_path_buf());
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(p))
        .find(|c| c.is_file())
}

/// Why `enable_script_security` refuses a program.
#[derive(Debug)]
pub enum Insecure {
    /// Not found (in `PATH`).
    NotFound(OsString),
    /// The program or a directory above it cannot be examined.
    Unreadable {
        /// What.
        path: PathBuf,
        /// Why.
        err: io::Error,
    },
    /// It belongs to another user than root or the script user.
    Owner {
        /// What.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// Group or others may write it.
    Writable {
        /// What.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

impl std::fmt::Display for Insecure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Insecure::NotFound(p) => write!(f, "{} not found", p.to_string_lossy()),
            Insecure::Unreadable { path, err } => write!(f, "{}: {err}", path.display()),
            Insecure::Owner { path, uid } => {
                write!(f, "{} belongs to uid {uid}, not root", path.display())
            }
            Insecure::Writable { path, mode } => write!(
                f,
                "{} is writable by group or others (mode {mode:o})",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Insecure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Insecure::Unreadable { err, .. } => Some(err),
            _ => None,
        }
    }
}

/// `enable_script_security`: why running `argv[0]` as uid `runs_as` is unsafe,
/// or `None` when it is safe. The program and every directory above it must
/// belong to root (or to the script user) and must not be writable by group or
/// others; a sticky directory (like /tmp) is allowed when what is in it
/// belongs to root or the script user, since nobody else can replace it.
pub fn insecure_reason(argv: &[OsString], runs_as: u32) -> Option<Insecure> {
    use std::os::unix::fs::MetadataExt;
    let program = argv.first()?;
    let Some(found) = resolve_program(program) else {
        return Some(Insecure::NotFound(program.clone()));
    };
    let path = match crate::io::files::canonicalize(&found) {
        Ok(p) => p,
        Err(err) => return Some(Insecure::Unreadable { path: found, err }),
    };
    let trusted = |uid: u32| uid == 0 || uid == runs_as;
    let mut child_uid: Option<u32> = None;
    for part in path.ancestors() {
        let meta = match crate::io::files::metadata(part) {
            Ok(m) => m,
            Err(err) => {
                let path = part.to_path_buf();
                return Some(Insecure::Unreadable { path, err });
            }
        };
        if !trusted(meta.uid()) {
            let (path, uid) = (part.to_path_buf(), meta.uid());
            return Some(Insecure::Owner { path, uid });
        }
        let writable = meta.mode() & 0o022 != 0;
        let sticky_ok =
            meta.is_dir() && meta.mode() & 0o1000 != 0 && child_uid.is_some_and(trusted);
        if writable && !sticky_ok {
            let (path, mode) = (part.to_path_buf(), meta.mode() & 0o7777);
            return Some(Insecure::Writable { path, mode });
        }
        child_uid = Some(meta.uid());
    }
    None
}

/// A running child and the fd registered for it.
pub(super) struct Running {
    pub(super) child: ChildProcess,
    registered: Option<RawFd>,
}

pub(super) fn spawn(
    argv: &[OsString],
    user: Option<(u32, u32)>,
    timeout: Duration,
    now: Instant,
    registry: Option<&Registry>,
    slot: usize,
) -> io::Result<Running> {
    let args: Vec<&OsStr> = argv.iter().map(OsString::as_os_str).collect();
    let spec = ScriptSpec {
        argv: &args,
        user,
        timeout,
    };
    let child = ChildProcess::spawn(&spec, now)?;
    let mut registered = None;
    if let (Some(fd), Some(registry)) = (child.raw_fd(), registry) {
        match registry.register(
            &mut SourceFd(&fd),
            Source::Child(slot).token(),
            Interest::READABLE,
        ) {
            Ok(()) => registered = Some(fd),
            Err(e) => warn!("registering a script's pidfd: {e}; polling it instead"),
        }
    }
    Ok(Running { child, registered })
}

impl Running {
    /// Reaps or signals as due; on the end, deregisters the pidfd.
    pub(super) fn step(&mut self, now: Instant, registry: Option<&Registry>) -> Option<ChildEnd> {
        let end = self.child.handle_timeout(now)?;
        if let (Some(fd), Some(registry)) = (self.registered.take(), registry) {
            let _ = registry.deregister(&mut SourceFd(&fd));
        }
        Some(end)
    }
}

/// The command line as one string, for logs.
pub(super) fn describe(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Test helper: an `Argv` of `words`.
#[cfg(test)]
pub(super) fn argv_of(words: &[&str]) -> Argv {
    words.iter().map(OsString::from).collect()
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn script_security_refuses_writable_programs() {
        let dir = std::env::temp_dir().join(format!("lvsd-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let prog = dir.join("p.sh");
        std::fs::write(&prog, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        let argv = vec![OsString::from(&prog)];
        // Root-owned, 0755, under /tmp (sticky): fine when we are root.
        let me = std::fs::metadata(&prog).map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid()
        });
        if me.ok() == Some(0) {
            assert!(insecure_reason(&argv, 0).is_none());
            assert!(insecure_reason(&[OsString::from("sh")], 0).is_none());
        }
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = insecure_reason(&argv, 0).unwrap().to_string();
        assert!(why.contains("writable by group or others"), "{why}");
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = insecure_reason(&argv, 0).unwrap().to_string();
        assert!(
            why.contains(&format!("{} is writable", dir.display())),
            "{why}"
        );
        assert!(insecure_reason(&[OsString::from("no-such-program-x")], 0)
            .unwrap()
            .to_string()
            .contains("not found"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
