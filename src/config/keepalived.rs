//! keepalived.conf -> lvsd INI text, so `lvsd import` can migrate a director.
//!
//! The import only rewrites syntax: the INI it produces goes through [`super::load_str`]
//! like any other file, so every value is checked there. Keywords lvsd does not
//! support (mail alerts, `include`, ...) are dropped with a note naming their line.

use std::fmt::{self, Write};

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
    /// 1-based line in keepalived.conf.
    pub line: usize,
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
    line: usize,
}

/// One keepalived statement: keyword, arguments and an optional block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    keyword: String,
    args: Vec<String>,
    line: usize,
    block: Option<Vec<Node>>,
}

/// Blocks whose lines are list items rather than keywords.
const LIST_BLOCKS: &[&str] = &[
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "unicast_peer",
    "track_interface",
    "track_script",
    "track_file",
    "group",
    "virtual_routes",
    "virtual_rules",
    "notification_email",
];

/// Keywords that start a new statement even on the same line (`TCP_CHECK { retry 3 connect_port 80 }`).
const KEYWORDS: &[&str] = &[
    "router_id",
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
    "preempt_delay",
    "down_timer_adverts",
    "mcast_src_ip",
    "unicast_src_ip",
    "unicast_peer",
    "track_interface",
    "track_script",
    "track_file",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
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

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut chars = line.char_indices().peekable();
        let mut current = String::new();
        let flush = |current: &mut String, tokens: &mut Vec<Token>| {
            if !current.is_empty() {
                tokens.push(Token {
                    text: std::mem::take(current),
                    line: index + 1,
                });
            }
        };
        while let Some((_, c)) = chars.next() {
            match c {
                '#' | '!' if current.is_empty() => break,
                '"' => {
                    // A quoted string is one token, quotes kept so commands stay whole.
                    current.push('"');
                    for (_, q) in chars.by_ref() {
                        current.push(q);
                        if q == '"' {
                            break;
                        }
                    }
                }
                '{' | '}' => {
                    flush(&mut current, &mut tokens);
                    tokens.push(Token {
                        text: c.to_string(),
                        line: index + 1,
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

fn parse_block(
    tokens: &[Token],
    position: &mut usize,
    list: bool,
    origin: &str,
    depth: usize,
) -> Result<Vec<Node>, ImportError> {
    let mut nodes: Vec<Node> = Vec::new();
    while let Some(token) = tokens.get(*position) {
        match token.text.as_str() {
            "}" => {
                if depth == 0 {
                    return Err(ImportError {
                        origin: origin.to_string(),
                        line: token.line,
                        message: "`}` without a matching `{`".into(),
                    });
                }
                *position += 1;
                return Ok(nodes);
            }
            "{" => {
                let Some(node) = nodes.last_mut().filter(|n| n.block.is_none()) else {
                    return Err(ImportError {
                        origin: origin.to_string(),
                        line: token.line,
                        message: "`{` without a keyword".into(),
                    });
                };
                *position += 1;
                let inner_list = LIST_BLOCKS.contains(&node.keyword.as_str());
                node.block = Some(parse_block(
                    tokens,
                    position,
                    inner_list,
                    origin,
                    depth + 1,
                )?);
            }
            text => {
                let continues = nodes.last().is_some_and(|n| {
                    n.block.is_none() && n.line == token.line && (list || !KEYWORDS.contains(&text))
                });
                match nodes.last_mut() {
                    Some(node) if continues => node.args.push(text.to_string()),
                    _ => nodes.push(Node {
                        keyword: text.to_string(),
                        args: Vec::new(),
                        line: token.line,
                        block: None,
                    }),
                }
                *position += 1;
            }
        }
    }
    if depth > 0 {
        return Err(ImportError {
            origin: origin.to_string(),
            line: tokens.last().map_or(0, |t| t.line),
            message: "file ends inside a `{ }` block (truncated?)".into(),
        });
    }
    Ok(nodes)
}

struct Writer {
    ini: String,
    notes: Vec<ImportNote>,
    virtual_servers: usize,
}

impl Writer {
    fn drop_node(&mut self, node: &Node, why: &str) {
        self.notes.push(ImportNote {
            line: node.line,
            message: format!("`{}` {why}, dropped", node.keyword),
        });
        let _ = writeln!(
            self.ini,
            "# keepalived line {}: {} (dropped: {why})",
            node.line, node.keyword
        );
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
        for item in node.block.iter().flatten() {
            let mut words = vec![item.keyword.clone()];
            words.extend(item.args.iter().cloned());
            let _ = writeln!(self.ini, "{key} = {}", words.join(" "));
        }
        if node.block.is_none() && !node.args.is_empty() {
            self.key(key, node);
        }
    }

    fn simple(&mut self, node: &Node, allowed: &[&str], lists: &[&str]) {
        for item in node.block.iter().flatten() {
            if lists.contains(&item.keyword.as_str()) {
                self.list(&item.keyword, item);
            } else if item.keyword == "authentication" {
                for auth in item.block.iter().flatten() {
                    self.key(&auth.keyword, auth);
                }
            } else if allowed.contains(&item.keyword.as_str()) {
                self.key(&item.keyword, item);
            } else {
                self.drop_node(item, "is not supported by lvsd");
            }
        }
    }
}

const GLOBAL: &[&str] = &[
    "router_id",
    "script_user",
    "enable_script_security",
    "notify_fifo",
    "lvs_sync_daemon",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
];
const INSTANCE: &[&str] = &[
    "state",
    "interface",
    "lvs_sync_daemon_interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "vrrp_version",
    "nopreempt",
    "preempt_delay",
    "down_timer_adverts",
    "mcast_src_ip",
    "unicast_src_ip",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "native_ipv6",
];
const SYNC_GROUP: &[&str] = &[
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
];
const SCRIPT: &[&str] = &[
    "script", "interval", "timeout", "weight", "rise", "fall", "user",
];
const VIRTUAL_SERVER: &[&str] = &[
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
    "connect_timeout",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "tun_type",
    "ip_family",
];
const REAL_SERVER: &[&str] = &[
    "weight",
    "inhibit_on_failure",
    "uthreshold",
    "lthreshold",
    "notify_up",
    "notify_down",
    "delay_loop",
    "connect_timeout",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
];
const CHECKER: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "connect_timeout",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "virtualhost",
    "http_protocol",
    "helo_name",
    "misc_path",
    "misc_timeout",
    "misc_dynamic",
    "user",
];

/// Convert keepalived.conf text to lvsd INI text; `origin` names the file in errors.
pub fn import(text: &str, origin: &str) -> Result<Imported, ImportError> {
    let tokens = tokenize(text);
    let mut position = 0;
    let nodes = parse_block(&tokens, &mut position, false, origin, 0)?;
    let mut w = Writer {
        ini: format!("# Imported from {origin} by lvsd; check it with `lvsd check`.\n"),
        notes: Vec::new(),
        virtual_servers: 0,
    };
    for node in &nodes {
        let name = node.args.join(" ");
        match node.keyword.as_str() {
            "global_defs" => {
                let _ = writeln!(w.ini, "\n[global]");
                w.simple(node, GLOBAL, &[]);
            }
            "vrrp_instance" => {
                let _ = writeln!(w.ini, "\n[vrrp_instance {name}]");
                w.simple(
                    node,
                    INSTANCE,
                    &[
                        "virtual_ipaddress",
                        "unicast_peer",
                        "track_interface",
                        "track_script",
                    ],
                );
            }
            "vrrp_sync_group" => {
                let _ = writeln!(w.ini, "\n[vrrp_sync_group {name}]");
                w.simple(node, SYNC_GROUP, &["group"]);
            }
            "vrrp_script" => {
                let _ = writeln!(w.ini, "\n[vrrp_script {name}]");
                w.simple(node, SCRIPT, &[]);
            }
            "virtual_server" => virtual_server(&mut w, node, origin)?,
            _ => w.drop_node(node, "is not supported by lvsd"),
        }
    }
    Ok(Imported {
        ini: w.ini,
        notes: w.notes,
    })
}

/// `IP PORT` -> `IP:PORT` (`[IP]:PORT` for IPv6), `IP` alone unchanged.
fn host_port(args: &[String]) -> String {
    match args {
        [ip, port] if ip.contains(':') => format!("[{ip}]:{port}"),
        [ip, port] => format!("{ip}:{port}"),
        _ => args.join(" "),
    }
}

fn virtual_server(w: &mut Writer, node: &Node, origin: &str) -> Result<(), ImportError> {
    w.virtual_servers += 1;
    let name = format!("vs{}", w.virtual_servers);
    let _ = writeln!(
        w.ini,
        "\n# keepalived line {}: virtual_server {}",
        node.line,
        node.args.join(" ")
    );
    let _ = writeln!(w.ini, "[virtual_server {name}]");
    match node.args.as_slice() {
        [mark_kw, mark] if mark_kw == "fwmark" => {
            let _ = writeln!(w.ini, "fwmark = {mark}");
        }
        [ip, port] => {
            let _ = writeln!(w.ini, "address = {ip}\nport = {port}");
        }
        _ => {
            return Err(ImportError {
                origin: origin.to_string(),
                line: node.line,
                message: "virtual_server needs `IP PORT` or `fwmark N` (virtual_server_group is not supported)".into(),
            })
        }
    }
    let mut real_servers = Vec::new();
    for item in node.block.iter().flatten() {
        if item.keyword == "real_server" {
            real_servers.push(item);
        } else if VIRTUAL_SERVER.contains(&item.keyword.as_str()) {
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
                "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "SMTP_CHECK" | "MISC_CHECK" => {
                    checkers.push(item)
                }
                k if REAL_SERVER.contains(&k) => w.key(k, item),
                _ => w.drop_node(item, "is not supported by lvsd"),
            }
        }
        for check in checkers {
            let _ = writeln!(w.ini, "\n[{} {target}]", check.keyword.to_ascii_lowercase());
            for item in check.block.iter().flatten() {
                match item.keyword.as_str() {
                    "url" => {
                        let mut parts = Vec::new();
                        for field in item.block.iter().flatten() {
                            parts.push(format!("{}={}", field.keyword, field.args.join(",")));
                        }
                        let _ = writeln!(w.ini, "url = {}", parts.join(" "));
                    }
                    k if CHECKER.contains(&k) => w.key(k, item),
                    _ => w.drop_node(item, "is not supported by lvsd"),
                }
            }
        }
    }
    Ok(())
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
        let err = import("vrrp_instance VI_1 {\n state MASTER\n", "k.conf").unwrap_err();
        assert_eq!(err.line, 2);
        let err = import("}\n", "k.conf").unwrap_err();
        assert_eq!(err.line, 1);
    }
}
