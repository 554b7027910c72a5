//! Every key the config parser accepts takes effect (issue 10 item 8), and
//! every key is documented in docs/config.md and the other way round.
//!
//! The keys come from their one declaration, `lvsd::config::keys::KEY_DOCS`
//! (src/config/keys.rs): each row names its sections, aliases and an example
//! value that differs from the default, so a new key is probed as soon as it
//! is declared. [`CONTEXT`] adds what a key needs beside it to be valid. Each
//! probe loads a valid base configuration twice, without and with the key
//! (same line numbers, so only the key can make a difference), and
//! classifies the key:
//!
//! - *refused*: the loader rejects the value (allowed only when listed in
//!   [`EXPECT_REFUSED`], so a typo in an example cannot pass as "refused");
//!   a declared key that its section's reader has no arm for is refused
//!   ("not read by this section's reader") and fails here;
//! - *inert, not stored*: the loaded `Config` is equal to the base (warnings
//!   aside): the section's reader swallowed the key;
//! - *inert, never read*: the `Config` differs, but none of the fields that
//!   differ is read outside src/config/ (a scan of src/ for `.field`, in files
//!   that use the config types, counting fields read through a `&self` method
//!   of src/config/model.rs by that method's name);
//! - *effective* otherwise.
//!
//! A key that is inert must be listed in [`KNOWN_INERT`] (known defects, being
//! fixed), and a listed key must still be inert: the test fails on a new inert
//! key and also when a listed key starts working, so the list only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use lvsd::config::keys::{KEY_DOCS, SECTION_KINDS};
use lvsd::config::{load_str, Config};

/// Known defects: (section, key, value or "" for any value, why). Each entry
/// is a key that is accepted and documented but does nothing at run time.
/// Remove the entry when the key works or is refused (then it goes to
/// [`EXPECT_REFUSED`]); the test says which.
const KNOWN_INERT: &[(&str, &str, &str, &str)] = &[
    // Empty: issue 10's inert keys (log_target, quorum_up/down, omega,
    // ha_suspend, notify_up/down) now take effect, and so does AH. Add an
    // entry only for a known defect being fixed, with the reason.
];

/// Probes whose value `lvsd check` refuses on purpose: (section, key, value).
const EXPECT_REFUSED: &[(&str, &str, &str)] = &[];

/// A valid base configuration with every section kind. `#slot` lines are
/// where a probe's lines go, so that every other line keeps its number.
const BASE: &str = "\
[global]
#slot
#slot
#slot

[vrrp_script chk]
script = /bin/true
#slot
#slot
#slot

[vrrp_track_process tp]
process = nginx
#slot
#slot
#slot

[vrrp_instance VI_1]
state = BACKUP
interface = eth0
virtual_router_id = 51
priority = 100
advert_int = 1
virtual_ipaddress = 192.168.118.110
#slot
#slot
#slot

[vrrp_instance VI_2]
state = BACKUP
interface = eth0
virtual_router_id = 52
priority = 90
advert_int = 1
virtual_ipaddress = 192.168.118.111
#slot
#slot
#slot

[vrrp_sync_group G]
group = VI_1
#slot
#slot
#slot

[virtual_server web]
address = 192.168.118.110
port = 80
protocol = TCP
lb_algo = rr
lb_kind = DR
#slot
#slot
#slot

[virtual_server_group G1]
member = 192.168.118.150 80
#slot
#slot
#slot

[real_server web/192.168.118.131:80]
weight = 1
#slot
#slot
#slot

[virtual_server chk]
address = 192.168.118.120
port = 80
protocol = TCP
lb_algo = rr
lb_kind = NAT
#slot
#slot
#slot

[real_server chk/192.168.118.131:80]
weight = 1
#slot
#slot
#slot

[tcp_check chk/192.168.118.131:80]
#slot
#slot
#slot

[real_server chk/192.168.118.132:80]
#slot
#slot
#slot

[http_get chk/192.168.118.132:80]
url = path=/
#slot
#slot
#slot

