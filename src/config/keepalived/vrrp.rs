//! The VRRP side: `vrrp_instance` (with keepalived's lenient and strict
//! readings of it), `vrrp_sync_group` and `vrrp_script`.

use std::fmt::Write;

use super::tree::Node;
use super::writer::{last_wins, Writer};
use super::{NoteKind, INSTANCE, SCRIPT, SYNC_GROUP};

/// A vrrp_instance's list blocks: one INI line per item, and each may be
/// given more than once.
const INSTANCE_LISTS: &[&str] = &[
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "unicast_peer",
    "track_interface",
    "track_script",
];

/// The `vrrp_script` blocks without a `script`: keepalived disables them.
pub(super) fn scriptless(nodes: &[Node]) -> Vec<String> {
    nodes
        .iter()
        .filter(|n| n.keyword == "vrrp_script")
        .filter(|n| !n.block.iter().flatten().any(|k| k.keyword == "script"))
        .map(|n| n.args.join(" "))
        .collect()
}

impl Writer<'_> {
    /// keepalived disables a vrrp_script without a `script` and ignores every
    /// track_script naming it; lvsd's reader would refuse both. The
    /// instances' `track_script` lines naming one are left out here.
    pub(super) fn drop_scriptless_tracks(
        &mut self,
        nodes: Vec<Node>,
        scriptless: &[String],
    ) -> Vec<Node> {
        let mut nodes = nodes;
        for n in nodes.iter_mut().filter(|n| n.keyword == "vrrp_instance") {
            for track in n
                .block
                .iter_mut()
                .flatten()
                .filter(|k| k.keyword == "track_script")
            {
                if let Some(items) = track.block.as_mut() {
                    items.retain(|item| {
                        let gone = scriptless.contains(&item.keyword);
                        if gone {
                            self.note(
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
        nodes
    }

    /// `vrrp_instance NAME { ... }` -> `[vrrp_instance NAME]`.
    pub(super) fn vrrp_instance(&mut self, node: &Node) {
        let _ = writeln!(self.ini, "\n[vrrp_instance {}]", node.args.join(" "));
        let mut node = node.clone();
        node.block = node
            .block
            .take()
            .map(|b| last_wins(self, b, INSTANCE_LISTS));
        self.instance(&node);
    }

    /// `vrrp_sync_group NAME { group { ... } ... }` -> `[vrrp_sync_group NAME]`;
    /// keepalived removes a group without `group { }`.
    pub(super) fn sync_group(&mut self, node: &Node) {
        let name = node.args.join(" ");
        if !node.block.iter().flatten().any(|n| n.keyword == "group") {
            return self.note(
                node.at,
                NoteKind::Ignored,
                format!(
                    "vrrp_sync_group {name} has no `group {{ }}`: keepalived removes such a group"
                ),
            );
        }
        let _ = writeln!(self.ini, "\n[vrrp_sync_group {name}]");
        self.simple(node, SYNC_GROUP, &["group"]);
    }

    /// `vrrp_script NAME { ... }` -> `[vrrp_script NAME]`; keepalived
    /// disables one without a `script` (`scriptless`).
    pub(super) fn vrrp_script(&mut self, node: &Node, scriptless: &[String]) {
        let name = node.args.join(" ");
        if scriptless.contains(&name) {
            return self.note(
                node.at,
                NoteKind::Ignored,
                format!("vrrp_script {name} has no `script`: keepalived disables it"),
            );
        }
        let _ = writeln!(self.ini, "\n[vrrp_script {name}]");
        let mut node = node.clone();
        node.block = node.block.take().map(|b| last_wins(self, b, &[]));
        self.simple(&node, SCRIPT, &[]);
    }

    /// `auth_pass` over 8 bytes is cut to 8 with a warning, as keepalived 2.2.7 does.
    pub(super) fn auth(&mut self, auth: &Node) {
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
        self.simple(&rest, INSTANCE, INSTANCE_LISTS);
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
