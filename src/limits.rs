//! Every fixed capacity of lvsd, in one place.
//!
//! A configuration that exceeds one of these is rejected at load time with the
//! constant's name; a table that fills at run time is a counted, logged event.

/// VRRP instances per daemon.
pub const MAX_VRRP_INSTANCES: usize = 256;
/// VMACs (`use_vmac`) per daemon: one per instance at most. Each is a
/// kernel link (a macvlan) made at start and removed at stop; lvsd keeps its
/// name, index and MAC (about 60 bytes) for the stop.
pub const MAX_VMACS: usize = MAX_VRRP_INSTANCES;
/// Default VMAC names tried (`vrrp.VRID`, `vrrp1.VRID`, ...) before the start
/// fails: keepalived tries without end.
pub const VMAC_NAME_TRIES: usize = 1000;
/// IPv4 devconf values one rtnetlink request sets (a VMAC needs 4).
pub const DEVCONF_PER_REQUEST: usize = 8;
/// Addresses per VRRP instance, `virtual_ipaddress` and
/// `virtual_ipaddress_excluded` together (keepalived sets no limit; real
/// configurations list up to a few hundred). The lists are `Vec`s sized at
/// load, so only configured addresses cost memory: 200 bytes each in the
/// configuration (`VirtualIp`) and 80 in the daemon (its rtnetlink form), so
/// a full instance costs about 280 KiB while loaded; unused capacity costs
/// nothing. Printed by `benches/vip_memory.rs` (`make bench`), with the peak
/// RSS of `lvsd check` at 1, 256 and 1024 addresses.
pub const MAX_VIPS_PER_INSTANCE: usize = 1024;
/// Addresses one advert lists: the count field is 8 bits (RFC 3768 section
/// 5.3.5, RFC 5798 section 5.2.5), and fewer fit at MTU 1500 over IPv6 (89).
/// Every instance keeps this many `IpAddr` inline (255 x 17 bytes, 4.3 KiB;
/// `vrrp::Instance` is 6.7 KiB, 3.2 KiB more than with 64) so that the state
/// machine never allocates.
pub const MAX_ADVERT_VIPS: usize = 255;
/// Unicast peers per VRRP instance.
pub const MAX_UNICAST_PEERS: usize = 16;
/// VRRP sync groups per daemon.
pub const MAX_SYNC_GROUPS: usize = 64;
/// Member instances per sync group.
pub const MAX_SYNC_GROUP_MEMBERS: usize = 16;
/// `vrrp_script` definitions per daemon.
pub const MAX_VRRP_SCRIPTS: usize = 64;
/// Tracked interfaces, scripts or files per VRRP instance (each kind).
pub const MAX_TRACKS_PER_INSTANCE: usize = 16;
/// `vrrp_track_process` definitions per daemon (a 64-bit mask per process).
pub const MAX_TRACK_PROCESSES: usize = 64;
/// Processes counted for the `vrrp_track_process` definitions at once: a
/// table of 16-byte slots, twice this many (128 KiB), allocated at start.
/// A matching process beyond it is not counted (counted and logged), so a
/// fork bomb of a tracked program cannot grow memory.
pub const MAX_TRACKED_PIDS: usize = 4096;
/// Process events (proc connector messages) handled per wake-up; the rest
/// wait for the next turn, after the timers.
pub const PROC_EVENTS_PER_WAKEUP: usize = 256;
/// /proc entries a rescan reads per wake-up (two small reads each).
pub const PROC_SCAN_PER_WAKEUP: usize = 128;
/// Bytes of /proc/PID/cmdline read for `full_command` matching (a
/// `process` line is at most `MAX_PATH_LEN` bytes, so a longer command
/// line still compares correctly).
pub const PROC_CMDLINE_BUF: usize = 2 * MAX_PATH_LEN;
/// Receive buffer asked for the proc connector socket (SO_RCVBUFFORCE).
pub const PROC_EVENTS_RCVBUF: usize = 1024 * 1024;

