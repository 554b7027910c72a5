//! `global_defs` -> `[global]`, with the top-level static address, route and
//! rule blocks that lvsd keeps there too.

use std::fmt::Write;

use super::addresses::STATIC_BLOCKS;
use super::tree::Node;
use super::writer::{last_wins, Writer};
use super::{NoteKind, GLOBAL, INSTANCE_ONLY_GARP};

impl Writer<'_> {
    /// `[global]`: every `global_defs` block merged into one, as keepalived
    /// merges them, then the `static_*` blocks.
    pub(super) fn global_section(&mut self, nodes: &[Node]) {
        let defs: Vec<&Node> = nodes
            .iter()
            .filter(|n| n.keyword == "global_defs")
            .collect();
        let statics: Vec<&Node> = nodes
            .iter()
            .filter(|n| STATIC_BLOCKS.contains(&n.keyword.as_str()))
            .collect();
        if !defs.is_empty() || !statics.is_empty() {
            let _ = writeln!(self.ini, "\n[global]");
        }
        if let Some(second) = defs.get(1) {
            self.note(
                second.at,
                NoteKind::Lenient,
                format!(
                    "{} global_defs blocks: merged into one, as keepalived does",
                    defs.len()
                ),
            );
        }
        if !defs.is_empty() {
            let merged = defs
                .iter()
                .flat_map(|n| n.block.iter().flatten().cloned())
                .collect();
            let merged = last_wins(self, merged, &[]);
            self.global(merged);
        }
        for node in statics {
            self.routing_list(&node.keyword, node);
        }
    }

    /// The merged `global_defs` keywords, with `script_user USER GROUP` split
    /// into lvsd's two keys.
    fn global(&mut self, mut block: Vec<Node>) {
        for item in block.iter_mut().filter(|n| n.keyword == "script_user") {
            if item.args.len() == 2 {
                let group = item.args.pop().unwrap_or_default();
                self.note(
                    item.at,
                    NoteKind::Dropped,
                    format!(
                        "script_user group `{group}`: lvsd runs scripts with the user's own group"
                    ),
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
        let merged = Node {
            keyword: "global_defs".into(),
            args: Vec::new(),
            at: (0, 0),
            block: Some(block),
        };
        self.simple(&merged, GLOBAL, &[]);
    }
}
