//! keepalived.conf text as keepalived's own reader sees it, before any keyword:
//! comments, `@` conditional lines, `$` parameters and `include`.
//!
//! The rules follow keepalived 2.2.7's `lib/parser.c` (read, not copied):
//! - an unquoted `!` or `#` anywhere in a line starts a comment; `\#` and `\!`
//!   outside quotes are a literal `#` / `!`;
//! - a line `@ID rest` is kept (as `rest`) only when the config id is `ID`; a line
//!   `@^ID rest` only when it is not; without a config id every `@ID` line is
//!   skipped and every `@^ID` line kept;
//! - `$NAME=value` defines a parameter (a value ending in `\` continues on the next
//!   lines); `$NAME` and `${NAME}` in later lines are replaced by its value, and a
//!   multi-line value becomes several lines. `$_HASH` and `$_BANG` are `#` and `!`;
//! - `include PATTERN` reads every file the glob matches, in name order; a relative
//!   pattern is taken from the including file's folder.
//!
//! This module reads no files itself: includes come through [`IncludeSource`].

/// One logical line with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Index into [`Text::origins`].
    pub origin: usize,
    /// 1-based line in that file.
    pub line: usize,
    /// The text, comments removed, conditionals and parameters applied.
    pub text: String,
}

/// Something the reader could not honour, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextNote {
    /// Index into [`Text::origins`].
    pub origin: usize,
    /// 1-based line.
    pub line: usize,
    /// What happened.
    pub message: String,
}

/// Every line of a keepalived.conf and of the files it includes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    /// File names, the top file first.
    pub origins: Vec<String>,
    /// Logical lines in reading order.
    pub lines: Vec<Line>,
    /// Lines skipped or changed in a way the user should hear about.
    pub notes: Vec<TextNote>,
}

/// Why an `include` pattern gave no files (reported as a note on its line).
#[derive(Debug)]
pub enum IncludeError {
    /// This reader follows no includes ([`NoIncludes`]).
    NotRead,
    /// The pattern matches more paths than the source accepts.
    TooManyPaths {
        /// The most paths one include may match.
        max: usize,
    },
    /// A matched file is larger than the source accepts.
    TooLarge {
        /// The file.
        path: String,
        /// The largest file accepted, in bytes.
        max: u64,
    },
    /// A matched file could not be read.
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl std::fmt::Display for IncludeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IncludeError::NotRead => write!(f, "includes are not read here"),
            IncludeError::TooManyPaths { max } => write!(f, "matches more than {max} paths"),
            IncludeError::TooLarge { path, max } => {
                write!(f, "{path} is larger than {max} bytes")
            }
            IncludeError::Read { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

impl std::error::Error for IncludeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IncludeError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Where `include` finds its files.
pub trait IncludeSource {
    /// The files matching `pattern` (already made absolute against the including
    /// file's folder when relative), as (name, text) in name order.
    fn expand(&self, pattern: &str) -> Result<Vec<(String, String)>, IncludeError>;
}

/// An include source that has no files: every `include` is an error note.
pub struct NoIncludes;

impl IncludeSource for NoIncludes {
    fn expand(&self, _pattern: &str) -> Result<Vec<(String, String)>, IncludeError> {
        Err(IncludeError::NotRead)
    }
}

/// keepalived stops following includes this deep (a loop guard).
const MAX_INCLUDE_DEPTH: usize = 8;

struct Definition {
    name: String,
    lines: Vec<String>,
}

struct Reader<'s> {
    config_id: Option<&'s str>,
    source: &'s dyn IncludeSource,
    definitions: Vec<Definition>,
    out: Text,
}

/// Reads `text` (named `origin`) the way keepalived does.
pub fn read(text: &str, origin: &str, config_id: Option<&str>, source: &dyn IncludeSource) -> Text {
    let mut reader = Reader {
        config_id,
        source,
        definitions: vec![
            Definition {
                name: "_HASH".into(),
                lines: vec!["#".into()],
            },
            Definition {
                name: "_BANG".into(),
                lines: vec!["!".into()],
            },
        ],
        out: Text::default(),
    };
    reader.file(text, origin, 0);
    reader.out
}

impl Reader<'_> {
    fn note(&mut self, origin: usize, line: usize, message: String) {
        self.out.notes.push(TextNote {
            origin,
            line,
            message,
        });
    }