/// Virtual servers per daemon.
pub const MAX_VIRTUAL_SERVERS: usize = 1024;
/// Real servers per virtual server.
pub const MAX_REAL_SERVERS_PER_VS: usize = 64;
/// Real servers in the whole configuration.
pub const MAX_REAL_SERVERS: usize = 20_000;
/// Health checkers per real server.
pub const MAX_CHECKERS_PER_RS: usize = 4;
/// URLs per HTTP_GET / SSL_GET checker.
pub const MAX_URLS_PER_CHECK: usize = 8;
/// Status-code ranges per URL.
pub const MAX_STATUS_RANGES: usize = 8;

/// Pending timers in the event loop (one per check plus VRRP and housekeeping).
pub const MAX_TIMERS: usize = 24_576;
/// Timer slots kept for VRRP and housekeeping, never used by checks: one per
/// instance, per notifier (instances and sync groups), per `vrrp_script`, and
/// 64 for the daemon's own (IPVS reconcile, deferred work, track files, ...).
pub const RESERVED_TIMERS: usize = 2 * MAX_VRRP_INSTANCES + MAX_SYNC_GROUPS + MAX_VRRP_SCRIPTS + 64;
/// Timer slots health checks may use: one per distinct probe. A configuration
/// with more probes is refused by `lvsd check`.
pub const MAX_CHECK_TIMERS: usize = MAX_TIMERS - RESERVED_TIMERS;
const _: () = assert!(RESERVED_TIMERS < MAX_TIMERS / 8);
/// Checks in flight at once (open sockets or running scripts).
pub const MAX_INFLIGHT_CHECKS: usize = 4096;
/// Child processes running at once (scripts, notifiers).
pub const MAX_CHILDREN: usize = 256;
/// Notify commands waiting per VRRP instance or sync group (a transition queues 2).
pub const MAX_NOTIFY_QUEUE: usize = 32;

/// Longest name (instance, virtual server, script, interface alias).
pub const MAX_NAME_LEN: usize = 64;
/// Longest path (scripts, files, URLs).
pub const MAX_PATH_LEN: usize = 256;
/// Longest configuration file accepted, in bytes.
pub const MAX_CONFIG_BYTES: usize = 4 * 1024 * 1024;

