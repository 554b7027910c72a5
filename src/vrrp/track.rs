//! Tracked objects of a VRRP instance (interfaces, `vrrp_script` results,
//! track files, tracked processes) and the effective priority they give.
//!
//! Rules (keepalived.conf(5), BEHAVIOUR.md "Tracking"): weight 0 means FAULT
//! while down; a positive weight is added while up; a negative weight is
//! subtracted while down. A track file's value is multiplied by its weight
//! (clamped to -254..=253, and -254 means FAULT); with weight 0 any non-zero
//! value means FAULT. `reverse` turns each rule round (keepalived's weight
//! multiplier -1). The result is clamped to 1..=254, and an address owner
//! (255) never changes priority.

use crate::limits::MAX_TRACKS_PER_INSTANCE;

/// Most tracked objects per instance: every kind plus the implicit own interface.
pub const MAX_TRACKS: usize = 4 * MAX_TRACKS_PER_INSTANCE + 1;

/// What is tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    /// A network interface (up = link up and running).
    Interface,
    /// A `vrrp_script` (up = its rise/fall filtered result is success).
    Script,
    /// A track file holding an integer.
    File,
    /// A `vrrp_track_process` (up = its quorum is met).
    Process,
}

/// Current status of one tracked object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackStatus {
    /// Interface up / script succeeding.
    Up,
    /// Interface down / script failing.
    Down,
    /// Value read from a track file.
    Value(i32),
}

/// How one object is tracked: its kind, weight and status at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackSpec {
    /// Kind of object.
    pub kind: TrackKind,
    /// Weight, -253..=253 (0: FAULT while down).
    pub weight: i32,
    /// Status assumed until the first report.
    pub initial: TrackStatus,
    /// `reverse`: the weight applies the other way round (keepalived's
    /// weight multiplier -1): with weight 0, FAULT while up (a file: while
    /// 0); otherwise the contribution is negated.
    pub reverse: bool,
}

/// Index of a tracked object inside its instance's [`TrackSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackId(pub usize);

/// The set is full (more than [`MAX_TRACKS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackSetFull;

impl core::fmt::Display for TrackSetFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "tracked objects: more than {MAX_TRACKS} per instance")
    }
}

/// The tracked objects of one instance.
#[derive(Debug, Clone, Default)]
pub struct TrackSet {
    items: heapless::Vec<(TrackSpec, TrackStatus), MAX_TRACKS>,
}

impl TrackSet {
    /// An empty set.
    pub fn new() -> TrackSet {
        TrackSet::default()
    }

    /// Add an object; its id is its position.
    pub fn add(&mut self, spec: TrackSpec) -> Result<TrackId, TrackSetFull> {
        let id = TrackId(self.items.len());
        self.items
            .push((spec, spec.initial))
            .map_err(|_| TrackSetFull)?;
        Ok(id)
    }

    /// Record a new status; returns false for an unknown id.
    pub fn set(&mut self, id: TrackId, status: TrackStatus) -> bool {
        match self.items.get_mut(id.0) {
            Some(item) => {
                item.1 = status;
                true
            }
            None => false,
        }
    }

    /// Current status of an object.
    pub fn status(&self, id: TrackId) -> Option<TrackStatus> {
        self.items.get(id.0).map(|item| item.1)
    }

    /// Number of tracked objects.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// True while any weight-0 object is down (or a weight-0 file is
    /// non-zero; reversed: up, or zero), or a weighted file's value times
    /// its weight reaches -254 (keepalived's FAULT for a track file).
    pub fn is_fault(&self) -> bool {
        self.items.iter().any(|(spec, status)| {
            if spec.weight == 0 {
                let down = match status {
                    TrackStatus::Down => true,
                    TrackStatus::Up => false,
                    TrackStatus::Value(v) => *v != 0,
                };
                return down != spec.reverse;
            }
            matches!(status, TrackStatus::Value(_)) && contribution(spec, *status) <= FILE_FAULT
        })
    }

    /// Sum of the weights that currently apply.
    pub fn priority_delta(&self) -> i32 {
        self.items
            .iter()
            .map(|(spec, status)| match contribution(spec, *status) {
                FILE_FAULT => 0,
                c => c,
            })
            .fold(0i32, |a, b| a.saturating_add(b))
    }
}

/// A track file's value times its weight at or below this is FAULT
/// (keepalived clamps the product to -254..=253 and treats -254 as FAULT).
const FILE_FAULT: i32 = -254;

/// What one object adds to the priority now (0 for weight 0).
fn contribution(spec: &TrackSpec, status: TrackStatus) -> i32 {
    let sign = if spec.reverse { -1 } else { 1 };
    match status {
        _ if spec.weight == 0 => 0,
        TrackStatus::Up if spec.weight > 0 => spec.weight * sign,
        TrackStatus::Down if spec.weight < 0 => spec.weight * sign,
        TrackStatus::Value(v) => (i64::from(v) * i64::from(spec.weight) * i64::from(sign))
            .clamp(i64::from(FILE_FAULT), 253) as i32,
        _ => 0,
    }
}

/// Effective priority: an owner (255) never changes; others clamp to 1..=254.
pub fn effective_priority(base: u8, delta: i32) -> u8 {
    if base == 255 {
        return 255;
    }
    (i32::from(base).saturating_add(delta)).clamp(1, 254) as u8
}

/// Rise/fall filter of a `vrrp_script`: `rise` successes in a row to go up,
/// `fall` failures in a row to go down (both default 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptFilter {
    rise: u8,
    fall: u8,
    up: bool,
    streak: u8,
}