[real_server chk/192.168.118.133:443]
#slot
#slot
#slot

[ssl_get chk/192.168.118.133:443]
url = path=/
#slot
#slot
#slot

[real_server chk/192.168.118.134:25]
#slot
#slot
#slot

[smtp_check chk/192.168.118.134:25]
#slot
#slot
#slot

[real_server chk/192.168.118.135:80]
#slot
#slot
#slot

[misc_check chk/192.168.118.135:80]
misc_path = /bin/true
#slot
#slot
#slot

[real_server chk/192.168.118.136:53]
#slot
#slot
#slot

[udp_check chk/192.168.118.136:53]
#slot
#slot
#slot

[real_server chk/192.168.118.137:80]
#slot
#slot
#slot

[ping_check chk/192.168.118.137:80]
#slot
#slot
#slot

[real_server chk/192.168.118.138:53]
#slot
#slot
#slot

[dns_check chk/192.168.118.138:53]
#slot
#slot
#slot

[real_server chk/192.168.118.139:80]
#slot
#slot
#slot

[file_check chk/192.168.118.139:80]
file = /run/lvsd-test.drain
#slot
#slot
#slot
";

/// The section of [`BASE`] each section kind's probes go into.
const SECTION_OF_KIND: &[(&str, &str)] = &[
    ("global", "global"),
    ("vrrp_script", "vrrp_script chk"),
    ("vrrp_track_process", "vrrp_track_process tp"),
    ("vrrp_instance", "vrrp_instance VI_1"),
    ("vrrp_sync_group", "vrrp_sync_group G"),
    ("virtual_server", "virtual_server web"),
    ("virtual_server_group", "virtual_server_group G1"),
    // Real-server timing only matters through a checker: probe the one with a tcp_check.
    ("real_server", "real_server chk/192.168.118.131:80"),
    ("tcp_check", "tcp_check chk/192.168.118.131:80"),
    ("http_get", "http_get chk/192.168.118.132:80"),
    ("ssl_get", "ssl_get chk/192.168.118.133:443"),
    ("smtp_check", "smtp_check chk/192.168.118.134:25"),
    ("misc_check", "misc_check chk/192.168.118.135:80"),
    ("udp_check", "udp_check chk/192.168.118.136:53"),
    ("ping_check", "ping_check chk/192.168.118.137:80"),
    ("dns_check", "dns_check chk/192.168.118.138:53"),
    ("file_check", "file_check chk/192.168.118.139:80"),
];