/// Receive buffer for one VRRP datagram.
pub const VRRP_PACKET_BUF: usize = 1500;
/// Netlink socket message buffer (one datagram; dumps arrive in several).
pub const NETLINK_BUF: usize = 32 * 1024;
/// rtnetlink requests (VIP changes, dumps) awaiting their ack at once; more are
/// still sent, untracked and counted.
pub const RTNL_PENDING: usize = 256;
/// rtnetlink messages (events, acks, dump entries) handled per wake-up.
pub const RTNL_BUDGET: usize = 256;
/// One rtnetlink request on the daemon's event socket (the largest is a route
/// with `MAX_ROUTE_NEXTHOPS` IPv6 hops and every attribute: under 600 bytes).
pub const RTNL_REQUEST_BUF: usize = 1024;
/// Hops of one multipath route (`nexthop ...` / `or`); each costs 28 bytes in
/// the route's wire form.
pub const MAX_ROUTE_NEXTHOPS: usize = 8;
/// `virtual_routes` of one instance (each held route costs about 200 bytes).
pub const MAX_ROUTES_PER_INSTANCE: usize = 64;
/// `virtual_rules` of one instance.
pub const MAX_RULES_PER_INSTANCE: usize = 64;
/// `static_routes`, `static_rules` and `static_ipaddress` lines, each.
pub const MAX_STATIC_ENTRIES: usize = 256;
/// Buffer for one HTTP response header block.
pub const HTTP_HEADER_BUF: usize = 4096;
/// Longest HTTP_GET `regex` (a literal text; see docs/config.md): the body is
/// scanned for it as it arrives, one step per byte, nothing buffered.
pub const HTTP_REGEX_MAX: usize = 64;
/// Headers parsed per HTTP response.
pub const HTTP_MAX_HEADERS: usize = 32;
/// State changes of one VRRP instance or sync group waiting to be notified
/// between two drains. Other actions are flags, not queued. The daemon drains
/// after every wake-up, where one instance changes state at most a few times;
/// beyond this the oldest are merged away and counted, the latest always kept.
pub const VRRP_NOTIFY_BACKLOG: usize = 8;
/// VRRP datagrams read from one receive socket per wake-up; the rest wait for
/// the next turn, with timers served in between.
pub const VRRP_PACKETS_PER_WAKEUP: usize = 64;
/// IPVS writes sent in one netlink datagram before their acks are collected.
pub const IPVS_BATCH_OPS: usize = 64;
/// IPVS writes per wake-up; a bigger reconcile plan goes on in the next turns.
pub const IPVS_OPS_PER_TURN: usize = 16 * IPVS_BATCH_OPS;
/// Longest HTTP response body a check reads (it is digested, never stored).
pub const HTTP_MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// Chunk-extension bytes accepted in one HTTP response (RFC 9112 §7.1.1; they
/// are skipped, so without a cap an endless stream of them is never judged).
pub const HTTP_MAX_CHUNK_EXTENSION_BYTES: usize = 4096;
/// Trailer-section bytes accepted after the last chunk (RFC 9112 §7.1.2).
pub const HTTP_MAX_TRAILER_BYTES: usize = 4096;
/// Longest SMTP reply line (RFC 5321 §4.5.3.1.5: 512 octets with CRLF).
pub const SMTP_MAX_LINE: usize = 512;
/// Lines accepted in one SMTP reply (RFC 5321 sets no limit; a greeting or HELO
/// answer has a few). More fails the check, so no server can trickle lines forever.
pub const SMTP_MAX_REPLY_LINES: usize = 64;
/// Buffer for one HTTP GET request (request line, Host, User-Agent).
pub const HTTP_REQUEST_BUF: usize = 1024;
/// Longest HTTP virtualhost (a DNS name is at most 253 bytes).
pub const HTTP_VHOST_LEN: usize = 256;
/// Stack buffer for TLS plaintext while a probe drains its socket.
pub const PROBE_TLS_PLAINTEXT_BUF: usize = 4096;
/// Read/write rounds one probe may run per readiness event before yielding.
pub const PROBE_READY_BUDGET: usize = 64;
/// Control socket connections open at once.
pub const MAX_CONTROL_CONNS: usize = 16;
/// Metrics (`GET /metrics`) connections open at once; more are refused.
pub const MAX_METRICS_CONNS: usize = 8;
/// Lines of Prometheus text rendered per wake-up (about 1 ms here): a
/// scrape of 10,000 real servers (about 100,000 lines) goes out over about
/// 100 wake-ups, and VRRP timers run between them.
pub const METRICS_ROWS_PER_SLICE: usize = 1000;
/// Time the loop rests between two slices of a scrape, per unit of time
/// the slice took (1: a scrape uses at most half of one CPU).
pub const METRICS_REST_PER_BUSY: u32 = 1;
/// Kernel destinations read per wake-up for a scrape (GET_DEST dumps, one
/// per service, so a slice may end up to MAX_REAL_SERVERS_PER_VS past it):
/// a scrape of 10,000 real servers reads the kernel over about 10 wake-ups.
pub const IPVS_READ_DESTS_PER_SLICE: usize = 1024;
/// Bytes one probe may read per readiness event; the rest waits for the next
/// loop turn (about 40 us of MD5 or TLS on a small box).
pub const PROBE_READ_BUDGET: usize = 16 * 1024;
/// How often a FILE_CHECK reads its file (keepalived reacts through inotify).
/// Each read is one open and at most 64 bytes, on the stack.
pub const FILE_CHECK_POLL: core::time::Duration = core::time::Duration::from_secs(1);
/// Bytes of budget each datagram costs at least (UDP_CHECK, PING_CHECK), so a
/// flood of empty datagrams still ends a probe's turn (64 per turn at most).
pub const PROBE_DATAGRAM_COST: usize = PROBE_READ_BUDGET / 64;
/// Bytes all probes together may read per loop wake-up (about 150 us of
/// work), so that many fast servers at once still leave the loop to its
/// timers: VRRP timers run between turns.
pub const CHECKS_READ_BUDGET: usize = 64 * 1024;
