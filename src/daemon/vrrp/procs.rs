//! `vrrp_track_process` wiring: feeds the kernel's process events (or, when
//! the connector cannot be used, /proc rescans) into `vrrp::process`, with a
//! budget per wake-up, and hands its quorum changes to the instances.
//!
//! - Events: at most `PROC_EVENTS_PER_WAKEUP` per wake-up; the rest on the
//!   next turn (readiness is edge-triggered, so a timer due at once brings it).
//! - Lost events (ENOBUFS): a rescan of /proc one second later (keepalived
//!   waits the same), `PROC_SCAN_PER_WAKEUP` entries per wake-up; an overrun
//!   during a rescan asks for another after it.
//! - No connector (inside a network namespace, no CAP_NET_ADMIN, a kernel
//!   without CONFIG_PROC_EVENTS, or no answer to the subscribe within a
//!   second): a rescan every [`PROC_POLL`], the same budget per wake-up.

use std::time::{Duration, Instant};

use log::{info, warn};

use crate::config::Config;
use crate::io::proc_events::{read_process, ProcDir, ProcEvents, Received};
use crate::io::timers::TimerId;
use crate::limits::{PROC_CMDLINE_BUF, PROC_EVENTS_PER_WAKEUP, PROC_SCAN_PER_WAKEUP};
use crate::vrrp::process::{ProcInfo, ProcessSpec, ProcessTracker};
use crate::wire::netlink::connector::ProcEvent;

/// How soon after lost events /proc is read again (keepalived: 1 s).
const RESCAN_AFTER_OVERRUN: Duration = Duration::from_secs(1);
/// How long the kernel has to answer the subscribe.
const ACK_WAIT: Duration = Duration::from_secs(1);
/// Rescan interval when process events cannot be had.
pub const PROC_POLL: Duration = Duration::from_secs(1);

/// The process watcher and who listens to each definition.
pub struct ProcessWatch {
    /// The pure tracker.
    pub tracker: ProcessTracker,
    /// Definition names, same index.
    pub names: Vec<String>,
    /// Per definition: (instance, n of `Instance::track_id(n)`).
    pub subscribers: Vec<Vec<(usize, usize)>>,
    socket: Option<ProcEvents>,
    acked: bool,
    ack_deadline: Option<Instant>,
    backlog: bool,
    scan: Option<ProcDir>,
    scan_again: bool,
    rescan_at: Option<Instant>,
    stat: Box<[u8; 512]>,
    cmdline: Box<[u8; PROC_CMDLINE_BUF]>,
    wants_cmdline: bool,
    table_full_logged: u64,
    /// The timer carrying `poll_at`.
    pub timer: Option<TimerId>,
    /// Events handled, overruns seen, rescans finished.
    pub events: u64,
    /// ENOBUFS reports (events lost).
    pub overruns: u64,
    /// Rescans of /proc finished (the first at start included).
    pub rescans: u64,
}

fn spec_of(p: &crate::config::VrrpTrackProcess) -> ProcessSpec {
    let mut params = Vec::new();
    for word in &p.params {
        params.extend_from_slice(word.as_bytes());
        params.push(0);
    }
    ProcessSpec {
        name: p.process.as_bytes().to_vec(),
        params,
        param_match: p.param_match,
        full_command: p.full_command,
        quorum: p.quorum,
        quorum_max: p.quorum_max,
        fork_delay: p.fork_delay,
        terminate_delay: p.terminate_delay,
    }
}

/// Why `vrrp_track_process` cannot be watched.
#[derive(Debug)]
pub enum ProcsError {
    /// More definitions than `limits::MAX_TRACK_PROCESSES`.
    TooMany,
    /// The process-events socket refused its receive buffer (test hook).
    ReceiveBuffer(std::io::Error),
    /// /proc cannot be opened.
    Open(std::io::Error),
    /// /proc cannot be read.
    Read(std::io::Error),
}

impl std::fmt::Display for ProcsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcsError::TooMany => f.write_str("vrrp_track_process: more than MAX_TRACK_PROCESSES"),
            ProcsError::ReceiveBuffer(e) => write!(f, "vrrp_track_process: receive buffer: {e}"),
            ProcsError::Open(e) => write!(f, "vrrp_track_process: /proc: {e}"),
            ProcsError::Read(e) => write!(f, "vrrp_track_process: reading /proc: {e}"),
        }
    }
}

impl std::error::Error for ProcsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProcsError::TooMany => None,
            ProcsError::ReceiveBuffer(e) | ProcsError::Open(e) | ProcsError::Read(e) => Some(e),
        }
    }
}

