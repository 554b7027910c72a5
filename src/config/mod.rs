//! INI text -> validated, fixed-capacity configuration (see `docs/config.md`).
//!
//! Pipeline: [`ini`] splits text into sections with line numbers, `sections` reads
//! each section's keys into typed values, `validate` resolves references, inherits
//! defaults and runs the cross-checks. The loader only reads the file it is given:
//! no sockets, no clocks, no look at the system (interfaces are recorded in
//! [`Config::interfaces`] for the daemon to check at start).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]
#![forbid(unsafe_code)]

/// Announce mode cross-checks (docs/scale-out.md).
pub mod announce;
/// Settings that cannot hold together.
pub mod conflict;
/// What a reload may change in place, and what needs a restart.
pub mod diff;
/// Errors and warnings with file:line.
pub mod error;
/// Generated configurations for benchmarks and tests.
pub mod generate;
/// The INI tokenizer.
pub mod ini;
/// keepalived.conf -> INI import.
pub mod keepalived;
/// One declaration per config key: sections, aliases, import, documentation.
#[doc(hidden)]
pub mod keys;
/// The validated configuration types.
pub mod model;
mod parse;
/// `virtual_routes` / `virtual_rules` / static route and rule lines.
pub mod ranges;
pub mod route;
mod sections;
mod summary;
mod validate;
pub mod vs_group;

pub use conflict::{Conflict, StrictConflict};
pub use error::{ConfigError, ConfigErrorKind, ConfigWarning};
pub use model::*;
pub use validate::probe_key;

use crate::limits::MAX_CONFIG_BYTES;
use error::suggest;
use validate::RawConfig;

/// Section kinds, for "did you mean".
const SECTION_KINDS: &[&str] = &[
    "global",
    "vrrp_instance",
    "vrrp_sync_group",
    "vrrp_script",
    "virtual_server",
    "real_server",
    "tcp_check",
    "http_get",
    "ssl_get",
    "smtp_check",
    "misc_check",
    "udp_check",
    "ping_check",
    "file_check",
    "dns_check",
    "virtual_server_group",
    "vrrp_track_process",
];

/// A word-at-a-time multiplicative hash (FxHash-like, with a final mix so the low
/// bits that pick a bucket depend on every byte). The loader's maps are keyed by
/// short names from the file being loaded, so SipHash's flood resistance buys
/// nothing and costs a third of each lookup.
#[derive(Clone, Copy, Default)]
pub(crate) struct NameHasher(u64);

impl NameHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut word = [0u8; 8];
        if let Some(head) = word.get_mut(..rest.len()) {
            head.copy_from_slice(rest);
        }
        self.mix(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
    }
    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
}

/// A map keyed by names from the configuration (see [`NameHasher`]).
pub(crate) type NameMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<NameHasher>>;

/// Parse and validate configuration text; `origin` is the file name used in messages.
pub fn load_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(
            origin,
            0,
            ConfigErrorKind::TooLarge { size: text.len() },
        ));
    }
    let document = ini::tokenize(text, origin)?;
    let mut raw = sized_raw_config(&document);
    import_notes(text, origin, &mut raw.warnings);
    let duplicate = first_duplicate(&document);
    for (index, section) in document.sections().enumerate() {
        let section = &section;
        let kind = section_kind(origin, section, duplicate.filter(|(d, _)| *d == index))?;
        match kind {
            "global" => raw.global = Some(sections::read_global(origin, section)?),
            "vrrp_script" => raw.scripts.push(sections::read_script(origin, section)?),
            "vrrp_track_process" => raw
                .track_processes
                .push(sections::read_track_process_section(
                    origin,
                    section,
                    &mut raw.warnings,
                )?),
            "vrrp_instance" => {
                let mut instance = sections::read_instance(origin, section)?;
                raw.warnings.append(&mut instance.warnings);
                raw.instances.push(instance)
            }
            "vrrp_sync_group" => raw.groups.push(sections::read_sync_group(origin, section)?),
            "virtual_server" => raw.virtual_servers.push(sections::read_virtual_server(
                origin,
                section,
                &mut raw.warnings,
            )?),
            "virtual_server_group" => raw
                .vs_groups
                .push(vs_group::read_vs_group(origin, section)?),
            "real_server" => raw
                .real_servers
                .push(sections::read_real_server(origin, section)?),
            // The rest of SECTION_KINDS: tcp_check, http_get, ssl_get, smtp_check, misc_check,
            // udp_check, ping_check, file_check, dns_check.
            _ => raw
                .checkers
                .push(sections::read_checker(origin, section, kind)?),
        }
    }
    // The raw sections borrow only the text: free the tables before building.
    drop(document);
    validate::build(origin, raw)
}

/// An empty [`RawConfig`] with room for the document's virtual servers, real
/// servers and checkers (the tables that grow large).
fn sized_raw_config<'a>(document: &ini::Document<'a>) -> RawConfig<'a> {
    let count = |kinds: &[&str]| {
        document
            .sections()
            .filter(|s| kinds.iter().any(|k| s.kind.eq_ignore_ascii_case(k)))
            .count()
    };
    RawConfig {
        global: None,
        scripts: Vec::new(),
        track_processes: Vec::new(),
        instances: Vec::new(),
        groups: Vec::new(),
        virtual_servers: Vec::with_capacity(count(&["virtual_server"])),
        real_servers: Vec::with_capacity(count(&["real_server"])),
        checkers: Vec::with_capacity(count(&SECTION_KINDS[6..11])),
        vs_groups: Vec::new(),
        warnings: Vec::new(),
    }
}

