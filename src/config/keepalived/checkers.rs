//! A real server's health checkers: `TCP_CHECK`, `HTTP_GET`, `SSL_GET`,
//! `SMTP_CHECK` (with its `host { }` blocks), `MISC_CHECK`, `UDP_CHECK`,
//! `PING_CHECK`, `FILE_CHECK` and `DNS_CHECK`, one INI section each.

use std::fmt::Write;

use super::tree::Node;
use super::writer::{last_wins, Writer};
use super::{NoteKind, CHECKER, DNS_CHECK, UDP_CHECK};

/// Whether `keyword` starts a checker block in a real_server.
pub(super) fn is_checker(keyword: &str) -> bool {
    matches!(
        keyword,
        "TCP_CHECK"
            | "HTTP_GET"
            | "SSL_GET"
            | "SMTP_CHECK"
            | "MISC_CHECK"
            | "UDP_CHECK"
            | "PING_CHECK"
            | "FILE_CHECK"
            | "DNS_CHECK"
    )
}

/// Why keepalived skips checker `check` entirely, if it does.
fn unusable(check: &Node) -> Option<&'static str> {
    let has = |k: &str| check.block.iter().flatten().any(|i| i.keyword == k);
    match check.keyword.as_str() {
        // check_misc.c misc_end_handler: "No script path ... - skipping".
        "MISC_CHECK" if !has("misc_path") => Some("has no `misc_path`"),
        // check_http.c: "HTTP/SSL_GET checker has no urls specified - ignoring".
        "HTTP_GET" | "SSL_GET" if !has("url") => Some("has no `url`"),
        _ => None,
    }
}

