//! The numeric ranges config values must be in, declared once.
//!
//! The section readers take their bounds (and the numbers in their error
//! messages) from here, and each key's declaration in keys.rs names the ranges
//! its `limits` text writes, so docs/config.md says what `lvsd check` does:
//! keys.rs's tests fail when a `limits` text writes a range (`A..=B`) that is
//! not one of its declared ranges as [`RangeText::text`] shows it, or misses one.

use std::ops::RangeInclusive;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

/// A port: `metrics_listen`'s, `connect_port`, a tunnel's `gue port N`; a
/// virtual server's `port` (0 only with `persistence_timeout`).
pub const PORT: RangeInclusive<u16> = 1..=65535;

/// `lvs_sync_daemon`'s `id N`.
pub const SYNC_ID: RangeInclusive<u32> = 0..=255;
/// `lvs_sync_daemon`'s `maxlen N`: 65535 less the IP and UDP headers, keepalived's bound.
pub const SYNC_MAX_LEN: RangeInclusive<u32> = 1..=65507;
/// `lvs_sync_daemon`'s `port N`.
pub const SYNC_PORT: RangeInclusive<u32> = 1..=65535;
/// `lvs_sync_daemon`'s `ttl N`.
pub const SYNC_TTL: RangeInclusive<u32> = 1..=255;
/// Each of `lvs_timeouts`, in seconds: up to keepalived's LVS_MAX_TIMEOUT, 31 days.
pub const LVS_TIMEOUT: RangeInclusive<u32> = 0..=86_400 * 31;

/// `notify_timeout`.
pub const NOTIFY_TIMEOUT: RangeInclusive<Duration> = Duration::from_secs(1)..=HOUR;
/// `reconcile_interval`.
pub const RECONCILE_INTERVAL: RangeInclusive<Duration> = Duration::from_millis(100)..=HOUR;
/// `garp_master_delay` / `vrrp_garp_master_delay`.
pub const GARP_MASTER_DELAY: RangeInclusive<Duration> = Duration::ZERO..=HOUR;
/// `garp_master_refresh` / `vrrp_garp_master_refresh` (0 = off): keepalived's
/// range, whole seconds in a u32.
pub const GARP_MASTER_REFRESH: RangeInclusive<Duration> =
    Duration::ZERO..=Duration::from_secs(u32::MAX as u64);
/// `garp_master_repeat`, `garp_master_refresh_repeat` and their `vrrp_` forms.
pub const GARP_REPEAT: RangeInclusive<u32> = 1..=100;

/// `virtual_router_id`.
pub const VRID: RangeInclusive<u8> = 1..=255;
/// `priority` (255: the address owner).
pub const PRIORITY: RangeInclusive<u8> = 1..=255;
/// VRRPv2 `advert_int`: whole seconds in one byte (RFC 3768 section 5.3.7).
pub const ADVERT_INT_V2: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(255);
/// VRRPv3 `advert_int`: centiseconds in 12 bits (RFC 5798 section 5.2.7).
pub const ADVERT_INT_V3: RangeInclusive<Duration> =
    Duration::from_millis(10)..=Duration::from_millis(40950);
/// `auth_pass`, in bytes (RFC 3768 section 5.3.10).
pub const AUTH_PASS_BYTES: RangeInclusive<usize> = 1..=8;
/// A VIP's prefix length, IPv4.
pub const PREFIX_V4: RangeInclusive<u8> = 0..=32;
/// A VIP's prefix length, IPv6.
pub const PREFIX_V6: RangeInclusive<u8> = 0..=128;
/// `preempt_delay`.
pub const PREEMPT_DELAY: RangeInclusive<Duration> = Duration::ZERO..=Duration::from_secs(1000);
/// `down_timer_adverts`.
pub const DOWN_TIMER_ADVERTS: RangeInclusive<u8> = 1..=100;
/// A `use_vmac` name, in bytes: an interface name (IFNAMSIZ less the NUL).
pub const VMAC_NAME_BYTES: RangeInclusive<usize> = 1..=crate::wire::netlink::rtnl::IFNAME_MAX;
/// A tracker's weight (`track_* ... weight N`, a script's or a tracked
/// process's `weight`, a `track_file`'s value): keepalived's bound.
pub const TRACK_WEIGHT: RangeInclusive<i32> = -254..=254;

