//! keepalived.conf's statement tree: the read lines cut into words, and the
//! words into keyword, arguments and `{ }` block, as keepalived's parser
//! groups them.

use super::text::Text;
use super::ImportError;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    /// (origin index, 1-based line)
    at: (usize, usize),
}

/// One keepalived statement: keyword, arguments and an optional block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Node {
    pub(super) keyword: String,
    pub(super) args: Vec<String>,
    /// (origin index, 1-based line)
    pub(super) at: (usize, usize),
    pub(super) block: Option<Vec<Node>>,
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
fn tokenize(text: &Text) -> Vec<Token> {
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

/// The statements of the read lines, top level first.
pub(super) fn parse(read: &Text) -> Result<Vec<Node>, ImportError> {
    let tokens = tokenize(read);
    let mut parser = Parser {
        tokens: &tokens,
        position: 0,
        origins: &read.origins,
    };
    parser.block(false, None)
}
