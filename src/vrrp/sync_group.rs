//! VRRP sync groups: member instances that change state together (keepalived `vrrp_sync_group`).
//!
//! Rules (BEHAVIOUR.md "Sync groups"): a member becomes MASTER only when every
//! member wants MASTER; when one goes BACKUP or FAULT, all follow. Members run
//! their own protocol (adverts, timers); the group only gates and forces their
//! transitions. The daemon calls [`SyncGroup::reconcile`] after feeding any event
//! to a member.

use std::borrow::{Borrow, BorrowMut};
use std::time::Instant;

use crate::limits::{MAX_SYNC_GROUP_MEMBERS, VRRP_NOTIFY_BACKLOG};
use crate::vrrp::instance::{Instance, NotifyState, State};

/// What the daemon must do for the group as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupAction {
    /// Run the group's notify scripts (`GROUP <name> <STATE>`).
    Notify {
        /// The group's new state.
        state: NotifyState,
    },
}

/// A sync group: indices of its members in the daemon's instance table.
#[derive(Debug, Clone)]
pub struct SyncGroup {
    members: heapless::Vec<usize, MAX_SYNC_GROUP_MEMBERS>,
    state: State,
    actions: heapless::Deque<GroupAction, VRRP_NOTIFY_BACKLOG>,
}

/// More members than [`MAX_SYNC_GROUP_MEMBERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyMembers;

impl core::fmt::Display for TooManyMembers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "vrrp_sync_group: more than {MAX_SYNC_GROUP_MEMBERS} members"
        )
    }
}

impl SyncGroup {
    /// A group of the instances at these indices (their params must say `in_sync_group`).
    pub fn new(members: &[usize]) -> Result<SyncGroup, TooManyMembers> {
        let members = heapless::Vec::from_slice(members).map_err(|_| TooManyMembers)?;
        Ok(SyncGroup {
            members,
            state: State::Init,
            actions: heapless::Deque::new(),
        })
    }

    /// Member indices.
    pub fn members(&self) -> &[usize] {
        &self.members
    }

    /// The group's state: FAULT if any member is, MASTER if all are, else BACKUP (INIT before start).
    pub fn state(&self) -> State {
        self.state
    }

    /// Next group action.
    pub fn poll_action(&mut self) -> Option<GroupAction> {
        self.actions.pop_front()
    }

    /// Apply the group rules to the members after any event. Indices outside
    /// `instances` and members in INIT are left alone.
    pub fn reconcile<M: BorrowMut<Instance>>(&mut self, now: Instant, instances: &mut [M]) {
        if self.started(instances).next().is_none() {
            self.state = State::Init;
            return;
        }
        if self.started(instances).any(|m| m.is_faulty()) {
            self.each_member(instances, |m| {
                if m.state() != State::Init {
                    m.enter_fault(now);
                }
            });
        } else {
            self.each_member(instances, |m| m.leave_fault(now));
            self.move_together(now, instances);
        }
        self.note_state(instances);
    }

    /// The members that have started (not INIT); indices outside `instances` are skipped.
    fn started<'a, M: Borrow<Instance>>(
        &'a self,
        instances: &'a [M],
    ) -> impl Iterator<Item = &'a Instance> + 'a {
        self.members
            .iter()
            .filter_map(|&i| member(instances, i))
            .filter(|m| m.state() != State::Init)
    }

    /// Runs `f` on every member, INIT ones too.
    fn each_member<M: BorrowMut<Instance>>(
        &self,
        instances: &mut [M],
        mut f: impl FnMut(&mut Instance),
    ) {
        for &i in &self.members {
            if let Some(m) = member_mut(instances, i) {
                f(m);
            }
        }
    }

    /// With no member faulty: a MASTER that another member declines to share sends
    /// every member to BACKUP; when every started member wants MASTER, all become it.
    fn move_together<M: BorrowMut<Instance>>(&self, now: Instant, instances: &mut [M]) {
        let any_master = self.started(instances).any(|m| m.state() == State::Master);
        let any_declines = self.started(instances).any(|m| !m.wants_master());
        let all_master = self.started(instances).all(|m| m.state() == State::Master);
        if any_master && any_declines {
            self.each_member(instances, |m| m.become_backup(now));
        } else if !any_declines && !all_master {
            self.each_member(instances, |m| {
                if m.state() != State::Init {
                    m.become_master(now);
                }
            });
        }
    }

    /// The group's state from its started members; a change queues the group notify.
    fn note_state<M: Borrow<Instance>>(&mut self, instances: &[M]) {
        let new_state = if self.started(instances).any(|m| m.state() == State::Fault) {
            State::Fault
        } else if self.started(instances).all(|m| m.state() == State::Master) {
            State::Master
        } else {
            State::Backup
        };
        self.enter(new_state);
    }

    /// The group's state is now `new_state`: a change is notified.
    fn enter(&mut self, new_state: State) {
        if new_state == self.state {
            return;
        }
        self.state = new_state;
        let state = match new_state {
            State::Master => NotifyState::Master,
            State::Fault => NotifyState::Fault,
            _ => NotifyState::Backup,
        };
        // The daemon drains after every reconcile; should it not, the
        // oldest change gives way: the latest is always notified.
        if self.actions.is_full() {
            self.actions.pop_front();
        }
        let _ = self.actions.push_back(GroupAction::Notify { state });
    }
}

