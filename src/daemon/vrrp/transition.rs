//! The one log line of a VRRP state change: instance, old state, new state,
//! priority and the reason, as text (keepalived's "Entering MASTER STATE"
//! wording kept) and as logfmt fields.

use std::fmt;
use std::net::IpAddr;

use log::Level;

use crate::vrrp::instance::NotifyState;

/// The event that was being handled when an instance changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The daemon started.
    Start,
    /// The daemon is stopping.
    Stop,
    /// The instance's own timer (master down, preempt delay) ran out.
    Timer,
    /// The master down timer ran out after the master sent priority 0
    /// (it is leaving): the takeover waits only the skew time.
    MasterLeft {
        /// The master that left.
        from: IpAddr,
    },
    /// The master down timer ran out while a lower-priority master kept
    /// advertising: this instance preempts it.
    Preempt {
        /// The lower-priority master.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// An advert from a peer.
    Advert {
        /// Its source.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// The interface went up or down.
    Link {
        /// Up now.
        up: bool,
    },
    /// A tracked script, file or interface changed.
    Track,
    /// Its sync group moved it.
    Group,
}

/// Why an instance went from `from` (None: INIT) to `to`.
#[derive(Debug, Clone, Copy)]
pub struct Reason {
    /// The event.
    pub cause: Option<Cause>,
    /// The state before.
    pub from: Option<NotifyState>,
    /// The state now.
    pub to: NotifyState,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use NotifyState::*;
        match (self.cause, self.to) {
            (_, Stop) | (Some(Cause::Stop), _) => f.write_str("lvsd is stopping"),
            (Some(Cause::Start), Master) => f.write_str("start as the address owner"),
            (Some(Cause::Start), Fault) => f.write_str("start with a tracked object down"),
            (Some(Cause::Start), _) => f.write_str("start: waiting for a master"),
            (Some(Cause::Timer), Master) => {
                f.write_str("no advert from a master within the master down interval")
            }
            (Some(Cause::MasterLeft { from }), _) => {
                write!(f, "master {from} is leaving (priority 0 advert)")
            }
            (Some(Cause::Preempt { from, priority }), _) => {
                write!(f, "preempts master {from} with lower priority {priority}")
            }
            (Some(Cause::Advert { from, priority }), Backup) => {
                write!(f, "advert from {from} with priority {priority} wins")
            }
            (Some(Cause::Advert { from, priority }), _) => {
                write!(f, "advert from {from} with priority {priority}")
            }
            (Some(Cause::Link { up: false }), _) => f.write_str("interface down"),
            (Some(Cause::Link { up: true }), _) => f.write_str("interface up"),
            (Some(Cause::Track), Fault) => f.write_str("a tracked object is down"),
            (Some(Cause::Track), _) => f.write_str("tracked objects changed"),
            (Some(Cause::Group), _) => f.write_str("its sync group follows a member"),
            (Some(Cause::Timer), _) => f.write_str("timer"),
            (None, _) => f.write_str("unknown"),
        }
    }
}

fn state_name(s: Option<NotifyState>) -> &'static str {
    s.map_or("INIT", NotifyState::as_str)
}

/// Logs the state change of `instance` as one line.
pub fn log(instance: &str, reason: Reason, priority: u8) {
    let from = state_name(reason.from);
    let to = reason.to.as_str();
    crate::io::log::event(
        Level::Info,
        format_args!(
            "VRRP_Instance({instance}) Entering {to} STATE (priority {priority}) from {from}: {reason}"
        ),
        &[
            ("instance", &instance),
            ("from", &from),
            ("to", &to),
            ("priority", &priority),
            ("reason", &reason),
        ],
    );
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn reasons_read_well() {
        let r = |cause, from, to| {
            Reason {
                cause: Some(cause),
                from,
                to,
            }
            .to_string()
        };
        assert_eq!(
            r(Cause::Timer, Some(NotifyState::Backup), NotifyState::Master),
            "no advert from a master within the master down interval"
        );
        assert_eq!(
            r(
                Cause::Advert {
                    from: "10.0.0.2".parse().unwrap(),
                    priority: 200
                },
                Some(NotifyState::Master),
                NotifyState::Backup
            ),
            "advert from 10.0.0.2 with priority 200 wins"
        );
        assert_eq!(
            r(
                Cause::Link { up: false },
                Some(NotifyState::Master),
                NotifyState::Fault
            ),
            "interface down"
        );
        assert_eq!(
            r(Cause::Start, None, NotifyState::Backup),
            "start: waiting for a master"
        );
        assert_eq!(
            r(
                Cause::Preempt {
                    from: "10.0.0.3".parse().unwrap(),
                    priority: 90
                },
                Some(NotifyState::Backup),
                NotifyState::Master
            ),
            "preempts master 10.0.0.3 with lower priority 90"
        );
    }
}
