//! Sections -> typed objects: one function per section kind, one arm per key.
//!
//! This stage checks each value on its own (syntax, range, capacity) and records the
//! names that refer elsewhere; `validate.rs` resolves them and does the cross-checks.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use super::error::{suggest, ConfigError, ConfigErrorKind, ConfigWarning, ValueError};
use super::ini::{Entry, Section, Title};
use super::keys::{canonical, keys_of};
use super::model::*;
use super::ranges::{self, RangeText};

/// One section being read: its location and helpers that turn values into types.
pub(crate) struct Reader<'s, 'a> {
    /// File name.
    pub origin: &'s str,
    /// The section.
    pub section: &'s Section<'s, 'a>,
    /// Its title for messages.
    pub title: Title<'a>,
    /// Its kind: a section bit of `keys.rs`, whose keys it takes.
    pub kind: u32,
}

impl<'s, 'a> Reader<'s, 'a> {
    /// Start reading `section` of kind `kind` (a section bit of
    /// `keys.rs`), rejecting unknown and duplicate keys.
    pub fn new(
        origin: &'s str,
        section: &'s Section<'s, 'a>,
        kind: u32,
    ) -> Result<Self, ConfigError> {
        let reader = Self {
            origin,
            section,
            title: section.title(),
            kind,
        };
        // One bit per key of the section seen so far (no section is near 128
        // keys; keys.rs's tests say so).
        let mut seen: u128 = 0;
        for (index, entry) in section.entries.iter().enumerate() {
            let key = canonical(kind, entry.key);
            let Some((position, spec)) = keys_of(kind).enumerate().find(|(_, k)| k.name == key)
            else {
                let suggestion = suggest(entry.key, keys_of(kind).map(|k| k.name));
                return Err(reader.error(entry, ConfigErrorKind::UnknownKey { suggestion }));
            };
            if spec.list {
                continue;
            }
            let bit = 1u128.checked_shl(position as u32).unwrap_or(0);
            if seen & bit != 0 {
                let first_line = section
                    .entries
                    .iter()
                    .take(index)
                    .find(|e| canonical(kind, e.key) == key)
                    .map_or(entry.line, |e| e.line);
                return Err(reader.error(entry, ConfigErrorKind::DuplicateKey { first_line }));
            }
            seen |= bit;
        }
        Ok(reader)
    }

    /// Entries with their canonical key.
    pub fn entries(&self) -> impl Iterator<Item = (&'s str, &'s Entry<'a>)> {
        let kind = self.kind;
        self.section
            .entries
            .iter()
            .map(move |e| (canonical(kind, e.key), e))
    }

    /// The line of `key`, or of the header when absent.
    pub fn line_of(&self, key: &str) -> usize {
        self.section
            .entries
            .iter()
            .find(|e| canonical(self.kind, e.key) == key)
            .map_or(self.section.line, |e| e.line)
    }

    /// A key `keys.rs` declares for this section that its reader has no arm
    /// for: refused loudly, never skipped (tests/config_keys_effect.rs
    /// catches it before a release).
    pub fn unread(&self, entry: &Entry<'_>) -> ConfigError {
        self.error(
            entry,
            ConfigErrorKind::Conflict(super::conflict::Conflict::Unread),
        )
    }

    /// An error at `entry`.
    pub fn error(&self, entry: &Entry<'_>, kind: ConfigErrorKind) -> ConfigError {
        ConfigError::new(self.origin, entry.line, kind)
            .in_section(self.title)
            .at_key(entry.key)
    }

    /// An error about `key` at the section header (missing keys) or elsewhere.
    pub fn error_at(&self, line: usize, key: Option<&str>, kind: ConfigErrorKind) -> ConfigError {
        let error = ConfigError::new(self.origin, line, kind).in_section(self.title);
        match key {
            Some(key) => error.at_key(key),
            None => error,
        }
    }

    /// A missing required key.
    pub fn missing(&self, key: &str) -> ConfigError {
        self.error_at(self.section.line, Some(key), ConfigErrorKind::MissingKey)
    }

    /// A bad value at `entry`.
    pub fn bad(&self, entry: &Entry<'_>, allowed: impl Into<String>) -> ConfigError {
        self.error(
            entry,
            ConfigErrorKind::BadValue {
                value: entry.value.unwrap_or("").to_string(),
                allowed: allowed.into(),
            },
        )
    }

    /// A value at `entry` that a typed parser refused.
    pub fn invalid(&self, entry: &Entry<'_>, source: impl Into<ValueError>) -> ConfigError {
        self.error(
            entry,
            ConfigErrorKind::Invalid {
                value: entry.value.unwrap_or("").to_string(),
                source: source.into(),
            },
        )
    }

