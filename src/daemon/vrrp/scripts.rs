//! VRRP's child processes and files: notify commands run in order (one at a time per instance or group), the notify FIFO, `vrrp_script` runs with rise/fall, and track files.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry};

use crate::config::Notify;
use crate::io::child::{ChildProcess, ScriptSpec};
use crate::io::event_loop::Source;
use crate::io::user::UserError;
use crate::limits::MAX_NOTIFY_QUEUE;
use crate::script::{split_command_line, BadCommandLine, ChildEnd};
use crate::vrrp::instance::NotifyState;
use crate::vrrp::track::{ScriptFilter, TrackStatus};

/// How often track files are read (keepalived watches them with inotify; a
/// one-second poll bounds the reaction time the same way for an operator).
pub const TRACK_FILE_POLL: Duration = Duration::from_secs(1);

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

/// The notify commands of one instance or group, split at setup.
#[derive(Debug, Clone, Default)]
pub struct NotifyCommands {
    master: Option<Argv>,
    backup: Option<Argv>,
    fault: Option<Argv>,
    stop: Option<Argv>,
    generic: Option<Argv>,
}

impl NotifyCommands {
    /// Splits the configured lines; `owner` names the section in errors.
    pub fn new(notify: &Notify, owner: &str) -> Result<NotifyCommands, ScriptError> {
        let one = |line: &Option<crate::config::PathText>, key: &str| {
            line.as_ref()
                .map(|l| split(l.as_str(), &format!("{owner}: {key}")))
                .transpose()
        };
        Ok(NotifyCommands {
            master: one(&notify.master, "notify_master")?,
            backup: one(&notify.backup, "notify_backup")?,
            fault: one(&notify.fault, "notify_fault")?,
            stop: one(&notify.stop, "notify_stop")?,
            generic: one(&notify.generic, "notify")?,
        })
    }

    /// `enable_script_security`: the first unsafe command (its key), with the reason.
    pub fn insecure(&self, runs_as: u32) -> Option<(&'static str, Insecure)> {
        [
            (&self.master, "notify_master"),
            (&self.backup, "notify_backup"),
            (&self.fault, "notify_fault"),
            (&self.stop, "notify_stop"),
            (&self.generic, "notify"),
        ]
        .into_iter()
        .find_map(|(argv, key)| {
            argv.as_ref()
                .and_then(|a| insecure_reason(a, runs_as))
                .map(|why| (key, why))
        })
    }

    /// The commands for a transition, in keepalived's order: the state's own
    /// script, then the generic `notify` with `KIND NAME STATE PRIORITY` appended
    /// (`KIND` is `INSTANCE` or `GROUP`; a group reports priority 0, as keepalived does).
    pub fn commands(
        &self,
        kind: &str,
        name: &str,
        state: NotifyState,
        priority: u8,
    ) -> impl Iterator<Item = Argv> {
        let own = match state {
            NotifyState::Master => self.master.clone(),
            NotifyState::Backup => self.backup.clone(),
            NotifyState::Fault => self.fault.clone(),
            NotifyState::Stop => self.stop.clone(),
        };
        let generic = self.generic.clone().map(|mut argv| {
            argv.push(kind.into());
            argv.push(name.into());
            argv.push(state.as_str().into());
            argv.push(priority.to_string().into());
            argv
        });
        own.into_iter().chain(generic)
    }
}

/// keepalived's FIFO line: `INSTANCE "VI_1" MASTER 100` (groups: priority 0).
pub fn fifo_line(kind: &str, name: &str, state: NotifyState, priority: u8) -> String {
    format!("{kind} \"{name}\" {} {priority}\n", state.as_str())
}

/// A running child and the fd registered for it.
struct Running {
    child: ChildProcess,
    registered: Option<RawFd>,
}

fn spawn(
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
    fn step(&mut self, now: Instant, registry: Option<&Registry>) -> Option<ChildEnd> {
        let end = self.child.handle_timeout(now)?;
        if let (Some(fd), Some(registry)) = (self.registered.take(), registry) {
            let _ = registry.deregister(&mut SourceFd(&fd));
        }
        Some(end)
    }
}

