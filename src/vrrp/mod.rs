//! VRRP (RFC 3768 v2, RFC 5798/9568 v3): pure per-instance state machines,
//! sync groups and trackers. Time is passed in; actions are returned.

pub mod instance;
pub mod sync_group;
pub mod track;
