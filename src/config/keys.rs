//! One declaration per config key: its name, the sections that take it,
//! whether it repeats, its keepalived spellings and how the importer treats
//! them, and (for the documentation and the tests only) its type, default,
//! limits, keepalived name, meaning and an example value.
//!
//! Everything else follows from [`declare_keys!`]'s one table:
//! - [`KEYS`]: what each section reader accepts ([`super::parse::Reader`]:
//!   unknown keys, "did you mean", duplicates, aliases);
//! - the importer's keyword lists ([`keepalived_words!`]);
//! - [`KEY_DOCS`]: the key tables of docs/config.md (`make docs`, checked by
//!   tests/config_docs.rs) and the examples tests/config_keys_effect.rs feeds
//!   to every key. Nothing in the daemon refers to `KEY_DOCS`, so its text
//!   stays out of the binary.
//!
//! A section reader matches every key of its section: a declared key it does
//! not read is an error at load (`Reader::unread`) and fails
//! tests/config_keys_effect.rs.

use super::ranges::{self, RangeText};

/// `[global]`.
pub const GLOBAL: u32 = 1 << 0;
/// `[vrrp_instance NAME]`.
pub const INSTANCE: u32 = 1 << 1;
/// `[vrrp_sync_group NAME]`.
pub const SYNC_GROUP: u32 = 1 << 2;
/// `[vrrp_script NAME]`.
pub const SCRIPT: u32 = 1 << 3;
/// `[vrrp_track_process NAME]`.
pub const TRACK_PROCESS: u32 = 1 << 4;
/// `[virtual_server NAME]`.
pub const VIRTUAL_SERVER: u32 = 1 << 5;
/// `[virtual_server_group NAME]`.
pub const VS_GROUP: u32 = 1 << 6;
/// `[real_server VS/ADDR:PORT]`.
pub const REAL_SERVER: u32 = 1 << 7;
/// `[tcp_check VS/ADDR:PORT]`.
pub const TCP_CHECK: u32 = 1 << 8;
/// `[http_get VS/ADDR:PORT]`.
pub const HTTP_GET: u32 = 1 << 9;
/// `[ssl_get VS/ADDR:PORT]`.
pub const SSL_GET: u32 = 1 << 10;
/// `[smtp_check VS/ADDR:PORT]`.
pub const SMTP_CHECK: u32 = 1 << 11;
/// `[udp_check VS/ADDR:PORT]`.
pub const UDP_CHECK: u32 = 1 << 12;
/// `[ping_check VS/ADDR:PORT]`.
pub const PING_CHECK: u32 = 1 << 13;
/// `[dns_check VS/ADDR:PORT]`.
pub const DNS_CHECK: u32 = 1 << 14;
/// `[file_check VS/ADDR:PORT]`.
pub const FILE_CHECK: u32 = 1 << 15;
/// `[misc_check VS/ADDR:PORT]`.
pub const MISC_CHECK: u32 = 1 << 16;
/// Every checker section.
pub const CHECKERS: u32 = TCP_CHECK
    | HTTP_GET
    | SSL_GET
    | SMTP_CHECK
    | UDP_CHECK
    | PING_CHECK
    | DNS_CHECK
    | FILE_CHECK
    | MISC_CHECK;

/// Each section bit and its kind as written in a header (lowercase).
pub const SECTION_KINDS: &[(u32, &str)] = &[
    (GLOBAL, "global"),
    (INSTANCE, "vrrp_instance"),
    (SYNC_GROUP, "vrrp_sync_group"),
    (SCRIPT, "vrrp_script"),
    (TRACK_PROCESS, "vrrp_track_process"),
    (VIRTUAL_SERVER, "virtual_server"),
    (VS_GROUP, "virtual_server_group"),
    (REAL_SERVER, "real_server"),
    (TCP_CHECK, "tcp_check"),
    (HTTP_GET, "http_get"),
    (SSL_GET, "ssl_get"),
    (SMTP_CHECK, "smtp_check"),
    (UDP_CHECK, "udp_check"),
    (PING_CHECK, "ping_check"),
    (DNS_CHECK, "dns_check"),
    (FILE_CHECK, "file_check"),
    (MISC_CHECK, "misc_check"),
];

/// What `lvsd import-keepalived` does with a key's keepalived spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Import {
    /// keepalived has the key (and its aliases) with the same meaning in the
    /// same block: the importer copies the line as it is.
    Same,
    /// keepalived knows only the aliases in this block (`lvs_method` in a
    /// `real_server`): the importer copies those.
    AliasesOnly,
    /// As `Same`, but only inside the checker of the key's own kind
    /// (`UDP_CHECK`'s `payload`, `DNS_CHECK`'s `type`).
    Kind,
    /// keepalived writes it another way (a block, a header word, a list): the
    /// importer converts it with its own code.
    Other,
    /// lvsd's own key: keepalived has no such keyword.
    Lvsd,
}

/// One config key as the parser and the importer see it.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key's name.
    pub name: &'static str,
    /// The sections that take it (bits above).
    pub sections: u32,
    /// True when the key may repeat (one list item per line).
    pub list: bool,
    /// Other spellings accepted for it (keepalived's).
    pub aliases: &'static [&'static str],
    /// What the importer does with keepalived's spelling.
    pub import: Import,
}

/// One config key with its documentation and test example.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    /// The key.
    pub key: Key,
    /// The value's type or form.
    pub ty: &'static str,
    /// The default when the key is absent.
    pub default: &'static str,
    /// What values are allowed beyond the type.
    pub limits: &'static str,
    /// The ranges `limits` writes (`A..=B`), as the readers hold them.
    pub ranges: &'static [&'static dyn RangeText],
    /// keepalived's keyword, as markdown ("" = lvsd's own key).
    pub keepalived: &'static str,
    /// What the key does, beyond its name.
    pub doc: &'static str,
    /// A valid value that differs from the default (tests/config_keys_effect.rs).
    pub example: &'static str,
}

/// The declaration table: expands to [`KEYS`] and [`KEY_DOCS`].
macro_rules! declare_keys {
    ($({
        name: $name:literal, sections: $sections:expr, list: $list:literal,
        aliases: [$($alias:literal),*], import: $import:ident,
        ty: $ty:literal,
        default: $default:literal,
        limits: $limits:literal,
        $(ranges: [$($range:expr),*],)?
        keepalived: $keepalived:literal,
        doc: $doc:literal,
        example: $example:literal,
    },)*) => {
        /// Every key of every section, in the order "did you mean" and the
        /// documentation list them.
        pub const KEYS: &[Key] = &[$(Key {
            name: $name,
            sections: $sections,
            list: $list,
            aliases: &[$($alias),*],
            import: Import::$import,
        }),*];
        /// [`KEYS`] with their documentation, row for row.
        pub const KEY_DOCS: &[KeyDoc] = &[$(KeyDoc {
            key: Key {
                name: $name,
                sections: $sections,
                list: $list,
                aliases: &[$($alias),*],
                import: Import::$import,
            },
            ty: $ty,
            default: $default,
            limits: $limits,
            ranges: &[$($(&$range as &dyn RangeText),*)?],
            keepalived: $keepalived,
            doc: $doc,
            example: $example,
        }),*];
    };
}

/// The keys of `section`, in table order.
pub(crate) fn keys_of(section: u32) -> impl Iterator<Item = &'static Key> {
    KEYS.iter().filter(move |k| k.sections & section != 0)
}

/// `key`'s canonical name in `section` (an alias becomes its key's name).
pub(crate) fn canonical(section: u32, key: &str) -> &str {
    keys_of(section)
        .find(|k| k.aliases.contains(&key))
        .map_or(key, |k| k.name)
}

/// The section bit of a lowercase section kind.
pub(crate) fn section_of_kind(kind: &str) -> Option<u32> {
    SECTION_KINDS
        .iter()
        .find(|(_, k)| *k == kind)
        .map(|(bit, _)| *bit)
}

/// Whether the importer copies `key`'s keepalived spellings from a block of
/// one of `sections` (`kind`: the keys only their own checker kind takes).
const fn imported(key: &Key, sections: u32, kind: bool) -> bool {
    let wanted = match key.import {
        Import::Same | Import::AliasesOnly => !kind,
        Import::Kind => kind,
        Import::Other | Import::Lvsd => false,
    };
    wanted && key.sections & sections != 0
}

/// How many keepalived keywords [`keepalived_array`] gives.
pub const fn keepalived_count(sections: u32, kind: bool) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < KEYS.len() {
        let key = &KEYS[i];
        if imported(key, sections, kind) {
            n += key.aliases.len();
            if !matches!(key.import, Import::AliasesOnly) {
                n += 1;
            }
        }
        i += 1;
    }
    n
}

