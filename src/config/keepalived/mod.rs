//! keepalived.conf -> lvsd INI text, so `lvsd import` can migrate a director.
//!
//! The import only rewrites syntax: the INI it produces goes through [`super::load_str`]
//! like any other file, so every value is checked there. Keywords lvsd does not
//! support (mail alerts, `include`, ...) are dropped with a note naming their line.
//!
//! The steps, one file each: [`text`] reads the lines as keepalived does
//! (comments, `@` conditionals, `$` parameters, includes); `tree` groups their
//! words into statements and blocks; `writer` holds the INI being written and
//! its notes; `global`, `vrrp`, `track`, `addresses`, `virtual_server` and
//! `checkers` map their sections. This file runs the steps in order.

use std::fmt;

mod addresses;
mod checkers;
mod global;
mod keywords;
pub mod text;
mod track;
mod tree;
mod virtual_server;
mod vrrp;
mod writer;

use tree::Node;
use writer::Writer;

use crate::config::keys::{self, keepalived_words};

pub use text::{IncludeError, IncludeSource, NoIncludes};

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
    let nodes = tree::parse(&read)?;
    let mut w = Writer::new(origin, &nodes, &read.origins);
    for note in &read.notes {
        w.note(
            (note.origin, note.line),
            NoteKind::Dropped,
            note.message.clone(),
        );
    }
    w.global_section(&nodes);
    let scriptless = vrrp::scriptless(&nodes);
    let nodes = w.drop_scriptless_tracks(nodes, &scriptless);
    w.track_file_blocks(&nodes);
    for node in &nodes {
        statement(&mut w, node, &scriptless)?;
    }
    w.unused_init_files();
    Ok(w.finish())
}

/// One top-level statement into its INI section (or a note).
fn statement(w: &mut Writer<'_>, node: &Node, scriptless: &[String]) -> Result<(), ImportError> {
    match node.keyword.as_str() {
        // Written before the other sections.
        "global_defs" | "track_file" | "vrrp_track_file" => {}
        keyword if addresses::STATIC_BLOCKS.contains(&keyword) => {}
        "vrrp_instance" => w.vrrp_instance(node),
        "vrrp_sync_group" => w.sync_group(node),
        "vrrp_script" => w.vrrp_script(node, scriptless),
        "vrrp_track_process" => w.track_process_block(node),
        "virtual_server" => w.virtual_server(node)?,
        "virtual_server_group" => w.virtual_server_group(node),
        _ => w.drop_node(node, "is not supported by lvsd"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::keywords::KEEPALIVED_KEYWORDS;
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
        assert_eq!(vs.sorry_server_forward, crate::config::ForwardMethod::Masq);
        use crate::config::{ForwardMethod, TunnelType};
        assert_eq!(
            vs.real_servers[0].forward,
            ForwardMethod::Tunnel(TunnelType::Gue { port: 6080 })
        );
        assert_eq!(vs.real_servers[1].forward, ForwardMethod::Route, "the VS's");
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
