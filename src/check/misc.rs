//! MISC_CHECK: the verdict from a script's end (exit 0 up, 1 down, misc_dynamic 2-255 up with weight code - 2).

use super::probe::{FailReason, Outcome};
pub use crate::script::ChildEnd;

/// The MISC_CHECK verdict for a script end; `dynamic` is `misc_dynamic`.
///
/// keepalived: without misc_dynamic any non-zero exit is a failure; with it,
/// exit 1 is a failure and 2-255 pass with weight `code - 2` (exit 200 -> 198).
pub fn misc_outcome(end: ChildEnd, dynamic: bool) -> Outcome {
    match end {
        ChildEnd::Exited(0) => Outcome::Up { weight: None },
        ChildEnd::Exited(code) if dynamic && code >= 2 => Outcome::Up {
            weight: Some(u32::from(code) - 2),
        },
        ChildEnd::Exited(code) => Outcome::Down(FailReason::ExitCode(code)),
        ChildEnd::Signaled(signal) => Outcome::Down(FailReason::Signal(signal)),
        ChildEnd::TimedOut => Outcome::Down(FailReason::Timeout),
        ChildEnd::SpawnFailed => Outcome::Down(FailReason::Io),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(
            misc_outcome(ChildEnd::Exited(0), false),
            Outcome::Up { weight: None }
        );
        assert_eq!(
            misc_outcome(ChildEnd::Exited(0), true),
            Outcome::Up { weight: None }
        );
        assert_eq!(
            misc_outcome(ChildEnd::Exited(1), true),
            Outcome::Down(FailReason::ExitCode(1))
        );
        assert_eq!(
            misc_outcome(ChildEnd::Exited(200), true),
            Outcome::Up { weight: Some(198) }
        );
        assert_eq!(
            misc_outcome(ChildEnd::Exited(2), true),
            Outcome::Up { weight: Some(0) }
        );
        assert_eq!(
            misc_outcome(ChildEnd::Exited(255), true),
            Outcome::Up { weight: Some(253) }
        );
        assert_eq!(
            misc_outcome(ChildEnd::Exited(200), false),
            Outcome::Down(FailReason::ExitCode(200))
        );
        assert_eq!(
            misc_outcome(ChildEnd::TimedOut, true),
            Outcome::Down(FailReason::Timeout)
        );
        assert!(!misc_outcome(ChildEnd::Signaled(9), false).is_up());
        assert!(!misc_outcome(ChildEnd::SpawnFailed, false).is_up());
    }
}
