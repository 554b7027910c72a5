//! The LVS side: `virtual_server` (named `vs1`, `vs2`, ... in file order),
//! its `real_server` blocks and `virtual_server_group`.

use std::fmt::Write;

use super::tree::Node;
use super::writer::{line_words, refused_by_keepalived, Writer};
use super::{ImportError, NoteKind, REAL_SERVER, VIRTUAL_SERVER};

/// `IP PORT` -> `IP:PORT` (`[IP]:PORT` for IPv6), `IP` alone unchanged.
fn host_port(args: &[String]) -> String {
    match args {
        [ip, port] if ip.contains(':') => format!("[{ip}]:{port}"),
        [ip, port] => format!("{ip}:{port}"),
        _ => args.join(" "),
    }
}

impl Writer<'_> {
    /// `virtual_server IP PORT { ... }` (or `fwmark N`, `group NAME`) ->
    /// `[virtual_server vsN]` and a `[real_server vsN/IP:PORT]` per real server.
    pub(super) fn virtual_server(&mut self, node: &Node) -> Result<(), ImportError> {
        self.virtual_servers += 1;
        let name = format!("vs{}", self.virtual_servers);
        let _ = writeln!(
            self.ini,
            "\n# keepalived line {}: virtual_server {}",
            node.at.1,
            node.args.join(" ")
        );
        let _ = writeln!(self.ini, "[virtual_server {name}]");
        self.service(node)?;
        let real_servers = self.virtual_server_keys(node);
        for rs in real_servers {
            self.real_server(&name, rs);
        }
        Ok(())
    }

    /// The service a virtual_server's arguments name.
    fn service(&mut self, node: &Node) -> Result<(), ImportError> {
        match node.args.as_slice() {
            [mark_kw, mark] if mark_kw == "fwmark" => {
                let _ = writeln!(self.ini, "fwmark = {mark}");
            }
            [group_kw, group] if group_kw == "group" => {
                let _ = writeln!(self.ini, "group = {group}");
            }
            [ip, port] => {
                let _ = writeln!(self.ini, "address = {ip}\nport = {port}");
            }
            // keepalived 2.0.7 and later (alloc_vs): no port is port 0, the
            // "all ports" service (the kernel schedules it only when persistent).
            [ip] if ip.parse::<std::net::IpAddr>().is_ok() => {
                let _ = writeln!(self.ini, "address = {ip}\nport = 0");
            }
            _ => {
                return Err(ImportError {
                    origin: self.origins.get(node.at.0).cloned().unwrap_or_default(),
                    line: node.at.1,
                    message: "virtual_server needs `IP PORT`, `fwmark N` or `group NAME`".into(),
                })
            }
        }
        Ok(())
    }

    /// A virtual_server's own keywords; its `real_server` blocks are returned
    /// for after them.
    fn virtual_server_keys<'n>(&mut self, node: &'n Node) -> Vec<&'n Node> {
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
                self.note(
                    item.at,
                    NoteKind::Ignored,
                    format!(
                        "`{}` before or without `sorry_server`: keepalived ignores it",
                        item.keyword
                    ),
                );
            } else if refused_by_keepalived(item) {
                self.drop_node(item, "");
            } else if VIRTUAL_SERVER.contains(&item.keyword.as_str()) {
                sorry_server_seen |= item.keyword == "sorry_server";
                self.key(&item.keyword, item);
            } else {
                self.drop_node(item, "is not supported by lvsd");
            }
        }
        real_servers
    }

    /// `real_server IP PORT { ... }` of virtual server `vs`, then its checkers.
    fn real_server(&mut self, vs: &str, rs: &Node) {
        let target = format!("{vs}/{}", host_port(&rs.args));
        let _ = writeln!(self.ini, "\n[real_server {target}]");
        let mut checkers = Vec::new();
        for item in rs.block.iter().flatten() {
            match item.keyword.as_str() {
                k if super::checkers::is_checker(k) => checkers.push(item),
                k if REAL_SERVER.contains(&k) => self.key(k, item),
                _ => self.drop_node(item, "is not supported by lvsd"),
            }
        }
        for check in checkers {
            self.checker(check, &target);
        }
    }

    /// `virtual_server_group NAME { ... }`: one `member =` line per item.
    pub(super) fn virtual_server_group(&mut self, node: &Node) {
        let _ = writeln!(self.ini, "\n[virtual_server_group {}]", node.args.join(" "));
        for member in node.block.iter().flatten() {
            let _ = writeln!(self.ini, "member = {}", line_words(member).join(" "));
        }
    }
}
