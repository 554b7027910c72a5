//! VRRP sync groups: member instances that change state together (keepalived `vrrp_sync_group`).
//!
//! Rules (BEHAVIOUR.md "Sync groups"): a member becomes MASTER only when every
//! member wants MASTER; when one goes BACKUP or FAULT, all follow. Members run
//! their own protocol (adverts, timers); the group only gates and forces their
//! transitions. The daemon calls [`SyncGroup::reconcile`] after feeding any event
//! to a member.

use std::time::Instant;

use crate::limits::{MAX_SYNC_GROUP_MEMBERS, VRRP_ACTION_QUEUE};
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
    actions: heapless::Deque<GroupAction, VRRP_ACTION_QUEUE>,
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
    pub fn reconcile(&mut self, now: Instant, instances: &mut [Instance]) {
        let members = self.members.clone();
        let mut running = members
            .iter()
            .filter_map(|&i| instances.get(i))
            .filter(|m| m.state() != State::Init)
            .peekable();
        if running.peek().is_none() {
            self.state = State::Init;
            return;
        }
        let faulty = members
            .iter()
            .filter_map(|&i| instances.get(i))
            .any(|m| m.state() != State::Init && m.is_faulty());
        if faulty {
            for &i in members.iter() {
                if let Some(m) = instances.get_mut(i) {
                    if m.state() != State::Init {
                        m.enter_fault(now);
                    }
                }
            }
        } else {
            for &i in members.iter() {
                if let Some(m) = instances.get_mut(i) {
                    m.leave_fault(now);
                }
            }
            let started = || {
                members
                    .iter()
                    .filter_map(|&i| instances.get(i))
                    .filter(|m| m.state() != State::Init)
            };
            let any_master = started().any(|m| m.state() == State::Master);
            let any_declines = started().any(|m| !m.wants_master());
            let all_want = started().all(|m| m.wants_master());
            let all_master = started().all(|m| m.state() == State::Master);
            if any_master && any_declines {
                for &i in members.iter() {
                    if let Some(m) = instances.get_mut(i) {
                        m.become_backup(now);
                    }
                }
            } else if all_want && !all_master {
                for &i in members.iter() {
                    if let Some(m) = instances.get_mut(i) {
                        if m.state() != State::Init {
                            m.become_master(now);
                        }
                    }
                }
            }
        }
        let started = || {
            members
                .iter()
                .filter_map(|&i| instances.get(i))
                .filter(|m| m.state() != State::Init)
        };
        let new_state = if started().any(|m| m.state() == State::Fault) {
            State::Fault
        } else if started().all(|m| m.state() == State::Master) {
            State::Master
        } else {
            State::Backup
        };
        if new_state != self.state {
            self.state = new_state;
            let state = match new_state {
                State::Master => NotifyState::Master,
                State::Fault => NotifyState::Fault,
                _ => NotifyState::Backup,
            };
            let _ = self.actions.push_back(GroupAction::Notify { state });
        }
    }
}