    /// A warning at `line`.
    pub fn warning(&self, line: usize, key: Option<&str>, message: String) -> ConfigWarning {
        ConfigWarning {
            origin: self.origin.to_string(),
            line,
            section: self.title.to_string(),
            key: key.map(str::to_string),
            message,
        }
    }

    /// The value, which must be present and non-empty.
    pub fn text(&self, entry: &Entry<'a>) -> Result<&'a str, ConfigError> {
        match entry.value {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(self.bad(entry, "needs a value")),
        }
    }

    /// A flag: `yes/no/true/false/on/off/1/0`, or a bare key for yes.
    pub fn flag(&self, entry: &Entry<'a>) -> Result<bool, ConfigError> {
        match entry.value.map(str::to_ascii_lowercase).as_deref() {
            None | Some("yes" | "true" | "on" | "1") => Ok(true),
            Some("no" | "false" | "off" | "0") => Ok(false),
            _ => Err(self.bad(entry, "must be yes or no")),
        }
    }

    /// One of `words` as written, as its value; the error lists the words.
    pub fn word<T: Copy>(&self, entry: &Entry<'a>, words: &[(&str, T)]) -> Result<T, ConfigError> {
        self.word_in(entry, words, false)
    }

    /// As [`Reader::word`], ignoring ASCII case.
    pub fn word_any_case<T: Copy>(
        &self,
        entry: &Entry<'a>,
        words: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        self.word_in(entry, words, true)
    }

    fn word_in<T: Copy>(
        &self,
        entry: &Entry<'a>,
        words: &[(&str, T)],
        any_case: bool,
    ) -> Result<T, ConfigError> {
        let i = self.word_index(entry, &|i| words.get(i).map(|(word, _)| *word), any_case)?;
        Ok(words[i].1)
    }

    /// The index of the entry's value among the words `word(0)`, `word(1)`...
    /// (one body for every word list, whatever its values' type).
    #[inline(never)]
    fn word_index<'w>(
        &self,
        entry: &Entry<'a>,
        word: &dyn Fn(usize) -> Option<&'w str>,
        any_case: bool,
    ) -> Result<usize, ConfigError> {
        let text = self.text(entry)?;
        let mut count = 0;
        while let Some(w) = word(count) {
            if w == text || (any_case && w.eq_ignore_ascii_case(text)) {
                return Ok(count);
            }
            count += 1;
        }
        // "must be A, B or C"
        let mut allowed = String::from("must be ");
        for (i, w) in (0..count).filter_map(word).enumerate() {
            if i > 0 {
                allowed.push_str(if i + 1 == count { " or " } else { ", " });
            }
            allowed.push_str(w);
        }
        Err(self.bad(entry, allowed))
    }

    /// An integer in `range`.
    pub fn int<T>(&self, entry: &Entry<'a>, range: RangeInclusive<T>) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let text = self.text(entry)?;
        let allowed = || format!("must be {}..={}", range.start(), range.end());
        let value: T = text.parse().map_err(|_| self.bad(entry, allowed()))?;
        if !range.contains(&value) {
            return Err(self.bad(entry, allowed()));
        }
        Ok(value)
    }

    /// A duration in seconds (decimals allowed, `ms` / `s` suffix optional) in `range`.
    pub fn duration(
        &self,
        entry: &Entry<'a>,
        range: RangeInclusive<Duration>,
    ) -> Result<Duration, ConfigError> {
        let text = self.text(entry)?;
        let allowed = || {
            ranges::around(
                "must be a duration in seconds, ",
                &range,
                " (e.g. `3`, `0.5`, `500ms`)",
            )
        };
        let value = parse_duration(text).ok_or_else(|| self.bad(entry, allowed()))?;
        if !range.contains(&value) {
            return Err(self.bad(entry, allowed()));
        }
        Ok(value)
    }

    /// A name (no whitespace, at most `MAX_NAME_LEN` bytes).
    pub fn name(&self, entry: &Entry<'a>) -> Result<Name, ConfigError> {
        let text = unquote(self.text(entry)?);
        to_name(text).ok_or_else(|| {
            self.bad(
                entry,
                format!(
                    "must be one word of at most {} bytes (limits::MAX_NAME_LEN)",
                    crate::limits::MAX_NAME_LEN
                ),
            )
        })
    }

    /// An interface name (1..=15 bytes, no `/` or whitespace).
    pub fn interface(&self, entry: &Entry<'a>, text: &str) -> Result<Name, ConfigError> {
        to_interface(text).ok_or_else(|| {
            self.bad(
                entry,
                "interface name must be 1..=15 bytes without `/` or spaces",
            )
        })
    }

