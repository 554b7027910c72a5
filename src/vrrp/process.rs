//! Process tracking (`vrrp_track_process`): which running processes match
//! each definition, and whether their number is within its quorum.
//!
//! keepalived 2.2.7's semantics (track_process.c), fed by the daemon with the
//! kernel's process events and /proc reads; nothing here reads /proc or a
//! clock:
//! - a definition matches a process by its `comm` (the kernel's 15-byte name),
//!   or with `full_command` by `argv[0]`, and with `param_match` by the
//!   arguments too (exact, partial = the first ones, initial = the last
//!   given one may be a prefix);
//! - the definition is "up" while `quorum <= count <= quorum_max`;
//! - a count change that crosses a bound changes the status at once, except
//!   that a fork waits `fork_delay` and an exit waits `terminate_delay`; a
//!   crossing back while such a delay runs cancels it;
//! - a child forked by a tracked process counts for the parent's definitions
//!   without being read (keepalived's rule: it is the same program until it
//!   execs); an exec or a name change (`PR_SET_NAME`) re-reads it.
//!
//! The tracked processes live in a fixed table (`limits::MAX_TRACKED_PIDS`);
//! a matching process that finds it full is not counted, and is counted in
//! [`ProcessTracker::table_full`] for the daemon to log. After lost events
//! the daemon rescans /proc: `begin_scan`, `scan_process` per process (a few
//! per wake-up), `end_scan`; events keep being applied meanwhile, the status
//! is only re-evaluated at the end, and entries the scan did not see (and no
//! event touched) are dropped.

use std::time::{Duration, Instant};

use crate::limits::{MAX_TRACKED_PIDS, MAX_TRACK_PROCESSES};

/// How the arguments of a process are compared (`param_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamMatch {
    /// Arguments are not looked at.
    None,
    /// The arguments are exactly the given ones.
    Exact,
    /// The given arguments are the first ones; more may follow.
    Partial,
    /// As partial, and the last given argument may be the start of the
    /// process's argument.
    Initial,
}

/// One `vrrp_track_process` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// `process`: the name (comm) or, with `full_command`, argv[0].
    pub name: Vec<u8>,
    /// The arguments after the name, each followed by a NUL byte (as in
    /// /proc/PID/cmdline).
    pub params: Vec<u8>,
    /// `param_match`.
    pub param_match: ParamMatch,
    /// `full_command`: match argv[0] from /proc/PID/cmdline, not comm.
    pub full_command: bool,
    /// `quorum`: fewest matching processes that count as up.
    pub quorum: u32,
    /// `quorum_max`: most matching processes that count as up.
    pub quorum_max: u32,
    /// `fork_delay`: how long a fork that reaches quorum waits.
    pub fork_delay: Duration,
    /// `terminate_delay`: how long an exit that loses quorum waits.
    pub terminate_delay: Duration,
}

/// What the daemon read about one process.
#[derive(Debug, Clone, Copy)]
pub struct ProcInfo<'a> {
    /// The kernel's name (/proc/PID/stat's second field, no newline).
    pub comm: &'a [u8],
    /// /proc/PID/cmdline (NUL-separated arguments), possibly cut short.
    pub cmdline: &'a [u8],
}

impl ProcessSpec {
    /// Whether a process with this name and command line matches.
    pub fn matches(&self, info: &ProcInfo<'_>) -> bool {
        if !self.full_command {
            return info.comm == self.name.as_slice();
        }
        let cmdline = info.cmdline;
        let (argv0, rest) = match cmdline.iter().position(|&b| b == 0) {
            Some(end) => (&cmdline[..end], Some(&cmdline[end + 1..])),
            None => (cmdline, None),
        };
        if argv0.is_empty() || argv0 != self.name.as_slice() {
            return false;
        }
        if self.param_match == ParamMatch::None {
            return true;
        }
        let given = self.params.as_slice();
        let Some(rest) = rest else {
            // A rewritten command line without NUL bytes has no arguments
            // to compare: only an empty partial / initial pattern matches.
            return given.is_empty() && self.param_match != ParamMatch::Exact;
        };
        match self.param_match {
            ParamMatch::None => true,
            ParamMatch::Exact => rest == given,
            ParamMatch::Partial => rest.starts_with(given),
            ParamMatch::Initial => match given.split_last() {
                // The last argument's NUL is left out: it may be a prefix.
                Some((_, head)) => rest.len() >= given.len() && rest.starts_with(head),
                None => true,
            },
        }
    }

