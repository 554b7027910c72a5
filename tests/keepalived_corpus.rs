//! The keepalived.conf corpus (tests/fixtures/keepalived/corpus, sources in
//! SOURCES.tsv): every file is imported and the result loaded as lvsd would load it.
//! A file converts *faithfully* when the import and the load both succeed and no
//! keyword with an effect was dropped (ignored keywords, such as mail alerts or
//! keywords keepalived itself does not know, do not count; see docs/operations.md).
//! The test prints the share and what is still refused or dropped, and fails when
//! the faithful count falls below FLOOR: the floor only ever goes up.

use std::path::Path;

use lvsd::config::keepalived::{import_with, ImportOptions, NoteKind};

/// Faithful conversions reached so far; raise it when the importer improves.
/// (`auth_type AH`, used by acassen's keepalived.conf.SSL_GET, now converts:
/// lvsd speaks keepalived's AH.)
const FLOOR: usize = 77;

#[test]
fn corpus_converts_faithfully() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keepalived/corpus");
    let sources = std::fs::read_to_string(dir.join("SOURCES.tsv")).expect("SOURCES.tsv");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus folder")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 75,
        "the corpus has only {} files",
        names.len()
    );
    let (mut faithful, mut lossy, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    for name in &names {
        assert!(
            sources.lines().any(|l| l.split('\t').next() == Some(name)),
            "{name} has no row in SOURCES.tsv"
        );
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let imported = match import_with(
            &text,
            name,
            ImportOptions::default(),
            &lvsd::io::include::Files,
        ) {
            Ok(i) => i,
            Err(e) => {
                refused.push(format!("{name}: import: {e}"));
                continue;
            }
        };
        if let Err(e) = lvsd::config::load_str(&imported.ini, "converted.ini") {
            refused.push(format!("{name}: load: {e}"));
            continue;
        }
        let dropped: Vec<String> = imported
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::Dropped)
            .map(|n| format!("{}:{} {}", n.origin, n.line, n.message))
            .collect();
        if dropped.is_empty() {
            faithful.push(name.clone());
        } else {
            lossy.push(format!("{name}: {}", dropped.join("; ")));
        }
    }
    println!("corpus: {} files", names.len());
    for r in &refused {
        println!("  refused  {r}");
    }
    for l in &lossy {
        println!("  lossy    {l}");
    }
    println!(
        "corpus: {} faithful ({:.1}%), {} lossy, {} refused, of {}",
        faithful.len(),
        100.0 * faithful.len() as f64 / names.len() as f64,
        lossy.len(),
        refused.len(),
        names.len()
    );
    assert!(
        faithful.len() >= FLOOR,
        "faithful conversions fell to {} (floor {FLOOR})",
        faithful.len()
    );
}