/// The keepalived keywords the importer copies as they are from a block of
/// one of `sections` (`kind`: those only the checker of their own kind takes).
pub const fn keepalived_array<const N: usize>(sections: u32, kind: bool) -> [&'static str; N] {
    let mut out = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < KEYS.len() {
        let key = &KEYS[i];
        i += 1;
        if !imported(key, sections, kind) {
            continue;
        }
        if !matches!(key.import, Import::AliasesOnly) {
            out[n] = key.name;
            n += 1;
        }
        let mut a = 0;
        while a < key.aliases.len() {
            out[n] = key.aliases[a];
            n += 1;
            a += 1;
        }
    }
    out
}

/// `&'static [&str]` of the keepalived keywords the importer copies from a
/// block of `sections` (`kind`: see [`keepalived_array`]), built at compile time.
macro_rules! keepalived_words {
    ($sections:expr, $kind:expr) => {{
        const N: usize = $crate::config::keys::keepalived_count($sections, $kind);
        const WORDS: [&str; N] = $crate::config::keys::keepalived_array::<N>($sections, $kind);
        &WORDS
    }};
}
pub(crate) use keepalived_words;

declare_keys! {
    {
        name: "router_id", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "name",
        default: "none (hostname in notifications)",
        limits: "",
        keepalived: "`router_id`",
        doc: "",
        example: "LVS_X",
    },
    {
        name: "lvs_sync_daemon", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "`IFACE [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]` (options in any order; keepalived's old `IFACE INSTANCE SYNCID` too)",
        default: "none",
        limits: "id 0..=255 (default the instance's VRID, 0 without one); maxlen 1..=65507; port 1..=65535 (kernel default 8848); ttl 1..=255 (kernel default 1); group a multicast address, IPv4 or IPv6 (kernel default 224.0.0.81)",
        ranges: [ranges::SYNC_ID, ranges::SYNC_MAX_LEN, ranges::SYNC_PORT, ranges::SYNC_TTL],
        keepalived: "`lvs_sync_daemon`",
        doc: "the kernel's IPVS sync daemon. With an instance it follows that instance: MASTER runs the master daemon, any other state the backup one. Without an instance the master and the backup daemon both run for as long as lvsd runs, as keepalived does. `ipvsadm -Ln --daemon` shows them",
        example: "eth1 VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.82",
    },
    {
        name: "lvs_timeouts", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "`[tcp SECONDS] [tcpfin SECONDS] [udp SECONDS]`, at least one",
        default: "none (the kernel's timeouts are left alone)",
        limits: "each 0..=2678400 (31 days); 0 = the kernel's value when lvsd started",
        ranges: [ranges::LVS_TIMEOUT],
        keepalived: "`lvs_timeouts`",
        doc: "IPVS connection timeouts (`ipvsadm --set`, shown by `ipvsadm -Ln --timeout`), written at start and on reload. As keepalived, lvsd reads the kernel's values at start, writes them back at a clean stop, and on a reload that removes the key. lvsd applies it (and `lvs_flush`, `lvs_flush_on_stop`) also in a file without a virtual server, where keepalived's checker process does not run",
        example: "tcp 900 tcpfin 60 udp 120",
    },
    {
        name: "lvs_flush", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "",
        keepalived: "`lvs_flush`",
        doc: "at start (not on reload) flush the whole IPVS table, entries lvsd does not own included, before lvsd writes its own. Without it lvsd adopts what matches its configuration and leaves the rest alone",
        example: "yes",
    },
    {
        name: "lvs_flush_on_stop", sections: GLOBAL, list: false, aliases: ["lvs_flush_onstop"], import: Same,
        ty: "`no`, `full` (a bare key) or `VS`",
        default: "no",
        limits: "",
        keepalived: "`lvs_flush_on_stop [VS]`, what a clean stop does to the table. `no` (keepalived's default): delete lvsd's real servers, then its virtual servers, leaving every entry lvsd does not own (a service holding a real server added by hand stays). `full`: flush the whole table, foreign entries included. `VS`: delete each of lvsd's virtual servers whole; the kernel drops their real servers with them, foreign ones included. A killed lvsd (SIGKILL, crash) leaves the table as it was in every case",
        doc: "",
        example: "VS",
    },
    {
        name: "script_user", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "name",
        default: "root",
        limits: "must be in /etc/passwd",
        keepalived: "`script_user`",
        doc: "notify commands and `vrrp_script`s (without `user`) run as this uid/gid",
        example: "nobody",
    },
    {
        name: "enable_script_security", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "",
        keepalived: "`enable_script_security`",
        doc: "lvsd refuses to start (or to reload) when a `misc_path`, `vrrp_script` or notify program (or a directory above it) is not owned by root or the script user, or is writable by group/others (sticky directories such as /tmp are allowed); keepalived disables the script instead",
        example: "yes",
    },
    {
        name: "vrrp_strict", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "",
        keepalived: "`vrrp_strict`",
        doc: "the default of every instance's `strict_mode` (see there)",
        example: "yes",
    },
    {
        name: "notify_fifo", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none",
        limits: "an existing FIFO (`mkfifo`); lvsd does not create it",
        keepalived: "`notify_fifo`",
        doc: "the same lines, `INSTANCE \"NAME\" STATE PRIORITY` / `GROUP \"NAME\" STATE 0`; written nonblocking, a line that finds no reader or a full pipe is dropped and counted (`lvsd status`)",
        example: "/run/lvsd-test.fifo",
    },
    {
        name: "notify_timeout", sections: GLOBAL, list: false, aliases: [], import: Lvsd,
        ty: "duration",
        default: "30",
        limits: "1..=3600",
        ranges: [ranges::NOTIFY_TIMEOUT],
        keepalived: "",
        doc: "each notify command runs in order, one at a time per instance or group; after this long its process group gets SIGTERM, SIGKILL 1 s later; at shutdown the remaining `notify_stop` commands get at most min(notify_timeout, 10 s) in all",
        example: "7",
    },
    {
        name: "vrrp_garp_master_delay", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "5",
        limits: "0..=3600",
        ranges: [ranges::GARP_MASTER_DELAY],
        keepalived: "`vrrp_garp_master_delay`",
        doc: "",
        example: "2",
    },
    {
        name: "vrrp_garp_master_repeat", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "5",
        limits: "1..=100",
        ranges: [ranges::GARP_REPEAT],
        keepalived: "`vrrp_garp_master_repeat`",
        doc: "",
        example: "3",
    },
    {
        name: "vrrp_garp_master_refresh", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "duration, 0 = off",
        default: "60",
        limits: "0..=4294967295 s (keepalived's range)",
        ranges: [ranges::GARP_MASTER_REFRESH],
        keepalived: "`vrrp_garp_master_refresh` (keepalived: off)",
        doc: "",
        example: "0",
    },
    {
        name: "vrrp_garp_master_refresh_repeat", sections: GLOBAL, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "1",
        limits: "1..=100",
        ranges: [ranges::GARP_REPEAT],
        keepalived: "`vrrp_garp_master_refresh_repeat`",
        doc: "",
        example: "2",
    },
    {
        name: "reconcile_interval", sections: GLOBAL, list: false, aliases: [], import: Lvsd,
        ty: "duration",
        default: "5",
        limits: "0.1..=3600",
        ranges: [ranges::RECONCILE_INTERVAL],
        keepalived: "",
        doc: "compare the IPVS table with the kernel",
        example: "2",
    },
    {
        name: "control_socket", sections: GLOBAL, list: false, aliases: [], import: Lvsd,
        ty: "path",
        default: "`/run/lvsd/lvsd.sock`",
        limits: "",
        keepalived: "",
        doc: "a missing parent directory is created with mode 0700 (0750 with `control_socket_group`)",
        example: "/tmp/lvsd-test.sock",
    },
    {
        name: "log_target", sections: GLOBAL, list: false, aliases: [], import: Other,
        ty: "`stderr` or `syslog`",
        default: "stderr",
        limits: "",
        keepalived: "(keepalived's command line)",
        doc: "where lines go; `lvsd run --syslog` wins over `stderr`. syslog is the `/dev/log` datagram socket, one nonblocking datagram per line (`<PRI>lvsd[PID]: ...`); lvsd reconnects when syslogd restarts. Applied at start and on reload",
        example: "syslog",
    },
    {
        name: "announce_device", sections: GLOBAL, list: false, aliases: [], import: Lvsd,
        ty: "iface",
        default: "`lvsd-anycast`",
        limits: "",
        keepalived: "",
        doc: "announce mode, [scale-out.md](scale-out.md): the TUN device lvsd creates at start, when some virtual server has `announce`; announced addresses sit on it while they are announced; it dies with the process. A second lvsd with the same name fails to start",
        example: "lvsd-any2",
    },
    {
        name: "announce_maintenance", sections: GLOBAL, list: false, aliases: [], import: Lvsd,
        ty: "flag",
        default: "no",
        limits: "",
        keepalived: "",
        doc: "announce mode: withdraw every announced address (maintenance kept in the file: it holds across restarts and takes effect on reload)",
        example: "yes",
    },
    {
        name: "log_facility", sections: GLOBAL, list: false, aliases: [], import: Other,
        ty: "`daemon`, `user`, `syslog`, `local0`..`local7`",
        default: "daemon",
        limits: "",
        keepalived: "keepalived's command line `-S 0..7` = local0..local7",
        doc: "the syslog facility",
        example: "local3",
    },
    {
        name: "log_format", sections: GLOBAL, list: false, aliases: [], import: Lvsd,
        ty: "`text` or `logfmt`",
        default: "text",
        limits: "",
        keepalived: "",
        doc: "`logfmt` writes `level=info msg=\"...\"` lines, with `instance=`, `from=`, `to=`, `priority=` and `reason=` fields on VRRP state changes",
        example: "logfmt",
    },
    {
        name: "control_socket_mode", sections: GLOBAL, list: false, aliases: [], import: Lvsd,
        ty: "octal mode",
        default: "`0600`",
        limits: "read/write bits only, `0600` always set: `0600`, `0640`... `0660`, `0666`",
        keepalived: "",
        doc: "the socket file is created with this mode (no window with wider permissions). Besides the file's permissions, each client's uid/gid is checked (SO_PEERCRED): root and lvsd's own uid always; the group when the mode gives it `rw` (primary group or a listed member); anyone with `0666`",
        example: "0660",
    },
    {
        name: "control_socket_group", sections: GLOBAL, list: false, aliases: [], import: Lvsd,
        ty: "name",
        default: "none (lvsd's group)",
        limits: "must be in /etc/group when lvsd starts",
        keepalived: "",
        doc: "the group that owns the socket file, e.g. `lvsops` with mode `0660` lets that group run `lvsd status`",
        example: "root",
    },
    {
        name: "script_capabilities", sections: GLOBAL, list: false, aliases: [], import: Lvsd,
        ty: "capability names (`sys_admin dac_override`, `cap_` optional), `all` or `none`",
        default: "none",
        limits: "capabilities(7) names",
        keepalived: "",
        doc: "kept in the bounding set for scripts that run as root, beyond lvsd's own (see \"Capabilities\" in operations.md); lvsd itself never holds them. `all` keeps the bounding set whole",
        example: "sys_admin",
    },
    {
        name: "metrics_listen", sections: GLOBAL, list: false, aliases: [], import: Lvsd,
        ty: "`ADDR:PORT` (IPv6 as `[ADDR]:PORT`)",
        default: "none (off)",
        limits: "port 1..=65535",
        ranges: [ranges::PORT],
        keepalived: "",
        doc: "serves `GET /metrics`, Prometheus text, from the daemon's loop; keepalived needs a separate exporter; docs/operations.md \"Watching a pair with Prometheus\"",
        example: "127.0.0.1:9100",
    },
    {
        name: "static_ipaddress", sections: GLOBAL, list: true, aliases: [], import: Other,
        ty: "list: a VIP line (options below) with `dev IFACE` required",
        default: "none",
        limits: "`MAX_STATIC_ENTRIES` (256)",
        keepalived: "`static_ipaddress { }`",
        doc: "added at start whatever the VRRP state, put back when deleted by hand (unless `no_track`), removed at stop, as keepalived",
        example: "10.9.9.9/32 dev eth0",
    },
    {
        name: "static_routes", sections: GLOBAL, list: true, aliases: [], import: Other,
        ty: "list: a route line (see \"Routes and rules\" below)",
        default: "none",
        limits: "`MAX_STATIC_ENTRIES`",
        keepalived: "`static_routes { }`",
        doc: "installed at start, removed at stop; a tracked route (with `dev`, without `no_track`) deleted by hand is put back, as keepalived's `reinstate_static_route()`",
        example: "10.8.0.0/16 via 192.168.118.1 dev eth0",
    },
    {
        name: "static_rules", sections: GLOBAL, list: true, aliases: [], import: Other,
        ty: "list: a rule line (see \"Routes and rules\"), `preference N` required",
        default: "none",
        limits: "`MAX_STATIC_ENTRIES`",
        keepalived: "`static_rules { }`",
        doc: "installed at start, removed at stop, put back when deleted by hand (unless `no_track`)",
        example: "from 10.8.0.0/16 table 100 preference 100",
    },
    {
        name: "state", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "`MASTER` / `BACKUP`",
        default: "BACKUP",
        limits: "",
        keepalived: "`state`",
        doc: "",
        example: "MASTER",
    },
    {
        name: "interface", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "iface",
        default: "**required**",
        limits: "",
        keepalived: "`interface`",
        doc: "",
        example: "eth2",
    },
    {
        name: "lvs_sync_daemon_interface", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "iface",
        default: "none",
        limits: "",
        keepalived: "`lvs_sync_daemon_interface`",
        doc: "the IPVS sync daemon follows this instance, sync id = VRID",
        example: "eth1",
    },
    {
        name: "virtual_router_id", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "**required**",
        limits: "1..=255",
        ranges: [ranges::VRID],
        keepalived: "`virtual_router_id`",
        doc: "",
        example: "53",
    },
    {
        name: "priority", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "100 (**required** with `state = MASTER`)",
        limits: "1..=255, 255 = owner",
        ranges: [ranges::PRIORITY],
        keepalived: "`priority`",
        doc: "",
        example: "150",
    },
    {
        name: "advert_int", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "1",
        limits: "v2: whole 1..=255; v3: 0.01..=40.95 in centiseconds",
        ranges: [ranges::ADVERT_INT_V2, ranges::ADVERT_INT_V3],
        keepalived: "`advert_int`",
        doc: "",
        example: "2",
    },
    {
        name: "version", sections: INSTANCE, list: false, aliases: ["vrrp_version"], import: Same,
        ty: "`2` / `3`",
        default: "2 (3 with `native_ipv6`)",
        limits: "",
        keepalived: "`version`",
        doc: "",
        example: "3",
    },
    {
        name: "auth_type", sections: INSTANCE, list: false, aliases: [], import: Other,
        ty: "`PASS` / `AH`",
        default: "none",
        limits: "v2 only; `AH` needs `state = BACKUP` unless `priority = 255` (keepalived clears `state MASTER` there: a new master must first hear the sequence number)",
        keepalived: "`authentication { auth_type }`. `AH` is keepalived's IPsec AH (RFC 2402): adverts leave as IP protocol 51 with an AH header whose SPI is the source address, a sequence number shared by sender and receiver (a new master continues above the last number it heard; lower numbers are replays), and an HMAC-MD5-96 ICV keyed by the 8-byte `auth_pass` over the IPv4 header (TOS, fragment field and checksum zeroed; TTL too in unicast mode), the AH header and the advert. A wrong key, SPI or a replay is counted as `bad_auth`; AH present on one side only as `ah_mismatch`. Interop-tested with keepalived 2.2.7 both ways, multicast and unicast",
        doc: "",
        example: "AH",
    },
    {
        name: "auth_pass", sections: INSTANCE, list: false, aliases: [], import: Other,
        ty: "text",
        default: "none (**required** with `auth_type`)",
        limits: "1..=8 bytes",
        ranges: [ranges::AUTH_PASS_BYTES],
        keepalived: "`authentication { auth_pass }`",
        doc: "",
        example: "2222",
    },
    {
        name: "virtual_ipaddress", sections: INSTANCE, list: true, aliases: [], import: Other,
        ty: "list: `ADDR[/PREFIX] [dev IFACE] [brd ADDR\\|+\\|-] [scope SCOPE] [label NAME] [no_track] [preferred_lft N\\|forever]` (options in any order)",
        default: "**at least one**",
        limits: "prefix 0..=32 (IPv4) or 0..=128 (IPv6), default host; one family; with the excluded ones at most `MAX_VIPS_PER_INSTANCE` (1024)",
        ranges: [ranges::PREFIX_V4, ranges::PREFIX_V6],
        keepalived: "`virtual_ipaddress { }`",
        doc: "added while MASTER, removed otherwise, listed in adverts. An advert lists at most 255 IPv4 or 89 IPv6 addresses (what fits at MTU 1500, keepalived's rule): the rest are held like `virtual_ipaddress_excluded`, with a warning, as keepalived moves them to its eVIPs",
        example: "192.168.118.112",
    },
    {
        name: "virtual_ipaddress_excluded", sections: INSTANCE, list: true, aliases: [], import: Other,
        ty: "list: same form",
        default: "none",
        limits: "any family",
        keepalived: "`virtual_ipaddress_excluded { }`",
        doc: "added and removed with the state like the VIPs, never listed in adverts (so peers need not list them)",
        example: "192.168.118.121",
    },
    {
        name: "nopreempt", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "not with `state = MASTER`",
        keepalived: "`nopreempt`",
        doc: "",
        example: "yes",
    },
    {
        name: "dont_track_primary", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "",
        keepalived: "`dont_track_primary`",
        doc: "the instance's own interface going down does not make it FAULT",
        example: "yes",
    },
    {
        name: "preempt_delay", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "0",
        limits: "0..=1000",
        ranges: [ranges::PREEMPT_DELAY],
        keepalived: "`preempt_delay`",
        doc: "",
        example: "5",
    },
    {
        name: "down_timer_adverts", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "3",
        limits: "1..=100",
        ranges: [ranges::DOWN_TIMER_ADVERTS],
        keepalived: "`down_timer_adverts`",
        doc: "",
        example: "4",
    },
    {
        name: "mcast_src_ip", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "ip",
        default: "interface's primary address",
        limits: "VIP family",
        keepalived: "`mcast_src_ip`",
        doc: "",
        example: "192.168.118.128",
    },
    {
        name: "unicast_src_ip", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "ip",
        default: "as mcast_src_ip",
        limits: "VIP family",
        keepalived: "`unicast_src_ip`",
        doc: "",
        example: "192.168.118.128",
    },
    {
        name: "unicast_peer", sections: INSTANCE, list: true, aliases: [], import: Other,
        ty: "list: ip",
        default: "none (multicast)",
        limits: "VIP family, `MAX_UNICAST_PEERS`",
        keepalived: "`unicast_peer { }`",
        doc: "decides the receive rules: without peers only adverts to 224.0.0.18 / ff02::12 with TTL 255 are heard (others: `not_to_group`, `bad_ttl`); with peers only unicast adverts from a listed peer, at any TTL as keepalived 2.2.7 (others: `not_unicast`, `not_from_peer`). keepalived checks the source only with `check_unicast_src`; lvsd always does",
        example: "192.168.118.129",
    },
    {
        name: "track_interface", sections: INSTANCE, list: true, aliases: [], import: Other,
        ty: "list: `IFACE [weight N]`",
        default: "weight 0 (FAULT while down)",
        limits: "-254..=254",
        ranges: [ranges::TRACK_WEIGHT],
        keepalived: "`track_interface { }`",
        doc: "up = IFF_UP and IFF_RUNNING (carrier), followed by rtnetlink link events; a missing interface counts as down",
        example: "eth1 weight 10",
    },
    {
        name: "track_script", sections: INSTANCE, list: true, aliases: [], import: Other,
        ty: "list: `SCRIPT [weight N]`",
        default: "the script's weight",
        limits: "-254..=254",
        ranges: [ranges::TRACK_WEIGHT],
        keepalived: "`track_script { }`",
        doc: "",
        example: "chk",
    },
    {
        name: "track_file", sections: INSTANCE, list: true, aliases: [], import: Other,
        ty: "list: `PATH [weight N [reverse\\|noreverse]] [init_file [VALUE] [overwrite]]`",
        default: "weight 1",
        limits: "weight and VALUE -254..=254",
        ranges: [ranges::TRACK_WEIGHT],
        keepalived: "`track_file` (lvsd names the file directly, no `vrrp_track_file` block); read every second, the first word as an integer times the weight (times -1 with `reverse`), clamped to -254..=253; -254 or less means FAULT, as in keepalived; with weight 0 a non-zero number means FAULT (`reverse`: zero means FAULT). A missing file or a non-number reads as 0 (logged). `init_file`: at start (never on `lvsd check` or a reload) write VALUE (default 0) when the file does not exist, or with `overwrite` also over an existing regular file (keepalived's `init_file` of the `track_file` block)",
        doc: "",
        example: "/run/lvsd-test.track",
    },
    {
        name: "track_process", sections: INSTANCE, list: true, aliases: [], import: Other,
        ty: "list: `NAME [weight N [reverse\\|noreverse]]`",
        default: "the `[vrrp_track_process]`'s weight and direction",
        limits: "-254..=254, `MAX_TRACKS_PER_INSTANCE`",
        ranges: [ranges::TRACK_WEIGHT],
        keepalived: "`track_process { }`",
        doc: "weight 0 = FAULT while the process's quorum is not met (`reverse`: while it is); a positive weight is added while it is met, a negative one subtracted while not (`reverse` negates)",
        example: "tp weight -10 reverse",
    },
    {
        name: "garp_master_delay", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "global `vrrp_garp_master_delay`",
        limits: "0..=3600",
        ranges: [ranges::GARP_MASTER_DELAY],
        keepalived: "`garp_master_delay`",
        doc: "",
        example: "2",
    },
    {
        name: "garp_master_repeat", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "global `vrrp_garp_master_repeat`",
        limits: "1..=100",
        ranges: [ranges::GARP_REPEAT],
        keepalived: "`garp_master_repeat`",
        doc: "",
        example: "3",
    },
    {
        name: "garp_master_refresh", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "duration, 0 = off",
        default: "global `vrrp_garp_master_refresh`",
        limits: "0..=4294967295 s (keepalived's range)",
        ranges: [ranges::GARP_MASTER_REFRESH],
        keepalived: "`garp_master_refresh`",
        doc: "",
        example: "0",
    },
    {
        name: "garp_master_refresh_repeat", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "global `vrrp_garp_master_refresh_repeat`",
        limits: "1..=100",
        ranges: [ranges::GARP_REPEAT],
        keepalived: "`garp_master_refresh_repeat`",
        doc: "gratuitous ARPs / NAs per VIP at each refresh",
        example: "3",
    },
    {
        name: "notify_master", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none",
        limits: "",
        keepalived: "`notify_master`",
        doc: "",
        example: "/bin/true master",
    },
    {
        name: "notify_backup", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none",
        limits: "",
        keepalived: "`notify_backup`",
        doc: "",
        example: "/bin/true backup",
    },
    {
        name: "notify_fault", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none",
        limits: "",
        keepalived: "`notify_fault`",
        doc: "",
        example: "/bin/true fault",
    },
    {
        name: "notify_stop", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none",
        limits: "",
        keepalived: "`notify_stop`",
        doc: "",
        example: "/bin/true stop",
    },
    {
        name: "notify", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none; gets `INSTANCE NAME STATE PRIORITY` appended, runs after the state's own command",
        limits: "",
        keepalived: "`notify`",
        doc: "",
        example: "/bin/true any",
    },
    {
        name: "native_ipv6", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "forces version 3",
        keepalived: "`native_ipv6`",
        doc: "",
        example: "yes",
    },
    {
        name: "strict_mode", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "global `vrrp_strict`",
        limits: "",
        keepalived: "`strict_mode`",
        doc: "keepalived's strict RFC compliance. lvsd refuses what keepalived changes or refuses under it (`auth_type`, `preempt_delay`, `down_timer_adverts` other than 3, `unicast_peer`, `state = MASTER` without `priority = 255` or the reverse), and a master does not answer lower-priority adverts (no advert, no GARP burst; keepalived's `lower_prio_no_advert`). **Not done**: keepalived's nftables rules that drop all traffic to the VIPs of a non-owner master (Accept_Mode off); `lvsd check` warns about it. See docs/operations.md, \"vrrp_strict\"",
        example: "yes",
    },
    {
        name: "virtual_routes", sections: INSTANCE, list: true, aliases: [], import: Other,
        ty: "list: a route line (see \"Routes and rules\")",
        default: "none",
        limits: "`MAX_ROUTES_PER_INSTANCE` (64)",
        keepalived: "`virtual_routes { }`",
        doc: "installed after the VIPs on becoming MASTER, removed (before the VIPs) on leaving it and at stop; a tracked route (with `dev`, without `no_track`) deleted by hand while MASTER is put back at once, as lvsd does with a VIP (keepalived goes BACKUP and takes over again)",
        example: "10.7.0.0/16 dev eth0",
    },
    {
        name: "virtual_rules", sections: INSTANCE, list: true, aliases: [], import: Other,
        ty: "list: a rule line, `preference N` required",
        default: "none",
        limits: "`MAX_RULES_PER_INSTANCE` (64)",
        keepalived: "`virtual_rules { }`",
        doc: "installed after the routes, removed before them; a tracked rule (without `no_track`) deleted by hand while MASTER is put back (keepalived goes BACKUP)",
        example: "to 10.7.0.0/16 table 100 preference 101",
    },
    {
        name: "use_vmac", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "flag, or `NAME`",
        default: "no; bare or `yes` = keepalived's name `vrrp.VRID` (`vrrp1.VRID`, ... when taken)",
        limits: "NAME: 1..=15 bytes, not `.`/`..`, no `/`, `:` or spaces; one instance per name",
        ranges: [ranges::VMAC_NAME_BYTES],
        keepalived: "`use_vmac [NAME]`",
        doc: "a private-mode macvlan on `interface` with the VRRP virtual MAC 00:00:5e:00:01:VRID (IPv6: 00:00:5e:00:02:VRID, with the interface's link-local address for the adverts), made over rtnetlink at start (an existing private macvlan there with that MAC is reused, whatever its name) and deleted at stop. The VIPs (and excluded addresses of the instance's family) live on it, adverts leave from it with that source MAC. lvsd sets what keepalived sets when it makes one: on the VMAC arp_ignore=1, accept_local=1, rp_filter=0, promote_secondaries=1, IPv6 off (unless IPv6 excluded addresses); on `interface` arp_ignore=1 and arp_filter=1 (restored at stop); a non-zero `net.ipv4.conf.all.rp_filter` is moved onto `default` and every interface and cleared (restored at stop). keepalived's optional MAC argument is not supported. With `unicast_peer`, `vmac_xmit_base` is set with a warning, as keepalived does. See operations.md \"VMAC\"",
        example: "vrrp.51",
    },
    {
        name: "vmac_xmit_base", sections: INSTANCE, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "needs `use_vmac`",
        keepalived: "`vmac_xmit_base`",
        doc: "adverts leave from (and are heard on) `interface` with its own MAC; the VIPs stay on the VMAC",
        example: "yes",
    },
    {
        name: "group", sections: SYNC_GROUP, list: true, aliases: [], import: Other,
        ty: "list: instance names separated by spaces",
        default: "**required**",
        limits: "`MAX_SYNC_GROUP_MEMBERS`",
        keepalived: "`group { }`",
        doc: "",
        example: "VI_1 VI_2",
    },
    {
        name: "track_file", sections: SYNC_GROUP, list: true, aliases: [], import: Other,
        ty: "list: as in `[vrrp_instance]` (`reverse`, `init_file`)",
        default: "weight 1",
        limits: "-254..=254; counts against each member's `MAX_TRACKS_PER_INSTANCE`",
        ranges: [ranges::TRACK_WEIGHT],
        keepalived: "`track_file { }` of a `vrrp_sync_group`: every member tracks the file as if it listed it itself (keepalived adds the group's files to each member); weight 0 = FAULT while the number is non-zero, which takes the whole group out of MASTER",
        doc: "",
        example: "/run/lvsd-test.track",
    },
    {
        name: "track_process", sections: SYNC_GROUP, list: true, aliases: [], import: Other,
        ty: "list: `NAME [weight N [reverse\\|noreverse]]`",
        default: "the definition's",
        limits: "-254..=254; counts against each member's `MAX_TRACKS_PER_INSTANCE`",
        ranges: [ranges::TRACK_WEIGHT],
        keepalived: "`track_process { }` of a `vrrp_sync_group`: added to every member; a member that lists the same process itself takes the group's weight unless its own is 0 (a warning says so), and with a priority-255 member the weight becomes 0 (warning), as keepalived does",
        doc: "",
        example: "tp weight 5",
    },
    {
        name: "notify_master", sections: SYNC_GROUP, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none",
        limits: "",
        keepalived: "`notify_master`",
        doc: "",
        example: "/bin/true master",
    },
    {
        name: "notify_backup", sections: SYNC_GROUP, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none",
        limits: "",
        keepalived: "`notify_backup`",
        doc: "",
        example: "/bin/true backup",
    },
    {
        name: "notify_fault", sections: SYNC_GROUP, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none",
        limits: "",
        keepalived: "`notify_fault`",
        doc: "",
        example: "/bin/true fault",
    },
    {
        name: "notify_stop", sections: SYNC_GROUP, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none",
        limits: "",
        keepalived: "`notify_stop`",
        doc: "",
        example: "/bin/true stop",
    },
    {
        name: "notify", sections: SYNC_GROUP, list: false, aliases: [], import: Same,
        ty: "path",
        default: "none; gets `GROUP NAME STATE 0` appended (priority 0, as keepalived)",
        limits: "",
        keepalived: "`notify`",
        doc: "",
        example: "/bin/true any",
    },
    {
        name: "script", sections: SCRIPT, list: false, aliases: [], import: Same,
        ty: "path (command line, split like `misc_path`, no shell)",
        default: "**required**",
        limits: "",
        keepalived: "`script`",
        doc: "runs only when some instance tracks it, first at start, then every `interval` from the start of the previous run (never two at once); exit 0 = success, anything else or `timeout` = failure; starts as succeeding, as keepalived without `init_fail`",
        example: "/bin/false",
    },
    {
        name: "interval", sections: SCRIPT, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "1",
        limits: "0.01..=3600",
        ranges: [ranges::SCRIPT_TIME],
        keepalived: "`interval`",
        doc: "",
        example: "2",
    },
    {
        name: "timeout", sections: SCRIPT, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "= interval",
        limits: "0.01..=3600",
        ranges: [ranges::SCRIPT_TIME],
        keepalived: "`timeout`",
        doc: "",
        example: "3",
    },
    {
        name: "weight", sections: SCRIPT, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "0 (FAULT while failing)",
        limits: "-254..=254",
        ranges: [ranges::TRACK_WEIGHT],
        keepalived: "`weight`",
        doc: "",
        example: "10",
    },
    {
        name: "rise", sections: SCRIPT, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "1",
        limits: "1..=1000 (values above 255 act as 255)",
        ranges: [ranges::SCRIPT_RISE_FALL],
        keepalived: "`rise`",
        doc: "",
        example: "2",
    },
    {
        name: "fall", sections: SCRIPT, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "1",
        limits: "1..=1000 (values above 255 act as 255)",
        ranges: [ranges::SCRIPT_RISE_FALL],
        keepalived: "`fall`",
        doc: "",
        example: "2",
    },
    {
        name: "user", sections: SCRIPT, list: false, aliases: [], import: Same,
        ty: "name",
        default: "global `script_user`",
        limits: "",
        keepalived: "`user`",
        doc: "",
        example: "nobody",
    },
    {
        name: "init_fail", sections: SCRIPT, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "",
        keepalived: "`init_fail`",
        doc: "the script counts as failing from the start (weight 0: the instance starts in FAULT; negative weight: subtracted at once) and needs `rise` successes to count as up, as keepalived's SCRIPT_INIT_STATE_FAILED",
        example: "yes",
    },
    {
        name: "process", sections: TRACK_PROCESS, list: false, aliases: [], import: Other,
        ty: "`NAME [ARG...]`",
        default: "**required**",
        limits: "at most `MAX_PATH_LEN` bytes, words split on spaces",
        keepalived: "`process`",
        doc: "NAME is compared with the kernel's process name (`comm`, at most 15 bytes: a longer one gets a warning); with arguments, or `param_match`, or `full_command`, with argv[0] of /proc/PID/cmdline",
        example: "/usr/sbin/nginx -g daemon",
    },
    {
        name: "param_match", sections: TRACK_PROCESS, list: false, aliases: [], import: Other,
        ty: "`exact` / `partial` / `initial`",
        default: "`exact` when arguments are given, else none",
        limits: "",
        keepalived: "`param_match`",
        doc: "exact = the same arguments; partial = the given ones first, more may follow; initial = as partial, and the last given one may be the start of the process's argument",
        example: "partial",
    },
    {
        name: "full_command", sections: TRACK_PROCESS, list: false, aliases: [], import: Other,
        ty: "flag",
        default: "no",
        limits: "",
        keepalived: "`full_command`",
        doc: "compare argv[0], not the 15-byte name",
        example: "yes",
    },
    {
        name: "quorum", sections: TRACK_PROCESS, list: false, aliases: [], import: Other,
        ty: "integer",
        default: "1",
        limits: "1..=65535, at most `quorum_max`",
        ranges: [ranges::PROCESS_QUORUM],
        keepalived: "`quorum`",
        doc: "fewest matching processes that count as up",
        example: "2",
    },
    {
        name: "quorum_max", sections: TRACK_PROCESS, list: false, aliases: [], import: Other,
        ty: "integer",
        default: "no limit (`quorum_max = 0` alone: up while no such process runs)",
        limits: "0..=65535",
        ranges: [ranges::PROCESS_QUORUM_MAX],
        keepalived: "`quorum_max`",
        doc: "",
        example: "5",
    },
    {
        name: "weight", sections: TRACK_PROCESS, list: false, aliases: [], import: Other,
        ty: "`N [reverse]`",
        default: "0 (FAULT without quorum)",
        limits: "-254..=254",
        ranges: [ranges::TRACK_WEIGHT],
        keepalived: "`weight`",
        doc: "",
        example: "-10 reverse",
    },
    {
        name: "delay", sections: TRACK_PROCESS, list: false, aliases: [], import: Other,
        ty: "duration",
        default: "0",
        limits: "0.000001..=3600",
        ranges: [ranges::PROCESS_DELAY],
        keepalived: "`delay`",
        doc: "both delays below",
        example: "2",
    },
    {
        name: "fork_delay", sections: TRACK_PROCESS, list: false, aliases: [], import: Other,
        ty: "duration",
        default: "`delay`",
        limits: "0.000001..=3600",
        ranges: [ranges::PROCESS_DELAY],
        keepalived: "`fork_delay`",
        doc: "a fork of a tracked process that reaches (or passes) a quorum bound changes the status only after this; a crossing back meanwhile cancels it",
        example: "1.5",
    },
    {
        name: "terminate_delay", sections: TRACK_PROCESS, list: false, aliases: [], import: Other,
        ty: "duration",
        default: "`delay`",
        limits: "0.000001..=3600",
        ranges: [ranges::PROCESS_DELAY],
        keepalived: "`terminate_delay`",
        doc: "the same for an exit",
        example: "3",
    },
    {
        name: "group", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Other,
        ty: "name of a `[virtual_server_group]`",
        default: "none",
        limits: "no address/port/fwmark; `protocol` required; `ip_family` = the group's",
        keepalived: "`virtual_server group NAME`",
        doc: "",
        example: "G1",
    },
    {
        name: "address", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Other,
        ty: "ip",
        default: "**required** unless fwmark or group",
        limits: "",
        keepalived: "first word of `virtual_server IP PORT`",
        doc: "",
        example: "192.168.118.112",
    },
    {
        name: "port", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Other,
        ty: "integer",
        default: "**required** with address",
        limits: "1..=65535; 0 (all ports) only with `persistence_timeout`",
        ranges: [ranges::PORT],
        keepalived: "second word",
        doc: "",
        example: "8080",
    },
    {
        name: "fwmark", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Other,
        ty: "integer",
        default: "none",
        limits: "1..=4294967295, no address/port",
        ranges: [ranges::FWMARK],
        keepalived: "`virtual_server fwmark N`",
        doc: "",
        example: "1",
    },
    {
        name: "ip_family", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "`inet` / `inet6`",
        default: "inet",
        limits: "fwmark only",
        keepalived: "`ip_family`",
        doc: "",
        example: "inet6",
    },
    {
        name: "protocol", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "`TCP` / `UDP` / `SCTP`",
        default: "**required** (fwmark: TCP)",
        limits: "",
        keepalived: "`protocol` (keepalived: UDP when missing)",
        doc: "",
        example: "UDP",
    },
    {
        name: "lb_algo", sections: VIRTUAL_SERVER, list: false, aliases: ["lvs_sched"], import: Same,
        ty: "`rr wrr lc wlc lblc lblcr dh sh mh sed nq fo ovf`",
        default: "wlc, with a warning",
        limits: "",
        keepalived: "`lb_algo`",
        doc: "",
        example: "wrr",
    },
    {
        name: "lb_kind", sections: VIRTUAL_SERVER, list: false, aliases: ["lvs_method"], import: Same,
        ty: "`NAT` / `DR` / `TUN [type ipip\\|gre\\|gue] [port N]`",
        default: "NAT, with a warning",
        limits: "gue needs the port",
        keepalived: "`lb_kind`",
        doc: "the default of its real servers and sorry server",
        example: "NAT",
    },
    {
        name: "tun_type", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "`ipip` / `gre` / `gue port N`",
        default: "ipip",
        limits: "only with TUN; port 1..=65535",
        ranges: [ranges::PORT],
        keepalived: "`tun_type`",
        doc: "",
        example: "gre",
    },
    {
        name: "persistence_timeout", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "none (not persistent)",
        limits: "1..=2678400",
        ranges: [ranges::PERSISTENCE_TIMEOUT],
        keepalived: "`persistence_timeout`",
        doc: "",
        example: "50",
    },
    {
        name: "persistence_granularity", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "netmask or prefix length",
        default: "none (/32, /128)",
        limits: "needs persistence_timeout",
        keepalived: "`persistence_granularity`",
        doc: "",
        example: "24",
    },
    {
        name: "delay_loop", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "60",
        limits: "0.001..=3600",
        ranges: [ranges::CHECK_TIME],
        keepalived: "`delay_loop`",
        doc: "",
        example: "7",
    },
    {
        name: "connect_timeout", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "5",
        limits: "0.001..=3600",
        ranges: [ranges::CHECK_TIME],
        keepalived: "`connect_timeout` (inherited)",
        doc: "",
        example: "4",
    },
    {
        name: "retry", sections: VIRTUAL_SERVER, list: false, aliases: ["nb_get_retry"], import: Same,
        ty: "integer",
        default: "1 (MISC_CHECK 0)",
        limits: "0..=1000",
        ranges: [ranges::RETRY],
        keepalived: "`retry` (inherited)",
        doc: "",
        example: "2",
    },
    {
        name: "delay_before_retry", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "1 (HTTP_GET/SSL_GET 3)",
        limits: "0..=3600",
        ranges: [ranges::CHECK_DELAY],
        keepalived: "`delay_before_retry` (inherited)",
        doc: "",
        example: "2",
    },
    {
        name: "warmup", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "= delay_loop",
        limits: "0..=3600",
        ranges: [ranges::CHECK_DELAY],
        keepalived: "`warmup` (inherited)",
        doc: "",
        example: "3",
    },
    {
        name: "alpha", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "",
        keepalived: "`alpha`",
        doc: "",
        example: "yes",
    },
    {
        name: "omega", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no: the down commands run only on transitions",
        limits: "at shutdown, also run `notify_down` of every alive real server, then `quorum_down` if the quorum was up",
        keepalived: "`omega`",
        doc: "",
        example: "yes",
    },
    {
        name: "quorum", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "1",
        limits: ">= 1",
        keepalived: "`quorum`",
        doc: "",
        example: "2",
    },
    {
        name: "hysteresis", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "0",
        limits: "< quorum",
        keepalived: "`hysteresis`",
        doc: "",
        example: "1",
    },
    {
        name: "quorum_up", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "command line",
        default: "none",
        limits: "run (no arguments) when the live weight reaches quorum + hysteresis / falls below quorum - hysteresis, and `quorum_down` at start when the quorum is not met (keepalived's \"Starting with quorum down\"); as `script_user`, one at a time with the real servers' commands, `notify_timeout` each, under `enable_script_security`",
        keepalived: "`quorum_up`",
        doc: "",
        example: "/bin/true up",
    },
    {
        name: "quorum_down", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "command line",
        default: "none",
        limits: "run (no arguments) when the live weight reaches quorum + hysteresis / falls below quorum - hysteresis, and `quorum_down` at start when the quorum is not met (keepalived's \"Starting with quorum down\"); as `script_user`, one at a time with the real servers' commands, `notify_timeout` each, under `enable_script_security`",
        keepalived: "`quorum_down`",
        doc: "",
        example: "/bin/true down",
    },
    {
        name: "sorry_server", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "`ADDR PORT` or `ADDR:PORT`",
        default: "none",
        limits: "service family (any with a TUN `sorry_server_lvs_method`)",
        keepalived: "`sorry_server`",
        doc: "",
        example: "192.168.118.200 80",
    },
    {
        name: "sorry_server_inhibit", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no: the sorry server is in the table only while the quorum is lost",
        limits: "needs `sorry_server`",
        keepalived: "`sorry_server_inhibit`",
        doc: "the sorry server is always in the table, with weight 0 while the quorum holds and weight 1 while it is lost (as `inhibit_on_failure` does for a real server)",
        example: "yes",
    },
    {
        name: "sorry_server_lvs_method", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "`NAT`, `DR` or `TUN [type ipip\\|gre\\|gue] [port N]`",
        default: "`lb_kind`",
        limits: "needs `sorry_server`; gue needs the port",
        keepalived: "`sorry_server_lvs_method`",
        doc: "the sorry server's forwarding method",
        example: "NAT",
    },
    {
        name: "inhibit_on_failure", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no (default for its real servers)",
        limits: "",
        keepalived: "`inhibit_on_failure`",
        doc: "",
        example: "yes",
    },
    {
        name: "virtualhost", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "name",
        default: "none (default Host for HTTP checks)",
        limits: "",
        keepalived: "`virtualhost`",
        doc: "",
        example: "www.example.test",
    },
    {
        name: "ha_suspend", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "address services only: the checks pause (verdicts stay) while the address is on no interface of this host, and resume when it appears (the VRRP master adding its VIP)",
        keepalived: "`ha_suspend`",
        doc: "",
        example: "yes",
    },
    {
        name: "announce", sections: VIRTUAL_SERVER, list: false, aliases: [], import: Lvsd,
        ty: "name (the group)",
        default: "none (not announced)",
        limits: "address services with `lb_kind` DR or TUN",
        keepalived: "",
        doc: "[scale-out.md](scale-out.md): announce the address by route instead of holding it by VRRP. lvsd puts the address on `lo` (so IPVS takes its traffic) and, while lvsd runs, its table is written, every virtual server on the address holds quorum and neither `announce_maintenance` nor `lvsd announce withdraw` asks otherwise, also on `announce_device`, whose addresses the routing daemon exports. With `lb_algo = mh` lvsd adds the `mh-port` flag; at start it sets `net.ipv4.vs.sloppy_tcp = 1`. Refused: fwmark services, NAT, an address that is also a `virtual_ipaddress`, two virtual servers on one address with different groups. Warned: any `lb_algo` but mh, `persistence_timeout`",
        example: "edge",
    },
    {
        name: "member", sections: VS_GROUP, list: true, aliases: [], import: Other,
        ty: "`IP[-LAST] PORT` or `fwmark N`",
        default: "**at least one**",
        limits: "one address family; LAST is the last octet (IPv4) or the last 16-bit group in hex (IPv6); at most 256 services per group (`MAX_GROUP_SERVICES`) and `MAX_VIRTUAL_SERVERS` in all",
        keepalived: "one line of the group block: `192.168.201.1-10 80`, `fwmark 5`",
        doc: "",
        example: "192.168.118.151-152 80",
    },
    {
        name: "weight", sections: REAL_SERVER, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "1",
        limits: "0..=65535",
        ranges: [ranges::REAL_SERVER_WEIGHT],
        keepalived: "`weight`",
        doc: "",
        example: "2",
    },
    {
        name: "lb_kind", sections: REAL_SERVER, list: false, aliases: ["lvs_method"], import: AliasesOnly,
        ty: "`NAT`, `DR` or `TUN [type ipip\\|gre\\|gue] [port N]`",
        default: "the virtual server's `lb_kind`",
        limits: "gue needs the port",
        keepalived: "`lvs_method` of a `real_server`: this server's forwarding method (`ipvsadm -Ln` shows it per destination); a TUN server may be of the other address family",
        doc: "",
        example: "DR",
    },
    {
        name: "tun_type", sections: REAL_SERVER, list: false, aliases: [], import: Lvsd,
        ty: "`ipip` / `gre` / `gue port N`",
        default: "ipip",
        limits: "only with TUN",
        keepalived: "",
        doc: "lvsd's spelling of `lvs_method TUN type ...`",
        example: "gre",
    },
    {
        name: "inhibit_on_failure", sections: REAL_SERVER, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "the virtual server's",
        limits: "",
        keepalived: "`inhibit_on_failure`",
        doc: "",
        example: "yes",
    },
    {
        name: "uthreshold", sections: REAL_SERVER, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "0 (none)",
        limits: "0..=4294967295",
        ranges: [ranges::THRESHOLD],
        keepalived: "`uthreshold`",
        doc: "",
        example: "100",
    },
    {
        name: "lthreshold", sections: REAL_SERVER, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "0 (none)",
        limits: "<= uthreshold",
        keepalived: "`lthreshold`",
        doc: "",
        example: "10",
    },
    {
        name: "notify_up", sections: REAL_SERVER, list: false, aliases: [], import: Same,
        ty: "command line",
        default: "none",
        limits: "run (no arguments) when the server becomes alive / stops being alive (not at start); same runner and rules as `quorum_up`",
        keepalived: "`notify_up`",
        doc: "",
        example: "/bin/true up",
    },
    {
        name: "notify_down", sections: REAL_SERVER, list: false, aliases: [], import: Same,
        ty: "command line",
        default: "none",
        limits: "run (no arguments) when the server becomes alive / stops being alive (not at start); same runner and rules as `quorum_up`",
        keepalived: "`notify_down`",
        doc: "",
        example: "/bin/true down",
    },
    {
        name: "delay_loop", sections: REAL_SERVER, list: false, aliases: [], import: Same,
        ty: "as virtual_server",
        default: "inherited from the virtual server",
        limits: "",
        keepalived: "`delay_loop`",
        doc: "",
        example: "7",
    },
    {
        name: "connect_timeout", sections: REAL_SERVER, list: false, aliases: [], import: Same,
        ty: "as virtual_server",
        default: "inherited from the virtual server",
        limits: "",
        keepalived: "`connect_timeout`",
        doc: "",
        example: "4",
    },
    {
        name: "retry", sections: REAL_SERVER, list: false, aliases: ["nb_get_retry"], import: Same,
        ty: "as virtual_server",
        default: "inherited from the virtual server",
        limits: "",
        keepalived: "`retry`",
        doc: "",
        example: "2",
    },
    {
        name: "delay_before_retry", sections: REAL_SERVER, list: false, aliases: [], import: Same,
        ty: "as virtual_server",
        default: "inherited from the virtual server",
        limits: "",
        keepalived: "`delay_before_retry`",
        doc: "",
        example: "2",
    },
    {
        name: "warmup", sections: REAL_SERVER, list: false, aliases: [], import: Same,
        ty: "as virtual_server",
        default: "inherited from the virtual server",
        limits: "",
        keepalived: "`warmup`",
        doc: "",
        example: "3",
    },
    {
        name: "delay_loop", sections: TCP_CHECK | HTTP_GET | SSL_GET | SMTP_CHECK | UDP_CHECK | PING_CHECK | DNS_CHECK | MISC_CHECK, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "inherited, 60",
        limits: "0.001..=3600",
        ranges: [ranges::CHECK_TIME],
        keepalived: "`delay_loop`",
        doc: "",
        example: "7",
    },
    {
        name: "connect_timeout", sections: TCP_CHECK | HTTP_GET | SSL_GET | SMTP_CHECK | UDP_CHECK | PING_CHECK | DNS_CHECK, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "inherited, 5",
        limits: "0.001..=3600",
        ranges: [ranges::CHECK_TIME],
        keepalived: "`connect_timeout`",
        doc: "",
        example: "4",
    },
    {
        name: "retry", sections: TCP_CHECK | HTTP_GET | SSL_GET | SMTP_CHECK | UDP_CHECK | PING_CHECK | DNS_CHECK | MISC_CHECK, list: false, aliases: ["nb_get_retry"], import: Same,
        ty: "integer",
        default: "inherited, 1",
        limits: "0..=1000",
        ranges: [ranges::RETRY],
        keepalived: "`retry` / `nb_get_retry`",
        doc: "",
        example: "2",
    },
    {
        name: "delay_before_retry", sections: TCP_CHECK | HTTP_GET | SSL_GET | SMTP_CHECK | UDP_CHECK | PING_CHECK | DNS_CHECK | MISC_CHECK, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "inherited, 1 (HTTP/SSL 3)",
        limits: "0..=3600",
        ranges: [ranges::CHECK_DELAY],
        keepalived: "`delay_before_retry`",
        doc: "",
        example: "2",
    },
    {
        name: "warmup", sections: TCP_CHECK | HTTP_GET | SSL_GET | SMTP_CHECK | UDP_CHECK | PING_CHECK | DNS_CHECK | MISC_CHECK, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "inherited, = delay_loop",
        limits: "0..=3600",
        ranges: [ranges::CHECK_DELAY],
        keepalived: "`warmup`",
        doc: "",
        example: "3",
    },
    {
        name: "connect_ip", sections: TCP_CHECK | HTTP_GET | SSL_GET | SMTP_CHECK | UDP_CHECK | PING_CHECK | DNS_CHECK, list: false, aliases: [], import: Same,
        ty: "ip",
        default: "the real server's address",
        limits: "",
        keepalived: "`connect_ip`",
        doc: "",
        example: "192.168.118.140",
    },
    {
        name: "connect_port", sections: TCP_CHECK | HTTP_GET | SSL_GET | SMTP_CHECK | UDP_CHECK | DNS_CHECK, list: false, aliases: [], import: Same,
        ty: "integer",
        default: "the real server's port (required when that is 0)",
        limits: "1..=65535",
        ranges: [ranges::PORT],
        keepalived: "`connect_port`",
        doc: "",
        example: "8080",
    },
    {
        name: "bindto", sections: TCP_CHECK | HTTP_GET | SSL_GET | SMTP_CHECK | UDP_CHECK | PING_CHECK | DNS_CHECK, list: false, aliases: [], import: Same,
        ty: "ip",
        default: "kernel's choice",
        limits: "connect_ip family",
        keepalived: "`bindto`",
        doc: "",
        example: "192.168.118.128",
    },
    {
        name: "url", sections: HTTP_GET | SSL_GET, list: true, aliases: [], import: Other,
        ty: "list: `path=/P [digest=HEX] [status_code=LIST] [virtualhost=H] [regex=TEXT] [regex_no_match]`",
        default: "**at least one**",
        limits: "`MAX_URLS_PER_CHECK`; digest 32 hex digits (MD5 as `lvsd genhash` prints); status codes `200-299,301` in 100..=599, default 200-299, `MAX_STATUS_RANGES`; regex see below",
        ranges: [ranges::HTTP_STATUS],
        keepalived: "`url { path digest status_code virtualhost regex regex_no_match }` (the word-pair form `path / digest HEX` is accepted too)",
        doc: "",
        example: "path=/x status_code=200-399",
    },
    {
        name: "virtualhost", sections: HTTP_GET | SSL_GET, list: false, aliases: [], import: Same,
        ty: "name",
        default: "the virtual server's `virtualhost`, else ADDR:PORT",
        limits: "",
        keepalived: "`virtualhost`",
        doc: "",
        example: "www.example.test",
    },
    {
        name: "http_protocol", sections: HTTP_GET | SSL_GET, list: false, aliases: [], import: Same,
        ty: "`1.0` / `1.1`",
        default: "1.0",
        limits: "",
        keepalived: "`http_protocol`",
        doc: "",
        example: "1.1",
    },
    {
        name: "verify", sections: SSL_GET, list: false, aliases: [], import: Lvsd,
        ty: "flag",
        default: "no",
        limits: "",
        keepalived: "",
        doc: "",
        example: "yes",
    },
    {
        name: "ca_file", sections: SSL_GET, list: false, aliases: [], import: Lvsd,
        ty: "path",
        default: "system roots",
        limits: "needs `verify = yes`",
        keepalived: "",
        doc: "",
        example: "/etc/ssl/certs/ca.pem",
    },
    {
        name: "sni", sections: SSL_GET, list: false, aliases: [], import: Lvsd,
        ty: "name",
        default: "the virtualhost, if any",
        limits: "",
        keepalived: "",
        doc: "",
        example: "www.example.test",
    },
    {
        name: "helo_name", sections: SMTP_CHECK, list: false, aliases: [], import: Same,
        ty: "name",
        default: "`router_id`, else `lvsd`",
        limits: "",
        keepalived: "`helo_name`",
        doc: "",
        example: "mail.example.test",
    },
    {
        name: "host", sections: SMTP_CHECK, list: true, aliases: [], import: Other,
        ty: "list: `[connect_ip IP] [connect_port N] [bindto IP] [connect_timeout SECONDS]`",
        default: "none",
        limits: "every checker counts against `MAX_CHECKERS_PER_RS` (4)",
        keepalived: "`host { }`",
        doc: "keepalived's deprecated blocks, which `import-keepalived` converts; each line is one more SMTP checker (see below)",
        example: "connect_ip 192.168.118.141 connect_port 587 bindto 192.168.118.128 connect_timeout 3",
    },
    {
        name: "payload", sections: UDP_CHECK, list: false, aliases: [], import: Kind,
        ty: "hex octets (`01 02 0a`, or `01020a`)",
        default: "keepalived's 32 bytes `keepalived check - keepalived ch`",
        limits: "1..=65535 octets",
        ranges: [ranges::UDP_PAYLOAD_BYTES],
        keepalived: "`payload`",
        doc: "",
        example: "01 02 0a",
    },
    {
        name: "require_reply", sections: UDP_CHECK, list: false, aliases: [], import: Kind,
        ty: "bare key / `yes` / `no`, or hex octets",
        default: "no",
        limits: "octets: `X` is a wildcard nibble (`6X 0a`)",
        keepalived: "`require_reply [HEX]`",
        doc: "",
        example: "yes",
    },
    {
        name: "min_reply_length", sections: UDP_CHECK, list: false, aliases: [], import: Kind,
        ty: "integer",
        default: "0",
        limits: "0..=65535, <= max_reply_length",
        ranges: [ranges::REPLY_LENGTH],
        keepalived: "`min_reply_length`",
        doc: "",
        example: "2",
    },
    {
        name: "max_reply_length", sections: UDP_CHECK, list: false, aliases: [], import: Kind,
        ty: "integer",
        default: "255",
        limits: "0..=65535",
        ranges: [ranges::REPLY_LENGTH],
        keepalived: "`max_reply_length`",
        doc: "",
        example: "100",
    },
    {
        name: "type", sections: DNS_CHECK, list: false, aliases: [], import: Kind,
        ty: "A, NS, CNAME, SOA, MX, TXT, AAAA, RRSIG, DNSKEY (any case)",
        default: "SOA",
        limits: "",
        keepalived: "`type`",
        doc: "",
        example: "A",
    },
    {
        name: "name", sections: DNS_CHECK, list: false, aliases: [], import: Kind,
        ty: "domain name (`.` or empty: the root)",
        default: "the root",
        limits: "no empty label, labels <= 63 bytes, 255 in all",
        keepalived: "`name`",
        doc: "",
        example: "example.test",
    },
    {
        name: "file", sections: FILE_CHECK, list: false, aliases: [], import: Other,
        ty: "path",
        default: "**required**",
        limits: "",
        keepalived: "`track_file NAME { file PATH }`",
        doc: "",
        example: "/run/lvsd-test.other",
    },
    {
        name: "weight", sections: FILE_CHECK, list: false, aliases: [], import: Other,
        ty: "`N [reverse]`",
        default: "1",
        limits: "N in -2147483647..=2147483647",
        ranges: [ranges::FILE_WEIGHT],
        keepalived: "`weight N [reverse]` in FILE_CHECK, else the track_file's `weight`",
        doc: "",
        example: "2 reverse",
    },
    {
        name: "misc_path", sections: MISC_CHECK, list: false, aliases: [], import: Same,
        ty: "path (command line, may be quoted)",
        default: "**required**",
        limits: "",
        keepalived: "`misc_path`",
        doc: "",
        example: "/bin/false",
    },
    {
        name: "misc_timeout", sections: MISC_CHECK, list: false, aliases: [], import: Same,
        ty: "duration",
        default: "= delay_loop",
        limits: "0.01..=3600",
        ranges: [ranges::SCRIPT_TIME],
        keepalived: "`misc_timeout`",
        doc: "",
        example: "3",
    },
    {
        name: "misc_dynamic", sections: MISC_CHECK, list: false, aliases: [], import: Same,
        ty: "flag",
        default: "no",
        limits: "exit codes 2 to 255 set weight = code - 2",
        keepalived: "`misc_dynamic`",
        doc: "",
        example: "yes",
    },
    {
        name: "user", sections: MISC_CHECK, list: false, aliases: [], import: Same,
        ty: "name",
        default: "global `script_user`",
        limits: "",
        keepalived: "`user`",
        doc: "",
        example: "nobody",
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_section_has_its_keys_once() {
        for (bit, kind) in SECTION_KINDS {
            let names: Vec<&str> = keys_of(*bit).map(|k| k.name).collect();
            assert!(!names.is_empty(), "[{kind}] has no keys");
            // Reader::new keeps one bit per key in a u128.
            assert!(names.len() < 128, "[{kind}] has {} keys", names.len());
            for (i, name) in names.iter().enumerate() {
                assert!(!names[..i].contains(name), "[{kind}] {name} declared twice");
            }
            for key in keys_of(*bit) {
                for alias in key.aliases {
                    assert!(
                        !names.contains(alias),
                        "[{kind}] alias {alias} is also a key"
                    );
                    assert_eq!(canonical(*bit, alias), key.name);
                }
            }
        }
        for key in KEYS {
            assert!(key.sections != 0, "{} is in no section", key.name);
            assert!(
                key.sections & !SECTION_KINDS.iter().fold(0, |all, (b, _)| all | b) == 0,
                "{} names an unknown section bit",
                key.name
            );
        }
    }

    #[test]
    fn docs_follow_keys_row_for_row() {
        assert_eq!(KEYS.len(), KEY_DOCS.len());
        for (key, doc) in KEYS.iter().zip(KEY_DOCS) {
            assert_eq!(key.name, doc.key.name);
            assert_eq!(key.sections, doc.key.sections);
            assert!(!doc.ty.is_empty(), "{}: no type", key.name);
            assert!(!doc.default.is_empty(), "{}: no default", key.name);
            assert!(!doc.example.is_empty(), "{}: no example", key.name);
            let lvsd_only = key.import == Import::Lvsd;
            assert_eq!(
                doc.keepalived.is_empty(),
                lvsd_only,
                "{}: a keepalived name exactly when the key is not lvsd's own",
                key.name
            );
        }
    }

    #[test]
    fn importer_words() {
        let words: &[&str] = keepalived_words!(REAL_SERVER, false);
        assert!(words.contains(&"lvs_method") && !words.contains(&"lb_kind"));
        let words: &[&str] = keepalived_words!(VIRTUAL_SERVER, false);
        assert!(words.contains(&"lb_kind") && words.contains(&"lvs_sched"));
        assert!(!words.contains(&"announce"));
        let words: &[&str] = keepalived_words!(CHECKERS, false);
        assert!(!words.contains(&"payload") && !words.contains(&"type"));
        let words: &[&str] = keepalived_words!(UDP_CHECK, true);
        assert_eq!(
            words,
            [
                "payload",
                "require_reply",
                "min_reply_length",
                "max_reply_length"
            ]
        );
    }

    /// Every `A..=B` a text writes (A and B: digits, `.`, a leading `-`).
    fn written_ranges(text: &str) -> Vec<String> {
        let number = |c: char| c.is_ascii_digit() || c == '.' || c == '-';
        let mut out = Vec::new();
        for (at, _) in text.match_indices("..=") {
            let before = &text[..at];
            let start = before.trim_end_matches(number);
            let after = &text[at + 3..];
            let end = after.trim_start_matches(number);
            let low = &before[start.len()..];
            let high = &after[..after.len() - end.len()];
            out.push(format!("{low}..={high}"));
        }
        out
    }

    #[test]
    fn limits_write_the_ranges_the_readers_hold() {
        for doc in KEY_DOCS {
            let mut written = written_ranges(doc.limits);
            let mut held: Vec<String> = doc.ranges.iter().map(|r| r.text()).collect();
            written.sort();
            written.dedup();
            held.sort();
            held.dedup();
            assert_eq!(
                written, held,
                "{}: its `limits` text writes other ranges than its declared `ranges` hold",
                doc.key.name
            );
        }
        assert!(KEY_DOCS.iter().filter(|d| !d.ranges.is_empty()).count() > 50);
    }

    #[test]
    fn written_ranges_are_found() {
        assert_eq!(
            written_ranges("id 0..=255; v3: 0.01..=40.95, -254..=254"),
            ["0..=255", "0.01..=40.95", "-254..=254"]
        );
    }
}