    /// Whether `count` matching processes are within the quorum.
    pub fn in_range(&self, count: u32) -> bool {
        count >= self.quorum && count <= self.quorum_max
    }
}

/// One tracked process in the table.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// 0 = empty (pid 0 is never a process to track).
    pid: u32,
    /// The scan (or event) generation that last confirmed it.
    generation: u32,
    /// Which definitions it counts for (bit d = definition d).
    matched: u64,
}

/// Open addressing with linear probing, twice the capacity in slots, and
/// backward-shift deletion (no tombstones): allocated once.
#[derive(Debug, Clone)]
struct PidTable {
    slots: Vec<Slot>,
    len: usize,
}

const TABLE_SLOTS: usize = (2 * MAX_TRACKED_PIDS).next_power_of_two();

impl PidTable {
    fn new() -> PidTable {
        PidTable {
            slots: vec![Slot::default(); TABLE_SLOTS],
            len: 0,
        }
    }

    fn home(pid: u32) -> usize {
        (pid.wrapping_mul(0x9E37_79B1) as usize) & (TABLE_SLOTS - 1)
    }

    fn find(&self, pid: u32) -> Option<usize> {
        if pid == 0 {
            return None;
        }
        let mut i = Self::home(pid);
        loop {
            let slot = self.slots.get(i)?;
            if slot.pid == pid {
                return Some(i);
            }
            if slot.pid == 0 {
                return None;
            }
            i = (i + 1) & (TABLE_SLOTS - 1);
        }
    }

    /// The slot of `pid`, added empty when absent; `None` when full.
    fn entry(&mut self, pid: u32) -> Option<usize> {
        if let Some(i) = self.find(pid) {
            return Some(i);
        }
        if pid == 0 || self.len >= MAX_TRACKED_PIDS {
            return None;
        }
        let mut i = Self::home(pid);
        while self.slots.get(i)?.pid != 0 {
            i = (i + 1) & (TABLE_SLOTS - 1);
        }
        self.slots[i] = Slot {
            pid,
            generation: 0,
            matched: 0,
        };
        self.len += 1;
        Some(i)
    }

    fn remove_at(&mut self, mut hole: usize) {
        if self.slots.get(hole).map_or(true, |s| s.pid == 0) {
            return;
        }
        self.slots[hole] = Slot::default();
        self.len -= 1;
        // Move back any later entry of the run that may no longer be found.
        let mut i = (hole + 1) & (TABLE_SLOTS - 1);
        while self.slots[i].pid != 0 {
            let home = Self::home(self.slots[i].pid);
            // Distance from home to i and from home to hole, cyclically.
            let dist_i = i.wrapping_sub(home) & (TABLE_SLOTS - 1);
            let dist_hole = hole.wrapping_sub(home) & (TABLE_SLOTS - 1);
            if dist_hole < dist_i {
                self.slots[hole] = self.slots[i];
                self.slots[i] = Slot::default();
                hole = i;
            }
            i = (i + 1) & (TABLE_SLOTS - 1);
        }
    }
}

/// Run-time state of one definition.
#[derive(Debug, Clone, Copy, Default)]
struct Quorum {
    count: u32,
    up: bool,
    /// A delayed re-evaluation (fork_delay / terminate_delay).
    pending: Option<Instant>,
}

/// Why a count changed: forks and exits may wait, everything else is at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Fork,
    Exit,
    Read,
}

/// The definitions, the processes counted for them and their status.
#[derive(Debug, Clone)]
pub struct ProcessTracker {
    specs: Vec<ProcessSpec>,
    state: Vec<Quorum>,
    table: PidTable,
    generation: u32,
    scanning: bool,
    /// Definitions whose status changed since the last `poll_change`.
    changed: u64,
    /// Bits of the definitions matched by comm (not `full_command`).
    by_comm: u64,
    /// Matching processes not counted because the table was full.
    pub table_full: u64,
}

/// More definitions than `limits::MAX_TRACK_PROCESSES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyDefinitions;