    fn file(&mut self, text: &str, origin: &str, depth: usize) {
        let index = self.out.origins.len();
        self.out.origins.push(origin.to_string());
        let mut open: Option<usize> = None; // index of a multi-line definition
        for (number, raw) in text.lines().enumerate() {
            let number = number + 1;
            let (mut line, continues) = decomment(raw.trim_end_matches('\r'));
            if let Some(def) = open {
                let value = line.trim().to_string();
                if !value.is_empty() {
                    self.definitions[def].lines.push(value);
                }
                if !continues {
                    open = None;
                }
                continue;
            }
            if continues {
                // Outside a definition keepalived keeps the `\` as a word.
                line.push_str(" \\");
            }
            let Some(line) = self.conditional(line, index, number) else {
                continue;
            };
            if let Some((name, value, more)) = definition(&line) {
                let position = match self.definitions.iter().position(|d| d.name == name) {
                    Some(p) => {
                        self.definitions[p].lines.clear();
                        p
                    }
                    None => {
                        self.definitions.push(Definition {
                            name,
                            lines: Vec::new(),
                        });
                        self.definitions.len() - 1
                    }
                };
                if !value.is_empty() {
                    self.definitions[position].lines.push(value);
                }
                if more {
                    open = Some(position);
                }
                continue;
            }
            let lines = if line.contains('$') {
                self.substitute(&line, index, number)
            } else {
                vec![line]
            };
            for line in lines {
                let Some(line) = self.conditional(line, index, number) else {
                    continue;
                };
                if line.is_empty() {
                    continue;
                }
                if let Some(pattern) = include_pattern(&line) {
                    self.include(pattern, origin, index, number, depth);
                    continue;
                }
                self.out.lines.push(Line {
                    origin: index,
                    line: number,
                    text: line,
                });
            }
        }
    }

    /// Applies a leading `@ID` / `@^ID`: `None` when the line is not for us.
    fn conditional(&mut self, line: String, origin: usize, number: usize) -> Option<String> {
        let Some(rest) = line.strip_prefix('@') else {
            return Some(line);
        };
        let (negated, rest) = match rest.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let Some(split) = rest.find([' ', '\t']) else {
            self.note(origin, number, format!("`{line}`: a conditional line with nothing after its id, skipped as keepalived does"));
            return None;
        };
        let (id, body) = rest.split_at(split);
        let matches = self.config_id == Some(id);
        if matches == negated {
            return None;
        }
        Some(body.trim_start().to_string())
    }

    fn substitute(&mut self, line: &str, origin: usize, number: usize) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut rest = line;
        while let Some(at) = rest.find('$') {
            out.last_mut().unwrap().push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (name, used) = if let Some(braced) = after.strip_prefix('{') {
                match braced.find('}') {
                    Some(end) => (&braced[..end], end + 2),
                    None => ("", 0),
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            };
            match self
                .definitions
                .iter()
                .find(|d| !name.is_empty() && d.name == name)
            {
                Some(def) => {
                    let mut values = def.lines.iter();
                    if let Some(first) = values.next() {
                        out.last_mut().unwrap().push_str(first);
                    }
                    for value in values {
                        out.push(value.clone());
                    }
                    rest = &after[used..];
                }
                None => {
                    if !name.is_empty() {
                        self.note(
                            origin,
                            number,
                            format!(
                                "`${name}` is not defined; kept as written, as keepalived does"
                            ),
                        );
                    }
                    out.last_mut().unwrap().push('$');
                    rest = after;
                }
            }
        }
        out.last_mut().unwrap().push_str(rest);
        // A value may itself hold comments (`$_HASH`): decomment again, as keepalived does.
        out.into_iter().map(|l| decomment(&l).0).collect()
    }

