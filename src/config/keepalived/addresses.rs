//! Address and routing lines: `virtual_ipaddress` (and the static
//! addresses), `virtual_routes` / `static_routes` and `virtual_rules` /
//! `static_rules`, read with the loader's own parsers so a line means the
//! same to the import and to `lvsd check`.

use std::fmt::Write;

use super::tree::Node;
use super::writer::{line_words, Writer};
use super::NoteKind;
use crate::config::route::{parse_route, parse_rule, LineError, RULE_START_PRIORITY};

impl Writer<'_> {
    /// One `virtual_ipaddress` line: its words as lvsd takes them, `None`
    /// when keepalived skips it (a bad option, or the address listed twice).
    pub(super) fn vip_line(
        &mut self,
        item: &Node,
        words: Vec<String>,
        seen: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        let words = self.vip_words(item, words)?;
        let address = words[0].split('/').next().unwrap_or_default().to_string();
        if seen.contains(&address) {
            self.note(
                item.at,
                NoteKind::Lenient,
                format!("virtual_ipaddress {address} is listed twice; the second is ignored, as keepalived does"),
            );
            return None;
        }
        seen.push(address);
        Some(words)
    }

    /// A VIP's options as keepalived's `alloc_ipaddress()` reads them:
    /// `dev`, `label`, `brd`/`broadcast`, `scope`, `no_track` and
    /// `preferred_lft` carry over; options keepalived ignores for the
    /// address family are left out with its warning; options lvsd lacks
    /// (`peer`, `home`, `-nodad`, ...) are dropped with a note. `None` when
    /// keepalived skips the whole address (`brd` on IPv6).
    fn vip_words(&mut self, item: &Node, words: Vec<String>) -> Option<Vec<String>> {
        let ipv6 = words[0].contains(':');
        let prefix: Option<u8> = words[0].split_once('/').and_then(|(_, p)| p.parse().ok());
        let mut kept = vec![words[0].clone()];
        let mut rest = words[1..].iter();
        while let Some(option) = rest.next() {
            let ignored = |w: &mut Self, why: &str, value: &str| {
                w.note(
                    item.at,
                    NoteKind::Ignored,
                    format!(
                        "virtual_ipaddress {}: `{option} {value}` {why}, as keepalived does",
                        words[0]
                    ),
                )
            };
            match option.as_str() {
                "no_track" => kept.push(option.clone()),
                "dev" | "label" | "brd" | "broadcast" | "scope" | "preferred_lft" => {
                    let value = rest.next().cloned().unwrap_or_default();
                    match option.as_str() {
                        "brd" | "broadcast" if ipv6 => {
                            ignored(self, "is invalid on IPv6: the address is skipped", &value);
                            return None;
                        }
                        "label" | "scope" if ipv6 => {
                            ignored(self, "is ignored on IPv6", &value);
                            continue;
                        }
                        "preferred_lft" if !ipv6 => {
                            ignored(self, "is ignored on IPv4", &value);
                            continue;
                        }
                        "brd" | "broadcast"
                            if (value == "+" || value == "-") && prefix.unwrap_or(32) > 30 =>
                        {
                            ignored(
                                self,
                                "needs a prefix of at most /30: no broadcast is set",
                                &value,
                            );
                            continue;
                        }
                        _ => {}
                    }
                    kept.push(option.clone());
                    kept.push(value);
                }
                "peer" | "track_group" => {
                    let value = rest.next().cloned().unwrap_or_default();
                    self.note(
                        item.at,
                        NoteKind::Dropped,
                        format!("virtual_ipaddress {}: option `{option} {value}` is not supported by lvsd", words[0]),
                    );
                }
                other => self.note(
                    item.at,
                    NoteKind::Dropped,
                    format!(
                        "virtual_ipaddress {}: option `{other}` is not supported by lvsd",
                        words[0]
                    ),
                ),
            }
        }
        Some(kept)
    }
}

/// Top-level blocks that go to `[global]`.
pub(super) const STATIC_BLOCKS: &[&str] = &["static_ipaddress", "static_routes", "static_rules"];

/// keepalived gives a rule without a preference the next of 16384, 16383, ...
/// (one count per family), in the order it reads the file, and warns. Rules
/// it skips as invalid take no number.
pub(super) fn rule_preferences(nodes: &[Node]) -> Vec<((usize, usize), u32)> {
    let mut next = [RULE_START_PRIORITY; 2];
    let mut out = Vec::new();
    let mut visit = |block: &Node| {
        for item in block.block.iter().flatten() {
            if let Ok(rule) = parse_rule(&line_words(item).join(" "), item.at.1) {
                if rule.preference.is_none() {
                    let n = &mut next[usize::from(rule.ipv6)];
                    out.push((item.at, *n));
                    *n = n.saturating_sub(1);
                }
            }
        }
    };
    for node in nodes {
        match node.keyword.as_str() {
            "static_rules" => visit(node),
            "vrrp_instance" => {
                for inner in node.block.iter().flatten() {
                    if inner.keyword == "virtual_rules" {
                        visit(inner);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

impl Writer<'_> {
    /// `virtual_routes`, `virtual_rules` and the static blocks: each line is
    /// checked with the loader's own parser. A line keepalived skips as
    /// invalid is left out with its reason; one keepalived accepts and lvsd
    /// cannot do is dropped with a note; a rule without a preference gets the
    /// one keepalived would give it.
    pub(super) fn routing_list(&mut self, key: &str, node: &Node) {
        for item in node.block.iter().flatten() {
            let text = line_words(item).join(" ");
            let checked = match key {
                "virtual_routes" | "static_routes" => parse_route(&text, item.at.1).map(|_| None),
                "virtual_rules" | "static_rules" => {
                    parse_rule(&text, item.at.1).map(|r| r.preference.is_none().then_some(()))
                }
                _ => {
                    // static_ipaddress: a VIP line with a mandatory `dev`.
                    let Some(words) = self.vip_words(item, line_words(item)) else {
                        continue;
                    };
                    if !words.iter().any(|w| w == "dev") {
                        // keepalived sends it with interface index 0, which
                        // the kernel refuses (ENODEV): it never exists there.
                        self.note(
                            item.at,
                            NoteKind::Ignored,
                            format!("static_ipaddress {}: no `dev`; keepalived asks for it on no interface and the kernel refuses it", words[0]),
                        );
                        continue;
                    }
                    let _ = writeln!(self.ini, "{key} = {}", words.join(" "));
                    continue;
                }
            };
            match checked {
                Ok(None) => {
                    let _ = writeln!(self.ini, "{key} = {text}");
                }
                Ok(Some(())) => {
                    let preference = self
                        .rule_preferences
                        .iter()
                        .find(|(at, _)| *at == item.at)
                        .map_or(RULE_START_PRIORITY, |p| p.1);
                    self.note(
                        item.at,
                        NoteKind::Lenient,
                        format!("{key} `{text}` has no preference: {preference}, the one keepalived picks (it warns that this is probably not what you want)"),
                    );
                    let _ = writeln!(self.ini, "{key} = {text} preference {preference}");
                }
                Err(LineError::Invalid(why)) => self.note(
                    item.at,
                    NoteKind::Ignored,
                    format!("{key} `{text}`: {why}; keepalived skips this line too"),
                ),
                Err(e @ LineError::Unsupported(_)) => {
                    self.note(item.at, NoteKind::Dropped, format!("{key} `{text}`: {e}"))
                }
            }
        }
    }
}