impl ProcessTracker {
    /// A tracker for these definitions; nothing counted, every status down
    /// until the first scan ends.
    pub fn new(specs: Vec<ProcessSpec>) -> Result<ProcessTracker, TooManyDefinitions> {
        if specs.len() > MAX_TRACK_PROCESSES {
            return Err(TooManyDefinitions);
        }
        let by_comm = specs
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.full_command)
            .fold(0u64, |m, (d, _)| m | (1 << d));
        Ok(ProcessTracker {
            state: vec![Quorum::default(); specs.len()],
            specs,
            table: PidTable::new(),
            generation: 0,
            scanning: false,
            changed: 0,
            by_comm,
            table_full: 0,
        })
    }

    /// Whether any definition needs /proc/PID/cmdline (`full_command`).
    pub fn wants_cmdline(&self) -> bool {
        self.specs.iter().any(|s| s.full_command)
    }

    /// Number of definitions.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// True without definitions.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// Matching processes counted for definition `d`.
    pub fn count(&self, d: usize) -> u32 {
        self.state.get(d).map_or(0, |s| s.count)
    }

    /// Whether definition `d` is up (its quorum is met).
    pub fn is_up(&self, d: usize) -> bool {
        self.state.get(d).is_some_and(|s| s.up)
    }

    /// Processes in the table.
    pub fn tracked(&self) -> usize {
        self.table.len
    }

    /// Whether a rescan is running.
    pub fn scanning(&self) -> bool {
        self.scanning
    }

    fn mask_of(&self, info: &ProcInfo<'_>) -> u64 {
        self.specs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.matches(info))
            .fold(0u64, |m, (d, _)| m | (1 << d))
    }

    /// Sets what process `pid` counts for, updating counts and statuses.
    fn set(&mut self, now: Instant, pid: u32, matched: u64, cause: Cause) {
        let slot = if matched == 0 {
            match self.table.find(pid) {
                Some(i) => i,
                None => return,
            }
        } else {
            match self.table.entry(pid) {
                Some(i) => i,
                None => {
                    self.table_full += 1;
                    return;
                }
            }
        };
        let old = self.table.slots[slot].matched;
        self.table.slots[slot].matched = matched;
        self.table.slots[slot].generation = self.generation;
        if matched == 0 {
            self.table.remove_at(slot);
        }
        self.apply(now, old, matched, cause);
    }

    fn apply(&mut self, now: Instant, old: u64, new: u64, cause: Cause) {
        let mut diff = old ^ new;
        while diff != 0 {
            let d = diff.trailing_zeros() as usize;
            diff &= diff - 1;
            let Some(st) = self.state.get_mut(d) else {
                continue;
            };
            let before = st.count;
            let added = new & (1 << d) != 0;
            st.count = if added {
                before.saturating_add(1)
            } else {
                before.saturating_sub(1)
            };
            let after = st.count;
            self.crossing(now, d, before, after, cause);
        }
    }

    /// keepalived's rule for a count that crossed a quorum bound.
    fn crossing(&mut self, now: Instant, d: usize, before: u32, after: u32, cause: Cause) {
        if self.scanning {
            return;
        }
        let spec = &self.specs[d];
        let is = spec.in_range(after);
        if spec.in_range(before) == is {
            return;
        }
        let delay = match cause {
            Cause::Fork if after > before => spec.fork_delay,
            Cause::Exit => spec.terminate_delay,
            _ => Duration::ZERO,
        };
        let st = &mut self.state[d];
        if st.pending.take().is_some() || delay.is_zero() {
            self.report(d, is);
        } else {
            st.pending = Some(now + delay);
        }
    }

    fn report(&mut self, d: usize, up: bool) {
        if let Some(st) = self.state.get_mut(d) {
            if st.up != up {
                st.up = up;
                self.changed |= 1 << d;
            }
        }
    }

    /// PROC_EVENT_FORK of a new process (not a thread): a child of a tracked
    /// process counts for what its parent counts for.
    pub fn handle_fork(&mut self, now: Instant, parent: u32, child: u32) {
        let Some(p) = self.table.find(parent) else {
            return;
        };
        let matched = self.table.slots[p].matched;
        self.set(now, child, matched, Cause::Fork);
    }

    /// PROC_EVENT_EXEC: the process was read again (`None`: it is gone
    /// already, its exit follows).
    pub fn handle_exec(&mut self, now: Instant, pid: u32, info: Option<&ProcInfo<'_>>) {
        let Some(info) = info else { return };
        let matched = self.mask_of(info);
        self.set(now, pid, matched, Cause::Read);
    }

    /// PROC_EVENT_COMM: the process renamed itself; only the definitions
    /// that match by name look again.
    pub fn handle_comm(&mut self, now: Instant, pid: u32, comm: &[u8]) {
        let info = ProcInfo { comm, cmdline: &[] };
        let by_name = self.mask_of(&info) & self.by_comm;
        let old = self
            .table
            .find(pid)
            .map_or(0, |i| self.table.slots[i].matched);
        self.set(now, pid, (old & !self.by_comm) | by_name, Cause::Read);
    }

    /// PROC_EVENT_EXIT of a process (not a thread).
    pub fn handle_exit(&mut self, now: Instant, pid: u32) {
        self.set(now, pid, 0, Cause::Exit);
    }

    /// A delayed re-evaluation may be due.
    pub fn handle_timeout(&mut self, now: Instant) {
        for d in 0..self.state.len() {
            if self.state[d].pending.is_some_and(|at| at <= now) {
                self.state[d].pending = None;
                let up = self.specs[d].in_range(self.state[d].count);
                self.report(d, up);
            }
        }
    }

    /// The earliest delayed re-evaluation.
    pub fn poll_at(&self) -> Option<Instant> {
        self.state.iter().filter_map(|s| s.pending).min()
    }

    /// A definition whose status changed, with its new status.
    pub fn poll_change(&mut self) -> Option<(usize, bool)> {
        if self.changed == 0 {
            return None;
        }
        let d = self.changed.trailing_zeros() as usize;
        self.changed &= self.changed - 1;
        Some((d, self.is_up(d)))
    }

    /// Starts a rescan of every process: statuses hold still (and delays
    /// are dropped) until [`end_scan`](Self::end_scan).
    pub fn begin_scan(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.scanning = true;
        for st in &mut self.state {
            st.pending = None;
        }
    }

    /// One process the rescan found (a zombie or unreadable one is skipped
    /// by the caller).
    pub fn scan_process(&mut self, now: Instant, pid: u32, info: &ProcInfo<'_>) {
        let matched = self.mask_of(info);
        self.set(now, pid, matched, Cause::Read);
        // Confirm an entry that matches nothing: nothing to keep.
    }

    /// Ends the rescan: what it did not see has ended; statuses follow the
    /// counts (a loss waits `terminate_delay`, as after keepalived's
    /// reinitialisation). `initial`: the first scan at start, which sets the
    /// statuses without reporting changes.
    pub fn end_scan(&mut self, now: Instant, initial: bool) {
        let generation = self.generation;
        let mut i = 0;
        while i < TABLE_SLOTS {
            let slot = self.table.slots[i];
            if slot.pid != 0 && slot.generation != generation {
                self.table.remove_at(i);
                self.apply(now, slot.matched, 0, Cause::Read);
                // The shift may have moved another entry into `i`.
                continue;
            }
            i += 1;
        }
        self.scanning = false;
        for d in 0..self.specs.len() {
            let spec = &self.specs[d];
            let is = spec.in_range(self.state[d].count);
            if initial {
                self.state[d].up = is;
            } else if is != self.state[d].up {
                if is || spec.terminate_delay.is_zero() {
                    self.report(d, is);
                } else {
                    self.state[d].pending = Some(now + spec.terminate_delay);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock
mod tests {
    use super::*;

    fn spec(name: &str) -> ProcessSpec {
        ProcessSpec {
            name: name.as_bytes().to_vec(),
            params: Vec::new(),
            param_match: ParamMatch::None,
            full_command: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        }
    }

    fn full(name: &str, params: &[&str], m: ParamMatch) -> ProcessSpec {
        let mut s = spec(name);
        s.full_command = true;
        s.param_match = m;
        for p in params {
            s.params.extend_from_slice(p.as_bytes());
            s.params.push(0);
        }
        s
    }

    fn info<'a>(comm: &'a str, cmdline: &'a [u8]) -> ProcInfo<'a> {
        ProcInfo {
            comm: comm.as_bytes(),
            cmdline,
        }
    }

    #[test]
    fn name_matching_uses_comm_or_argv0() {
        let by_name = spec("nginx");
        assert!(by_name.matches(&info("nginx", b"/usr/sbin/nginx\0-g\0")));
        assert!(!by_name.matches(&info("nginx: worker", b"nginx\0")));
        let by_path = full("/usr/sbin/nginx", &[], ParamMatch::None);
        assert!(by_path.matches(&info("x", b"/usr/sbin/nginx\0-g\0off\0")));
        assert!(!by_path.matches(&info("nginx", b"nginx\0")));
        // A kernel thread or zombie has an empty command line.
        assert!(!by_path.matches(&info("nginx", b"")));
    }

    #[test]
    fn parameters_exact_partial_initial() {
        let cmd = b"/bin/app\0--port\x008080\0";
        let exact = full("/bin/app", &["--port", "8080"], ParamMatch::Exact);
        assert!(exact.matches(&info("app", cmd)));
        assert!(!exact.matches(&info("app", b"/bin/app\0--port\x008080\0-v\0")));
        assert!(!exact.matches(&info("app", b"/bin/app\0--port\0\0")));
        let none_given = full("/bin/app", &[], ParamMatch::Exact);
        assert!(none_given.matches(&info("app", b"/bin/app\0")));
        assert!(!none_given.matches(&info("app", cmd)));
        let partial = full("/bin/app", &["--port"], ParamMatch::Partial);
        assert!(partial.matches(&info("app", cmd)));
        assert!(!partial.matches(&info("app", b"/bin/app\0--portx\0")));
        let initial = full("/bin/app", &["--port", "80"], ParamMatch::Initial);
        assert!(initial.matches(&info("app", cmd)));
        assert!(!initial.matches(&info("app", b"/bin/app\0--port\x007080\0")));
        assert!(!initial.matches(&info("app", b"/bin/app\0--port\0")));
        // No NUL at all: a rewritten title, no arguments to compare.
        assert!(!exact.matches(&info("app", b"/bin/app")));
        assert!(full("/bin/app", &[], ParamMatch::Partial).matches(&info("app", b"/bin/app")));
    }

    fn tracker(specs: Vec<ProcessSpec>) -> ProcessTracker {
        let mut t = ProcessTracker::new(specs).unwrap();
        t.begin_scan();
        t.end_scan(Instant::now(), true);
        t
    }

    #[test]
    fn exec_and_exit_move_the_quorum() {
        let t0 = Instant::now();
        let mut s = spec("sleep");
        s.quorum = 2;
        s.quorum_max = 3;
        let mut t = tracker(vec![s]);
        assert!(!t.is_up(0));
        let sleep = info("sleep", b"sleep\x00100\0");
        t.handle_exec(t0, 10, Some(&sleep));
        assert_eq!((t.count(0), t.is_up(0), t.poll_change()), (1, false, None));
        t.handle_exec(t0, 11, Some(&sleep));
        assert_eq!(t.poll_change(), Some((0, true)));
        // The same process read again is not counted twice.
        t.handle_exec(t0, 11, Some(&sleep));
        assert_eq!(t.count(0), 2);
        t.handle_exec(t0, 12, Some(&sleep));
        t.handle_exec(t0, 13, Some(&sleep));
        assert_eq!((t.count(0), t.poll_change()), (4, Some((0, false))));
        t.handle_exit(t0, 13);
        assert_eq!(t.poll_change(), Some((0, true)));
        // An exec into another program leaves the count.
        t.handle_exec(t0, 12, Some(&info("bash", b"bash\0")));
        t.handle_exit(t0, 999);
        assert_eq!((t.count(0), t.is_up(0)), (2, true));
        t.handle_exit(t0, 10);
        assert_eq!(t.poll_change(), Some((0, false)));
        assert_eq!(t.tracked(), 1);
    }

    #[test]
    fn fork_counts_the_child_and_waits_fork_delay() {
        let t0 = Instant::now();
        let mut s = spec("app");
        s.quorum = 2;
        s.fork_delay = Duration::from_secs(2);
        s.terminate_delay = Duration::from_secs(3);
        let mut t = tracker(vec![s]);
        t.handle_exec(t0, 100, Some(&info("app", b"")));
        // An untracked parent's child is nothing.
        t.handle_fork(t0, 1, 2);
        assert_eq!(t.tracked(), 1);
        t.handle_fork(t0, 100, 101);
        assert_eq!((t.count(0), t.is_up(0)), (2, false));
        assert_eq!(t.poll_at(), Some(t0 + Duration::from_secs(2)));
        t.handle_timeout(t0 + Duration::from_secs(1));
        assert!(!t.is_up(0));
        t.handle_timeout(t0 + Duration::from_secs(2));
        assert_eq!(t.poll_change(), Some((0, true)));
        // An exit waits terminate_delay; a fork back in range cancels it.
        let t1 = t0 + Duration::from_secs(10);
        t.handle_exit(t1, 101);
        assert_eq!(t.poll_at(), Some(t1 + Duration::from_secs(3)));
        t.handle_fork(t1, 100, 102);
        assert_eq!(
            (t.poll_at(), t.is_up(0), t.poll_change()),
            (None, true, None)
        );
        // An exit during fork_delay cancels the fork's wait at once.
        t.handle_exit(t1, 102);
        t.handle_timeout(t1 + Duration::from_secs(3));
        assert_eq!(t.poll_change(), Some((0, false)));
        t.handle_fork(t1, 100, 103);
        assert!(t.poll_at().is_some());
        t.handle_exit(t1, 103);
        assert_eq!(
            (t.poll_at(), t.is_up(0), t.poll_change()),
            (None, false, None)
        );
    }

    #[test]
    fn comm_change_and_quorum_zero() {
        let t0 = Instant::now();
        let mut none_allowed = spec("rogue");
        none_allowed.quorum = 0;
        none_allowed.quorum_max = 0;
        let by_path = full("/bin/rogue", &[], ParamMatch::None);
        let mut t = tracker(vec![none_allowed, by_path]);
        assert!(t.is_up(0), "no rogue process: up");
        assert!(!t.is_up(1));
        t.handle_exec(t0, 5, Some(&info("rogue", b"/bin/rogue\0")));
        assert_eq!(t.poll_change(), Some((0, false)));
        assert_eq!(t.poll_change(), Some((1, true)));
        // Renamed: the comm definition lets go, the argv[0] one keeps it.
        t.handle_comm(t0, 5, b"tame");
        assert_eq!(t.poll_change(), Some((0, true)));
        assert_eq!((t.count(1), t.poll_change()), (1, None));
        t.handle_comm(t0, 6, b"rogue");
        assert_eq!(t.poll_change(), Some((0, false)));
    }

    #[test]
    fn rescan_drops_what_it_missed_without_flapping() {
        let t0 = Instant::now();
        let mut s = spec("d");
        s.quorum_max = 1;
        let mut t = tracker(vec![s]);
        t.handle_exec(t0, 7, Some(&info("d", b"")));
        assert_eq!(t.poll_change(), Some((0, true)));
        // Lost events: 7 ended and 8 replaced it; the rescan sees only 8.
        t.begin_scan();
        t.scan_process(t0, 8, &info("d", b""));
        t.scan_process(t0, 9, &info("other", b""));
        assert_eq!(t.count(0), 2, "7 is still counted until the scan ends");
        assert_eq!(t.poll_change(), None, "no status change while scanning");
        // An event during the scan is applied and kept.
        t.handle_exec(t0, 20, Some(&info("x", b"")));
        t.end_scan(t0, false);
        assert_eq!((t.count(0), t.tracked(), t.poll_change()), (1, 1, None));
        assert!(t.is_up(0));
        // A rescan that finds nothing loses the quorum.
        t.begin_scan();
        t.end_scan(t0, false);
        assert_eq!((t.count(0), t.poll_change()), (0, Some((0, false))));
    }

    #[test]
    fn the_table_is_bounded_and_survives_churn() {
        let t0 = Instant::now();
        let mut t = tracker(vec![spec("bomb")]);
        let bomb = info("bomb", b"");
        for pid in 1..=(MAX_TRACKED_PIDS as u32 + 100) {
            t.handle_exec(t0, pid, Some(&bomb));
        }
        assert_eq!(t.tracked(), MAX_TRACKED_PIDS);
        assert_eq!(t.table_full, 100);
        assert_eq!(t.count(0), MAX_TRACKED_PIDS as u32);
        // Remove every other one, then all: every lookup must still work
        // after the backward shifts.
        for pid in (1..=MAX_TRACKED_PIDS as u32).step_by(2) {
            t.handle_exit(t0, pid);
        }
        for pid in (2..=MAX_TRACKED_PIDS as u32).step_by(2) {
            assert!(t.table.find(pid).is_some(), "pid {pid} lost");
        }
        for pid in 1..=(MAX_TRACKED_PIDS as u32 + 100) {
            t.handle_exit(t0, pid);
        }
        assert_eq!((t.tracked(), t.count(0)), (0, 0));
        assert!(t.table.slots.iter().all(|s| s.pid == 0));
    }

    #[test]
    fn too_many_definitions_are_refused() {
        let specs = vec![spec("a"); MAX_TRACK_PROCESSES + 1];
        assert_eq!(ProcessTracker::new(specs).err(), Some(TooManyDefinitions));
    }
}