/// `[vrrp_script]` `interval` and `timeout`, a MISC_CHECK's `misc_timeout`.
pub const SCRIPT_TIME: RangeInclusive<Duration> = Duration::from_millis(10)..=HOUR;
/// `[vrrp_script]` `rise` and `fall`.
pub const SCRIPT_RISE_FALL: RangeInclusive<u32> = 1..=1000;
/// `[vrrp_track_process]` `quorum`.
pub const PROCESS_QUORUM: RangeInclusive<u32> = 1..=65535;
/// `[vrrp_track_process]` `quorum_max`.
pub const PROCESS_QUORUM_MAX: RangeInclusive<u32> = 0..=65535;
/// `[vrrp_track_process]` `delay`, `fork_delay` and `terminate_delay`.
pub const PROCESS_DELAY: RangeInclusive<Duration> = Duration::from_micros(1)..=HOUR;

/// A virtual server's `fwmark`.
pub const FWMARK: RangeInclusive<u32> = 1..=u32::MAX;
/// `persistence_timeout`: up to 31 days.
pub const PERSISTENCE_TIMEOUT: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(2_678_400);
/// `delay_loop` and `connect_timeout` (also `connect_timeout` in a checker's host line).
pub const CHECK_TIME: RangeInclusive<Duration> = Duration::from_millis(1)..=HOUR;
/// `delay_before_retry` and `warmup`.
pub const CHECK_DELAY: RangeInclusive<Duration> = Duration::ZERO..=HOUR;
/// A checker's `retry`.
pub const RETRY: RangeInclusive<u32> = 0..=1000;
/// A real server's `weight`.
pub const REAL_SERVER_WEIGHT: RangeInclusive<u32> = 0..=65535;
/// A real server's `uthreshold` and `lthreshold`.
pub const THRESHOLD: RangeInclusive<u32> = 0..=u32::MAX;
/// The HTTP status codes a url's `status_code` may name.
pub const HTTP_STATUS: RangeInclusive<u16> = 100..=599;
/// A UDP_CHECK's `payload`, in octets.
pub const UDP_PAYLOAD_BYTES: RangeInclusive<usize> = crate::check::udp::PAYLOAD_BYTES;
/// A UDP_CHECK's `min_reply_length` and `max_reply_length`.
pub const REPLY_LENGTH: RangeInclusive<u16> = 0..=u16::MAX;
/// A FILE_CHECK's `weight` (keepalived refuses INT_MIN).
pub const FILE_WEIGHT: RangeInclusive<i32> = -i32::MAX..=i32::MAX;

/// A range as the documentation and the error messages write it: `A..=B`,
/// durations in seconds.
pub trait RangeText: std::fmt::Debug {
    /// `A..=B`.
    fn text(&self) -> String;
}

macro_rules! number_ranges {
    ($($t:ty),*) => {$(
        impl RangeText for RangeInclusive<$t> {
            fn text(&self) -> String {
                format!("{}..={}", self.start(), self.end())
            }
        }
    )*};
}

number_ranges!(u8, u16, u32, i32, usize);

impl RangeText for RangeInclusive<Duration> {
    fn text(&self) -> String {
        format!("{}..={}", seconds(*self.start()), seconds(*self.end()))
    }
}

/// A duration in seconds as a config file writes it (`3`, `0.5`).
fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}", d.as_secs())
    } else {
        format!("{}", d.as_secs_f64())
    }
}

/// `before`, `range` as [`RangeText::text`] writes it, then `after`: a
/// message that names a range (one body for every such message).
#[inline(never)]
pub fn around(before: &str, range: &dyn RangeText, after: &str) -> String {
    format!("{before}{}{after}", range.text())
}
