//! lvsd: a highly available LVS director in one static binary.
//!
//! The layers (arrows only point down; see `docs/design.md`):
//!
//! ```text
//! main.rs / cli   arguments, subcommands, exit codes
//! daemon          owns the Poll, tokens and timers; routes events into the pure
//!                 parts and carries out the actions they return
//! io              every syscall and every `unsafe`: sockets, netlink, children, signals
//! vrrp check lvs  pure (sans-IO) state machines: they take `now`, return actions
//! config          INI text -> validated, fixed-capacity configuration
//! wire            bytes <-> typed packets and messages; no I/O, no allocation
//! limits          every capacity, one file
//! ```
//!
//! `vrrp`, `check`, `lvs`, `config` and `wire` never import `io` or `daemon`,
//! never read a clock and never touch a socket.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod check;
pub mod cli;
pub mod command;
pub mod config;
pub mod daemon;
pub mod genhash;
pub mod io;
pub mod limits;
pub mod lvs;
pub mod paths;
pub mod realserver;
pub mod script;
pub mod status;
pub mod vrrp;
pub mod wire;