/// One edit of a section: set `key` to `value` (replacing the key's line in
/// that section, else filling a slot), or remove the key's line (`None`).
type Edit = (&'static str, &'static str, Option<&'static str>);

/// A probe: section kind, key, value; `ctx` edits go into both the base and
/// the probe (what the key needs to be valid); `also` edits only into the
/// probe (what the key replaces). Sections in edits are full headers; "" means
/// the probe's own section.
struct Probe {
    kind: &'static str,
    key: &'static str,
    value: &'static str,
    ctx: &'static [Edit],
    also: &'static [Edit],
}

const TLS_CTX: &[Edit] = &[("", "verify", Some("yes"))];
const AUTH_CTX: &[Edit] = &[
    ("", "auth_type", Some("PASS")),
    ("", "auth_pass", Some("1111")),
];
const NO_ADDRESS: &[Edit] = &[("", "address", None), ("", "port", None)];
const REPLY_CTX: &[Edit] = &[("", "require_reply", Some("0a"))];
const SORRY_CTX: &[Edit] = &[("", "sorry_server", Some("192.168.118.200 80"))];
const TUN_CTX: &[Edit] = &[("", "lb_kind", Some("TUN"))];

/// What a key needs beside it in [`BASE`] to be valid: (section kind, key,
/// `ctx` edits, `also` edits), see [`Probe`].
const CONTEXT: &[(&str, &str, &[Edit], &[Edit])] = &[
    ("vrrp_instance", "auth_type", AUTH_CTX, &[]),
    ("vrrp_instance", "auth_pass", AUTH_CTX, &[]),
    (
        "vrrp_instance",
        "vmac_xmit_base",
        &[("", "use_vmac", Some("yes"))],
        &[],
    ),
    (
        "vrrp_instance",
        "native_ipv6",
        &[("", "virtual_ipaddress", Some("2001:db8::10"))],
        &[],
    ),
    ("virtual_server", "group", &[], NO_ADDRESS),
    ("virtual_server", "fwmark", &[], NO_ADDRESS),
    (
        "virtual_server_group",
        "member",
        &[
            ("virtual_server web", "group", Some("G1")),
            ("virtual_server web", "address", None),
            ("virtual_server web", "port", None),
        ],
        &[],
    ),
    (
        "virtual_server",
        "ip_family",
        &[
            ("", "address", None),
            ("", "port", None),
            ("", "fwmark", Some("1")),
            ("", "lb_kind", Some("TUN")),
        ],
        &[],
    ),
    ("virtual_server", "tun_type", TUN_CTX, &[]),
    (
        "virtual_server",
        "persistence_granularity",
        &[("", "persistence_timeout", Some("50"))],
        &[],
    ),
    (
        "virtual_server",
        "hysteresis",
        &[("", "quorum", Some("2"))],
        &[],
    ),
    ("virtual_server", "sorry_server_inhibit", SORRY_CTX, &[]),
    ("virtual_server", "sorry_server_lvs_method", SORRY_CTX, &[]),
    // An announced address may not also be a VRRP virtual_ipaddress.
    (
        "virtual_server",
        "announce",
        &[("", "address", Some("192.168.118.130"))],
        &[],
    ),
    ("real_server", "tun_type", TUN_CTX, &[]),
    (
        "real_server",
        "lthreshold",
        &[("", "uthreshold", Some("100"))],
        &[],
    ),
    ("ssl_get", "ca_file", TLS_CTX, &[]),
    ("udp_check", "min_reply_length", REPLY_CTX, &[]),
    ("udp_check", "max_reply_length", REPLY_CTX, &[]),
];

/// One probe per declared key and section that takes it, with the
/// declaration's example value.
fn probes() -> Vec<Probe> {
    let mut v = Vec::new();
    for doc in KEY_DOCS {
        for (bit, kind) in SECTION_KINDS {
            if doc.key.sections & bit == 0 {
                continue;
            }
            let (ctx, also) = CONTEXT
                .iter()
                .find(|(k, key, _, _)| k == kind && *key == doc.key.name)
                .map_or((&[][..], &[][..]), |(_, _, c, a)| (*c, *a));
            v.push(Probe {
                kind,
                key: doc.key.name,
                value: doc.example,
                ctx,
                also,
            });
        }
    }
    v
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The declared keys: section kind -> keys, and the aliases (alias -> canonical).
fn parser_keys() -> (BTreeMap<String, BTreeSet<String>>, BTreeMap<String, String>) {
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut aliases = BTreeMap::new();
    for doc in KEY_DOCS {
        for (bit, kind) in SECTION_KINDS {
            if doc.key.sections & bit != 0 {
                keys.entry(kind.to_string())
                    .or_default()
                    .insert(doc.key.name.to_string());
            }
        }
        for alias in doc.key.aliases {
            aliases.insert(alias.to_string(), doc.key.name.to_string());
        }
    }
    (keys, aliases)
}

/// Applies `edits` to the section `header` (slots fill in order).
fn apply(text: &mut [String], header: &str, edits: &[(&str, Option<&str>)]) {
    let open = format!("[{header}]");
    let start = text
        .iter()
        .position(|l| *l == open)
        .unwrap_or_else(|| panic!("base has no section {open}"));
    let end = text[start + 1..]
        .iter()
        .position(|l| l.starts_with('['))
        .map_or(text.len(), |e| start + 1 + e);
    for (key, value) in edits {
        let existing = (start + 1..end).find(|&i| {
            text[i]
                .split_once('=')
                .is_some_and(|(k, _)| k.trim() == *key)
        });
        if value.is_none() && existing.is_none() {
            continue;
        }
        let slot = existing.or_else(|| (start + 1..end).find(|&i| text[i] == "#slot"));
        let i = slot.unwrap_or_else(|| panic!("no free slot in {open} for {key}"));
        text[i] = match value {
            Some(v) => format!("{key} = {v}"),
            None => "#removed".into(),
        };
    }
}

fn section_of(kind: &str) -> &'static str {
    SECTION_OF_KIND
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, s)| *s)
        .unwrap_or_else(|| panic!("no base section for kind {kind}"))
}