fn describe(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs the notify commands of one instance or group, one at a time, in order.
pub struct Notifier {
    /// `vrrp_instance NAME` or `vrrp_sync_group NAME`, for logs.
    pub label: String,
    /// The configured commands.
    pub commands: NotifyCommands,
    queue: VecDeque<Argv>,
    running: Option<(Running, Argv)>,
    /// The timer carrying `poll_at`.
    pub timer: Option<crate::io::timers::TimerId>,
    /// Commands that ended (any way).
    pub runs: u64,
    /// Commands that failed, timed out or could not start.
    pub failures: u64,
    /// Commands dropped because the queue was full (the oldest go first).
    pub dropped: u64,
    /// Starts that had to wait for a child slot (`limits::MAX_CHILDREN`).
    pub waits: u64,
    /// Set while the head of the queue waits for a child slot: when to try again.
    retry_at: Option<Instant>,
}

impl Notifier {
    /// Drops what is queued and kills what runs (at the end of a stop that
    /// waited long enough).
    pub fn abandon(&mut self) {
        self.queue.clear();
        self.running = None;
    }

    /// A notifier with nothing queued.
    pub fn new(label: String, commands: NotifyCommands) -> Notifier {
        Notifier {
            label,
            commands,
            queue: VecDeque::with_capacity(MAX_NOTIFY_QUEUE),
            running: None,
            timer: None,
            runs: 0,
            failures: 0,
            dropped: 0,
            waits: 0,
            retry_at: None,
        }
    }

    /// Queues the commands of a transition. When the queue is full the oldest
    /// waiting command is dropped (and counted), never the newest: the latest
    /// state's notification is the one that matters.
    pub fn transition(&mut self, kind: &str, name: &str, state: NotifyState, priority: u8) {
        let cmds: Vec<Argv> = self
            .commands
            .commands(kind, name, state, priority)
            .collect();
        for argv in cmds {
            if self.queue.len() >= MAX_NOTIFY_QUEUE {
                if let Some(old) = self.queue.pop_front() {
                    self.dropped += 1;
                    warn!(
                        "{}: notify queue full (limits::MAX_NOTIFY_QUEUE); dropped the oldest, {}",
                        self.label,
                        describe(&old)
                    );
                }
            }
            self.queue.push_back(argv);
        }
    }

    /// Queues one plain command (a virtual server's quorum_up/quorum_down or a
    /// real server's notify_up/notify_down: keepalived passes no arguments).
    pub fn command(&mut self, argv: Argv) {
        if self.queue.len() >= MAX_NOTIFY_QUEUE {
            self.dropped += 1;
            warn!(
                "{}: notify queue full (limits::MAX_NOTIFY_QUEUE); dropped {}",
                self.label,
                describe(&argv)
            );
            return;
        }
        self.queue.push_back(argv);
    }

    /// True while a command runs or waits.
    pub fn busy(&self) -> bool {
        self.running.is_some() || !self.queue.is_empty()
    }

    /// Starts the next queued command when none runs.
    pub fn pump(
        &mut self,
        now: Instant,
        registry: Option<&Registry>,
        slot: usize,
        user: Option<(u32, u32)>,
        timeout: Duration,
    ) {
        while self.running.is_none() {
            let Some(argv) = self.queue.pop_front() else {
                return;
            };
            match spawn(&argv, user, timeout, now, registry, slot) {
                Ok(r) => {
                    debug!("{}: running {}", self.label, describe(&argv));
                    self.retry_at = None;
                    self.running = Some((r, argv));
                }
                Err(e) if crate::io::child::is_full(&e) => {
                    // Stays first in line; tried again after the next event
                    // or at `retry_at`.
                    if self.retry_at.is_none() {
                        self.waits += 1;
                        if self.waits.is_power_of_two() {
                            warn!("{}: {e}; the notify command waits", self.label);
                        }
                    }
                    self.retry_at = Some(now + CHILD_SLOT_RETRY);
                    self.queue.push_front(argv);
                    return;
                }
                Err(e) => {
                    self.runs += 1;
                    self.failures += 1;
                    warn!("{}: cannot run {}: {e}", self.label, describe(&argv));
                }
            }
        }
    }

    /// The pidfd fired or the timer ran out: collect an ended command.
    pub fn on_event(&mut self, now: Instant, registry: Option<&Registry>) {
        let Some((running, argv)) = &mut self.running else {
            return;
        };
        let Some(end) = running.step(now, registry) else {
            return;
        };
        self.runs += 1;
        if end != ChildEnd::Exited(0) {
            self.failures += 1;
            warn!("{}: {} ended: {end:?}", self.label, describe(argv));
        }
        self.running = None;
    }

    /// When to look at the running command again (or retry a waiting start).
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        match &self.running {
            Some((r, _)) => r.child.poll_at(now),
            None => self.retry_at,
        }
    }
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

/// One `[vrrp_script]`: run every `interval`, result filtered by rise/fall,
/// fed to every instance that tracks it.
pub struct TrackedScript {
    /// Section name.
    pub name: String,
    argv: Argv,
    user: Option<(u32, u32)>,
    interval: Duration,
    timeout: Duration,
    filter: ScriptFilter,
    next_run: Option<Instant>,
    running: Option<Running>,
    /// (instance index, n of `Instance::track_id(n)`) of every tracker.
    pub subscribers: Vec<(usize, usize)>,
    /// The timer carrying `poll_at`.
    pub timer: Option<crate::io::timers::TimerId>,
    /// Runs finished.
    pub runs: u64,
    /// The last run's end.
    pub last: Option<ChildEnd>,
    /// Runs that had to wait for a child slot (`limits::MAX_CHILDREN`).
    pub waits: u64,
}

impl TrackedScript {
    /// A script with its rise/fall, starting up (keepalived's default), or
    /// down with `init_fail` (then `rise` successes bring it up).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        argv: Argv,
        user: Option<(u32, u32)>,
        interval: Duration,
        timeout: Duration,
        rise: u32,
        fall: u32,
        init_fail: bool,
    ) -> TrackedScript {
        let clamp = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
        TrackedScript {
            name,
            argv,
            user,
            interval,
            timeout,
            filter: ScriptFilter::new(clamp(rise), clamp(fall), !init_fail),
            next_run: None,
            running: None,
            subscribers: Vec::new(),
            timer: None,
            runs: 0,
            last: None,
            waits: 0,
        }
    }

    /// The filtered status.
    pub fn status(&self) -> TrackStatus {
        self.filter.status()
    }

    /// First run at `now` (only scripts that someone tracks run at all).
    pub fn start(&mut self, now: Instant) {
        if !self.subscribers.is_empty() {
            self.next_run = Some(now);
        }
    }

    /// Stops scheduling (a running child is killed when dropped).
    pub fn stop(&mut self) {
        self.next_run = None;
        self.running = None;
    }

    /// When to call `on_event` next.
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        match &self.running {
            Some(r) => r.child.poll_at(now),
            None => self.next_run,
        }
    }

    /// Collects an ended run and starts a due one. Returns the new filtered
    /// status when it changed.
    pub fn on_event(
        &mut self,
        now: Instant,
        registry: Option<&Registry>,
        slot: usize,
    ) -> Option<TrackStatus> {
        let mut changed = None;
        if let Some(r) = &mut self.running {
            if let Some(end) = r.step(now, registry) {
                self.running = None;
                self.runs += 1;
                self.last = Some(end);
                if end != ChildEnd::Exited(0) {
                    debug!("vrrp_script {}: {end:?}", self.name);
                }
                changed = self.filter.record(end == ChildEnd::Exited(0));
            }
        }
        if self.running.is_none() && self.next_run.is_some_and(|t| t <= now) {
            // The interval counts from the start of a run, like keepalived.
            self.next_run = Some(now + self.interval);
            match spawn(&self.argv, self.user, self.timeout, now, registry, slot) {
                Ok(r) => self.running = Some(r),
                Err(e) if crate::io::child::is_full(&e) => {
                    // Not a failure of the script: run it as soon as a slot frees.
                    self.waits += 1;
                    if self.waits.is_power_of_two() {
                        warn!("vrrp_script {}: {e}; the run waits", self.name);
                    }
                    self.next_run = Some(now + CHILD_SLOT_RETRY);
                }
                Err(e) => {
                    warn!("vrrp_script {}: cannot run: {e}", self.name);
                    self.runs += 1;
                    self.last = Some(ChildEnd::SpawnFailed);
                    changed = self.filter.record(false).or(changed);
                }
            }
        }
        if let Some(status) = changed {
            info!(
                "VRRP_Script({}) {}",
                self.name,
                if status == TrackStatus::Up {
                    "succeeded"
                } else {
                    "failed"
                }
            );
        }
        changed
    }
}

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

    fn os(v: &[&str]) -> Argv {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn generic_notify_gets_keepalived_arguments_after_the_state_script() {
        let mut n = Notify {
            master: Some("/bin/m 'a b'".try_into().unwrap()),
            generic: Some("/bin/g x".try_into().unwrap()),
            ..Default::default()
        };
        let c = NotifyCommands::new(&n, "vrrp_instance VI_1").unwrap();
        let got: Vec<Argv> = c
            .commands("INSTANCE", "VI_1", NotifyState::Master, 100)
            .collect();
        assert_eq!(
            got,
            vec![
                os(&["/bin/m", "a b"]),
                os(&["/bin/g", "x", "INSTANCE", "VI_1", "MASTER", "100"])
            ]
        );
        let got: Vec<Argv> = c.commands("GROUP", "G", NotifyState::Fault, 0).collect();
        assert_eq!(got, vec![os(&["/bin/g", "x", "GROUP", "G", "FAULT", "0"])]);
        n.stop = Some("/bin/x 'unterminated".try_into().unwrap());
        let err = NotifyCommands::new(&n, "vrrp_instance VI_1").unwrap_err();
        let err = err.to_string();
        assert!(err.contains("vrrp_instance VI_1: notify_stop"), "{err}");
    }

    #[test]
    fn notifier_runs_one_at_a_time_in_order_and_bounds_its_queue() {
        let dir = std::env::temp_dir().join(format!("lvsd-nq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let line = format!(
            "/bin/sh -c 'sleep 0.05; echo \"$*\" >> {}' sh",
            out.display()
        );
        let notify = Notify {
            generic: Some(line.as_str().try_into().unwrap()),
            ..Default::default()
        };
        let mut n = Notifier::new("t".into(), NotifyCommands::new(&notify, "t").unwrap());
        n.transition("INSTANCE", "A", NotifyState::Backup, 100);
        n.transition("INSTANCE", "A", NotifyState::Master, 100);
        n.transition("INSTANCE", "A", NotifyState::Stop, 90);
        let limit = Instant::now() + Duration::from_secs(10);
        while n.busy() && Instant::now() < limit {
            let now = Instant::now();
            n.on_event(now, None);
            n.pump(now, None, 0, None, Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!((n.runs, n.failures, n.dropped), (3, 0, 0));
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "INSTANCE A BACKUP 100\nINSTANCE A MASTER 100\nINSTANCE A STOP 90\n"
        );
        for p in 0..MAX_NOTIFY_QUEUE + 5 {
            n.transition("INSTANCE", "A", NotifyState::Fault, p as u8);
        }
        assert_eq!(n.dropped, 5);
        // The oldest went; the newest (the latest state) is kept.
        let last = (MAX_NOTIFY_QUEUE + 4).to_string();
        assert_eq!(
            n.queue
                .back()
                .and_then(|a| a.last())
                .map(|a| a.to_string_lossy().into_owned()),
            Some(last)
        );
        assert_eq!(
            n.queue
                .front()
                .and_then(|a| a.last())
                .map(|a| a.to_string_lossy().into_owned()),
            Some("5".to_owned())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

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

    /// A `vrrp_script` run every 10 ms, 5 s timeout.
    fn fast_script(argv: Argv, rise: u32, fall: u32, init_fail: bool) -> TrackedScript {
        TrackedScript::new(
            "chk".into(),
            argv,
            None,
            Duration::from_millis(10),
            Duration::from_secs(5),
            rise,
            fall,
            init_fail,
        )
    }

    /// Runs `s` three times (10 s at most); the status changes, with the run
    /// count at each.
    fn three_runs(s: &mut TrackedScript) -> Vec<(u64, TrackStatus)> {
        let mut changes = Vec::new();
        let limit = Instant::now() + Duration::from_secs(10);
        while s.runs < 3 && Instant::now() < limit {
            if let Some(c) = s.on_event(Instant::now(), None, 0) {
                changes.push((s.runs, c));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        changes
    }

    #[test]
    fn script_runs_and_filters_with_fall() {
        let argv = os(&["/bin/sh", "-c", "exit 1"]);
        let mut s = fast_script(argv, 1, 2, false);
        s.subscribers.push((0, 0));
        let t0 = Instant::now();
        s.start(t0);
        let changes = three_runs(&mut s);
        // Down only after the second failure (fall 2).
        assert_eq!(changes, vec![(2, TrackStatus::Down)]);
        assert_eq!(s.last, Some(ChildEnd::Exited(1)));
    }

    #[test]
    fn init_fail_starts_down_and_needs_rise_successes() {
        let argv = os(&["/bin/sh", "-c", "exit 0"]);
        let mut s = fast_script(argv, 2, 1, true);
        assert_eq!(s.status(), TrackStatus::Down);
        s.subscribers.push((0, 0));
        s.start(Instant::now());
        let changes = three_runs(&mut s);
        // Up only after the second success (rise 2), as keepalived's result 0.
        assert_eq!(changes, vec![(2, TrackStatus::Up)]);
    }
}
