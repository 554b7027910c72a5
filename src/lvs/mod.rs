//! The desired IPVS table from config and health, and the diff against the
//! kernel's table as a list of operations. Pure.

pub mod announce;
pub mod reconcile;
pub mod table;