/// The base and the probe texts.
fn texts(probe: &Probe, key: &str) -> (String, String) {
    let own = section_of(probe.kind);
    let mut base: Vec<String> = BASE.lines().map(str::to_owned).collect();
    for (sec, k, v) in probe.ctx {
        apply(
            &mut base,
            if sec.is_empty() { own } else { sec },
            &[(k, *v)],
        );
    }
    let mut with = base.clone();
    for (sec, k, v) in probe.also {
        apply(
            &mut with,
            if sec.is_empty() { own } else { sec },
            &[(k, *v)],
        );
    }
    // An alias replaces the canonical key's line too.
    if key != probe.key {
        apply(&mut with, own, &[(probe.key, None)]);
    }
    apply(&mut with, own, &[(key, Some(probe.value))]);
    (base.join("\n") + "\n", with.join("\n") + "\n")
}

fn load(text: &str) -> Result<Config, String> {
    let mut c = load_str(text, "keys.ini").map_err(|e| e.to_string())?;
    c.warnings.clear();
    Ok(c)
}

/// `{:#?}` lines, each prefixed with the field names that enclose it.
fn debug_paths(c: &Config) -> Vec<String> {
    let text = format!("{c:#?}");
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let t = line.trim();
        let own = t
            .split_once(": ")
            .filter(|(k, _)| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .map(|(k, _)| k.to_owned());
        let path: Vec<&str> = stack
            .iter()
            .map(|(_, n)| n.as_str())
            .chain(own.as_deref())
            .collect();
        out.push(format!("{} => {t}", path.join(".")));
        if t.ends_with('{') || t.ends_with('(') || t.ends_with('[') {
            stack.push((indent, own.unwrap_or_default()));
        }
    }
    out
}

/// The innermost field names on the lines where `a` and `b` differ.
fn changed_fields(a: &Config, b: &Config) -> BTreeSet<String> {
    let count = |lines: Vec<String>| {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for l in lines {
            *m.entry(l).or_default() += 1;
        }
        m
    };
    let (ma, mb) = (count(debug_paths(a)), count(debug_paths(b)));
    let mut fields = BTreeSet::new();
    for line in ma.keys().chain(mb.keys()) {
        if ma.get(line) == mb.get(line) {
            continue;
        }
        // A closing bracket carries its parent's path, not a field of its own.
        let content = line.split(" => ").nth(1).unwrap_or("");
        if content.starts_with([')', '}', ']']) {
            continue;
        }
        let path = line.split(" => ").next().unwrap_or("");
        if let Some(f) = path.rsplit('.').find(|f| !f.is_empty()) {
            fields.insert(f.to_owned());
        }
    }
    fields
}

