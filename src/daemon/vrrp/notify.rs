//! The notify queue: the notify commands of one instance or group, split at setup and
//! run one at a time, in order, with a bounded queue that drops the oldest.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use log::{debug, warn};
use mio::Registry;

use super::scripts::{describe, spawn, split, Argv, Insecure, Running, ScriptError};
use super::scripts::{insecure_reason, CHILD_SLOT_RETRY};
use crate::config::Notify;
use crate::limits::MAX_NOTIFY_QUEUE;
use crate::script::ChildEnd;
use crate::vrrp::instance::NotifyState;

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

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;
    use crate::daemon::vrrp::scripts::argv_of as os;

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
}
