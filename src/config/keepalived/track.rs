//! keepalived's tracked files and processes: the top-level `track_file` /
//! `vrrp_track_file` and `vrrp_track_process` blocks, and the `track_file` /
//! `track_process` lists of instances and sync groups that name them.

use std::fmt::Write;

use super::super::ranges::{self, RangeText};
use super::tree::Node;
use super::writer::Writer;
use super::NoteKind;

/// A top-level `track_file NAME { ... }` block as lvsd writes its lines.
#[derive(Debug, Clone)]
pub(super) struct TrackFile {
    name: String,
    path: String,
    /// The block's weight (a line may give its own) and direction.
    weight: i32,
    reverse: bool,
    /// The `init_file` words lvsd takes (` init_file V [overwrite]`), or empty.
    init: String,
}

impl Writer<'_> {
    /// The top-level `track_file NAME { file PATH  weight N [reverse]
    /// init_file ... }` blocks (`vrrp_track_file` is keepalived's older
    /// name), which instances and sync groups name.
    pub(super) fn track_file_blocks(&mut self, nodes: &[Node]) {
        for node in nodes
            .iter()
            .filter(|n| n.keyword == "track_file" || n.keyword == "vrrp_track_file")
        {
            let name = node.args.join(" ");
            let mut path = None;
            let (mut weight, mut reverse) = (1, false);
            let mut init = String::new();
            for item in node.block.iter().flatten() {
                match (item.keyword.as_str(), item.args.as_slice()) {
                    ("file", [p, ..]) => path = Some(p.clone()),
                    ("weight", [n, rest @ ..]) => {
                        weight = n.parse::<i32>().map_or(1, |n| n.clamp(-254, 254));
                        reverse = rest.first().is_some_and(|r| r == "reverse");
                    }
                    ("init_file", words) => {
                        init = self.init_file(&name, item, words);
                        self.track_file_inits.push((name.clone(), item.at, false));
                    }
                    _ => self.drop_node(item, "is not supported by lvsd"),
                }
            }
            match path {
                Some(path) => self.track_files.push(TrackFile {
                    name,
                    path,
                    weight,
                    reverse,
                    init,
                }),
                None => self.note(
                    node.at,
                    NoteKind::Ignored,
                    format!("track_file {name} has no `file`: keepalived ignores it"),
                ),
            }
        }
    }

    /// `init_file [VALUE] [overwrite]` of track_file block `name`, as lvsd's
    /// ` init_file V [overwrite]` words. keepalived takes a number (0 when
    /// bad or absent) and `overwrite`.
    fn init_file(&mut self, name: &str, item: &Node, words: &[String]) -> String {
        let mut value = 0;
        let mut overwrite = false;
        for word in words {
            if word == "overwrite" {
                overwrite = true;
            } else if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                value = word.parse::<i32>().unwrap_or(0);
            } else {
                self.note(
                    item.at,
                    NoteKind::Ignored,
                    format!("track_file {name}: unknown init_file option `{word}`, ignored as keepalived does"),
                );
            }
        }
        if !ranges::TRACK_WEIGHT.contains(&value) {
            self.note(
                item.at,
                NoteKind::Lenient,
                format!(
                    "track_file {name}: init_file value {value} is outside {}: {} written instead",
                    ranges::TRACK_WEIGHT.text(),
                    clamp(value)
                ),
            );
            value = clamp(value);
        }
        format!(
            " init_file {value}{}",
            if overwrite { " overwrite" } else { "" }
        )
    }

    /// A track_file block's `init_file` that no instance or sync group took.
    pub(super) fn unused_init_files(&mut self) {
        for (name, at, used) in std::mem::take(&mut self.track_file_inits) {
            if !used {
                self.note(
                    at,
                    NoteKind::Dropped,
                    format!("track_file {name}: `init_file` is taken only through a vrrp_instance or vrrp_sync_group track_file (lvsd's FILE_CHECK does not create the file)"),
                );
            }
        }
    }

    /// `track_file { NAME [weight N [reverse|noreverse]] }` of an instance or
    /// sync group, resolved through the `track_file` / `vrrp_track_file`
    /// blocks to lvsd's `track_file = PATH weight N`, as keepalived's
    /// `vrrp_alloc_track_file()` reads it (the line's weight, else the block's).
    pub(super) fn track_file(&mut self, node: &Node) {
        let mut seen: Vec<&str> = Vec::new();
        for item in node.block.iter().flatten() {
            let name = item.keyword.as_str();
            if seen.contains(&name) {
                self.ignored_track(
                    item,
                    format!("track_file {name} listed twice: keepalived ignores the second"),
                );
                continue;
            }
            let Some(line) = self.track_file_line(item) else {
                continue;
            };
            seen.push(name);
            if let Some(i) = self.track_file_inits.iter_mut().find(|i| i.0 == name) {
                i.2 = true;
            }
            let _ = writeln!(self.ini, "track_file = {line}");
        }
    }

    /// One `track_file` line's `PATH weight N [reverse] [init_file ...]`;
    /// `None` (with a note) when keepalived ignores the track.
    fn track_file_line(&mut self, item: &Node) -> Option<String> {
        let name = &item.keyword;
        let Some(block) = self.track_files.iter().find(|t| &t.name == name).cloned() else {
            return self.ignored_track(
                item,
                format!(
                    "track_file {name}: no such track_file block; keepalived ignores the track"
                ),
            );
        };
        let (weight, reverse) = match item.args.as_slice() {
            [] => (block.weight, block.reverse),
            [w, n, rest @ ..] if w == "weight" && rest.len() <= 1 => {
                let Ok(weight) = n.parse::<i32>().map(|n| n.clamp(-254, 254)) else {
                    return self.ignored_track(
                        item,
                        format!("track_file {name}: weight `{n}` is not a number; keepalived ignores the track"),
                    );
                };
                match rest.first().map(String::as_str) {
                    None => (weight, block.reverse),
                    Some("reverse") => (weight, true),
                    Some("noreverse") => (weight, false),
                    Some(_) => return self.unknown_track_option("track_file", item),
                }
            }
            _ => return self.unknown_track_option("track_file", item),
        };
        let reverse = if reverse { " reverse" } else { "" };
        Some(format!(
            "{} weight {weight}{reverse}{}",
            block.path, block.init
        ))
    }

    /// `track_process { NAME [weight N [reverse|noreverse]] }` of an instance
    /// or sync group, as keepalived's `alloc_track_process()` reads it: an
    /// unknown (or not yet defined) name, a second line for the same one or
    /// an option other than `weight` makes keepalived ignore the line.
    pub(super) fn track_process(&mut self, node: &Node) {
        let mut seen: Vec<&str> = Vec::new();
        for item in node.block.iter().flatten() {
            let name = item.keyword.as_str();
            if !self.track_processes.iter().any(|p| p == name) {
                self.note(
                    item.at,
                    NoteKind::Ignored,
                    format!("track_process {name}: no vrrp_track_process of that name before it; keepalived ignores the track"),
                );
                continue;
            }
            if seen.contains(&name) {
                self.ignored_track(
                    item,
                    format!("track_process {name} listed twice: keepalived ignores the second"),
                );
                continue;
            }
            let Some(line) = self.track_process_line(item) else {
                continue;
            };
            seen.push(name);
            let _ = writeln!(self.ini, "track_process = {line}");
        }
    }

    /// One `track_process` line's `NAME [weight N [reverse|noreverse]]`;
    /// `None` (with a note) when keepalived ignores the track.
    fn track_process_line(&mut self, item: &Node) -> Option<String> {
        let name = item.keyword.as_str();
        let (n, rest) = match item.args.as_slice() {
            [] => return Some(name.to_owned()),
            [w, n, rest @ ..] if w == "weight" && rest.len() <= 1 => (n, rest),
            _ => return self.unknown_track_option("track_process", item),
        };
        let weight = match n.parse::<i32>() {
            Ok(v) if ranges::TRACK_WEIGHT.contains(&v) => format!(" weight {v}"),
            // keepalived: the definition's weight stays.
            _ => {
                self.note(
                    item.at,
                    NoteKind::Lenient,
                    format!("track_process {name}: weight `{n}` is not in {}; the vrrp_track_process's weight applies, as in keepalived", ranges::TRACK_WEIGHT.text()),
                );
                String::new()
            }
        };
        let direction = match rest.first().map(String::as_str) {
            None => "",
            Some("reverse") => " reverse",
            Some("noreverse") => " noreverse",
            Some(other) => {
                self.note(
                    item.at,
                    NoteKind::Ignored,
                    format!("track_process {name}: unknown weight option `{other}`, ignored as keepalived does"),
                );
                ""
            }
        };
        if weight.is_empty() {
            return Some(name.to_owned());
        }
        Some(format!("{name}{weight}{direction}"))
    }

    /// A track line keepalived ignores, with why.
    fn ignored_track(&mut self, item: &Node, message: String) -> Option<String> {
        self.note(item.at, NoteKind::Ignored, message);
        None
    }

    /// `NAME` with words keepalived does not take: it ignores the track.
    fn unknown_track_option(&mut self, what: &str, item: &Node) -> Option<String> {
        let message = format!(
            "{what} {}: unknown option `{}`; keepalived ignores the track",
            item.keyword,
            item.args.join(" ")
        );
        self.ignored_track(item, message)
    }

    /// `vrrp_track_process NAME { process ... }` -> `[vrrp_track_process NAME]`.
    pub(super) fn track_process_block(&mut self, node: &Node) {
        let name = node.args.join(" ");
        let items: Vec<&Node> = node.block.iter().flatten().collect();
        let Some(process) = items.iter().copied().find(|n| n.keyword == "process") else {
            self.note(
                node.at,
                NoteKind::Ignored,
                format!("vrrp_track_process {name} has no `process`: keepalived ignores it"),
            );
            return;
        };
        if process.args.is_empty() || process.args.iter().any(|a| a.contains(char::is_whitespace)) {
            self.note(
                process.at,
                NoteKind::Dropped,
                format!("vrrp_track_process {name}: a process name or argument with spaces is not supported by lvsd; the definition is left out"),
            );
            return;
        }
        let _ = writeln!(self.ini, "\n[vrrp_track_process {name}]");
        let mut weight_set = false;
        for item in items {
            let args = item.args.join(" ");
            match item.keyword.as_str() {
                // keepalived keeps the first `process` and the first non-zero weight.
                "process" if std::ptr::eq(item, process) => {
                    let _ = writeln!(self.ini, "process = {args}");
                }
                "process" => self.note(
                    item.at,
                    NoteKind::Lenient,
                    format!("vrrp_track_process {name}: `process` given again; keepalived keeps the first"),
                ),
                "weight" if weight_set => self.note(
                    item.at,
                    NoteKind::Lenient,
                    format!("vrrp_track_process {name}: `weight` given again; keepalived keeps the first"),
                ),
                "weight" => {
                    weight_set = item.args.first().is_some_and(|w| w != "0");
                    let _ = writeln!(self.ini, "weight = {args}");
                }
                "param_match" if item.args.is_empty() => {
                    let _ = writeln!(self.ini, "param_match = exact");
                }
                "full_command" => {
                    let _ = writeln!(self.ini, "full_command = yes");
                }
                "param_match" | "quorum" | "quorum_max" | "delay" | "terminate_delay"
                | "fork_delay" => {
                    let _ = writeln!(self.ini, "{} = {args}", item.keyword);
                }
                _ => self.drop_node(item, "is not supported by lvsd"),
            }
        }
        self.track_processes.push(name);
    }
}

/// `value` brought into [`ranges::TRACK_WEIGHT`].
fn clamp(value: i32) -> i32 {
    value.clamp(*ranges::TRACK_WEIGHT.start(), *ranges::TRACK_WEIGHT.end())
}