/// Source text without `//` comments.
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split_once("//").map_or(l, |(c, _)| c))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code outside src/config/ that uses the config types, and the `&self`
/// methods of src/config/model.rs with the fields each reads.
fn runtime_code() -> (String, BTreeMap<String, BTreeSet<String>>) {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    // The modules whose types the model stores as they are
    // (`crate::check::udp::UdpSpec`): their code reads those fields too.
    let model_src = code(&read("src/config/model.rs"));
    let mut owners = BTreeSet::new();
    for part in model_src.split("crate::").skip(1) {
        let path: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let segs: Vec<&str> = path.split("::").filter(|x| !x.is_empty()).collect();
        for n in 1..segs.len() {
            let module = segs[..n].join("/");
            owners.insert(root().join(format!("src/{module}.rs")));
            owners.insert(root().join(format!("src/{module}/mod.rs")));
        }
    }
    let mut all = String::new();
    for f in files {
        if f.starts_with(root().join("src/config")) {
            continue;
        }
        let text = code(&std::fs::read_to_string(&f).unwrap());
        if text.contains("config::") || owners.contains(&f) {
            all.push_str(&text);
            all.push('\n');
        }
    }
    let model = code(&read("src/config/model.rs"));
    let mut methods = BTreeMap::new();
    for part in model.split("fn ").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !part[name.len()..].starts_with("(&self") {
            continue;
        }
        let body = part.split("\n    }").next().unwrap_or("");
        let fields: BTreeSet<String> = body
            .split("self.")
            .skip(1)
            .map(|s| {
                s.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect();
        methods.insert(name, fields);
    }
    (all, methods)
}

/// True when `.field` occurs, or `field` as a shorthand binding in a struct
/// pattern (`Smtp { helo_name } =>`, `let S { a, field, .. } = x`).
fn reads(code: &str, field: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(field).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + field.len()..].chars().next();
        if before.is_some_and(ident) || after.is_some_and(ident) {
            return false;
        }
        if before == Some('.') {
            return true;
        }
        let prev = code[..i].trim_end().chars().next_back();
        let next = code[i + field.len()..].trim_start().chars().next();
        matches!(prev, Some('{' | ',')) && matches!(next, Some(',' | '}')) && is_pattern(code, i)
    })
}

