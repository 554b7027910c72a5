//! Scripts as lvsd runs them, shared by checkers (MISC_CHECK), VRRP scripts
//! and notify commands: how a command line splits into words (checked at
//! config load, split again at run time) and how a run ended. Pure.

#![forbid(unsafe_code)]

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

/// Error: a command line (`misc_path`, `script`, `notify*`, `quorum_*`) has an
/// unterminated quote, a trailing backslash or no program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadCommandLine;

impl core::fmt::Display for BadCommandLine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("empty command, unterminated quote or trailing backslash")
    }
}

impl core::error::Error for BadCommandLine {}

/// Splits a command line into words (no shell runs it). The config checks
/// every command line with it at load, so `lvsd check` refuses a bad one.
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
}
