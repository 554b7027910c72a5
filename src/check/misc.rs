//! MISC_CHECK: the verdict from a script's end (exit 0 up, 1 down, misc_dynamic 2-255 up with weight code - 2).

use super::probe::{FailReason, Outcome};

/// How a script run ended, as `io::child` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    /// It exited with this code.
    Exited(u8),
    /// It was killed by this signal (not by us).
    Signaled(i32),
    /// misc_timeout passed and we killed its process group.
    TimedOut,
    /// It could not be started.
    SpawnFailed,
}

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

/// Error: a `misc_path` command line has an unterminated quote or no program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadCommandLine;

impl core::fmt::Display for BadCommandLine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("misc_path: empty command or unterminated quote")
    }
}

/// Splits a `misc_path` command line into words, at config load (no shell runs it).
///
/// Words are separated by blanks; `"..."` and `'...'` group a word; outside single
/// quotes a backslash takes the next character literally.
pub fn split_command_line(line: &str) -> Result<Vec<String>, BadCommandLine> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') => quote = None,
            (Some('\''), c) => word.push(c),
            (_, '\\') => {
                word.push(chars.next().ok_or(BadCommandLine)?);
                in_word = true;
            }
            (Some('"'), '"') => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(core::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(BadCommandLine);
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err(BadCommandLine);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_a_shell_would() {
        assert_eq!(
            split_command_line("/usr/local/bin/check.sh 192.168.118.129 80").unwrap(),
            ["/usr/local/bin/check.sh", "192.168.118.129", "80"]
        );
        assert_eq!(
            split_command_line(r#"  /bin/sh -c "nc -z 10.0.0.1 80"  'a b'c d\ e "" "#).unwrap(),
            ["/bin/sh", "-c", "nc -z 10.0.0.1 80", "a bc", "d e", ""]
        );
        assert_eq!(split_command_line("a 'b"), Err(BadCommandLine));
        assert_eq!(split_command_line("a \\"), Err(BadCommandLine));
        assert_eq!(split_command_line("   "), Err(BadCommandLine));
    }

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