/// True when the braces around byte `i` close a pattern (`... } =>`,
/// `... } = value`, `... } |`), not a struct expression (`S { a, b }` that
/// builds a value, as in the daemon's status code).
fn is_pattern(code: &str, i: usize) -> bool {
    let mut depth = 0i32;
    for (j, c) in code[i..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                let after = code[i + j + 1..].trim_start();
                let after = after.trim_start_matches(')').trim_start();
                return after.starts_with("=>")
                    || after.starts_with('|')
                    || (after.starts_with('=') && !after.starts_with("=="));
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    false
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Effective,
    Refused(String),
    NotStored,
    NeverRead(BTreeSet<String>),
}

#[test]
fn base_config_loads() {
    load(BASE).expect("the base configuration is valid");
}

#[test]
fn every_accepted_key_takes_effect() {
    let (keys, aliases) = parser_keys();
    assert!(
        keys.len() >= 11 && keys.values().all(|k| !k.is_empty()),
        "reading the key declaration went wrong: {keys:?}"
    );
    let probes = probes();
    let mut problems = Vec::new();

    // Every (kind, key) has a probe, and every probe a key.
    for (kind, ks) in &keys {
        for k in ks {
            if !probes.iter().any(|p| p.kind == kind && p.key == k) {
                problems.push(format!("[{kind}] {k}: declared but has no probe"));
            }
        }
    }
    for p in &probes {
        if !keys.get(p.kind).is_some_and(|ks| ks.contains(p.key)) {
            problems.push(format!(
                "[{}] {}: probed but the parser does not accept it",
                p.kind, p.key
            ));
        }
    }

    let (runtime, methods) = runtime_code();
    let read_outside = |field: &str| {
        reads(&runtime, field)
            || methods
                .iter()
                .any(|(m, fs)| fs.contains(field) && reads(&runtime, m))
    };
    let mut seen_inert = BTreeSet::new();
    for probe in &probes {
        // The key itself, then each alias of it.
        let mut names = vec![probe.key.to_owned()];
        names.extend(
            aliases
                .iter()
                .filter(|(_, c)| c.as_str() == probe.key)
                .map(|(a, _)| a.clone()),
        );
        for name in names {
            let (base_text, text) = texts(probe, &name);
            let base = match load(&base_text) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!(
                        "[{}] {name}: the probe's base does not load: {e}",
                        probe.kind
                    ));
                    continue;
                }
            };
            let verdict = match load(&text) {
                Err(e) => Verdict::Refused(e),
                Ok(c) if c == base => Verdict::NotStored,
                Ok(c) => {
                    let fields = changed_fields(&base, &c);
                    if fields.iter().any(|f| read_outside(f)) {
                        Verdict::Effective
                    } else {
                        Verdict::NeverRead(fields)
                    }
                }
            };
            let known = KNOWN_INERT.iter().find(|(s, k, v, _)| {
                *s == probe.kind && *k == probe.key && (v.is_empty() || *v == probe.value)
            });
            let refused_ok = EXPECT_REFUSED
                .iter()
                .any(|(s, k, v)| *s == probe.kind && *k == probe.key && *v == probe.value);
            let what = format!("[{}] {name} = {}", probe.kind, probe.value);
            if verdict != Verdict::Effective {
                eprintln!("{what}: {verdict:?}");
            }
            match (&verdict, known) {
                (Verdict::Refused(e), _) if !refused_ok => problems.push(format!(
                    "{what}: refused ({e}); if that is on purpose, list it in EXPECT_REFUSED{}",
                    if known.is_some() { " and remove it from KNOWN_INERT" } else { "" }
                )),
                (Verdict::Refused(_), _) => {}
                (_, _) if refused_ok => {
                    problems.push(format!("{what}: listed in EXPECT_REFUSED but accepted"))
                }
                (Verdict::NotStored, None) => problems.push(format!(
                    "{what}: NO EFFECT: the loaded Config equals the base (the section reader drops the key)"
                )),
                (Verdict::NeverRead(f), None) => problems.push(format!(
                    "{what}: NO EFFECT: it sets Config field(s) {f:?}, never read outside src/config/"
                )),
                (Verdict::NotStored | Verdict::NeverRead(_), Some(_)) => {
                    seen_inert.insert((probe.kind, probe.key));
                }
                // AH: a value-level defect the scan cannot see; see KNOWN_INERT.
                (Verdict::Effective, Some((_, _, v, _))) if !v.is_empty() => {
                    seen_inert.insert((probe.kind, probe.key));
                }
                (Verdict::Effective, Some((_, _, _, why))) => problems.push(format!(
                    "{what}: listed in KNOWN_INERT ({why}) but now takes effect: remove it from the list"
                )),
                (Verdict::Effective, None) => {}
            }
        }
    }
    for (s, k, _, why) in KNOWN_INERT {
        if !seen_inert.contains(&(*s, *k))
            && !problems
                .iter()
                .any(|p| p.starts_with(&format!("[{s}] {k}")))
        {
            problems.push(format!(
                "[{s}] {k}: listed in KNOWN_INERT ({why}) but no probe showed it inert"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) with config keys:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// The keys documented in docs/config.md per section kind: the first cell of
/// each row of a `| key | ...` table, and for checkers the kinds a paragraph names ("Common to
/// `tcp_check`, ...", "`http_get` and `ssl_get` add:", "`smtp_check` adds
/// `helo_name`", "`misc_check` takes `delay_loop`, ... and:").
fn documented_keys() -> BTreeMap<String, BTreeSet<String>> {
    let doc = read("docs/config.md");
    let doc = doc
        .split("\n## Keys")
        .nth(1)
        .expect("docs/config.md has a `## Keys` chapter");
    let doc = doc.split("\n## ").next().unwrap_or(doc);
    // The checker kinds, from the `### Checkers: [a|b|...]` heading.
    let mut checkers: Vec<String> = Vec::new();
    let ticks =
        |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut kinds: Vec<String> = Vec::new();
    let (mut in_table, mut key_table) = (false, false);
    // Prose paragraphs as one line each (a sentence may wrap).
    let mut lines: Vec<String> = Vec::new();
    let mut prose = false;
    for line in doc.lines() {
        let is_prose = !line.trim().is_empty() && !line.starts_with('|') && !line.starts_with('#');
        if is_prose && prose {
            let last = lines.last_mut().expect("a prose line before");
            last.push(' ');
            last.push_str(line.trim());
        } else {
            lines.push(line.to_owned());
        }
        prose = is_prose;
    }
    for line in lines.iter().map(String::as_str) {
        if !line.starts_with('|') {
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("### ") {
            kinds = ticks(h)
                .first()
                .map(|t| {
                    let t = t.trim_start_matches('[');
                    let t = t.split([' ', ']']).next().unwrap_or("");
                    t.split('|').map(str::to_owned).collect()
                })
                .unwrap_or_default();
            if h.starts_with("Checkers") {
                checkers = kinds.clone();
            }
        } else if line.starts_with('|') {
            // Only tables whose header says `| key |` list keys.
            let first = line.split('|').nth(1).unwrap_or("").trim();
            if first.starts_with("---") {
                continue;
            }
            if !in_table {
                in_table = true;
                key_table = first == "key";
                continue;
            }
            if !key_table {
                continue;
            }
            for k in ticks(first) {
                for kind in &kinds {
                    out.entry(kind.clone()).or_default().insert(k.clone());
                }
            }
        } else if !line.trim().is_empty() {
            let t = ticks(line);
            let named: Vec<String> = t.iter().filter(|w| checkers.contains(w)).cloned().collect();
            if named.is_empty() || kinds.iter().any(|k| !checkers.contains(k)) {
                continue;
            }
            kinds = named;
            // Keys given in the sentence itself ("adds `helo_name` (...)",
            // "takes `delay_loop`, ... and:").
            let given = [" adds ", " takes "]
                .iter()
                .find_map(|w| line.split_once(w).map(|(_, r)| r))
                .filter(|r| r.starts_with('`'))
                .unwrap_or("");
            let given = given.split('(').next().unwrap_or("");
            let given = given.split(" and:").next().unwrap_or("");
            for w in ticks(given) {
                for kind in &kinds {
                    out.entry(kind.clone()).or_default().insert(w.clone());
                }
            }
        }
    }
    // The common table applies to each kind named with it; http_get's and
    // ssl_get's additions come on top of it.
    let common = out.get("tcp_check").cloned().unwrap_or_default();
    for kind in ["http_get", "ssl_get", "smtp_check"] {
        out.entry(kind.into()).or_default().extend(common.clone());
    }
    let http = out.get("http_get").cloned().unwrap_or_default();
    out.entry("ssl_get".into()).or_default().extend(http);
    out
}

#[test]
fn every_key_is_documented_and_every_documented_key_exists() {
    let (keys, aliases) = parser_keys();
    let docs = documented_keys();
    let mut problems = Vec::new();
    for (kind, ks) in &keys {
        let documented = docs.get(kind).cloned().unwrap_or_default();
        for k in ks {
            if !documented.contains(k) {
                problems.push(format!(
                    "[{kind}] {k}: accepted by the parser, no row in docs/config.md"
                ));
            }
        }
        // A checker paragraph may name a key with an exception ("ping_check
        // (which has no `connect_port`)"): a key documented for a checker
        // kind must be accepted by some checker kind.
        let is_checker = |k: &str| k.ends_with("_check") || k.ends_with("_get");
        let accepted: BTreeSet<&String> = if is_checker(kind) {
            keys.iter()
                .filter(|(k, _)| is_checker(k))
                .flat_map(|(_, ks)| ks)
                .collect()
        } else {
            ks.iter().collect()
        };
        for k in &documented {
            let canonical = aliases.get(k).unwrap_or(k);
            if !accepted.contains(canonical) {
                problems.push(format!(
                    "[{kind}] {k}: documented in docs/config.md, not accepted by the parser"
                ));
            }
        }
    }
    for kind in docs.keys() {
        if !keys.contains_key(kind) {
            problems.push(format!(
                "[{kind}]: a section documented in docs/config.md the parser has no key table for"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} mismatch(es) between src/config/keys.rs and docs/config.md:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
