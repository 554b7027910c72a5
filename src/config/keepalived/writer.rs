//! The INI being written and the notes beside it: every keyword the import
//! leaves out or changes is one note, both as a `#! import` comment line in
//! the INI (so `lvsd check` warns about it) and in [`Imported::notes`].

use std::fmt::Write;

use super::addresses::rule_preferences;
use super::keywords::KEEPALIVED_KEYWORDS;
use super::track::TrackFile;
use super::tree::Node;
use super::{ImportNote, Imported, NoteKind, NOTE_MARK};

/// Keywords whose absence changes nothing on a director, and why.
const HARMLESS: &[(&str, &str)] = &[
    (
        "notification_email",
        "mail alerts are not sent by lvsd; use notify scripts",
    ),
    (
        "notification_email_from",
        "mail alerts are not sent by lvsd; use notify scripts",
    ),
    (
        "smtp_server",
        "mail alerts are not sent by lvsd; use notify scripts",
    ),
    (
        "smtp_connect_timeout",
        "mail alerts are not sent by lvsd; use notify scripts",
    ),
    (
        "smtp_alert",
        "mail alerts are not sent by lvsd; use notify scripts",
    ),
    (
        "smtp_alert_vrrp",
        "mail alerts are not sent by lvsd; use notify scripts",
    ),
    (
        "smtp_alert_checker",
        "mail alerts are not sent by lvsd; use notify scripts",
    ),
    (
        "smtp_helo_name",
        "mail alerts are not sent by lvsd; use notify scripts",
    ),
    (
        "vrrp_skip_check_adv_addr",
        "lvsd never drops an advert for its address list, which is what this asks",
    ),
    (
        "enable_snmp_vrrp",
        "lvsd has no SNMP agent; its status is on the control socket",
    ),
    (
        "enable_snmp_checker",
        "lvsd has no SNMP agent; its status is on the control socket",
    ),
    (
        "enable_traps",
        "lvsd has no SNMP agent; its status is on the control socket",
    ),
    (
        "preempt",
        "preempting is the default in keepalived and lvsd",
    ),
];

fn harmless(keyword: &str) -> Option<&'static str> {
    HARMLESS
        .iter()
        .find(|(k, _)| *k == keyword)
        .map(|(_, why)| *why)
        .or_else(|| {
            KEEPALIVED_KEYWORDS
                .binary_search(&keyword)
                .is_err()
                .then_some("keepalived 2.2.7 does not know this keyword and ignores it too")
        })
}

/// Lines keepalived reads but refuses for their value, so they change nothing
/// there either (seen in real configs: `vrrp_garp_interval 0`).
pub(super) fn refused_by_keepalived(node: &Node) -> bool {
    let zero = node.args.len() == 1 && node.args[0].parse::<f64>() == Ok(0.0);
    zero && matches!(
        node.keyword.as_str(),
        "vrrp_garp_interval" | "vrrp_gna_interval" | "persistence_timeout"
    )
}

/// The import under way: the INI so far, its notes, and what later blocks
/// need to know of earlier ones.
pub(super) struct Writer<'o> {
    pub(super) ini: String,
    pub(super) notes: Vec<ImportNote>,
    pub(super) virtual_servers: usize,
    /// Top-level `track_file NAME { ... }` blocks, for FILE_CHECK.
    pub(super) track_file_nodes: Vec<Node>,
    pub(super) origins: &'o [String],
    /// `track_file` / `vrrp_track_file` blocks.
    pub(super) track_files: Vec<TrackFile>,
    /// Where each `track_file` block with `init_file` is, and whether a VRRP
    /// `track_file` line carried it (FILE_CHECK does not take it).
    pub(super) track_file_inits: Vec<(String, (usize, usize), bool)>,
    /// `vrrp_track_process` names defined so far (keepalived resolves a
    /// reference when it reads it, so only earlier ones count).
    pub(super) track_processes: Vec<String>,
    /// `vrrp_strict` in global_defs: every instance's default `strict_mode`.
    pub(super) vrrp_strict: bool,
    /// The preference keepalived gives each rule written without one, by
    /// where the rule is: see [`rule_preferences`].
    pub(super) rule_preferences: Vec<((usize, usize), u32)>,
}

impl<'o> Writer<'o> {
    /// A writer for the top-level statements `nodes` of `origin`.
    pub(super) fn new(origin: &str, nodes: &[Node], origins: &'o [String]) -> Self {
        Writer {
            ini: format!("# Imported from {origin} by lvsd; check it with `lvsd check`.\n"),
            notes: Vec::new(),
            virtual_servers: 0,
            track_file_nodes: nodes
                .iter()
                .filter(|n| n.keyword == "track_file" || n.keyword == "vrrp_track_file")
                .cloned()
                .collect(),
            origins,
            track_files: Vec::new(),
            vrrp_strict: nodes
                .iter()
                .filter(|n| n.keyword == "global_defs")
                .flat_map(|n| n.block.iter().flatten())
                .any(|n| n.keyword == "vrrp_strict"),
            track_file_inits: Vec::new(),
            track_processes: Vec::new(),
            rule_preferences: rule_preferences(nodes),
        }
    }

