//! keepalived.conf -> lvsd INI text, so `lvsd import` can migrate a director.
//!
//! The import only rewrites syntax: the INI it produces goes through [`super::load_str`]
//! like any other file, so every value is checked there. Keywords lvsd does not
//! support (mail alerts, `include`, ...) are dropped with a note naming their line.

use crate::config::route::{parse_route, parse_rule, LineError, RULE_START_PRIORITY};
use std::fmt::{self, Write};

mod keywords;
pub mod text;

use keywords::KEEPALIVED_KEYWORDS;

use crate::config::keys::{self, keepalived_words};

pub use text::{IncludeSource, NoIncludes};

/// A problem in keepalived.conf that stops the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// File name as given.
    pub origin: String,
    /// 1-based line in keepalived.conf.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.origin, self.line, self.message)
    }
}

impl std::error::Error for ImportError {}

/// A keyword that was dropped, with its keepalived.conf line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportNote {
    /// The file it was in (keepalived.conf or an included file).
    pub origin: String,
    /// 1-based line in that file.
    pub line: usize,
    /// Whether something with an effect was lost.
    pub kind: NoteKind,
    /// What was dropped and why.
    pub message: String,
}

/// The result of an import: INI text and what was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// lvsd INI text.
    pub ini: String,
    /// Dropped keywords.
    pub notes: Vec<ImportNote>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    /// (origin index, 1-based line)
    at: (usize, usize),
}

/// One keepalived statement: keyword, arguments and an optional block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    keyword: String,
    args: Vec<String>,
    at: (usize, usize),
    block: Option<Vec<Node>>,
}

/// Blocks whose lines are list items rather than keywords.
const LIST_BLOCKS: &[&str] = &[
    "virtual_server_group",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "unicast_peer",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "group",
    "virtual_routes",
    "virtual_rules",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "notification_email",
];

/// Keywords that start a new statement even on the same line (`TCP_CHECK { retry 3 connect_port 80 }`).
const KEYWORDS: &[&str] = &[
    "router_id",
    "vrrp_strict",
    "strict_mode",
    "script_user",
    "enable_script_security",
    "notify_fifo",
    "lvs_sync_daemon",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "state",
    "interface",
    "lvs_sync_daemon_interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "vrrp_version",
    "authentication",
    "auth_type",
    "auth_pass",
    "virtual_ipaddress",
    "nopreempt",
    "dont_track_primary",
    "use_vmac",
    "vmac_xmit_base",
    "preempt_delay",
    "down_timer_adverts",
    "mcast_src_ip",
    "unicast_src_ip",
    "unicast_peer",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "native_ipv6",
    "group",
    "script",
    "interval",
    "timeout",
    "weight",
    "rise",
    "fall",
    "user",
    "delay_loop",
    "lb_algo",
    "lvs_sched",
    "lb_kind",
    "lvs_method",
    "protocol",
    "persistence_timeout",
    "persistence_granularity",
    "alpha",
    "omega",
    "quorum",
    "hysteresis",
    "quorum_up",
    "quorum_down",
    "sorry_server",
    "inhibit_on_failure",
    "virtualhost",
    "ha_suspend",
    "real_server",
    "uthreshold",
    "lthreshold",
    "notify_up",
    "notify_down",
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "SMTP_CHECK",
    "MISC_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
    "FILE_CHECK",
    "DNS_CHECK",
    "payload",
    "require_reply",
    "min_reply_length",
    "max_reply_length",
    "connect_ip",
    "connect_port",
    "bindto",
    "connect_timeout",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "url",
    "path",
    "digest",
    "status_code",
    "http_protocol",
    "helo_name",
    "misc_path",
    "misc_timeout",
    "misc_dynamic",
    "tun_type",
    "ip_family",
];

/// Words of the read lines: a `"..."` or `'...'` string is one word, quotes kept so
/// commands stay whole; `{` and `}` are words of their own.
fn tokenize(text: &text::Text) -> Vec<Token> {
    let mut tokens = Vec::new();
    for line in &text.lines {
        let at = (line.origin, line.line);
        let mut chars = line.text.chars();
        let mut current = String::new();
        let flush = |current: &mut String, tokens: &mut Vec<Token>| {
            if !current.is_empty() {
                tokens.push(Token {
                    text: std::mem::take(current),
                    at,
                });
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '"' | '\'' => {
                    current.push(c);
                    for q in chars.by_ref() {
                        current.push(q);
                        if q == c {
                            break;
                        }
                    }
                }
                '{' | '}' => {
                    flush(&mut current, &mut tokens);
                    tokens.push(Token {
                        text: c.to_string(),
                        at,
                    });
                }
                c if c.is_whitespace() => flush(&mut current, &mut tokens),
                c => current.push(c),
            }
        }
        flush(&mut current, &mut tokens);
    }
    tokens
}

struct Parser<'t> {
    tokens: &'t [Token],
    position: usize,
    origins: &'t [String],
}

impl Parser<'_> {
    fn error(&self, at: (usize, usize), message: &str) -> ImportError {
        ImportError {
            origin: self.origins.get(at.0).cloned().unwrap_or_default(),
            line: at.1,
            message: message.into(),
        }
    }

    /// Statements up to the matching `}`. `opened` is where this block's `{` stood:
    /// a keyword on that same line starts a new statement (`TCP_CHECK { retry 3
    /// connect_port 80 }`); elsewhere a word on the statement's line is an argument,
    /// even when it is spelled like a keyword (`notify_master "x" backup`).
    fn block(
        &mut self,
        list: bool,
        opened: Option<(usize, usize)>,
    ) -> Result<Vec<Node>, ImportError> {
        let mut nodes: Vec<Node> = Vec::new();
        while let Some(token) = self.tokens.get(self.position) {
            match token.text.as_str() {
                "}" => {
                    if opened.is_none() {
                        return Err(self.error(token.at, "`}` without a matching `{`"));
                    }
                    self.position += 1;
                    return Ok(nodes);
                }
                "{" => {
                    let at = token.at;
                    let Some(node) = nodes.last_mut().filter(|n| n.block.is_none()) else {
                        return Err(self.error(at, "`{` without a keyword"));
                    };
                    self.position += 1;
                    let inner_list = LIST_BLOCKS.contains(&node.keyword.as_str());
                    let keyword_at = node.at;
                    let inner = self.block(inner_list, Some(at))?;
                    // The borrow of `node` ended for the recursive call: find it again.
                    if let Some(node) = nodes.last_mut().filter(|n| n.at == keyword_at) {
                        node.block = Some(inner);
                    }
                }
                text => {
                    let one_line_block = opened == Some(token.at);
                    let continues = nodes.last().is_some_and(|n| {
                        n.block.is_none()
                            && n.at == token.at
                            && (list || !one_line_block || !KEYWORDS.contains(&text))
                    });
                    match nodes.last_mut() {
                        Some(node) if continues => node.args.push(text.to_string()),
                        _ => nodes.push(Node {
                            keyword: text.to_string(),
                            args: Vec::new(),
                            at: token.at,
                            block: None,
                        }),
                    }
                    self.position += 1;
                }
            }
        }
        if let Some(at) = opened {
            return Err(self.error(at, "file ends inside this `{ }` block (truncated?)"));
        }
        Ok(nodes)
    }
}

/// What the importer did with one keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// Left out although it changes what keepalived does: the import is lossy.
    Dropped,
    /// Left out because it changes nothing on a director (mail alerts, keywords
    /// keepalived itself does not know): the import stays faithful.
    Ignored,
    /// Accepted the lenient way keepalived accepts it, with keepalived's warning.
    Lenient,
}

impl NoteKind {
    fn word(self) -> &'static str {
        match self {
            NoteKind::Dropped => "dropped",
            NoteKind::Ignored => "ignored",
            NoteKind::Lenient => "changed",
        }
    }
}

/// The comment prefix that carries an import note into the INI; `lvsd check`
/// turns every such line into a warning, so a lossy import never looks clean.
pub const NOTE_MARK: &str = "#! import";

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
fn refused_by_keepalived(node: &Node) -> bool {
    let zero = node.args.len() == 1 && node.args[0].parse::<f64>() == Ok(0.0);
    zero && matches!(
        node.keyword.as_str(),
        "vrrp_garp_interval" | "vrrp_gna_interval" | "persistence_timeout"
    )
}

struct Writer<'o> {
    ini: String,
    notes: Vec<ImportNote>,
    virtual_servers: usize,
    /// Top-level `track_file NAME { ... }` blocks, for FILE_CHECK.
    track_file_nodes: Vec<Node>,
    origins: &'o [String],
    /// `track_file` / `vrrp_track_file` blocks: name, file, weight, reverse,
    /// and the `init_file` words lvsd takes (` init_file V [overwrite]`).
    track_files: Vec<(String, String, i32, bool, String)>,
    /// Where each `track_file` block with `init_file` is, and whether a VRRP
    /// `track_file` line carried it (FILE_CHECK does not take it).
    track_file_inits: Vec<(String, (usize, usize), bool)>,
    /// `vrrp_track_process` names defined so far (keepalived resolves a
    /// reference when it reads it, so only earlier ones count).
    track_processes: Vec<String>,
    /// `vrrp_strict` in global_defs: every instance's default `strict_mode`.
    vrrp_strict: bool,
    /// The preference keepalived gives each rule written without one, by
    /// where the rule is: see [`rule_preferences`].
    rule_preferences: Vec<((usize, usize), u32)>,
}

