//! Our own INI tokenizer: sections and `key = value` lines, each with its line number.
//!
//! The grammar is deliberately small so that every error can name a line:
//! - blank lines and whole-line comments (`#` or `;` as first non-blank) are skipped;
//! - `[kind]` or `[kind NAME]` opens a section (NAME may contain spaces, `/`, `:`, `[`, `]`);
//! - `key = value` sets a key; the value is trimmed and may contain `=` and `#`;
//! - a bare `key` (no `=`) is kept with no value: the schema accepts that for flags only.
//!
//! Keys before the first section, unterminated headers and control characters are errors.

use super::error::{ConfigError, ConfigErrorKind};

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The key, trimmed.
    pub key: &'a str,
    /// The value, trimmed; `None` for a bare key.
    pub value: Option<&'a str>,
    /// 1-based line number.
    pub line: usize,
}

/// One `[kind NAME]` section and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    /// The first word of the header (`vrrp_instance`).
    pub kind: &'a str,
    /// The rest of the header, trimmed (`VI_1`); `None` for `[global]`.
    pub name: Option<&'a str>,
    /// 1-based line number of the header.
    pub line: usize,
    /// Entries in file order.
    pub entries: Vec<Entry<'a>>,
}

impl Section<'_> {
    /// The header as written between the brackets, for messages.
    pub fn title(&self) -> String {
        match self.name {
            Some(name) => format!("{} {}", self.kind, name),
            None => self.kind.to_string(),
        }
    }
}

/// Split `text` into sections. `origin` is the file name used in errors.
pub fn tokenize<'a>(text: &'a str, origin: &str) -> Result<Vec<Section<'a>>, ConfigError> {
    let mut sections: Vec<Section<'a>> = Vec::new();
    let ends_with_newline = text.is_empty() || text.ends_with('\n');
    let line_count = text.lines().count();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let is_last_unterminated = !ends_with_newline && line == line_count;
        let syntax = |message: &'static str| {
            ConfigError::new(origin, line, ConfigErrorKind::Syntax(message))
        };
        if raw
            .bytes()
            .any(|b| (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f)
        {
            return Err(syntax(
                "control character in line (binary or corrupted file?)",
            ));
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(inner) = rest.strip_suffix(']') else {
                return Err(syntax(if is_last_unterminated {
                    "unterminated section header at end of file (truncated file?)"
                } else {
                    "section header must end with `]`"
                }));
            };
            let inner = inner.trim();
            let (kind, name) = match inner.split_once(char::is_whitespace) {
                Some((kind, name)) => (kind, Some(name.trim())),
                None => (inner, None),
            };
            if kind.is_empty() {
                return Err(syntax("empty section header"));
            }
            sections.push(Section {
                kind,
                name,
                line,
                entries: Vec::new(),
            });
            continue;
        }
        let (key, value) = match trimmed.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim())),
            None => (trimmed, None),
        };
        if key.is_empty() {
            return Err(syntax("line has `=` but no key"));
        }
        if !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(syntax(if is_last_unterminated {
                "expected `key = value` (truncated file?)"
            } else {
                "expected `key = value`; keys are letters, digits and `_`"
            }));
        }
        let Some(section) = sections.last_mut() else {
            return Err(syntax("key before the first [section]"));
        };
        section.entries.push(Entry { key, value, line });
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_entries_carry_lines() {
        let text = "# c\n[global]\nrouter_id = LVS_1\n\n[vrrp_instance VI_1]\nnopreempt\nauth_pass = a=b#c\n";
        let sections = tokenize(text, "t.ini").unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].kind, "global");
        assert_eq!(sections[0].name, None);
        assert_eq!(sections[0].entries[0].line, 3);
        assert_eq!(sections[1].name, Some("VI_1"));
        assert_eq!(sections[1].line, 5);
        assert_eq!(sections[1].entries[0].value, None);
        assert_eq!(sections[1].entries[1].value, Some("a=b#c"));
    }

    #[test]
    fn unterminated_header_is_truncation() {
        let err = tokenize("[global]\nrouter_id = x\n[vrrp_inst", "t.ini").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.to_string().contains("truncated"));
    }

    #[test]
    fn key_before_section() {
        let err = tokenize("router_id = x\n", "t.ini").unwrap_err();
        assert_eq!(err.line, 1);
    }
}