/// The kernel's process events, or None (then /proc is read every
/// [`PROC_POLL`]).
fn open_events() -> Result<Option<ProcEvents>, ProcsError> {
    let opened = match crate::daemon::test_hook("proc_events_fd") {
        // Test hook: a connector socket the test opened in the initial
        // network namespace, inherited across `ip netns exec`.
        Some(fd) => ProcEvents::from_inherited(fd as i32),
        None => ProcEvents::open(),
    };
    match opened {
        Ok(s) => {
            if let Some(bytes) = crate::daemon::test_hook("proc_events_rcvbuf") {
                // Test hook: a small queue makes lost events easy to provoke.
                s.set_receive_buffer(bytes as usize)
                    .map_err(ProcsError::ReceiveBuffer)?;
            }
            Ok(Some(s))
        }
        Err(e) => {
            warn!(
                "vrrp_track_process: no process events from the kernel ({e}); \
                 reading /proc every {}s instead",
                PROC_POLL.as_secs()
            );
            Ok(None)
        }
    }
}

impl ProcessWatch {
    /// Subscribes to process events and reads /proc once (at start, before
    /// the loop runs), so that the instances start from the real counts.
    /// `None` when no instance tracks a process.
    pub fn setup(cfg: &Config, now: Instant) -> Result<Option<ProcessWatch>, ProcsError> {
        let used = cfg
            .vrrp_instances
            .iter()
            .any(|i| !i.track_processes.is_empty());
        if !used {
            return Ok(None);
        }
        let specs = cfg.vrrp_track_processes.iter().map(spec_of).collect();
        let tracker = ProcessTracker::new(specs).map_err(|_| ProcsError::TooMany)?;
        let socket = open_events()?;
        let mut watch = ProcessWatch {
            wants_cmdline: tracker.wants_cmdline(),
            tracker,
            names: cfg
                .vrrp_track_processes
                .iter()
                .map(|p| p.name.as_str().to_owned())
                .collect(),
            subscribers: vec![Vec::new(); cfg.vrrp_track_processes.len()],
            ack_deadline: socket.as_ref().map(|_| now + ACK_WAIT),
            rescan_at: None,
            socket,
            acked: false,
            backlog: false,
            scan: None,
            scan_again: false,
            stat: Box::new([0; 512]),
            cmdline: Box::new([0; PROC_CMDLINE_BUF]),
            table_full_logged: 0,
            timer: None,
            events: 0,
            overruns: 0,
            rescans: 0,
        };
        watch.first_scan(now)?;
        if watch.socket.is_none() {
            watch.rescan_at = Some(now + PROC_POLL);
        }
        Ok(Some(watch))
    }

    /// The first scan runs whole: nothing waits on the loop yet.
    fn first_scan(&mut self, now: Instant) -> Result<(), ProcsError> {
        let mut dir = ProcDir::open().map_err(ProcsError::Open)?;
        self.tracker.begin_scan();
        while let Some(pid) = dir.next_pid().map_err(ProcsError::Read)? {
            self.scan_one(now, pid);
        }
        self.tracker.end_scan(now, true);
        self.rescans += 1;
        for (d, name) in self.names.iter().enumerate() {
            info!(
                "vrrp_track_process {name}: {} matching process(es) at start, quorum {}",
                self.tracker.count(d),
                if self.tracker.is_up(d) {
                    "met"
                } else {
                    "not met"
                }
            );
        }
        Ok(())
    }

    /// Whether the kernel's process events are used (not /proc rescans).
    pub fn events_used(&self) -> bool {
        self.socket.is_some()
    }

    /// The socket to register, if process events are used.
    pub fn socket(&self) -> Option<&ProcEvents> {
        self.socket.as_ref()
    }

    fn scan_one(&mut self, now: Instant, pid: u32) {
        let cmdline = self.wants_cmdline.then_some(&mut self.cmdline[..]);
        if let Some((comm, len)) = read_process(pid, &mut self.stat, cmdline) {
            let info = ProcInfo {
                comm,
                cmdline: &self.cmdline[..len],
            };
            self.tracker.scan_process(now, pid, &info);
        }
    }

    fn exec(&mut self, now: Instant, pid: u32) {
        let cmdline = self.wants_cmdline.then_some(&mut self.cmdline[..]);
        match read_process(pid, &mut self.stat, cmdline) {
            Some((comm, len)) => {
                let info = ProcInfo {
                    comm,
                    cmdline: &self.cmdline[..len],
                };
                self.tracker.handle_exec(now, pid, Some(&info));
            }
            None => self.tracker.handle_exec(now, pid, None),
        }
    }

    fn fall_back(&mut self, now: Instant, why: &str) {
        warn!(
            "vrrp_track_process: {why}; reading /proc every {}s instead",
            PROC_POLL.as_secs()
        );
        self.socket = None;
        self.ack_deadline = None;
        self.backlog = false;
        if self.scan.is_none() && self.rescan_at.is_none() {
            self.rescan_at = Some(now);
        }
    }

