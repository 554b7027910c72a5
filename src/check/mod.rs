//! Health checks: pure checker state machines, retry/alpha/quorum logic and the
//! protocol dialogues (TCP, HTTP, TLS, SMTP, scripts). Sockets live in `io`.
//!
//! One checker's life: `schedule::CheckerSchedule` says when (`StartProbe`);
//! `pool::InflightPool` admits it; a `probe::AnyProbe` inside an
//! `io::probe::ProbeDriver` (or a script: `io::child::ChildProcess`, then
//! `misc::misc_outcome`) runs it; its `probe::Outcome` goes back through
//! `handle_probe_result`, and `Verdict`s feed `schedule::ServerHealth`, whose
//! `alive()`/`weight()` the lvs layer consumes.
#![forbid(unsafe_code)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod datagram;
pub mod dns;
pub mod file;
pub mod http;
pub mod misc;
pub mod ping;
pub mod pool;
pub mod probe;
pub mod schedule;
pub mod share;
pub mod smtp;
pub mod tcp;
pub mod tls;
pub mod udp;