/// The known kind of `section`; an error when the kind is unknown or when
/// `duplicate` says an earlier section had its kind and name (its line).
fn section_kind(
    origin: &str,
    section: &ini::Section<'_, '_>,
    duplicate: Option<(usize, usize)>,
) -> Result<&'static str, ConfigError> {
    let Some(kind) = known_kind(section.kind) else {
        let suggestion = suggest(section.kind, SECTION_KINDS.iter().copied());
        return Err(ConfigError::new(
            origin,
            section.line,
            ConfigErrorKind::UnknownSection { suggestion },
        )
        .in_section(section.title()));
    };
    if let Some((_, first_line)) = duplicate {
        return Err(ConfigError::new(
            origin,
            section.line,
            ConfigErrorKind::DuplicateSection { first_line },
        )
        .in_section(section.title()));
    }
    Ok(kind)
}

/// `lvsd import-keepalived` writes what it dropped or changed as `#! import ...`
/// comment lines; each becomes a warning, so a lossy import never checks clean.
fn import_notes(text: &str, origin: &str, warnings: &mut Vec<ConfigWarning>) {
    for (index, line) in text.lines().enumerate() {
        if let Some(note) = line.trim_start().strip_prefix(keepalived::NOTE_MARK) {
            warnings.push(ConfigWarning {
                origin: origin.to_string(),
                line: index + 1,
                section: "import-keepalived".into(),
                key: None,
                message: note.trim().to_string(),
            });
        }
    }
}

/// The known section kind `kind` names, case-insensitively.
fn known_kind(kind: &str) -> Option<&'static str> {
    SECTION_KINDS
        .iter()
        .copied()
        .find(|k| kind.eq_ignore_ascii_case(k))
}

/// The first section (file order) whose kind and name an earlier section already
/// has, as (its index, the earlier section's line). Sorting (hash, index) pairs
/// takes 16 bytes per section where a map of borrowed keys took 80.
fn first_duplicate(document: &ini::Document<'_>) -> Option<(usize, usize)> {
    use std::hash::BuildHasher;
    let hasher = std::hash::BuildHasherDefault::<NameHasher>::default();
    let key = |index: usize| {
        let section = document.get(index)?;
        Some((known_kind(section.kind)?, section.name.unwrap_or("")))
    };
    let mut hashes: Vec<(u64, usize)> = (0..document.len())
        .filter_map(|i| key(i).map(|k| (hasher.hash_one(k), i)))
        .collect();
    hashes.sort_unstable();
    let mut found: Option<(usize, usize)> = None;
    // Equal keys have equal hashes, so duplicates sit in one run, in index order.
    for run in hashes.chunk_by(|a, b| a.0 == b.0) {
        for (n, &(_, later)) in run.iter().enumerate().skip(1) {
            if found.is_some_and(|(f, _)| f < later) {
                break;
            }
            let earlier = run.iter().take(n).find(|(_, i)| key(*i) == key(later));
            if let Some(section) = earlier.and_then(|(_, i)| document.get(*i)) {
                found = Some((later, section.line));
                break;
            }
        }
    }
    found
}

/// Check size and UTF-8 of raw bytes, then [`load_str`].
pub fn load_bytes(bytes: &[u8], origin: &str) -> Result<Config, ConfigError> {
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(
            origin,
            0,
            ConfigErrorKind::TooLarge { size: bytes.len() },
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => load_str(text, origin),
        Err(e) => {
            let valid = bytes.get(..e.valid_up_to()).unwrap_or(&[]);
            let line = 1 + valid.iter().filter(|b| **b == b'\n').count();
            Err(ConfigError::new(origin, line, ConfigErrorKind::NotUtf8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_sections_name_the_earliest_repeat_and_its_first_line() {
        let vs = |n: &str, port: u16| {
            format!("[virtual_server {n}]\naddress = 10.0.0.1\nport = {port}\nprotocol = TCP\nlb_algo = rr\nlb_kind = NAT\n")
        };
        // Line 1 vs a, 7 vs b, 13 vs c, 19 VS b again (kind case differs), 25 vs a again.
        let again = vs("b", 4).replace("virtual_server", "VIRTUAL_SERVER");
        let text = [vs("a", 1), vs("b", 2), vs("c", 3), again, vs("a", 5)].concat();
        let err = load_str(&text, "d.ini").unwrap_err();
        assert_eq!(err.line, 19, "{err}");
        assert_eq!(
            *err.kind,
            ConfigErrorKind::DuplicateSection { first_line: 7 }
        );
        // Names compare exactly: `B` is not `b`.
        let text = [vs("a", 1), vs("b", 2), vs("B", 3)].concat();
        assert_eq!(load_str(&text, "d.ini").unwrap().virtual_servers.len(), 3);
        // An earlier bad section wins over a later duplicate.
        let text = [vs("a", 1), "[nonsense]\n".to_string(), vs("a", 2)].concat();
        let err = load_str(&text, "d.ini").unwrap_err();
        assert_eq!(err.line, 7, "{err}");
        assert!(matches!(*err.kind, ConfigErrorKind::UnknownSection { .. }));
    }
}