    /// The INI text and the notes.
    pub(super) fn finish(self) -> Imported {
        Imported {
            ini: self.ini,
            notes: self.notes,
        }
    }

    pub(super) fn note(&mut self, at: (usize, usize), kind: NoteKind, message: String) {
        let origin = self.origins.get(at.0).cloned().unwrap_or_default();
        let _ = writeln!(
            self.ini,
            "{NOTE_MARK} {}: {origin}:{}: {message}",
            kind.word(),
            at.1
        );
        self.notes.push(ImportNote {
            origin,
            line: at.1,
            kind,
            message,
        });
    }

    pub(super) fn drop_node(&mut self, node: &Node, why: &str) {
        if refused_by_keepalived(node) {
            return self.note(
                node.at,
                NoteKind::Ignored,
                format!(
                    "`{} {}`: keepalived refuses this value and ignores the line",
                    node.keyword,
                    node.args.join(" ")
                ),
            );
        }
        match harmless(&node.keyword) {
            Some(reason) => self.note(
                node.at,
                NoteKind::Ignored,
                format!("`{}`: {reason}", node.keyword),
            ),
            None => self.note(
                node.at,
                NoteKind::Dropped,
                format!("`{}` {why}", node.keyword),
            ),
        }
    }

    pub(super) fn key(&mut self, key: &str, node: &Node) {
        let value = node.args.join(" ");
        if value.is_empty() {
            let _ = writeln!(self.ini, "{key}");
        } else {
            let _ = writeln!(self.ini, "{key} = {value}");
        }
    }

    /// A list block (`virtual_ipaddress { ... }`, `track_interface { ... }`, ...):
    /// one `key = ...` line per item.
    pub(super) fn list(&mut self, key: &str, node: &Node) {
        let mut seen: Vec<String> = Vec::new();
        for item in node.block.iter().flatten() {
            let mut words = line_words(item);
            if key == "virtual_ipaddress" || key == "virtual_ipaddress_excluded" {
                let Some(vip) = self.vip_line(item, words, &mut seen) else {
                    continue;
                };
                words = vip;
            }
            let _ = writeln!(self.ini, "{key} = {}", words.join(" "));
        }
        if node.block.is_none() && !node.args.is_empty() {
            self.key(key, node);
        }
    }

    pub(super) fn simple(&mut self, node: &Node, allowed: &[&str], lists: &[&str]) {
        let tracks_files = node.keyword == "vrrp_instance" || node.keyword == "vrrp_sync_group";
        for item in node.block.iter().flatten() {
            if tracks_files && item.keyword == "track_file" {
                self.track_file(item);
            } else if tracks_files && item.keyword == "track_process" {
                self.track_process(item);
            } else if node.keyword == "vrrp_instance"
                && (item.keyword == "virtual_routes" || item.keyword == "virtual_rules")
            {
                self.routing_list(&item.keyword, item);
            } else if lists.contains(&item.keyword.as_str()) {
                self.list(&item.keyword, item);
            } else if item.keyword == "authentication" {
                for auth in item.block.iter().flatten() {
                    self.auth(auth);
                }
            } else if allowed.contains(&item.keyword.as_str()) {
                self.key(&item.keyword, item);
            } else {
                self.drop_node(item, "is not supported by lvsd");
            }
        }
    }
}

/// keepalived lets a later keyword replace an earlier one in the same block; lvsd's
/// INI refuses a key given twice. Keep the last (lists and blocks are kept whole).
pub(super) fn last_wins(w: &mut Writer<'_>, block: Vec<Node>, lists: &[&str]) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::with_capacity(block.len());
    for node in block {
        let repeatable = node.block.is_some() || lists.contains(&node.keyword.as_str());
        if !repeatable {
            if let Some(earlier) = out
                .iter()
                .position(|n| n.keyword == node.keyword && n.block.is_none())
            {
                let first = out.remove(earlier);
                w.note(
                    node.at,
                    NoteKind::Lenient,
                    format!(
                        "`{}` given again (first at line {}): the last one counts, as in keepalived",
                        node.keyword, first.at.1
                    ),
                );
            }
        }
        out.push(node);
    }
    out
}

/// The words of one line of a list block.
pub(super) fn line_words(item: &Node) -> Vec<String> {
    let mut words = vec![item.keyword.clone()];
    words.extend(item.args.iter().cloned());
    words
}
