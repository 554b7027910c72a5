//! Tracked objects of a VRRP instance (interfaces, `vrrp_script` results, track files) and the effective priority they give.
//!
//! Rules (keepalived.conf(5), BEHAVIOUR.md "Tracking"): weight 0 means FAULT
//! while down; a positive weight is added while up; a negative weight is
//! subtracted while down. A track file's value is multiplied by its weight; with
//! weight 0 any non-zero value means FAULT. The result is clamped to 1..=254,
//! and an address owner (255) never changes priority.

use crate::limits::MAX_TRACKS_PER_INSTANCE;

/// Most tracked objects per instance: every kind plus the implicit own interface.
pub const MAX_TRACKS: usize = 3 * MAX_TRACKS_PER_INSTANCE + 1;

/// What is tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    /// A network interface (up = link up and running).
    Interface,
    /// A `vrrp_script` (up = its rise/fall filtered result is success).
    Script,
    /// A track file holding an integer.
    File,
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

    /// True while any weight-0 object is down (or a weight-0 file is non-zero).
    pub fn is_fault(&self) -> bool {
        self.items.iter().any(|(spec, status)| {
            spec.weight == 0
                && match status {
                    TrackStatus::Down => true,
                    TrackStatus::Up => false,
                    TrackStatus::Value(v) => *v != 0,
                }
        })
    }

    /// Sum of the weights that currently apply.
    pub fn priority_delta(&self) -> i32 {
        self.items
            .iter()
            .map(|(spec, status)| match status {
                TrackStatus::Up if spec.weight > 0 => spec.weight,
                TrackStatus::Down if spec.weight < 0 => spec.weight,
                TrackStatus::Value(v) if spec.weight != 0 => v.saturating_mul(spec.weight),
                _ => 0,
            })
            .fold(0i32, |a, b| a.saturating_add(b))
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
