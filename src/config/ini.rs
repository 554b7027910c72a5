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

/// One `[kind NAME]` section and its entries: a view into a [`Document`] (`'d`)
/// whose text (`'a`) outlives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section<'d, 'a> {
    /// The first word of the header (`vrrp_instance`).
    pub kind: &'a str,
    /// The rest of the header, trimmed (`VI_1`); `None` for `[global]`.
    pub name: Option<&'a str>,
    /// 1-based line number of the header.
    pub line: usize,
    /// Entries in file order.
    pub entries: &'d [Entry<'a>],
}

/// A section header and where its entries sit in [`Document`]'s one entry table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header<'a> {
    kind: &'a str,
    name: Option<&'a str>,
    line: usize,
    start: usize,
    end: usize,
}

/// A tokenized file: every section, with the entries of all sections kept in one
/// table (one allocation for the whole file, not one per section).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document<'a> {
    headers: Vec<Header<'a>>,
    entries: Vec<Entry<'a>>,
}

impl<'a> Document<'a> {
    /// Number of sections.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// True when the file has no section.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Section `index` (file order).
    pub fn get(&self, index: usize) -> Option<Section<'_, 'a>> {
        self.headers.get(index).map(|h| self.view(h))
    }

    /// The sections in file order.
    pub fn sections(&self) -> impl ExactSizeIterator<Item = Section<'_, 'a>> + '_ {
        self.headers.iter().map(|h| self.view(h))
    }

    fn view<'d>(&'d self, h: &Header<'a>) -> Section<'d, 'a> {
        Section {
            kind: h.kind,
            name: h.name,
            line: h.line,
            entries: self.entries.get(h.start..h.end).unwrap_or(&[]),
        }
    }
}

impl<'a> Section<'_, 'a> {
    /// The header as written between the brackets, for messages (formatted only when shown).
    pub fn title(&self) -> Title<'a> {
        Title {
            kind: self.kind,
            name: self.name,
        }
    }
}

/// A section header (`vrrp_instance VI_1`) kept as borrowed parts: messages format it,
/// loading a config that has no error never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Title<'a> {
    /// The kind as written.
    pub kind: &'a str,
    /// The name, if any.
    pub name: Option<&'a str>,
}

impl std::fmt::Display for Title<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name {
            Some(name) => write!(f, "{} {}", self.kind, name),
            None => f.write_str(self.kind),
        }
    }
}

impl From<Title<'_>> for String {
    fn from(title: Title<'_>) -> String {
        title.to_string()
    }
}

/// `str::trim`, with a fast path for the usual ASCII line: identical results, since
/// Unicode whitespace beyond ASCII only matters when an end byte is non-ASCII.
fn trim(text: &str) -> &str {
    let ascii = text.trim_ascii();
    match (ascii.as_bytes().first(), ascii.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii() && last.is_ascii() => ascii,
        (None, None) => ascii,
        _ => text.trim(),
    }
}

/// A control character other than tab and CR, or DEL (bytes >= 0x80 are UTF-8).
fn is_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f
}

/// True when `line` holds an [`is_control`] byte. Eight bytes at a time: a word
/// with no byte below 0x20 and no DEL needs no closer look (each test is exact
/// per byte, since the high bit is masked off before adding).
fn has_control(line: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = line.chunks_exact(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        let below_space = !((word & !HIGH) + ONES * 0x60) & !word & HIGH;
        let del = word ^ (ONES * 0x7f);
        let is_del = !(((del & !HIGH) + !HIGH) | del) & HIGH;
        if below_space | is_del != 0 && chunk.iter().any(|b| is_control(*b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|b| is_control(*b))
}

/// Split `text` into sections. `origin` is the file name used in errors.
pub fn tokenize<'a>(text: &'a str, origin: &str) -> Result<Document<'a>, ConfigError> {
    let mut document = Document::default();
    // One pass, splitting exactly as `str::lines` does, but knowing whether the
    // last line had its newline (a missing one hints at truncation).
    for (index, piece) in text.split_inclusive('\n').enumerate() {
        let line = index + 1;
        let (raw, is_last_unterminated) = match piece.strip_suffix('\n') {
            Some(l) => (l.strip_suffix('\r').unwrap_or(l), false),
            None => (piece, true),
        };
        let syntax = |message: &'static str| {
            ConfigError::new(origin, line, ConfigErrorKind::Syntax(message))
        };
        if has_control(raw.as_bytes()) {
            return Err(syntax(
                "control character in line (binary or corrupted file?)",
            ));
        }
        let trimmed = trim(raw);
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
            let inner = trim(inner);
            let (kind, name) = match inner.split_once(char::is_whitespace) {
                Some((kind, name)) => (kind, Some(trim(name))),
                None => (inner, None),
            };
            if kind.is_empty() {
                return Err(syntax("empty section header"));
            }
            let start = document.entries.len();
            document.headers.push(Header {
                kind,
                name,
                line,
                start,
                end: start,
            });
            continue;
        }
        let (key, value) = match trimmed.split_once('=') {
            Some((key, value)) => (trim(key), Some(trim(value))),
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
        let Some(header) = document.headers.last_mut() else {
            return Err(syntax("key before the first [section]"));
        };
        document.entries.push(Entry { key, value, line });
        header.end = document.entries.len();
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_entries_carry_lines() {
        let text = "# c\n[global]\nrouter_id = LVS_1\n\n[vrrp_instance VI_1]\nnopreempt\nauth_pass = a=b#c\n";
        let document = tokenize(text, "t.ini").unwrap();
        assert_eq!(document.len(), 2);
        let sections: Vec<Section<'_, '_>> = document.sections().collect();
        assert_eq!(sections[0].kind, "global");
        assert_eq!(sections[0].name, None);
        assert_eq!(sections[0].entries.len(), 1);
        assert_eq!(sections[0].entries[0].line, 3);
        assert_eq!(sections[1].name, Some("VI_1"));
        assert_eq!(sections[1].line, 5);
        assert_eq!(sections[1].entries.len(), 2);
        assert_eq!(sections[1].entries[0].value, None);
        assert_eq!(sections[1].entries[1].value, Some("a=b#c"));
        assert_eq!(document.get(1), Some(sections[1]));
        assert_eq!(document.get(2), None);
    }

    #[test]
    fn unterminated_header_is_truncation() {
        let err = tokenize("[global]\nrouter_id = x\n[vrrp_inst", "t.ini").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.to_string().contains("truncated"));
    }

    #[test]
    fn control_bytes_found_anywhere_in_a_line() {
        for len in 1..20 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut line = vec![b'a'; len];
                    line[at] = byte;
                    let expect = (byte < 0x20 && byte != b'\t' && byte != b'\r') || byte == 0x7f;
                    assert_eq!(has_control(&line), expect, "len {len} at {at} byte {byte}");
                }
            }
        }
    }

    #[test]
    fn key_before_section() {
        let err = tokenize("router_id = x\n", "t.ini").unwrap_err();
        assert_eq!(err.line, 1);
    }
}
