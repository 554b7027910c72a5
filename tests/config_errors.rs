//! Malformed configurations: each names the exact line and key of its error.
//!
//! Every file in `tests/fixtures/config/` starts with
//! `# expect: line=N key=KEY contains=TEXT` (`key=-` when the error names no key).

use std::path::{Path, PathBuf};

use lvsd::config::{self, ConfigErrorKind};

struct Expectation {
    line: usize,
    key: Option<String>,
    contains: String,
}

fn expectation(path: &Path) -> Expectation {
    let bytes = std::fs::read(path).unwrap();
    let first = bytes.split(|b| *b == b'\n').next().unwrap();
    let first = std::str::from_utf8(first).unwrap();
    let rest = first
        .strip_prefix("# expect: line=")
        .unwrap_or_else(|| panic!("{}: no expect header", path.display()));
    let (line, rest) = rest.split_once(" key=").unwrap();
    let (key, contains) = rest.split_once(" contains=").unwrap();
    Expectation {
        line: line.parse().unwrap(),
        key: (key != "-").then(|| key.to_string()),
        contains: contains.to_string(),
    }
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ini"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_malformed_fixture_names_line_and_key() {
    let files = fixtures();
    assert!(files.len() >= 35, "only {} fixtures", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let expect = expectation(path);
        let origin = path.file_name().unwrap().to_string_lossy().to_string();
        match lvsd::io::config_file::load_file(path) {
            Ok(_) => failures.push(format!("{origin}: loaded, expected an error")),
            Err(e) => {
                let message = e.to_string();
                if e.line != expect.line {
                    failures.push(format!(
                        "{origin}: line {} != {}: {message}",
                        e.line, expect.line
                    ));
                }
                if e.key != expect.key {
                    failures.push(format!(
                        "{origin}: key {:?} != {:?}: {message}",
                        e.key, expect.key
                    ));
                }
                if !message.contains(&expect.contains) {
                    failures.push(format!(
                        "{origin}: message lacks {:?}: {message}",
                        expect.contains
                    ));
                }
                let prefix = format!("{}:{}:", path.display(), expect.line);
                if !message.starts_with(&prefix) {
                    failures.push(format!(
                        "{origin}: message does not start with file:line: {message}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn message_format_matches_the_issue_example() {
    let text = "[vrrp_instance VI_1]\nstate = BACKUP\ninterface = eth0\nvirtual_router_id = 300\n";
    let e = config::load_str(text, "lvsd.ini").unwrap_err();
    assert_eq!(
        e.to_string(),
        "lvsd.ini:4: [vrrp_instance VI_1] virtual_router_id = 300: must be 1..=255"
    );
}

#[test]
fn over_max_config_bytes_is_rejected_with_the_limit_name() {
    let mut text = String::from("[global]\n");
    while text.len() <= lvsd::limits::MAX_CONFIG_BYTES {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let e = config::load_str(&text, "big.ini").unwrap_err();
    assert!(matches!(*e.kind, ConfigErrorKind::TooLarge { .. }));
    assert!(e.to_string().contains("MAX_CONFIG_BYTES"), "{e}");
}

#[test]
fn too_many_virtual_servers_names_the_limit() {
    let text = config::generate::generate(lvsd::limits::MAX_VIRTUAL_SERVERS + 1, 1);
    let e = config::load_str(&text, "gen.ini").unwrap_err();
    assert!(
        matches!(
            *e.kind,
            ConfigErrorKind::OverCapacity {
                limit: "MAX_VIRTUAL_SERVERS",
                ..
            }
        ),
        "{e}"
    );
    // The error points at the header of the first virtual server too many.
    let header = format!("[virtual_server vs{}]", lvsd::limits::MAX_VIRTUAL_SERVERS);
    let line = text.lines().position(|l| l == header).unwrap() + 1;
    assert_eq!(e.line, line);
}

#[test]
fn missing_file_is_an_io_error() {
    let e = lvsd::io::config_file::load_file(Path::new("/nonexistent/lvsd.ini")).unwrap_err();
    assert!(matches!(*e.kind, ConfigErrorKind::Io(_)));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/lvsd.ini: cannot read"),
        "{e}"
    );
}
