//! VRRP (RFC 3768 v2, RFC 5798/9568 v3): pure per-instance state machines,
//! sync groups and trackers. Time is passed in; actions are returned.
//!
//! How the daemon drives an instance (nothing here reads a clock or a socket):
//!
//! 1. `Instance::new(params)?`, then `handle_start(now)` (and `SyncGroup::new`
//!    over member indices for `vrrp_sync_group`).
//! 2. Advert received: `wire::vrrp::split_ipv4` (IPv4 raw socket), then
//!    `receive::receive_check(payload, &meta, |vrid| lookup(vrid).map(Instance::expectation))`
//!    (the instance's configuration decides: group and TTL 255, or peers);
//!    count `Err(DropReason)` per reason; on `Ok((repr, notes))` call
//!    `handle_advert(now, &Advert::from_repr(&repr, src))`.
//! 3. Link, script and track-file results: `handle_track(now, id, status)`
//!    (`OWN_INTERFACE` for the instance's interface, `Instance::track_id(n)` for
//!    `params.tracks[n]`; `track::ScriptFilter` applies rise/fall).
//! 4. At `poll_at()`: `handle_timeout(now)`. Stop: `handle_stop(now)`.
//! 5. After any number of these, `SyncGroup::reconcile(now, &mut instances)`
//!    for the instance's group, then drain `poll_action()`: `SendAdvert` (bytes
//!    from `advert_repr(..).emit`), `AddVips` / `RemoveVips`, `SendGarp`
//!    (`wire::arp` / `wire::ndisc` per VIP, `count` times), `Notify`. Actions
//!    are not queued: the instance keeps its desired state (VIPs held while
//!    MASTER) and coalesced one-shot flags, and `poll_action` hands out what
//!    it takes to converge, so no event burst can lose one.
#![forbid(unsafe_code)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod instance;
pub mod process;
pub mod receive;
pub mod sync_group;
pub mod track;