    /// Reads queued events, at most `PROC_EVENTS_PER_WAKEUP`.
    pub fn on_readable(&mut self, now: Instant) {
        self.backlog = false;
        for _ in 0..PROC_EVENTS_PER_WAKEUP {
            let Some(socket) = self.socket.as_mut() else {
                return;
            };
            match socket.recv() {
                Ok(Received::Empty) => return,
                Ok(Received::Ignored) => {}
                Ok(Received::Overrun) => {
                    self.overruns += 1;
                    // One line per episode: a storm overflows again and again.
                    if self.scan.is_none() && self.rescan_at.is_none() {
                        warn!(
                            "vrrp_track_process: process events lost (receive queue full, \
                             {} so far); rescanning /proc",
                            self.overruns
                        );
                    }
                    if self.scan.is_some() {
                        self.scan_again = true;
                    } else {
                        let at = now + RESCAN_AFTER_OVERRUN;
                        self.rescan_at = Some(self.rescan_at.map_or(at, |r| r.min(at)));
                    }
                }
                Ok(Received::Event(ev)) => {
                    self.events += 1;
                    self.event(now, ev);
                }
                Err(e) => {
                    self.fall_back(now, &format!("process events socket: {e}"));
                    return;
                }
            }
        }
        self.backlog = true;
    }

    fn event(&mut self, now: Instant, ev: ProcEvent) {
        match ev {
            ProcEvent::Ack { err: 0 } => {
                self.acked = true;
                self.ack_deadline = None;
            }
            ProcEvent::Ack { err } => {
                let why = std::io::Error::from_raw_os_error(err as i32);
                self.fall_back(now, &format!("the kernel refused process events ({why})"));
            }
            // Threads are not processes (keepalived ignores them too).
            ProcEvent::Fork {
                parent_tgid,
                child_pid,
                child_tgid,
            } if child_pid == child_tgid => self.tracker.handle_fork(now, parent_tgid, child_tgid),
            ProcEvent::Exec { pid, tgid } if pid == tgid => self.exec(now, tgid),
            ProcEvent::Comm {
                pid,
                tgid,
                comm,
                len,
            } if pid == tgid => {
                let name = comm.get(..usize::from(len)).unwrap_or(&[]);
                self.tracker.handle_comm(now, tgid, name);
            }
            ProcEvent::Exit { pid, tgid } if pid == tgid => self.tracker.handle_exit(now, tgid),
            _ => {}
        }
    }

    /// The watcher's timer: leftover events, delays, the subscribe's answer
    /// and rescans.
    pub fn on_timer(&mut self, now: Instant) {
        if self.backlog {
            self.on_readable(now);
        }
        if self.ack_deadline.is_some_and(|at| at <= now) && !self.acked {
            self.fall_back(
                now,
                "the kernel did not answer the process events subscribe",
            );
        }
        self.tracker.handle_timeout(now);
        if self.scan.is_none() && self.rescan_at.is_some_and(|at| at <= now) {
            self.rescan_at = None;
            match ProcDir::open() {
                Ok(dir) => {
                    self.scan = Some(dir);
                    self.tracker.begin_scan();
                }
                Err(e) => {
                    warn!("vrrp_track_process: /proc: {e}");
                    self.rescan_at = Some(now + PROC_POLL);
                }
            }
        }
        if let Some(mut dir) = self.scan.take() {
            let mut finished = false;
            for _ in 0..PROC_SCAN_PER_WAKEUP {
                match dir.next_pid() {
                    Ok(Some(pid)) => self.scan_one(now, pid),
                    Ok(None) => {
                        finished = true;
                        break;
                    }
                    Err(e) => {
                        warn!("vrrp_track_process: reading /proc: {e}");
                        finished = true;
                        break;
                    }
                }
            }
            if finished {
                self.tracker.end_scan(now, false);
                self.rescans += 1;
                if self.socket.is_none() {
                    self.rescan_at = Some(now + PROC_POLL);
                } else if std::mem::take(&mut self.scan_again) {
                    self.rescan_at = Some(now + RESCAN_AFTER_OVERRUN);
                }
            } else {
                self.scan = Some(dir);
            }
        }
        if self.tracker.table_full > self.table_full_logged {
            warn!(
                "vrrp_track_process: {} matching process(es) not counted: more than \
                 MAX_TRACKED_PIDS ({}) tracked at once",
                self.tracker.table_full - self.table_full_logged,
                crate::limits::MAX_TRACKED_PIDS
            );
            self.table_full_logged = self.tracker.table_full;
        }
    }

    /// When the watcher needs its timer: at once for leftover events or a
    /// running scan, else the earliest delay, rescan or subscribe deadline.
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        if self.backlog || self.scan.is_some() {
            return Some(now);
        }
        [self.tracker.poll_at(), self.rescan_at, self.ack_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// A definition whose quorum changed, and its new status.
    pub fn poll_change(&mut self) -> Option<(usize, bool)> {
        let (d, up) = self.tracker.poll_change()?;
        info!(
            "vrrp_track_process {}: quorum {} ({} matching process(es))",
            self.names.get(d).map_or("?", String::as_str),
            if up { "gained" } else { "lost" },
            self.tracker.count(d)
        );
        Some((d, up))
    }
}
