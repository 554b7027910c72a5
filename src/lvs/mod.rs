//! The desired IPVS table from config and health, and the diff against the
//! kernel's table as a list of operations. Pure.
#![forbid(unsafe_code)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod announce;
pub mod reconcile;
pub mod table;
