//! Configuration errors and warnings: every one names file:line, section and key.

use std::fmt;

use super::announce::AnnounceError;
use super::conflict::Conflict;
use super::vs_group::MemberError;

/// What went wrong, without the location (which [`ConfigError`] carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Io(ReadError),
    /// The file is larger than `limits::MAX_CONFIG_BYTES`.
    TooLarge {
        /// Size of the file in bytes.
        size: usize,
    },
    /// The file is not valid UTF-8 (the line is the first bad one).
    NotUtf8,
    /// A line that is not a header, a comment or `key = value`.
    Syntax(&'static str),
    /// A section kind we do not know.
    UnknownSection {
        /// The closest known kind, if any is close.
        suggestion: Option<&'static str>,
    },
    /// A section kind that needs a name got none, or `[global]` got one.
    BadSectionName(&'static str),
    /// The same section header appears twice.
    DuplicateSection {
        /// Line of the first occurrence.
        first_line: usize,
    },
    /// A key the section does not know.
    UnknownKey {
        /// The closest known key, if any is close.
        suggestion: Option<&'static str>,
    },
    /// A key that is not a list appears twice in one section.
    DuplicateKey {
        /// Line of the first occurrence.
        first_line: usize,
    },
    /// A required key is missing (the line is the section header's).
    MissingKey,
    /// A value outside what the key allows.
    BadValue {
        /// The value as written.
        value: String,
        /// What the key allows.
        allowed: String,
    },
    /// More items than a capacity in `limits.rs` allows.
    OverCapacity {
        /// Name of the `limits.rs` constant.
        limit: &'static str,
        /// Its value.
        max: usize,
    },
    /// A name that refers to nothing (script, instance, virtual server).
    UnknownReference {
        /// What kind of object was looked for.
        what: &'static str,
        /// The closest known name, if any is close.
        suggestion: Option<String>,
    },
    /// A value a typed parser refused.
    Invalid {
        /// The value as written.
        value: String,
        /// Why it was refused.
        source: ValueError,
    },
    /// Two settings that cannot hold together.
    Conflict(Conflict),
    /// Announce settings that cannot work.
    Announce(AnnounceError),
}

impl ConfigErrorKind {
    /// The value as written, for kinds that show it after the key.
    fn value(&self) -> Option<&str> {
        match self {
            ConfigErrorKind::BadValue { value, .. } | ConfigErrorKind::Invalid { value, .. } => {
                Some(value)
            }
            _ => None,
        }
    }
}

/// Why a value was refused, from the parser that refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// A `[virtual_server_group]` member.
    Member(MemberError),
    /// UDP_CHECK hex bytes (`payload`, `require_reply`).
    Hex(crate::check::udp::BadHex),
    /// A DNS_CHECK `name`.
    DnsName(crate::check::dns::BadName),
}

impl From<MemberError> for ValueError {
    fn from(e: MemberError) -> Self {
        ValueError::Member(e)
    }
}

impl From<crate::check::udp::BadHex> for ValueError {
    fn from(e: crate::check::udp::BadHex) -> Self {
        ValueError::Hex(e)
    }
}

impl From<crate::check::dns::BadName> for ValueError {
    fn from(e: crate::check::dns::BadName) -> Self {
        ValueError::DnsName(e)
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Member(e) => fmt::Display::fmt(e, f),
            ValueError::Hex(e) => fmt::Display::fmt(e, f),
            ValueError::DnsName(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for ValueError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ValueError::Member(e) => Some(e),
            ValueError::Hex(e) => Some(e),
            ValueError::DnsName(e) => Some(e),
        }
    }
}

/// Why the configuration file could not be read.
#[derive(Debug, Clone)]
pub enum ReadError {
    /// The system refused (shared, so that errors stay `Clone`).
    Os(std::sync::Arc<std::io::Error>),
    /// The path is not a regular file; the text names what it is.
    NotRegular(&'static str),
}

impl PartialEq for ReadError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            // Same kind and same text: io::Error has no equality of its own.
            (ReadError::Os(a), ReadError::Os(b)) => {
                a.kind() == b.kind() && a.to_string() == b.to_string()
            }
            (ReadError::NotRegular(a), ReadError::NotRegular(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for ReadError {}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Os(e) => fmt::Display::fmt(e, f),
            ReadError::NotRegular(kind) => write!(
                f,
                "not a regular file ({kind}); the configuration must be a regular file"
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Os(e) => Some(&**e),
            ReadError::NotRegular(_) => None,
        }
    }
}

/// A configuration error, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// File name as given to the loader.
    pub origin: String,
    /// 1-based line; 0 when the error concerns the whole file.
    pub line: usize,
    /// Section title (`vrrp_instance VI_1`), if the error is inside one.
    pub section: Option<String>,
    /// Key name, if the error concerns one.
    pub key: Option<String>,
    /// What went wrong (boxed to keep `Result<_, ConfigError>` small).
    pub kind: Box<ConfigErrorKind>,
}