    /// A path or command line (surrounding double quotes removed), at most `MAX_PATH_LEN` bytes.
    pub fn path(&self, entry: &Entry<'a>) -> Result<PathText, ConfigError> {
        let text = unquote(self.text(entry)?);
        let mut out = PathText::new();
        if text.is_empty() || out.push_str(text).is_err() {
            return Err(self.bad(
                entry,
                format!(
                    "must be 1..={} bytes (limits::MAX_PATH_LEN)",
                    crate::limits::MAX_PATH_LEN
                ),
            ));
        }
        Ok(out)
    }

    /// A command line (`script`, `misc_path`, `notify*`, `quorum_*`): a
    /// [`path`](Self::path) that also splits into words, so a bad one is
    /// refused by `lvsd check`, not first when the daemon runs it.
    pub fn command(&self, entry: &Entry<'a>) -> Result<PathText, ConfigError> {
        let text = self.path(entry)?;
        match crate::script::split_command_line(&text) {
            Ok(_) => Ok(text),
            Err(e) => Err(self.bad(entry, format!("command line: {e}"))),
        }
    }

    /// An IP address.
    pub fn ip(&self, entry: &Entry<'a>) -> Result<IpAddr, ConfigError> {
        let text = self.text(entry)?;
        text.parse()
            .map_err(|_| self.bad(entry, "must be an IPv4 or IPv6 address"))
    }
}

/// Parse `3`, `0.5`, `1.25s`, `500ms` into a duration.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let (number, scale_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, true)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, false)
    } else {
        (text, false)
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 6
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut micros: u64 = 0;
    for (i, digit) in fraction.bytes().enumerate() {
        micros += u64::from(digit - b'0') * 10u64.pow(5 - i as u32);
    }
    let total = Duration::from_secs(whole.min(u64::from(u32::MAX)))
        .checked_add(Duration::from_micros(micros))?;
    if scale_ms {
        Some(total / 1000)
    } else {
        Some(total)
    }
}

/// Strip one pair of surrounding double quotes.
pub(crate) fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// A name: one word of `[A-Za-z0-9_.:@-]`, at most `MAX_NAME_LEN` bytes.
pub(crate) fn to_name(text: &str) -> Option<Name> {
    if text.is_empty()
        || !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-:@".contains(&b))
    {
        return None;
    }
    let mut out = Name::new();
    out.push_str(text).ok()?;
    Some(out)
}

/// An interface name: 1..=15 bytes (IFNAMSIZ - 1), no `/` or whitespace.
pub(crate) fn to_interface(text: &str) -> Option<Name> {
    if text.is_empty()
        || text.len() > 15
        || text
            .bytes()
            .any(|b| b == b'/' || b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return None;
    }
    let mut out = Name::new();
    out.push_str(text).ok()?;
    Some(out)
}

/// An optional duration, in nanoseconds, `u64::MAX` when unset: 8 bytes where
/// `Option<Duration>` takes 16, and every real server and checker carries four.
/// Timing keys are at most an hour, far below the 584 years a u64 holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MaybeDuration(u64);

impl Default for MaybeDuration {
    fn default() -> Self {
        MaybeDuration(u64::MAX)
    }
}

impl MaybeDuration {
    fn set(d: Duration) -> Self {
        MaybeDuration(u64::try_from(d.as_nanos()).map_or(u64::MAX - 1, |n| n.min(u64::MAX - 1)))
    }

    /// The duration, if set.
    pub fn get(self) -> Option<Duration> {
        (self.0 != u64::MAX).then(|| Duration::from_nanos(self.0))
    }

    fn or(self, parent: MaybeDuration) -> MaybeDuration {
        if self.0 == u64::MAX {
            parent
        } else {
            self
        }
    }
}

/// Optional check timing set at one level of the inheritance chain.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimingOptions {
    pub delay_loop: MaybeDuration,
    pub connect_timeout: MaybeDuration,
    pub retry: Option<u32>,
    pub delay_before_retry: MaybeDuration,
    pub warmup: MaybeDuration,
}