impl Writer<'_> {
    fn note(&mut self, at: (usize, usize), kind: NoteKind, message: String) {
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

    fn drop_node(&mut self, node: &Node, why: &str) {
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

    fn key(&mut self, key: &str, node: &Node) {
        let value = node.args.join(" ");
        if value.is_empty() {
            let _ = writeln!(self.ini, "{key}");
        } else {
            let _ = writeln!(self.ini, "{key} = {value}");
        }
    }

    fn list(&mut self, key: &str, node: &Node) {
        let mut seen: Vec<String> = Vec::new();
        for item in node.block.iter().flatten() {
            let mut words = vec![item.keyword.clone()];
            words.extend(item.args.iter().cloned());
            if key == "virtual_ipaddress" || key == "virtual_ipaddress_excluded" {
                let Some(vip) = self.vip_words(item, words) else {
                    continue;
                };
                words = vip;
                let address = words[0].split('/').next().unwrap_or_default().to_string();
                if seen.contains(&address) {
                    self.note(
                        item.at,
                        NoteKind::Lenient,
                        format!("virtual_ipaddress {address} is listed twice; the second is ignored, as keepalived does"),
                    );
                    continue;
                }
                seen.push(address);
            }
            let _ = writeln!(self.ini, "{key} = {}", words.join(" "));
        }
        if node.block.is_none() && !node.args.is_empty() {
            self.key(key, node);
        }
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

    fn simple(&mut self, node: &Node, allowed: &[&str], lists: &[&str]) {
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

    /// `track_file { NAME [weight N [reverse|noreverse]] }` of an instance or
    /// sync group, resolved through the `track_file` / `vrrp_track_file`
    /// blocks to lvsd's `track_file = PATH weight N`, as keepalived's
    /// `vrrp_alloc_track_file()` reads it (the line's weight, else the block's).
    fn track_file(&mut self, node: &Node) {
        let mut seen: Vec<&str> = Vec::new();
        for item in node.block.iter().flatten() {
            let name = &item.keyword;
            if seen.contains(&name.as_str()) {
                self.note(
                    item.at,
                    NoteKind::Ignored,
                    format!("track_file {name} listed twice: keepalived ignores the second"),
                );
                continue;
            }
            let Some((_, path, block_weight, block_reverse, init)) =
                self.track_files.iter().find(|t| &t.0 == name).cloned()
            else {
                self.note(
                    item.at,
                    NoteKind::Ignored,
                    format!(
                        "track_file {name}: no such track_file block; keepalived ignores the track"
                    ),
                );
                continue;
            };
            let (weight, reverse) = match item.args.as_slice() {
                [] => (block_weight, block_reverse),
                [w, n, rest @ ..] if w == "weight" && rest.len() <= 1 => {
                    let Ok(weight) = n.parse::<i32>().map(|n| n.clamp(-254, 254)) else {
                        self.note(
                            item.at,
                            NoteKind::Ignored,
                            format!("track_file {name}: weight `{n}` is not a number; keepalived ignores the track"),
                        );
                        continue;
                    };
                    match rest.first().map(String::as_str) {
                        None => (weight, block_reverse),
                        Some("reverse") => (weight, true),
                        Some("noreverse") => (weight, false),
                        Some(_) => {
                            self.note(
                                item.at,
                                NoteKind::Ignored,
                                format!("track_file {name}: unknown option `{}`; keepalived ignores the track", item.args.join(" ")),
                            );
                            continue;
                        }
                    }
                }
                _ => {
                    self.note(
                        item.at,
                        NoteKind::Ignored,
                        format!(
                            "track_file {name}: unknown option `{}`; keepalived ignores the track",
                            item.args.join(" ")
                        ),
                    );
                    continue;
                }
            };
            seen.push(name);
            if let Some(i) = self.track_file_inits.iter_mut().find(|i| &i.0 == name) {
                i.2 = true;
            }
            let reverse = if reverse { " reverse" } else { "" };
            let _ = writeln!(
                self.ini,
                "track_file = {path} weight {weight}{reverse}{init}"
            );
        }
    }

    /// `track_process { NAME [weight N [reverse|noreverse]] }` of an instance
    /// or sync group, as keepalived's `alloc_track_process()` reads it: an
    /// unknown (or not yet defined) name, a second line for the same one or
    /// an option other than `weight` makes keepalived ignore the line.
    fn track_process(&mut self, node: &Node) {
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
                self.note(
                    item.at,
                    NoteKind::Ignored,
                    format!("track_process {name} listed twice: keepalived ignores the second"),
                );
                continue;
            }
            let line = match item.args.as_slice() {
                [] => name.to_owned(),
                [w, n, rest @ ..] if w == "weight" && rest.len() <= 1 => {
                    let weight = match n.parse::<i32>() {
                        Ok(v) if (-254..=254).contains(&v) => format!(" weight {v}"),
                        // keepalived: the definition's weight stays.
                        _ => {
                            self.note(
                                item.at,
                                NoteKind::Lenient,
                                format!("track_process {name}: weight `{n}` is not in -254..=254; the vrrp_track_process's weight applies, as in keepalived"),
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
                        name.to_owned()
                    } else {
                        format!("{name}{weight}{direction}")
                    }
                }
                _ => {
                    self.note(
                        item.at,
                        NoteKind::Ignored,
                        format!(
                            "track_process {name}: unknown option `{}`; keepalived ignores the track",
                            item.args.join(" ")
                        ),
                    );
                    continue;
                }
            };
            seen.push(name);
            let _ = writeln!(self.ini, "track_process = {line}");
        }
    }

    /// `vrrp_track_process NAME { process ... }` -> `[vrrp_track_process NAME]`.
    fn track_process_block(&mut self, node: &Node) {
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

    /// `auth_pass` over 8 bytes is cut to 8 with a warning, as keepalived 2.2.7 does.
    fn auth(&mut self, auth: &Node) {
        if auth.keyword == "auth_pass" {
            let pass = auth.args.join(" ");
            let pass = pass.trim_matches('"');
            if pass.len() > 8 {
                let mut cut = 8;
                while !pass.is_char_boundary(cut) {
                    cut -= 1;
                }
                self.note(
                    auth.at,
                    NoteKind::Lenient,
                    "auth_pass is longer than 8 bytes: cut to its first 8, as keepalived does (the adverts carry only 8)".to_string(),
                );
                let _ = writeln!(self.ini, "auth_pass = {}", &pass[..cut]);
                return;
            }
        }
        self.key(&auth.keyword, auth);
    }

    /// A vrrp_instance, with keepalived's lenient `state` handling.
    fn instance(&mut self, node: &Node) {
        let node = &self.strict(node);
        let nopreempt = node
            .block
            .iter()
            .flatten()
            .any(|n| n.keyword == "nopreempt");
        // keepalived 2.2.7 (vrrp_complete_instance): AH with `state MASTER`
        // and no priority 255 is "incompatible with AH authentication -
        // clearing": the instance starts as BACKUP.
        let ah = node
            .block
            .iter()
            .flatten()
            .filter(|n| n.keyword == "authentication")
            .flat_map(|n| n.block.iter().flatten())
            .any(|n| n.keyword == "auth_type" && n.args.first().is_some_and(|t| t == "AH"));
        let owner = node
            .block
            .iter()
            .flatten()
            .rfind(|n| n.keyword == "priority")
            .is_some_and(|n| n.args.first().is_some_and(|p| p == "255"));
        let ah_clears_master = ah && !owner;
        for item in node.block.iter().flatten() {
            if item.keyword != "state" {
                continue;
            }
            let state = item.args.first().map(String::as_str).unwrap_or("");
            if state != "MASTER" && state != "BACKUP" {
                self.note(
                    item.at,
                    NoteKind::Lenient,
                    format!(
                        "state {state:?} is not MASTER or BACKUP: BACKUP, as keepalived defaults"
                    ),
                );
            } else if state == "MASTER" && nopreempt {
                self.note(
                    item.at,
                    NoteKind::Lenient,
                    "nopreempt with state MASTER: state cleared to BACKUP, as keepalived does"
                        .into(),
                );
            } else if state == "MASTER" && ah_clears_master {
                self.note(
                    item.at,
                    NoteKind::Lenient,
                    "auth_type AH with state MASTER: state cleared to BACKUP, as keepalived does (a new master must first hear the AH sequence number)"
                        .into(),
                );
            }
        }
        let mut rest = node.clone();
        if let Some(block) = rest.block.as_mut() {
            for item in block.iter_mut().filter(|n| n.keyword == "state") {
                let state = item.args.first().map(String::as_str).unwrap_or("");
                if state != "BACKUP" && (state != "MASTER" || nopreempt || ah_clears_master) {
                    item.args = vec!["BACKUP".into()];
                }
            }
            self.track_scripts(block);
            self.vmac(block);
        }
        self.simple(
            &rest,
            INSTANCE,
            &[
                "virtual_ipaddress",
                "virtual_ipaddress_excluded",
                "unicast_peer",
                "track_interface",
                "track_script",
            ],
        );
    }

    /// keepalived's strict mode (`vrrp_strict`, or the instance's
    /// `strict_mode`), as `vrrp_complete_instance()` applies it: the
    /// authentication is ignored, `preempt_delay` and `down_timer_adverts`
    /// are reset, and the state follows the priority (MASTER exactly for the
    /// owner), each with keepalived's warning. lvsd then keeps the rest of
    /// strict mode (`strict_mode = yes`); keepalived's nftables drop of the
    /// VIPs' traffic on a non-owner master is dropped with a note.
    fn strict(&mut self, node: &Node) -> Node {
        let mut node = node.clone();
        let Some(block) = node.block.as_mut() else {
            return node;
        };
        let strict = match block.iter().rfind(|n| n.keyword == "strict_mode") {
            Some(n) => !matches!(
                n.args.first().map(|a| a.to_ascii_lowercase()).as_deref(),
                Some("false" | "off" | "no")
            ),
            None => self.vrrp_strict,
        };
        if !strict {
            return node;
        }
        let owner = block
            .iter()
            .rfind(|n| n.keyword == "priority")
            .is_some_and(|n| n.args.first().is_some_and(|p| p == "255"));
        let mut kept = Vec::with_capacity(block.len());
        for mut item in std::mem::take(block) {
            let why = match item.keyword.as_str() {
                "authentication" => Some("strict mode does not support authentication: ignored, as keepalived does"),
                "preempt_delay" => Some("preempt_delay is incompatible with strict mode: reset to 0, as keepalived does"),
                "down_timer_adverts" if item.args.first().is_some_and(|n| n != "3") => {
                    Some("down_timer_adverts is incompatible with strict mode: reset to 3, as keepalived does")
                }
                "state" => {
                    let want = if owner { "MASTER" } else { "BACKUP" };
                    let is = item.args.first().map(|s| s.to_ascii_uppercase());
                    if is.as_deref() != Some(want) {
                        self.note(
                            item.at,
                            NoteKind::Lenient,
                            format!("strict mode: state MASTER must match being the address owner (priority 255): state {want}, as keepalived does"),
                        );
                        item.args = vec![want.into()];
                    }
                    None
                }
                "strict_mode" => {
                    item.args.clear();
                    None
                }
                _ => None,
            };
            match why {
                Some(why) => self.note(item.at, NoteKind::Lenient, why.into()),
                None => kept.push(item),
            }
        }
        if !kept.iter().any(|n| n.keyword == "strict_mode") {
            kept.push(Node {
                keyword: "strict_mode".into(),
                args: Vec::new(),
                at: node.at,
                block: None,
            });
        }
        if !owner {
            self.note(
                node.at,
                NoteKind::Dropped,
                "strict mode: keepalived drops all traffic to this non-owner instance's VIPs while it is master (nftables rules, no Accept_Mode); lvsd does not, so services on the VIPs keep answering (see docs/operations.md, vrrp_strict)".into(),
            );
        }
        *block = kept;
        node
    }

    /// `use_vmac [NAME] [MAC]`: a MAC (it has `:`) is dropped, lvsd always
    /// uses the RFC 5798 virtual MAC; `vmac_xmit_base` without `use_vmac` is
    /// ignored with keepalived's warning.
    fn vmac(&mut self, block: &mut Vec<Node>) {
        let has_vmac = block.iter().any(|n| n.keyword == "use_vmac");
        for node in block.iter_mut().filter(|n| n.keyword == "use_vmac") {
            if let Some(mac) = node.args.iter().find(|a| a.contains(':')).cloned() {
                self.note(
                    node.at,
                    NoteKind::Dropped,
                    format!("`use_vmac {mac}`: lvsd uses the RFC 5798 virtual MAC 00:00:5e:00:01:VRID, not a chosen one"),
                );
            }
            node.args.retain(|a| !a.contains(':'));
            node.args.truncate(1);
        }
        if !has_vmac {
            if let Some(n) = block.iter().find(|n| n.keyword == "vmac_xmit_base") {
                self.note(
                    n.at,
                    NoteKind::Lenient,
                    "vmac_xmit_base without use_vmac: ignored, as keepalived does".into(),
                );
            }
            block.retain(|n| n.keyword != "vmac_xmit_base");
        }
    }

    /// `track_script { NAME weight=N }`-style options keepalived does not know are
    /// ignored with a warning by keepalived; lvsd's reader would refuse them.
    fn track_scripts(&mut self, block: &mut [Node]) {
        for track in block.iter_mut().filter(|n| n.keyword == "track_script") {
            for item in track.block.iter_mut().flatten() {
                let keep = match item.args.as_slice() {
                    [] => 0,
                    [w, _] if w == "weight" => 2,
                    _ => 0,
                };
                if item.args.len() > keep {
                    let extra = item.args[keep..].join(" ");
                    self.note(
                        item.at,
                        NoteKind::Lenient,
                        format!(
                            "track_script {}: unknown option `{extra}` ignored, as keepalived does",
                            item.keyword
                        ),
                    );
                    item.args.truncate(keep);
                }
            }
        }
    }
}

/// keepalived keywords copied as they are (src/config/keys.rs `Import::Same`).
const GLOBAL: &[&str] = keepalived_words!(keys::GLOBAL, false);
/// GARP keywords keepalived knows only in a vrrp_instance (global_defs has
/// them with a `vrrp_` prefix).
const INSTANCE_ONLY_GARP: &[&str] = &[
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "garp_interval",
    "gna_interval",
];
/// keepalived keywords copied as they are (src/config/keys.rs `Import::Same`).
const INSTANCE: &[&str] = keepalived_words!(keys::INSTANCE, false);
/// keepalived keywords copied as they are (src/config/keys.rs `Import::Same`).
const SYNC_GROUP: &[&str] = keepalived_words!(keys::SYNC_GROUP, false);
/// keepalived keywords copied as they are (src/config/keys.rs `Import::Same`).
const SCRIPT: &[&str] = keepalived_words!(keys::SCRIPT, false);
/// keepalived keywords copied as they are (src/config/keys.rs `Import::Same`).
const VIRTUAL_SERVER: &[&str] = keepalived_words!(keys::VIRTUAL_SERVER, false);
/// keepalived keywords copied as they are (src/config/keys.rs `Import::Same`).
const REAL_SERVER: &[&str] = keepalived_words!(keys::REAL_SERVER, false);
/// keepalived keywords copied as they are from any checker (src/config/keys.rs `Import::Same`).
const CHECKER: &[&str] = keepalived_words!(keys::CHECKERS, false);

/// UDP_CHECK's own keywords (keepalived 2.2.7 check_udp.c; keys.rs `Import::Kind`).
const UDP_CHECK: &[&str] = keepalived_words!(keys::UDP_CHECK, true);
/// DNS_CHECK's own keywords (keys.rs `Import::Kind`).
const DNS_CHECK: &[&str] = keepalived_words!(keys::DNS_CHECK, true);

/// How to read a keepalived.conf.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions<'a> {
    /// keepalived's `--config-id`: which `@ID` lines apply.
    pub config_id: Option<&'a str>,
}

/// Convert keepalived.conf text to lvsd INI text; `origin` names the file in errors.
/// `include` lines are not followed (each becomes a note): see [`import_with`].
pub fn import(text: &str, origin: &str) -> Result<Imported, ImportError> {
    import_with(text, origin, ImportOptions::default(), &NoIncludes)
}

/// Convert keepalived.conf text, reading includes from `source`.
pub fn import_with(
    text: &str,
    origin: &str,
    options: ImportOptions<'_>,
    source: &dyn IncludeSource,
) -> Result<Imported, ImportError> {
    let read = text::read(text, origin, options.config_id, source);
    let tokens = tokenize(&read);
    let mut parser = Parser {
        tokens: &tokens,
        position: 0,
        origins: &read.origins,
    };
    let nodes = parser.block(false, None)?;
    let mut w = Writer {
        ini: format!("# Imported from {origin} by lvsd; check it with `lvsd check`.\n"),
        notes: Vec::new(),
        virtual_servers: 0,
        track_file_nodes: nodes
            .iter()
            .filter(|n| n.keyword == "track_file" || n.keyword == "vrrp_track_file")
            .cloned()
            .collect(),
        origins: &read.origins,
        track_files: Vec::new(),
        vrrp_strict: nodes
            .iter()
            .filter(|n| n.keyword == "global_defs")
            .flat_map(|n| n.block.iter().flatten())
            .any(|n| n.keyword == "vrrp_strict"),
        track_file_inits: Vec::new(),
        track_processes: Vec::new(),
        rule_preferences: rule_preferences(&nodes),
    };
    for note in &read.notes {
        w.note(
            (note.origin, note.line),
            NoteKind::Dropped,
            note.message.clone(),
        );
    }
    // keepalived merges every global_defs block into one.
    let globals: Vec<Node> = nodes
        .iter()
        .filter(|n| n.keyword == "global_defs")
        .flat_map(|n| n.block.iter().flatten().cloned())
        .collect();
    let global_blocks = nodes.iter().filter(|n| n.keyword == "global_defs").count();
    let statics: Vec<&Node> = nodes
        .iter()
        .filter(|n| STATIC_BLOCKS.contains(&n.keyword.as_str()))
        .collect();
    if global_blocks == 0 && !statics.is_empty() {
        let _ = writeln!(w.ini, "\n[global]");
    }
    if global_blocks > 0 {
        let _ = writeln!(w.ini, "\n[global]");
        if global_blocks > 1 {
            let second = nodes.iter().filter(|n| n.keyword == "global_defs").nth(1);
            if let Some(second) = second {
                w.note(
                    second.at,
                    NoteKind::Lenient,
                    format!(
                        "{global_blocks} global_defs blocks: merged into one, as keepalived does"
                    ),
                );
            }
        }
        let merged = Node {
            keyword: "global_defs".into(),
            args: Vec::new(),
            at: (0, 0),
            block: Some(last_wins(&mut w, globals, &[])),
        };
        w.global(&merged);
    }
    for node in &statics {
        w.routing_list(&node.keyword, node);
    }
    // keepalived disables a vrrp_script without a `script` and ignores every
    // track_script naming it; lvsd's reader would refuse both.
    let scriptless: Vec<String> = nodes
        .iter()
        .filter(|n| n.keyword == "vrrp_script")
        .filter(|n| !n.block.iter().flatten().any(|k| k.keyword == "script"))
        .map(|n| n.args.join(" "))
        .collect();
    let nodes: Vec<Node> = nodes
        .into_iter()
        .map(|mut n| {
            if n.keyword == "vrrp_instance" {
                for track in n.block.iter_mut().flatten().filter(|k| k.keyword == "track_script") {
                    if let Some(items) = track.block.as_mut() {
                        items.retain(|item| {
                            let gone = scriptless.contains(&item.keyword);
                            if gone {
                                w.note(
                                    item.at,
                                    NoteKind::Ignored,
                                    format!("track_script {}: that vrrp_script has no `script`; keepalived ignores the track", item.keyword),
                                );
                            }
                            !gone
                        });
                    }
                }
            }
            n
        })
        .collect();
    // `track_file NAME { file PATH  weight N [reverse]  init_file ... }`
    // (`vrrp_track_file` is keepalived's older name), referenced by name.
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
                    // keepalived: a number (0 when bad or absent) and `overwrite`.
                    let mut value = 0;
                    let mut overwrite = false;
                    for word in words {
                        if word == "overwrite" {
                            overwrite = true;
                        } else if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                            value = word.parse::<i32>().unwrap_or(0);
                        } else {
                            w.note(
                                item.at,
                                NoteKind::Ignored,
                                format!("track_file {name}: unknown init_file option `{word}`, ignored as keepalived does"),
                            );
                        }
                    }
                    if !(-254..=254).contains(&value) {
                        w.note(
                            item.at,
                            NoteKind::Lenient,
                            format!("track_file {name}: init_file value {value} is outside -254..=254: {} written instead", value.clamp(-254, 254)),
                        );
                        value = value.clamp(-254, 254);
                    }
                    init = format!(
                        " init_file {value}{}",
                        if overwrite { " overwrite" } else { "" }
                    );
                    w.track_file_inits.push((name.clone(), item.at, false));
                }
                _ => w.drop_node(item, "is not supported by lvsd"),
            }
        }
        match path {
            Some(path) => w.track_files.push((name, path, weight, reverse, init)),
            None => w.note(
                node.at,
                NoteKind::Ignored,
                format!("track_file {name} has no `file`: keepalived ignores it"),
            ),
        }
    }
    for node in &nodes {
        let name = node.args.join(" ");
        match node.keyword.as_str() {
            "global_defs" | "track_file" | "vrrp_track_file" => {}
            _ if STATIC_BLOCKS.contains(&node.keyword.as_str()) => {}
            "vrrp_script" if scriptless.contains(&name) => {
                w.note(
                    node.at,
                    NoteKind::Ignored,
                    format!("vrrp_script {name} has no `script`: keepalived disables it"),
                );
            }
            "vrrp_instance" => {
                let _ = writeln!(w.ini, "\n[vrrp_instance {name}]");
                let mut node = node.clone();
                node.block = node.block.take().map(|b| {
                    last_wins(
                        &mut w,
                        b,
                        &[
                            "virtual_ipaddress",
                            "virtual_ipaddress_excluded",
                            "unicast_peer",
                            "track_interface",
                            "track_script",
                        ],
                    )
                });
                w.instance(&node);
            }
            "vrrp_sync_group" if !node.block.iter().flatten().any(|n| n.keyword == "group") => {
                w.note(
                    node.at,
                    NoteKind::Ignored,
                    format!("vrrp_sync_group {name} has no `group {{ }}`: keepalived removes such a group"),
                );
            }
            "vrrp_sync_group" => {
                let _ = writeln!(w.ini, "\n[vrrp_sync_group {name}]");
                w.simple(node, SYNC_GROUP, &["group"]);
            }
            "vrrp_script" => {
                let _ = writeln!(w.ini, "\n[vrrp_script {name}]");
                let mut node = node.clone();
                node.block = node.block.take().map(|b| last_wins(&mut w, b, &[]));
                w.simple(&node, SCRIPT, &[]);
            }
            "vrrp_track_process" => w.track_process_block(node),
            "virtual_server" => virtual_server(&mut w, node)?,
            "virtual_server_group" => {
                let _ = writeln!(w.ini, "\n[virtual_server_group {name}]");
                for member in node.block.iter().flatten() {
                    let mut words = vec![member.keyword.clone()];
                    words.extend(member.args.iter().cloned());
                    let _ = writeln!(w.ini, "member = {}", words.join(" "));
                }
            }
            _ => w.drop_node(node, "is not supported by lvsd"),
        }
    }
    for (name, at, used) in std::mem::take(&mut w.track_file_inits) {
        if !used {
            w.note(
                at,
                NoteKind::Dropped,
                format!("track_file {name}: `init_file` is taken only through a vrrp_instance or vrrp_sync_group track_file (lvsd's FILE_CHECK does not create the file)"),
            );
        }
    }
    Ok(Imported {
        ini: w.ini,
        notes: w.notes,
    })
}

