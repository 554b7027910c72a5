//! Files for keepalived.conf `include` lines: the glob is expanded against the
//! file system here; the importer (config/) only asks.

use crate::config::keepalived::text::glob_match;
use crate::config::keepalived::{IncludeError, IncludeSource};

/// Include source backed by the file system.
pub struct Files;

/// At most this many files per include (a guard against `include /*`).
const MAX_FILES: usize = 256;
/// An included file larger than this is refused.
const MAX_BYTES: u64 = 4 << 20;

impl IncludeSource for Files {
    fn expand(&self, pattern: &str) -> Result<Vec<(String, String)>, IncludeError> {
        let mut paths = vec![String::new()];
        let absolute = pattern.starts_with('/');
        for part in pattern.split('/').filter(|p| !p.is_empty()) {
            let mut next = Vec::new();
            for base in &paths {
                let dir = match (base.is_empty(), absolute) {
                    (true, true) => "/".to_string(),
                    (true, false) => ".".to_string(),
                    (false, _) => base.clone(),
                };
                let join = |name: &str| match (base.is_empty(), absolute) {
                    (true, true) => format!("/{name}"),
                    (true, false) => name.to_string(),
                    (false, _) => format!("{base}/{name}"),
                };
                if !part.contains(['*', '?', '[']) {
                    next.push(join(part));
                    continue;
                }
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| !n.starts_with('.') && glob_match(part, n))
                    .collect();
                names.sort();
                next.extend(names.iter().map(|n| join(n)));
            }
            paths = next;
            if paths.len() > MAX_FILES {
                return Err(IncludeError::TooManyPaths { max: MAX_FILES });
            }
        }
        let mut files = Vec::new();
        for path in paths {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            if meta.len() > MAX_BYTES {
                return Err(IncludeError::TooLarge {
                    path,
                    max: MAX_BYTES,
                });
            }
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(source) => return Err(IncludeError::Read { path, source }),
            };
            files.push((path, text));
        }
        Ok(files)
    }
}