impl TimingOptions {
    /// Set a timing key; false if `key` is not one.
    pub fn read(
        &mut self,
        reader: &Reader<'_, '_>,
        key: &str,
        entry: &Entry<'_>,
    ) -> Result<bool, ConfigError> {
        let set = MaybeDuration::set;
        match key {
            "delay_loop" => self.delay_loop = set(reader.duration(entry, ranges::CHECK_TIME)?),
            "connect_timeout" => {
                self.connect_timeout = set(reader.duration(entry, ranges::CHECK_TIME)?)
            }
            "retry" => self.retry = Some(reader.int(entry, ranges::RETRY)?),
            "delay_before_retry" => {
                self.delay_before_retry = set(reader.duration(entry, ranges::CHECK_DELAY)?)
            }
            "warmup" => self.warmup = set(reader.duration(entry, ranges::CHECK_DELAY)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `self` overriding `parent`.
    pub fn over(self, parent: TimingOptions) -> TimingOptions {
        TimingOptions {
            delay_loop: self.delay_loop.or(parent.delay_loop),
            connect_timeout: self.connect_timeout.or(parent.connect_timeout),
            retry: self.retry.or(parent.retry),
            delay_before_retry: self.delay_before_retry.or(parent.delay_before_retry),
            warmup: self.warmup.or(parent.warmup),
        }
    }

    /// Fill the BEHAVIOUR.md defaults: delay_loop 60 s, connect_timeout 5 s,
    /// retry `default_retry`, delay_before_retry `default_delay_before_retry`,
    /// warmup = delay_loop.
    pub fn resolve(self, default_retry: u32, default_delay_before_retry: Duration) -> CheckTiming {
        let delay_loop = self.delay_loop.get().unwrap_or(Duration::from_secs(60));
        CheckTiming {
            delay_loop,
            connect_timeout: self.connect_timeout.get().unwrap_or(Duration::from_secs(5)),
            retry: self.retry.unwrap_or(default_retry),
            delay_before_retry: self
                .delay_before_retry
                .get()
                .unwrap_or(default_delay_before_retry),
            warmup: self.warmup.get().unwrap_or(delay_loop),
        }
    }
}

/// Split `words` as `FIRST [weight N]`; returns (FIRST, weight) with weight -254..=254.
pub(crate) fn with_weight<'a>(
    reader: &Reader<'_, 'a>,
    entry: &Entry<'a>,
    form: &str,
) -> Result<(&'a str, Option<i32>), ConfigError> {
    let text = reader.text(entry)?;
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("");
    let weight = match (words.next(), words.next(), words.next()) {
        (None, _, _) => None,
        (Some("weight"), Some(n), None) => match n.parse::<i32>() {
            Ok(w) if ranges::TRACK_WEIGHT.contains(&w) => Some(w),
            _ => {
                return Err(reader.bad(
                    entry,
                    format!("{form}: weight must be {}", ranges::TRACK_WEIGHT.text()),
                ))
            }
        },
        _ => return Err(reader.bad(entry, format!("must be `{form}`"))),
    };
    Ok((first, weight))
}

/// Parse `ADDR`, `ADDR:PORT`, `[V6]:PORT` or `ADDR PORT`; port None when absent.
pub(crate) fn parse_host_port(text: &str) -> Option<(IpAddr, Option<u16>)> {
    let text = text.trim();
    if let Ok(addr) = SocketAddr::from_str(text) {
        return Some((addr.ip(), Some(addr.port())));
    }
    if let Ok(ip) = IpAddr::from_str(text) {
        return Some((ip, None));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        if let Ok(ip) = IpAddr::from_str(inner) {
            return Some((ip, None));
        }
    }
    let mut words = text.split_whitespace();
    let ip = IpAddr::from_str(words.next()?).ok()?;
    let port = words.next()?.parse().ok()?;
    if words.next().is_some() {
        return None;
    }
    Some((ip, Some(port)))
}

/// Split a real-server or checker section name `VS/ADDR[:PORT]`.
pub(crate) fn split_target(name: &str) -> Option<(&str, IpAddr, Option<u16>)> {
    let (vs, host) = name.split_once('/')?;
    let vs = vs.trim();
    if vs.is_empty() {
        return None;
    }
    let (ip, port) = parse_host_port(host)?;
    Some((vs, ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maybe_duration_keeps_every_timing_value() {
        assert_eq!(MaybeDuration::default().get(), None);
        for d in [
            Duration::ZERO,
            Duration::from_micros(1),
            Duration::from_millis(1500),
            Duration::from_secs(3600),
        ] {
            assert_eq!(MaybeDuration::set(d).get(), Some(d));
            assert_eq!(
                MaybeDuration::default().or(MaybeDuration::set(d)).get(),
                Some(d)
            );
            assert_eq!(
                MaybeDuration::set(d).or(MaybeDuration::default()).get(),
                Some(d)
            );
        }
        assert_eq!(std::mem::size_of::<TimingOptions>(), 40);
    }
}
