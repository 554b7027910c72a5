//! IPVS over generic netlink: typed services, destinations, sync daemons and timeouts, the
//! request encoders and the bounds-checked reply decoders. Constants are from
//! `/usr/include/linux/ip_vs.h`; the kernel side is `net/netfilter/ipvs/ip_vs_ctl.c`.

mod constants;
mod decode;
mod encode;
mod types;

pub use constants::*;
pub use decode::*;
pub use encode::*;
pub use types::*;

#[cfg(test)]
mod tests;
