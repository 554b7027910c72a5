//! Health checks: pure checker state machines, retry/alpha/quorum logic and the
//! protocol dialogues (TCP, HTTP, TLS, SMTP, scripts). Sockets live in `io`.

pub mod schedule;
