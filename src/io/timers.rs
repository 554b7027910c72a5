//! The deadline table: a fixed-capacity indexed binary min-heap of timers.
//!
//! Every pending deadline of the daemon (one per health check, VRRP timers,
//! housekeeping) lives here. Insert, cancel and re-arm are O(log n), the next
//! deadline is O(1), and nothing allocates after [`Timers::with_capacity`]:
//! the heap and the slot table are sized once at start.
//!
//! A timer is named by a [`TimerId`] (slot index + generation), so a stale id
//! kept by a caller after its timer fired or was cancelled can never cancel a
//! timer that later reuses the slot.

use std::time::Instant;

/// Names one armed timer. Cheap to copy; stale ids are recognised and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId {
    slot: u32,
    generation: u32,
}

/// Why a timer could not be armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerError {
    /// All slots are in use; the capacity is `limits::MAX_TIMERS`.
    Full {
        /// The table's capacity.
        capacity: usize,
    },
    /// The slots a capped class may use are taken (`insert_within`); the rest
    /// of the table stays for the others (VRRP, housekeeping).
    ShareFull {
        /// The class's share.
        limit: usize,
    },
}

impl std::fmt::Display for TimerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimerError::Full { capacity } => {
                write!(
                    f,
                    "timer table full ({capacity} timers, limits::MAX_TIMERS)"
                )
            }
            TimerError::ShareFull { limit } => write!(
                f,
                "the health checks' share of the timer table is full ({limit} timers, limits::MAX_CHECK_TIMERS)"
            ),
        }
    }
}

/// Sentinel for "not in the heap".
const NOT_QUEUED: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Slot<T: Copy> {
    generation: u32,
    /// Position in `heap`, or `NOT_QUEUED` when the slot is free.
    heap_pos: u32,
    /// Next free slot when this one is free (a free list threaded through slots).
    next_free: u32,
    /// Armed by `insert_within`: counted in `capped`.
    capped: bool,
    payload: Option<T>,
}

/// A fixed-capacity table of deadlines, each carrying a small `Copy` payload
/// that says what to do when it fires.
pub struct Timers<T: Copy> {
    /// Reserved to the capacity at start and filled as timers are first
    /// needed (so untouched capacity costs no resident memory); never grown
    /// past the reservation, so it never reallocates.
    slots: Vec<Slot<T>>,
    /// Heap of (deadline, slot) ordered by deadline, then slot. Reserved to
    /// the capacity at start and never grown past it, so it never reallocates.
    heap: Vec<(Instant, u32)>,
    free_head: u32,
    capacity: usize,
    /// Pending timers armed by `insert_within`.
    capped: usize,
}