    fn include(&mut self, pattern: &str, from: &str, origin: usize, number: usize, depth: usize) {
        if depth + 1 >= MAX_INCLUDE_DEPTH {
            self.note(
                origin,
                number,
                format!(
                    "include {pattern}: includes nested deeper than {MAX_INCLUDE_DEPTH}, skipped"
                ),
            );
            return;
        }
        let pattern = relative_to(pattern, from);
        match self.source.expand(&pattern) {
            Ok(files) if files.is_empty() => self.note(
                origin,
                number,
                format!(
                    "include {pattern}: no file matches, nothing read (keepalived warns the same)"
                ),
            ),
            Ok(files) => {
                for (name, text) in files {
                    self.file(&text, &name, depth + 1);
                }
            }
            Err(e) => self.note(origin, number, format!("include {pattern}: {e}")),
        }
    }
}

/// `include PATTERN` -> PATTERN.
fn include_pattern(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("include")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let pattern = rest.trim();
    (!pattern.is_empty()).then(|| pattern.trim_matches('"'))
}

/// A relative include pattern is taken from the including file's folder.
fn relative_to(pattern: &str, from: &str) -> String {
    if pattern.starts_with('/') {
        return pattern.to_string();
    }
    match from.rfind('/') {
        Some(slash) => format!("{}/{pattern}", &from[..slash]),
        None => pattern.to_string(),
    }
}

/// `$NAME=value` -> (NAME, value, continues on the next line).
fn definition(line: &str) -> Option<(String, String, bool)> {
    let rest = line.strip_prefix('$')?;
    let first = rest.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let (name, after) = rest.split_at(end);
    let value = after.trim_start().strip_prefix('=')?.trim();
    match value.strip_suffix('\\') {
        Some(v) => Some((name.to_string(), v.trim_end().to_string(), true)),
        None => Some((name.to_string(), value.to_string(), false)),
    }
}

/// keepalived's comment rule: returns the line without its comment and without
/// surrounding blanks, and whether it ended in an unquoted `\` (removed).
pub fn decomment(line: &str) -> (String, bool) {
    let mut out = String::with_capacity(line.len());
    let mut quoted = false;
    let mut chars = line.trim_start().chars().peekable();
    let mut continues = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                out.push(c);
            }
            '\\' => match chars.peek() {
                None => {
                    continues = true;
                    break;
                }
                Some(&next) if !quoted && (next == '#' || next == '!') => {
                    out.push(next);
                    chars.next();
                }
                Some(&next) => {
                    out.push(c);
                    out.push(next);
                    chars.next();
                }
            },
            '#' | '!' if !quoted => break,
            c => out.push(c),
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    (out, continues)
}

