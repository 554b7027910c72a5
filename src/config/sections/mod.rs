//! One reader per section kind: keys -> typed values, references kept by name.
//! Each reader is a loop over its section's keys (declared in `keys.rs`),
//! matching every one of them, followed by named checks.

mod checker;
mod global;
mod instance;
mod real_server;
mod tracking;
mod values;
mod virtual_server;

pub(crate) use checker::*;
pub(crate) use global::*;
pub(crate) use instance::*;
pub(crate) use real_server::*;
pub(crate) use tracking::*;
pub(crate) use values::*;
pub(crate) use virtual_server::*;