/// Member `i` of `instances`, if any.
fn member<M: Borrow<Instance>>(instances: &[M], i: usize) -> Option<&Instance> {
    instances.get(i).map(|m| m.borrow())
}

/// Member `i` of `instances`, if any, to change.
fn member_mut<M: BorrowMut<Instance>>(instances: &mut [M], i: usize) -> Option<&mut Instance> {
    instances.get_mut(i).map(|m| m.borrow_mut())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;
    use crate::vrrp::instance::{InstanceParams, OWN_INTERFACE};
    use crate::vrrp::track::TrackStatus;
    use crate::wire::vrrp::Version;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    fn member(vrid: u8) -> Instance {
        let mut p = InstanceParams::new(vrid, Version::V2, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        p.in_sync_group = true;
        p.priority = 100 + vrid;
        Instance::new(p).unwrap()
    }

    fn started() -> (Vec<Instance>, SyncGroup, Instant) {
        let t0 = Instant::now();
        let mut members = vec![member(1), member(2)];
        for m in members.iter_mut() {
            m.handle_start(t0);
        }
        let mut group = SyncGroup::new(&[0, 1]).unwrap();
        group.reconcile(t0, &mut members);
        assert_eq!(group.state(), State::Backup);
        (members, group, t0)
    }

    fn states(members: &[Instance]) -> Vec<State> {
        members.iter().map(|m| m.state()).collect()
    }

    #[test]
    fn master_only_when_all_want_it() {
        let (mut members, mut group, _) = started();
        // Member 2 (priority 102) has the shorter down timer and wants master first.
        let first = members[1].poll_at().unwrap();
        members[1].handle_timeout(first);
        group.reconcile(first, &mut members);
        assert!(members[1].wants_master());
        assert_eq!(states(&members), [State::Backup, State::Backup]);
        let second = members[0].poll_at().unwrap();
        assert!(second > first);
        members[0].handle_timeout(second);
        group.reconcile(second, &mut members);
        assert_eq!(states(&members), [State::Master, State::Master]);
        assert_eq!(group.state(), State::Master);
    }

    #[test]
    fn one_backup_takes_all_back() {
        let (mut members, mut group, t0) = started();
        let t = t0 + Duration::from_secs(5);
        for m in members.iter_mut() {
            m.handle_timeout(t);
        }
        group.reconcile(t, &mut members);
        assert_eq!(states(&members), [State::Master, State::Master]);
        let better = crate::vrrp::instance::Advert {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            priority: 200,
            advert_interval: Duration::from_secs(1),
            ah_sequence: None,
        };
        members[0].handle_advert(t, &better);
        group.reconcile(t, &mut members);
        assert_eq!(states(&members), [State::Backup, State::Backup]);
        assert!(!members[1].wants_master());
    }

    #[test]
    fn one_fault_faults_all_and_recovery_returns_to_backup() {
        let (mut members, mut group, t0) = started();
        let t = t0 + Duration::from_secs(5);
        for m in members.iter_mut() {
            m.handle_timeout(t);
        }
        group.reconcile(t, &mut members);
        members[1].handle_track(t, OWN_INTERFACE, TrackStatus::Down);
        // The member leaves the FAULT decision to the group.
        assert_eq!(members[1].state(), State::Master);
        group.reconcile(t, &mut members);
        assert_eq!(states(&members), [State::Fault, State::Fault]);
        assert_eq!(group.state(), State::Fault);
        members[1].handle_track(t, OWN_INTERFACE, TrackStatus::Up);
        group.reconcile(t, &mut members);
        assert_eq!(states(&members), [State::Backup, State::Backup]);
        let notes: Vec<_> = core::iter::from_fn(|| group.poll_action()).collect();
        assert_eq!(
            notes,
            [
                GroupAction::Notify {
                    state: NotifyState::Backup
                },
                GroupAction::Notify {
                    state: NotifyState::Master
                },
                GroupAction::Notify {
                    state: NotifyState::Fault
                },
                GroupAction::Notify {
                    state: NotifyState::Backup
                },
            ]
        );
    }

    #[test]
    fn bad_indices_are_ignored() {
        let (mut members, _, t0) = started();
        let mut group = SyncGroup::new(&[0, 7]).unwrap();
        group.reconcile(t0, &mut members);
        assert!(SyncGroup::new(&[0; MAX_SYNC_GROUP_MEMBERS + 1]).is_err());
    }
}
