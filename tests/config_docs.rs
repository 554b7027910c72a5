//! The key tables of docs/config.md are generated from the one declaration
//! of every key (src/config/keys.rs): this test fails when the file differs
//! from what the declaration gives. `make docs` (LVSD_WRITE_DOCS=1) rewrites
//! the tables in place; the prose around them is kept.

use lvsd::config::keys::{KeyDoc, KEY_DOCS, SECTION_KINDS};

const DOC: &str = "docs/config.md";
const OPEN: &str = "<!-- keys:";
const CLOSE: &str = "<!-- /keys -->";

/// One table row: the key (with its aliases), type, default, limits, and
/// keepalived's name with what the key does.
fn row(doc: &KeyDoc) -> String {
    let mut key = format!("`{}`", doc.key.name);
    for alias in doc.key.aliases {
        key.push_str(&format!(" (`{alias}`)"));
    }
    let keepalived = match (doc.keepalived, doc.doc) {
        ("", "") => "(lvsd)".to_string(),
        ("", what) => format!("(lvsd) {what}"),
        (name, "") => name.to_string(),
        (name, what) => format!("{name}: {what}"),
    };
    let cells = [key.as_str(), doc.ty, doc.default, doc.limits, &keepalived];
    let mut line = String::from("|");
    for cell in cells {
        line.push_str(&if cell.is_empty() {
            " |".to_string()
        } else {
            format!(" {cell} |")
        });
    }
    line
}

/// The table of the keys whose first section is `kind`'s (a checker table
/// holds the keys its kind shares with the kinds after it).
fn table(kind: &str) -> Option<String> {
    let bit = SECTION_KINDS.iter().find(|(_, k)| *k == kind)?.0;
    let mut out = String::from(
        "| key | type | default | range | keepalived |\n| --- | --- | --- | --- | --- |\n",
    );
    for doc in KEY_DOCS.iter().filter(|d| lowest(d.key.sections) == bit) {
        out.push_str(&row(doc));
        out.push('\n');
    }
    Some(out)
}

fn lowest(bits: u32) -> u32 {
    bits & bits.wrapping_neg()
}

/// `text` with every marked table regenerated, and the kinds it holds tables for.
fn generate(text: &str) -> Result<(String, Vec<String>), String> {
    let mut out = String::new();
    let mut kinds = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        let line_end = rest[at..].find('\n').map_or(rest.len(), |e| at + e + 1);
        out.push_str(&rest[..line_end]);
        let marker = &rest[at + OPEN.len()..line_end];
        let kind = marker.split([' ', '-']).next().unwrap_or("").to_string();
        let close = rest[line_end..]
            .find(CLOSE)
            .ok_or_else(|| format!("{DOC}: `{OPEN}{kind}` without `{CLOSE}`"))?;
        out.push_str(&table(&kind).ok_or_else(|| format!("{DOC}: no section kind `{kind}`"))?);
        kinds.push(kind);
        rest = &rest[line_end + close..];
    }
    out.push_str(rest);
    Ok((out, kinds))
}

#[test]
fn docs_config_md_key_tables_are_generated() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{DOC}: {e}"));
    let (generated, kinds) = generate(&text).unwrap_or_else(|e| panic!("{e}"));
    // Every key is in some table.
    for doc in KEY_DOCS {
        let first = lowest(doc.key.sections);
        let kind = SECTION_KINDS
            .iter()
            .find(|(b, _)| *b == first)
            .map(|(_, k)| *k);
        assert!(
            kind.is_some_and(|k| kinds.iter().any(|t| t == k)),
            "{DOC}: no `{OPEN}{}` table for key {} (add the marker pair where it belongs)",
            kind.unwrap_or("?"),
            doc.key.name
        );
    }
    if std::env::var_os("LVSD_WRITE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("{DOC}: {e}"));
        return;
    }
    if generated != text {
        let line = text
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(0, |n| n + 1);
        panic!(
            "{DOC} differs from the key declaration (src/config/keys.rs) from line {line}: \
             run `make docs` and commit the result"
        );
    }
}