impl Writer<'_> {
    /// One checker block of real server `target` (`vsN/IP:PORT`) ->
    /// `[tcp_check vsN/IP:PORT]`, ...
    pub(super) fn checker(&mut self, check: &Node, target: &str) {
        if check.keyword == "FILE_CHECK" {
            return self.file_check(check, target);
        }
        if let Some(why) = unusable(check) {
            return self.note(
                check.at,
                NoteKind::Ignored,
                format!("{} {why}: keepalived skips this checker", check.keyword),
            );
        }
        let _ = writeln!(
            self.ini,
            "\n[{} {target}]",
            check.keyword.to_ascii_lowercase()
        );
        let items = if check.keyword == "SMTP_CHECK" {
            self.smtp_hosts(check)
        } else {
            check.block.clone().unwrap_or_default()
        };
        for item in &items {
            self.checker_key(&check.keyword, item);
        }
    }

    /// One keyword of a checker of kind `kind` (`TCP_CHECK`, ...).
    fn checker_key(&mut self, kind: &str, item: &Node) {
        match item.keyword.as_str() {
            "host" if kind == "SMTP_CHECK" => self.key("host", item),
            "url" => {
                let parts = self.url_fields(item);
                let _ = writeln!(self.ini, "url = {}", parts.join(" "));
            }
            "connect_port" if kind == "PING_CHECK" => self.note(
                item.at,
                NoteKind::Ignored,
                "`connect_port` in PING_CHECK: ICMP has no port; keepalived ignores it too".into(),
            ),
            k if UDP_CHECK.contains(&k) && kind == "UDP_CHECK" => self.key(k, item),
            k if DNS_CHECK.contains(&k) && kind == "DNS_CHECK" => self.key(k, item),
            k if CHECKER.contains(&k) => self.key(k, item),
            _ => self.drop_node(item, "is not supported by lvsd"),
        }
    }

    /// The fields of an HTTP_GET `url { }` block as lvsd's `url =` words. A
    /// `regex` lvsd can match (literal text) is kept; any other is dropped with
    /// a note, and its `regex_no_match` and offsets with it.
    fn url_fields(&mut self, url: &Node) -> Vec<String> {
        let mut parts = Vec::new();
        let mut regex_kept = false;
        let mut no_match = None;
        for field in url.block.iter().flatten() {
            match field.keyword.as_str() {
                "regex" => {
                    let raw = field.args.join(" ");
                    let text = raw
                        .strip_prefix('"')
                        .and_then(|r| r.strip_suffix('"'))
                        .or_else(|| raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
                        .unwrap_or(&raw);
                    match crate::check::http::regex_literal(text) {
                        Ok(_) => {
                            parts.push(format!("regex={text}"));
                            regex_kept = true;
                        }
                        Err(e) => self.note(
                            field.at,
                            NoteKind::Dropped,
                            format!("url regex {raw}: {e}; the body is not checked"),
                        ),
                    }
                }
                "regex_no_match" => no_match = Some(field),
                "regex_stack" => self.note(
                    field.at,
                    NoteKind::Ignored,
                    "`regex_stack`: PCRE2 JIT stack size; lvsd's literal matcher needs none".into(),
                ),
                "regex_options" | "regex_min_offset" | "regex_max_offset" => self.note(
                    field.at,
                    NoteKind::Dropped,
                    format!("url `{}` is not supported by lvsd", field.keyword),
                ),
                _ => parts.push(format!("{}={}", field.keyword, field.args.join(","))),
            }
        }
        if let Some(field) = no_match {
            if regex_kept {
                parts.push("regex_no_match".into());
            } else {
                self.note(
                    field.at,
                    NoteKind::Dropped,
                    "url `regex_no_match` without a regex lvsd keeps".into(),
                );
            }
        }
        parts
    }

    /// `FILE_CHECK { track_file NAME [weight W [reverse]] }`: the named
    /// top-level `track_file` gives the path and the default weight.
    fn file_check(&mut self, check: &Node, target: &str) {
        let mut track = None;
        let mut weight: Option<Vec<String>> = None;
        for item in check.block.iter().flatten() {
            match item.keyword.as_str() {
                "track_file" => track = Some(item),
                "weight" => weight = Some(item.args.clone()),
                _ => self.drop_node(item, "is not supported by lvsd"),
            }
        }
        let Some(track) = track else {
            return self.note(
                check.at,
                NoteKind::Ignored,
                "FILE_CHECK without `track_file`: keepalived ignores it".into(),
            );
        };
        let name = track.args.join(" ");
        let def = self
            .track_file_nodes
            .iter()
            .rev()
            .find(|n| n.args.join(" ") == name)
            .cloned();
        let Some(def) = def else {
            return self.note(
                track.at,
                NoteKind::Ignored,
                format!(
                    "FILE_CHECK: track_file {name} is not defined; keepalived ignores the check"
                ),
            );
        };
        let items: Vec<&Node> = def.block.iter().flatten().collect();
        let Some(file) = items.iter().find(|n| n.keyword == "file") else {
            return self.note(
                def.at,
                NoteKind::Ignored,
                format!(
                    "track_file {name} has no `file`: keepalived ignores it and the FILE_CHECK"
                ),
            );
        };
        let weight = weight.or_else(|| {
            items
                .iter()
                .find(|n| n.keyword == "weight")
                .map(|n| n.args.clone())
        });
        let _ = writeln!(self.ini, "\n[file_check {target}]");
        let _ = writeln!(self.ini, "file = {}", file.args.join(" "));
        if let Some(weight) = weight {
            let _ = writeln!(self.ini, "weight = {}", weight.join(" "));
        }
    }

    /// SMTP_CHECK's deprecated `host { }` blocks (keepalived 2.2.7 check_smtp.c,
    /// built WITH_HOST_ENTRIES): each block's connection keywords become one
    /// `host = ...` line (one more checker); its other keywords set the checker
    /// itself, as keepalived applies them to the one checker all hosts copy.
    /// Keys given twice keep the last, as keepalived does.
    fn smtp_hosts(&mut self, check: &Node) -> Vec<Node> {
        let mut items = Vec::new();
        for item in check.block.iter().flatten() {
            if item.keyword != "host" {
                items.push(item.clone());
                continue;
            }
            let mut words = Vec::new();
            for field in item.block.iter().flatten() {
                match field.keyword.as_str() {
                    "connect_ip" | "connect_port" | "bindto" | "connect_timeout" => {
                        // A later one in the same block wins.
                        if let Some(at) = words.iter().position(|(k, _)| *k == field.keyword) {
                            words.remove(at);
                        }
                        words.push((field.keyword.clone(), field.args.join(" ")));
                    }
                    k if CHECKER.contains(&k) => items.push(field.clone()),
                    _ => self.drop_node(field, "is not supported by lvsd in an SMTP_CHECK host"),
                }
            }
            items.push(Node {
                keyword: "host".into(),
                args: words.into_iter().map(|(k, v)| format!("{k} {v}")).collect(),
                at: item.at,
                block: None,
            });
        }
        last_wins(self, items, &["host", "url"])
    }
}