impl<T: Copy> Timers<T> {
    /// A table for at most `capacity` pending timers; the only allocation it makes.
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.min(NOT_QUEUED as usize - 1);
        Timers {
            slots: Vec::with_capacity(capacity),
            heap: Vec::with_capacity(capacity),
            free_head: NOT_QUEUED,
            capacity,
            capped: 0,
        }
    }

    /// How many timers are pending.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The table's fixed capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Arms a new timer at `deadline` carrying `payload`.
    pub fn insert(&mut self, deadline: Instant, payload: T) -> Result<TimerId, TimerError> {
        if self.free_head == NOT_QUEUED && self.slots.len() < self.capacity {
            // First use of this slot: within the reservation, no reallocation.
            self.free_head = self.slots.len() as u32;
            self.slots.push(Slot {
                generation: 0,
                heap_pos: NOT_QUEUED,
                next_free: NOT_QUEUED,
                capped: false,
                payload: None,
            });
        }
        let slot = self.free_head;
        if slot == NOT_QUEUED {
            return Err(TimerError::Full {
                capacity: self.capacity(),
            });
        }
        let s = &mut self.slots[slot as usize];
        self.free_head = s.next_free;
        s.next_free = NOT_QUEUED;
        s.payload = Some(payload);
        let pos = self.heap.len();
        self.heap.push((deadline, slot));
        s.heap_pos = pos as u32;
        let generation = s.generation;
        self.sift_up(pos);
        Ok(TimerId { slot, generation })
    }

    /// Arms a timer of a class that may hold at most `limit` pending timers
    /// (health checks: `limits::MAX_CHECK_TIMERS`), so that the rest of the
    /// table stays free for the timers that must never fail (VRRP).
    pub fn insert_within(
        &mut self,
        deadline: Instant,
        payload: T,
        limit: usize,
    ) -> Result<TimerId, TimerError> {
        if self.capped >= limit {
            return Err(TimerError::ShareFull { limit });
        }
        let id = self.insert(deadline, payload)?;
        if let Some(s) = self.slots.get_mut(id.slot as usize) {
            s.capped = true;
        }
        self.capped += 1;
        Ok(id)
    }

    /// Pending timers armed by `insert_within`.
    pub fn capped_len(&self) -> usize {
        self.capped
    }

    /// Disarms a timer and returns its payload; a stale or unknown id gives `None`.
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        let pos = self.live_pos(id)?;
        self.remove_at(pos)
    }

    /// Moves a pending timer to a new deadline. Returns false for a stale id.
    pub fn reschedule(&mut self, id: TimerId, deadline: Instant) -> bool {
        let Some(pos) = self.live_pos(id) else {
            return false;
        };
        let old = self.heap[pos].0;
        self.heap[pos].0 = deadline;
        if deadline < old {
            self.sift_up(pos);
        } else {
            self.sift_down(pos);
        }
        true
    }

    /// True when `id` names a pending timer.
    pub fn is_pending(&self, id: TimerId) -> bool {
        self.live_pos(id).is_some()
    }

    /// The earliest pending deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.first().map(|entry| entry.0)
    }

    /// Removes and returns the earliest timer if its deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<(TimerId, T)> {
        let first = self.next_deadline()?;
        if first > now {
            return None;
        }
        let slot = self.heap[0].1;
        let id = TimerId {
            slot,
            generation: self.slots[slot as usize].generation,
        };
        self.remove_at(0).map(|payload| (id, payload))
    }

    fn live_pos(&self, id: TimerId) -> Option<usize> {
        let s = self.slots.get(id.slot as usize)?;
        if s.generation != id.generation || s.heap_pos == NOT_QUEUED {
            return None;
        }
        Some(s.heap_pos as usize)
    }

    /// Takes the timer at heap position `pos` out and frees its slot.
    fn remove_at(&mut self, pos: usize) -> Option<T> {
        let slot = self.heap[pos].1 as usize;
        let last = self.heap.len() - 1;
        self.swap(pos, last);
        self.heap.pop();
        if pos < self.heap.len() {
            self.sift_down(pos);
            self.sift_up(pos);
        }
        let s = &mut self.slots[slot];
        if s.capped {
            s.capped = false;
            self.capped -= 1;
        }
        s.heap_pos = NOT_QUEUED;
        s.generation = s.generation.wrapping_add(1);
        s.next_free = self.free_head;
        self.free_head = slot as u32;
        s.payload.take()
    }

    fn key(&self, pos: usize) -> (Instant, u32) {
        self.heap[pos]
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        let sa = self.heap[a].1 as usize;
        let sb = self.heap[b].1 as usize;
        self.slots[sa].heap_pos = a as u32;
        self.slots[sb].heap_pos = b as u32;
    }

    fn sift_up(&mut self, mut pos: usize) {
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if self.key(pos) < self.key(parent) {
                self.swap(pos, parent);
                pos = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut pos: usize) {
        loop {
            let left = 2 * pos + 1;
            if left >= self.heap.len() {
                break;
            }
            let right = left + 1;
            let mut smallest = left;
            if right < self.heap.len() && self.key(right) < self.key(left) {
                smallest = right;
            }
            if self.key(smallest) < self.key(pos) {
                self.swap(pos, smallest);
                pos = smallest;
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(base: Instant, n: u64) -> Instant {
        base + Duration::from_millis(n)
    }

    #[test]
    fn pops_in_deadline_order_then_insertion_order() {
        let base = Instant::now();
        let mut t: Timers<u32> = Timers::with_capacity(8);
        t.insert(ms(base, 30), 3).unwrap();
        t.insert(ms(base, 10), 1).unwrap();
        t.insert(ms(base, 20), 2).unwrap();
        t.insert(ms(base, 10), 4).unwrap();
        assert_eq!(t.next_deadline(), Some(ms(base, 10)));
        assert_eq!(t.pop_expired(ms(base, 5)), None);
        let mut got = vec![];
        while let Some((_, p)) = t.pop_expired(ms(base, 100)) {
            got.push(p);
        }
        // Equal deadlines: lower slot first (slot 1 was taken before slot 3).
        assert_eq!(got, vec![1, 4, 2, 3]);
        assert!(t.is_empty());
    }

    #[test]
    fn a_capped_class_leaves_the_rest_to_the_others() {
        let base = Instant::now();
        let mut t: Timers<u32> = Timers::with_capacity(10);
        // The capped class (checks) may hold 7; VRRP keeps 3 of its own.
        let mut capped = Vec::new();
        for i in 0..7 {
            capped.push(t.insert_within(base, i, 7).unwrap());
        }
        assert_eq!(
            t.insert_within(base, 99, 7),
            Err(TimerError::ShareFull { limit: 7 })
        );
        assert!(TimerError::ShareFull { limit: 7 }
            .to_string()
            .contains("MAX_CHECK_TIMERS"));
        for i in 0..3 {
            t.insert(base, 100 + i).unwrap();
        }
        assert_eq!(t.insert(base, 200), Err(TimerError::Full { capacity: 10 }));
        // Firing or cancelling a capped timer gives its place back to the class.
        assert_eq!(t.cancel(capped[0]), Some(0));
        assert_eq!(t.capped_len(), 6);
        t.insert_within(base, 7, 7).unwrap();
        assert_eq!(t.capped_len(), 7);
        let mut popped = 0;
        while let Some((_, p)) = t.pop_expired(base) {
            popped += 1;
            let _ = p;
        }
        assert_eq!((popped, t.capped_len(), t.len()), (10, 0, 0));
        // A reused slot armed by plain `insert` is not counted.
        t.insert(base, 1).unwrap();
        assert_eq!(t.capped_len(), 0);
    }

    #[test]
    fn cancel_and_stale_ids() {
        let base = Instant::now();
        let mut t: Timers<u32> = Timers::with_capacity(2);
        let a = t.insert(ms(base, 10), 1).unwrap();
        let b = t.insert(ms(base, 20), 2).unwrap();
        assert_eq!(
            t.insert(ms(base, 5), 9),
            Err(TimerError::Full { capacity: 2 })
        );
        assert_eq!(t.cancel(a), Some(1));
        assert_eq!(t.cancel(a), None, "second cancel of the same id");
        // The freed slot is reused with a new generation: the old id stays dead.
        let c = t.insert(ms(base, 1), 3).unwrap();
        assert_eq!(c.slot, a.slot);
        assert_ne!(c, a);
        assert!(!t.is_pending(a));
        assert_eq!(t.cancel(a), None);
        assert_eq!(t.next_deadline(), Some(ms(base, 1)));
        assert!(t.reschedule(c, ms(base, 50)));
        assert_eq!(t.next_deadline(), Some(ms(base, 20)));
        assert_eq!(t.pop_expired(ms(base, 60)).map(|x| x.1), Some(2));
        assert!(!t.is_pending(b));
        assert_eq!(t.pop_expired(ms(base, 60)).map(|x| x.1), Some(3));
    }

    /// Random operations against a simple model, with heap invariants checked.
    #[test]
    fn matches_a_model_under_random_operations() {
        let base = Instant::now();
        let cap = 20_000;
        let mut t: Timers<u64> = Timers::with_capacity(cap);
        let mut model: Vec<(TimerId, u64, u64)> = Vec::new(); // id, deadline ms, payload
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut clock = 0u64;
        for i in 0..200_000u64 {
            match next() % 4 {
                0 | 1 if model.len() < cap => {
                    let d = clock + next() % 10_000;
                    let id = t.insert(ms(base, d), i).unwrap();
                    model.push((id, d, i));
                }
                2 if !model.is_empty() => {
                    let k = (next() as usize) % model.len();
                    let (id, _, p) = model.swap_remove(k);
                    assert_eq!(t.cancel(id), Some(p));
                }
                _ => {
                    clock += next() % 50;
                    while let Some((id, p)) = t.pop_expired(ms(base, clock)) {
                        let k = model
                            .iter()
                            .position(|m| m.0 == id)
                            .expect("popped unknown");
                        let (_, d, mp) = model.swap_remove(k);
                        assert_eq!(mp, p);
                        assert!(d <= clock);
                    }
                    // Nothing left in the model may be due.
                    assert!(model.iter().all(|m| m.1 > clock));
                }
            }
            assert_eq!(t.len(), model.len());
            let min = model.iter().map(|m| m.1).min();
            assert_eq!(t.next_deadline(), min.map(|d| ms(base, d)));
        }
    }

    #[test]
    fn holds_twenty_thousand_timers() {
        let base = Instant::now();
        let mut t: Timers<u32> = Timers::with_capacity(crate::limits::MAX_TIMERS);
        assert!(t.capacity() >= 20_000);
        for i in 0..20_000u32 {
            t.insert(ms(base, u64::from(20_000 - i)), i).unwrap();
        }
        assert_eq!(t.next_deadline(), Some(ms(base, 1)));
        assert_eq!(t.pop_expired(ms(base, 1)).map(|x| x.1), Some(19_999));
    }
}