impl ScriptFilter {
    /// A filter starting `up` (or down) with the given thresholds (0 is treated as 1).
    pub fn new(rise: u8, fall: u8, up: bool) -> ScriptFilter {
        ScriptFilter {
            rise: rise.max(1),
            fall: fall.max(1),
            up,
            streak: 0,
        }
    }

    /// Feed one result (exit 0 = success; a timeout is a failure). Returns the new
    /// status when it changes.
    pub fn record(&mut self, success: bool) -> Option<TrackStatus> {
        if success == self.up {
            self.streak = 0;
            return None;
        }
        self.streak = self.streak.saturating_add(1);
        let needed = if success { self.rise } else { self.fall };
        if self.streak >= needed {
            self.up = success;
            self.streak = 0;
            Some(if success {
                TrackStatus::Up
            } else {
                TrackStatus::Down
            })
        } else {
            None
        }
    }

    /// Current filtered status.
    pub fn status(&self) -> TrackStatus {
        if self.up {
            TrackStatus::Up
        } else {
            TrackStatus::Down
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: TrackKind, weight: i32, initial: TrackStatus) -> TrackSpec {
        TrackSpec {
            kind,
            weight,
            initial,
            reverse: false,
        }
    }

    #[test]
    fn weights_apply_by_sign() {
        let mut set = TrackSet::new();
        let up = set
            .add(spec(TrackKind::Script, 20, TrackStatus::Up))
            .unwrap();
        let down = set
            .add(spec(TrackKind::Interface, -30, TrackStatus::Up))
            .unwrap();
        assert_eq!(set.priority_delta(), 20);
        set.set(down, TrackStatus::Down);
        assert_eq!(set.priority_delta(), -10);
        set.set(up, TrackStatus::Down);
        assert_eq!(set.priority_delta(), -30);
        assert!(!set.is_fault());
    }

    #[test]
    fn weight_zero_means_fault_while_down() {
        let mut set = TrackSet::new();
        let id = set
            .add(spec(TrackKind::Interface, 0, TrackStatus::Up))
            .unwrap();
        assert!(!set.is_fault());
        set.set(id, TrackStatus::Down);
        assert!(set.is_fault());
        assert_eq!(set.priority_delta(), 0);
        let file = set
            .add(spec(TrackKind::File, 0, TrackStatus::Value(0)))
            .unwrap();
        set.set(id, TrackStatus::Up);
        assert!(!set.is_fault());
        set.set(file, TrackStatus::Value(3));
        assert!(set.is_fault());
        assert!(!set.set(TrackId(99), TrackStatus::Up));
    }

    #[test]
    fn file_value_times_weight() {
        let mut set = TrackSet::new();
        set.add(spec(TrackKind::File, -5, TrackStatus::Value(4)))
            .unwrap();
        assert_eq!(set.priority_delta(), -20);
    }

    #[test]
    fn reverse_and_file_fault_like_keepalived() {
        let mut set = TrackSet::new();
        let mut s = spec(TrackKind::File, 0, TrackStatus::Value(0));
        s.reverse = true;
        let file = set.add(s).unwrap();
        assert!(set.is_fault(), "reversed weight 0: a zero file is FAULT");
        set.set(file, TrackStatus::Value(2));
        assert!(!set.is_fault());
        let mut set = TrackSet::new();
        let mut s = spec(TrackKind::File, 10, TrackStatus::Value(3));
        s.reverse = true;
        let file = set.add(s).unwrap();
        assert_eq!(set.priority_delta(), -30);
        set.set(file, TrackStatus::Value(-2));
        assert_eq!(set.priority_delta(), 20);
        // The product is clamped to 253, and -254 or less is FAULT.
        set.set(file, TrackStatus::Value(-100));
        assert_eq!((set.priority_delta(), set.is_fault()), (253, false));
        set.set(file, TrackStatus::Value(26));
        assert_eq!((set.priority_delta(), set.is_fault()), (0, true));
        let mut set = TrackSet::new();
        let mut s = spec(TrackKind::Process, 10, TrackStatus::Up);
        s.reverse = true;
        let p = set.add(s).unwrap();
        let mut s = spec(TrackKind::Process, -5, TrackStatus::Up);
        s.reverse = true;
        let q = set.add(s).unwrap();
        assert_eq!(set.priority_delta(), -10);
        set.set(p, TrackStatus::Down);
        set.set(q, TrackStatus::Down);
        assert_eq!(set.priority_delta(), 5);
        let mut s = spec(TrackKind::Process, 0, TrackStatus::Down);
        s.reverse = true;
        let z = set.add(s).unwrap();
        assert!(!set.is_fault(), "reversed weight 0: FAULT while up");
        set.set(z, TrackStatus::Up);
        assert!(set.is_fault());
    }

    #[test]
    fn clamping_and_owner() {
        assert_eq!(effective_priority(100, 200), 254);
        assert_eq!(effective_priority(100, -200), 1);
        assert_eq!(effective_priority(100, -20), 80);
        assert_eq!(effective_priority(255, -100), 255);
        assert_eq!(effective_priority(255, 10), 255);
    }

    #[test]
    fn rise_and_fall() {
        let mut f = ScriptFilter::new(2, 3, true);
        assert_eq!(f.record(false), None);
        assert_eq!(f.record(false), None);
        assert_eq!(f.record(true), None); // streak broken
        assert_eq!(f.record(false), None);
        assert_eq!(f.record(false), None);
        assert_eq!(f.record(false), Some(TrackStatus::Down));
        assert_eq!(f.record(true), None);
        assert_eq!(f.record(true), Some(TrackStatus::Up));
        assert_eq!(f.status(), TrackStatus::Up);
    }
}