impl ConfigError {
    /// An error at `line` with no section or key yet.
    pub fn new(origin: &str, line: usize, kind: ConfigErrorKind) -> Self {
        Self {
            origin: origin.to_string(),
            line,
            section: None,
            key: None,
            kind: Box::new(kind),
        }
    }

    /// The same error, naming a section.
    pub fn in_section(mut self, section: impl Into<String>) -> Self {
        self.section = Some(section.into());
        self
    }

    /// The same error, naming a key.
    pub fn at_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(f, ":")?;
        if let Some(section) = &self.section {
            write!(f, " [{section}]")?;
        }
        if let Some(key) = &self.key {
            write!(f, " {key}")?;
            if let Some(value) = self.kind.value() {
                write!(f, " = {value}")?;
            }
        }
        let sep = if self.section.is_some() || self.key.is_some() {
            ": "
        } else {
            " "
        };
        write!(f, "{sep}")?;
        match &*self.kind {
            ConfigErrorKind::Io(error) => write!(f, "cannot read: {error}"),
            ConfigErrorKind::TooLarge { size } => write!(
                f,
                "file is {size} bytes, more than MAX_CONFIG_BYTES ({})",
                crate::limits::MAX_CONFIG_BYTES
            ),
            ConfigErrorKind::NotUtf8 => write!(f, "not valid UTF-8 (the file must be UTF-8 text)"),
            ConfigErrorKind::Syntax(message) => write!(f, "{message}"),
            ConfigErrorKind::UnknownSection { suggestion } => {
                write!(f, "unknown section")?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean [{s} ...]?")?;
                }
                write!(
                    f,
                    " (known: global, vrrp_instance, vrrp_sync_group, vrrp_script, \
                     virtual_server, real_server, tcp_check, http_get, ssl_get, smtp_check, misc_check, \
                     udp_check, ping_check, file_check, dns_check)"
                )
            }
            ConfigErrorKind::BadSectionName(message) => write!(f, "{message}"),
            ConfigErrorKind::DuplicateSection { first_line } => {
                write!(f, "section defined twice (first at line {first_line})")
            }
            ConfigErrorKind::UnknownKey { suggestion } => {
                write!(f, "unknown key")?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean `{s}`?")?;
                }
                Ok(())
            }
            ConfigErrorKind::DuplicateKey { first_line } => write!(
                f,
                "key given twice (first at line {first_line}); only list keys may repeat"
            ),
            ConfigErrorKind::MissingKey => write!(f, "required key is missing"),
            ConfigErrorKind::BadValue { allowed, .. } => write!(f, "{allowed}"),
            ConfigErrorKind::OverCapacity { limit, max } => {
                write!(f, "more than {max} items (limits::{limit})")
            }
            ConfigErrorKind::UnknownReference { what, suggestion } => {
                write!(f, "no {what} of that name")?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean `{s}`?")?;
                }
                Ok(())
            }
            ConfigErrorKind::Invalid { source, .. } => fmt::Display::fmt(source, f),
            ConfigErrorKind::Conflict(conflict) => fmt::Display::fmt(conflict, f),
            ConfigErrorKind::Announce(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ConfigErrorKind::Invalid { source, .. } => Some(source),
            ConfigErrorKind::Io(error) => Some(error),
            ConfigErrorKind::Conflict(conflict) => Some(conflict),
            ConfigErrorKind::Announce(error) => Some(error),
            _ => None,
        }
    }
}

/// Something legal but probably unintended; returned with the [`Config`](super::Config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// File name as given to the loader.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// Section title.
    pub section: String,
    /// Key name, if the warning concerns one.
    pub key: Option<String>,
    /// What lvsd will do.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: warning: [{}]",
            self.origin, self.line, self.section
        )?;
        if let Some(key) = &self.key {
            write!(f, " {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Edit distance with adjacent transpositions (optimal string alignment), for "did you mean".
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a typo; a word that
/// starts a candidate (a truncated key) suggests the shortest such candidate.
pub(crate) fn suggest<'c, I>(word: &str, candidates: I) -> Option<&'c str>
where
    I: IntoIterator<Item = &'c str>,
{
    let lower = word.to_ascii_lowercase();
    let candidates: Vec<&'c str> = candidates.into_iter().collect();
    if lower.len() >= 4 {
        if let Some(prefixed) = candidates
            .iter()
            .filter(|c| c.to_ascii_lowercase().starts_with(&lower))
            .min_by_key(|c| c.len())
        {
            return Some(prefixed);
        }
    }
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_suggestion() {
        assert_eq!(edit_distance("priorty", "priority"), 1);
        assert_eq!(
            suggest("virtual_router", ["virtual_router_id", "priority"]),
            Some("virtual_router_id")
        );
        assert_eq!(suggest("zzz", ["priority"]), None);
        assert_eq!(suggest("wbe", ["web"]), Some("web"));
        assert_eq!(
            suggest("connect_tim", ["connect_ip", "connect_timeout"]),
            Some("connect_timeout")
        );
    }
}