/// Top-level blocks that go to `[global]`.
const STATIC_BLOCKS: &[&str] = &["static_ipaddress", "static_routes", "static_rules"];

/// The words of one line of a list block.
fn line_words(item: &Node) -> Vec<String> {
    let mut words = vec![item.keyword.clone()];
    words.extend(item.args.iter().cloned());
    words
}

/// keepalived gives a rule without a preference the next of 16384, 16383, ...
/// (one count per family), in the order it reads the file, and warns. Rules
/// it skips as invalid take no number.
fn rule_preferences(nodes: &[Node]) -> Vec<((usize, usize), u32)> {
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
    fn routing_list(&mut self, key: &str, node: &Node) {
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

/// keepalived lets a later keyword replace an earlier one in the same block; lvsd's
/// INI refuses a key given twice. Keep the last (lists and blocks are kept whole).
fn last_wins(w: &mut Writer<'_>, block: Vec<Node>, lists: &[&str]) -> Vec<Node> {
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

impl Writer<'_> {
    /// `[global]`, with `script_user USER GROUP` split into lvsd's two keys.
    fn global(&mut self, node: &Node) {
        let mut node = node.clone();
        if let Some(block) = node.block.as_mut() {
            for item in block.iter_mut().filter(|n| n.keyword == "script_user") {
                if item.args.len() == 2 {
                    let group = item.args.pop().unwrap_or_default();
                    self.note(
                        item.at,
                        NoteKind::Dropped,
                        format!("script_user group `{group}`: lvsd runs scripts with the user's own group"),
                    );
                }
            }
            // keepalived 2.2.7 installs the GARP keywords of global_defs only
            // with their `vrrp_` prefix: the instance spelling there is an
            // "Unknown keyword" it skips (seen in real configs).
            block.retain(|item| {
                let instance_only = INSTANCE_ONLY_GARP.contains(&item.keyword.as_str());
                if instance_only {
                    self.note(
                        item.at,
                        NoteKind::Ignored,
                        format!(
                            "`{}` inside global_defs: keepalived 2.2.7 does not know it there and ignores it (the global default is `vrrp_{}`)",
                            item.keyword, item.keyword
                        ),
                    );
                }
                !instance_only
            });
        }
        self.simple(&node, GLOBAL, &[]);
    }
}

/// `IP PORT` -> `IP:PORT` (`[IP]:PORT` for IPv6), `IP` alone unchanged.
fn host_port(args: &[String]) -> String {
    match args {
        [ip, port] if ip.contains(':') => format!("[{ip}]:{port}"),
        [ip, port] => format!("{ip}:{port}"),
        _ => args.join(" "),
    }
}

/// The fields of an HTTP_GET `url { }` block as lvsd's `url =` words. A
/// `regex` lvsd can match (literal text) is kept; any other is dropped with
/// a note, and its `regex_no_match` and offsets with it.
fn url_fields(w: &mut Writer<'_>, url: &Node) -> Vec<String> {
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
                    Err(e) => w.note(
                        field.at,
                        NoteKind::Dropped,
                        format!("url regex {raw}: {e}; the body is not checked"),
                    ),
                }
            }
            "regex_no_match" => no_match = Some(field),
            "regex_stack" => w.note(
                field.at,
                NoteKind::Ignored,
                "`regex_stack`: PCRE2 JIT stack size; lvsd's literal matcher needs none".into(),
            ),
            "regex_options" | "regex_min_offset" | "regex_max_offset" => w.note(
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
            w.note(
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
fn file_check(w: &mut Writer<'_>, check: &Node, target: &str) {
    let mut track = None;
    let mut weight: Option<Vec<String>> = None;
    for item in check.block.iter().flatten() {
        match item.keyword.as_str() {
            "track_file" => track = Some(item),
            "weight" => weight = Some(item.args.clone()),
            _ => w.drop_node(item, "is not supported by lvsd"),
        }
    }
    let Some(track) = track else {
        return w.note(
            check.at,
            NoteKind::Ignored,
            "FILE_CHECK without `track_file`: keepalived ignores it".into(),
        );
    };
    let name = track.args.join(" ");
    let def = w
        .track_file_nodes
        .iter()
        .rev()
        .find(|n| n.args.join(" ") == name)
        .cloned();
    let Some(def) = def else {
        return w.note(
            track.at,
            NoteKind::Ignored,
            format!("FILE_CHECK: track_file {name} is not defined; keepalived ignores the check"),
        );
    };
    let items: Vec<&Node> = def.block.iter().flatten().collect();
    let Some(file) = items.iter().find(|n| n.keyword == "file") else {
        return w.note(
            def.at,
            NoteKind::Ignored,
            format!("track_file {name} has no `file`: keepalived ignores it and the FILE_CHECK"),
        );
    };
    let weight = weight.or_else(|| {
        items
            .iter()
            .find(|n| n.keyword == "weight")
            .map(|n| n.args.clone())
    });
    let _ = writeln!(w.ini, "\n[file_check {target}]");
    let _ = writeln!(w.ini, "file = {}", file.args.join(" "));
    if let Some(weight) = weight {
        let _ = writeln!(w.ini, "weight = {}", weight.join(" "));
    }
}

fn virtual_server(w: &mut Writer<'_>, node: &Node) -> Result<(), ImportError> {
    w.virtual_servers += 1;
    let name = format!("vs{}", w.virtual_servers);
    let _ = writeln!(
        w.ini,
        "\n# keepalived line {}: virtual_server {}",
        node.at.1,
        node.args.join(" ")
    );
    let _ = writeln!(w.ini, "[virtual_server {name}]");
    match node.args.as_slice() {
        [mark_kw, mark] if mark_kw == "fwmark" => {
            let _ = writeln!(w.ini, "fwmark = {mark}");
        }
        [group_kw, group] if group_kw == "group" => {
            let _ = writeln!(w.ini, "group = {group}");
        }
        [ip, port] => {
            let _ = writeln!(w.ini, "address = {ip}\nport = {port}");
        }
        // keepalived 2.0.7 and later (alloc_vs): no port is port 0, the
        // "all ports" service (the kernel schedules it only when persistent).
        [ip] if ip.parse::<std::net::IpAddr>().is_ok() => {
            let _ = writeln!(w.ini, "address = {ip}\nport = 0");
        }
        _ => {
            return Err(ImportError {
                origin: w.origins.get(node.at.0).cloned().unwrap_or_default(),
                line: node.at.1,
                message: "virtual_server needs `IP PORT`, `fwmark N` or `group NAME`".into(),
            })
        }
    }
    let mut real_servers = Vec::new();
    let mut sorry_server_seen = false;
    for item in node.block.iter().flatten() {
        if item.keyword == "real_server" {
            real_servers.push(item);
        } else if matches!(
            item.keyword.as_str(),
            "sorry_server_inhibit" | "sorry_server_lvs_method"
        ) && !sorry_server_seen
        {
            // check_parser.c ssvri_handler / ss_forwarding_handler: they
            // apply to a sorry_server given before them, else are ignored.
            w.note(
                item.at,
                NoteKind::Ignored,
                format!(
                    "`{}` before or without `sorry_server`: keepalived ignores it",
                    item.keyword
                ),
            );
        } else if refused_by_keepalived(item) {
            w.drop_node(item, "");
        } else if VIRTUAL_SERVER.contains(&item.keyword.as_str()) {
            sorry_server_seen |= item.keyword == "sorry_server";
            w.key(&item.keyword, item);
        } else {
            w.drop_node(item, "is not supported by lvsd");
        }
    }
    for rs in real_servers {
        let target = format!("{name}/{}", host_port(&rs.args));
        let _ = writeln!(w.ini, "\n[real_server {target}]");
        let mut checkers = Vec::new();
        for item in rs.block.iter().flatten() {
            match item.keyword.as_str() {
                "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "SMTP_CHECK" | "MISC_CHECK"
                | "UDP_CHECK" | "PING_CHECK" | "FILE_CHECK" | "DNS_CHECK" => checkers.push(item),
                k if REAL_SERVER.contains(&k) => w.key(k, item),
                _ => w.drop_node(item, "is not supported by lvsd"),
            }
        }
        for check in checkers {
            if check.keyword == "FILE_CHECK" {
                file_check(w, check, &target);
                continue;
            }
            let has = |k: &str| check.block.iter().flatten().any(|i| i.keyword == k);
            let unusable = match check.keyword.as_str() {
                // check_misc.c misc_end_handler: "No script path ... - skipping".
                "MISC_CHECK" if !has("misc_path") => Some("has no `misc_path`"),
                // check_http.c: "HTTP/SSL_GET checker has no urls specified - ignoring".
                "HTTP_GET" | "SSL_GET" if !has("url") => Some("has no `url`"),
                _ => None,
            };
            if let Some(why) = unusable {
                w.note(
                    check.at,
                    NoteKind::Ignored,
                    format!("{} {why}: keepalived skips this checker", check.keyword),
                );
                continue;
            }
            let _ = writeln!(w.ini, "\n[{} {target}]", check.keyword.to_ascii_lowercase());
            let items = if check.keyword == "SMTP_CHECK" {
                smtp_hosts(w, check)
            } else {
                check.block.clone().unwrap_or_default()
            };
            for item in &items {
                match item.keyword.as_str() {
                    "host" if check.keyword == "SMTP_CHECK" => w.key("host", item),
                    "url" => {
                        let parts = url_fields(w, item);
                        let _ = writeln!(w.ini, "url = {}", parts.join(" "));
                    }
                    "connect_port" if check.keyword == "PING_CHECK" => w.note(
                        item.at,
                        NoteKind::Ignored,
                        "`connect_port` in PING_CHECK: ICMP has no port; keepalived ignores it too"
                            .into(),
                    ),
                    k if UDP_CHECK.contains(&k) && check.keyword == "UDP_CHECK" => w.key(k, item),
                    k if DNS_CHECK.contains(&k) && check.keyword == "DNS_CHECK" => w.key(k, item),
                    k if CHECKER.contains(&k) => w.key(k, item),
                    _ => w.drop_node(item, "is not supported by lvsd"),
                }
            }
        }
    }
    Ok(())
}

/// SMTP_CHECK's deprecated `host { }` blocks (keepalived 2.2.7 check_smtp.c,
/// built WITH_HOST_ENTRIES): each block's connection keywords become one
/// `host = ...` line (one more checker); its other keywords set the checker
/// itself, as keepalived applies them to the one checker all hosts copy.
/// Keys given twice keep the last, as keepalived does.
fn smtp_hosts(w: &mut Writer<'_>, check: &Node) -> Vec<Node> {
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
                _ => w.drop_node(field, "is not supported by lvsd in an SMTP_CHECK host"),
            }
        }
        items.push(Node {
            keyword: "host".into(),
            args: words.into_iter().map(|(k, v)| format!("{k} {v}")).collect(),
            at: item.at,
            block: None,
        });
    }
    last_wins(w, items, &["host", "url"])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "global_defs {\n    router_id LVS_1\n    notification_email { a@b }\n}\n\
vrrp_instance VI_1 {\n    state MASTER\n    interface ens160\n    lvs_sync_daemon_interface ens224\n\
    virtual_router_id 51\n    priority 100\n    advert_int 1\n    authentication {\n        auth_type PASS\n\
        auth_pass 1111\n    }\n    virtual_ipaddress {\n        192.168.118.110\n    }\n}\n\
virtual_server 192.168.118.110 80 {\n    delay_loop 6   # seconds\n    lb_algo rr\n    lb_kind DR\n\
    #persistence_timeout 50\n    protocol TCP\n    real_server 192.168.118.131 80 {\n        weight 1\n\
        TCP_CHECK {\n            connect_timeout 3\n            retry 3\n            delay_before_retry 3\n\
            connect_port 80\n        }\n    }\n    real_server 192.168.118.129 80 {\n        weight 1\n\
        TCP_CHECK { connect_timeout 3  retry 3  delay_before_retry 3  connect_port 80 }\n    }\n}\n";

    #[test]
    fn seed_keepalived_conf_imports_and_loads() {
        let imported = import(SEED, "keepalived.conf").unwrap();
        assert_eq!(imported.notes.len(), 1);
        assert_eq!(imported.notes[0].line, 3);
        let config = crate::config::load_str(&imported.ini, "imported.ini")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.ini));
        assert_eq!(config.vrrp_instances[0].virtual_router_id, 51);
        let vs = &config.virtual_servers[0];
        assert_eq!(vs.real_servers.len(), 2);
        for rs in &vs.real_servers {
            let timing = rs.checkers[0].timing;
            assert_eq!(timing.retry, 3);
            assert_eq!(timing.connect_timeout, std::time::Duration::from_secs(3));
            assert_eq!(rs.checkers[0].connect_port, 80);
        }
    }

    #[test]
    fn routes_rules_and_static_blocks_convert_as_keepalived_reads_them() {
        let text = "static_rules {\n from 10.0.0.0/8 table 1\n to 10.1.0./24 table 1\n from 2001:db8::/32 table 5\n inet6 from 2001:db8:1::/48 table 6\n}\n\
static_routes {\n 10.2.0.0/16 via 10.0.0.1 dev eth0\n 10.3.0.0/16 dev eth0 mtu 1400\n}\n\
static_ipaddress {\n 192.0.2.1/24 dev eth1 scope link\n 192.0.2.2/24\n}\n\
vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.100\n }\n\
 virtual_routes {\n  src 10.0.0.100 10.4.0.0/16 via 10.0.0.1 dev eth0 priority 5\n  blackhole 10.5.0.0/16\n }\n\
 virtual_rules {\n  to 10.4.0.0/16 table 2\n  fwmark 7 table 3 preference 50\n }\n}\n";
        let imported = import(text, "keepalived.conf").unwrap();
        let ini = &imported.ini;
        // The static blocks go to [global]; rules get keepalived's numbers in
        // file order, per family, and an invalid rule takes none.
        for want in [
            "[global]\n",
            "static_rules = from 10.0.0.0/8 table 1 preference 16384\n",
            "static_rules = from 2001:db8::/32 table 5 preference 16384\n",
            "static_routes = 10.2.0.0/16 via 10.0.0.1 dev eth0\n",
            "static_ipaddress = 192.0.2.1/24 dev eth1 scope link\n",
            "virtual_routes = src 10.0.0.100 10.4.0.0/16 via 10.0.0.1 dev eth0 priority 5\n",
            "virtual_routes = blackhole 10.5.0.0/16\n",
            "virtual_rules = to 10.4.0.0/16 table 2 preference 16383\n",
            "virtual_rules = fwmark 7 table 3 preference 50\n",
        ] {
            assert!(ini.contains(want), "missing {want:?} in\n{ini}");
        }
        let ignored = notes_of(&imported, NoteKind::Ignored);
        assert!(
            ignored.iter().any(|n| n.contains("10.1.0./24")),
            "{ignored:?}"
        );
        assert!(
            ignored.iter().any(|n| n.contains("192.0.2.2/24")),
            "{ignored:?}"
        );
        // keepalived 2.2.7 steps over the word after `inet6` and rejects this one.
        assert!(
            ignored.iter().any(|n| n.contains("2001:db8:1::/48")),
            "{ignored:?}"
        );
        let dropped = notes_of(&imported, NoteKind::Dropped);
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert!(dropped[0].contains("mtu"), "{dropped:?}");
        let config =
            crate::config::load_str(ini, "imported.ini").unwrap_or_else(|e| panic!("{e}\n{ini}"));
        assert_eq!(config.global.static_rules.len(), 2);
        assert_eq!(config.global.static_routes.len(), 1);
        assert_eq!(config.global.static_ipaddress.len(), 1);
        assert_eq!(config.vrrp_instances[0].virtual_routes.len(), 2);
        assert_eq!(
            config.vrrp_instances[0].virtual_rules[0].preference,
            Some(16383)
        );
    }

    #[test]
    fn udp_and_ping_checks_convert() {
        let text = "virtual_server 10.0.0.1 53 {\n lb_algo rr\n lb_kind DR\n protocol UDP\n\
 real_server 10.0.1.1 53 {\n  UDP_CHECK {\n   connect_timeout 2\n   payload 00 01 02\n\
   require_reply 6X 0a\n   min_reply_length 2\n   max_reply_length 512\n  }\n\
  PING_CHECK {\n   retry 2\n   connect_port 53\n  }\n }\n\
 real_server 10.0.1.2 53 {\n  UDP_CHECK { require_reply }\n  TCP_CHECK { payload 00 }\n }\n}\n";
        let imported = import(text, "keepalived.conf").unwrap();
        assert!(
            imported.ini.contains("[udp_check vs1/10.0.1.1:53]\n"),
            "{}",
            imported.ini
        );
        assert!(
            imported.ini.contains("payload = 00 01 02\n"),
            "{}",
            imported.ini
        );
        assert!(
            imported.ini.contains("[ping_check vs1/10.0.1.1:53]\n"),
            "{}",
            imported.ini
        );
        assert_eq!(
            notes_of(&imported, NoteKind::Ignored),
            ["`connect_port` in PING_CHECK: ICMP has no port; keepalived ignores it too"]
        );
        // UDP_CHECK's keywords mean nothing in a TCP_CHECK, to keepalived either.
        assert_eq!(notes_of(&imported, NoteKind::Dropped).len(), 1);
        let config = crate::config::load_str(&imported.ini, "imported.ini")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.ini));
        let rs = &config.virtual_servers[0].real_servers;
        let crate::config::CheckKind::Udp(spec) = &rs[0].checkers[0].kind else {
            panic!("{:?}", rs[0].checkers)
        };
        assert_eq!(spec.payload, [0, 1, 2]);
        assert_eq!(spec.reply, [0x60, 0x0a]);
        assert_eq!(spec.max_reply_len, 512);
        assert_eq!(rs[0].checkers[1].kind, crate::config::CheckKind::Ping);
        assert_eq!(rs[0].checkers[1].timing.retry, 2);
        let crate::config::CheckKind::Udp(spec) = &rs[1].checkers[0].kind else {
            panic!("{:?}", rs[1].checkers)
        };
        assert!(spec.require_reply && spec.reply.is_empty());
    }

    #[test]
    fn url_regex_kept_when_literal_dropped_otherwise() {
        let text = "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n\
 real_server 10.0.1.1 80 {\n  HTTP_GET {\n   url {\n    path /a\n    regex \"OK\\.\"\n    regex_no_match\n    regex_stack 1 2\n   }\n\
   url {\n    path /b\n    regex \"^up [0-9]+\"\n    regex_no_match\n    regex_min_offset 4\n   }\n  }\n }\n}\n";
        let imported = import(text, "keepalived.conf").unwrap();
        assert!(
            imported
                .ini
                .contains("url = path=/a regex=OK\\. regex_no_match\n"),
            "{}",
            imported.ini
        );
        assert!(imported.ini.contains("url = path=/b\n"), "{}", imported.ini);
        assert_eq!(
            notes_of(&imported, NoteKind::Dropped).len(),
            3,
            "{:?}",
            imported.notes
        );
        assert_eq!(notes_of(&imported, NoteKind::Ignored).len(), 1);
        let config = crate::config::load_str(&imported.ini, "imported.ini")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.ini));
        let crate::config::CheckKind::Http(h) =
            &config.virtual_servers[0].real_servers[0].checkers[0].kind
        else {
            panic!()
        };
        assert_eq!(h.urls[0].regex.as_slice(), b"OK.");
        assert!(h.urls[0].regex_no_match);
        assert!(h.urls[1].regex.is_empty());
    }

    #[test]
    fn dns_check_converts() {
        let text = "virtual_server 10.0.0.1 53 {\n lb_algo rr\n lb_kind DR\n protocol UDP\n\
 real_server 10.0.1.1 53 {\n  DNS_CHECK {\n   type A\n   name www.example.org\n   retry 2\n  }\n }\n}\n";
        let imported = import(text, "keepalived.conf").unwrap();
        assert!(imported.notes.is_empty(), "{:?}", imported.notes);
        let config = crate::config::load_str(&imported.ini, "imported.ini")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.ini));
        let ch = &config.virtual_servers[0].real_servers[0].checkers[0];
        let crate::config::CheckKind::Dns(d) = &ch.kind else {
            panic!("{ch:?}")
        };
        assert_eq!(
            (d.name.as_str(), d.qtype, ch.timing.retry),
            ("www.example.org", 1, 2)
        );
    }

    #[test]
    fn file_check_takes_its_track_file_s_path_and_weight() {
        let text = "track_file drain {\n file /run/drain.w\n weight -2 reverse\n init_file 0 overwrite\n}\n\
track_file other {\n file /run/other\n}\n\
virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n\
 real_server 10.0.1.1 80 {\n  weight 10\n  FILE_CHECK {\n   track_file drain\n  }\n }\n\
 real_server 10.0.1.2 80 {\n  FILE_CHECK {\n   track_file other\n   weight 0\n  }\n  FILE_CHECK { track_file nowhere }\n }\n}\n";
        let imported = import(text, "keepalived.conf").unwrap();
        let ini = &imported.ini;
        assert!(
            ini.contains(
                "[file_check vs1/10.0.1.1:80]\nfile = /run/drain.w\nweight = -2 reverse\n"
            ),
            "{ini}"
        );
        assert!(
            ini.contains("[file_check vs1/10.0.1.2:80]\nfile = /run/other\nweight = 0\n"),
            "{ini}"
        );
        let dropped = notes_of(&imported, NoteKind::Dropped);
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert!(dropped[0].contains("init_file"), "{dropped:?}");
        let ignored = notes_of(&imported, NoteKind::Ignored);
        assert!(
            ignored.iter().any(|n| n.contains("nowhere is not defined")),
            "{ignored:?}"
        );
        let config =
            crate::config::load_str(ini, "imported.ini").unwrap_or_else(|e| panic!("{e}\n{ini}"));
        let rs = &config.virtual_servers[0].real_servers;
        let crate::config::CheckKind::File(f) = &rs[0].checkers[0].kind else {
            panic!("{:?}", rs[0].checkers)
        };
        assert_eq!(
            (f.path.as_str(), f.weight, f.reverse),
            ("/run/drain.w", -2, true)
        );
        assert_eq!(rs[0].checkers[0].timing.retry, 0);
        assert_eq!(
            rs[0].checkers[0].timing.delay_loop,
            crate::limits::FILE_CHECK_POLL
        );
    }

    #[test]
    fn http_get_url_block_becomes_url_line() {
        let text = "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n\
 real_server 10.0.1.1 80 {\n  HTTP_GET {\n   url {\n    path /\n    digest 3740e2380a02b0ee94b02ba7016606e6\n\
    status_code 200\n   }\n  }\n }\n}\n";
        let imported = import(text, "k.conf").unwrap();
        assert!(
            imported
                .ini
                .contains("url = path=/ digest=3740e2380a02b0ee94b02ba7016606e6 status_code=200"),
            "{}",
            imported.ini
        );
        assert!(crate::config::load_str(&imported.ini, "i.ini").is_ok());
    }

    #[test]
    fn unbalanced_braces_name_the_line() {
        // The block left open is named by its `{` line.
        let err = import(
            "global_defs {\n}\nvrrp_instance VI_1 {\n state MASTER\n",
            "k.conf",
        )
        .unwrap_err();
        assert_eq!(err.line, 3);
        let err = import("}\n", "k.conf").unwrap_err();
        assert_eq!(err.line, 1);
    }

    fn notes_of(imported: &Imported, kind: NoteKind) -> Vec<&str> {
        imported
            .notes
            .iter()
            .filter(|n| n.kind == kind)
            .map(|n| n.message.as_str())
            .collect()
    }

    const INSTANCE_TAIL: &str =
        " interface eth0\n virtual_router_id 51\n priority 100\n advert_int 1\n\
 virtual_ipaddress {\n  10.0.0.1\n }\n}\n";

    #[test]
    fn bang_in_a_password_starts_a_comment_as_in_keepalived() {
        let text = format!(
            "vrrp_instance VI_1 {{\n state BACKUP\n authentication {{\n  auth_type PASS\n  auth_pass Test123!\n }}\n{INSTANCE_TAIL}"
        );
        let imported = import(&text, "k.conf").unwrap();
        assert!(
            imported.ini.contains("auth_pass = Test123\n"),
            "{}",
            imported.ini
        );
    }

    #[test]
    fn keyword_spelled_argument_stays_an_argument() {
        let text = format!(
            "vrrp_instance VI_1 {{\n state BACKUP\n notify_master \"/bin/notify.sh\" state\n{INSTANCE_TAIL}"
        );
        let imported = import(&text, "k.conf").unwrap();
        assert!(
            imported
                .ini
                .contains("notify_master = \"/bin/notify.sh\" state\n"),
            "{}",
            imported.ini
        );
        assert!(
            crate::config::load_str(&imported.ini, "i.ini").is_ok(),
            "{}",
            imported.ini
        );
    }

    #[test]
    fn lenient_cases_are_accepted_with_keepalived_warnings() {
        let text = format!(
            "global_defs {{\n router_id A\n}}\nglobal_defs {{\n script_user nobody nogroup\n}}\n\
vrrp_instance VI_1 {{\n state SLAVE\n authentication {{\n  auth_type PASS\n  auth_pass longerthan8\n }}\n\
 virtual_ipaddress {{\n  10.0.0.2\n  10.0.0.2/32\n }}\n{INSTANCE_TAIL}\
vrrp_instance VI_2 {{\n state MASTER\n nopreempt\n interface eth0\n virtual_router_id 52\n priority 100\n\
 virtual_ipaddress {{\n  10.0.0.3\n }}\n}}\n"
        );
        let imported = import(&text, "k.conf").unwrap();
        let changed = notes_of(&imported, NoteKind::Lenient);
        assert_eq!(changed.len(), 5, "{changed:?}");
        assert!(
            imported.ini.contains("auth_pass = longerth\n"),
            "{}",
            imported.ini
        );
        assert_eq!(
            imported.ini.matches("state = BACKUP").count(),
            2,
            "{}",
            imported.ini
        );
        assert_eq!(imported.ini.matches("[global]").count(), 1);
        assert_eq!(
            imported.ini.matches("virtual_ipaddress = 10.0.0.2").count(),
            1,
            "{}",
            imported.ini
        );
        // The group of script_user is a real loss in lvsd.
        assert_eq!(notes_of(&imported, NoteKind::Dropped).len(), 1);
        let config = crate::config::load_str(&imported.ini, "i.ini").unwrap();
        assert!(config.vrrp_instances[1].nopreempt);
        // `lvsd check` turns every note into a warning.
        assert_eq!(
            config.warnings.len(),
            imported.notes.len(),
            "{:?}",
            config.warnings
        );
    }

    #[test]
    fn harmless_and_unknown_keywords_are_ignored_not_dropped() {
        let text = "global_defs {\n notification_email { a@b }\n lvs_sync_daemon_inteface eth1\n\
 vrrp_garp_interval 0\n}\n";
        let imported = import(text, "k.conf").unwrap();
        assert_eq!(
            notes_of(&imported, NoteKind::Ignored).len(),
            3,
            "{:?}",
            imported.notes
        );
        assert!(notes_of(&imported, NoteKind::Dropped).is_empty());
        let text = "global_defs {\n vrrp_garp_interval 0.5\n}\n";
        let imported = import(text, "k.conf").unwrap();
        assert_eq!(
            notes_of(&imported, NoteKind::Dropped).len(),
            1,
            "{:?}",
            imported.notes
        );
    }

    #[test]
    fn keepalived_keyword_table_is_sorted() {
        assert!(KEEPALIVED_KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(KEEPALIVED_KEYWORDS.binary_search(&"vrrp_instance").is_ok());
    }

    #[test]
    fn track_files_resolve_to_paths() {
        let text = "vrrp_track_file tf {\n file /run/tf\n weight -5\n}\ntrack_file other {\n file /run/o\n init_file 0\n}\n\
vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1\n }\n\
 track_file {\n  tf\n  other weight 0\n  missing\n  tf weight 3 reverse\n }\n}\n\
vrrp_sync_group G {\n group {\n  VI_1\n }\n track_file {\n  other weight 0\n }\n}\n";
        let imported = import(text, "k.conf").unwrap();
        for line in [
            "[vrrp_instance VI_1]\ninterface = eth0\nvirtual_router_id = 51\nvirtual_ipaddress = 10.0.0.1\ntrack_file = /run/tf weight -5\ntrack_file = /run/o weight 0 init_file 0\n",
            "[vrrp_sync_group G]\ngroup = VI_1\ntrack_file = /run/o weight 0 init_file 0\n",
        ] {
            assert!(imported.ini.contains(line), "{line}\n{}", imported.ini);
        }
        let dropped = notes_of(&imported, NoteKind::Dropped);
        assert!(
            dropped.is_empty(),
            "reverse and init_file are taken: {dropped:?}"
        );
        let ignored = notes_of(&imported, NoteKind::Ignored);
        assert!(ignored.iter().any(|n| n.contains("track_file missing")));
        assert!(
            ignored
                .iter()
                .any(|n| n.contains("track_file tf listed twice")),
            "{ignored:?}"
        );
        let config = crate::config::load_str(&imported.ini, "i.ini").unwrap();
        let files = &config.vrrp_instances[0].track_files;
        // The group's file is added to its member too.
        assert_eq!(files.len(), 3);
        assert_eq!(
            files[1].init,
            Some(crate::config::TrackFileInit {
                value: 0,
                overwrite: false
            })
        );
    }

    #[test]
    fn track_processes_map_to_sections_and_lines() {
        let text = "vrrp_track_process web {\n process nginx\n weight 10 reverse\n quorum 2\n quorum_max 4\n delay 1.5\n}\n\
vrrp_track_process app {\n process /usr/bin/app --x\n param_match initial\n terminate_delay 2\n full_command\n}\n\
vrrp_track_process quoted {\n process /bin/x \"a b\"\n}\n\
vrrp_track_process nameless {\n weight 3\n}\n\
vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1\n }\n\
 track_process {\n  web\n  app weight -20 noreverse\n  later\n  web\n }\n}\n\
vrrp_track_process later {\n process later\n}\n\
vrrp_sync_group G {\n group {\n  VI_1\n }\n track_process {\n  later weight 5\n }\n}\n";
        let imported = import(text, "k.conf").unwrap();
        let ini = &imported.ini;
        for want in [
            "[vrrp_track_process web]\nprocess = nginx\nweight = 10 reverse\nquorum = 2\nquorum_max = 4\ndelay = 1.5\n",
            "[vrrp_track_process app]\nprocess = /usr/bin/app --x\nparam_match = initial\nterminate_delay = 2\nfull_command = yes\n",
            "track_process = web\ntrack_process = app weight -20 noreverse\n",
            "[vrrp_sync_group G]\ngroup = VI_1\ntrack_process = later weight 5\n",
        ] {
            assert!(ini.contains(want), "{want}\n{ini}");
        }
        let dropped = notes_of(&imported, NoteKind::Dropped);
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert!(dropped[0].contains("quoted"), "{dropped:?}");
        let ignored = notes_of(&imported, NoteKind::Ignored);
        for want in [
            "nameless has no `process`",
            "track_process later: no vrrp_track_process",
            "web listed twice",
        ] {
            assert!(
                ignored.iter().any(|n| n.contains(want)),
                "{want}: {ignored:?}"
            );
        }
        let config = crate::config::load_str(ini, "i.ini").unwrap_or_else(|e| panic!("{e}\n{ini}"));
        let tracks = &config.vrrp_instances[0].track_processes;
        assert_eq!(tracks.len(), 3, "web, app and the group's later");
        assert_eq!((tracks[0].weight, tracks[0].reverse), (10, true));
        assert_eq!((tracks[1].weight, tracks[1].reverse), (-20, false));
        let web = &config.vrrp_track_processes[0];
        assert_eq!((web.quorum, web.quorum_max), (2, 4));
        assert_eq!(web.fork_delay, std::time::Duration::from_millis(1500));
        let app = &config.vrrp_track_processes[1];
        assert!(app.full_command);
        assert_eq!(app.param_match, crate::config::ParamMatch::Initial);
    }

    #[test]
    fn use_vmac_carries_over() {
        let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n use_vmac\n vmac_xmit_base\n\
 virtual_ipaddress {\n  10.0.0.1\n }\n virtual_ipaddress_excluded {\n  10.0.0.2\n }\n}\n\
vrrp_instance B {\n interface eth1\n virtual_router_id 52\n use_vmac gw 02:00:00:00:00:01\n\
 virtual_ipaddress {\n  10.0.1.1\n }\n}\n\
vrrp_instance C {\n interface eth1\n virtual_router_id 53\n vmac_xmit_base\n\
 virtual_ipaddress {\n  10.0.1.3\n }\n}\n";
        let imported = import(text, "k.conf").unwrap();
        for line in [
            "virtual_router_id = 51\nuse_vmac\nvmac_xmit_base\n",
            "virtual_router_id = 52\nuse_vmac = gw\n",
        ] {
            assert!(imported.ini.contains(line), "{line}\n{}", imported.ini);
        }
        let dropped = notes_of(&imported, NoteKind::Dropped);
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert!(dropped[0].contains("02:00:00:00:00:01"), "{dropped:?}");
        let lenient = notes_of(&imported, NoteKind::Lenient);
        assert!(
            lenient
                .iter()
                .any(|n| n.contains("vmac_xmit_base without use_vmac")),
            "{lenient:?}"
        );
        let config = crate::config::load_str(&imported.ini, "i.ini").unwrap();
        let v = &config.vrrp_instances;
        assert_eq!(
            (v[0].use_vmac.clone(), v[0].vmac_xmit_base),
            (Some(None), true)
        );
        assert_eq!(v[1].use_vmac.clone().unwrap().unwrap(), "gw");
        assert_eq!((v[2].use_vmac.clone(), v[2].vmac_xmit_base), (None, false));
    }

    #[test]
    fn vip_options_carry_over() {
        let text = "vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority 100\n\
 virtual_ipaddress {\n  10.0.0.1/24 brd 10.0.0.255 dev eth0 scope link label eth0:1 no_track\n\
  10.0.0.3 peer 10.0.0.4\n  10.0.0.5 preferred_lft 0\n }\n virtual_ipaddress_excluded {\n  10.0.0.9/24 broadcast -\n\
  2001:db8::1 preferred_lft forever label x\n  2001:db8::2 brd +\n }\n}\n";
        let imported = import(text, "k.conf").unwrap();
        for line in [
            "virtual_ipaddress = 10.0.0.1/24 brd 10.0.0.255 dev eth0 scope link label eth0:1 no_track\n",
            "virtual_ipaddress_excluded = 2001:db8::1 preferred_lft forever\n",
            "virtual_ipaddress = 10.0.0.3\n",
            "virtual_ipaddress = 10.0.0.5\n",
            "virtual_ipaddress_excluded = 10.0.0.9/24 broadcast -\n",
        ] {
            assert!(imported.ini.contains(line), "{line}{}", imported.ini);
        }
        assert!(!imported.ini.contains("= 2001:db8::2"), "{}", imported.ini);
        let dropped = notes_of(&imported, NoteKind::Dropped);
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert!(dropped[0].contains("peer 10.0.0.4"));
        let ignored = notes_of(&imported, NoteKind::Ignored);
        assert!(
            ignored
                .iter()
                .any(|n| n.contains("label x` is ignored on IPv6")),
            "{ignored:?}"
        );
        assert!(
            ignored.iter().any(|n| n.contains("address is skipped")),
            "{ignored:?}"
        );
        let config = crate::config::load_str(&imported.ini, "i.ini").unwrap();
        let i = &config.vrrp_instances[0];
        assert_eq!(i.virtual_ipaddresses_excluded.len(), 2);
        assert_eq!(i.virtual_ipaddresses[0].scope, 253);
    }

    #[test]
    fn garp_keys_convert_at_their_keepalived_level() {
        let text = format!(
            "global_defs {{\n garp_master_delay 3\n vrrp_garp_master_delay 4\n}}\n\
vrrp_instance VI_1 {{\n state BACKUP\n garp_master_delay 10\n garp_master_refresh 14400\n\
 garp_master_refresh_repeat 2\n{INSTANCE_TAIL}"
        );
        let imported = import(&text, "k.conf").unwrap();
        assert!(
            notes_of(&imported, NoteKind::Dropped).is_empty(),
            "{:?}",
            imported.notes
        );
        let ignored = notes_of(&imported, NoteKind::Ignored);
        assert_eq!(ignored.len(), 1, "{ignored:?}");
        assert!(ignored[0].contains("garp_master_delay` inside global_defs"));
        let config = crate::config::load_str(&imported.ini, "i.ini").unwrap();
        assert_eq!(
            config.global.vrrp_garp_master_delay,
            std::time::Duration::from_secs(4)
        );
        let vi = &config.vrrp_instances[0];
        assert_eq!(vi.garp_master_delay, std::time::Duration::from_secs(10));
        assert_eq!(
            vi.garp_master_refresh,
            Some(std::time::Duration::from_secs(14400))
        );
        assert_eq!(vi.garp_master_refresh_repeat, 2);
    }

    #[test]
    fn vrrp_strict_converts_as_keepalived_applies_it() {
        let text = "global_defs {\n vrrp_strict\n}\n\
vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n priority 100\n\
 preempt_delay 5\n down_timer_adverts 5\n authentication {\n  auth_type PASS\n  auth_pass 1111\n }\n\
 virtual_ipaddress {\n  10.0.0.1\n }\n}\n\
vrrp_instance VI_2 {\n state BACKUP\n interface eth0\n virtual_router_id 52\n priority 255\n\
 virtual_ipaddress {\n  10.0.0.2\n }\n}\n\
vrrp_instance VI_3 {\n strict_mode off\n interface eth0\n virtual_router_id 53\n\
 authentication {\n  auth_type PASS\n  auth_pass 1111\n }\n virtual_ipaddress {\n  10.0.0.3\n }\n}\n";
        let imported = import(text, "k.conf").unwrap();
        // VI_1: auth, preempt_delay, down_timer_adverts and the state change;
        // VI_2 (owner): its state becomes MASTER.
        let changed = notes_of(&imported, NoteKind::Lenient);
        assert_eq!(changed.len(), 5, "{changed:?}");
        // Only the non-owner's VIP traffic drop is lost.
        let dropped = notes_of(&imported, NoteKind::Dropped);
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert!(dropped[0].contains("drops all traffic"));
        let config = crate::config::load_str(&imported.ini, "i.ini").unwrap();
        assert!(config.global.vrrp_strict);
        let [a, b, c] = &config.vrrp_instances[..] else {
            panic!("{}", imported.ini)
        };
        assert!(a.strict_mode && b.strict_mode && !c.strict_mode);
        assert!(a.authentication.is_none() && c.authentication.is_some());
        assert_eq!(a.preempt_delay, std::time::Duration::ZERO);
        assert_eq!(a.down_timer_adverts, 3);
        assert_eq!(a.state, crate::config::VrrpState::Backup);
        assert_eq!(b.state, crate::config::VrrpState::Master);
        // `lvsd check`: every note, plus the loader's own strict-mode warning
        // for the non-owner.
        assert_eq!(
            config.warnings.len(),
            imported.notes.len() + 1,
            "{:?}",
            config.warnings
        );
        assert!(config
            .warnings
            .iter()
            .any(|w| w.message.contains("lvsd does not")));
    }

    #[test]
    fn lvs_keys_convert_with_keepalived_meanings() {
        let text = "global_defs {\n lvs_sync_daemon eth1 VI_1 id 5 maxlen 1400 port 8849 ttl 2 group 224.0.0.90\n\
 lvs_timeouts tcp 7200 tcpfin 30 udp 60\n lvs_flush\n lvs_flush_onstop VS\n}\n\
vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress { 10.0.0.1 }\n}\n\
virtual_server 10.0.0.1 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n persistence_timeout 50\n\
 sorry_server_inhibit\n sorry_server 10.0.2.1 80\n sorry_server_lvs_method NAT\n sorry_server_inhibit\n\
 real_server 10.0.1.1 {\n  lvs_method TUN type gue port 6080\n  TCP_CHECK { connect_port 80 }\n }\n\
 real_server 10.0.1.2 {\n  MISC_CHECK {}\n  SSL_GET {}\n }\n}\n";
        let imported = import(text, "keepalived.conf").unwrap();
        assert_eq!(notes_of(&imported, NoteKind::Dropped), Vec::<&str>::new());
        assert_eq!(
            notes_of(&imported, NoteKind::Ignored),
            [
                "`sorry_server_inhibit` before or without `sorry_server`: keepalived ignores it",
                "MISC_CHECK has no `misc_path`: keepalived skips this checker",
                "SSL_GET has no `url`: keepalived skips this checker",
            ]
        );
        let c = crate::config::load_str(&imported.ini, "imported.ini")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.ini));
        let d = c.global.lvs_sync_daemon.as_ref().unwrap();
        assert_eq!(
            (d.instance.as_deref(), d.sync_id, d.max_len, d.port, d.ttl),
            (Some("VI_1"), 5, Some(1400), Some(8849), Some(2))
        );
        assert_eq!(d.group, Some("224.0.0.90".parse().unwrap()));
        let t = c.global.lvs_timeouts.unwrap();
        assert_eq!((t.tcp, t.tcp_fin, t.udp), (7200, 30, 60));
        assert!(c.global.lvs_flush);
        assert_eq!(
            c.global.lvs_flush_on_stop,
            crate::config::FlushOnStop::VirtualServers
        );
        let vs = &c.virtual_servers[0];
        assert_eq!(
            vs.service,
            crate::config::Service::Address("10.0.0.1:0".parse().unwrap()),
            "no port: keepalived's port 0"
        );
        assert!(vs.sorry_server_inhibit);
        assert_eq!(vs.sorry_server_forward, crate::config::ForwardMethod::Nat);
        use crate::config::{ForwardMethod, TunnelType};
        assert_eq!(
            vs.real_servers[0].forward,
            ForwardMethod::Tun(TunnelType::Gue { port: 6080 })
        );
        assert_eq!(vs.real_servers[1].forward, ForwardMethod::Dr, "the VS's");
        assert!(vs.real_servers[1].checkers.is_empty());
    }

    #[test]
    fn smtp_host_blocks_become_checkers_as_in_keepalived() {
        let text = "virtual_server 10.0.0.1 25 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
 real_server 10.0.1.1 25 {\n  SMTP_CHECK {\n   retry 2\n   helo_name foo.bar.com\n\
   host {\n    connect_ip 10.0.1.1\n   }\n   host {\n    connect_ip 10.0.9.9\n    connect_port 587\n\
    bindto 10.0.0.2\n    connect_timeout 7\n    delay_before_retry 4\n   }\n  }\n }\n\
 real_server 10.0.1.2 25 {\n  connect_timeout 3\n  SMTP_CHECK {\n   connect_timeout 10\n   host { connect_ip 10.0.8.8 }\n  }\n }\n}\n";
        let imported = import(text, "keepalived.conf").unwrap();
        assert_eq!(notes_of(&imported, NoteKind::Dropped), Vec::<&str>::new());
        let c = crate::config::load_str(&imported.ini, "imported.ini")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.ini));
        let probes = |r: usize| -> Vec<(String, u16, Option<std::net::IpAddr>, u64, u32, u64)> {
            c.virtual_servers[0].real_servers[r]
                .checkers
                .iter()
                .map(|k| {
                    assert!(matches!(&k.kind, crate::config::CheckKind::Smtp { helo_name } if helo_name.as_str() != "x"));
                    (
                        k.connect_ip.to_string(),
                        k.connect_port,
                        k.bindto,
                        k.timing.connect_timeout.as_secs(),
                        k.timing.retry,
                        k.timing.delay_before_retry.as_secs(),
                    )
                })
                .collect()
        };
        // No connection option of its own: only the hosts probe; a host's
        // delay_before_retry sets the checker's (all hosts share it).
        assert_eq!(
            probes(0),
            [
                ("10.0.1.1".into(), 25, None, 5, 2, 4),
                (
                    "10.0.9.9".into(),
                    587,
                    Some("10.0.0.2".parse().unwrap()),
                    7,
                    2,
                    4
                ),
            ]
        );
        // connect_timeout makes the checker probe too; the host's timeout
        // is the real server's, not the checker's.
        assert_eq!(
            probes(1),
            [
                ("10.0.1.2".into(), 25, None, 10, 1, 1),
                ("10.0.8.8".into(), 25, None, 3, 1, 1),
            ]
        );
    }
}
