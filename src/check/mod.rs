//! Health checks: pure checker state machines, retry/alpha/quorum logic and the
//! protocol dialogues (TCP, HTTP, TLS, SMTP, scripts). Sockets live in `io`.

pub mod http;
pub mod misc;
pub mod pool;
pub mod probe;
pub mod schedule;
pub mod smtp;
pub mod tcp;
pub mod tls;