/// Glob match of one path component (`*`, `?`, `[abc]`, `[a-z]`, `[!x]`), as
/// glob(3) does it for include patterns.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|skip| glob_at(&p[1..], &n[skip..])),
        Some('?') => !n.is_empty() && glob_at(&p[1..], &n[1..]),
        Some('[') => {
            let Some(close) = p.iter().skip(2).position(|&c| c == ']').map(|i| i + 2) else {
                return n.first() == Some(&'[') && glob_at(&p[1..], &n[1..]);
            };
            let Some(&c) = n.first() else { return false };
            let set = &p[1..close];
            let (negated, set) = match set.first() {
                Some('!') | Some('^') => (true, &set[1..]),
                _ => (false, set),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negated && glob_at(&p[close + 1..], &n[1..])
        }
        Some(&c) => n.first() == Some(&c) && glob_at(&p[1..], &n[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, id: Option<&str>) -> Vec<String> {
        read(text, "k.conf", id, &NoIncludes)
            .lines
            .into_iter()
            .map(|l| l.text)
            .collect()
    }

    #[test]
    fn comment_starts_anywhere_outside_quotes() {
        assert_eq!(decomment("auth_pass Test123!").0, "auth_pass Test123");
        assert_eq!(decomment("  delay_loop 6   # seconds").0, "delay_loop 6");
        assert_eq!(decomment(r"auth_pass a\!b").0, "auth_pass a!b");
        assert_eq!(
            decomment(r#"notify "/bin/echo #1 !x" # c"#).0,
            r#"notify "/bin/echo #1 !x""#
        );
        assert_eq!(decomment("$X=a \\"), ("$X=a".to_string(), true));
    }

    #[test]
    fn conditional_lines_follow_the_config_id() {
        let text = "@high priority 200\n@low priority 100\n@^high weight 1\nstate BACKUP\n";
        assert_eq!(lines(text, Some("high")), ["priority 200", "state BACKUP"]);
        assert_eq!(
            lines(text, Some("low")),
            ["priority 100", "weight 1", "state BACKUP"]
        );
        assert_eq!(lines(text, None), ["weight 1", "state BACKUP"]);
    }

    #[test]
    fn parameters_single_and_multi_line() {
        let text = "$IF=eth0\n$VIPS=10.0.0.1 \\\n  10.0.0.2\ninterface $IF\nvirtual_ipaddress {\n$VIPS\n}\n\
                    auth_pass ab${_HASH}c\nweight $UNDEFINED\n";
        let text = read(text, "k.conf", None, &NoIncludes);
        let got: Vec<&str> = text.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            got,
            [
                "interface eth0",
                "virtual_ipaddress {",
                "10.0.0.1",
                "10.0.0.2",
                "}",
                "auth_pass ab",
                "weight $UNDEFINED"
            ]
        );
        assert_eq!(text.notes.len(), 1, "{:?}", text.notes);
        assert_eq!(text.notes[0].line, 9);
    }

    struct Files;
    impl IncludeSource for Files {
        fn expand(&self, pattern: &str) -> Result<Vec<(String, String)>, IncludeError> {
            match pattern {
                "/etc/keepalived/conf.d/*.conf" => Ok(vec![
                    (
                        "/etc/keepalived/conf.d/a.conf".into(),
                        "vrrp_instance A {\n}\n".into(),
                    ),
                    (
                        "/etc/keepalived/conf.d/b.conf".into(),
                        "include ../more.conf\n".into(),
                    ),
                ]),
                "/etc/keepalived/conf.d/../more.conf" => Ok(vec![(
                    "/etc/keepalived/more.conf".into(),
                    "weight 3\n".into(),
                )]),
                _ => Ok(Vec::new()),
            }
        }
    }

    #[test]
    fn include_reads_matches_relative_to_the_file() {
        let text = read(
            "global_defs {\n}\ninclude conf.d/*.conf\ninclude none/*\n",
            "/etc/keepalived/keepalived.conf",
            None,
            &Files,
        );
        let got: Vec<(usize, usize, &str)> = text
            .lines
            .iter()
            .map(|l| (l.origin, l.line, l.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (0, 1, "global_defs {"),
                (0, 2, "}"),
                (1, 1, "vrrp_instance A {"),
                (1, 2, "}"),
                (3, 1, "weight 3")
            ]
        );
        assert_eq!(text.origins[3], "/etc/keepalived/more.conf");
        assert_eq!(text.notes.len(), 1);
        assert!(text.notes[0].message.contains("no file matches"));
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.conf", "a.conf"));
        assert!(!glob_match("*.conf", "a.conf.bak"));
        assert!(glob_match("vi_[0-9].conf", "vi_3.conf"));
        assert!(!glob_match("vi_[!0-9].conf", "vi_3.conf"));
        assert!(glob_match("?", "x"));
    }
}
